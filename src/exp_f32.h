/*
 * exp_f32.h — exp for values that will be rounded to float, in a form the
 * compiler can vectorise.
 *
 * libm's exp is a call per element (about 9 ns here), so a loop around it
 * cannot use vectors; softmax, log_softmax, logsumexp and cross_entropy
 * spend most of their time in it. tg__exp_f32 is the textbook method in
 * straight-line double arithmetic, which vectorises:
 *
 *   1. x = k ln2 + r with k an integer and |r| <= ln2 / 2, so that
 *      exp(x) = 2^k exp(r). ln2 is split in two (hi has trailing zero bits,
 *      so k * hi is exact for |k| < 2^20) and r carries no rounding from
 *      the reduction beyond the last bits of lo.
 *   2. exp(r) by its Taylor series to r^12, evaluated by Horner's rule:
 *      the first term left out, r^13 / 13!, is below 2e-16 for |r| <= ln2/2.
 *   3. 2^k written straight into a double's exponent bits.
 *
 * Measured against libm's exp: relative error at most 5e-16 over
 * [-110, 90], and the value rounded to float equal to (float)exp(x) at all
 * of 3e8 points tried (they differ only when exp(x) lies within 5e-16 of
 * the midpoint between two floats). Below -200 the result is 0 and above
 * 100 it is inf (exactly so at -inf and +inf), where a float result would
 * be 0 or inf anyway; NaN passes through. It serves sums of exponentials
 * too (logsumexp), which the shift by the lane's max keeps at or below
 * e^0 = 1 per term. f64 results keep libm's exp.
 */
#ifndef TG_EXP_F32_H
#define TG_EXP_F32_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline double tg__exp_f32(double x)
{
    /* A NaN fails both comparisons and becomes -200 here; it is put back
     * at the end. */
    double xc = x >= -200.0 ? (x <= 100.0 ? x : 100.0) : -200.0;
    /* k = round(x / ln2): adding 1.5 * 2^52 rounds to an integer, which
     * then sits in the low bits of t. */
    double t = xc * 1.4426950408889634 + 0x1.8p52;
    double k = t - 0x1.8p52;
    double r = (xc - k * 0x1.62e42fee00000p-1) - k * 0x1.a39ef35793c76p-33;
    double p = 1.0 / 479001600.0;                 /* 1/12! */
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023) << 52;       /* 2^k: k + 1023 in the exponent */
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    double v = p * scale;
    v = x < -200.0 ? 0.0 : v;         /* e^-200 is below float's range */
    v = x > 100.0 ? INFINITY : v;     /* e^100 is above it */
    return x == x ? v : x;
}

#endif /* TG_EXP_F32_H */
