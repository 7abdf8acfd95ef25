/*
 * test_lane_f32.c — the vectorised f32 lanes of the softmax family
 * (src/tensor/lane_f32.c, src/exp_f32.h) against the general loops they
 * stand in for.
 *
 * A lane along the last axis of an f32 tensor takes the fast path; the
 * same values along another axis take axis.c's general loop (libm's exp,
 * one element at a time). Computing an op both ways, through a transpose,
 * must give the same floats up to the last bit.
 */
#include "tg_test.h"

#include "exp_f32.h"
#include "tensor/lane_f32.h"

#include <math.h>
#include <string.h>

/* Rounded to float, the polynomial exp is libm's exp. */
START_TEST(exp_f32_rounds_as_libm)
{
    long differ = 0;
    for (double x = -110; x <= 90; x += 0.000999) {
        if ((float)tg__exp_f32(x) != (float)exp(x))
            differ++;
    }
    ck_assert_msg(differ == 0, "%ld values differ from libm's", differ);
    ck_assert(tg__exp_f32(0) == 1.0);
    ck_assert(tg__exp_f32(-INFINITY) == 0.0);
    ck_assert(tg__exp_f32(-200.5) == 0.0);
    ck_assert(isinf(tg__exp_f32(INFINITY)) && tg__exp_f32(INFINITY) > 0);
    ck_assert(isinf(tg__exp_f32(100.5)));
    ck_assert(isnan(tg__exp_f32(NAN)));
    ck_assert(fabs(tg__exp_f32(-1) / exp(-1) - 1) < 1e-15);
}
END_TEST

/* The max at every position of lanes of every length up to 40, and the
 * first NaN when there is one. */
START_TEST(f32_max_finds_max_and_nan)
{
    float x[40];
    for (int n = 1; n <= 40; n++)
        for (int at = 0; at < n; at++) {
            for (int k = 0; k < n; k++)
                x[k] = (float)(-k % 7) - 10.0f;
            x[at] = 3.5f;
            ck_assert_msg(tg__f32_max(x, n) == 3.5, "n %d at %d", n, at);
            x[at] = INFINITY;
            ck_assert(tg__f32_max(x, n) == INFINITY);
            x[at] = -NAN;
            double m = tg__f32_max(x, n);
            ck_assert(isnan(m) && signbit(m));
        }
    float all[3] = {-INFINITY, -INFINITY, -INFINITY};
    ck_assert(tg__f32_max(all, 3) == -INFINITY);
}
END_TEST

/* (rows, cols) f32 values in [-8, 8), with a few edge values when edges. */
static tg_tensor *values(tg_tape *t, int64_t rows, int64_t cols, bool edges)
{
    tg_rng rng;
    tg_rng_seed(&rng, 5, 3);
    int64_t shape[] = {rows, cols};
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 2, shape, -8.0, 8.0);
    if (edges) {
        float *v = tg_mut_f32(x);
        v[1] = -INFINITY;                        /* row 0: one -inf */
        for (int64_t k = 0; k < cols; k++)
            v[cols + k] = -INFINITY;             /* row 1: all -inf */
        v[2 * cols + 3] = INFINITY;              /* row 2: +inf */
        v[3 * cols + 5] = NAN;                   /* row 3: NaN */
    }
    tg_set_requires_grad(x, true);
    return x;
}

/* Whether a and b hold the same floats (NaN equal to NaN). */
static void assert_same(const tg_tensor *a, const tg_tensor *b,
                        const char *what)
{
    ck_assert_int_eq(tg_numel(a), tg_numel(b));
    for (int64_t i = 0; i < tg_numel(a); i++) {
        float p = tg_data_f32(a)[i], q = tg_data_f32(b)[i];
        ck_assert_msg(p == q || (isnan(p) && isnan(q)),
                      "%s[%lld]: %.9g on the last axis, %.9g on the first",
                      what, (long long)i, p, q);
    }
}

enum { SOFTMAX, LOG_SOFTMAX, LOGSUMEXP };

/* op along axis 1 of x, or (fast = false) along axis 0 of x^T. */
static tg_tensor *along(tg_tape *t, int op, tg_tensor *x, bool fast)
{
    tg_tensor *in = fast ? x : tg_transpose(t, x);
    int axis = fast ? 1 : 0;
    tg_tensor *y = op == SOFTMAX ? tg_softmax(t, in, axis)
                 : op == LOG_SOFTMAX ? tg_log_softmax(t, in, axis)
                 : tg_logsumexp_axis(t, in, axis, false);
    return fast || op == LOGSUMEXP ? y : tg_transpose(t, y);
}

/* Value and gradient of op, computed both ways, agree bit for bit. */
static void check_both_ways(int op, const char *name, bool edges)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = values(t, 6, 37, edges);
    tg_tensor *grads[2], *outs[2];
    for (int way = 0; way < 2; way++) {
        tg_tensor *y = along(t, op, x, way == 0);
        outs[way] = y;
        /* A weighted sum, so that every output's gradient differs. */
        tg_tensor *ramp = tg_linspace(t, TG_F32, -1, 2, tg_numel(y));
        tg_tensor *r = tg_reshape(t, ramp, tg_ndim(y), tg_shape(y));
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, r))), TG_OK);
        grads[way] = tg_from_data(t, TG_F32, 2, tg_shape(x),
                                  tg_data_f32(tg_grad(x)));
        tg_zero_grad(x);
    }
    assert_same(outs[0], outs[1], name);
    assert_same(grads[0], grads[1], name);
    tg_tape_free(t);
}

START_TEST(softmax_family_same_on_both_paths)
{
    check_both_ways(SOFTMAX, "softmax", false);
    check_both_ways(LOG_SOFTMAX, "log_softmax", false);
    check_both_ways(LOGSUMEXP, "logsumexp", false);
    check_both_ways(SOFTMAX, "softmax edges", true);
    check_both_ways(LOG_SOFTMAX, "log_softmax edges", true);
    check_both_ways(LOGSUMEXP, "logsumexp edges", true);
}
END_TEST

/* cross_entropy's f32 gradient rows against softmax minus one-hot,
 * computed by the general path in f64 and rounded. */
START_TEST(cross_entropy_f32_rows)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = values(t, 5, 33, false);
    int64_t labels[5] = {0, 32, 7, 7, 16};
    ck_assert_int_eq(tg_backward(t, tg_cross_entropy(t, x, labels)), TG_OK);
    for (int64_t i = 0; i < 5; i++) {
        const float *row = tg_data_f32(x) + i * 33;
        double m = -INFINITY, s = 0;
        for (int k = 0; k < 33; k++)
            m = row[k] > m ? row[k] : m;
        for (int k = 0; k < 33; k++)
            s += exp(row[k] - m);
        for (int k = 0; k < 33; k++) {
            double p = exp(row[k] - m) / s - (k == labels[i]);
            float got = tg_data_f32(tg_grad(x))[i * 33 + k];
            ck_assert_msg(fabs(got - p / 5) <= 2e-7 * (fabs(p / 5) + 1e-3),
                          "row %lld col %d: %.9g, expected %.9g",
                          (long long)i, k, got, p / 5);
        }
    }
    tg_tape_free(t);
}
END_TEST

/* ---- mlp, session 7: the block loops (tg__f32_rows_*) give, bit for
 * bit, what the per-row calls give, for rows shorter than, equal to and
 * longer than a chunk (256 elements) and a chunk's last partial group of
 * rows, with -inf, +inf and NaN among the values. */

/* Bits of a double, so that NaNs compare equal to themselves. */
static bool same_bits_d(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void fill_rows(float *x, int64_t count, int64_t seed)
{
    for (int64_t k = 0; k < count; k++) {
        uint32_t h = (uint32_t)(k * 2654435761u) ^ (uint32_t)seed;
        x[k] = (float)((double)(h % 20011) / 997.0 - 10.0);
    }
    if (count > 30) { /* edges in a few rows, ordinary values elsewhere */
        x[3] = -INFINITY;
        x[17] = INFINITY;
        x[29] = NAN;
    }
    if (count > 60) { /* a max that is -0 before +0 (a row of 10: row 5) */
        for (int64_t k = 50; k < 60; k++)
            x[k] = -1.0f;
        x[52] = -0.0f;
        x[55] = 0.0f;
    }
}

START_TEST(rows_block_same_as_per_row)
{
    static const int64_t ns[] = {1, 5, 10, 16, 17, 85, 255, 256, 257, 700};
    static const int64_t rows_of[] = {1, 3, 64, 65};
    enum { MOST = 65 * 700 };
    static float x[MOST], y_rows[MOST], y_one[MOST];
    static double m[65], s[65];
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof rows_of / sizeof *rows_of; b++) {
            int64_t n = ns[a], rows = rows_of[b];
            fill_rows(x, rows * n, n * 131 + rows);
            tg__f32_rows_softmax_stats(x, rows, n, m, s);
            tg__f32_rows_scaled_exp(y_rows, x, rows, n, -0.75, m, s);
            for (int64_t i = 0; i < rows; i++) {
                const float *r = x + i * n;
                double mi = tg__f32_max(r, n);
                double si = tg__f32_sum_exp(r, n, mi);
                ck_assert_msg(same_bits_d(m[i], mi) && same_bits_d(s[i], si),
                              "n %lld rows %lld row %lld: max %.17g sum %.17g,"
                              " per row %.17g %.17g", (long long)n,
                              (long long)rows, (long long)i, m[i], s[i], mi,
                              si);
                tg__f32_scaled_exp(y_one + i * n, r, n, -0.75 / si, mi);
            }
            ck_assert_msg(memcmp(y_rows, y_one, (size_t)(rows * n) *
                                 sizeof *x) == 0,
                          "scaled exp differs, n %lld rows %lld",
                          (long long)n, (long long)rows);
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lane_f32");
    TCase *tc = tg_test_tcase("lane_f32");
    tcase_add_test(tc, exp_f32_rounds_as_libm);
    tcase_add_test(tc, f32_max_finds_max_and_nan);
    tcase_add_test(tc, softmax_family_same_on_both_paths);
    tcase_add_test(tc, cross_entropy_f32_rows);
    tcase_add_test(tc, rows_block_same_as_per_row);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
