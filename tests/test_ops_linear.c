/*
 * test_ops_linear.c — the fused linear op: values, gradients, shapes.
 */
#include "tg_test.h"
#include "tapegrad/check.h"

/* x (2,3), W (4,3), b (4,): small integers, so results are exact. */
static const double xv[6] = {1, 2, 3, -1, 0, 2};
static const double wv[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 2};
static const double bv[4] = {0.5, -0.5, 1, 0};
static const double yv[8] = {1.5, 1.5, 4, 5, -0.5, -0.5, 3, 3};

static void check_forward(tg_dtype dt)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[] = {2, 3}, ws[] = {4, 3}, bs[] = {4};
    tg_tensor *y = tg_linear(t, tg_test_leaf(t, dt, 2, xs, xv),
                             tg_test_leaf(t, dt, 2, ws, wv),
                             tg_test_leaf(t, dt, 1, bs, bv));
    ck_assert_int_eq(tg_ndim(y), 2);
    ck_assert_int_eq(tg_shape(y)[1], 4);
    for (int i = 0; i < 8; i++) {
        double got = dt == TG_F32 ? tg_data_f32(y)[i] : tg_data_f64(y)[i];
        ck_assert_msg(got == yv[i], "y[%d] = %g, expected %g", i, got, yv[i]);
    }
    tg_tape_free(t);
}

START_TEST(forward_f32) { check_forward(TG_F32); }
END_TEST
START_TEST(forward_f64) { check_forward(TG_F64); }
END_TEST

static tg_tensor *with_bias(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_linear(t, in[0], in[1], in[2]);
}

static tg_tensor *without_bias(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_linear(t, in[0], in[1], NULL);
}

START_TEST(gradients)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 0);
    int64_t xs[] = {5, 7}, ws[] = {3, 7}, bs[] = {3}, x3[] = {2, 2, 7};
    tg_tensor *in[3] = {tg_rand_normal(t, &rng, TG_F64, 2, xs, 0, 1),
                        tg_rand_normal(t, &rng, TG_F64, 2, ws, 0, 1),
                        tg_rand_normal(t, &rng, TG_F64, 1, bs, 0, 1)};
    tg_ck_assert_gradients(with_bias, NULL, 3, in);
    tg_ck_assert_gradients(without_bias, NULL, 2, in);
    in[0] = tg_rand_normal(t, &rng, TG_F64, 3, x3, 0, 1); /* batched */
    tg_ck_assert_gradients(with_bias, NULL, 3, in);
    tg_tape_free(t);
}
END_TEST

START_TEST(shape_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[] = {2, 3}, ws[] = {4, 5}, bs[] = {3};
    tg_tensor *x = tg_zeros(t, TG_F32, 2, xs);
    ck_assert_null_msg(tg_linear(t, x, tg_zeros(t, TG_F32, 2, ws), NULL),
                       "tg_linear: x (2,3) and W (4,5) do not match");
    ck_assert_null_msg(tg_linear(t, x, tg_zeros(t, TG_F32, 2, xs),
                                 tg_zeros(t, TG_F32, 1, bs + 0)),
                       "b (3,) must be (2,)");
    ck_assert_null_msg(tg_linear(t, x, tg_zeros(t, TG_F64, 1, bs), NULL),
                       "inputs are f32 and f64");
    tg_clear_error(); /* else NULL would be blamed on the failure above */
    ck_assert_null_msg(tg_linear(t, x, NULL, NULL), "tg_linear: tensor is NULL");
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_linear");
    TCase *tc = tg_test_tcase("linear");
    tcase_add_test(tc, forward_f32);
    tcase_add_test(tc, forward_f64);
    tcase_add_test(tc, gradients);
    tcase_add_test(tc, shape_errors);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
