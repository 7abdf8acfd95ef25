/*
 * test_conv_kernels.c — the loops under tg_conv2d at the shapes W6 runs
 * (LeNet-5's conv1 1->6 5x5 padding 2 on 28x28, conv2 6->16 5x5 on
 * 14x14), which take paths the small PyTorch fixtures of test_ops_conv.c
 * do not: the direct one-channel kernel (AVX2 and AVX-512), the batched
 * im2col + gemm whose forward columns are kept for the weight gradient.
 * Each is checked against a plain six-deep loop in double, at every
 * instruction set the machine has (tg__gemm_limit_isa) and on two
 * threads, with a bias, on a batch whose size is not a multiple of any
 * chunk.
 */
#include "tg_test.h"

#include "tensor/gemm.h"

#include <tapegrad/conv.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int64_t n, c, h, w, o, k, pad;
} shape;

/* y = conv(x, w) + b in double, stride 1, square padding and kernel. */
static void reference(const shape *s, const float *x, const float *w,
                      const float *b, double *y)
{
    int64_t oh = s->h + 2 * s->pad - s->k + 1, ow = s->w + 2 * s->pad - s->k + 1;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t o = 0; o < s->o; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double acc = b[o];
                    for (int64_t c = 0; c < s->c; c++)
                        for (int64_t p = 0; p < s->k; p++)
                            for (int64_t q = 0; q < s->k; q++) {
                                int64_t iy = i + p - s->pad, ix = j + q - s->pad;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                    continue;
                                acc += (double)w[((o * s->c + c) * s->k + p) * s->k + q] *
                                       x[((n * s->c + c) * s->h + iy) * s->w + ix];
                            }
                    y[((n * s->o + o) * oh + i) * ow + j] = acc;
                }
}

/* The gradients of sum(y r) by the same loop's adjoint. */
static void reference_grads(const shape *s, const float *x, const float *w,
                            const float *r, double *gx, double *gw, double *gb)
{
    int64_t oh = s->h + 2 * s->pad - s->k + 1, ow = s->w + 2 * s->pad - s->k + 1;
    for (int64_t i = 0; i < s->n * s->c * s->h * s->w; i++)
        gx[i] = 0;
    for (int64_t i = 0; i < s->o * s->c * s->k * s->k; i++)
        gw[i] = 0;
    for (int64_t o = 0; o < s->o; o++)
        gb[o] = 0;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t o = 0; o < s->o; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double g = r[((n * s->o + o) * oh + i) * ow + j];
                    gb[o] += g;
                    for (int64_t c = 0; c < s->c; c++)
                        for (int64_t p = 0; p < s->k; p++)
                            for (int64_t q = 0; q < s->k; q++) {
                                int64_t iy = i + p - s->pad, ix = j + q - s->pad;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w)
                                    continue;
                                int64_t xi = ((n * s->c + c) * s->h + iy) * s->w + ix;
                                int64_t wi = ((o * s->c + c) * s->k + p) * s->k + q;
                                gw[wi] += g * x[xi];
                                gx[xi] += g * w[wi];
                            }
                }
}

/* got within f32 rounding of want: errors relative to want's root mean
 * square (a sum of thousands of f32 terms rounds by about 1e-6 of its
 * terms' size; one missing or wrong term moves a value by about one
 * term, which is at least 1e-2 of the RMS at these sizes). */
static void expect_close(const char *what, const float *got, const double *want,
                         int64_t n, int isa)
{
    double ss = 0, worst = 0;
    for (int64_t i = 0; i < n; i++)
        ss += want[i] * want[i];
    double rms = sqrt(ss / (double)n);
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]) / (rms + fabs(want[i]));
        if (!(err <= worst)) { /* also catches NaN */
            worst = err;
            at = i;
        }
    }
    ck_assert_msg(worst <= 1e-4, "%s at isa %d: [%lld] = %.9g, want %.9g",
                  what, isa, (long long)at, got[at], want[at]);
}

/* Shape _i of W6 (with an odd batch), every instruction set up to the
 * machine's, forward and the three gradients against the loops above. */
START_TEST(w6_shapes_match_loops)
{
    static const shape shapes[] = {
        {13, 1, 28, 28, 6, 5, 2},  /* conv1: the direct kernel */
        {13, 6, 14, 14, 16, 5, 0}, /* conv2: im2col + gemm */
        {70, 6, 14, 14, 16, 5, 0}, /* conv2 past one chunk of samples */
    };
    const shape *s = &shapes[_i];
    int64_t oh = s->h + 2 * s->pad - s->k + 1, ow = s->w + 2 * s->pad - s->k + 1;
    int64_t xs[4] = {s->n, s->c, s->h, s->w}, ws[4] = {s->o, s->c, s->k, s->k};
    int64_t ys[4] = {s->n, s->o, oh, ow};
    int64_t nx = s->n * s->c * s->h * s->w, nw = s->o * s->c * s->k * s->k;
    int64_t ny = s->n * s->o * oh * ow;
    double *want = malloc(sizeof(double) * (size_t)(ny + nx + nw + s->o));
    ck_assert_ptr_nonnull(want);
    double *gx = want + ny, *gw = gx + nx, *gb = gw + nw;
    int top = tg__gemm_isa();
    /* Runs 0 .. top: that instruction set on one thread; top + 1: the
     * best on two threads (chunks of samples side by side). */
    for (int run = 0; run <= top + 1; run++) {
        int isa = run <= top ? run : top;
        ck_assert_int_eq(tg__gemm_limit_isa(isa), isa);
        if (run > top && tg_set_num_threads(2) != TG_OK) {
            tg_clear_error(); /* a build without threads */
            break;
        }
        tg_tape *t = tg_tape_new();
        tg_rng rng;
        tg_rng_seed(&rng, 13, (uint64_t)_i);
        tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, xs, 0, 1);
        tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 4, ws, 0, 0.2);
        tg_tensor *b = tg_rand_normal(t, &rng, TG_F32, 1, &s->o, 0, 0.2);
        tg_tensor *r = tg_rand_normal(t, &rng, TG_F32, 4, ys, 0, 1);
        ck_assert_ptr_nonnull(r);
        tg_set_requires_grad(x, true);
        tg_set_requires_grad(w, true);
        tg_set_requires_grad(b, true);
        if (isa == 0) {
            reference(s, tg_data_f32(x), tg_data_f32(w), tg_data_f32(b), want);
            reference_grads(s, tg_data_f32(x), tg_data_f32(w), tg_data_f32(r),
                            gx, gw, gb);
        }
        tg_conv_options o = tg_conv_defaults();
        o.padding[0] = o.padding[1] = s->pad;
        tg_tensor *y = tg_conv2d(t, x, w, b, &o);
        ck_assert_msg(y != NULL, "%s", tg_last_error());
        expect_close("y", tg_data_f32(y), want, ny, isa);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, r))), TG_OK);
        expect_close("gx", tg_data_f32(tg_grad(x)), gx, nx, isa);
        expect_close("gw", tg_data_f32(tg_grad(w)), gw, nw, isa);
        expect_close("gb", tg_data_f32(tg_grad(b)), gb, s->o, isa);
        tg_tape_free(t);
    }
    tg_set_num_threads(1);
    tg__gemm_limit_isa(2);
    free(want);
}
END_TEST

/* x (1, 2, 1, 1) against a 3x3 kernel with dilation 3, padding 4: the
 * padded input is 9x9 and the kernel spans 7, so the output is 3x3, and
 * kernel column 0 lands in the left padding for every output column (its
 * span of valid columns is empty and starts past the output's end), as
 * row 0 does in the top padding. im2col must not even form a pointer
 * before the image then (UBSan's pointer-overflow check, in the sanitizer
 * build of the tests, stops there: the API fuzzer found it). Only tap
 * (1, 1) of output (1, 1) reads the pixel. */
START_TEST(taps_wholly_in_the_padding)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {1, 2, 1, 1}, ws[4] = {1, 2, 3, 3};
    const float xv[2] = {1.5f, -2.0f};
    float wv[18];
    for (int k = 0; k < 18; k++)
        wv[k] = (float)(k + 1);
    tg_tensor *x = tg_from_data(t, TG_F32, 4, xs, xv);
    tg_tensor *w = tg_from_data(t, TG_F32, 4, ws, wv);
    ck_assert_ptr_nonnull(w);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 4;
    o.dilation[0] = o.dilation[1] = 3;
    tg_tensor *y = tg_conv2d(t, x, w, NULL, &o);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_shape(y)[2], 3);
    ck_assert_int_eq(tg_shape(y)[3], 3);
    const float *yv = tg_data_f32(y);
    for (int k = 0; k < 9; k++) /* w[c][1][1] is 5 and 14 */
        ck_assert_float_eq(yv[k], (k == 4 ? 1.5f * 5 + -2.0f * 14 : 0.0f));
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    const float *gx = tg_data_f32(tg_grad(x)), *gw = tg_data_f32(tg_grad(w));
    ck_assert_float_eq(gx[0], 5.0f);
    ck_assert_float_eq(gx[1], 14.0f);
    for (int k = 0; k < 18; k++)
        ck_assert_float_eq(gw[k], (k == 4 ? 1.5f : k == 13 ? -2.0f : 0.0f));
    tg_tape_free(t);
}
END_TEST

/* An inf in x's last column (27). Without padding there are 24 output
 * columns and tap q of the weight gradient reads columns q .. q + 23, so
 * only q = 4 sees it; with padding 2 (W6's conv1) there are 28, a row's
 * last vector is a partial one at every instruction set, and tap q reads
 * columns q - 2 .. q + 25, so q >= 2 see it. The other taps must stay
 * finite, though the kernels' last vectors run past the row. */
START_TEST(direct_inf_reaches_only_its_taps)
{
    int top = tg__gemm_isa();
    int64_t pad = _i == 0 ? 0 : 2;
    tg_conv_options opt = tg_conv_defaults();
    opt.padding[0] = opt.padding[1] = pad;
    for (int isa = 0; isa <= top; isa++) {
        ck_assert_int_eq(tg__gemm_limit_isa(isa), isa);
        tg_tape *t = tg_tape_new();
        tg_rng rng;
        tg_rng_seed(&rng, 7, 0);
        int64_t xs[4] = {3, 1, 28, 28}, ws[4] = {2, 1, 5, 5};
        tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, xs, 0, 1);
        tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 4, ws, 0, 0.2);
        ck_assert_ptr_nonnull(w);
        tg_mut_f32(x)[28 * 5 + 27] = INFINITY; /* sample 0, row 5, col 27 */
        tg_set_requires_grad(w, true);
        tg_tensor *y = tg_conv2d(t, x, w, NULL, &opt);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
        const float *g = tg_data_f32(tg_grad(w));
        for (int o = 0; o < 2; o++)
            for (int p = 0; p < 5; p++)
                for (int q = 0; q < 5; q++) {
                    float v = g[(o * 5 + p) * 5 + q];
                    bool sees = q >= (pad == 0 ? 4 : 2);
                    ck_assert_msg(sees ? isinf(v) != 0 : isfinite(v) != 0,
                                  "isa %d, padding %d: d/dw[%d][%d][%d] = %g",
                                  isa, (int)pad, o, p, q, (double)v);
                }
        tg_tape_free(t);
    }
    tg__gemm_limit_isa(2);
}
END_TEST

/* ---- session 7, lane conv: the bias gradient split over channels */

/* The bias gradient of a conv whose gy has 2M floats, 32 channels of 64K:
 * enough that two threads split the channels even at the largest
 * elementwise part (2^20 values). On 1 and 2 threads: bit for bit the
 * same, and each channel within f32 rounding of a double sum, so a
 * channel summed twice, skipped or cut short fails. */
START_TEST(bias_grad_split_over_channels)
{
    int64_t xs[4] = {64, 1, 32, 32}, ws[4] = {32, 1, 1, 1}, ys[4] = {64, 32, 32, 32};
    int64_t nb = 32, P = 32 * 32;
    float got[2][32];
    double want[32] = {0};
    for (int run = 0; run < 2; run++) {
        if (run == 1 && tg_set_num_threads(2) != TG_OK) {
            tg_clear_error(); /* a build without threads */
            memcpy(got[1], got[0], sizeof got[0]);
            break;
        }
        tg_tape *t = tg_tape_new();
        tg_rng rng;
        tg_rng_seed(&rng, 17, 0);
        tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, xs, 0, 1);
        tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 4, ws, 0, 1);
        tg_tensor *b = tg_rand_normal(t, &rng, TG_F32, 1, &nb, 0, 1);
        tg_tensor *r = tg_rand_normal(t, &rng, TG_F32, 4, ys, 1, 1);
        ck_assert_ptr_nonnull(r);
        tg_set_requires_grad(b, true);
        tg_tensor *y = tg_conv2d(t, x, w, b, NULL);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, r))), TG_OK);
        memcpy(got[run], tg_data_f32(tg_grad(b)), sizeof got[run]);
        if (run == 0) {
            const float *rv = tg_data_f32(r);
            for (int64_t n = 0; n < 64; n++)
                for (int64_t o = 0; o < nb; o++)
                    for (int64_t i = 0; i < P; i++)
                        want[o] += rv[(n * nb + o) * P + i];
        }
        tg_tape_free(t);
    }
    tg_set_num_threads(1);
    ck_assert_mem_eq(got[0], got[1], sizeof got[0]);
    for (int o = 0; o < nb; o++) /* sums near 64K: within 1e-3 of one term */
        ck_assert_msg(fabs(got[0][o] - want[o]) <= 1e-6 * fabs(want[o]) + 0.5,
                      "gb[%d] = %.9g, want %.9g", o, (double)got[0][o], want[o]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_kernels");
    TCase *tc = tg_test_tcase("w6");
    tcase_add_loop_test(tc, w6_shapes_match_loops, 0, 3);
    tcase_add_loop_test(tc, direct_inf_reaches_only_its_taps, 0, 2);
    tcase_add_test(tc, bias_grad_split_over_channels);
    tcase_add_test(tc, taps_wholly_in_the_padding);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
