/*
 * test_gelu_saved.c — tg_gelu's f32 forward saves gelu'(x) for the
 * backward when the call is recorded (src/ops/gelu.c). The gradient must
 * be gy * (Phi(x) + x phi(x)) evaluated as the backward used to evaluate
 * it (tg__vphif of src/vec_math.h), whether gy is a tensor or one value
 * everywhere; the same bits on one thread or two; and the forward's
 * values must not depend on whether anything was saved.
 *
 * The reference here is compiled for the baseline x86-64, the library's
 * loop also for AVX-512: the same bits all the same, since the build turns
 * off fused multiply-adds the code did not ask for (-ffp-contract=off in
 * meson.build; clang would otherwise fuse a * b + c where AVX-512 has FMA).
 */
#include "tg_test.h"

#include "vec_math.h"

#include <math.h>
#include <string.h>

/* What the backward computed before the derivative was saved. */
static float gelu_grad_reference(float x, float gy)
{
    float pdf, cdf = tg__vphif(x, &pdf);
    float xt = x > 1e10f ? 1e10f : x < -1e10f ? -1e10f : x;
    return gy * (cdf + xt * pdf);
}

/* a and b are the same float, bit for bit, or both NaN. */
static bool same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* got is the gradient gy gelu'(x) as the backward used to compute it. */
static bool near_grad(float got, float x, float gy)
{
    return same_float(got, gelu_grad_reference(x, gy));
}

/* n values over [-8, 8], with the special values at the front. */
static tg_tensor *inputs(tg_tape *t, int64_t n)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -8.0, 8.0, n);
    ck_assert_ptr_nonnull(x);
    static const float special[] = {INFINITY, -INFINITY, 0.0f, -0.0f,
                                    -20.0f,   20.0f,     1e30f, -1e30f,
                                    NAN};
    float *v = tg_mut_f32(x);
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        v[i] = special[i];
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}

/* A gy that differs from element to element: the loss sum(gelu(x) * w). */
START_TEST(gradient_is_the_formula_with_a_tensor_gy)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 1001;
    tg_tensor *x = inputs(t, n);
    tg_tensor *w = tg_linspace(t, TG_F32, -3.0, 2.0, n);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, tg_gelu(t, x), w))),
                     TG_OK);
    const float *xs = tg_data_f32(x), *ws = tg_data_f32(w);
    const float *gx = tg_data_f32(tg_grad(x));
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(near_grad(gx[i], xs[i], ws[i]),
                      "x = %g: gradient %.9g, expected %.9g", (double)xs[i],
                      (double)gx[i],
                      (double)gelu_grad_reference(xs[i], ws[i]));
    tg_tape_free(t);
}
END_TEST

/* The gradient of a sum is 1 everywhere, kept as one value (uniform). */
START_TEST(gradient_is_the_formula_with_a_uniform_gy)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 777;
    tg_tensor *x = inputs(t, n);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_gelu(t, x))), TG_OK);
    const float *xs = tg_data_f32(x), *gx = tg_data_f32(tg_grad(x));
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(near_grad(gx[i], xs[i], 1.0f),
                      "x = %g: gradient %.9g", (double)xs[i], (double)gx[i]);
    tg_tape_free(t);
}
END_TEST

/* gelu(x) on tape t, with x requiring grad or not, and grad on or off. */
static void forward_values(tg_tape *t, bool requires, bool enabled, int64_t n,
                           float *out)
{
    tg_tensor *x = inputs(t, n);
    ck_assert_int_eq(tg_set_requires_grad(x, requires), TG_OK);
    tg_tape_set_grad_enabled(t, enabled);
    tg_tensor *y = tg_gelu(t, x);
    ck_assert_ptr_nonnull(y);
    memcpy(out, tg_data_f32(y), (size_t)n * sizeof *out);
    tg_tape_set_grad_enabled(t, true);
    tg_tape_reset(t);
}

START_TEST(forward_is_the_same_with_or_without_saving)
{
    enum { N = 1500 };
    static float saved[N], plain[N], off[N];
    tg_tape *t = tg_tape_new();
    forward_values(t, true, true, N, saved);
    forward_values(t, false, true, N, plain);
    forward_values(t, true, false, N, off);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(same_float(saved[i], plain[i]), "element %d", i);
        ck_assert_msg(same_float(saved[i], off[i]), "element %d", i);
    }
    tg_tape_free(t);
}
END_TEST

/* A tensor big enough to be split across threads: the same bits. */
static void big_gradient(int threads, float *out, int64_t n)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = inputs(t, n);
    tg_tensor *w = tg_linspace(t, TG_F32, 1.0, -1.0, n);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, tg_gelu(t, x), w))),
                     TG_OK);
    memcpy(out, tg_data_f32(tg_grad(x)), (size_t)n * sizeof *out);
    tg_tape_free(t);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}

START_TEST(gradient_does_not_depend_on_threads)
{
    enum { N = 1 << 18 };
    static float one[N], two[N];
    big_gradient(1, one, N);
    big_gradient(2, two, N);
    ck_assert_int_eq(memcmp(one, two, sizeof one), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gelu_saved");
    TCase *tc = tg_test_tcase("gradient");
    tcase_add_test(tc, gradient_is_the_formula_with_a_tensor_gy);
    tcase_add_test(tc, gradient_is_the_formula_with_a_uniform_gy);
    tcase_add_test(tc, gradient_does_not_depend_on_threads);
    suite_add_tcase(s, tc);
    TCase *fw = tg_test_tcase("forward");
    tcase_add_test(fw, forward_is_the_same_with_or_without_saving);
    suite_add_tcase(s, fw);
    return tg_test_main(s);
}
