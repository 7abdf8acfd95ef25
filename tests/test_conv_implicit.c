/*
 * test_conv_implicit.c — the implicit-gemm kernels of
 * src/ops/conv_implicit*.c (8 to 16 output channels, AVX-512) against the
 * im2col + gemm road they replace, on shapes chosen to reach their edges:
 * column pieces that end part-way through a vector (the forward's pieces
 * of at most 12), gx rows of odd width (the input gradient's blocks of two
 * columns end with one) and kernel columns that meet gy for only one
 * column of a block, channel blocks of 6 that do not divide c, kernels that are not square, padding wider than the
 * kernel, one output row. Shapes with stride, dilation or groups must
 * keep im2col (the gate says no) and still agree; so do two shapes of
 * conv_direct.c's one-channel kernel, AVX-512 against AVX2. Then:
 * bit-identical on 1 and 2 threads, and an inf in x or w reaching only the
 * outputs whose sums contain it.
 *
 * "reference" here is the same tg_conv2d call with the instruction set
 * limited to AVX2 (tg__gemm_limit_isa(1)), where the implicit kernels
 * never run and the direct one runs its AVX2 loops.
 * On a machine without AVX-512 both sides are that road; the tests say so.
 */
#include "tg_test.h"

#include "ops/conv_implicit.h"
#include "tensor/gemm.h"

#include <tapegrad/conv.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cshape {
    int64_t n, c, h, w, o, kh, kw, ph, pw;
    int64_t stride, dilation, groups;
    bool implicit; /* whether the gate should take it */
} cshape;

static const cshape shapes[] = {
    {5, 6, 14, 14, 16, 5, 5, 0, 0, 1, 1, 1, true},  /* W6's conv2 */
    {3, 3, 7, 19, 9, 3, 2, 1, 2, 1, 1, 1, true},    /* 2 pieces of gx */
    {2, 7, 5, 5, 8, 5, 5, 0, 0, 1, 1, 1, true},     /* c = 4 + 3; oh = 1 */
    {2, 2, 9, 33, 12, 1, 8, 0, 3, 1, 1, 1, true},   /* kw 8; ow 33 */
    {3, 2, 6, 6, 10, 2, 2, 3, 3, 1, 1, 1, true},    /* padding > kernel */
    {2, 13, 4, 30, 16, 3, 7, 2, 1, 1, 1, 1, true},  /* c = 5+4+4, kw 7 */
    /* One input channel: conv_direct.c's kernel (AVX-512 against AVX2),
     * with rows left over by its 4-row blocks and 4-row gy steps, channel
     * blocks 4 + 3, a masked last piece; and kw 7 (gy 2 rows a step). */
    {3, 1, 13, 21, 7, 5, 5, 1, 1, 1, 1, 1, false},
    {2, 1, 9, 30, 6, 3, 7, 0, 2, 1, 1, 1, false},
    {3, 6, 14, 14, 16, 5, 5, 0, 0, 2, 1, 1, false}, /* stride */
    {3, 6, 14, 14, 16, 3, 3, 1, 1, 1, 2, 1, false}, /* dilation */
    {3, 6, 14, 14, 16, 5, 5, 0, 0, 1, 1, 2, false}, /* groups */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static int64_t out_len(int64_t in, int64_t pad, int64_t k, int64_t s,
                       int64_t d)
{
    return (in + 2 * pad - d * (k - 1) - 1) / s + 1;
}

static tg__conv_geom geom_of(const cshape *s)
{
    tg__conv_geom g = {0};
    g.n = s->n, g.c = s->c, g.h = s->h, g.w = s->w, g.o = s->o;
    g.kh = s->kh, g.kw = s->kw;
    g.oh = out_len(s->h, s->ph, s->kh, s->stride, s->dilation);
    g.ow = out_len(s->w, s->pw, s->kw, s->stride, s->dilation);
    g.sh = g.sw = s->stride, g.ph = s->ph, g.pw = s->pw;
    g.dh = g.dw = s->dilation, g.g = s->groups;
    return g;
}

/* One call's results: y, and the gradients of sum(y r). */
typedef struct results {
    float *y, *gx, *gw, *gb;
    int64_t ny, nx, nw, nb;
} results;

/* Runs shape s at instruction set isa on the threads set, with an inf
 * at x[inf_x] and w[inf_w] when those are >= 0, r all ones if ones. */
static results run(const cshape *s, int isa, int64_t inf_x, int64_t inf_w,
                   bool ones)
{
    /* At most what the machine has (valgrind's CPU has no AVX-512). */
    tg__gemm_limit_isa(isa);
    tg__conv_geom g = geom_of(s);
    int64_t xs[4] = {s->n, s->c, s->h, s->w};
    int64_t ws[4] = {s->o, s->c / s->groups, s->kh, s->kw};
    int64_t ys[4] = {s->n, s->o, g.oh, g.ow};
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 61, 0);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, xs, 0, 1);
    tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 4, ws, 0, 0.2);
    tg_tensor *b = tg_rand_normal(t, &rng, TG_F32, 1, &s->o, 0, 0.2);
    tg_tensor *r = ones ? tg_full(t, TG_F32, 4, ys, 1.0)
                        : tg_rand_normal(t, &rng, TG_F32, 4, ys, 0, 1);
    ck_assert_ptr_nonnull(r);
    if (inf_x >= 0)
        tg_mut_f32(x)[inf_x] = INFINITY;
    if (inf_w >= 0)
        tg_mut_f32(w)[inf_w] = INFINITY;
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_conv_options o = tg_conv_defaults();
    o.stride[0] = o.stride[1] = s->stride;
    o.padding[0] = s->ph, o.padding[1] = s->pw;
    o.dilation[0] = o.dilation[1] = s->dilation;
    o.groups = s->groups;
    tg_tensor *y = tg_conv2d(t, x, w, b, &o);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, r))), TG_OK);
    results res = {NULL, NULL, NULL, NULL, tg_numel(y), tg_numel(x),
                   tg_numel(w), s->o};
    res.y = malloc(sizeof(float) * (size_t)(res.ny + res.nx + res.nw + res.nb));
    ck_assert_ptr_nonnull(res.y);
    res.gx = res.y + res.ny, res.gw = res.gx + res.nx, res.gb = res.gw + res.nw;
    memcpy(res.y, tg_data_f32(y), sizeof(float) * (size_t)res.ny);
    memcpy(res.gx, tg_data_f32(tg_grad(x)), sizeof(float) * (size_t)res.nx);
    memcpy(res.gw, tg_data_f32(tg_grad(w)), sizeof(float) * (size_t)res.nw);
    memcpy(res.gb, tg_data_f32(tg_grad(b)), sizeof(float) * (size_t)res.nb);
    tg_tape_free(t);
    tg__gemm_limit_isa(2);
    return res;
}

/* got against want, relative to want's rms: inf and NaN must sit at the
 * same places (and infs have the same sign). */
static void expect_close(const char *what, int shape, const float *got,
                         const float *want, int64_t n)
{
    double ss = 0;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(want[i]))
            ss += (double)want[i] * want[i], finite++;
    double rms = sqrt(ss / (double)(finite > 0 ? finite : 1));
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(want[i])) {
            ck_assert_msg(isnan(want[i]) ? isnan(got[i]) != 0 : got[i] == want[i],
                          "%s, shape %d: [%lld] = %g, want %g", what, shape,
                          (long long)i, (double)got[i], (double)want[i]);
            continue;
        }
        double err = fabs((double)got[i] - want[i]) / (rms + fabs(want[i]));
        ck_assert_msg(err <= 1e-5, "%s, shape %d: [%lld] = %.9g, want %.9g",
                      what, shape, (long long)i, (double)got[i],
                      (double)want[i]);
    }
}

static bool have_avx512(void) { return tg__gemm_isa() >= 2; }

/* Shape _i: the gate says what it should, and the results agree with
 * im2col's. */
START_TEST(shapes_match_im2col)
{
    const cshape *s = &shapes[_i];
    tg__conv_geom g = geom_of(s);
    ck_assert_int_eq(tg__conv_implicit_ok(TG_F32, &g), s->implicit && have_avx512());
    ck_assert(!tg__conv_implicit_ok(TG_F64, &g));
    /* Large images keep im2col, whose scratch stays a few samples. */
    tg__conv_geom big = {.n = 64, .c = 3, .h = 224, .w = 224, .o = 16,
                         .kh = 3, .kw = 3, .oh = 222, .ow = 222,
                         .sh = 1, .sw = 1, .dh = 1, .dw = 1, .g = 1};
    ck_assert(!tg__conv_implicit_ok(TG_F32, &big));
    results want = run(s, 1, -1, -1, false);
    results got = run(s, 2, -1, -1, false);
    expect_close("y", _i, got.y, want.y, want.ny);
    expect_close("gx", _i, got.gx, want.gx, want.nx);
    expect_close("gw", _i, got.gw, want.gw, want.nw);
    expect_close("gb", _i, got.gb, want.gb, want.nb);
    free(want.y);
    free(got.y);
}
END_TEST

/* Shape _i on 2 threads: the same bits as on 1. */
START_TEST(threads_same_bits)
{
    const cshape *s = &shapes[_i];
    results one = run(s, 2, -1, -1, false);
    if (tg_set_num_threads(2) != TG_OK) {
        tg_clear_error(); /* a build without threads */
        free(one.y);
        return;
    }
    results two = run(s, 2, -1, -1, false);
    tg_set_num_threads(1);
    size_t bytes = sizeof(float) * (size_t)(one.ny + one.nx + one.nw + one.nb);
    ck_assert_msg(memcmp(one.y, two.y, bytes) == 0, "shape %d differs", _i);
    free(one.y);
    free(two.y);
}
END_TEST

/* s9 balance: the weight gradients sum two fixed sample halves and split
 * (half, block) units, so 3 and 4 threads cut the units elsewhere than 2:
 * still the bits of 1 thread. */
START_TEST(three_and_four_threads_same_bits)
{
    const cshape *s = &shapes[_i];
    results one = run(s, 2, -1, -1, false);
    size_t bytes = sizeof(float) * (size_t)(one.ny + one.nx + one.nw + one.nb);
    for (int threads = 3; threads <= 4; threads++) {
        if (tg_set_num_threads(threads) != TG_OK) {
            tg_clear_error(); /* a build without threads */
            break;
        }
        results many = run(s, 2, -1, -1, false);
        ck_assert_msg(memcmp(one.y, many.y, bytes) == 0,
                      "shape %d differs on %d threads", _i, threads);
        free(many.y);
    }
    tg_set_num_threads(1);
    free(one.y);
}
END_TEST

/* An inf in x (forward and weight gradient read it), and one in w (the
 * input gradient's lanes would multiply it by gy's zero padding: the
 * kernel must not run, or must keep it out): the infs and NaNs land where
 * im2col puts them, and nowhere else. With r all ones, gy is finite. */
START_TEST(inf_lands_where_im2col_puts_it)
{
    const cshape *s = &shapes[_i];
    tg__conv_geom g = geom_of(s);
    int64_t mid_x = ((s->n / 2 * s->c + s->c - 1) * s->h + s->h / 2) * s->w + s->w - 1;
    int64_t mid_w = ((s->o / 2 * s->c + s->c / 2) * s->kh + s->kh / 2) * s->kw;
    (void)g;
    for (int k = 0; k < 2; k++) {
        int64_t ix = k == 0 ? mid_x : -1, iw = k == 1 ? mid_w : -1;
        results want = run(s, 1, ix, iw, true);
        results got = run(s, 2, ix, iw, true);
        int64_t bad = 0;
        for (int64_t i = 0; i < want.nx; i++)
            bad += !isfinite(want.gx[i]);
        if (k == 1)
            ck_assert_msg(bad > 0 && bad < want.nx,
                          "shape %d: an inf weight reaches %lld of %lld gx",
                          _i, (long long)bad, (long long)want.nx);
        expect_close(k == 0 ? "y (inf in x)" : "y (inf in w)", _i, got.y,
                     want.y, want.ny);
        expect_close(k == 0 ? "gx (inf in x)" : "gx (inf in w)", _i, got.gx,
                     want.gx, want.nx);
        expect_close(k == 0 ? "gw (inf in x)" : "gw (inf in w)", _i, got.gw,
                     want.gw, want.nw);
        free(want.y);
        free(got.y);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_implicit");
    TCase *tc = tg_test_tcase("implicit");
    tcase_add_loop_test(tc, shapes_match_im2col, 0, NSHAPES);
    tcase_add_loop_test(tc, threads_same_bits, 0, NSHAPES);
    tcase_add_loop_test(tc, three_and_four_threads_same_bits, 0, NSHAPES);
    tcase_add_loop_test(tc, inf_lands_where_im2col_puts_it, 0, 8);
    suite_add_tcase(s, tc);
    if (!have_avx512())
        printf("# no AVX-512 here: both sides of each comparison are "
               "im2col + gemm\n");
    return tg_test_main(s);
}
