/*
 * linspace.c — evenly spaced values, exact to the last bit that matters.
 *
 * The naive start + i*step loses everything near zero: linspace(-2, 2, n)
 * computes values like 1e-3 as a difference of numbers near 2, and the
 * rounding error of step times i is then larger than an ulp of the result.
 * Instead each value is the weighted mean
 *
 *     x[i] = (start*(n-1-i) + end*i) / (n-1)
 *
 * with its cancellation done exactly. For f32 with float endpoints that is
 * cheap: a float times an integer below 2^29 is exact in double, so the
 * only roundings are one in the sum and one in the division, each relative
 * to the result itself, far below half a float ulp. Otherwise (f64, or
 * endpoints with more than 24 bits) it is evaluated in double-double
 * arithmetic (fma gives the exact error of each product, two-sum the exact
 * error of the sum). Either way the value is within an ulp of exact, and
 * the formula is symmetric by construction: swapping i and n-1-i with
 * start == -end negates every intermediate exactly, so x[i] == -x[n-1-i]
 * holds bit for bit.
 */
#include "tapegrad/tensor.h"

#include "hot.h"
#include "tensor/error_internal.h"
#include "tensor/tensor_struct.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* (a*k + b*m) / d for integers k, m, d < 2^53, within an ulp of exact. */
static double weighted_mean(double a, double k, double b, double m, double d)
{
    double p1 = a * k, e1 = fma(a, k, -p1);
    double p2 = b * m, e2 = fma(b, m, -p2);
    double s = p1 + p2;
    double bb = s - p1;
    double es = (p1 - (s - bb)) + (p2 - bb);   /* exact error of p1 + p2 */
    double lo = es + e1 + e2;
    double hi = s + lo;
    lo -= hi - s;
    double q = hi / d;
    double r = fma(-q, d, hi) + lo;            /* what q misses, times d */
    return q + r / d;
}

/*
 * The f32 fast path: exact products, a rounded sum, a rounded product with
 * the rounded 1/d: relative error under 2^-51, so rounding to float is off
 * by at most an ulp (endpoints land exactly on their floats). The index is
 * an int (steps < 2^29) so its conversion to double vectorises.
 */
TG__HOT static void linspace_f32(float *restrict x, double start, double end,
                         int32_t steps, int32_t count)
{
    double last = (double)(steps - 1), inv = 1.0 / last;
    for (int32_t i = 0; i < count; i++) {
        double k = (double)i;
        x[i] = (float)((start * (last - k) + end * k) * inv);
    }
}

/*
 * The first count values of a symmetric range (start == -end): there the
 * weighted mean's numerator start*(last-k) + end*k is end*(2k - last),
 * a float times an integer below 2^29, exact in double as both products
 * and their sum were: the same value with three fewer operations.
 */
TG__HOT static void linspace_sym_f32(float *restrict x, double end,
                                     int32_t steps, int32_t count)
{
    double last = (double)(steps - 1), inv = 1.0 / last;
    for (int32_t i = 0; i < count; i++)
        x[i] = (float)(end * (2.0 * (double)i - last) * inv);
}

/* hi[j] = -lo[m-1-j]: the second half of a symmetric range. */
TG__HOT static void mirror_f32(float *restrict hi, const float *restrict lo,
                               int32_t m)
{
    for (int32_t j = 0; j < m; j++)
        hi[j] = -lo[m - 1 - j];
}

/*
 * The first count values of a symmetric range whose end has a short
 * significand (2, 0.5, 3: the ranges people write). There end*(2k - last)
 * is exact in float itself, so one float division by last gives x[i]
 * correctly rounded, and sixteen at a time with AVX-512: twice as fast as
 * going through double. short_end below says when the product is exact.
 */
TG__HOT static void linspace_sym_short_f32(float *restrict x, float end,
                                           int32_t steps, int32_t count)
{
    int32_t last = steps - 1;
    float d = (float)last;                     /* exact: last < 2^24 */
    for (int32_t i = 0; i < count; i++)
        x[i] = end * (float)(2 * i - last) / d;
}

/*
 * Whether end * k is exact in float for every integer |k| <= last, and far
 * from overflow and from subnormals: the significant bits of end (from its
 * leading to its last nonzero bit) and the bits of last fit in float's 24
 * together. That is, the low bits of end's 24-bit significand, as many as
 * last has, are all zero: a mask of last's bits and everything below its
 * top bit tests them at once. Read from end's bits: this runs every call.
 */
static bool short_end(float end, int32_t last)
{
    uint32_t u;
    memcpy(&u, &end, sizeof u);
    uint32_t exponent = (u >> 23) & 0xff;   /* biased: 127 is 2^0 */
    if (exponent < 127 - 100 || exponent > 127 + 90)
        return false;
    uint32_t significand = (u & 0x7fffff) | 0x800000;
    uint32_t below = (uint32_t)last;        /* every bit up to last's top */
    below |= below >> 1;
    below |= below >> 2;
    below |= below >> 4;
    below |= below >> 8;
    below |= below >> 16;
    return (significand & below) == 0;      /* last >= 2^24 hits bit 23 */
}

/*
 * A range symmetric about zero (start == -end, as linspace(-2, 2, n)):
 * the formula is odd about the middle (see the top of the file), so the
 * second half is exactly the first, negated and reversed. Computing one
 * half halves the cost. start != 0 keeps every value but an odd range's
 * middle, which is computed, away from zero (0 would mirror to -0).
 */
static bool symmetric(double start, double end)
{
    return start == -end && start != 0;
}

/* The f32 fast path, over all of x or, for a symmetric range, half. */
static void linspace_f32_fast(float *x, double start, double end,
                              int32_t steps)
{
    if (!symmetric(start, end)) {
        linspace_f32(x, start, end, steps, steps);
        return;
    }
    int32_t half = steps - steps / 2; /* the middle too, if steps is odd */
    if (short_end((float)end, steps - 1))
        linspace_sym_short_f32(x, (float)end, steps, half);
    else
        linspace_sym_f32(x, end, steps, half);
    mirror_f32(x + half, x, steps - half);
}

/* Whether v survives a round trip through float. */
/* v rounds to a finite float: below FLT_MAX + half an ulp (2^103), the
 * tie at which rounding to nearest even goes to infinity. */
static bool fits_f32(double v)
{
    return fabs(v) < 0x1.ffffffp+127;
}

static bool is_float(double v)
{
    return (double)(float)v == v;
}

tg_tensor *tg_linspace(tg_tape *t, tg_dtype dt, double start, double end,
                       int64_t steps)
{
    if (steps < 1) {
        tg_set_error(TG_EINVAL, "tg_linspace: steps is %lld; it must be at "
                     "least 1", (long long)steps);
        return NULL;
    }
    if (!isfinite(start) || !isfinite(end)) {
        tg_set_error(TG_EINVAL, "tg_linspace: start and end must be finite");
        return NULL;
    }
    if (dt == TG_F32 && (!fits_f32(start) || !fits_f32(end))) {
        tg_set_error(TG_EINVAL, "tg_linspace: start %g and end %g must fit "
                     "in f32 (|v| <= %g); they would round to infinity",
                     start, end, (double)FLT_MAX);
        return NULL;
    }
    if (steps > ((int64_t)1 << 53)) {
        tg_set_error(TG_EINVAL, "tg_linspace: steps is %lld; at most 2^53",
                     (long long)steps);
        return NULL;
    }
    tg_tensor *x = tg_empty(t, dt, 1, &steps);
    if (x == NULL) {
        tg__error_in("tg_linspace");  /* name the call the user made */
        return NULL;
    }
    double d = (double)(steps - 1);
    if (dt == TG_F32 && steps > 1 && steps < ((int64_t)1 << 29) &&
        is_float(start) && is_float(end)) {
        linspace_f32_fast(x->data, start, end, (int32_t)steps);
        return x;
    }
    for (int64_t i = 0; i < steps; i++) {
        double v;
        if (i == 0)
            v = start;
        else if (i == steps - 1)
            v = end;
        else
            v = weighted_mean(start, (double)(steps - 1 - i), end, (double)i, d);
        if (!isfinite(v)) /* products overflowed: fall back, scaled down */
            v = ldexp(weighted_mean(ldexp(start, -64), (double)(steps - 1 - i),
                                    ldexp(end, -64), (double)i, d), 64);
        if (dt == TG_F32)
            ((float *)x->data)[i] = (float)v;
        else
            ((double *)x->data)[i] = v;
    }
    return x;
}
