/*
 * test_broadcast_grad.c — how the gradient of a broadcast input is summed
 * (src/tensor/broadcast.c): straight into the input's shape, with no
 * output-sized temporary on the tape, and to the same bits as summing the
 * whole output-shaped gradient with tg__sum_to. It looks inside the tape
 * (its arena) and calls tg__sum_to, so it links the static library.
 *
 * The values themselves are checked against PyTorch and by gradcheck in
 * test_ops_binary.c.
 */
#include "tg_test.h"
#include "tensor/arena.h"
#include "tensor/broadcast.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"
#include "tapegrad/random.h"

#include <string.h>

typedef tg_tensor *(*binary_fn)(tg_tape *, tg_tensor *, tg_tensor *);

static const struct {
    const char *name;
    binary_fn fn;
} binops[] = {
    {"add", tg_add}, {"sub", tg_sub}, {"mul", tg_mul}, {"div", tg_div},
    {"maximum", tg_maximum}, {"minimum", tg_minimum},
    {"pow_tensor", tg_pow_tensor},
};
#define N_BINOPS (int)(sizeof binops / sizeof binops[0])

/* Bytes t's arena has handed out, over all its blocks. */
static size_t tape_used(const tg_tape *t)
{
    size_t used = 0;
    for (const tg__chunk *c = t->arena.chunks; c != NULL; c = c->next)
        used += c->used;
    return used;
}

/* A leaf of t needing a gradient, random values in [0.5, 1.5) (positive,
 * so that div and pow_tensor stay finite). */
static tg_tensor *random_leaf(tg_tape *t, tg_rng *rng, tg_dtype dt,
                              int ndim, const int64_t *shape)
{
    tg_tensor *x = tg_rand_uniform(t, rng, dt, ndim, shape, 0.5, 1.5);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}

/* The bytes backward adds to the tape for sum(op(x, b)), x (64,256) and b
 * of the given shape, both needing gradients. */
static size_t backward_bytes(binary_fn op, tg_dtype dt, int nb,
                             const int64_t *bshape)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 0);
    int64_t xshape[2] = {64, 256};
    tg_tensor *x = random_leaf(t, &rng, dt, 2, xshape);
    tg_tensor *b = random_leaf(t, &rng, dt, nb, bshape);
    tg_tensor *loss = tg_sum(t, op(t, x, b));
    size_t before = tape_used(t);
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    ck_assert_ptr_nonnull(tg_grad(b));
    size_t added = tape_used(t) - before;
    tg_tape_free(t);
    return added;
}

/*
 * Backward of op(x (64,256), b) stores the output's gradient and x's in
 * both cases. With b (64,256) it also stores b's (64,256) gradient; with b
 * (256,) only b's (256,) gradient and its (256,) sums. A temporary of the
 * output's shape, summed down afterwards, would make the broadcast case
 * as large as the other.
 */
START_TEST(backward_makes_no_output_sized_temporary)
{
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        int64_t full[2] = {64, 256}, row[1] = {256};
        size_t same = backward_bytes(binops[_i].fn, dt, 2, full);
        size_t bcast = backward_bytes(binops[_i].fn, dt, 1, row);
        size_t out_bytes = 64 * 256 * tg_dtype_size(dt);
        ck_assert_msg(bcast + out_bytes / 2 < same,
                      "%s %s: backward added %zu bytes with b (256,), "
                      "%zu with b (64,256)", binops[_i].name,
                      tg_dtype_name(dt), bcast, same);
    }
}
END_TEST

/* Shapes of a and b: trailing, leading and middle broadcasts, scalars,
 * and rows longer than the 256-element tiles (spread over an input, or
 * summed into one of its elements in halves). */
static const struct {
    int na, nb;
    int64_t a[4], b[4];
} shapes[] = {
    {2, 1, {3, 300}, {300}},        {2, 2, {2, 300}, {2, 1}},
    {2, 2, {1, 300}, {5, 300}},     {3, 3, {4, 1, 5}, {4, 3, 5}},
    {2, 2, {3, 4}, {1, 1}},         {1, 1, {1}, {7}},
    {4, 3, {2, 3, 4, 5}, {3, 1, 5}}, {2, 2, {5, 1}, {1, 600}},
    {1, 2, {1000}, {3, 1}},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

/* got is want, bit for bit: same shape and the same bytes. */
static void assert_same_bits(const tg_tensor *got, const tg_tensor *want,
                             int k, const char *which)
{
    ck_assert_ptr_nonnull(got);
    ck_assert(tg__same_shape(got, want));
    size_t n = (size_t)tg_numel(want) * tg_dtype_size(tg_dtype_of(want));
    ck_assert_msg(memcmp(got->data, want->data, n) == 0,
                  "shapes #%d: %s's gradient differs from tg__sum_to", k,
                  which);
}

/* dst = src summed down to like's shape by tg__sum_to. */
static tg_tensor *summed_to(tg_tape *t, const tg_tensor *like,
                            const tg_tensor *src)
{
    tg_tensor *dst = tg_empty(t, tg_dtype_of(like), tg_ndim(like),
                              tg_shape(like));
    ck_assert_ptr_nonnull(dst);
    ck_assert_int_eq(tg__sum_to(t, dst, src), TG_OK);
    return dst;
}

/*
 * For y = a * b and loss = sum(y * w), a's gradient is w * b summed down
 * to a's shape and b's is w * a summed to b's: summed as they are made,
 * they must be the bits tg__sum_to gives for the whole products.
 */
START_TEST(sums_are_those_of_sum_to)
{
    tg_dtype dt = _i ? TG_F64 : TG_F32;
    for (int k = 0; k < N_SHAPES; k++) {
        tg_tape *t = tg_tape_new();
        tg_rng rng;
        tg_rng_seed(&rng, 11, (uint64_t)k);
        tg_tensor *a = random_leaf(t, &rng, dt, shapes[k].na, shapes[k].a);
        tg_tensor *b = random_leaf(t, &rng, dt, shapes[k].nb, shapes[k].b);
        tg_tensor *y = tg_mul(t, a, b);
        ck_assert_ptr_nonnull(y);
        tg_tensor *w = tg_rand_normal(t, &rng, dt, tg_ndim(y), tg_shape(y),
                                      0.0, 1.0);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), TG_OK);
        tg_tape_set_grad_enabled(t, false);
        assert_same_bits(tg_grad(a), summed_to(t, a, tg_mul(t, w, b)), k,
                         "a");
        assert_same_bits(tg_grad(b), summed_to(t, b, tg_mul(t, w, a)), k,
                         "b");
        tg_tape_free(t);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("broadcast_grad");
    TCase *tc = tg_test_tcase("memory");
    tcase_add_loop_test(tc, backward_makes_no_output_sized_temporary, 0,
                        N_BINOPS);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("sums");
    tcase_add_loop_test(tc, sums_are_those_of_sum_to, 0, 2);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
