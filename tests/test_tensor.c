/*
 * test_tensor.c — making tensors, reading them, linspace's promises.
 */
#include "tg_test.h"

#include <float.h>

START_TEST(zeros_has_shape_and_zeros)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {2, 3, 4};
    tg_tensor *x = tg_zeros(t, TG_F64, 3, shape);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(tg_ndim(x), 3);
    ck_assert_int_eq(tg_numel(x), 24);
    ck_assert_int_eq(tg_shape(x)[2], 4);
    ck_assert_int_eq(tg_dtype_of(x), TG_F64);
    ck_assert_ptr_eq(tg_tape_of(x), t);
    for (int i = 0; i < 24; i++)
        ck_assert(tg_data_f64(x)[i] == 0.0);
    ck_assert_ptr_null(tg_grad(x));
    ck_assert(!tg_requires_grad(x));
    tg_tape_free(t);
}
END_TEST

START_TEST(scalar_has_empty_shape)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *s = tg_scalar(t, TG_F32, 2.5);
    ck_assert_int_eq(tg_ndim(s), 0);
    ck_assert_int_eq(tg_numel(s), 1);
    ck_assert(tg_item(s) == 2.5);
    char buf[32];
    ck_assert_str_eq(tg_shape_str(s, buf, sizeof buf), "()");
    tg_tape_free(t);
}
END_TEST

START_TEST(from_data_copies)
{
    tg_tape *t = tg_tape_new();
    float v[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[] = {2, 3};
    tg_tensor *x = tg_from_data(t, TG_F32, 2, shape, v);
    v[0] = 100;
    ck_assert(tg_data_f32(x)[0] == 1.0f);
    ck_assert(tg_data_f32(x)[5] == 6.0f);
    tg_mut_f32(x)[1] = -2;
    ck_assert(tg_data_f32(x)[1] == -2.0f);
    char buf[32];
    ck_assert_str_eq(tg_shape_str(x, buf, sizeof buf), "(2,3)");
    int64_t five = 5;
    ck_assert_str_eq(tg_shape_str(tg_zeros(t, TG_F32, 1, &five), buf,
                                  sizeof buf), "(5,)");
    tg_tape_free(t);
}
END_TEST

START_TEST(accessors_check_dtype)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F32, 1);
    ck_assert_ptr_null(tg_data_f64(x));
    ck_assert_message("tg_data_f64: tensor is f32");
    ck_assert_ptr_null(tg_mut_f64(x));
    ck_assert_ptr_nonnull(tg_data_f32(x));
    ck_assert_int_eq(tg_dtype_size(TG_F32), 4);
    ck_assert_int_eq(tg_dtype_size(TG_F64), 8);
    ck_assert_str_eq(tg_dtype_name(TG_F64), "f64");
    tg_tape_free(t);
}
END_TEST

START_TEST(item_needs_one_element)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {3, 4};
    ck_assert(isnan(tg_item(tg_zeros(t, TG_F32, 2, shape))));
    ck_assert_message("tg_item: shape (3,4) has 12 elements, not 1");
    int64_t one[] = {1, 1};
    ck_assert(tg_item(tg_zeros(t, TG_F32, 2, one)) == 0.0);
    tg_tape_free(t);
}
END_TEST

/* The ulp of v in dtype dt: the gap to the next value away from zero. */
static double ulp(double v, tg_dtype dt)
{
    if (dt == TG_F32)
        return (double)nextafterf((float)fabs(v), INFINITY) - fabs((float)v);
    return nextafter(fabs(v), INFINITY) - fabs(v);
}

/* linspace's values against exact rational arithmetic in long double. */
static void check_linspace(tg_dtype dt, double a, double b, int64_t n)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, dt, a, b, n);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(tg_numel(x), n);
    for (int64_t i = 0; i < n; i++) {
        double got = dt == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
        long double exact = n == 1 ? (long double)a :
            ((long double)a * (n - 1 - i) + (long double)b * i) / (n - 1);
        double err = fabs((double)((long double)got - exact));
        ck_assert_msg(err <= ulp(got, dt), "linspace(%g, %g, %lld)[%lld] = "
                      "%.17g is %g from exact, over one ulp", a, b,
                      (long long)n, (long long)i, got, err);
        if (a == -b) {
            double mirror = dt == TG_F32 ? tg_data_f32(x)[n - 1 - i]
                                         : tg_data_f64(x)[n - 1 - i];
            ck_assert_msg(got == -mirror, "not symmetric at %lld",
                          (long long)i);
        }
    }
    double first = dt == TG_F32 ? tg_data_f32(x)[0] : tg_data_f64(x)[0];
    double last = dt == TG_F32 ? tg_data_f32(x)[n - 1] : tg_data_f64(x)[n - 1];
    ck_assert(first == (dt == TG_F32 ? (double)(float)a : a));
    if (n > 1)
        ck_assert(last == (dt == TG_F32 ? (double)(float)b : b));
    tg_tape_free(t);
}

START_TEST(linspace_within_one_ulp_and_symmetric)
{
    check_linspace(TG_F32, -2, 2, 1000);
    check_linspace(TG_F64, -2, 2, 1000);
    check_linspace(TG_F32, -2, 2, 1001);
    check_linspace(TG_F64, -3, 3, 7);
    check_linspace(TG_F64, 0.1, 0.7, 13);
    check_linspace(TG_F32, -1e-3, 5, 999);
    check_linspace(TG_F64, 1e300, -1e300, 11);
    check_linspace(TG_F64, 5, 5, 4);
    check_linspace(TG_F32, 3, 9, 1);
    check_linspace(TG_F32, -0.75, 0.25, 5);   /* exact zero at i = 3 */
    check_linspace(TG_F32, -1, 3, 4097);
    check_linspace(TG_F32, 1e-3f, -7.5f, 333);
    check_linspace(TG_F32, -0.1f, 0.1f, 1000);   /* symmetric, long end */
    check_linspace(TG_F32, -0x1.00002p0, 0x1.00002p0, 17); /* 20 + 5 bits */
}
END_TEST

/*
 * A symmetric f32 range with a short end (few significant bits, as 2 or
 * 0.75) is correctly rounded: each value is within half an ulp of exact.
 */
static void check_correctly_rounded(double end, int64_t n)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -end, end, n);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < n; i++) {
        double got = tg_data_f32(x)[i];
        long double exact = (long double)end * (2 * i - (n - 1)) / (n - 1);
        double err = fabs((double)((long double)got - exact));
        ck_assert_msg(err <= 0.5 * ulp(got, TG_F32), "linspace(%g, %g, %lld)"
                      "[%lld] = %.9g is %g from exact, over half an ulp",
                      -end, end, (long long)n, (long long)i, got, err);
    }
    tg_tape_free(t);
}

START_TEST(linspace_short_symmetric_is_correctly_rounded)
{
    check_correctly_rounded(2, 1000);        /* the seed */
    check_correctly_rounded(2, 1001);
    check_correctly_rounded(0.75, 4097);
    check_correctly_rounded(7, 100001);
    check_correctly_rounded(0x1p-90, 999);
    check_correctly_rounded(0x1.00002p0, 16);  /* 20 + 4 bits: just short */
}
END_TEST

START_TEST(linspace_seed_middle_is_symmetric)
{
    /* PyTorch gives -0.002002030611... and 0.002001972869... here. */
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -2, 2, 1000);
    const float *v = tg_data_f32(x);
    ck_assert(v[499] == -v[500]);
    ck_assert_close(v[500], 2.0 / 999, 1e-6, 0);
    tg_tape_free(t);
}
END_TEST

/*
 * A range symmetric about zero computes half its values and mirrors the
 * rest: bit for bit what the formula gives every element (f32 fast path:
 * the weighted mean with exact products), and never a -0.0 the formula
 * would not give.
 */
START_TEST(linspace_mirrored_half_is_the_formula)
{
    tg_tape *t = tg_tape_new();
    const double ends[] = {2, 0.75, 1e-3f, 3e4};
    for (int e = 0; e < 4; e++)
        for (int64_t n = 2; n <= 1025; n += n < 40 ? 1 : 197) {
            double a = -ends[e], b = ends[e], last = (double)(n - 1);
            const float *v = tg_data_f32(tg_linspace(t, TG_F32, a, b, n));
            for (int64_t i = 0; i < n; i++) {
                double k = (double)i;
                float want = (float)((a * (last - k) + b * k) * (1.0 / last));
                ck_assert_msg(v[i] == want && signbit(v[i]) == signbit(want),
                              "linspace(%g, %g, %lld)[%lld] = %a, not %a", a,
                              b, (long long)n, (long long)i, (double)v[i],
                              (double)want);
            }
        }
    const float *z = tg_data_f32(tg_linspace(t, TG_F32, -0.0, 0.0, 4));
    for (int i = 0; i < 4; i++)
        ck_assert(z[i] == 0 && !signbit(z[i]));
    tg_tape_free(t);
}
END_TEST

START_TEST(linspace_rejects_bad_steps)
{
    tg_tape *t = tg_tape_new();
    ck_assert_null_msg(tg_linspace(t, TG_F32, 0, 1, 0), "steps is 0");
    ck_assert_null_msg(tg_linspace(t, TG_F32, 0, 1, -3), "at least 1");
    ck_assert_null_msg(tg_linspace(t, TG_F32, 0, INFINITY, 3), "finite");
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tg_test_tcase("create");
    tcase_add_test(tc, zeros_has_shape_and_zeros);
    tcase_add_test(tc, scalar_has_empty_shape);
    tcase_add_test(tc, from_data_copies);
    tcase_add_test(tc, accessors_check_dtype);
    tcase_add_test(tc, item_needs_one_element);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("linspace");
    tcase_add_test(tc, linspace_within_one_ulp_and_symmetric);
    tcase_add_test(tc, linspace_short_symmetric_is_correctly_rounded);
    tcase_add_test(tc, linspace_seed_middle_is_symmetric);
    tcase_add_test(tc, linspace_mirrored_half_is_the_formula);
    tcase_add_test(tc, linspace_rejects_bad_steps);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
