/*
 * lane_f32.c — the lane loops of the softmax family for f32 lanes stored
 * contiguously (the last axis, the usual case): typed, so that they
 * vectorise, with exp from exp_f32.h instead of a libm call per element.
 *
 * Each computes what axis.c's general loop computes, the same operations
 * in double, except that exp differs by under 5e-16 relative and sums
 * are added in another order (below): after rounding to float the
 * results agree but for the last bit, rarely. Callers pick this path by
 * dtype and layout alone (tg__lane_f32 in lane_f32.h).
 */
#include "exp_f32.h"
#include "hot.h"
#include "tensor/lane_f32.h"

#include <math.h>

/*
 * The largest of x[0..n-1], or the first NaN among them. Sixteen running
 * maxima, so that the comparisons go sixteen at a time; beside each, a
 * sum of v * 0, which stays 0 until a NaN or an infinity passes (the
 * compiler vectorises that where it would not an "is NaN" flag).
 */
TG__HOT static double max_f32(const float *restrict x, int64_t n)
{
    float m[16], odd[16];
    for (int q = 0; q < 16; q++) {
        m[q] = -INFINITY;
        odd[q] = 0;
    }
    int64_t k = 0;
    for (; k + 16 <= n; k += 16)
        for (int q = 0; q < 16; q++) {
            float v = x[k + q];
            odd[q] += v * 0.0f;
            m[q] = v > m[q] ? v : m[q];
        }
    for (int q = 0; k < n; k++, q++) {
        odd[q] += x[k] * 0.0f;
        m[q] = x[k] > m[q] ? x[k] : m[q];
    }
    float best = m[0], any = odd[0];
    for (int q = 1; q < 16; q++) {
        best = m[q] > best ? m[q] : best;
        any += odd[q];
    }
    if (any != 0) /* rare: a NaN or an infinity; return the first NaN */
        for (k = 0; k < n; k++)
            if (x[k] != x[k])
                return x[k];
    return best;
}

/*
 * Sums of exponentials go into 16 partial sums (element k to sum k mod 16)
 * added pairwise at the end: one running sum would make each addition
 * wait for the last and keep the exponentials from being computed 8 or 16
 * at a time. The order, and so the result, is the same whatever the
 * vector width.
 */
#define LANES 16

static double fold(double *acc)
{
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int q = 0; q < w; q++)
            acc[q] += acc[q + w];
    return acc[0];
}

/* The sum, in double, of exp(x[k] - shift). */
TG__HOT static double sum_exp_f32(const float *restrict x, int64_t n,
                                  double shift)
{
    double acc[LANES] = {0};
    int64_t k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int q = 0; q < LANES; q++)
            acc[q] += tg__exp_f32((double)x[k + q] - shift);
    for (int q = 0; k < n; k++, q++)
        acc[q] += tg__exp_f32((double)x[k] - shift);
    return fold(acc);
}

/* y[k] = exp(x[k] - shift) rounded to float; returns the sum of the
 * exponentials before rounding. */
TG__HOT static double exp_into_f32(float *restrict y, const float *restrict x,
                                   int64_t n, double shift)
{
    double acc[LANES] = {0};
    int64_t k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int q = 0; q < LANES; q++) {
            double e = tg__exp_f32((double)x[k + q] - shift);
            y[k + q] = (float)e;
            acc[q] += e;
        }
    for (int q = 0; k < n; k++, q++) {
        double e = tg__exp_f32((double)x[k] - shift);
        y[k] = (float)e;
        acc[q] += e;
    }
    return fold(acc);
}

/* The sum, in double, of a[k] * b[k]. */
TG__HOT static double dot_f32(const float *restrict a,
                              const float *restrict b, int64_t n)
{
    double acc[LANES] = {0};
    int64_t k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int q = 0; q < LANES; q++)
            acc[q] += (double)a[k + q] * (double)b[k + q];
    for (int q = 0; k < n; k++, q++)
        acc[q] += (double)a[k] * (double)b[k];
    return fold(acc);
}

/* y[k] = y[k] * a, rounded to float. */
TG__HOT static void scale_f32(float *restrict y, int64_t n, double a)
{
    for (int64_t k = 0; k < n; k++)
        y[k] = (float)((double)y[k] * a);
}

/* y[k] = (x[k] - a) - b, rounded to float. */
TG__HOT static void shift_into_f32(float *restrict y, const float *restrict x,
                                   int64_t n, double a, double b)
{
    for (int64_t k = 0; k < n; k++)
        y[k] = (float)(((double)x[k] - a) - b);
}

/* y[k] = a * exp(x[k] - shift), rounded to float: a scaled softmax. */
TG__HOT static void scaled_exp_f32(float *restrict y, const float *restrict x,
                                   int64_t n, double a, double shift)
{
    for (int64_t k = 0; k < n; k++)
        y[k] = (float)(a * tg__exp_f32((double)x[k] - shift));
}

/*
 * ---- Many short rows at once. A loop over one row of 10 (cross-entropy's
 * classes) never reaches 16 lanes: every exponential goes through the
 * scalar tail, and each row costs a call through the clone dispatcher.
 * These take a contiguous (rows, n) block and compute the exponentials of
 * up to ROWS_CHUNK elements at a time, across row boundaries, into a
 * buffer of doubles; each row's sum is then added from the buffer in the
 * order sum_exp_f32 uses (element k to partial sum k mod 16, folded
 * pairwise), so that the results are, bit for bit, the per-row calls'.
 */
enum { ROWS_CHUNK = 256 };

/* d[k] = exp(d[k]) for k < n: the loop that vectorises. */
static inline void exp_in_place(double *restrict d, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        d[k] = tg__exp_f32(d[k]);
}

/* The sum of e[0..n-1] in sum_exp_f32's order. */
static inline double sum_like_lanes(const double *e, int64_t n)
{
    double acc[LANES] = {0};
    for (int64_t k = 0; k < n; k++)
        acc[k % LANES] += e[k];
    return fold(acc);
}

/* d[i n + k] = exp(x[i n + k] - shift[i]) for r rows of n: one chunk's
 * exponentials, across row boundaries. */
static inline void shifted_exps(double *restrict d, const float *restrict x,
                                int64_t r, int64_t n,
                                const double *restrict shift)
{
    for (int64_t i = 0; i < r; i++)
        for (int64_t k = 0; k < n; k++)
            d[i * n + k] = (double)x[i * n + k] - shift[i];
    exp_in_place(d, r * n);
}

/* How many rows of n go into one chunk (0: a row is longer than it). */
static int64_t rows_per_chunk(int64_t n)
{
    return n > 0 ? ROWS_CHUNK / n : 0;
}

/* max_f32 for a row of at most 16: there each of its running maxima holds
 * one element and they are combined in order, which is this scan; a NaN
 * (the first) wins, as there. */
static inline double max_short(const float *x, int64_t n)
{
    float best = -INFINITY;
    for (int64_t k = 0; k < n; k++) {
        if (x[k] != x[k])
            return x[k];
        best = x[k] > best ? x[k] : best;
    }
    return best;
}

TG__HOT static void rows_softmax_stats_f32(const float *restrict x,
                                           int64_t rows, int64_t n,
                                           double *restrict m,
                                           double *restrict s)
{
    for (int64_t i = 0; i < rows; i++)
        m[i] = n <= LANES ? max_short(x + i * n, n) : max_f32(x + i * n, n);
    int64_t per = rows_per_chunk(n);
    if (per == 0) { /* long rows: the per-row loops are vectorised already */
        for (int64_t i = 0; i < rows; i++)
            s[i] = sum_exp_f32(x + i * n, n, m[i]);
        return;
    }
    double d[ROWS_CHUNK];
    for (int64_t i0 = 0; i0 < rows; i0 += per) {
        int64_t r = rows - i0 < per ? rows - i0 : per;
        shifted_exps(d, x + i0 * n, r, n, m + i0);
        for (int64_t i = 0; i < r; i++)
            s[i0 + i] = sum_like_lanes(d + i * n, n);
    }
}

TG__HOT static void rows_scaled_exp_f32(float *restrict y,
                                        const float *restrict x,
                                        int64_t rows, int64_t n, double a,
                                        const double *restrict shift,
                                        const double *restrict divisor)
{
    int64_t per = rows_per_chunk(n);
    if (per == 0) {
        for (int64_t i = 0; i < rows; i++)
            scaled_exp_f32(y + i * n, x + i * n, n, a / divisor[i],
                           shift[i]);
        return;
    }
    double d[ROWS_CHUNK];
    for (int64_t i0 = 0; i0 < rows; i0 += per) {
        int64_t r = rows - i0 < per ? rows - i0 : per;
        shifted_exps(d, x + i0 * n, r, n, shift + i0);
        float *yc = y + i0 * n;
        for (int64_t i = 0; i < r; i++) {
            double ai = a / divisor[i0 + i];
            for (int64_t k = 0; k < n; k++)
                yc[i * n + k] = (float)(ai * d[i * n + k]);
        }
    }
}

/* The entry points (lane_f32.h). The kernels above are static because
 * clang 14 makes no dispatcher for an external clone that its own file
 * never calls. */
double tg__f32_max(const float *x, int64_t n)
{
    return max_f32(x, n);
}

double tg__f32_sum_exp(const float *x, int64_t n, double shift)
{
    return sum_exp_f32(x, n, shift);
}

double tg__f32_exp_into(float *y, const float *x,
                        int64_t n, double shift)
{
    return exp_into_f32(y, x, n, shift);
}

double tg__f32_dot(const float *a, const float *b, int64_t n)
{
    return dot_f32(a, b, n);
}

void tg__f32_scale(float *y, int64_t n, double a)
{
    scale_f32(y, n, a);
}

void tg__f32_shift_into(float *y, const float *x,
                        int64_t n, double a, double b)
{
    shift_into_f32(y, x, n, a, b);
}

void tg__f32_scaled_exp(float *y, const float *x,
                        int64_t n, double a, double shift)
{
    scaled_exp_f32(y, x, n, a, shift);
}

void tg__f32_rows_softmax_stats(const float *x, int64_t rows, int64_t n,
                                double *max, double *sum)
{
    rows_softmax_stats_f32(x, rows, n, max, sum);
}

void tg__f32_rows_scaled_exp(float *y, const float *x, int64_t rows,
                             int64_t n, double a, const double *shift,
                             const double *divisor)
{
    rows_scaled_exp_f32(y, x, rows, n, a, shift, divisor);
}
