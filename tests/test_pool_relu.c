/*
 * test_pool_relu.c — (w6) tg_relu_max_pool2d, relu then max pooling as
 * one op, against the two ops one after the other: the same output and
 * the same input gradient, bit for bit, for both dtypes, the 2x2 fast
 * path at every instruction set (scalar, AVX2) and the general windows,
 * on one and two threads, with the inputs that tell them apart (ties,
 * zeros of both signs, NaN, infinities). Then tg_sequential_forward's use
 * of it for a relu layer followed by a max pool layer, and its errors.
 */
#include "support/tg_test.h"

#include "tapegrad.h"
#include "tapegrad/pool.h"
#include "tensor/gemm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* x drawn from N(0, 1) rounded to quarters (so windows tie), with every
 * seventh value replaced by one of 0, -0, NaN, inf, -inf, or a copy of its
 * neighbour. */
static tg_tensor *awkward_input(tg_tape *t, tg_dtype dt, int nd,
                                const int64_t *shape, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 7);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, nd, shape, 0.0, 1.0);
    ck_assert_ptr_nonnull(x);
    double *v = tg_mut_f64(x);
    static const double special[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, 0.0};
    for (int64_t i = 0; i < tg_numel(x); i++) {
        v[i] = round(v[i] * 4) / 4;
        if (i % 7 == 3)
            v[i] = special[(i / 7) % 6];
        if (i % 11 == 5 && i > 0)
            v[i] = v[i - 1];
    }
    return dt == TG_F64 ? x : tg_cast(t, x, TG_F32);
}

static size_t bytes(const tg_tensor *x)
{
    return (size_t)tg_numel(x) * (tg_dtype_of(x) == TG_F32 ? 4 : 8);
}

static const void *data(const tg_tensor *x)
{
    return tg_dtype_of(x) == TG_F32 ? (const void *)tg_data_f32(x)
                                    : (const void *)tg_data_f64(x);
}

/* y and d sum(y * r) / dx of fused (tg_relu_max_pool2d) or not. */
static void run(tg_tape *t, tg_tensor *x0, const tg_pool2d_options *o,
                bool fused, tg_tensor **y, tg_tensor **gx)
{
    tg_tensor *x = tg_detach(t, x0);
    ck_assert_ptr_nonnull(x);
    tg_set_requires_grad(x, true);
    *y = fused ? tg_relu_max_pool2d(t, x, o)
               : tg_max_pool2d(t, tg_relu(t, x), o);
    ck_assert_msg(*y != NULL, "%s", tg_last_error());
    /* r has -0 and 0 among its values: gy's sign of zero must not leak */
    tg_rng rng;
    tg_rng_seed(&rng, 5, 5);
    tg_tensor *r = tg_rand_normal(t, &rng, tg_dtype_of(*y), tg_ndim(*y),
                                  tg_shape(*y), 0.0, 1.0);
    ck_assert_ptr_nonnull(r);
    for (int64_t i = 0; i < tg_numel(r); i += 5) {
        if (tg_dtype_of(r) == TG_F32)
            tg_mut_f32(r)[i] = i % 2 ? -0.0f : 0.0f;
        else
            tg_mut_f64(r)[i] = i % 2 ? -0.0 : 0.0;
    }
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, *y, r))), TG_OK);
    *gx = tg_grad(x);
    ck_assert_ptr_nonnull(*gx);
}

typedef struct pool_case {
    int nd;
    int64_t shape[4];
    int64_t k, s, p, d;
} pool_case;

static const pool_case cases[] = {
    {4, {3, 6, 28, 28}, 2, 2, 0, 1},  /* LeNet's first pooling */
    {4, {2, 16, 10, 10}, 2, 2, 0, 1}, /* its second: rows of 5 outputs */
    {4, {2, 3, 7, 9}, 2, 2, 0, 1},    /* an odd last row and column */
    {3, {3, 5, 34}, 2, 2, 0, 1},      /* (C, H, W); 17 outputs a row */
    {4, {2, 2, 7, 7}, 3, 2, 1, 1},    /* overlapping, padded: general */
    {4, {1, 3, 9, 8}, 2, 2, 0, 2},    /* dilated 2x2: general */
};

START_TEST(same_bits_as_relu_then_max_pool)
{
    const pool_case *c = &cases[_i];
    tg_pool2d_options o = tg_pool2d_defaults(c->k, c->k);
    o.stride[0] = o.stride[1] = c->s;
    o.padding[0] = o.padding[1] = c->p;
    o.dilation[0] = o.dilation[1] = c->d;
    int top = tg__gemm_isa() >= 1 ? 1 : 0;
    for (int dt = 0; dt < 2; dt++)
        for (int run_no = 0; run_no <= top + 1; run_no++) {
            /* scalar, AVX2 if the machine has it, then two threads */
            int isa = run_no <= top ? run_no : top;
            tg__gemm_limit_isa(isa);
            if (run_no > top && tg_set_num_threads(2) != TG_OK) {
                tg_clear_error(); /* a build without threads */
                break;
            }
            tg_tape *t = tg_tape_new();
            tg_tensor *x = awkward_input(t, dt ? TG_F64 : TG_F32, c->nd,
                                         c->shape, (uint64_t)_i);
            tg_tensor *y1, *g1, *y2, *g2;
            run(t, x, &o, false, &y1, &g1);
            run(t, x, &o, true, &y2, &g2);
            ck_assert_int_eq(tg_ndim(y1), tg_ndim(y2));
            for (int a = 0; a < tg_ndim(y1); a++)
                ck_assert_int_eq(tg_shape(y1)[a], tg_shape(y2)[a]);
            ck_assert_msg(memcmp(data(y1), data(y2), bytes(y1)) == 0,
                          "case %d dtype %d run %d: outputs differ", _i, dt,
                          run_no);
            ck_assert_msg(memcmp(data(g1), data(g2), bytes(g1)) == 0,
                          "case %d dtype %d run %d: gradients differ", _i,
                          dt, run_no);
            tg_tape_free(t);
        }
    tg_set_num_threads(1);
    tg__gemm_limit_isa(2);
}
END_TEST

/* The fused op's second derivative (backward_ops) agrees with the pair's:
 * both are P^T of a mask, so d/dr of the gradient's dot with w is the same. */
START_TEST(recorded_derivative_matches)
{
    for (int k = 2; k <= 3; k++) {
        tg_tape *t = tg_tape_new();
        int64_t shape[4] = {2, 2, 6, 6};
        tg_tensor *x = awkward_input(t, TG_F64, 4, shape, 9);
        tg_pool2d_options o = tg_pool2d_defaults(k, k);
        tg_tensor *grads[2];
        for (int fused = 0; fused < 2; fused++) {
            tg_tensor *xi = tg_detach(t, x);
            tg_set_requires_grad(xi, true);
            tg_tensor *y = fused ? tg_relu_max_pool2d(t, xi, &o)
                                 : tg_max_pool2d(t, tg_relu(t, xi), &o);
            tg_tensor *r = tg_ones(t, TG_F64, tg_ndim(y), tg_shape(y));
            tg_set_requires_grad(r, true);
            tg_vjp_options vo = tg_vjp_defaults();
            vo.create_graph = true; /* recorded: backward_ops */
            tg_tensor *g = NULL;
            ck_assert_msg(tg_vjp(t, 1, &y, &r, 1, &xi, &g, &vo) == TG_OK,
                          "%s", tg_last_error());
            ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, g, x))),
                             TG_OK);
            grads[fused] = tg_grad(r);
            ck_assert_ptr_nonnull(grads[fused]);
        }
        for (int64_t i = 0; i < tg_numel(grads[0]); i++) {
            double a = tg_data_f64(grads[0])[i], b = tg_data_f64(grads[1])[i];
            ck_assert_msg(a == b || (isnan(a) && isnan(b)),
                          "k %d: [%lld] %g vs %g", k, (long long)i, a, b);
        }
        tg_tape_free(t);
    }
}
END_TEST

/* Whether the tape's printout names op. */
static bool tape_has(const tg_tape *t, const char *op)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_tape_print(t, f), TG_OK);
    rewind(f);
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, op) != NULL;
    fclose(f);
    return found;
}

START_TEST(sequential_runs_relu_then_pool_as_one_op)
{
    tg_tape *t = tg_tape_new();
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    tg_sequential *net = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add(net, tg_layer_activation_new(t, "relu")),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add(net, tg_layer_max_pool2d_new(t, &two)),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add(net, tg_layer_activation_new(t, "relu")),
                     TG_OK); /* a relu last: nothing to fuse it with */
    int64_t shape[4] = {2, 3, 8, 8};
    tg_tensor *x = tg_detach(t, awkward_input(t, TG_F32, 4, shape, 3));
    tg_set_requires_grad(x, true); /* so that the ops are recorded */
    tg_tape *s = tg_tape_new();
    tg_tensor *y = tg_sequential_forward(s, net, x);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert(tape_has(s, "relu_max_pool2d"));
    ck_assert(!tape_has(s, " max_pool2d"));
    tg_tensor *want = tg_relu(s, tg_max_pool2d(s, tg_relu(s, x), &two));
    ck_assert_int_eq(memcmp(data(y), data(want), bytes(y)), 0);
    /* A pool layer after another kind of layer stays a pool layer. */
    tg_sequential *other = tg_sequential_new(t);
    tg_sequential_add(other, tg_layer_activation_new(t, "tanh"));
    tg_sequential_add(other, tg_layer_max_pool2d_new(t, &two));
    tg_tape_reset(s);
    ck_assert_ptr_nonnull(tg_sequential_forward(s, other, x));
    ck_assert(!tape_has(s, "relu_max_pool2d"));
    tg_tape_free(s);
    tg_tape_free(t);
}
END_TEST

START_TEST(errors_name_the_call)
{
    tg_tape *t = tg_tape_new();
    int64_t s2[2] = {3, 4}, s4[4] = {1, 1, 4, 4};
    tg_tensor *m = tg_zeros(t, TG_F32, 2, s2);
    tg_tensor *x = tg_zeros(t, TG_F32, 4, s4);
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    ck_assert_null_status(tg_relu_max_pool2d(t, x, NULL), TG_EINVAL,
                          "tg_relu_max_pool2d: the options are NULL");
    ck_assert_null_status(tg_relu_max_pool2d(t, m, &two), TG_ESHAPE,
                          "tg_relu_max_pool2d: x has shape (3,4)");
    tg_pool2d_options bad = two;
    bad.stride[1] = 0;
    ck_assert_null_status(tg_relu_max_pool2d(t, x, &bad), TG_EINVAL,
                          "tg_relu_max_pool2d: kernel (2, 2), stride (2, 0)");
    tg_pool2d_options big = tg_pool2d_defaults(5, 5);
    ck_assert_null_status(tg_relu_max_pool2d(t, x, &big), TG_ESHAPE,
                          "the window does not fit");
    /* A NULL x from a failed call keeps that call's error. */
    ck_assert_ptr_null(tg_relu_max_pool2d(t, tg_max_pool2d(t, m, &two), &two));
    ck_assert_message("tg_max_pool2d: x has shape (3,4)");
    ck_assert_ptr_null(tg_relu_max_pool2d(t, tg_max_pool2d(t, m, &two), NULL));
    ck_assert_message("tg_max_pool2d: x has shape (3,4)");
    /* Through a sequential, the user's call is named first. */
    tg_sequential *net = tg_sequential_new(t);
    tg_sequential_add(net, tg_layer_activation_new(t, "relu"));
    tg_sequential_add(net, tg_layer_max_pool2d_new(t, &two));
    ck_assert_null_status(tg_sequential_forward(t, net, m), TG_ESHAPE,
                          "tg_relu_max_pool2d: x has shape (3,4)");
    ck_assert_msg(strncmp(tg_last_error(), "tg_sequential_forward", 21) == 0,
                  "%s", tg_last_error());
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool_relu");
    TCase *tc = tg_test_tcase("relu_max_pool2d");
    tcase_add_loop_test(tc, same_bits_as_relu_then_max_pool, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, recorded_derivative_matches);
    tcase_add_test(tc, sequential_runs_relu_then_pool_as_one_op);
    tcase_add_test(tc, errors_name_the_call);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
