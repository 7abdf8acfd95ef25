/*
 * test_ops_relu_sum.c — the seed's two ops: relu and sum, forward values at
 * known points (PyTorch's conventions at 0, -0.0, NaN, inf) and gradients.
 */
#include "tg_test.h"

#define N_EDGE 9
static const double edge[N_EDGE] = {-2.5, -1e-30, -0.0, 0.0, 1e-30, 0.75,
                                    NAN, -INFINITY, INFINITY};
/* torch.relu and the gradient of torch.relu(x).sum() at those points. */
static const double relu_ref[N_EDGE] = {0, 0, -0.0, 0, 1e-30, 0.75, NAN, 0,
                                        INFINITY};
static const double grad_ref[N_EDGE] = {0, 0, 0, 0, 1, 1, 1, 0, 1};

static tg_tensor *edge_leaf(tg_tape *t, tg_dtype dt)
{
    int64_t n = N_EDGE;
    float f[N_EDGE];
    for (int i = 0; i < N_EDGE; i++)
        f[i] = (float)edge[i];
    tg_tensor *x = tg_from_data(t, dt, 1, &n, dt == TG_F32 ? (void *)f
                                                           : (void *)edge);
    tg_set_requires_grad(x, true);
    return x;
}

static double at(const tg_tensor *x, int i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

static void check_relu(tg_dtype dt)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = edge_leaf(t, dt);
    tg_tensor *y = tg_relu(t, x);
    ck_assert_int_eq(tg_dtype_of(y), dt);
    for (int i = 0; i < N_EDGE; i++) {
        double want = dt == TG_F32 ? (double)(float)relu_ref[i] : relu_ref[i];
        ck_assert_msg(tg_test_close(at(y, i), want, 0, 0) &&
                      signbit(at(y, i)) == signbit(want),
                      "%s relu(%g) = %g, expected %g", tg_dtype_name(dt),
                      edge[i], at(y, i), want);
    }
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    for (int i = 0; i < N_EDGE; i++)
        ck_assert_msg(at(tg_grad(x), i) == grad_ref[i],
                      "%s relu'(%g) = %g, expected %g", tg_dtype_name(dt),
                      edge[i], at(tg_grad(x), i), grad_ref[i]);
    tg_tape_free(t);
}

START_TEST(relu_edges_f32) { check_relu(TG_F32); }
END_TEST
START_TEST(relu_edges_f64) { check_relu(TG_F64); }
END_TEST

START_TEST(relu_keeps_shape)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {2, 3, 4};
    tg_tensor *y = tg_relu(t, tg_zeros(t, TG_F32, 3, shape));
    ck_assert_int_eq(tg_ndim(y), 3);
    ck_assert_int_eq(tg_shape(y)[0], 2);
    ck_assert_int_eq(tg_shape(y)[2], 4);
    tg_tape_free(t);
}
END_TEST

START_TEST(relu_is_registered)
{
    const tg_op *op = tg_op_find("relu");
    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(op->name, "relu");
    ck_assert_int_eq(op->arity, 1);
    ck_assert(op->piece != NULL);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, -3);
    ck_assert(tg_item(tg_apply(t, op, 1, &x, NULL)) == 0.0);
    tg_tape_free(t);
}
END_TEST

START_TEST(sum_values)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 1000;
    tg_tensor *x = tg_linspace(t, TG_F32, -2, 2, n);
    /* Exactly 0; sum.c's bound is 2^-23 * 1000 = 1.2e-4 (we give 3.3e-6,
     * PyTorch -2.7e-5). */
    ck_assert_close(tg_item(tg_sum(t, x)), 0.0, 0, 1e-5);
    /* 500 values from 2/999 to 2: 250 * (2 + 2/999). */
    ck_assert_close(tg_item(tg_sum(t, tg_relu(t, x))), 500.5005005005005,
                    1e-7, 0);
    double v[5] = {1e16, 1, -1e16, 2.5, 0.5};
    int64_t five = 5;
    ck_assert(tg_item(tg_sum(t, tg_from_data(t, TG_F64, 1, &five, v))) >= 3);
    ck_assert(isnan(tg_item(tg_sum(t, tg_scalar(t, TG_F64, NAN)))));
    ck_assert_int_eq(tg_ndim(tg_sum(t, x)), 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(sum_gradient_is_upstream_value)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {3, 5};
    tg_tensor *x = tg_zeros(t, TG_F64, 2, shape);
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);
    for (int i = 0; i < 15; i++)
        ck_assert(tg_data_f64(tg_grad(x))[i] == 1.0);
    tg_tape_free(t);
}
END_TEST

START_TEST(sum_of_large_f32_is_accurate)
{
    /* 2^24 ones: a float accumulator would stop at 16777216 + 0. */
    tg_tape *t = tg_tape_new();
    int64_t n = ((int64_t)1 << 24) + 8;
    tg_tensor *x = tg_empty(t, TG_F32, 1, &n);
    float *v = tg_mut_f32(x);
    for (int64_t i = 0; i < n; i++)
        v[i] = 1.0f;
    ck_assert(tg_item(tg_sum(t, x)) == (double)n);
    tg_tape_free(t);
}
END_TEST

/*
 * sum.c's bound, |sum - exact| <= 2^-23 * sum |x[i]|, at lengths that end
 * in each of its loops (groups of 128, rows of 32, the last few).
 */
START_TEST(sum_of_f32_within_bound)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 1);
    const int64_t lengths[] = {1, 31, 32, 127, 128, 129, 1000, 100003};
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
        int64_t n = lengths[k];
        tg_tensor *x = tg_empty(t, TG_F32, 1, &n);
        float *v = tg_mut_f32(x);
        long double exact = 0, size = 0;
        for (int64_t i = 0; i < n; i++) {
            v[i] = (float)(tg_rng_normal(&rng) * 1e3);
            exact += v[i];
            size += fabsl((long double)v[i]);
        }
        double err = fabs((double)((long double)tg_item(tg_sum(t, x)) - exact));
        ck_assert_msg(err <= 0x1p-23 * (double)size, "sum of %lld floats is "
                      "%g from exact, over 2^-23 * %g", (long long)n, err,
                      (double)size);
    }
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_relu_sum");
    TCase *tc = tg_test_tcase("relu");
    tcase_add_test(tc, relu_edges_f32);
    tcase_add_test(tc, relu_edges_f64);
    tcase_add_test(tc, relu_keeps_shape);
    tcase_add_test(tc, relu_is_registered);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("sum");
    tcase_add_test(tc, sum_values);
    tcase_add_test(tc, sum_gradient_is_upstream_value);
    tcase_add_test(tc, sum_of_large_f32_is_accurate);
    tcase_add_test(tc, sum_of_f32_within_bound);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
