/*
 * test_ops_pool.c — tapegrad/pool.h: max, average and adaptive average
 * pooling, dropout and batch normalisation.
 *
 * Values and gradients against PyTorch (tests/fixtures/gen_pool.py, with
 * windows holding ties and batch norm's running statistics over several
 * steps), known values worked by hand, the tie and NaN rules, gradient
 * checks at first and second order (the second goes through the recorded
 * P^T op of pool2d.c), dropout's mask against the generator's draws, and
 * a training step that calls no allocator once its tape has grown.
 */
#include "tg_test.h"
#include "tapegrad/check.h"

#include "fixtures/ops_pool.h"

static tg_pool2d_options options_of(const fx_pool *f)
{
    tg_pool2d_options o = tg_pool2d_defaults(f->kernel[0], f->kernel[1]);
    for (int d = 0; d < 2; d++) {
        o.stride[d] = f->stride[d];
        o.padding[d] = f->padding[d];
        o.dilation[d] = f->dilation[d];
    }
    o.count_include_pad = f->count_include_pad;
    return o;
}

static tg_tensor *pool_of(tg_tape *t, const fx_pool *f, tg_tensor *x)
{
    tg_pool2d_options o = options_of(f);
    return f->kind == 0   ? tg_max_pool2d(t, x, &o)
           : f->kind == 1 ? tg_avg_pool2d(t, x, &o)
                          : tg_adaptive_avg_pool2d(t, x, f->out[0], f->out[1]);
}

static int64_t numel4(const int64_t *s) { return s[0] * s[1] * s[2] * s[3]; }

/* y and d sum(y * w) / dx (w = 1, 2, ...) in f64; y in f32. */
START_TEST(pool_matches_pytorch)
{
    const fx_pool *f = &pool_cases[_i];
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        tg_tape *t = tg_tape_new();
        tg_tensor *x = tg_cast(t, tg_from_data(t, TG_F64, 4, f->shape, f->x), dt);
        tg_set_requires_grad(x, true);
        tg_tensor *y = pool_of(t, f, x);
        ck_assert_msg(y != NULL, "case %d: %s", _i, tg_last_error());
        ck_assert_int_eq(tg_ndim(y), 4);
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(tg_shape(y)[k], f->yshape[k]);
        int64_t ny = numel4(f->yshape), nx = numel4(f->shape);
        for (int64_t i = 0; i < ny; i++)
            ck_assert_msg(tg_test_close(tg_value_at(y, i), d ? f->y[i] : f->y32[i],
                                        d ? 1e-12 : 1e-6, d ? 1e-14 : 1e-6),
                          "case %d %s y[%lld] = %.17g, PyTorch %.17g", _i,
                          d ? "f64" : "f32", (long long)i, tg_value_at(y, i),
                          d ? f->y[i] : f->y32[i]);
        double w[512];
        for (int64_t i = 0; i < ny; i++)
            w[i] = (double)(i + 1);
        ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, w)), TG_OK);
        for (int64_t i = 0; i < nx; i++)
            ck_assert_msg(tg_test_close(tg_value_at(tg_grad(x), i), f->gx[i],
                                        d ? 1e-12 : 1e-6, 1e-12),
                          "case %d %s gx[%lld] = %.17g, PyTorch %.17g", _i,
                          d ? "f64" : "f32", (long long)i,
                          tg_value_at(tg_grad(x), i), f->gx[i]);
        tg_tape_free(t);
    }
}
END_TEST

/* The first maximum in row-major order gets the gradient, a NaN wins,
 * padding never does; one image (C, H, W) pools as PyTorch's 3-D input.
 * The 2x2 stride-2 windows run in f64 and in f32 (pool_plan.c's fast
 * path for f32). */
START_TEST(max_pool_ties_nan_and_known_values)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[3] = {1, 2, 4};
    double v[8] = {1, 3, 5, 5, 3, 2, NAN, 5};
    float vf[8] = {1, 3, 5, 5, 3, 2, NAN, 5};
    for (int d = 0; d < 2; d++) {
        tg_tensor *x = d == 0 ? tg_from_data(t, TG_F64, 3, shape, v)
                              : tg_from_data(t, TG_F32, 3, shape, vf);
        tg_set_requires_grad(x, true);
        tg_pool2d_options o = tg_pool2d_defaults(2, 2);
        tg_tensor *y = tg_max_pool2d(t, x, &o);
        ck_assert_int_eq(tg_ndim(y), 3);
        ck_assert_int_eq(tg_shape(y)[2], 2);
        ck_assert(tg_value_at(y, 0) == 3);
        ck_assert(isnan(tg_value_at(y, 1)));
        ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
        double want[8] = {0, 1, 0, 0, 0, 0, 1, 0}; /* x[1] is the first 3 */
        for (int i = 0; i < 8; i++)
            ck_assert(tg_value_at(tg_grad(x), i) == want[i]);
    }
    tg_pool2d_options o;
    /* all -inf except padding: the maximum is -inf, at a real element */
    double m[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int64_t s2[3] = {1, 2, 2};
    tg_tensor *xm = tg_from_data(t, TG_F64, 3, s2, m);
    tg_set_requires_grad(xm, true);
    o = tg_pool2d_defaults(3, 3);
    o.stride[0] = o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    tg_tensor *ym = tg_max_pool2d(t, xm, &o);
    ck_assert(tg_value_at(ym, 0) == -INFINITY);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, ym)), TG_OK);
    ck_assert(tg_value_at(tg_grad(xm), 0) == 4); /* every window's first */
    tg_tape_free(t);
}
END_TEST

/* avg: 3x3 windows over ones with padding 1: 4/9 in a corner with the
 * padding counted, 1 without; adaptive 3 -> 2 averages rows {0,1}, {1,2}. */
START_TEST(avg_and_adaptive_known_values)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[4] = {1, 1, 3, 3};
    tg_tensor *ones = tg_ones(t, TG_F32, 4, shape);
    tg_pool2d_options o = tg_pool2d_defaults(3, 3);
    o.stride[0] = o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    tg_tensor *y = tg_avg_pool2d(t, ones, &o);
    ck_assert_float_eq_tol(tg_value_at(y, 0), 4.0 / 9, 1e-7);
    ck_assert_float_eq_tol(tg_value_at(y, 1), 6.0 / 9, 1e-7);
    ck_assert_float_eq_tol(tg_value_at(y, 4), 1.0, 1e-7);
    o.count_include_pad = false;
    y = tg_avg_pool2d(t, ones, &o);
    for (int i = 0; i < 9; i++)
        ck_assert_float_eq_tol(tg_value_at(y, i), 1.0, 1e-7);
    double v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    tg_tensor *x = tg_from_data(t, TG_F64, 4, shape, v);
    tg_tensor *a = tg_adaptive_avg_pool2d(t, x, 2, 1);
    ck_assert(tg_value_at(a, 0) == 3.5);  /* rows 0-1 */
    ck_assert(tg_value_at(a, 1) == 6.5);  /* rows 1-2 */
    tg_tape_free(t);
}
END_TEST

/* Gradient checks, first and second order, for the options the registry
 * case does not use: dilation, count_include_pad false, bigger outputs
 * than inputs. The second order differentiates sum(pool(x)^2), whose
 * gradient 2 P^T P x goes through the recorded P^T. */
typedef struct pool_fn_case {
    int kind;
    tg_pool2d_options o;
    int64_t out[2];
} pool_fn_case;

static tg_tensor *pool_sq(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    const pool_fn_case *c = ud;
    tg_tensor *y = c->kind == 0   ? tg_max_pool2d(t, in[0], &c->o)
                   : c->kind == 1 ? tg_avg_pool2d(t, in[0], &c->o)
                                  : tg_adaptive_avg_pool2d(t, in[0], c->out[0],
                                                           c->out[1]);
    return tg_mul(t, y, y);
}

START_TEST(pool_gradients_first_and_second_order)
{
    pool_fn_case cases[3] = {{0, tg_pool2d_defaults(2, 3), {0, 0}},
                             {1, tg_pool2d_defaults(3, 3), {0, 0}},
                             {2, tg_pool2d_defaults(1, 1), {5, 3}}};
    cases[0].o.dilation[0] = 2;
    cases[0].o.stride[1] = 1;
    cases[0].o.padding[1] = 1;
    cases[1].o.stride[0] = cases[1].o.stride[1] = 2;
    cases[1].o.padding[0] = cases[1].o.padding[1] = 1;
    cases[1].o.count_include_pad = false;
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 1);
    int64_t shape[4] = {2, 2, 4, 5};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 4, shape, 0, 1);
    for (int k = 0; k < 3; k++) {
        tg_ck_assert_gradients(pool_sq, &cases[k], 1, &x);
        tg_ck_assert_second_gradients(pool_sq, &cases[k], 1, &x);
    }
    tg_tape_free(t);
}
END_TEST

static tg_tensor *max_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    return tg_max_pool2d(t, in[0], &o);
}

/* A tie is a kink: the check reports it as ambiguous, not as a failure. */
START_TEST(max_pool_tie_is_ambiguous)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[3] = {1, 2, 2};
    double v[4] = {0.5, 0.5, -1, 0.25};
    tg_tensor *x = tg_from_data(t, TG_F64, 3, shape, v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(max_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_ge(r.n_ambiguous, 2);
    tg_tape_free(t);
}
END_TEST

/* The mask is the generator's draws: kept where u >= p, scaled 1/(1-p);
 * the caller's generator moves by one draw per element; f32 and f64 get
 * the same mask from the same seed. */
START_TEST(dropout_mask_from_the_generator)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {4, 25};
    double p = 0.3;
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        tg_tensor *x = tg_full(t, dt, 2, shape, 2.0);
        tg_set_requires_grad(x, true);
        tg_rng rng, ref, after;
        tg_rng_seed(&rng, 99, 3);
        ref = rng;
        tg_tensor *y = tg_dropout(t, x, p, &rng, true);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
        int kept = 0;
        for (int i = 0; i < 100; i++) {
            double scale = tg_rng_uniform(&ref) >= p ? 1 / (1 - p) : 0;
            kept += scale != 0;
            ck_assert_double_eq_tol(tg_value_at(y, i), 2 * scale, 1e-6);
            ck_assert_double_eq_tol(tg_value_at(tg_grad(x), i), scale, 1e-6);
        }
        ck_assert_int_gt(kept, 50);
        ck_assert_int_lt(kept, 90);
        after = ref; /* the caller's generator is where ref is now */
        ck_assert(rng.state == after.state && rng.inc == after.inc);
        /* eval: the identity, nothing drawn */
        ck_assert_ptr_eq(tg_dropout(t, x, p, &rng, false), x);
        ck_assert(rng.state == after.state);
        /* p = 0 keeps everything, unscaled */
        tg_tensor *z = tg_dropout(t, x, 0.0, &rng, true);
        for (int i = 0; i < 100; i++)
            ck_assert(tg_value_at(z, i) == 2.0);
    }
    tg_tape_free(t);
}
END_TEST

static tg_tensor *dropout_fn(tg_tape *t, int n, tg_tensor *const *in,
                             void *ud)
{
    (void)n, (void)ud;
    tg_rng rng;
    tg_rng_seed(&rng, 5, 5);
    tg_tensor *y = tg_dropout(t, in[0], 0.5, &rng, true);
    return tg_mul(t, y, y);
}

START_TEST(dropout_gradients_with_a_fixed_seed)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 1);
    int64_t shape[2] = {3, 5};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 2, shape, 0, 1);
    tg_ck_assert_gradients(dropout_fn, NULL, 1, &x);
    tg_ck_assert_second_gradients(dropout_fn, NULL, 1, &x);
    tg_tape_free(t);
}
END_TEST

/* Three training steps then eval, with the running statistics carried
 * from step to step, as PyTorch (fixtures): y, the gradients of x,
 * weight, bias, and running_mean / running_var after each step. */
START_TEST(batch_norm_matches_pytorch)
{
    const fx_bn *f = &bn_cases[_i];
    int64_t ch = f->shape[1], n = 1;
    for (int k = 0; k < f->ndim; k++)
        n *= f->shape[k];
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        double rtol = d ? 1e-10 : 2e-5, atol = d ? 1e-12 : 2e-5;
        tg_tape *params = tg_tape_new();
        tg_tensor *rm = tg_zeros(params, dt, 1, &ch);
        tg_tensor *rv = tg_ones(params, dt, 1, &ch);
        tg_tensor *w = tg_cast(params, tg_from_data(params, TG_F64, 1, &ch, f->weight), dt);
        tg_tensor *b = tg_cast(params, tg_from_data(params, TG_F64, 1, &ch, f->bias), dt);
        tg_set_requires_grad(w, true);
        tg_set_requires_grad(b, true);
        tg_tape *t = tg_tape_new();
        for (int s = 0; s < 4; s++) {
            const fx_bn_step *st = &f->steps[s];
            tg_zero_grad(w);
            tg_zero_grad(b);
            tg_tensor *x = tg_cast(t, tg_from_data(t, TG_F64, f->ndim, f->shape, st->x), dt);
            tg_set_requires_grad(x, true);
            tg_tensor *y = tg_batch_norm(t, x, rm, rv, w, b, s < 3, 0.1, 1e-5);
            ck_assert_msg(y != NULL, "%s", tg_last_error());
            double wy[64];
            for (int64_t i = 0; i < n; i++)
                wy[i] = 0.01 * (double)(i + 1);
            ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, wy)), TG_OK);
            for (int64_t i = 0; i < n; i++) {
                ck_assert_msg(tg_test_close(tg_value_at(y, i), d ? st->y[i] : st->y32[i], rtol, atol),
                              "case %d step %d %s y[%lld] %.17g, PyTorch %.17g", _i, s,
                              d ? "f64" : "f32", (long long)i, tg_value_at(y, i), st->y[i]);
                ck_assert_msg(tg_test_close(tg_value_at(tg_grad(x), i), st->gx[i], rtol, atol),
                              "case %d step %d gx[%lld] %.17g, PyTorch %.17g", _i, s,
                              (long long)i, tg_value_at(tg_grad(x), i), st->gx[i]);
            }
            for (int64_t k = 0; k < ch; k++) {
                ck_assert_close(tg_value_at(tg_grad(w), k), st->gw[k], rtol, atol);
                ck_assert_close(tg_value_at(tg_grad(b), k), st->gb[k], rtol, atol);
                ck_assert_close(tg_value_at(rm, k), st->rm[k], rtol, atol);
                ck_assert_close(tg_value_at(rv, k), st->rv[k], rtol, atol);
            }
            tg_tape_reset(t);
        }
        tg_tape_free(t);
        tg_tape_free(params);
    }
}
END_TEST

/* Without weight and bias, batch norm is the affine one with 1 and 0;
 * without running statistics, training leaves nothing behind. */
START_TEST(batch_norm_optional_arguments)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 3, 3);
    int64_t shape[2] = {6, 4}, ch = 4;
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 2, shape, 1, 2);
    tg_tensor *plain = tg_batch_norm(t, x, NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
    tg_tensor *affine = tg_batch_norm(t, x, NULL, NULL, tg_ones(t, TG_F64, 1, &ch),
                                      tg_zeros(t, TG_F64, 1, &ch), true, 0.1, 1e-5);
    ck_assert_ptr_nonnull(plain);
    for (int i = 0; i < 24; i++)
        ck_assert_double_eq(tg_value_at(plain, i), tg_value_at(affine, i));
    /* each column has mean 0 and biased variance v / (v + eps), v the
     * column's biased variance */
    for (int k = 0; k < 4; k++) {
        double s = 0, q = 0, xm = 0, v = 0;
        for (int r = 0; r < 6; r++) {
            s += tg_value_at(plain, r * 4 + k);
            xm += tg_value_at(x, r * 4 + k) / 6;
        }
        for (int r = 0; r < 6; r++) {
            q += tg_value_at(plain, r * 4 + k) * tg_value_at(plain, r * 4 + k);
            v += (tg_value_at(x, r * 4 + k) - xm) * (tg_value_at(x, r * 4 + k) - xm) / 6;
        }
        ck_assert_double_eq_tol(s, 0, 1e-12);
        ck_assert_double_eq_tol(q / 6, v / (v + 1e-5), 1e-12);
    }
    tg_tape_free(t);
}
END_TEST

static tg_tensor *bn_eval_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    tg_tensor **running = ud;
    return tg_mul(t, in[0], tg_batch_norm(t, in[0], running[0], running[1],
                                          in[1], in[2], false, 0.1, 1e-5));
}

static tg_tensor *bn_train_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_tensor *y = tg_batch_norm(t, in[0], NULL, NULL, in[1], in[2], true, 0.1, 1e-5);
    return tg_mul(t, y, tg_tanh(t, in[0]));
}

START_TEST(batch_norm_gradients_first_and_second_order)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 2);
    int64_t shape[4] = {3, 2, 2, 2}, ch = 2;
    tg_tensor *in[3] = {tg_rand_normal(t, &rng, TG_F64, 4, shape, 0.5, 1.5),
                        tg_rand_normal(t, &rng, TG_F64, 1, &ch, 1, 0.3),
                        tg_rand_normal(t, &rng, TG_F64, 1, &ch, 0, 1)};
    tg_tensor *running[2] = {tg_rand_normal(t, &rng, TG_F64, 1, &ch, 0, 1),
                             tg_rand_uniform(t, &rng, TG_F64, 1, &ch, 0.5, 2)};
    tg_ck_assert_gradients(bn_eval_fn, running, 3, in);
    tg_ck_assert_second_gradients(bn_eval_fn, running, 3, in);
    tg_ck_assert_gradients(bn_train_fn, NULL, 3, in);
    tg_ck_assert_second_gradients(bn_train_fn, NULL, 3, in);
    tg_tape_free(t);
}
END_TEST

/* A training step of conv-net layers on a tape that is reset each time:
 * once the tape has grown, no step calls the allocator. */
START_TEST(steady_state_calls_no_allocator)
{
    tg_tape *params = tg_tape_new();
    int64_t ch = 3, shape[4] = {4, 3, 8, 8};
    tg_tensor *w = tg_ones(params, TG_F32, 1, &ch), *b = tg_zeros(params, TG_F32, 1, &ch);
    tg_tensor *rm = tg_zeros(params, TG_F32, 1, &ch), *rv = tg_ones(params, TG_F32, 1, &ch);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_rng rng;
    tg_rng_seed(&rng, 1, 2);
    tg_tape *t = tg_tape_new();
    long calls[4];
    for (int step = 0; step < 4; step++) {
        calls[step] = tg_test_allocation_calls();
        tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, shape, 0, 1);
        tg_set_requires_grad(x, true);
        tg_pool2d_options o = tg_pool2d_defaults(2, 2);
        tg_tensor *h = tg_batch_norm(t, x, rm, rv, w, b, true, 0.1, 1e-5);
        h = tg_dropout(t, tg_max_pool2d(t, h, &o), 0.2, &rng, true);
        h = tg_adaptive_avg_pool2d(t, tg_avg_pool2d(t, h, &o), 1, 1);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, h)), TG_OK);
        tg_tape_reset(t);
    }
    ck_assert_int_eq(tg_test_allocation_calls(), calls[3]);
    ck_assert_int_eq(calls[3], calls[2]);
    tg_tape_free(t);
    tg_tape_free(params);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_pool");
    TCase *tc = tg_test_tcase("pool");
    int n_pool = (int)(sizeof pool_cases / sizeof pool_cases[0]);
    int n_bn = (int)(sizeof bn_cases / sizeof bn_cases[0]);
    tcase_add_loop_test(tc, pool_matches_pytorch, 0, n_pool);
    tcase_add_test(tc, max_pool_ties_nan_and_known_values);
    tcase_add_test(tc, avg_and_adaptive_known_values);
    tcase_add_test(tc, pool_gradients_first_and_second_order);
    tcase_add_test(tc, max_pool_tie_is_ambiguous);
    tcase_add_test(tc, dropout_mask_from_the_generator);
    tcase_add_test(tc, dropout_gradients_with_a_fixed_seed);
    tcase_add_loop_test(tc, batch_norm_matches_pytorch, 0, n_bn);
    tcase_add_test(tc, batch_norm_optional_arguments);
    tcase_add_test(tc, batch_norm_gradients_first_and_second_order);
    tcase_add_test(tc, steady_state_calls_no_allocator);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
