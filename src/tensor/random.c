/*
 * random.c — PCG32 and the random tensors made from it.
 *
 * It lives in src/tensor/ beside tg_linspace because its fillers are tensor
 * creation functions, and because ops (a future dropout) and autograd
 * (random gradcheck inputs) may need random numbers while the arrows of
 * the design forbid them to reach into src/nn/. It uses only the public
 * API, so it could move there if that ever changed.
 *
 * Reproducibility is the point, so every number is computed from integer
 * arithmetic and exactly rounded IEEE operations: + - * / and sqrt, and a
 * logarithm written here instead of the C library's (whose last bit varies
 * between libraries). Contracting a*b + c into one fma would change
 * results too: GCC does not contract in ISO C mode (-std=c11, as tapegrad
 * builds), and the pragma below tells Clang not to.
 */
#include "tapegrad/random.h"

#include "tensor/tensor_check.h"

#include <float.h>
#include <math.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define PCG_MULT 6364136223846793005ULL

/* Check that rng can draw numbers for the call named fn. */
static int check_rng(const char *fn, const tg_rng *rng)
{
    if (rng == NULL)
        return tg_set_error(TG_EINVAL, "%s: rng is NULL", fn);
    if ((rng->inc & 1) == 0)
        return tg_set_error(TG_ESTATE, "%s: rng was never seeded "
                            "(call tg_rng_seed first)", fn);
    return TG_OK;
}

/*
 * One step of PCG32: advance the LCG and permute the old state into the
 * output (xorshift high bits, then a rotation chosen by the top 5 bits).
 */
static uint32_t next_u32(tg_rng *rng)
{
    uint64_t old = rng->state;
    rng->state = old * PCG_MULT + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

int tg_rng_seed(tg_rng *rng, uint64_t seed, uint64_t stream)
{
    if (rng == NULL)
        return tg_set_error(TG_EINVAL, "tg_rng_seed: rng is NULL");
    rng->state = 0;
    rng->inc = (stream << 1) | 1;
    next_u32(rng);
    rng->state += seed;
    next_u32(rng);
    rng->spare = 0.0;
    rng->has_spare = false;
    return TG_OK;
}

uint32_t tg_rng_u32(tg_rng *rng)
{
    if (check_rng("tg_rng_u32", rng) != TG_OK)
        return 0;
    return next_u32(rng);
}

/*
 * Lemire's method: the high half of x * bound is uniform in [0, bound)
 * except for a few x, recognised by the low half being below
 * 2^32 mod bound, which are drawn again.
 */
static uint32_t bounded_u32(tg_rng *rng, uint32_t bound)
{
    uint64_t m = (uint64_t)next_u32(rng) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t threshold = (uint32_t)-bound % bound;
        while (low < threshold) {
            m = (uint64_t)next_u32(rng) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* 64 random bits, the first draw giving the high half. */
static uint64_t next_u64(tg_rng *rng)
{
    uint64_t hi = next_u32(rng);
    return (hi << 32) | next_u32(rng);
}

/* The 128-bit product a * b as its high and low halves, in portable C. */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    *lo = (mid << 32) | (uint32_t)p00;
}

/* Lemire's method on 64 bits, for the rare bound past 2^32. */
static uint64_t bounded_u64(tg_rng *rng, uint64_t bound)
{
    uint64_t hi, lo;
    mul_64x64(next_u64(rng), bound, &hi, &lo);
    if (lo < bound) {
        uint64_t threshold = (0 - bound) % bound;
        while (lo < threshold)
            mul_64x64(next_u64(rng), bound, &hi, &lo);
    }
    return hi;
}

/* A uniform integer in [0, bound) for bound > 0, on 32 bits if it fits. */
static uint64_t bounded(tg_rng *rng, uint64_t bound)
{
    return bound <= UINT32_MAX ? bounded_u32(rng, (uint32_t)bound)
                               : bounded_u64(rng, bound);
}

uint64_t tg_rng_bounded(tg_rng *rng, uint64_t bound)
{
    if (check_rng("tg_rng_bounded", rng) != TG_OK)
        return 0;
    if (bound == 0) {
        tg_set_error(TG_EINVAL, "tg_rng_bounded: bound is 0");
        return 0;
    }
    return bounded(rng, bound);
}

/* A double in [0, 1) from 53 random bits. */
static double next_uniform(tg_rng *rng)
{
    return (double)(next_u64(rng) >> 11) * 0x1p-53;
}

double tg_rng_uniform(tg_rng *rng)
{
    if (check_rng("tg_rng_uniform", rng) != TG_OK)
        return NAN;
    return next_uniform(rng);
}

/*
 * The natural logarithm of a positive finite x, to within an ulp, using
 * only exactly rounded operations so that it is the same everywhere. The
 * method and coefficients are fdlibm's (e_log.c, Sun Microsystems 1993,
 * "permission to use, copy, modify, and distribute this software is freely
 * granted"): write x = 2^k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)),
 * s = f / (2 + f), so that log(1 + f) = log(1 + s) - log(1 - s)
 * = 2s + s R(s^2), with R a minimax polynomial of degree 7 in s^2;
 * ln 2 is split in two so that k * ln2_hi is exact.
 */
static double portable_log(double x)
{
    static const double ln2_hi = 6.93147180369123816490e-01;
    static const double ln2_lo = 1.90821492927058770002e-10;
    static const double lg[7] = {
        6.666666666666735130e-01, 3.999999999940941908e-01,
        2.857142874366239149e-01, 2.222219843214978396e-01,
        1.818357216161805012e-01, 1.531383769920937332e-01,
        1.479819860511658591e-01};
    int k;
    double m = frexp(x, &k);               /* exact: x = m 2^k, m in [.5,1) */
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        k--;
    }
    double f = m - 1.0;                    /* exact (Sterbenz) */
    double s = f / (2.0 + f), z = s * s, w = z * z;
    double t1 = w * (lg[1] + w * (lg[3] + w * lg[5]));
    double t2 = z * (lg[0] + w * (lg[2] + w * (lg[4] + w * lg[6])));
    double r = t1 + t2, hfsq = 0.5 * f * f, dk = (double)k;
    return dk * ln2_hi - ((hfsq - (s * (hfsq + r) + dk * ln2_lo)) - f);
}

/* Marsaglia's polar method; see random.h. */
static double next_normal(tg_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = false;
        return rng->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * next_uniform(rng) - 1.0;
        v = 2.0 * next_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * portable_log(s) / s);
    rng->spare = v * f;
    rng->has_spare = true;
    return u * f;
}

double tg_rng_normal(tg_rng *rng)
{
    if (check_rng("tg_rng_normal", rng) != TG_OK)
        return NAN;
    return next_normal(rng);
}

int tg_rng_shuffle(tg_rng *rng, int64_t n, int64_t *idx)
{
    int rc = check_rng("tg_rng_shuffle", rng);
    if (rc != TG_OK)
        return rc;
    if (n < 0)
        return tg_set_error(TG_EINVAL, "tg_rng_shuffle: n is %lld",
                            (long long)n);
    if (idx == NULL && n > 0)
        return tg_set_error(TG_EINVAL, "tg_rng_shuffle: idx is NULL");
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)bounded(rng, (uint64_t)i + 1);
        int64_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    return TG_OK;
}

/* An uninitialised tensor for a filler named fn, after checking rng. */
static tg_tensor *new_random(const char *fn, tg_tape *t, tg_rng *rng,
                             tg_dtype dt, int ndim, const int64_t *shape)
{
    int64_t numel;
    if (check_rng(fn, rng) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    if (tg_dtype_size(dt) == 0) {
        tg_set_error(TG_EDTYPE, "%s: unknown dtype %d", fn, (int)dt);
        return NULL;
    }
    if (tg__check_shape(fn, ndim, shape, tg_dtype_size(dt), &numel) != TG_OK)
        return NULL;
    tg_tensor *x = tg_empty(t, dt, ndim, shape);
    if (x == NULL)
        tg_set_error(TG_ENOMEM, "%s: out of memory for %lld elements", fn,
                     (long long)numel);
    return x;
}

/* v rounds to a finite float: below FLT_MAX + half an ulp (2^103), the
 * tie at which rounding to nearest even goes to infinity. */
static bool fits_f32(double v)
{
    return fabs(v) < 0x1.ffffffp+127;
}

/* The largest float below hi: where a rounded-up f32 value goes. */
static float below(double hi)
{
    float h = (float)hi;
    while ((double)h >= hi)
        h = nextafterf(h, -INFINITY);
    return h;
}

tg_tensor *tg_rand_uniform(tg_tape *t, tg_rng *rng, tg_dtype dt, int ndim,
                           const int64_t *shape, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi) || !isfinite(hi - lo)) {
        tg_set_error(TG_EINVAL, "tg_rand_uniform: the range [%g, %g) is not "
                     "finite and non-empty", lo, hi);
        return NULL;
    }
    if (dt == TG_F32 && (!fits_f32(lo) || !fits_f32(hi))) {
        tg_set_error(TG_EINVAL, "tg_rand_uniform: the range [%g, %g) does "
                     "not fit in f32 (|v| <= %g)", lo, hi, (double)FLT_MAX);
        return NULL;
    }
    tg_tensor *x = new_random("tg_rand_uniform", t, rng, dt, ndim, shape);
    if (x == NULL)
        return NULL;
    int64_t n = tg_numel(x);
    double width = hi - lo;
    if (dt == TG_F64) {
        double *v = tg_mut_f64(x);
        for (int64_t i = 0; i < n; i++) {
            v[i] = lo + width * next_uniform(rng);
            if (v[i] >= hi)
                v[i] = nextafter(hi, lo);
        }
        return x;
    }
    float *v = tg_mut_f32(x), top = below(hi);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(next_u32(rng) >> 8) * 0x1p-24;
        v[i] = (float)(lo + width * u);
        if ((double)v[i] >= hi)
            v[i] = top;
    }
    return x;
}

tg_tensor *tg_rand_normal(tg_tape *t, tg_rng *rng, tg_dtype dt, int ndim,
                          const int64_t *shape, double mean, double std)
{
    if (!isfinite(mean) || !isfinite(std) || std < 0) {
        tg_set_error(TG_EINVAL, "tg_rand_normal: mean %g and std %g must be "
                     "finite, std >= 0", mean, std);
        return NULL;
    }
    if (dt == TG_F32 && (!fits_f32(mean) || !fits_f32(std))) {
        tg_set_error(TG_EINVAL, "tg_rand_normal: mean %g and std %g must fit "
                     "in f32 (|v| <= %g)", mean, std, (double)FLT_MAX);
        return NULL;
    }
    tg_tensor *x = new_random("tg_rand_normal", t, rng, dt, ndim, shape);
    if (x == NULL)
        return NULL;
    int64_t n = tg_numel(x);
    if (dt == TG_F64) {
        double *v = tg_mut_f64(x);
        for (int64_t i = 0; i < n; i++)
            v[i] = mean + std * next_normal(rng);
    } else {
        float *v = tg_mut_f32(x);
        for (int64_t i = 0; i < n; i++)
            v[i] = (float)(mean + std * next_normal(rng));
    }
    return x;
}
