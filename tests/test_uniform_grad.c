/*
 * test_uniform_grad.c — gradients that are one value everywhere
 * (tg_grad_fill, tg_grad_uniform, TG_OP_UNIFORM_GRAD) and the lazy
 * tg_zero_grad: whatever the tape keeps unwritten must read, through every
 * public path, exactly as if it had been written.
 */
#include "tg_test.h"

#include <math.h>

/* ---- probe ops: identity forward; backward records what it was given */

static bool probe_saw_uniform;
static double probe_value;      /* the uniform value, or gy[0] */
static bool probe_all_equal;    /* without the flag: every gy[i] == gy[0] */

static tg_tensor *probe_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        memcpy(tg_mut_f64(y), tg_data_f64(c->in[0]),
               (size_t)tg_numel(y) * sizeof(double));
    return y;
}

static int probe_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y;
    double g = 0;
    probe_saw_uniform = tg_grad_uniform(gy, &g);
    if (probe_saw_uniform) {
        probe_value = g;
        return tg_grad_fill(gx[0], g);
    }
    const double *gv = tg_data_f64(gy);
    probe_value = gv[0];
    probe_all_equal = true;
    for (int64_t i = 0; i < tg_numel(gy); i++) {
        probe_all_equal = probe_all_equal && gv[i] == gv[0];
        tg_mut_f64(gx[0])[i] = gv[i];
    }
    return TG_OK;
}

static const tg_op probe_uniform = {
    .name = "probe_uniform", .arity = 1, .forward = probe_forward,
    .backward = probe_backward, .flags = TG_OP_UNIFORM_GRAD,
};

static const tg_op probe_plain = {
    .name = "probe_plain", .arity = 1, .forward = probe_forward,
    .backward = probe_backward,
};

static double grad_at(const tg_tensor *x, int64_t i)
{
    const tg_tensor *g = tg_grad(x);
    return tg_dtype_of(g) == TG_F32 ? tg_data_f32(g)[i] : tg_data_f64(g)[i];
}

/* ---- producing and consuming */

START_TEST(sum_and_mean_hand_over_one_value)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, -2, 3};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){3}, v);
    tg_tensor *p = tg_apply(t, &probe_uniform, 1, &x, NULL);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, p)), TG_OK);
    ck_assert(probe_saw_uniform);
    ck_assert(probe_value == 1.0);
    for (int i = 0; i < 3; i++)
        ck_assert(grad_at(x, i) == 1.0);
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_mean(t, p)), TG_OK);
    ck_assert(probe_saw_uniform);
    ck_assert(probe_value == 1.0 / 3);
    ck_assert(grad_at(x, 2) == 1.0 / 3);
    tg_tape_free(t);
}
END_TEST

START_TEST(an_op_without_the_flag_gets_every_element)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, -2, 3, 4};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){4}, v);
    tg_tensor *p = tg_apply(t, &probe_plain, 1, &x, NULL);
    ck_assert_int_eq(tg_backward(t, tg_mul_scalar(t, tg_sum(t, p), 2.5)),
                     TG_OK);
    ck_assert(!probe_saw_uniform);
    ck_assert(probe_value == 2.5 && probe_all_equal);
    ck_assert(grad_at(x, 3) == 2.5);
    tg_tape_free(t);
}
END_TEST

/* relu reads the one value: the same gradients, NaN and -0.0 included. */
START_TEST(relu_after_a_reduction)
{
    double v[] = {-1.5, -0.0, 0.0, 0.25, NAN, INFINITY, -INFINITY, 3};
    double want[] = {0, 0, 0, 1, 1, 1, 0, 1};
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        tg_tape *t = tg_tape_new();
        tg_tensor *x = tg_test_leaf(t, dt, 1, (int64_t[]){8}, v);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_relu(t, x))), TG_OK);
        for (int i = 0; i < 8; i++)
            ck_assert_msg(grad_at(x, i) == want[i], "%s x[%d]",
                          tg_dtype_name(dt), i);
        tg_zero_grad(x);
        ck_assert_int_eq(tg_backward(t, tg_mean(t, tg_relu(t, x))), TG_OK);
        double eighth = dt == TG_F32 ? (double)(1.0f / 8) : 1.0 / 8;
        for (int i = 0; i < 8; i++)
            ck_assert(grad_at(x, i) == want[i] * eighth);
        tg_tape_free(t);
    }
}
END_TEST

/* f32 gradients hold the value rounded to float, as a written one would. */
START_TEST(f32_values_are_rounded)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 2, 3};
    tg_tensor *x = tg_test_leaf(t, TG_F32, 1, (int64_t[]){3}, v);
    tg_tensor *y = tg_relu(t, x);
    ck_assert_int_eq(tg_backward(t, tg_mean(t, y)), TG_OK);
    ck_assert(tg_data_f32(tg_grad(y))[1] == 1.0f / 3);
    ck_assert(tg_data_f32(tg_grad(x))[0] == 1.0f / 3);
    tg_tape_free(t);
}
END_TEST

/* ---- adding up */

START_TEST(two_uniform_paths_add_up)
{
    tg_tape *t = tg_tape_new();
    double v[] = {-1, 2, 3, 4};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){4}, v);
    tg_tensor *y = tg_relu(t, x);
    tg_tensor *s = tg_add(t, tg_mul_scalar(t, tg_sum(t, y), 3),
                          tg_mean(t, y));
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert(grad_at(x, 0) == 0);
    for (int i = 1; i < 4; i++)
        ck_assert(grad_at(x, i) == 3.25);
    ck_assert(grad_at(y, 0) == 3.25); /* y's own gradient, written out */
    tg_tape_free(t);
}
END_TEST

/* One path uniform, the other not: y's gradient is 1 + 2y. */
START_TEST(uniform_and_elementwise_paths_add_up)
{
    double v[] = {-1, 0.5, 2, 3};
    for (int order = 0; order < 2; order++) {
        tg_tape *t = tg_tape_new();
        tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){4}, v);
        tg_tensor *y = tg_relu(t, x);
        tg_tensor *a = tg_sum(t, y), *b = tg_sum(t, tg_mul(t, y, y));
        ck_assert_int_eq(tg_backward(t, order ? tg_add(t, a, b)
                                              : tg_add(t, b, a)), TG_OK);
        ck_assert(grad_at(x, 0) == 0);
        for (int i = 1; i < 4; i++)
            ck_assert(grad_at(x, i) == 1 + 2 * v[i]);
        tg_tape_free(t);
    }
}
END_TEST

/* A leaf's uniform gradient accumulates over passes, read or not. */
START_TEST(leaf_gradients_accumulate)
{
    tg_tape *t = tg_tape_new();
    double v[] = {5, -6, 7};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){3}, v);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);
    tg_tensor *g = tg_grad(x);
    ck_assert(tg_data_f64(g)[0] == 2 && tg_data_f64(g)[2] == 2);
    ck_assert_int_eq(tg_backward(t, tg_mean(t, x)), TG_OK);
    ck_assert(tg_data_f64(g)[1] == 2 + 1.0 / 3);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_relu(t, x))), TG_OK);
    ck_assert(tg_data_f64(g)[0] == 3 + 1.0 / 3);
    ck_assert(tg_data_f64(g)[1] == 2 + 1.0 / 3);
    tg_tape_free(t);
}
END_TEST

/* A scalar leaf summed, then used as a backward root itself. */
START_TEST(a_uniform_root_gradient_is_read_right)
{
    tg_tape *t = tg_tape_new();
    double v[] = {4};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){1}, v);
    ck_assert_int_eq(tg_backward(t, tg_mul_scalar(t, tg_sum(t, x), 2)),
                     TG_OK);
    ck_assert_int_eq(tg_backward(t, x), TG_OK); /* adds d x / d x = 1 */
    ck_assert(tg_item(tg_grad(x)) == 3);
    tg_tape_free(t);
}
END_TEST

/* ---- tg_grad_fill on its own */

START_TEST(fill_writes_a_tensor_that_is_not_a_gradient)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 5;
    tg_tensor *x = tg_zeros(t, TG_F32, 1, &n);
    ck_assert_int_eq(tg_grad_fill(x, 0.1), TG_OK);
    ck_assert(!tg_grad_uniform(x, NULL));
    for (int i = 0; i < 5; i++)
        ck_assert(tg_data_f32(x)[i] == 0.1f);
    ck_assert(!tg_grad_uniform(NULL, NULL));
    tg_tape_free(t);
}
END_TEST

START_TEST(fill_bad_input)
{
    ck_assert_status(tg_grad_fill(NULL, 1), TG_EINVAL,
                     "tg_grad_fill: tensor is NULL");
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 1);
    tg_tape_reset(t);
    ck_assert_status(tg_grad_fill(x, 1), TG_ESTATE,
                     "tg_grad_fill: tensor was freed by a reset");
    tg_tape_free(t);
}
END_TEST

/* ---- lazy tg_zero_grad */

/* A gradient tensor fetched before tg_zero_grad reads zeros after it,
 * through every accessor. */
START_TEST(zeroed_gradients_read_as_zeros)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 2, 3};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){3}, v);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, x, x))), TG_OK);
    tg_tensor *g = tg_grad(x);
    ck_assert(tg_data_f64(g)[2] == 6);
    tg_zero_grad(x);
    for (int i = 0; i < 3; i++)
        ck_assert(tg_data_f64(g)[i] == 0);
    tg_zero_grad(x);
    ck_assert(tg_mut_f64(g)[1] == 0);
    tg_tensor *s = tg_from_data(t, TG_F64, 0, NULL, v);
    tg_set_requires_grad(s, true);
    ck_assert_int_eq(tg_backward(t, tg_mul_scalar(t, s, 3)), TG_OK);
    tg_tensor *gs = tg_grad(s);
    tg_zero_grad(s);
    ck_assert(tg_item(gs) == 0);
    tg_tape_free(t);
}
END_TEST

/* After tg_zero_grad the next pass overwrites: nothing old is added. */
START_TEST(zeroed_gradients_are_overwritten)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, -2, 3};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, (int64_t[]){3}, v);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, x, x))), TG_OK);
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_relu(t, x))), TG_OK);
    ck_assert(grad_at(x, 0) == 1 && grad_at(x, 1) == 0 && grad_at(x, 2) == 1);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK); /* uniform */
    tg_zero_grad(x);
    ck_assert(grad_at(x, 0) == 0 && grad_at(x, 2) == 0);
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_mean(t, tg_mul(t, x, x))), TG_OK);
    ck_assert(grad_at(x, 1) == 2 * -2.0 / 3);
    tg_tape_free(t);
}
END_TEST

/* A zeroed leaf that the next pass does not reach stays zero. */
START_TEST(zeroed_and_unreached)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 2};
    int64_t n = 2;
    tg_tensor *x = tg_test_leaf(t, TG_F64, 1, &n, v);
    tg_tensor *z = tg_test_leaf(t, TG_F64, 1, &n, v);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_add(t, x, z))), TG_OK);
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, z)), TG_OK);
    ck_assert(grad_at(x, 0) == 0 && grad_at(x, 1) == 0);
    ck_assert(grad_at(z, 0) == 2);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uniform_grad");
    TCase *tc = tg_test_tcase("produce_and_consume");
    tcase_add_test(tc, sum_and_mean_hand_over_one_value);
    tcase_add_test(tc, an_op_without_the_flag_gets_every_element);
    tcase_add_test(tc, relu_after_a_reduction);
    tcase_add_test(tc, f32_values_are_rounded);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("add_up");
    tcase_add_test(tc, two_uniform_paths_add_up);
    tcase_add_test(tc, uniform_and_elementwise_paths_add_up);
    tcase_add_test(tc, leaf_gradients_accumulate);
    tcase_add_test(tc, a_uniform_root_gradient_is_read_right);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("fill");
    tcase_add_test(tc, fill_writes_a_tensor_that_is_not_a_gradient);
    tcase_add_test(tc, fill_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("lazy_zero_grad");
    tcase_add_test(tc, zeroed_gradients_read_as_zeros);
    tcase_add_test(tc, zeroed_gradients_are_overwritten);
    tcase_add_test(tc, zeroed_and_unreached);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
