/*
 * sum_value.c — the sum of a tensor's elements as a number: the arithmetic
 * behind the sum and mean ops (tg_sum_value, declared in tapegrad/op.h).
 */
#include "tapegrad/op.h"

#include "hot.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>

/*
 * f32 sums accumulate in double, in 32 partial sums (element i goes to
 * sum i mod 32) added up pairwise at the end. Independent sums let the
 * additions overlap instead of each waiting for the last one (four chains
 * of AVX-512 vectors, eight of AVX2); and the result does not depend on
 * the vector width the loop was compiled for.
 *
 * Converting every float to double costs more than the additions, so
 * the main loop first adds four floats 32 apart in float, (a + b) + (c + d),
 * and converts that: a quarter of the conversions, twice the speed. Each
 * such group is off by at most two float roundings of its own partial
 * sums, so the whole sum is within 2^-23 * sum |x[i]| of exact (plus
 * n * 2^-53 from the double additions): tighter than a float pairwise sum
 * (PyTorch's, log n roundings) and independent of n.
 */
#define SUM_LANES 32

TG__HOT static double sum_f32(const float *restrict x, int64_t n)
{
    double acc[SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + 4 * SUM_LANES <= n; i += 4 * SUM_LANES)
        for (int k = 0; k < SUM_LANES; k++) {
            const float *q = x + i + k;
            acc[k] += (double)((q[0] + q[SUM_LANES]) +
                               (q[2 * SUM_LANES] + q[3 * SUM_LANES]));
        }
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int k = 0; k < SUM_LANES; k++)
            acc[k] += x[i + k];
    for (int k = 0; i < n; i++, k++)
        acc[k] += x[i];
    /* Pairwise, in steps the compiler unrolls: 32 -> 16 -> 8 -> 4 -> 1. */
    for (int k = 0; k < 16; k++)
        acc[k] += acc[k + 16];
    for (int k = 0; k < 8; k++)
        acc[k] += acc[k + 8];
    for (int k = 0; k < 4; k++)
        acc[k] += acc[k + 4];
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

/* f64 sums are pairwise: error grows with log n rather than n. */
static double sum_f64(const double *restrict x, int64_t n)
{
    if (n <= 64) {
        double s0 = 0, s1 = 0;
        int64_t i = 0;
        for (; i + 2 <= n; i += 2) {
            s0 += x[i];
            s1 += x[i + 1];
        }
        if (i < n)
            s0 += x[i];
        return s0 + s1;
    }
    int64_t half = n / 2;
    return sum_f64(x, half) + sum_f64(x + half, n - half);
}

double tg_sum_value(const tg_tensor *x)
{
    if (tg__check_read("tg_sum_value", x) != TG_OK)
        return NAN;
    if (x->dtype == TG_F32)
        return sum_f32(x->data, x->numel);
    return sum_f64(x->data, x->numel);
}
