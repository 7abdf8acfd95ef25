/*
 * test_ops_conv.c — conv1d and conv2d: values by hand, values and
 * gradients against PyTorch for a grid of stride, padding, dilation,
 * groups and bias in f32 and f64 (fixtures/ops_conv.h, made by
 * fixtures/gen_conv.py), second-order gradients, conv1d as conv2d with
 * H = 1, no allocation in the steady state, and the errors.
 */
#include "tg_test.h"

#include <tapegrad/check.h>

#include <math.h>

#include "fixtures/ops_conv.h"

#define N_FX ((int)(sizeof conv_cases / sizeof conv_cases[0]))


static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

static void expect(const tg_tensor *got, const double *want, double tol)
{
    ck_assert_ptr_nonnull(got);
    for (int64_t i = 0; i < tg_numel(got); i++)
        ck_assert_close(at(got, i), want[i], tol, tol);
}

static tg_conv_options options_of(const fx_conv *f)
{
    tg_conv_options o = tg_conv_defaults();
    for (int d = 0; d < 2; d++) {
        o.stride[d] = f->stride[d];
        o.padding[d] = f->padding[d];
        o.dilation[d] = f->dilation[d];
    }
    o.groups = f->groups;
    return o;
}

/* Case _i / 2 in f32 (odd _i) or f64: y, and the gradients of sum(y r). */
START_TEST(matches_pytorch)
{
    const fx_conv *f = &conv_cases[_i / 2];
    tg_dtype dt = _i % 2 ? TG_F32 : TG_F64;
    double tol = dt == TG_F32 ? 1e-5 : 1e-12;
    int nd = f->nsp + 2;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_test_tensor(t, dt, nd, f->xshape, f->x);
    tg_tensor *w = tg_test_tensor(t, dt, nd, f->wshape, f->w);
    tg_tensor *b = f->bias ? tg_test_tensor(t, dt, 1, f->wshape, f->b) : NULL;
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    if (b != NULL)
        tg_set_requires_grad(b, true);
    tg_conv_options o = options_of(f);
    tg_tensor *y = f->nsp == 2 ? tg_conv2d(t, x, w, b, &o)
                               : tg_conv1d(t, x, w, b, &o);
    ck_assert_msg(y != NULL, "case %d: %s", _i / 2, tg_last_error());
    ck_assert_int_eq(tg_ndim(y), nd);
    for (int d = 0; d < nd; d++)
        ck_assert_int_eq(tg_shape(y)[d], f->yshape[d]);
    expect(y, f->y, tol);
    ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, f->r)), TG_OK);
    expect(tg_grad(x), f->gx, tol);
    expect(tg_grad(w), f->gw, tol);
    if (b != NULL)
        expect(tg_grad(b), f->gb, tol);
    tg_tape_free(t);
}
END_TEST

/* A 3x3 input of 1..9, a 2x2 kernel of ones, padding 1, stride 2:
 * the corners' sums, worked out by hand. */
START_TEST(by_hand)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {1, 1, 3, 3}, ws[4] = {1, 1, 2, 2};
    double xv[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wv[4] = {1, 1, 1, 1};
    tg_tensor *x = tg_test_tensor(t, TG_F32, 4, xs, xv);
    tg_tensor *w = tg_test_tensor(t, TG_F32, 4, ws, wv);
    double bv = 0.5;
    int64_t one = 1;
    tg_tensor *b = tg_test_tensor(t, TG_F32, 1, &one, &bv);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 1;
    o.stride[0] = o.stride[1] = 2;
    tg_tensor *y = tg_conv2d(t, x, w, b, &o);
    /* windows: {1}, {2,3}, {4,7}, {5,6,8,9} */
    double want[4] = {1.5, 5.5, 11.5, 28.5};
    ck_assert_int_eq(tg_shape(y)[2], 2);
    ck_assert_int_eq(tg_shape(y)[3], 2);
    expect(y, want, 0);
    /* conv1d of [1 2 3 4] with [1 -1], dilation 2: x[i] - x[i+2]. */
    int64_t s1[3] = {1, 1, 4}, k1[3] = {1, 1, 2};
    double v1[4] = {1, 2, 3, 4}, kv[2] = {1, -1};
    o = tg_conv_defaults();
    o.dilation[0] = 2;
    tg_tensor *y1 = tg_conv1d(t, tg_test_tensor(t, TG_F64, 3, s1, v1),
                              tg_test_tensor(t, TG_F64, 3, k1, kv), NULL, &o);
    double want1[2] = {-2, -2};
    ck_assert_int_eq(tg_shape(y1)[2], 2);
    expect(y1, want1, 0);
    /* opt NULL: the defaults. */
    ck_assert_int_eq(tg_shape(tg_conv2d(t, x, w, NULL, NULL))[3], 2);
    tg_tape_free(t);
}
END_TEST

/* conv1d of (N, C, L) is conv2d of (N, C, 1, L) with a 1-tall kernel. */
START_TEST(conv1d_is_conv2d)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 1);
    int64_t xs[3] = {2, 4, 11}, ws[3] = {6, 2, 3};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 3, xs, 0, 1);
    tg_tensor *w = tg_rand_normal(t, &rng, TG_F64, 3, ws, 0, 1);
    tg_conv_options o = tg_conv_defaults();
    o.stride[0] = 2, o.padding[0] = 3, o.dilation[0] = 2, o.groups = 2;
    tg_tensor *y1 = tg_conv1d(t, x, w, NULL, &o);
    int64_t x4[4] = {2, 4, 1, 11}, w4[4] = {6, 2, 1, 3};
    tg_conv_options o2 = tg_conv_defaults();
    o2.stride[1] = 2, o2.padding[1] = 3, o2.dilation[1] = 2, o2.groups = 2;
    tg_tensor *y2 = tg_conv2d(t, tg_reshape(t, x, 4, x4),
                              tg_reshape(t, w, 4, w4), NULL, &o2);
    ck_assert_int_eq(tg_numel(y1), tg_numel(y2));
    for (int64_t i = 0; i < tg_numel(y1); i++)
        ck_assert(tg_data_f64(y1)[i] == tg_data_f64(y2)[i]);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *conv2d_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    tg_tensor *y = tg_conv2d(t, in[0], in[1], in[2], ud);
    return tg_tanh(t, y); /* not linear, so second derivatives are not 0 */
}
static tg_tensor *conv1d_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return tg_tanh(t, tg_conv1d(t, in[0], in[1], in[2], ud));
}

/* First and second order, with strides, padding, dilation and groups. */
START_TEST(gradcheck_orders)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 1);
    int64_t xs[4] = {2, 4, 5, 6}, ws[4] = {4, 2, 3, 2}, bs = 4;
    tg_tensor *in[3] = {tg_rand_normal(t, &rng, TG_F64, 4, xs, 0, 1),
                        tg_rand_normal(t, &rng, TG_F64, 4, ws, 0, 0.5),
                        tg_rand_normal(t, &rng, TG_F64, 1, &bs, 0, 1)};
    tg_conv_options o = tg_conv_defaults();
    o.stride[0] = 2, o.padding[1] = 1, o.dilation[0] = 2, o.groups = 2;
    tg_ck_assert_gradients(conv2d_fn, &o, 3, in);
    tg_ck_assert_second_gradients(conv2d_fn, &o, 3, in);
    int64_t x3[3] = {2, 2, 7}, w3[3] = {3, 2, 3};
    tg_tensor *in1[3] = {tg_rand_normal(t, &rng, TG_F64, 3, x3, 0, 1),
                         tg_rand_normal(t, &rng, TG_F64, 3, w3, 0, 0.5),
                         NULL};
    int64_t b3 = 3;
    in1[2] = tg_rand_normal(t, &rng, TG_F64, 1, &b3, 0, 1);
    o = tg_conv_defaults();
    o.stride[0] = 2, o.padding[0] = 2;
    tg_ck_assert_gradients(conv1d_fn, &o, 3, in1);
    tg_ck_assert_second_gradients(conv1d_fn, &o, 3, in1);
    tg_tape_free(t);
}
END_TEST

/* y and the gradients of x and w of one convolution of shape (xs, ws)
 * with padding pad and a bias, for the thread test; returns the values
 * written. */
static int64_t conv_run(int threads, const int64_t *xs, const int64_t *ws,
                        int64_t pad, float *out, int64_t n_out)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 5, 1);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, xs, 0, 1);
    tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 4, ws, 0, 1);
    tg_tensor *b = tg_rand_normal(t, &rng, TG_F32, 1, ws, 0, 1);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    if (threads > 1)
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = pad;
    tg_tensor *y = tg_conv2d(t, x, w, b, &o);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, y))), TG_OK);
    tg_set_num_threads(1);
    const tg_tensor *parts[4] = {y, tg_grad(x), tg_grad(w), tg_grad(b)};
    int64_t k = 0;
    for (int p = 0; p < 4; p++)
        for (int64_t i = 0; i < tg_numel(parts[p]); i++) {
            ck_assert_int_lt(k, n_out);
            out[k++] = tg_data_f32(parts[p])[i];
        }
    tg_tape_free(t);
    return k;
}

/* Two threads give the same bits as one (each sample's im2col, col2im and
 * the gemm's parts write their own memory; the direct kernel of conv1's
 * shape splits samples in the forward and output channels in the weight
 * gradient), at W6's two shapes. */
START_TEST(threads_same_bits)
{
    if (tg_set_num_threads(2) != TG_OK) {
        tg_clear_error(); /* a build without threads: nothing to compare */
        return;
    }
    tg_set_num_threads(1);
    enum { N = 16 * 6 * 28 * 28 * 2 + 6 * 25 + 6 };
    static float one[N], two[N];
    int64_t x2[4] = {16, 6, 14, 14}, w2[4] = {16, 6, 5, 5};
    int64_t x1[4] = {16, 1, 28, 28}, w1[4] = {6, 1, 5, 5};
    int64_t n = conv_run(1, x2, w2, 0, one, N);
    ck_assert_int_eq(conv_run(2, x2, w2, 0, two, N), n);
    ck_assert(memcmp(one, two, (size_t)n * sizeof *one) == 0);
    n = conv_run(1, x1, w1, 2, one, N);
    ck_assert_int_eq(conv_run(2, x1, w1, 2, two, N), n);
    ck_assert(memcmp(one, two, (size_t)n * sizeof *one) == 0);
}
END_TEST

/* A training step on a reset tape calls no allocator the second time. */
START_TEST(steady_state_allocates_nothing)
{
    tg_tape *params = tg_tape_new(), *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 3, 1);
    int64_t xs[4] = {8, 1, 28, 28}, ws[4] = {6, 1, 5, 5}, bs = 6;
    tg_tensor *x = tg_rand_uniform(params, &rng, TG_F32, 4, xs, 0, 1);
    tg_tensor *w = tg_rand_normal(params, &rng, TG_F32, 4, ws, 0, 0.2);
    tg_tensor *b = tg_zeros(params, TG_F32, 1, &bs);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 2;
    long calls = 0;
    for (int step = 0; step < 3; step++) {
        long before = tg_test_allocation_calls();
        tg_tensor *y = tg_relu(t, tg_conv2d(t, x, w, b, &o));
        ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
        calls = tg_test_allocation_calls() - before;
        ck_assert_int_eq(tg_zero_grad(w), TG_OK);
        ck_assert_int_eq(tg_zero_grad(b), TG_OK);
        tg_tape_reset(t);
    }
    ck_assert_int_eq(calls, 0);
    tg_tape_free(t);
    tg_tape_free(params);
}
END_TEST

/* Each error names the call and the shapes, and makes nothing. */
START_TEST(conv_bad_input)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {1, 4, 4, 4}, ws[4] = {6, 4, 5, 5}, w2[4] = {6, 3, 3, 3};
    tg_tensor *x = tg_zeros(t, TG_F32, 4, xs);
    tg_tensor *w = tg_zeros(t, TG_F32, 4, ws);
    tg_tensor *wb = tg_zeros(t, TG_F32, 4, w2);
    int64_t size = tg_tape_size(t);
    ck_assert_null_status(tg_conv2d(t, x, w, NULL, NULL), TG_ESHAPE,
                          "tg_conv2d: x (1,4,4,4) with padding (0,0) is 4x4, "
                          "smaller than the 5x5 kernel of weight (6,4,5,5) "
                          "at dilation (1,1)");
    tg_conv_options o = tg_conv_defaults();
    o.stride[1] = 0;
    ck_assert_null_status(tg_conv2d(t, x, wb, NULL, &o), TG_EINVAL,
                          "tg_conv2d: stride (1,0) must be at least 1");
    o = tg_conv_defaults();
    o.dilation[0] = 0;
    ck_assert_null_status(tg_conv2d(t, x, wb, NULL, &o), TG_EINVAL,
                          "tg_conv2d: dilation (0,1) must be at least 1");
    o = tg_conv_defaults();
    o.padding[0] = INT64_MAX;
    ck_assert_null_status(tg_conv2d(t, x, wb, NULL, &o), TG_EINVAL,
                          "must be at most 2147483647");
    o = tg_conv_defaults();
    o.groups = 3;
    ck_assert_null_status(tg_conv2d(t, x, wb, NULL, &o), TG_ESHAPE,
                          "tg_conv2d: x (1,4,4,4) has 4 channels, which "
                          "groups 3 does not divide");
    ck_assert_null_status(tg_conv2d(t, x, wb, NULL, NULL), TG_ESHAPE,
                          "tg_conv2d: weight (6,3,3,3) takes 3 input channels "
                          "per group, but x (1,4,4,4) has 4 channels");
    ck_assert_null_status(tg_conv1d(t, x, wb, NULL, NULL), TG_ESHAPE,
                          "tg_conv1d: x (1,4,4,4) must have 3 dims (N, C, L)");
    int64_t bs = 5;
    tg_tensor *b = tg_zeros(t, TG_F32, 1, &bs);
    int64_t w3[4] = {6, 4, 3, 3};
    ck_assert_null_status(tg_conv2d(t, x, tg_zeros(t, TG_F32, 4, w3), b,
                                    NULL), TG_ESHAPE,
                          "tg_conv2d: bias (5,) must be (6,): one value per "
                          "output channel of weight (6,4,3,3)");
    tg_tensor *wd = tg_zeros(t, TG_F64, 4, w2);
    ck_assert_null_status(tg_conv2d(t, x, wd, NULL, NULL), TG_EDTYPE,
                          "tg_conv2d: inputs are f32 and f64");
    /* A NULL input propagates its error. */
    tg_clear_error();
    ck_assert_ptr_null(tg_conv2d(t, NULL, w, NULL, NULL));
    ck_assert_int_ne(tg_last_status(), TG_OK);
    ck_assert_int_eq(tg_tape_size(t), size); /* nothing recorded */
    tg_tape_free(t);
}
END_TEST

/*
 * An inf in x (or w) multiplies only the gradients of the taps that read
 * it, as in PyTorch's sums. x's last column is read by the kernel's last
 * column only, so d loss / d w[..., 0] stays finite and equals the gradient
 * with that inf replaced by any finite value; the same for x's gradient
 * with an inf in w. (8x8 input, 3x3 kernel, stride 1, no padding: the
 * shape that the wide im2col takes, whose unused columns would give NaN.)
 */
static void grads_with(tg_dtype dt, bool inf_in_x, double fill, double *gw,
                       double *gx)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {2, 2, 8, 8}, ws[4] = {3, 2, 3, 3};
    double xv[256], wv[54];
    for (int i = 0; i < 256; i++)
        xv[i] = ((i * 37) % 17) / 8.0 - 1;
    for (int i = 0; i < 54; i++)
        wv[i] = ((i * 11) % 7) / 4.0 - 0.75;
    if (inf_in_x)
        for (int r = 0; r < 32; r++)
            xv[r * 8 + 7] = fill;      /* the last column of every row */
    else
        for (int r = 0; r < 18; r++)
            wv[r * 3 + 2] = fill;      /* the kernel's last column */
    tg_tensor *x = tg_test_tensor(t, dt, 4, xs, xv);
    tg_tensor *w = tg_test_tensor(t, dt, 4, ws, wv);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_conv2d(t, x, w, NULL, NULL))),
                     TG_OK);
    for (int i = 0; i < 54; i++)
        gw[i] = at(tg_grad(w), i);
    for (int i = 0; i < 256; i++)
        gx[i] = at(tg_grad(x), i);
    tg_tape_free(t);
}

START_TEST(inf_reaches_only_its_taps)
{
    tg_dtype dt = _i ? TG_F64 : TG_F32;
    double gw_inf[54], gx_inf[256], gw_fin[54], gx_fin[256];
    grads_with(dt, true, INFINITY, gw_inf, gx_inf);
    grads_with(dt, true, 0.5, gw_fin, gx_fin);
    for (int i = 0; i < 54; i += 3) /* w[o][c][r][0] */
        ck_assert_msg(gw_inf[i] == gw_fin[i], "d/dw[%d] = %g, want %g", i,
                      gw_inf[i], gw_fin[i]);
    ck_assert(isinf(gw_inf[2]));
    grads_with(dt, false, INFINITY, gw_inf, gx_inf);
    grads_with(dt, false, 0.5, gw_fin, gx_fin);
    for (int i = 0; i < 256; i++) /* x's first two columns: not read by it */
        if (i % 8 < 2)
            ck_assert_msg(gx_inf[i] == gx_fin[i], "d/dx[%d] = %g, want %g", i,
                          gx_inf[i], gx_fin[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_conv");
    TCase *tc = tg_test_tcase("pytorch");
    tcase_add_loop_test(tc, matches_pytorch, 0, 2 * N_FX);
    tcase_add_test(tc, by_hand);
    tcase_add_test(tc, conv1d_is_conv2d);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradients");
    tcase_add_test(tc, gradcheck_orders);
    tcase_add_test(tc, steady_state_allocates_nothing);
    tcase_add_test(tc, threads_same_bits);
    tcase_add_loop_test(tc, inf_reaches_only_its_taps, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bad_input");
    tcase_add_test(tc, conv_bad_input);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
