/*
 * test_serial8.c — the pieces of a training step that run between the
 * thread pool's split calls, made cheaper in session 8 (issue 13):
 *
 * - tg_shape_str, which error messages format (now only when a check
 *   fails): the text "(" sizes joined by "," ")" (a trailing comma for
 *   one size) for 0 to TG_MAX_DIMS sizes, truncated as snprintf
 *   truncates for every buffer length.
 * - reshape's copies (forward: the values; backward: the gradient), now
 *   cut into parts across the pool: bit for bit the input's values and
 *   the upstream gradient, on 1 and 2 threads, f32 and f64, for sizes
 *   around and far above a part; a second tg_backward still adds to a
 *   leaf's gradient, and tg_zero_grad still clears it.
 */
#include "tg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text tg_shape_str gives: "(" sizes joined by "," ")", with a
 * trailing comma for one size, printf-formatted. */
static void reference(const int64_t *shape, int ndim, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "",
                                (long long)shape[i]);
    if (len < n)
        snprintf(buf + len, n - len, ndim == 1 ? ",)" : ")");
}

/* One shape: the full text, then every buffer length from 1 up. */
static void check_shape(tg_tape *t, int ndim, const int64_t *shape)
{
    tg_tensor *x = tg_empty(t, TG_F32, ndim, shape);
    ck_assert_ptr_nonnull(x);
    char want[256], got[256];
    reference(shape, ndim, want, sizeof want);
    ck_assert_str_eq(tg_shape_str(x, got, sizeof got), want);
    size_t full = strlen(want);
    for (size_t n = 1; n <= full + 2; n++) {
        char w[256], g[256];
        memset(g, 'X', sizeof g);
        reference(shape, ndim, w, n);
        ck_assert_ptr_eq(tg_shape_str(x, g, n), g);
        ck_assert_str_eq(g, w);
        ck_assert_int_eq(g[n], 'X'); /* nothing written past n bytes */
    }
}

START_TEST(shape_str_matches_printf)
{
    tg_tape *t = tg_tape_new();
    static const int64_t sizes[] = {1, 7, 10, 99, 100, 4096, 1000003};
    int64_t shape[TG_MAX_DIMS];
    check_shape(t, 0, shape); /* "()" */
    for (int ndim = 1; ndim <= TG_MAX_DIMS; ndim++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            /* one large size, the others small: the tensor stays small */
            for (int d = 0; d < ndim; d++)
                shape[d] = d == ndim / 2 ? sizes[s] : (d % 3) + 1;
            check_shape(t, ndim, shape);
        }
    char buf[16];
    ck_assert_str_eq(tg_shape_str(NULL, buf, sizeof buf), "(null)");
    ck_assert_str_eq(tg_shape_str(NULL, buf, 4), "(nu");
    ck_assert_ptr_null(tg_shape_str(NULL, NULL, 8));
    tg_tape_free(t);
}
END_TEST

/* A value for element i, the same on every run; not a multiple of any
 * power of two, so a copy that misplaced elements would show. */
static double value(int64_t i)
{
    return (double)((i * 2654435761u) % 100003) / 997.0 - 50.0;
}

static tg_tensor *filled(tg_tape *t, tg_dtype dt, int64_t n)
{
    tg_tensor *x = tg_empty(t, dt, 1, &n);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < n; i++)
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = (float)value(i);
        else
            tg_mut_f64(x)[i] = value(i);
    return x;
}

/* Whether a and b hold the same n values, bit for bit (b scaled by k:
 * -1 or -2, exact in either dtype). */
static bool same(const tg_tensor *a, const tg_tensor *b, double k, int64_t n)
{
    if (tg_dtype_of(a) == TG_F32) {
        const float *x = tg_data_f32(a), *y = tg_data_f32(b);
        for (int64_t i = 0; i < n; i++)
            if (x[i] != (float)k * y[i])
                return false;
    } else {
        const double *x = tg_data_f64(a), *y = tg_data_f64(b);
        for (int64_t i = 0; i < n; i++)
            if (x[i] != k * y[i])
                return false;
    }
    return true;
}

/*
 * x (n elements) reshaped to (n / 4, 4) and back to (n,), multiplied by r
 * and summed, on `threads`: y holds x's values exactly; x's gradient is
 * r exactly after one backward, 2 r after a second (the gradient was
 * assigned on the first, added on the second), and 0 after tg_zero_grad.
 */
static void check_reshape(tg_dtype dt, int64_t n, int threads)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = filled(t, dt, n), *r = filled(t, dt, n);
    tg_set_requires_grad(x, true);
    int64_t four[2] = {n / 4, 4};
    tg_tensor *y = tg_reshape(t, x, 2, four);
    tg_tensor *back = tg_reshape(t, y, 1, &n);
    tg_tensor *loss = tg_sum(t, tg_mul(t, back, tg_neg(t, r)));
    ck_assert_ptr_nonnull(loss);
    ck_assert(same(y, x, 1, n));
    ck_assert(same(back, x, 1, n));
    /* -r + -r is exactly -2 r: doubling only moves the exponent */
    for (int pass = 1; pass <= 2; pass++) {
        ck_assert_int_eq(tg_backward(t, loss), TG_OK);
        ck_assert_ptr_nonnull(tg_grad(x));
        ck_assert(same(tg_grad(x), r, -pass, n));
    }
    ck_assert_int_eq(tg_zero_grad(x), TG_OK);
    ck_assert(same(tg_grad(x), r, 0, n));
    tg_tape_free(t);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}

START_TEST(reshape_copies_in_parts)
{
    /* below any part, around the smallest parts, and (f32) twice the
     * largest (2^20 elements), so that 2 threads split it whatever the
     * pool measured; ends that are not multiples of 16 */
    static const int64_t sizes[] = {8, 2044, 25600, 65540, (2 << 20) + 12};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int threads = 1; threads <= 2; threads++) {
            check_reshape(TG_F32, sizes[s], threads);
            if (sizes[s] < (1 << 20))
                check_reshape(TG_F64, sizes[s], threads);
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("serial8");
    TCase *tc = tg_test_tcase("serial8");
    tcase_add_test(tc, shape_str_matches_printf);
    tcase_add_test(tc, reshape_copies_in_parts);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
