/*
 * test_ops_unary.c — the unary math ops neg, exp, log, sqrt, abs, tanh,
 * sigmoid and erf: values and gradients against PyTorch at edge, kink and random
 * points (fixtures/ops_unary.h, made by fixtures/gen_ops_unary.py),
 * finite-difference gradient checks, signed zeros, and bad input.
 */
#include "tg_test.h"
#include "tg_unary.h"

#include "fixtures/ops_unary.h"

#define N_CASES (int)(sizeof unary_cases / sizeof unary_cases[0])

static tg_tensor *call_neg(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_neg(t, x);
}

static tg_tensor *call_exp(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_exp(t, x);
}

static tg_tensor *call_log(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_log(t, x);
}

static tg_tensor *call_sqrt(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_sqrt(t, x);
}

static tg_tensor *call_abs(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_abs(t, x);
}

static tg_tensor *call_tanh(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_tanh(t, x);
}

static tg_tensor *call_sigmoid(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_sigmoid(t, x);
}

static tg_tensor *call_erf(tg_tape *t, tg_tensor *x, const double *p)
{
    (void)p;
    return tg_erf(t, x);
}

static const tg_unary_entry ops[] = {
    {"neg", call_neg},   {"exp", call_exp},   {"log", call_log},
    {"sqrt", call_sqrt}, {"abs", call_abs},   {"tanh", call_tanh},
    {"sigmoid", call_sigmoid}, {"erf", call_erf},
};
#define N_OPS (int)(sizeof ops / sizeof ops[0])

static const unary_case *case_at(int i)
{
    return &unary_cases[i];
}

START_TEST(forward_matches_pytorch)
{
    const unary_case *c = case_at(_i);
    tg_unary_check_forward(c, tg_unary_find(ops, N_OPS, c));
}
END_TEST

START_TEST(gradient_matches_pytorch)
{
    const unary_case *c = case_at(_i);
    tg_unary_check_gradient(c, tg_unary_find(ops, N_OPS, c));
}
END_TEST

START_TEST(gradient_scales_upstream)
{
    const unary_case *c = case_at(_i);
    tg_unary_check_chain(c, tg_unary_find(ops, N_OPS, c));
}
END_TEST

/* log and sqrt: steps of 1e-6 must stay inside the domain x > 0. */
static bool in_domain(const unary_case *c, double x)
{
    if (strcmp(c->op, "log") == 0 || strcmp(c->op, "sqrt") == 0)
        return x > 1e-3;
    return true;
}

START_TEST(gradcheck_passes)
{
    const unary_case *c = tg_unary_nth_f64(unary_cases, N_CASES, _i);
    int64_t ambiguous = tg_unary_gradcheck(c, tg_unary_find(ops, N_OPS, c),
                                           in_domain);
    /* abs has points at and beside its kink; no other op has a kink. */
    if (strcmp(c->op, "abs") == 0)
        ck_assert_int_gt(ambiguous, 0);
    else
        ck_assert_int_eq(ambiguous, 0);
}
END_TEST

/* The sign of zero, which the fixtures' comparisons do not see. */
static double one(tg_tensor *(*op)(tg_tape *, tg_tensor *), tg_dtype dt,
                  double v, double *grad)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, dt, v);
    tg_set_requires_grad(x, true);
    tg_tensor *y = op(t, x);
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    double r = tg_item(y);
    *grad = tg_item(tg_grad(x));
    tg_tape_free(t);
    return r;
}

START_TEST(signed_zeros_as_pytorch)
{
    for (int k = 0; k < 2; k++) {
        tg_dtype dt = k ? TG_F64 : TG_F32;
        double g;
        ck_assert(signbit(one(tg_neg, dt, 0.0, &g)));
        ck_assert(!signbit(one(tg_neg, dt, -0.0, &g)));
        ck_assert(!signbit(one(tg_abs, dt, -0.0, &g)) && g == 0);
        ck_assert(signbit(one(tg_sqrt, dt, -0.0, &g)) && g == -INFINITY);
        ck_assert(!signbit(one(tg_sqrt, dt, 0.0, &g)) && g == INFINITY);
        ck_assert(one(tg_log, dt, -0.0, &g) == -INFINITY && g == -INFINITY);
        ck_assert(one(tg_log, dt, 0.0, &g) == -INFINITY && g == INFINITY);
        ck_assert(signbit(one(tg_tanh, dt, -0.0, &g)) && g == 1);
        ck_assert(one(tg_abs, dt, NAN, &g) != 0 && g == 0);   /* NaN: 0 */
    }
}
END_TEST

START_TEST(shape_is_kept)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {2, 3, 1};
    tg_tensor *x = tg_zeros(t, TG_F32, 3, shape);
    for (int k = 0; k < N_OPS; k++) {
        tg_tensor *y = ops[k].fn(t, x, NULL);
        ck_assert_int_eq(tg_ndim(y), 3);
        ck_assert_int_eq(tg_shape(y)[1], 3);
        ck_assert_int_eq(tg_dtype_of(y), TG_F32);
    }
    tg_tensor *s = tg_exp(t, tg_scalar(t, TG_F64, 1.0));
    ck_assert_int_eq(tg_ndim(s), 0);
    ck_assert(tg_item(s) == exp(1.0));
    tg_tape_free(t);
}
END_TEST

START_TEST(registered_by_name)
{
    for (int k = 0; k < N_OPS; k++) {
        const tg_op *op = tg_op_find(ops[k].op);
        ck_assert_ptr_nonnull(op);
        ck_assert_str_eq(op->name, ops[k].op);
        ck_assert_int_eq(op->arity, 1);
        ck_assert_int_eq(op->params_size, 0);
        /* Only abs has a kink. */
        ck_assert((op->piece != NULL) == (strcmp(op->name, "abs") == 0));
    }
}
END_TEST

/* abs's piece: 1 right of 0, 0 left of it, the kink at +-0. */
START_TEST(abs_piece_marks_the_kink)
{
    tg_tape *t = tg_tape_new();
    double v[] = {-2.0, -0.0, 0.0, 1e-300, 3.0};
    int64_t n = 5;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, v);
    tg_tensor *y = tg_abs(t, x);
    const tg_op *op = tg_op_find("abs");
    tg_op_ctx c = {t, op, &x, 1, NULL, NULL};
    int64_t want[] = {0, TG_ON_KINK, TG_ON_KINK, 1, 1};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(op->piece(&c, y, i), want[i]);
    tg_tape_free(t);
}
END_TEST

START_TEST(null_input_propagates)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    ck_assert_ptr_null(tg_exp(t, tg_zeros(t, TG_F32, 1, &(int64_t){-1})));
    const char *first = "tg_zeros: dimension 0 has size -1";
    ck_assert_message(first);
    for (int k = 0; k < N_OPS; k++) {
        ck_assert_ptr_null(ops[k].fn(t, NULL, NULL));
        ck_assert_message(first);   /* the first failure's message is kept */
    }
    tg_clear_error();
    ck_assert_null_msg(tg_sqrt(t, NULL), "tg_sqrt");
    ck_assert_null_msg(tg_log(NULL, tg_zeros(t, TG_F64, 1, &n)),
                       "tg_log: tape is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(out_of_memory_leaks_nothing)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 100000;
    tg_tensor *x = tg_zeros(t, TG_F64, 1, &n);
    tg_set_requires_grad(x, true);
    tg_test_fail_after(1);
    ck_assert_ptr_null(tg_sigmoid(t, x));
    ck_assert_int_eq(tg_last_status(), TG_ENOMEM);
    tg_test_fail_after(-1);
    ck_assert_ptr_nonnull(tg_sigmoid(t, x));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_unary");
    TCase *tc = tg_test_tcase("forward");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, N_CASES);
    tcase_add_test(tc, signed_zeros_as_pytorch);
    tcase_add_test(tc, shape_is_kept);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradient");
    tcase_add_loop_test(tc, gradient_matches_pytorch, 0, N_CASES);
    tcase_add_loop_test(tc, gradient_scales_upstream, 0, N_CASES);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradcheck");
    tcase_add_loop_test(tc, gradcheck_passes, 0,
                        tg_unary_count_f64(unary_cases, N_CASES));
    tcase_add_test(tc, abs_piece_marks_the_kink);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("registry");
    tcase_add_test(tc, registered_by_name);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bad_input");
    tcase_add_test(tc, null_input_propagates);
    tcase_add_test(tc, out_of_memory_leaks_nothing);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
