/*
 * test_pool_max2x2.c — max pooling's 2x2, stride 2 fast path
 * (src/ops/pool_max2x2.c) against the rule it implements, written out
 * here element by element: the first maximum of each window in row-major
 * order, a NaN replacing whatever came before.
 *
 * The inputs are small integers (so windows hold ties), some NaN and some
 * -0.0, over even and odd heights and widths, rows shorter and longer
 * than the 8 outputs the AVX2 loop takes at a time. Every case runs with
 * AVX2 and with the scalar loop (tg__gemm_limit_isa), on 1 and 2 threads
 * with parts small enough to split, and must give the reference's values
 * and gradient bit for bit. Also: the second-order gradient through the
 * recorded P^T with odd sizes, and ties reported as kinks.
 */
#include "tg_test.h"
#include "tapegrad/check.h"

#include "tensor/gemm.h"
#include "tensor/pool.h"

#include <stdlib.h>
#include <string.h>

/* Window (i, j) of plane pn: its argmax's flat index in x, by the rule. */
static int64_t ref_arg(const double *x, int64_t pn, int64_t h, int64_t w,
                       int64_t i, int64_t j)
{
    int64_t best = pn * h * w + 2 * i * w + 2 * j;
    for (int q = 1; q < 4; q++) {
        int64_t e = pn * h * w + (2 * i + q / 2) * w + 2 * j + q % 2;
        if (x[e] > x[best] || isnan(x[e]))
            best = e;
    }
    return best;
}

/* A value of element e: small integers (ties), every 13th NaN, every
 * 7th -0.0. */
static double value_of(int64_t e, unsigned seed)
{
    if (e % 13 == 5)
        return NAN;
    if (e % 7 == 3)
        return -0.0;
    return (double)((e * 2654435761u + seed) % 9) - 4;
}

static bool same_bits(double a, double b, tg_dtype dt)
{
    if (dt == TG_F32) {
        float fa = (float)a, fb = (float)b;
        return memcmp(&fa, &fb, sizeof fa) == 0;
    }
    return memcmp(&a, &b, sizeof a) == 0;
}

/* y and d sum(y * g) / dx for one shape and dtype at the current ISA and
 * thread count, against the reference. */
static void check_case(int64_t n, int64_t c, int64_t h, int64_t w,
                       tg_dtype dt)
{
    int64_t shape[4] = {n, c, h, w}, planes = n * c, oh = h / 2, ow = w / 2;
    int64_t nx = planes * h * w, ny = planes * oh * ow;
    double *xv = malloc((size_t)nx * sizeof *xv);
    double *gv = malloc((size_t)ny * sizeof *gv);
    double *want = calloc((size_t)nx, sizeof *want);
    ck_assert(xv && gv && want);
    for (int64_t e = 0; e < nx; e++)
        xv[e] = value_of(e, (unsigned)(h * 31 + w));
    for (int64_t o = 0; o < ny; o++) /* distinct, some -0.0 */
        gv[o] = o % 11 == 4 ? -0.0 : (double)(o % 17) - 8.5;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_cast(t, tg_from_data(t, TG_F64, 4, shape, xv), dt);
    tg_tensor *g = tg_cast(t, tg_from_data(t, TG_F64, 4,
                                           (int64_t[]){n, c, oh, ow}, gv), dt);
    tg_set_requires_grad(x, true);
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    tg_tensor *y = tg_max_pool2d(t, x, &o);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, g))), TG_OK);
    for (int64_t pn = 0; pn < planes; pn++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t out = (pn * oh + i) * ow + j;
                int64_t a = ref_arg(xv, pn, h, w, i, j);
                ck_assert_msg(same_bits(tg_value_at(y, out), xv[a], dt),
                              "y[%lld] of (%lld,%lld,%lld,%lld)",
                              (long long)out, (long long)n, (long long)c,
                              (long long)h, (long long)w);
                want[a] = 0.0 + gv[out]; /* +0 for a -0 gradient */
            }
    const tg_tensor *gx = tg_grad(x);
    for (int64_t e = 0; e < nx; e++)
        ck_assert_msg(same_bits(tg_value_at(gx, e), want[e], dt),
                      "gx[%lld] = %g, want %g, shape (%lld,%lld,%lld,%lld)",
                      (long long)e, tg_value_at(gx, e), want[e], (long long)n,
                      (long long)c, (long long)h, (long long)w);
    tg_tape_free(t);
    free(xv);
    free(gv);
    free(want);
}

static const int64_t sizes[][4] = {
    {1, 1, 2, 2},  {2, 3, 28, 28}, {2, 2, 10, 10}, {1, 2, 5, 7},
    {3, 1, 7, 36}, {1, 1, 4, 33},  {2, 2, 9, 16},  {1, 1, 3, 2},
};

/* Every size and dtype at every ISA, on 1 and 2 threads (parts of a few
 * rows, so every size above one row pair splits). */
START_TEST(max2x2_matches_the_rule)
{
    int64_t part = tg__elementwise_part();
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        atomic_store(&tg__elementwise_part_value, 64);
        for (int level = 0; level <= 1; level++) {
            if (tg__gemm_limit_isa(level) != level)
                continue;
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                for (int d = 0; d < 2; d++)
                    check_case(sizes[k][0], sizes[k][1], sizes[k][2],
                               sizes[k][3], d == 0 ? TG_F32 : TG_F64);
        }
        tg__gemm_limit_isa(2);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    atomic_store(&tg__elementwise_part_value, part);
}
END_TEST

/* (C, H, W) input, and a forward on a tape that records nothing. */
START_TEST(max2x2_three_dims_and_no_grad)
{
    tg_tape *t = tg_tape_new();
    double v[12] = {1, 9, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3};
    tg_tensor *x = tg_from_data(t, TG_F64, 3, (int64_t[]){1, 2, 6}, v);
    tg_tape_set_grad_enabled(t, false);
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    tg_tensor *y = tg_max_pool2d(t, x, &o);
    ck_assert_int_eq(tg_ndim(y), 3);
    ck_assert_int_eq(tg_shape(y)[2], 3);
    ck_assert(tg_value_at(y, 0) == 9 && tg_value_at(y, 1) == 8 &&
              tg_value_at(y, 2) == 5);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *max_sq(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    tg_tensor *y = tg_max_pool2d(t, in[0], &o);
    return tg_mul(t, y, y);
}

/* sum(pool(x)^2): its gradient 2 P^T P x goes through the recorded P^T
 * (pool2d_linear over the codes), differentiated again; odd H and W. */
START_TEST(max2x2_second_order)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 1);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 4, (int64_t[]){2, 2, 5, 7},
                                  0, 1);
    tg_ck_assert_gradients(max_sq, NULL, 1, &x);
    tg_ck_assert_second_gradients(max_sq, NULL, 1, &x);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *max_only(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    return tg_max_pool2d(t, in[0], &o);
}

/* A tie in the lower row of a window (where the code is 2 or 3) is a
 * kink too: the piece reads the codes. */
START_TEST(max2x2_tie_below_is_a_kink)
{
    tg_tape *t = tg_tape_new();
    double v[8] = {-1, 0.5, 0, 3, 2, 2, 3, 0};
    tg_tensor *x = tg_from_data(t, TG_F64, 3, (int64_t[]){1, 2, 4}, v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(max_only, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_ge(r.n_ambiguous, 2);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool_max2x2");
    TCase *tc = tg_test_tcase("pool_max2x2");
    tcase_add_test(tc, max2x2_matches_the_rule);
    tcase_add_test(tc, max2x2_three_dims_and_no_grad);
    tcase_add_test(tc, max2x2_second_order);
    tcase_add_test(tc, max2x2_tie_below_is_a_kink);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
