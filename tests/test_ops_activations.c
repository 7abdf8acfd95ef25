/*
 * test_ops_activations.c — leaky_relu, elu, selu, gelu, gelu_tanh, silu,
 * softplus, mish, hardtanh, relu6, hardsigmoid, hardswish and softsign:
 * values and gradients against PyTorch at edge, kink and random points
 * (fixtures/ops_activations.h, made by fixtures/gen_ops_unary.py),
 * finite-difference gradient checks that see the kinks, the conventions
 * at kinks and infinities, and bad options.
 */
#include "tg_test.h"
#include "tg_unary.h"

#include <stdio.h>

#include "fixtures/ops_activations.h"

#define N_CASES (int)(sizeof act_cases / sizeof act_cases[0])

static tg_tensor *call_leaky_relu(tg_tape *t, tg_tensor *x, const double *p)
{
    return tg_leaky_relu(t, x, p[0]);
}

static tg_tensor *call_elu(tg_tape *t, tg_tensor *x, const double *p)
{
    return tg_elu(t, x, p[0]);
}

static tg_tensor *call_softplus(tg_tape *t, tg_tensor *x, const double *p)
{
    return tg_softplus(t, x, p[0], p[1]);
}

static tg_tensor *call_hardtanh(tg_tape *t, tg_tensor *x, const double *p)
{
    return tg_hardtanh(t, x, p[0], p[1]);
}

/* The ops without options, called through one signature. */
#define CALL_PLAIN(name)                                                     \
    static tg_tensor *call_##name(tg_tape *t, tg_tensor *x, const double *p) \
    {                                                                        \
        (void)p;                                                             \
        return tg_##name(t, x);                                              \
    }
CALL_PLAIN(selu)
CALL_PLAIN(gelu)
CALL_PLAIN(gelu_tanh)
CALL_PLAIN(silu)
CALL_PLAIN(mish)
CALL_PLAIN(relu6)
CALL_PLAIN(hardsigmoid)
CALL_PLAIN(hardswish)
CALL_PLAIN(softsign)

static const tg_unary_entry ops[] = {
    {"leaky_relu", call_leaky_relu}, {"elu", call_elu},
    {"selu", call_selu},             {"gelu", call_gelu},
    {"gelu_tanh", call_gelu_tanh},   {"silu", call_silu},
    {"softplus", call_softplus},     {"mish", call_mish},
    {"hardtanh", call_hardtanh},     {"relu6", call_relu6},
    {"hardsigmoid", call_hardsigmoid}, {"hardswish", call_hardswish},
    {"softsign", call_softsign},
};
#define N_OPS (int)(sizeof ops / sizeof ops[0])

/* Options that suit every op, for tests that call them all. */
static const double default_options[2] = {1.0, 20.0};

START_TEST(forward_matches_pytorch)
{
    const unary_case *c = &act_cases[_i];
    tg_unary_check_forward(c, tg_unary_find(ops, N_OPS, c));
}
END_TEST

START_TEST(gradient_matches_pytorch)
{
    const unary_case *c = &act_cases[_i];
    tg_unary_check_gradient(c, tg_unary_find(ops, N_OPS, c));
}
END_TEST

START_TEST(gradient_scales_upstream)
{
    const unary_case *c = &act_cases[_i];
    tg_unary_check_chain(c, tg_unary_find(ops, N_OPS, c));
}
END_TEST

/*
 * Every f64 case passes tg_gradcheck, and the steps that straddle a kink
 * are reported as ambiguous: exactly the cases with a kink among the
 * checked points (|x| <= 50) have ambiguous elements.
 */
START_TEST(gradcheck_passes_and_sees_kinks)
{
    const unary_case *c = tg_unary_nth_f64(act_cases, N_CASES, _i);
    bool has_kink = false;
    for (int i = 0; i < c->n; i++)
        if ((c->pts[i].flags & UNARY_KINK) && fabs(c->pts[i].x) <= 50)
            has_kink = true;
    int64_t ambiguous =
        tg_unary_gradcheck(c, tg_unary_find(ops, N_OPS, c), NULL);
    ck_assert_msg((ambiguous > 0) == has_kink, "%s: %lld ambiguous elements",
                  c->op, (long long)ambiguous);
}
END_TEST

/* One op at one point: the value, and the gradient into *grad. */
static double one(const char *op, tg_dtype dt, double v, const double *p,
                  double *grad)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, dt, v);
    tg_set_requires_grad(x, true);
    unary_case c = {op, dt, {0, 0}, 0, NULL};
    tg_tensor *y = tg_unary_find(ops, N_OPS, &c)(t, x, p);
    ck_assert_msg(y != NULL, "%s: %s", op, tg_last_error());
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    double r = tg_item(y);
    *grad = tg_item(tg_grad(x));
    tg_tape_free(t);
    return r;
}

/* Limits at -inf and the signs of zero, which the fixtures do not compare. */
START_TEST(limits_and_signed_zeros)
{
    const char *vanish[] = {"gelu", "gelu_tanh", "silu", "mish", "hardswish"};
    for (int k = 0; k < 2; k++) {
        tg_dtype dt = k ? TG_F64 : TG_F32;
        double g, y;
        for (int j = 0; j < 5; j++) {
            y = one(vanish[j], dt, -INFINITY, default_options, &g);
            ck_assert_msg(y == 0 && signbit(y) && g == 0, "%s(-inf) = %g, "
                          "gradient %g", vanish[j], y, g);
            y = one(vanish[j], dt, INFINITY, default_options, &g);
            ck_assert_msg(y == INFINITY && g == 1, "%s(inf) = %g, gradient "
                          "%g", vanish[j], y, g);
        }
        ck_assert(one("softsign", dt, -INFINITY, NULL, &g) == -1 && g == 0);
        ck_assert(signbit(one("relu6", dt, -0.0, NULL, &g)) && g == 0);
        ck_assert(signbit(one("elu", dt, -0.0, default_options, &g)));
        ck_assert(g == 1);   /* alpha e^0 */
        y = one("leaky_relu", dt, -0.0, (double[]){0.5, 0}, &g);
        ck_assert(y == 0 && signbit(y) && g == 0.5);   /* -0.0 * 0.5 */
    }
}
END_TEST

/* The conventions at kinks, spelled out (the fixtures hold them too). */
START_TEST(conventions_at_kinks)
{
    double g;
    one("hardswish", TG_F64, -3.0, NULL, &g);
    ck_assert(g == -0.5);
    one("hardswish", TG_F64, 3.0, NULL, &g);
    ck_assert(g == 1.0);
    one("hardsigmoid", TG_F64, 3.0, NULL, &g);
    ck_assert(g == 0.0);
    one("hardsigmoid", TG_F64, 1.0, NULL, &g);
    ck_assert(g == 1.0 / 6.0);
    one("hardtanh", TG_F32, 1.0, (double[]){-1, 1}, &g);
    ck_assert(g == 0.0);
    one("elu", TG_F64, 0.0, (double[]){0.5, 0}, &g);
    ck_assert(g == 0.5);
    one("leaky_relu", TG_F64, 0.0, (double[]){0.1, 0}, &g);
    ck_assert(g == 0.1);
    ck_assert(one("hardtanh", TG_F64, NAN, (double[]){-1, 1}, &g) != 0);
    ck_assert(g == 0.0);   /* NaN: value NaN, gradient 0 */
}
END_TEST

/* Options at the edge of what is allowed. */
START_TEST(edge_options_work)
{
    double g;
    ck_assert(one("hardtanh", TG_F64, 0.3, (double[]){0.5, 0.5}, &g) == 0.5);
    ck_assert(g == 0);
    ck_assert(one("hardtanh", TG_F64, 1e300,
                  (double[]){-INFINITY, INFINITY}, &g) == 1e300);
    ck_assert(g == 1);
    double y = one("softplus", TG_F64, 800.0, (double[]){1, INFINITY}, &g);
    ck_assert(y == 800.0 && g == 1.0);   /* no threshold, no overflow */
    y = one("softplus", TG_F64, 3.0, (double[]){-2, 20}, &g);
    ck_assert_close(y, -log1p(exp(-6.0)) / 2, 1e-15, 0);   /* smooth min */
    ck_assert_close(g, 1 / (1 + exp(6.0)), 1e-15, 0);
    ck_assert(one("leaky_relu", TG_F64, -2.0, (double[]){-1, 0}, &g) == 2.0);
    ck_assert(g == -1);
}
END_TEST

/* A bad option: NULL, the status and the message naming op and value. */
#define ck_assert_bad_option(call, fragment)                                 \
    do {                                                                     \
        ck_assert_null_msg(call, fragment);                                  \
        ck_assert_int_eq(tg_last_status(), TG_EINVAL);                       \
    } while (0)

START_TEST(bad_options_are_einval)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -1, 1, 5);
    ck_assert_bad_option(tg_leaky_relu(t, x, NAN),
                         "tg_leaky_relu: slope is nan; it must be finite");
    ck_assert_bad_option(tg_leaky_relu(t, x, -INFINITY),
                         "tg_leaky_relu: slope is -inf");
    ck_assert_bad_option(tg_elu(t, x, INFINITY), "tg_elu: alpha is inf");
    ck_assert_bad_option(tg_elu(t, x, NAN), "tg_elu: alpha is nan");
    ck_assert_bad_option(tg_softplus(t, x, 0.0, 20),
                         "tg_softplus: beta is 0; it must be finite and "
                         "nonzero");
    ck_assert_bad_option(tg_softplus(t, x, NAN, 20), "beta is nan");
    ck_assert_bad_option(tg_softplus(t, x, INFINITY, 20), "beta is inf");
    ck_assert_bad_option(tg_softplus(t, x, 1, NAN),
                         "tg_softplus: threshold is nan");
    ck_assert_bad_option(tg_hardtanh(t, x, 2, 1),
                         "tg_hardtanh: min_val 2 is greater than max_val 1");
    ck_assert_bad_option(tg_hardtanh(t, x, NAN, 1),
                         "tg_hardtanh: bounds are nan and 1");
    ck_assert_bad_option(tg_hardtanh(t, x, -1, NAN), "must not be NaN");
    ck_assert_int_eq(tg_tape_size(t), 0);   /* nothing was recorded */
    tg_tape_free(t);
}
END_TEST

START_TEST(null_input_propagates)
{
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_null(tg_linspace(t, TG_F64, 0, 1, 0));
    char first[256];
    snprintf(first, sizeof first, "%s", tg_last_error());
    for (int k = 0; k < N_OPS; k++) {
        ck_assert_ptr_null(ops[k].fn(t, NULL, default_options));
        ck_assert_message(first);   /* the first failure's message is kept */
    }
    tg_tensor *x = tg_scalar(t, TG_F64, 1);
    ck_assert_null_msg(tg_softplus(NULL, x, 1, 20), "tg_softplus: tape is "
                       "NULL");
    ck_assert_null_msg(tg_relu6(NULL, x), "tg_relu6: tape is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(registered_by_name)
{
    const char *with_options[] = {"leaky_relu", "elu", "softplus", "hardtanh"};
    const char *smooth[] = {"gelu", "gelu_tanh", "silu", "mish", "softsign"};
    for (int k = 0; k < N_OPS; k++) {
        const tg_op *op = tg_op_find(ops[k].op);
        ck_assert_ptr_nonnull(op);
        ck_assert_str_eq(op->name, ops[k].op);
        ck_assert_int_eq(op->arity, 1);
        bool has_options = false, is_smooth = false;
        for (int j = 0; j < 4; j++)
            has_options |= strcmp(op->name, with_options[j]) == 0;
        for (int j = 0; j < 5; j++)
            is_smooth |= strcmp(op->name, smooth[j]) == 0;
        ck_assert((op->params_size > 0) == has_options);
        ck_assert_msg((op->piece == NULL) == is_smooth, "%s", op->name);
    }
}
END_TEST

/* The pieces of the ops without options, read directly. */
START_TEST(pieces_mark_the_kinks)
{
    static const struct {
        const char *op;
        double x[5];
        int64_t piece[5];
    } want[] = {
        {"selu", {-1, -0.0, 0, 1e-300, 2}, {0, TG_ON_KINK, TG_ON_KINK, 1, 1}},
        {"relu6", {-1, 0, 3, 6, 7}, {0, TG_ON_KINK, 1, TG_ON_KINK, 2}},
        {"hardsigmoid", {-4, -3, 0, 3, 4}, {0, TG_ON_KINK, 1, TG_ON_KINK, 2}},
        {"hardswish", {-4, -3, 0, 3, 4}, {0, TG_ON_KINK, 1, TG_ON_KINK, 2}},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        tg_tape *t = tg_tape_new();
        int64_t n = 5;
        tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, want[k].x);
        const tg_op *op = tg_op_find(want[k].op);
        tg_tensor *y = tg_apply(t, op, 1, &x, NULL);
        tg_op_ctx c = {t, op, &x, 1, NULL, NULL};
        for (int i = 0; i < 5; i++)
            ck_assert_msg(op->piece(&c, y, i) == want[k].piece[i],
                          "%s piece at %g", want[k].op, want[k].x[i]);
        tg_tape_free(t);
    }
}
END_TEST

START_TEST(out_of_memory_leaks_nothing)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 100000;
    tg_tensor *x = tg_zeros(t, TG_F32, 1, &n);
    tg_set_requires_grad(x, true);
    for (long k = 1; k <= 2; k++) {   /* the params copy, then the output */
        tg_test_fail_after(k);
        ck_assert_ptr_null(tg_softplus(t, x, 1, 20));
        ck_assert_int_eq(tg_last_status(), TG_ENOMEM);
        tg_test_fail_after(-1);
    }
    ck_assert_ptr_nonnull(tg_softplus(t, x, 1, 20));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_activations");
    TCase *tc = tg_test_tcase("forward");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, N_CASES);
    tcase_add_test(tc, limits_and_signed_zeros);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradient");
    tcase_add_loop_test(tc, gradient_matches_pytorch, 0, N_CASES);
    tcase_add_loop_test(tc, gradient_scales_upstream, 0, N_CASES);
    tcase_add_test(tc, conventions_at_kinks);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradcheck");
    tcase_add_loop_test(tc, gradcheck_passes_and_sees_kinks, 0,
                        tg_unary_count_f64(act_cases, N_CASES));
    tcase_add_test(tc, pieces_mark_the_kinks);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("options");
    tcase_add_test(tc, edge_options_work);
    tcase_add_test(tc, bad_options_are_einval);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bad_input");
    tcase_add_test(tc, null_input_propagates);
    tcase_add_test(tc, out_of_memory_leaks_nothing);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("registry");
    tcase_add_test(tc, registered_by_name);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
