/*
 * test_elementwise.c — the public plumbing of elementwise ops
 * (tapegrad/elementwise.h): a user's op written like the built-in ones,
 * through public headers only, with and without options and kinks; the
 * thread split, the uniform-gradient path and the NULL gradient slot the
 * loops handle for every op built on them; and the element helpers
 * tg_value_at and tg_sum_value.
 */
#include "tg_test.h"

#include <stdlib.h>

#include <tapegrad/elementwise.h>

/* ---- a user op without options: cube(x) = x^3, cube'(x) = 3x^2 */

static inline float cube_f32(float x) { return x * x * x; }
static inline double cube_f64(double x) { return x * x * x; }
static inline float cube_grad_f32(float x, float y, float gy)
{
    (void)y;
    return 3 * x * x * gy;
}
static inline double cube_grad_f64(double x, double y, double gy)
{
    (void)y;
    return 3 * x * x * gy;
}
TG_UNARY_OP(cube)

static const tg_op cube_op = {
    .name = "cube", .arity = 1,
    .forward = cube_forward, .backward = cube_backward,
    .flags = TG_OP_UNIFORM_GRAD,
};

/* The same op without the flag: its backward always sees gy written out. */
static const tg_op cube_plain_op = {
    .name = "cube_plain", .arity = 1,
    .forward = cube_forward, .backward = cube_backward,
};

static tg_tensor *cube(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &cube_op, 1, &x, NULL);
}

/* ---- a user op with options and kinks: clamp to [lo, hi] */

typedef struct clamp_params {
    double lo, hi;
} clamp_params;

static int clamp_check(const clamp_params *p)
{
    if (!(p->lo <= p->hi))
        return tg_set_error(TG_EINVAL, "tg_clamp: lo %g is not <= hi %g",
                            p->lo, p->hi);
    return TG_OK;
}

static inline float clamp_f32(float x, const clamp_params *p)
{
    float lo = (float)p->lo, hi = (float)p->hi;
    return x < lo ? lo : x > hi ? hi : x;
}
static inline double clamp_f64(double x, const clamp_params *p)
{
    return x < p->lo ? p->lo : x > p->hi ? p->hi : x;
}
static inline float clamp_grad_f32(float x, float y, float gy,
                                   const clamp_params *p)
{
    (void)y;
    return x > (float)p->lo && x < (float)p->hi ? gy : 0;
}
static inline double clamp_grad_f64(double x, double y, double gy,
                                    const clamp_params *p)
{
    (void)y;
    return x > p->lo && x < p->hi ? gy : 0;
}
static inline int64_t clamp_piece_at(double x, const clamp_params *p,
                                     tg_dtype dt)
{
    double lo = tg_param_as(p->lo, dt), hi = tg_param_as(p->hi, dt);
    return x < lo ? 0 : x > hi ? 2 : x > lo && x < hi ? 1 : TG_ON_KINK;
}
TG_UNARY_OP_PARAMS(clamp, clamp_params, clamp_check)
TG_UNARY_PIECE_PARAMS(clamp, clamp_params)

static const tg_op clamp_op = {
    .name = "clamp", .arity = 1, .params_size = sizeof(clamp_params),
    .forward = clamp_forward, .backward = clamp_backward,
    .piece = clamp_piece, .flags = TG_OP_UNIFORM_GRAD,
};

static tg_tensor *clamp(tg_tape *t, tg_tensor *x, double lo, double hi)
{
    clamp_params p = {lo, hi};
    return tg_apply(t, &clamp_op, 1, &x, &p);
}

static tg_tensor *vec(tg_tape *t, tg_dtype dt, int64_t n, const double *v)
{
    tg_tensor *x = tg_empty(t, dt, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = (float)v[i];
        else
            tg_mut_f64(x)[i] = v[i];
    }
    return x;
}

/* ---- forward and gradient */

START_TEST(user_op_values_and_gradient)
{
    double v[] = {-2, -0.5, 0, 1.5, 3};
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        tg_tape *t = tg_tape_new();
        tg_tensor *x = vec(t, dt, 5, v);
        tg_set_requires_grad(x, true);
        tg_tensor *y = cube(t, x);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
        for (int i = 0; i < 5; i++) {
            ck_assert(tg_value_at(y, i) == v[i] * v[i] * v[i]);
            ck_assert(tg_value_at(tg_grad(x), i) == 3 * v[i] * v[i]);
        }
        tg_tape_free(t);
    }
}
END_TEST

static tg_tensor *cube_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return cube(t, in[0]);
}

static tg_tensor *clamp_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return clamp(t, in[0], -1.0, 1.0);
}

START_TEST(user_ops_pass_gradcheck)
{
    tg_tape *t = tg_tape_new();
    double v[] = {-2.5, -0.7, 0.1, 0.9, 1.8};
    tg_tensor *x = vec(t, TG_F64, 5, v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(cube_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(tg_gradcheck(clamp_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed && r.n_ambiguous == 0, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* The piece function made by TG_UNARY_PIECE_PARAMS marks the corners. */
START_TEST(piece_marks_kinks)
{
    tg_tape *t = tg_tape_new();
    double v[] = {-1.0, 0.25, 1.0};
    tg_tensor *x = vec(t, TG_F64, 3, v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(clamp_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_ambiguous, 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(bad_options_name_the_call)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 2};
    tg_tensor *x = vec(t, TG_F32, 2, v);
    int64_t before = tg_tape_size(t);
    ck_assert_null_status(clamp(t, x, 2.0, -2.0), TG_EINVAL,
                          "tg_clamp: lo 2 is not <= hi -2");
    ck_assert_int_eq(tg_tape_size(t), before);
    ck_assert(tg_value_at(x, 1) == 2);
    tg_tape_free(t);
}
END_TEST

/* ---- what the loops do for every op built on them */

/* Large enough to be cut into parts: the same bits on 1 and 2 threads. */
START_TEST(threads_give_the_same_bits)
{
    int64_t n = (int64_t)1 << 18;
    double *got[2], *w = malloc((size_t)n * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        w[i] = (double)(i % 7) - 3.0; /* a gradient that is not uniform */
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(tg_set_num_threads(k + 1), TG_OK);
        tg_tape *t = tg_tape_new();
        tg_tensor *x = tg_linspace(t, TG_F32, -3.0, 3.0, n);
        tg_set_requires_grad(x, true);
        tg_tensor *y = tg_relu(t, cube(t, tg_tanh(t, x)));
        ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, w)), TG_OK);
        got[k] = malloc((size_t)n * sizeof(double));
        for (int64_t i = 0; i < n; i++)
            got[k][i] = tg_data_f32(y)[i] + 1e3 * tg_data_f32(tg_grad(x))[i];
        tg_tape_free(t);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    ck_assert(memcmp(got[0], got[1], (size_t)n * sizeof(double)) == 0);
    free(got[0]);
    free(got[1]);
    free(w);
}
END_TEST

/*
 * After a sum, gy is one value everywhere: an op with the flag reads it as
 * that value, one without gets it written out; both give what a written
 * gradient of the same value gives, bit for bit.
 */
START_TEST(uniform_gradient_reads_as_written)
{
    double v[] = {-1.5, -0.0, 0.0, 0.25, 3, 1e-3, -7, 2};
    double w[8];
    for (int i = 0; i < 8; i++)
        w[i] = 1.0;
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        const tg_op *ops[] = {&cube_op, &cube_plain_op, tg_op_find("relu"),
                              tg_op_find("tanh"), tg_op_find("softplus")};
        for (int k = 0; k < 5; k++) {
            const tg_op *op = ops[k];
            double sp[] = {1.0, 20.0}; /* softplus: beta, threshold */
            const void *params = op->params_size ? (const void *)sp : NULL;
            tg_tape *t = tg_tape_new();
            tg_tensor *a = vec(t, dt, 8, v), *b = vec(t, dt, 8, v);
            tg_set_requires_grad(a, true);
            tg_set_requires_grad(b, true);
            tg_tensor *ya = tg_apply(t, op, 1, &a, params);
            tg_tensor *yb = tg_apply(t, op, 1, &b, params);
            ck_assert_int_eq(tg_backward(t, tg_sum(t, ya)), TG_OK);
            ck_assert_int_eq(tg_backward(t, tg_test_dot(t, yb, w)), TG_OK);
            for (int i = 0; i < 8; i++)
                ck_assert_msg(tg_value_at(tg_grad(a), i) ==
                              tg_value_at(tg_grad(b), i), "%s %s element %d",
                              op->name, tg_dtype_name(dt), i);
            tg_tape_free(t);
        }
    }
}
END_TEST

/*
 * A leaf that stops requiring grad after the op was recorded: backward
 * hands the op a NULL gradient slot. relu, sum, every unary built-in and
 * a user op must skip it, succeed, and leave the leaf without a gradient.
 */
START_TEST(null_gradient_slot_is_skipped)
{
    const char *names[] = {"relu", "sum", "tanh", "exp", "sigmoid", "abs",
                           "neg", "sqrt", "log", "softsign", "gelu", "silu",
                           "mish", "selu", "hardswish", "hardsigmoid",
                           "relu6", "gelu_tanh", "cube"};
    double v[] = {0.5, 1.5, 2.5};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const tg_op *op = strcmp(names[k], "cube") == 0
                              ? &cube_op : tg_op_find(names[k]);
        ck_assert_ptr_nonnull(op);
        tg_tape *t = tg_tape_new();
        tg_tensor *x = vec(t, TG_F64, 3, v), *z = vec(t, TG_F64, 3, v);
        tg_set_requires_grad(x, true);
        tg_set_requires_grad(z, true);
        tg_tensor *y = tg_add(t, tg_sum(t, tg_apply(t, op, 1, &x, NULL)),
                              tg_sum(t, z));
        ck_assert_int_eq(tg_set_requires_grad(x, false), TG_OK);
        ck_assert_msg(tg_backward(t, y) == TG_OK, "%s: %s", names[k],
                      tg_last_error());
        ck_assert_ptr_null(tg_grad(x));
        ck_assert(tg_value_at(tg_grad(z), 2) == 1.0);
        tg_tape_free(t);
    }
}
END_TEST

START_TEST(loops_reject_null_arguments)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F32, 1.0);
    tg_op_ctx c = {t, &cube_op, &x, 1, NULL, NULL};
    ck_assert_null_status(tg_unary_forward(NULL, &cube_loops), TG_EINVAL,
                          "tg_unary_forward: context is NULL");
    ck_assert_null_status(tg_unary_forward(&c, NULL), TG_EINVAL,
                          "tg_unary_forward: loops is NULL");
    tg_tensor *gx[1] = {NULL};
    ck_assert_status(tg_unary_backward(&c, x, NULL, gx, &cube_loops),
                     TG_EINVAL, "tg_unary_backward: an argument is NULL");
    ck_assert_int_eq(tg_unary_backward(&c, x, x, gx, &cube_loops), TG_OK);
    tg_tape_free(t);
}
END_TEST

/* ---- element helpers */

START_TEST(value_at_reads_either_dtype)
{
    tg_tape *t = tg_tape_new();
    double v[] = {0.1, -2, 3.5};
    tg_tensor *f = vec(t, TG_F32, 3, v), *d = vec(t, TG_F64, 3, v);
    ck_assert(tg_value_at(f, 0) == (double)0.1f);
    ck_assert(tg_value_at(d, 0) == 0.1);
    ck_assert(tg_value_at(d, 2) == 3.5);
    ck_assert(isnan(tg_value_at(d, 3)));
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_message("tg_value_at: index 3 is outside 0..2");
    ck_assert(isnan(tg_value_at(d, -1)));
    ck_assert_message("tg_value_at: index -1 is outside 0..2");
    tg_clear_error();
    ck_assert(isnan(tg_value_at(NULL, 0)));
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_message("tg_value_at: tensor is NULL");
    tg_tape_reset(t);
    ck_assert(isnan(tg_value_at(d, 0)));
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    ck_assert_message("tg_value_at: tensor was freed");
    tg_tape_free(t);
}
END_TEST

START_TEST(sum_value_is_the_sum_op)
{
    tg_tape *t = tg_tape_new();
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        tg_tensor *x = tg_linspace(t, dt, -1.0, 3.0, 777);
        ck_assert(tg_sum_value(x) == tg_item(tg_sum(t, x)) ||
                  (dt == TG_F32 &&
                   (float)tg_sum_value(x) == (float)tg_item(tg_sum(t, x))));
        ck_assert_close(tg_sum_value(x), 777.0, 1e-6, 0);
    }
    tg_clear_error();
    ck_assert(isnan(tg_sum_value(NULL)));
    ck_assert_message("tg_sum_value: tensor is NULL");
    tg_tensor *x = tg_scalar(t, TG_F64, 2.0);
    tg_tape_reset(t);
    ck_assert(isnan(tg_sum_value(x)));
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("elementwise");
    TCase *tc = tg_test_tcase("user_op");
    tcase_add_test(tc, user_op_values_and_gradient);
    tcase_add_test(tc, user_ops_pass_gradcheck);
    tcase_add_test(tc, piece_marks_kinks);
    tcase_add_test(tc, bad_options_name_the_call);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("loops");
    tcase_add_test(tc, threads_give_the_same_bits);
    tcase_add_test(tc, uniform_gradient_reads_as_written);
    tcase_add_test(tc, null_gradient_slot_is_skipped);
    tcase_add_test(tc, loops_reject_null_arguments);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("helpers");
    tcase_add_test(tc, value_at_reads_either_dtype);
    tcase_add_test(tc, sum_value_is_the_sum_op);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
