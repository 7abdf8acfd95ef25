/*
 * test_vec_math.c — the float exp, Phi and phi of src/vec_math.h against
 * double-precision libm, in ulps, over about two million floats spread
 * evenly (by bit pattern) over [-16, 16] and [-104, 89] (16 times fewer
 * under valgrind); and tg_gelu's f32 forward and gradient, which use them,
 * against the same references.
 *
 * An ulp here is the gap between the reference rounded to float and the
 * next float away from zero; the error is |got - reference| in those
 * units, so a correctly rounded result scores at most 0.5. Each case
 * prints its largest error and where it occurred.
 */
#include "tg_test.h"

#include "vec_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define INV_SQRT_2PI 0.39894228040143267794

/* |got - want| in ulps of want rounded to float (see the top). */
static double ulps(float got, double want)
{
    float w = fabsf((float)want);
    double gap = (double)nextafterf(w, INFINITY) - (double)w;
    return fabs((double)got - want) / gap;
}

/* The floats in [lo, hi] visited: every step-th bit pattern (a prime, so
 * that the low mantissa bits take all values). */
typedef struct sweep {
    uint32_t bits, end;
    int sign;
} sweep;

static const uint32_t STEP = 2039;

/* Under valgrind (TG_VALGRIND) the sweeps take every 32749th pattern (also
 * a prime), 16 times fewer floats: the same code, whose ulp bounds the
 * other runs check on the full sweep; at 2039 they were a minute there. */
static uint32_t sweep_step(void)
{
    return getenv("TG_VALGRIND") ? 32749 : STEP;
}

/* The least number of floats a sweep must visit (a million at STEP). */
static long sweep_min_points(void)
{
    return (long)(1000000.0 * STEP / sweep_step());
}

/* Visits each float of [-limit, limit] with bits % step == 0 or so: the
 * positive ones from 0 up, then the negative ones. */
static bool sweep_next(sweep *s, float limit, float *x)
{
    uint32_t step = sweep_step();
    for (;;) {
        s->bits += step;
        float v = tg__f32_from_bits(s->bits);
        if (!(v <= limit)) {
            if (s->sign < 0)
                return false;
            s->sign = -1;
            s->bits = 0x80000000u;
            continue;
        }
        if (s->sign < 0 && !(v >= -limit)) {
            return false;
        }
        *x = v;
        return true;
    }
}

START_TEST(vexpf_within_1_ulp)
{
    sweep s = {0, 0, 1};
    float x, worst_x = 0;
    double worst = 0;
    long n = 0;
    while (sweep_next(&s, 104.0f, &x)) {
        if (x > 88.0f)
            continue;
        double want = exp((double)x);
        if (want < 0x1p-126)          /* subnormal results: checked below */
            continue;
        double e = ulps(tg__vexpf(x), want);
        n++;
        if (e > worst)
            worst = e, worst_x = x;
    }
    printf("# tg__vexpf: max %.3f ulp at %.9g over %ld floats\n", worst,
           (double)worst_x, n);
    ck_assert_msg(n > sweep_min_points(), "only %ld points", n);
    ck_assert_msg(worst <= 1.0, "%.3f ulps at %.9g", worst, (double)worst_x);
    /* Subnormal results: within one subnormal step of e^x. */
    for (float v = -103.9f; v < -87.4f; v += 0.013f)
        ck_assert_msg(fabs((double)tg__vexpf(v) - exp((double)v)) <= 0x1p-149,
                      "e^%.9g", (double)v);
    ck_assert(tg__vexpf(0.0f) == 1.0f);
    ck_assert(tg__vexpf(-INFINITY) == 0.0f);
    ck_assert(tg__vexpf(-104.5f) == 0.0f);
    ck_assert(isinf(tg__vexpf(INFINITY)) && tg__vexpf(89.5f) > 0);
    ck_assert(isnan(tg__vexpf(NAN)));
}
END_TEST

START_TEST(vphif_within_8_ulps)
{
    sweep s = {0, 0, 1};
    float x, worst_cx = 0, worst_px = 0;
    double worst_c = 0, worst_p = 0;
    long n = 0;
    while (sweep_next(&s, 16.0f, &x)) {
        double xd = x;
        double cdf = 0.5 * erfc(-xd * 0.70710678118654752440);
        double pdf = exp(-0.5 * xd * xd) * INV_SQRT_2PI;
        float p, c = tg__vphif(x, &p);
        n++;
        if (cdf >= 0x1p-126) {
            double e = ulps(c, cdf);
            if (e > worst_c)
                worst_c = e, worst_cx = x;
        } else {
            ck_assert_msg(fabs(c - cdf) <= 0x1p-149 * 4, "Phi(%.9g)", xd);
        }
        if (pdf >= 0x1p-126) {
            double e = ulps(p, pdf);
            if (e > worst_p)
                worst_p = e, worst_px = x;
        }
    }
    printf("# tg__vphif: Phi max %.3f ulp at %.9g, phi max %.3f ulp at "
           "%.9g, over %ld floats\n", worst_c, (double)worst_cx, worst_p,
           (double)worst_px, n);
    ck_assert_msg(n > sweep_min_points(), "only %ld points", n);
    ck_assert_msg(worst_c <= 8.0, "Phi: %.3f ulps at %.9g", worst_c,
                  (double)worst_cx);
    ck_assert_msg(worst_p <= 2.5, "phi: %.3f ulps at %.9g", worst_p,
                  (double)worst_px);
    float p;
    ck_assert(tg__vphif(INFINITY, &p) == 1.0f && p == 0.0f);
    ck_assert(tg__vphif(-INFINITY, &p) == 0.0f && p == 0.0f);
    ck_assert(tg__vphif(0.0f, &p) == 0.5f);
    ck_assert(isnan(tg__vphif(NAN, &p)) && isnan(p));
}
END_TEST

/* The split square is exact: hi + lo == x * x in double. */
START_TEST(vsquaref_is_exact)
{
    sweep s = {0, 0, 1};
    float x, hi, lo;
    while (sweep_next(&s, 1e18f, &x)) {
        if (fabsf(x) < 1e-15f)        /* x * x's low part would underflow */
            continue;
        tg__vsquaref(x, &hi, &lo);
        ck_assert_msg((double)hi + (double)lo == (double)x * (double)x &&
                      hi == x * x, "x = %.9g", (double)x);
    }
}
END_TEST

/* tg_gelu in f32, forward and gradient, on 100001 points of [-16, 16]:
 * the forward within 8 ulps of x Phi(x) in double where Phi is a normal
 * float (a few subnormal steps below that); the gradient within 4e-7
 * absolute plus 4 ulps (Phi + x phi cancels near its zero at -0.75). */
START_TEST(gelu_f32_against_double)
{
    enum { N = 100001 };
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -16.0, 16.0, N);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_gelu(t, x);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    const float *xs = tg_data_f32(x), *ys = tg_data_f32(y);
    const float *gs = tg_data_f32(tg_grad(x));
    double worst = 0, worst_g = 0;
    for (int i = 0; i < N; i++) {
        double xd = xs[i];
        double cdf = 0.5 * erfc(-xd * 0.70710678118654752440);
        double want = xd * cdf;
        double dwant = cdf + xd * exp(-0.5 * xd * xd) * INV_SQRT_2PI;
        if (cdf >= 0x1p-126) {    /* where Phi(x) is a normal float */
            double e = ulps(ys[i], want);
            worst = e > worst ? e : worst;
        } else {
            ck_assert_msg(fabs(ys[i] - want) <= 16 * 0x1p-149 * fabs(xd),
                          "gelu(%.9g)", xd);
        }
        double eg = fabs(gs[i] - dwant);
        worst_g = eg > worst_g ? eg : worst_g;
        ck_assert_msg(eg <= 4e-7 + 4 * 0x1p-24 * fabs(dwant),
                      "gelu'(%.9g) = %.9g, not %.9g", xd, (double)gs[i],
                      dwant);
    }
    printf("# tg_gelu f32: max %.3f ulp, gradient max abs error %.3g\n",
           worst, worst_g);
    ck_assert_msg(worst <= 8.0, "%.3f ulps", worst);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vec_math");
    TCase *tc = tg_test_tcase("vec_math");
    tcase_add_test(tc, vexpf_within_1_ulp);
    tcase_add_test(tc, vphif_within_8_ulps);
    tcase_add_test(tc, vsquaref_is_exact);
    tcase_add_test(tc, gelu_f32_against_double);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
