/*
 * test_serial9.c — linear with its neighbours run inside the product
 * (src/ops/linear.c's fused forms, session 9, issue 13):
 *
 * - tg_sequential_forward runs "flatten from axis 1, linear, relu" and
 *   "linear, relu" as one op each: LeNet-5's head (64x16x5x5 flattened,
 *   400-120-84-10) gives the same output, loss, input gradient and
 *   parameter gradients, bit for bit, as its layers run one by one
 *   (tg_layer_forward), on 1 and 2 threads, f32 and f64, with rows of
 *   zeros and a NaN among the inputs (relu's mask at 0 and at NaN);
 * - tg_mlp_forward with tg_relu runs "linear, relu" as one op: the same
 *   bits as tg_linear then tg_relu;
 * - the fused ops' gradients, first and second order (tg_gradcheck,
 *   tg_gradgradcheck), for x and every parameter;
 * - its gradient-check piece: relu's kink is ambiguous, not wrong;
 * - a flatten whose width does not match the next linear is reported by
 *   the unfused layers, as before.
 * Each check also counts the tape's entries, so that it fails if the
 * fused path was not taken.
 */
#include "tg_test.h"

#include <tapegrad/check.h>

#include <math.h>
#include <string.h>

/* A value for element i, the same on every run, in about [-1, 1]. */
static double value(int64_t i, int salt)
{
    return (double)(((uint64_t)i * 2654435761u + (uint64_t)salt * 40503u) %
                    100003) / 50001.5 - 1.0;
}

static void fill(tg_tensor *x, int salt)
{
    for (int64_t i = 0; i < tg_numel(x); i++)
        if (tg_dtype_of(x) == TG_F32)
            tg_mut_f32(x)[i] = (float)value(i, salt);
        else
            tg_mut_f64(x)[i] = value(i, salt);
}

static const void *values(const tg_tensor *x)
{
    return tg_dtype_of(x) == TG_F32 ? (const void *)tg_data_f32(x)
                                    : (const void *)tg_data_f64(x);
}

/* A copy of x's values on keep, which outlives the step's tape. */
static tg_tensor *copy_of(tg_tape *keep, const tg_tensor *x)
{
    ck_assert_ptr_nonnull(x);
    tg_tensor *c = tg_from_data(keep, tg_dtype_of(x), tg_ndim(x), tg_shape(x),
                                values(x));
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Whether a and b hold the same bytes (NaN compares equal to itself). */
static bool same_bits(const tg_tensor *a, const tg_tensor *b)
{
    size_t size = tg_dtype_of(a) == TG_F32 ? 4 : 8;
    return a != NULL && b != NULL && tg_numel(a) == tg_numel(b) &&
           tg_dtype_of(a) == tg_dtype_of(b) &&
           memcmp(values(a), values(b), (size_t)tg_numel(a) * size) == 0;
}

/* LeNet-5's layers after its last pool, on t. */
#define HEAD_LAYERS 6
static tg_sequential *head(tg_tape *t, tg_dtype dt, tg_layer **l)
{
    tg_rng rng;
    tg_rng_seed(&rng, 9, 1);
    l[0] = tg_layer_flatten_new(t, 1);
    l[1] = tg_layer_linear_new(t, &rng, dt, 400, 120, true);
    l[2] = tg_layer_activation_new(t, "relu");
    l[3] = tg_layer_linear_new(t, &rng, dt, 120, 84, true);
    l[4] = tg_layer_activation_new(t, "relu");
    l[5] = tg_layer_linear_new(t, &rng, dt, 84, 10, true);
    tg_sequential *s = tg_sequential_new(t);
    for (int i = 0; i < HEAD_LAYERS; i++)
        ck_assert_int_eq(tg_sequential_add(s, l[i]), TG_OK);
    return s;
}

/* What one training step leaves: the loss and every gradient. */
typedef struct step {
    tg_tensor *out, *loss, *gx, *gp[6];
    int64_t entries;
} step;

/* Forward (fused through the sequential, or layer by layer), the cross-
 * entropy against fixed labels, backward; gradients copied onto keep. */
static step run(tg_tape *t, tg_tape *keep, tg_sequential *s, tg_layer **l,
                tg_tensor *x, bool fused)
{
    static const int64_t labels[64] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8,
                                       9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4};
    tg_tape_reset(t);
    tg_params *p = tg_sequential_params(s);
    ck_assert_int_eq(tg_params_zero_grad(p), TG_OK);
    ck_assert_int_eq(tg_zero_grad(x), TG_OK);
    tg_tensor *y = x;
    if (fused)
        y = tg_sequential_forward(t, s, x);
    else
        for (int i = 0; i < HEAD_LAYERS; i++)
            y = tg_layer_forward(t, l[i], y);
    step r = {.entries = tg_tape_size(t)};
    tg_tensor *loss = tg_cross_entropy(t, y, labels);
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    r.out = copy_of(keep, y);
    r.loss = copy_of(keep, loss);
    r.gx = copy_of(keep, tg_grad(x));
    ck_assert_int_eq(tg_params_count(p), 6);
    for (int i = 0; i < 6; i++)
        r.gp[i] = copy_of(keep, tg_grad(tg_params_at(p, i)));
    return r;
}

static void check_same(const step *a, const step *b)
{
    ck_assert(same_bits(a->out, b->out));
    ck_assert(same_bits(a->loss, b->loss));
    ck_assert(same_bits(a->gx, b->gx));
    for (int i = 0; i < 6; i++)
        ck_assert_msg(same_bits(a->gp[i], b->gp[i]), "parameter %d", i);
}

static void check_head(tg_dtype dt)
{
    tg_tape *model = tg_tape_new(), *t = tg_tape_new(), *keep = tg_tape_new();
    tg_layer *l[HEAD_LAYERS];
    tg_sequential *s = head(model, dt, l);
    int64_t shape[4] = {64, 16, 5, 5};
    tg_tensor *x = tg_empty(model, dt, 4, shape);
    fill(x, 1);
    /* rows 5 and 6 all zero: the first linear's output is its bias, and
     * with that bias's first entry 0 as well, relu's input is exactly 0 */
    for (int64_t i = 5 * 400; i < 7 * 400; i++)
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = 0;
        else
            tg_mut_f64(x)[i] = 0;
    tg_tensor *b1 = tg_params_at(tg_sequential_params(s), 1);
    if (dt == TG_F32)
        tg_mut_f32(b1)[0] = 0;
    else
        tg_mut_f64(b1)[0] = 0;
    /* and one NaN in row 9: its whole row of outputs is NaN */
    if (dt == TG_F32)
        tg_mut_f32(x)[9 * 400 + 17] = NAN;
    else
        tg_mut_f64(x)[9 * 400 + 17] = NAN;
    tg_set_requires_grad(x, true);

    step ref[2], got[2];
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        ref[threads - 1] = run(t, keep, s, l, x, false);
        got[threads - 1] = run(t, keep, s, l, x, true);
        ck_assert_int_eq(ref[threads - 1].entries, 6);
        ck_assert_int_eq(got[threads - 1].entries, 3); /* fused: 3 ops */
        check_same(&ref[threads - 1], &got[threads - 1]);
    }
    check_same(&got[0], &got[1]);
    ck_assert(isnan(tg_item(got[0].loss)));
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    tg_tape_free(keep);
    tg_tape_free(t);
    tg_tape_free(model);
}

START_TEST(sequential_head_same_bits)
{
    check_head(TG_F32);
    check_head(TG_F64);
}
END_TEST

/* The same head without the NaN: a finite loss, equal on both paths. */
START_TEST(sequential_head_finite)
{
    tg_tape *model = tg_tape_new(), *t = tg_tape_new(), *keep = tg_tape_new();
    tg_layer *l[HEAD_LAYERS];
    tg_sequential *s = head(model, TG_F32, l);
    int64_t shape[4] = {64, 16, 5, 5};
    tg_tensor *x = tg_empty(model, TG_F32, 4, shape);
    fill(x, 2);
    tg_set_requires_grad(x, true);
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        step a = run(t, keep, s, l, x, false), b = run(t, keep, s, l, x, true);
        ck_assert(isfinite(tg_item(b.loss)));
        ck_assert_int_eq(b.entries, 3);
        check_same(&a, &b);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    tg_tape_free(keep);
    tg_tape_free(t);
    tg_tape_free(model);
}
END_TEST

/* W5's MLP (784-256-10, relu): tg_mlp_forward against tg_linear then
 * tg_relu then tg_linear, on 1 and 2 threads. */
START_TEST(mlp_same_bits)
{
    tg_tape *model = tg_tape_new(), *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 9, 2);
    int64_t widths[3] = {784, 256, 10}, shape[2] = {64, 784};
    tg_mlp *m = tg_mlp_new(model, NULL, &rng, TG_F32, 3, widths, tg_relu);
    ck_assert_ptr_nonnull(m);
    tg_linear_layer *a = tg_mlp_layer(m, 0), *b = tg_mlp_layer(m, 1);
    tg_tensor *x = tg_empty(model, TG_F32, 2, shape);
    fill(x, 3);
    tg_set_requires_grad(x, true);
    tg_tensor *first[4] = {NULL};
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        tg_tensor *g[2][4];
        for (int fused = 0; fused <= 1; fused++) {
            tg_tape_reset(t);
            tg_tensor *y =
                fused ? tg_mlp_forward(t, m, x)
                      : tg_linear(t, tg_relu(t, tg_linear(t, x, a->weight,
                                                          a->bias)),
                                  b->weight, b->bias);
            ck_assert_int_eq(tg_tape_size(t), fused ? 2 : 3);
            tg_tensor *loss = tg_sum(t, tg_mul(t, y, y));
            tg_tensor *ps[3] = {x, a->weight, b->bias};
            for (int i = 0; i < 3; i++)
                ck_assert_int_eq(tg_zero_grad(ps[i]), TG_OK);
            ck_assert_int_eq(tg_backward(t, loss), TG_OK);
            g[fused][0] = copy_of(model, y);
            for (int i = 0; i < 3; i++)
                g[fused][i + 1] = copy_of(model, tg_grad(ps[i]));
        }
        for (int i = 0; i < 4; i++) {
            ck_assert(same_bits(g[0][i], g[1][i]));
            if (threads == 1)
                first[i] = g[1][i];
            else
                ck_assert(same_bits(first[i], g[1][i]));
        }
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    tg_tape_free(t);
    tg_tape_free(model);
}
END_TEST

/* A small f64 head for the gradient checks: (3,2,2,2) flattened, 8-5,
 * relu, 5-4, relu, 4-2; inputs x and the five first parameters. */
typedef struct small {
    tg_sequential *s;
    tg_tensor *r; /* the output's weights in the checked sum */
} small;

static tg_tensor *small_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    const small *sm = ud;
    int64_t before = tg_tape_size(t);
    tg_tensor *y = tg_sequential_forward(t, sm->s, in[0]);
    /* flatten-linear-relu, linear-relu, linear: three ops */
    if (y != NULL && tg_tape_size(t) - before != 3)
        return NULL;
    return tg_sum(t, tg_mul(t, y, sm->r));
}

/* The small model of the two tests below, its layers in l: flatten,
 * linear 8-5, relu, linear 5-4, relu, linear 4-2, f64, weights from
 * seed (9, stream). */
static small small_model(tg_tape *model, uint64_t stream, tg_layer *l[6])
{
    tg_rng rng;
    tg_rng_seed(&rng, 9, stream);
    small sm = {tg_sequential_new(model), NULL};
    l[0] = tg_layer_flatten_new(model, 1);
    l[1] = tg_layer_linear_new(model, &rng, TG_F64, 8, 5, true);
    l[2] = tg_layer_activation_new(model, "relu");
    l[3] = tg_layer_linear_new(model, &rng, TG_F64, 5, 4, true);
    l[4] = tg_layer_activation_new(model, "relu");
    l[5] = tg_layer_linear_new(model, &rng, TG_F64, 4, 2, true);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(tg_sequential_add(sm.s, l[i]), TG_OK);
    return sm;
}

START_TEST(fused_gradients)
{
    tg_tape *model = tg_tape_new();
    tg_layer *l[6];
    small sm = small_model(model, 3, l);
    int64_t xs[4] = {3, 2, 2, 2}, rs[2] = {3, 2};
    tg_tensor *in[5] = {tg_empty(model, TG_F64, 4, xs)};
    fill(in[0], 4);
    sm.r = tg_empty(model, TG_F64, 2, rs);
    fill(sm.r, 5);
    tg_params *p = tg_sequential_params(sm.s);
    for (int i = 0; i < 4; i++) /* W1, b1, W2, b2 */
        in[i + 1] = tg_params_at(p, i);
    tg_set_requires_grad(in[0], true);
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        tg_ck_assert_gradients(small_fn, &sm, 5, in);
        tg_ck_assert_second_gradients(small_fn, &sm, 5, in);
        /* the recorded derivative (backward_ops, which create_graph
         * runs) is the unfused layers' recorded derivative, bit for bit */
        tg_tape *t = tg_tape_new();
        tg_vjp_options o = tg_vjp_defaults();
        o.create_graph = true;
        tg_tensor *g[2][5];
        for (int fused = 0; fused <= 1; fused++) {
            tg_tensor *y = in[0];
            if (fused)
                y = tg_sequential_forward(t, sm.s, y);
            else
                for (int i = 0; i < 6; i++)
                    y = tg_layer_forward(t, l[i], y);
            tg_tensor *f = tg_sum(t, tg_mul(t, y, sm.r));
            ck_assert_int_eq(tg_vjp(t, 1, &f, NULL, 5, in, g[fused], &o),
                             TG_OK);
        }
        for (int i = 0; i < 5; i++)
            ck_assert_msg(same_bits(g[0][i], g[1][i]), "input %d", i);
        tg_tape_free(t);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    tg_tape_free(model);
}
END_TEST

/* x's first row all 0 and b1's first entry 0: relu's input is exactly
 * 0 there, and a step of x moves it across the kink. The fused op's piece
 * makes tg_gradcheck call those elements ambiguous, as relu's piece does
 * for the layers one by one; without it they would fail (the difference
 * quotient averages relu's two slopes). */
START_TEST(gradcheck_at_the_kink)
{
    tg_tape *model = tg_tape_new();
    tg_layer *l[6];
    small sm = small_model(model, 5, l);
    int64_t xs[4] = {3, 2, 2, 2}, rs[2] = {3, 2};
    tg_tensor *x = tg_empty(model, TG_F64, 4, xs);
    fill(x, 6);
    for (int k = 0; k < 8; k++)
        tg_mut_f64(x)[k] = 0;
    tg_mut_f64(tg_params_at(tg_sequential_params(sm.s), 1))[0] = 0;
    sm.r = tg_empty(model, TG_F64, 2, rs);
    fill(sm.r, 7);
    tg_gradcheck_report rep;
    ck_assert_int_eq(tg_gradcheck(small_fn, &sm, 1, &x, NULL, &rep), TG_OK);
    ck_assert_msg(rep.passed, "%s", rep.message);
    ck_assert_int_gt(rep.n_ambiguous, 0);
    tg_tape_free(model);
}
END_TEST

/* flatten to 8 values, then a linear that takes 9: the flatten runs, and
 * tg_linear reports the mismatch with the flattened shape, as the
 * layers alone do. */
START_TEST(mismatch_reported_unfused)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 9, 4);
    tg_sequential *s = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_flatten_new(t, 1)), TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_linear_new(
                                              t, &rng, TG_F32, 9, 3, true)),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_activation_new(t, "relu")),
                     TG_OK);
    int64_t xs[4] = {2, 2, 2, 2};
    tg_tensor *x = tg_zeros(t, TG_F32, 4, xs);
    ck_assert_ptr_null(tg_sequential_forward(t, s, x));
    ck_assert_int_eq(tg_last_status(), TG_ESHAPE);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tg_sequential_forward"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tg_linear: x (2,8) and "
                                                  "W (3,9) do not match"));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("serial9");
    TCase *tc = tg_test_tcase("serial9");
    tcase_add_test(tc, sequential_head_same_bits);
    tcase_add_test(tc, sequential_head_finite);
    tcase_add_test(tc, mlp_same_bits);
    tcase_add_test(tc, fused_gradients);
    tcase_add_test(tc, gradcheck_at_the_kink);
    tcase_add_test(tc, mismatch_reported_unfused);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
