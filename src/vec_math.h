/*
 * vec_math.h — exp and the normal distribution's Phi and phi in float
 * arithmetic, in straight-line code that the compiler vectorises 16 floats
 * at a time (AVX-512) where exp_f32.h's double code goes 8 at a time.
 *
 * Everything here is `static inline`, so that it is compiled into the
 * elementwise loop that calls it (and into that loop's AVX-512 and AVX2
 * clones); no branches, only selects, so the loop stays one vector path.
 *
 * tg__vexpf_split(hi, lo) = e^(hi + lo), for hi exact and |lo| tiny
 * ----------------------------------------------------------------------
 * The textbook method (Cody and Waite's reduction, Cephes' expf):
 *   1. k = round(hi / ln2), so that e^x = 2^k e^r with r = x - k ln2 and
 *      |r| <= ln2 / 2. ln2 is C1 + C2, where C1 = 0.693359375 has only 9
 *      significant bits: k * C1 is exact and so is hi - k * C1 (see below);
 *      C2 = -2.12194440e-4 carries the rest.
 *   2. e^r = 1 + r + r^2 P(r), P of degree 5 (Cephes' minimax coefficients
 *      for [-ln2/2, ln2/2]; about 1 ulp).
 *   3. 2^k written into a float's exponent bits; where 2^k is below float's
 *      normal range, 2^(k + 64) and then 2^-64: the result is within one
 *      subnormal step of e^x (p is rounded once to float and then again
 *      into the subnormal, so 2% of those results are the float next to
 *      the nearest; tests/test_audit7_vexpf.c checks every one). At the
 *      top, 2^128 is not a float: 2^127 and then 2.
 * Why a (hi, lo) pair: e^(-x^2/2) for |x| near 13 has x^2 / 2 near 85, and
 * rounding x^2 to float moves it by up to 4e-6, which e^ turns into a
 * relative error of 4e-6 (about 30 ulps). x^2 = hi + lo exactly (Dekker's
 * product, tg__vsquaref) keeps the full accuracy: hi goes through the exact
 * reduction, lo is added to r.
 *
 * tg__vphif(x, &pdf) = Phi(x), and pdf = phi(x)
 * ---------------------------------------------
 * Phi(x) = erfc(-x / sqrt 2) / 2, phi(x) = e^(-x^2/2) / sqrt(2 pi). With
 * z = |x| / sqrt 2 and t = 1 / (1 + z / 2) (Numerical Recipes' erfcc
 * variable: z in [0, inf) becomes t in (0, 1]),
 *     erfc(z) = t e^(-z^2) Q(t),
 * where Q(t) = erfc(z) e^(z^2) / t is smooth on [1/6, 1] (z <= 10) and is a
 * polynomial of degree 9 there to a relative 2.2e-8 (a least-squares fit
 * on Chebyshev nodes against mpmath's erfc, weighted by 1/Q; the script is
 * in bench/RESULTS.md's W7 section). e^(-z^2) = e^(-x^2/2) is phi's
 * exponential too, so Phi and phi together cost one exp, one division and
 * one polynomial. For x < 0, Phi = erfc / 2 keeps its relative accuracy
 * down to the smallest floats; for x >= 0, Phi = 1 - erfc / 2.
 *
 * Measured against double-precision libm over every float in [-16, 16]
 * (a one-off sweep of 25 minutes; tests/test_vec_math.c repeats it on a
 * million of them): tg__vexpf within 0.99 ulp; phi within 2.2 ulps; Phi
 * within 6.9 ulps where it is a normal float (the worst near x = -1.9 and
 * just below 0, where the float rounding of Q's ten terms, about 3e-7
 * relative, meets a value just under a power of 2), and within a few
 * subnormal steps below that.
 * The test fails above 1, 2.5 and 8 ulps. (Double precision throughout
 * would be exact to the last bit, but runs 8 lanes, not 16; and the
 * compiler may not fuse multiply-adds here, since the loops' clones are
 * compiled for avx2 and avx512f, which do not include FMA.)
 */
#ifndef TG_VEC_MATH_H
#define TG_VEC_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* A float with the given bits, and back: memcpy, which compilers turn into
 * a register move (and vectorise). */
static inline float tg__f32_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static inline uint32_t tg__f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/*
 * x * x = *hi + *lo exactly (Dekker, 1971): x is split into a head of 12
 * significant bits and a tail, so that every partial product is exact in
 * float; *hi is x * x rounded. No FMA needed, so every clone of a loop
 * gives the same bits. For |x| below about 1e19 (x * x finite).
 */
static inline void tg__vsquaref(float x, float *hi, float *lo)
{
    float xh = tg__f32_from_bits(tg__f32_bits(x) & 0xfffff000u);
    float xl = x - xh;
    *hi = x * x;
    *lo = ((xh * xh - *hi) + 2.0f * xh * xl) + xl * xl;
}

/*
 * e^(hi + lo) for hi a float taken as exact and |lo| <= 2^-20 |hi| or so
 * (as from tg__vsquaref). 0 below -104 (e^-104 rounds to 0 in float),
 * inf above 89; NaN in hi passes through.
 */
static inline float tg__vexpf_split(float hi, float lo)
{
    float x = hi >= -104.0f ? (hi <= 89.0f ? hi : 89.0f) : -104.0f;
    /* k = round(x / ln2): adding 1.5 * 2^23 rounds to an integer. */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* x - k C1 is exact: k C1 has 17 significant bits on a grid of 2^-9,
     * and the difference, below 0.4, lies on x's grid (2^-17 or finer). */
    float r = (x - k * 0.693359375f) - k * -2.12194440e-4f + lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = (p * (r * r) + r) + 1.0f;
    /* 2^k, or 2^(k + 64) times 2^-64 below the normal range, or 2^(k - 1)
     * times 2 for k = 128 (x from 88.38 to 89: 2^128 itself is not a
     * float, but e^x is one up to x = 88.72). */
    int32_t ki = (int32_t)k;
    int32_t tiny = ki < -125, top = ki > 127;
    int32_t kb = ki + (tiny ? 64 : 0) - (top ? 1 : 0);
    float scale = tg__f32_from_bits((uint32_t)(kb + 127) << 23);
    float v = p * scale * (tiny ? 0x1p-64f : top ? 2.0f : 1.0f);
    v = hi < -104.0f ? 0.0f : v;
    v = hi > 89.0f ? (float)INFINITY : v;
    return hi == hi ? v : hi;
}

/* e^x in float: tg__vexpf_split(x, 0). */
static inline float tg__vexpf(float x)
{
    return tg__vexpf_split(x, 0.0f);
}

/*
 * Phi(x), the standard normal CDF, and *pdf = phi(x), its density, both
 * in float (see the top of the file for the method and the error). Phi
 * is 0 at -inf and 1 at +inf; phi is 0 at both; NaN gives NaN.
 */
static inline float tg__vphif(float x, float *pdf)
{
    float ax = x < 0 ? -x : x;
    float sq_hi, sq_lo;
    tg__vsquaref(ax < 20.0f ? ax : 20.0f, &sq_hi, &sq_lo);
    float e = tg__vexpf_split(-0.5f * sq_hi, -0.5f * sq_lo); /* e^(-x^2/2) */
    /* t = 1 / (1 + z / 2), z = |x| / sqrt 2 */
    float t = 1.0f / (1.0f + ax * 0.353553390593273762f);
    float q = 1.35346491e-2f;                        /* Q(t), degree 9 */
    q = q * t - 1.29614048e-1f;
    q = q * t + 4.42811132e-1f;
    q = q * t - 6.87045796e-1f;
    q = q * t + 4.34151878e-1f;
    q = q * t - 1.04528480e-1f;
    q = q * t + 2.27445520e-1f;
    q = q * t + 2.38288230e-1f;
    q = q * t + 2.82894015e-1f;
    q = q * t + 2.82062883e-1f;
    float half_erfc = 0.5f * (t * q * e);      /* erfc(|x| / sqrt 2) / 2 */
    *pdf = x == x ? e * 0.398942280401432678f : x;   /* 1 / sqrt(2 pi) */
    float cdf = x < 0 ? half_erfc : 1.0f - half_erfc;
    return x == x ? cdf : x;
}

#endif /* TG_VEC_MATH_H */
