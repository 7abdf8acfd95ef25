/*
 * test_audit7_vexpf.c — src/vec_math.h's float exp at the ends of its
 * range (test_vec_math.c samples [-104, 88] and skips both ends): every
 * 31st float (by bit pattern, so every low-bit pattern comes up) where the
 * result is subnormal, every float from 88.3 to 88.8, every 31st to 89.5
 * (all of them took minutes under valgrind):
 *
 * - results below FLT_MIN (x from -104 up to about -87.34): the float e^x
 *   is subnormal, and tg__vexpf must give e^x to within one subnormal
 *   step (2^-149) of the exact value, and agree with libm's expf just as
 *   closely; 0 below -104;
 * - results near FLT_MAX (x from 88 to 89.5): within 1 ulp of the exact
 *   value while e^x is a float, inf exactly when it is not (e^x rounds
 *   past FLT_MAX from x = 88.7228...). Until session 7, x in (88.376,
 *   88.723) gave inf: 2^k with k = 128 was written into the exponent bits.
 */
#include "tg_test.h"

#include "vec_math.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

/* The float `steps` floats above x. */
static float up(float x, int steps)
{
    for (int i = 0; i < steps; i++)
        x = nextafterf(x, INFINITY);
    return x;
}

START_TEST(subnormal_results)
{
    long n = 0, off_expf = 0, not_nearest = 0;
    double worst = 0;
    float worst_x = 0;
    for (float x = -104.0f; x < -87.0f; x = up(x, 31)) {
        double want = exp((double)x);
        float got = tg__vexpf(x);
        double err = fabs((double)got - want);
        if (err > worst)
            worst = err, worst_x = x;
        ck_assert_msg(err <= 0x1p-149, "e^%.9g = %.9g, exact %.9g", (double)x,
                      (double)got, want);
        ck_assert_msg(fabs((double)got - (double)expf(x)) <= 0x1p-149,
                      "e^%.9g = %.9g, expf %.9g", (double)x, (double)got,
                      (double)expf(x));
        off_expf += got != expf(x);
        not_nearest += got != (float)want;
        n++;
    }
    printf("# %ld floats of [-104, -87): worst %.3g (2^-149 = %.3g) at %.9g;"
           " %ld not the nearest float, %ld unlike expf\n", n, worst,
           0x1p-149, (double)worst_x, not_nearest, off_expf);
    ck_assert(n > 70000);
    ck_assert(tg__vexpf(nextafterf(-104.0f, -INFINITY)) == 0.0f);
    ck_assert(tg__vexpf(-1e30f) == 0.0f);
}
END_TEST

START_TEST(results_near_flt_max)
{
    long n = 0;
    for (float x = 88.0f; x <= 89.5f;
         x = up(x, x > 88.3f && x < 88.8f ? 1 : 31)) {
        double want = exp((double)x);
        float got = tg__vexpf(x);
        if ((float)want > FLT_MAX || isinf((float)want)) {
            ck_assert_msg(isinf(got) && got > 0, "e^%.9g = %.9g, exact %.9g "
                          "(past FLT_MAX)", (double)x, (double)got, want);
        } else {
            float w = (float)want;
            double gap = (double)nextafterf(w, INFINITY) - (double)w;
            ck_assert_msg(isfinite(got) && fabs((double)got - want) <= gap,
                          "e^%.9g = %.9g, exact %.9g", (double)x, (double)got,
                          want);
        }
        n++;
    }
    ck_assert(n > 60000);
    ck_assert(isinf(tg__vexpf(1e30f)) && isinf(tg__vexpf(INFINITY)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit7_vexpf");
    TCase *tc = tg_test_tcase("audit7_vexpf");
    tcase_add_test(tc, subnormal_results);
    tcase_add_test(tc, results_near_flt_max);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
