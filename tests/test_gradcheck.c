/*
 * test_gradcheck.c — tg_gradcheck: right gradients pass, wrong ones are
 * named, kinks are ambiguous, f32 is refused, errors leave nothing behind.
 */
#include "tg_test.h"

#include <stdio.h>

#include <tapegrad/check.h>

/* ---- Test ops, registered as a user would. */

/* y = x^3, y' = 3x^2: smooth, for comparing the methods. */
static tg_tensor *cube_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y == NULL)
        return NULL;
    const double *x = tg_data_f64(c->in[0]);
    double *ys = tg_mut_f64(y);
    for (int64_t i = 0; i < tg_numel(y); i++)
        ys[i] = x[i] * x[i] * x[i];
    return y;
}

static int cube_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const double *x = tg_data_f64(c->in[0]), *g = tg_data_f64(gy);
    double *out = tg_mut_f64(gx[0]);
    for (int64_t i = 0; i < tg_numel(gy); i++)
        out[i] = 3.0 * x[i] * x[i] * g[i];
    return TG_OK;
}

static const tg_op cube_op = {
    .name = "test_cube", .arity = 1,
    .forward = cube_forward, .backward = cube_backward,
};

/* y = a * b elementwise (same shapes, f64). */
static tg_tensor *mul_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y == NULL)
        return NULL;
    const double *a = tg_data_f64(c->in[0]), *b = tg_data_f64(c->in[1]);
    double *ys = tg_mut_f64(y);
    for (int64_t i = 0; i < tg_numel(y); i++)
        ys[i] = a[i] * b[i];
    return y;
}

/* The right gradient, except that the bad op scales d/db[7] by 1.5. */
static int mul_gradient(tg_op_ctx *c, const tg_tensor *gy,
                        tg_tensor *const *gx, bool bad)
{
    const double *a = tg_data_f64(c->in[0]), *b = tg_data_f64(c->in[1]);
    const double *g = tg_data_f64(gy);
    for (int64_t i = 0; i < tg_numel(gy); i++) {
        if (gx[0] != NULL)
            tg_mut_f64(gx[0])[i] = b[i] * g[i];
        if (gx[1] != NULL)
            tg_mut_f64(gx[1])[i] = a[i] * g[i] * (bad && i == 7 ? 1.5 : 1.0);
    }
    return TG_OK;
}

static int mul_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    return mul_gradient(c, gy, gx, false);
}

static int badmul_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    return mul_gradient(c, gy, gx, true);
}

static const tg_op mul_op = {
    .name = "test_mul", .arity = 2,
    .forward = mul_forward, .backward = mul_backward,
};

static const tg_op badmul_op = {
    .name = "test_badmul", .arity = 2,
    .forward = mul_forward, .backward = badmul_backward,
};

/* y = |x|, y' = sign(x) (0 at 0), with a piece function like relu's. */
static tg_tensor *abs_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y == NULL)
        return NULL;
    const double *x = tg_data_f64(c->in[0]);
    for (int64_t i = 0; i < tg_numel(y); i++)
        tg_mut_f64(y)[i] = fabs(x[i]);
    return y;
}

static int abs_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const double *x = tg_data_f64(c->in[0]), *g = tg_data_f64(gy);
    for (int64_t i = 0; i < tg_numel(gy); i++)
        tg_mut_f64(gx[0])[i] = ((x[i] > 0) - (x[i] < 0)) * g[i];
    return TG_OK;
}

static int64_t abs_piece(const tg_op_ctx *c, const tg_tensor *y, int64_t i)
{
    (void)y;
    double v = tg_data_f64(c->in[0])[i];
    return v > 0 ? 1 : v < 0 ? 0 : TG_ON_KINK;
}

static const tg_op abs_op = {
    .name = "test_abs", .arity = 1,
    .forward = abs_forward, .backward = abs_backward, .piece = abs_piece,
};

/* Register the test ops once (Check may run every test in one process). */
static const tg_op *op(const tg_op *o)
{
    const tg_op *found = NULL;
    for (int i = 0; i < tg_op_count() && found == NULL; i++)
        if (strcmp(tg_op_at(i)->name, o->name) == 0)
            found = tg_op_at(i);
    if (found == NULL) {
        ck_assert_int_eq(tg_op_register(o), TG_OK);
        found = tg_op_find(o->name);
    }
    return found;
}

/* ---- Functions to check. */

static tg_tensor *relu_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_relu(t, in[0]);
}

static tg_tensor *sum_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_sum(t, in[0]);
}

static tg_tensor *cube_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_apply(t, op(&cube_op), 1, in, NULL);
}

/* sum(relu(a^3 * b)): two inputs, four ops. */
static tg_tensor *composite_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_tensor *ab[2] = {tg_apply(t, op(&cube_op), 1, in, NULL), in[1]};
    return tg_sum(t, tg_relu(t, tg_apply(t, op(&mul_op), 2, ab, NULL)));
}

static tg_tensor *abs_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_apply(t, op(&abs_op), 1, in, NULL);
}

/* The input itself: no op but the projection. */
static tg_tensor *identity_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)t, (void)n, (void)ud;
    return in[0];
}

/* A constant: depends on no input. */
static tg_tensor *constant_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)in, (void)n, (void)ud;
    int64_t three = 3;
    return tg_zeros(t, TG_F64, 1, &three);
}

static tg_tensor *badmul_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_apply(t, op(&badmul_op), 2, in, NULL);
}

/* relu(x) while x[0] > 0, else sum(x): the path depends on x[0]. */
static tg_tensor *branch_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_data_f64(in[0])[0] > 0 ? tg_relu(t, in[0]) : tg_sum(t, in[0]);
}

/* relu(x), refusing x[0] > 1 with an error of its own. */
static tg_tensor *picky_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    if (tg_data_f64(in[0])[0] > 1.0) {
        tg_set_error(TG_ESHAPE, "picky: x[0] is above 1");
        return NULL;
    }
    return tg_relu(t, in[0]);
}

static tg_tensor *null_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)t, (void)in, (void)n, (void)ud;
    return NULL;
}

/* A leaf of shape (2,4) with values away from 0. */
static tg_tensor *leaf24(tg_tape *t, tg_dtype dt, double scale)
{
    double v[8] = {0.7, -1.3, 0.4, 1.9, -0.6, 1.1, -2.2, 0.9};
    float f[8];
    for (int i = 0; i < 8; i++) {
        v[i] *= scale;
        f[i] = (float)v[i];
    }
    int64_t shape[] = {2, 4};
    return tg_from_data(t, dt, 2, shape, dt == TG_F32 ? (void *)f : (void *)v);
}

/* ---- Right gradients pass. */

START_TEST(relu_passes)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf24(t, TG_F64, 1.0);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_checked, 8);
    ck_assert_int_eq(r.n_failed, 0);
    ck_assert_int_eq(r.n_ambiguous, 0);
    ck_assert_int_ge(r.worst_input, 0);
    ck_assert(r.abs_error < 1e-8);
    ck_assert_ptr_nonnull(strstr(r.message, "gradcheck passed: 8 elements"));
    ck_assert(!tg_requires_grad(x));          /* restored */
    tg_tape_free(t);
}
END_TEST

START_TEST(sum_passes_and_leaves_its_gradient)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf24(t, TG_F64, 1.0);
    tg_set_requires_grad(x, true);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(sum_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    /* A scalar output is checked as it is (weight 1): d sum / dx = 1. */
    for (int i = 0; i < 8; i++)
        ck_assert(tg_data_f64(tg_grad(x))[i] == 1.0);
    ck_assert(tg_requires_grad(x));
    tg_tape_free(t);
}
END_TEST

START_TEST(composite_passes)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2] = {leaf24(t, TG_F64, 1.0), leaf24(t, TG_F64, -0.5)};
    double before[8];
    memcpy(before, tg_data_f64(in[0]), sizeof before);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(composite_fn, NULL, 2, in, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_checked, 16);
    ck_assert_int_eq(r.n_ambiguous, 0);
    ck_assert(memcmp(before, tg_data_f64(in[0]), sizeof before) == 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(check_h_macro)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2] = {leaf24(t, TG_F64, 1.0), leaf24(t, TG_F64, 0.5)};
    tg_ck_assert_gradients(composite_fn, NULL, 2, in);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.method = TG_GRADCHECK_RICHARDSON;
    tg_ck_assert_gradients_opt(cube_fn, NULL, 1, in, &o);
    tg_tape_free(t);
}
END_TEST

START_TEST(edge_functions_pass)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf24(t, TG_F64, 1.0);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(identity_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed && r.abs_error < 1e-8, "%s", r.message);
    /* The gradient left is the projection's weight: |w| in [0.5, 1.5). */
    for (int i = 0; i < 8; i++) {
        double w = fabs(tg_data_f64(tg_grad(x))[i]);
        ck_assert(w >= 0.5 && w < 1.5);
    }
    ck_assert_int_eq(tg_gradcheck(constant_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed && r.analytic == 0 && r.numeric == 0, "%s",
                  r.message);
    for (int i = 0; i < 8; i++)
        ck_assert(tg_data_f64(tg_grad(x))[i] == 0.0);  /* overwritten */
    /* One tensor as both inputs: both see the total derivative. */
    tg_tensor *twice[2] = {x, x};
    ck_assert_int_eq(tg_gradcheck(composite_fn, NULL, 2, twice, NULL, &r),
                     TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_checked, 16);
    ck_assert(!tg_requires_grad(x));
    tg_tape_free(t);
}
END_TEST

/* ---- Wrong gradients are named. */

START_TEST(wrong_gradient_is_named)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2] = {leaf24(t, TG_F64, 1.0), leaf24(t, TG_F64, 0.5)};
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(badmul_fn, NULL, 2, in, NULL, &r), TG_OK);
    ck_assert(!r.passed);
    ck_assert_int_eq(r.n_failed, 1);
    ck_assert_int_eq(r.n_checked, 16);
    ck_assert_int_eq(r.worst_input, 1);
    ck_assert_int_eq(r.worst_index, 7);
    ck_assert_close(r.analytic / r.numeric, 1.5, 1e-6, 0);
    ck_assert_close(r.abs_error, fabs(r.analytic - r.numeric), 1e-12, 0);
    ck_assert_close(r.rel_error, 0.5, 1e-6, 0);
    ck_assert_msg(strstr(r.message, "input 1 element 7 (1,3)") != NULL, "%s",
                  r.message);
    ck_assert_msg(strstr(r.message, "gradcheck failed: 1 of 16") != NULL,
                  "%s", r.message);
    char want[64];
    snprintf(want, sizeof want, "analytic %.17g", r.analytic);
    ck_assert_msg(strstr(r.message, want) != NULL, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* ---- Kinks are ambiguous, not failures. */

static tg_gradcheck_report relu_at(tg_tape *t, double v)
{
    int64_t one = 1;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &one, &v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_int_eq(r.n_checked, 1);
    ck_assert_int_eq(r.n_ambiguous, 1);
    ck_assert_int_eq(r.n_failed, 0);
    ck_assert(r.passed);
    ck_assert_int_eq(r.worst_input, -1);      /* nothing was compared */
    return r;
}

START_TEST(relu_kinks_are_ambiguous)
{
    tg_tape *t = tg_tape_new();
    tg_gradcheck_report r = relu_at(t, 0.0);
    ck_assert_msg(strstr(r.message, "input 0 element 0 (0,): relu (tape "
                         "entry 0) output element 0 is on a kink at x")
                  != NULL, "%s", r.message);
    r = relu_at(t, 1e-7);
    ck_assert_msg(strstr(r.message, "relu (tape entry 0) output element 0 "
                         "changes piece between x-h and x") != NULL, "%s",
                  r.message);
    r = relu_at(t, -1e-7);
    ck_assert_msg(strstr(r.message, "changes piece between x and x+h")
                  != NULL, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* Only the element whose step moves the kink is ambiguous. */
START_TEST(kink_elsewhere_is_not_ambiguous)
{
    tg_tape *t = tg_tape_new();
    double v[5] = {0.5, 0.0, -0.5, 1e-7, 2.0};
    int64_t five = 5;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &five, v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_int_eq(r.n_checked, 5);
    ck_assert_int_eq(r.n_ambiguous, 2);
    ck_assert_int_eq(r.n_failed, 0);
    ck_assert_msg(strstr(r.message, "input 0 element 1 (1,): relu") != NULL,
                  "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* A step that stays on one side of the kink is checked as usual. */
START_TEST(smaller_step_avoids_the_kink)
{
    tg_tape *t = tg_tape_new();
    double v = 1e-7;
    int64_t one = 1;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &one, &v);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = 1e-8;                             /* step no longer straddles */
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_OK);
    ck_assert_int_eq(r.n_ambiguous, 0);
    ck_assert_msg(r.passed, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* |x| at 0: the finite difference (h - h) / 2h = 0 agrees with the
 * convention |x|'(0) = 0 only by luck, so it must not read as a pass. */
START_TEST(lucky_agreement_is_still_ambiguous)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 0.0);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(abs_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_int_eq(r.n_ambiguous, 1);
    ck_assert_int_eq(r.worst_input, -1);
    ck_assert_msg(strstr(r.message, "input 0 element 0 (): test_abs (tape "
                         "entry 0) output element 0 is on a kink at x")
                  != NULL, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* Richardson also steps to x+-2h, so it sees kinks further away. */
START_TEST(richardson_sees_further)
{
    tg_tape *t = tg_tape_new();
    double v = -1.5e-6;
    int64_t one = 1;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &one, &v);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_OK);
    ck_assert_msg(r.passed && r.n_ambiguous == 0, "%s", r.message);
    o.method = TG_GRADCHECK_RICHARDSON;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_OK);
    ck_assert_int_eq(r.n_ambiguous, 1);
    ck_assert_msg(strstr(r.message, "changes piece between x+h and x+2h")
                  != NULL, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

START_TEST(different_path_is_ambiguous)
{
    tg_tape *t = tg_tape_new();
    double v[2] = {1e-7, 3.0};
    int64_t two = 2;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &two, v);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(branch_fn, NULL, 1, &x, NULL, &r), TG_OK);
    ck_assert_int_eq(r.n_ambiguous, 1);
    ck_assert_int_eq(r.n_failed, 0);
    ck_assert_msg(strstr(r.message, "input 0 element 0 (0,): the function "
                         "took a different path at x-h (tape entry 0 is sum "
                         "there, relu at x)") != NULL, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

/* ---- f32 is refused unless asked for. */

START_TEST(f32_refused_unless_allowed)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf24(t, TG_F32, 1.0);
    tg_gradcheck_report r;
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &x, NULL, &r), TG_EDTYPE,
                     "tg_gradcheck: input 0 is f32; finite differences need "
                     "f64");
    ck_assert(!r.passed);
    ck_assert_ptr_nonnull(strstr(r.message, "allow_f32"));
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.allow_f32 = true;
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_checked, 8);
    /* An f32 sum rounds its output: loose settings, as the docs advise. */
    o.eps = 1e-3;
    o.atol = o.rtol = 1e-2;
    ck_assert_int_eq(tg_gradcheck(sum_fn, NULL, 1, &x, &o, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert(tg_data_f32(tg_grad(x))[3] == 1.0f);
    tg_tape_free(t);
}
END_TEST

/* ---- Richardson beats central differences on a smooth function. */

START_TEST(richardson_more_accurate)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf24(t, TG_F64, 1.0);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = 1e-2;                 /* truncation error dominates */
    o.atol = o.rtol = 1e-2;
    tg_gradcheck_report central, rich;
    ck_assert_int_eq(tg_gradcheck(cube_fn, NULL, 1, &x, &o, &central), TG_OK);
    o.method = TG_GRADCHECK_RICHARDSON;
    ck_assert_int_eq(tg_gradcheck(cube_fn, NULL, 1, &x, &o, &rich), TG_OK);
    ck_assert_msg(central.passed && rich.passed, "%s / %s", central.message,
                  rich.message);
    /* Central's error on x^3 is h^2 |w|, Richardson's only rounding. */
    ck_assert_msg(central.abs_error > 1e-5, "%s", central.message);
    ck_assert_msg(rich.abs_error < 1e-9, "%s", rich.message);
    tg_tape_free(t);
}
END_TEST

/* ---- Bad arguments and failing functions. */

START_TEST(null_arguments)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf24(t, TG_F64, 1.0);
    tg_gradcheck_report r;
    ck_assert_status(tg_gradcheck(NULL, NULL, 1, &x, NULL, &r), TG_EINVAL,
                     "tg_gradcheck: fn is NULL");
    ck_assert_ptr_nonnull(strstr(r.message, "fn is NULL"));
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, NULL, NULL, &r),
                     TG_EINVAL, "tg_gradcheck: inputs is NULL");
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 0, &x, NULL, &r), TG_EINVAL,
                     "tg_gradcheck: n is 0");
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &x, NULL, NULL),
                     TG_EINVAL, "tg_gradcheck: report is NULL");
    tg_tensor *none = NULL;
    tg_clear_error();
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &none, NULL, &r),
                     TG_EINVAL, "tg_gradcheck: input 0: tensor is NULL");
    tg_tensor *y = tg_relu(t, x);            /* not recorded: still a leaf */
    tg_set_requires_grad(x, true);
    tg_tensor *z = tg_relu(t, x);            /* recorded */
    tg_tensor *in[2] = {y, z};
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 2, in, NULL, &r), TG_EINVAL,
                     "tg_gradcheck: input 1 was made by a recorded op");
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = 0;
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_EINVAL,
                     "eps is 0");
    o = tg_gradcheck_defaults();
    o.rtol = NAN;
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_EINVAL,
                     "must be finite and >= 0");
    o = tg_gradcheck_defaults();
    o.method = (tg_gradcheck_method)7;
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_EINVAL,
                     "unknown method 7");
    tg_tape_free(t);
}
END_TEST

START_TEST(function_errors_are_passed_on)
{
    tg_tape *t = tg_tape_new();
    double v[2] = {1.0, -0.5};
    int64_t two = 2;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &two, v);
    tg_gradcheck_report r;
    /* picky_fn accepts x but not x+h: the error names where. */
    ck_assert_status(tg_gradcheck(picky_fn, NULL, 1, &x, NULL, &r), TG_ESHAPE,
                     "tg_gradcheck: the function failed at input 0 element 0 "
                     "(0,), x+h: picky: x[0] is above 1");
    ck_assert_ptr_nonnull(strstr(r.message, "picky: x[0] is above 1"));
    ck_assert(tg_data_f64(x)[0] == 1.0);     /* restored exactly */
    ck_assert(!tg_requires_grad(x));
    tg_clear_error();
    ck_assert_status(tg_gradcheck(null_fn, NULL, 1, &x, NULL, &r), TG_EINVAL,
                     "returned NULL at the inputs' values without setting");
    double inf[2] = {INFINITY, 1.0};
    tg_tensor *y = tg_from_data(t, TG_F64, 1, &two, inf);
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &y, NULL, &r),
                     TG_ENUMERIC, "input 0 element 0 (0,) is inf");
    tg_tape_free(t);
}
END_TEST

START_TEST(tiny_step_in_f32_is_an_error)
{
    tg_tape *t = tg_tape_new();
    float v = 1e6f;
    int64_t one = 1;
    tg_tensor *x = tg_from_data(t, TG_F32, 1, &one, &v);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.allow_f32 = true;
    tg_gradcheck_report r;
    ck_assert_status(tg_gradcheck(relu_fn, NULL, 1, &x, &o, &r), TG_EINVAL,
                     "does not change input 0 element 0 (0,) (1e+06) in f32");
    ck_assert(tg_data_f32(x)[0] == 1e6f);
    tg_tape_free(t);
}
END_TEST

/* ---- Memory: flat in the number of elements, and out-of-memory safe. */

START_TEST(memory_is_flat)
{
    tg_tape *t = tg_tape_new();
    int64_t n8 = 8, n64 = 64;
    tg_tensor *small = tg_linspace(t, TG_F64, 0.1, 0.9, n8);
    tg_tensor *big = tg_linspace(t, TG_F64, 0.1, 0.9, n64);
    tg_gradcheck_report r;
    long c0 = tg_test_allocation_calls();
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &small, NULL, &r), TG_OK);
    long c1 = tg_test_allocation_calls();
    ck_assert_int_eq(tg_gradcheck(relu_fn, NULL, 1, &big, NULL, &r), TG_OK);
    long c2 = tg_test_allocation_calls();
    ck_assert_int_eq(r.n_checked, 64);
    ck_assert_int_eq(c2 - c1, c1 - c0);
    tg_tape_free(t);
}
END_TEST

START_TEST(out_of_memory_everywhere)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2] = {leaf24(t, TG_F64, 1.0), leaf24(t, TG_F64, -0.5)};
    double a[8], b[8];
    memcpy(a, tg_data_f64(in[0]), sizeof a);
    memcpy(b, tg_data_f64(in[1]), sizeof b);
    tg_set_requires_grad(in[1], true);
    long live = tg_test_live_allocations();
    int rc = TG_ENOMEM, k = 1;
    for (; rc != TG_OK && k < 1000; k++) {
        tg_gradcheck_report r;
        tg_test_fail_after(k);
        rc = tg_gradcheck(composite_fn, NULL, 2, in, NULL, &r);
        tg_test_fail_after(-1);
        if (rc != TG_OK) {
            ck_assert_msg(rc == TG_ENOMEM, "k=%d: %d %s", k, rc,
                          tg_last_error());
            ck_assert(!r.passed);
            ck_assert_msg(strstr(r.message, "out of memory") != NULL,
                          "k=%d: %s", k, r.message);
        } else {
            ck_assert_msg(r.passed, "%s", r.message);
        }
        ck_assert(memcmp(a, tg_data_f64(in[0]), sizeof a) == 0);
        ck_assert(memcmp(b, tg_data_f64(in[1]), sizeof b) == 0);
        ck_assert(!tg_requires_grad(in[0]));
        ck_assert(tg_requires_grad(in[1]));
        ck_assert_int_eq(tg_test_live_allocations(), live);
    }
    ck_assert_int_eq(rc, TG_OK);
    ck_assert_int_gt(k, 3);                   /* some allocations did fail */
    tg_tape_free(t);
}
END_TEST

static Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tg_test_tcase("passes");
    tcase_add_test(tc, relu_passes);
    tcase_add_test(tc, sum_passes_and_leaves_its_gradient);
    tcase_add_test(tc, composite_passes);
    tcase_add_test(tc, check_h_macro);
    tcase_add_test(tc, edge_functions_pass);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("wrong_gradient");
    tcase_add_test(tc, wrong_gradient_is_named);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("kinks");
    tcase_add_test(tc, relu_kinks_are_ambiguous);
    tcase_add_test(tc, kink_elsewhere_is_not_ambiguous);
    tcase_add_test(tc, smaller_step_avoids_the_kink);
    tcase_add_test(tc, lucky_agreement_is_still_ambiguous);
    tcase_add_test(tc, richardson_sees_further);
    tcase_add_test(tc, different_path_is_ambiguous);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("f32");
    tcase_add_test(tc, f32_refused_unless_allowed);
    tcase_add_test(tc, tiny_step_in_f32_is_an_error);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("richardson");
    tcase_add_test(tc, richardson_more_accurate);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, function_errors_are_passed_on);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("memory");
    tcase_add_test(tc, memory_is_flat);
    tcase_add_test(tc, out_of_memory_everywhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tg_test_main(gradcheck_suite());
}
