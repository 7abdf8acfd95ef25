/*
 * test_ops_select.c — comparisons giving masks, where, clamp, cast and
 * detach, argmax and argmin, and tensors made from a rule (full, ones,
 * arange, eye): values and
 * gradients against PyTorch (the fixtures in fixtures/ops_select.h, made
 * by fixtures/gen_ops_select.py), the no-gradient rule, the documented
 * edge cases, gradient checks with their kinks, and bad input.
 */
#include "tg_test.h"

#include <tapegrad/check.h>

#include "fixtures/ops_select.h"

/* A tensor of the dtype holding v (exact: f32 fixtures hold floats). */
static tg_tensor *make(tg_tape *t, tg_dtype dt, const fx_arr *a)
{
    return tg_test_tensor(t, dt, a->ndim, a->dims, a->v);
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

/* A small f64 tensor of the given values. */
static tg_tensor *vec(tg_tape *t, int64_t n, const double *v)
{
    return tg_test_tensor(t, TG_F64, 1, &n, v);
}

typedef tg_tensor *(*binary_fn)(tg_tape *, tg_tensor *, tg_tensor *);

static const struct {
    const char *name;
    binary_fn fn;
} compares[] = {
    {"gt", tg_gt}, {"ge", tg_ge}, {"lt", tg_lt},
    {"le", tg_le}, {"eq", tg_eq}, {"ne", tg_ne},
};
#define N_COMPARES (int)(sizeof compares / sizeof compares[0])

static binary_fn find_compare(const char *name)
{
    for (int i = 0; i < N_COMPARES; i++)
        if (strcmp(compares[i].name, name) == 0)
            return compares[i].fn;
    return NULL;
}

/* The case's op on its inputs. */
static tg_tensor *run(tg_tape *t, const fx_case *c, tg_tensor *const *in)
{
    binary_fn cmp = find_compare(c->op);
    if (cmp != NULL)
        return cmp(t, in[0], in[1]);
    if (strcmp(c->op, "where") == 0)
        return tg_where(t, in[0], in[1], in[2]);
    if (strcmp(c->op, "clamp") == 0)
        return tg_clamp(t, in[0], c->p[0], c->p[1]);
    tg_dtype dt = c->dtype ? TG_F64 : TG_F32;
    if (strcmp(c->op, "cast") == 0)
        return tg_cast(t, in[0], c->p[0] != 0 ? TG_F64 : TG_F32);
    if (strcmp(c->op, "argmax") == 0)
        return tg_argmax(t, in[0], (int)c->p[0], c->p[1] != 0);
    if (strcmp(c->op, "argmin") == 0)
        return tg_argmin(t, in[0], (int)c->p[0], c->p[1] != 0);
    if (strcmp(c->op, "arange") == 0)
        return tg_arange(t, dt, c->p[0], c->p[1], c->p[2]);
    if (strcmp(c->op, "eye") == 0)
        return tg_eye(t, dt, (int64_t)c->p[0], (int64_t)c->p[1]);
    ck_abort_msg("no op %s in test_ops_select.c", c->op);
    return NULL;
}

/* got equals want: NaN with NaN, zeros with their sign. */
static bool same(double got, double want)
{
    if (isnan(want))
        return isnan(got);
    return got == want && signbit(got) == signbit(want);
}

static bool close_to(double got, double want, tg_dtype dt)
{
    double rtol = dt == TG_F32 ? 1e-6 : 1e-14;
    if (isnan(want) || isinf(want))
        return same(got, want);
    return fabs(got - want) <= rtol * (1 + fabs(want));
}

/* ---- Values and gradients against PyTorch. */

START_TEST(matches_pytorch)
{
    const fx_case *c = &fx_cases[_i];
    tg_dtype dt = c->dtype ? TG_F64 : TG_F32;
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3] = {NULL, NULL, NULL};
    for (int k = 0; k < c->n; k++) {
        in[k] = make(t, dt, &c->in[k]);
        if (c->w != NULL && c->g[k] != NULL)
            tg_set_requires_grad(in[k], true);
    }
    tg_tensor *y = run(t, c, in);
    ck_assert_msg(y != NULL, "%s %s: %s", c->op, c->label, tg_last_error());
    ck_assert_int_eq(tg_ndim(y), c->y.ndim);
    for (int d = 0; d < c->y.ndim; d++)
        ck_assert_int_eq(tg_shape(y)[d], c->y.dims[d]);
    /* Exact, except arange: tapegrad rounds start + i * step once (as
     * NumPy), PyTorch's vectorised kernel adds multiples of step to a
     * block's first value, so the two may differ in the last place of the
     * range's largest magnitude. */
    double atol = 0;
    if (strcmp(c->op, "arange") == 0)
        atol = (dt == TG_F32 ? 0x1p-23 : 0x1p-52) *
               fmax(fabs(c->p[0]), fabs(c->p[1]));
    for (int64_t i = 0; i < tg_numel(y); i++)
        ck_assert_msg(same(at(y, i), c->y.v[i]) ||
                      fabs(at(y, i) - c->y.v[i]) <= atol,
                      "%s %s: y[%lld] = %.17g, PyTorch %.17g", c->op,
                      c->label, (long long)i, at(y, i), c->y.v[i]);
    if (c->w != NULL) {
        ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, c->w)), TG_OK);
        for (int k = 0; k < c->n; k++) {
            if (c->g[k] == NULL)
                continue;
            const tg_tensor *g = tg_grad(in[k]);
            ck_assert_ptr_nonnull(g);
            for (int64_t i = 0; i < tg_numel(g); i++)
                ck_assert_msg(close_to(at(g, i), c->g[k][i], dt),
                              "%s %s: d/d in%d [%lld] = %.17g, PyTorch "
                              "%.17g", c->op, c->label, k, (long long)i,
                              at(g, i), c->g[k][i]);
        }
    }
    tg_tape_free(t);
}
END_TEST

/* ---- Comparisons. */

/* A mask is made without a record, so it never requires grad, and a
 * gradient reaches a only through the other use of it. */
START_TEST(mask_has_no_history)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *a = vec(t, 4, (double[]){-1, 0, 2, 3});
    tg_tensor *b = vec(t, 4, (double[]){0, 0, 1, 5});
    tg_set_requires_grad(a, true);
    tg_set_requires_grad(b, true);
    int64_t before = tg_tape_size(t);
    for (int k = 0; k < N_COMPARES; k++) {
        tg_tensor *m = compares[k].fn(t, a, b);
        ck_assert_ptr_nonnull(m);
        ck_assert_msg(!tg_requires_grad(m), "%s requires grad",
                      compares[k].name);
    }
    ck_assert_int_eq(tg_tape_size(t), before);
    /* y = a * (a > b): dy/da is the mask, dy/db nothing. */
    tg_tensor *y = tg_sum(t, tg_mul(t, a, tg_gt(t, a, b)));
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    const double *ga = tg_data_f64(tg_grad(a));
    ck_assert(ga[0] == 0 && ga[1] == 0 && ga[2] == 1 && ga[3] == 0);
    ck_assert_ptr_null(tg_grad(b));
    tg_tape_free(t);
}
END_TEST

/* Run through tg_apply by hand, a comparison is recorded; its backward
 * sends zeros, and a gradient check sees the tie as a kink. */
static tg_tensor *apply_gt(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)ud;
    tg_tensor *m = tg_apply(t, tg_op_find("gt"), n, in, NULL);
    return tg_add(t, m, in[0]);
}

START_TEST(recorded_by_hand_sends_zeros)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2] = {vec(t, 3, (double[]){-1, 0.5, 2}),
                        vec(t, 3, (double[]){0, 0.5, 1})};
    tg_set_requires_grad(in[0], true);
    tg_set_requires_grad(in[1], true);
    tg_tensor *m = tg_apply(t, tg_op_find("gt"), 2, in, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert(tg_requires_grad(m));
    ck_assert_int_eq(tg_backward(t, tg_sum(t, m)), TG_OK);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++)
            ck_assert(tg_data_f64(tg_grad(in[k]))[i] == 0);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(apply_gt, NULL, 2, in, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_gt(r.n_ambiguous, 0); /* the tie 0.5 == 0.5 */
    tg_tape_free(t);
}
END_TEST

/* NaN compares false except ne; -0.0 equals +0.0. */
START_TEST(nan_and_signed_zero)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *a = vec(t, 3, (double[]){NAN, NAN, -0.0});
    tg_tensor *b = vec(t, 3, (double[]){NAN, 1.0, 0.0});
    const double *ne = tg_data_f64(tg_ne(t, a, b));
    const double *eq = tg_data_f64(tg_eq(t, a, b));
    const double *ge = tg_data_f64(tg_ge(t, a, b));
    ck_assert(ne[0] == 1 && ne[1] == 1 && ne[2] == 0);
    ck_assert(eq[0] == 0 && eq[1] == 0 && eq[2] == 1);
    ck_assert(ge[0] == 0 && ge[1] == 0 && ge[2] == 1);
    tg_tape_free(t);
}
END_TEST

/* x OP c with c rounded to x's dtype: 0.1f > 0.1 in double, but the f32
 * comparison sees 0.1f == 0.1f. */
START_TEST(scalar_forms)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    tg_tensor *x = tg_from_data(t, TG_F32, 1, &n, (float[]){0.1f, -1, 2});
    const float *gt = tg_data_f32(tg_gt_scalar(t, x, 0.1));
    const float *eq = tg_data_f32(tg_eq_scalar(t, x, 0.1));
    const float *le = tg_data_f32(tg_le_scalar(t, x, 0.1));
    const float *ne = tg_data_f32(tg_ne_scalar(t, x, 2));
    const float *lt = tg_data_f32(tg_lt_scalar(t, x, 0));
    const float *ge = tg_data_f32(tg_ge_scalar(t, x, 2));
    ck_assert(gt[0] == 0 && gt[1] == 0 && gt[2] == 1);
    ck_assert(eq[0] == 1 && eq[1] == 0 && eq[2] == 0);
    ck_assert(le[0] == 1 && le[1] == 1 && le[2] == 0);
    ck_assert(ne[0] == 1 && ne[1] == 1 && ne[2] == 0);
    ck_assert(lt[0] == 0 && lt[1] == 1 && lt[2] == 0);
    ck_assert(ge[0] == 0 && ge[1] == 0 && ge[2] == 1);
    tg_tensor *m = tg_gt_scalar(t, x, 0);
    ck_assert_int_eq(tg_ndim(m), 1);
    ck_assert(!tg_requires_grad(m));
    tg_tape_free(t);
}
END_TEST

START_TEST(compare_bad_input)
{
    tg_tape *t = tg_tape_new();
    int64_t s34[2] = {3, 4}, s5 = 5;
    tg_tensor *a = tg_zeros(t, TG_F32, 2, s34);
    tg_tensor *b = tg_zeros(t, TG_F32, 1, &s5);
    tg_tensor *d = tg_zeros(t, TG_F64, 2, s34);
    tg_set_requires_grad(a, true);
    int64_t size = tg_tape_size(t);
    ck_assert_null_status(tg_gt(t, a, b), TG_ESHAPE,
                          "tg_gt: shapes (3,4) and (5,) do not broadcast");
    ck_assert_null_status(tg_ne(t, a, d), TG_EDTYPE,
                          "tg_ne: inputs are f32 and f64");
    ck_assert_null_status(tg_le(NULL, a, a), TG_EINVAL, "tg_le: tape is NULL");
    tg_clear_error(); /* else a NULL input carries the last message */
    ck_assert_null_status(tg_eq(t, a, NULL), TG_EINVAL,
                          "tg_eq: tensor is NULL");
    tg_clear_error();
    ck_assert_null_status(tg_lt_scalar(t, NULL, 1), TG_EINVAL,
                          "tg_lt_scalar: tensor is NULL");
    ck_assert_null_status(tg_ge_scalar(NULL, a, 1), TG_EINVAL,
                          "tg_ge_scalar: tape is NULL");
    /* Nothing was recorded, and grad is still on. */
    ck_assert_int_eq(tg_tape_size(t), size);
    ck_assert(tg_tape_grad_enabled(t));
    tg_tape_set_grad_enabled(t, false);
    ck_assert_ptr_nonnull(tg_gt(t, a, a));
    ck_assert(!tg_tape_grad_enabled(t));
    tg_tape_free(t);
}
END_TEST

/* ---- where. */

/* relu written with ops: where(x > 0, x, 0), with relu's gradient. */
START_TEST(where_builds_relu)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = vec(t, 5, (double[]){-2, -0.5, 0, 0.5, 2});
    tg_set_requires_grad(x, true);
    tg_tensor *zero = tg_scalar(t, TG_F64, 0);
    tg_tensor *y = tg_where(t, tg_gt(t, x, zero), x, zero);
    ck_assert_ptr_nonnull(y);
    ck_assert(tg_requires_grad(y));
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    const double *v = tg_data_f64(y), *g = tg_data_f64(tg_grad(x));
    const double want_y[5] = {0, 0, 0, 0.5, 2}, want_g[5] = {0, 0, 0, 1, 1};
    for (int i = 0; i < 5; i++) {
        ck_assert(v[i] == want_y[i]);
        ck_assert(g[i] == want_g[i]);
    }
    tg_tape_free(t);
}
END_TEST

/* Only b wants a gradient: the slots of cond and a are NULL and skipped;
 * b is broadcast, so its gradient is summed. */
START_TEST(where_null_slots)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[2] = {2, 3}, one = 1;
    tg_tensor *cond = tg_from_data(t, TG_F32, 2, s23,
                                   (float[]){1, 0, NAN, -0.0f, 0, 3});
    tg_tensor *a = tg_zeros(t, TG_F32, 2, s23);
    tg_tensor *b = tg_from_data(t, TG_F32, 1, &one, (float[]){7});
    tg_set_requires_grad(b, true);
    tg_tensor *y = tg_where(t, cond, a, b);
    const float *v = tg_data_f32(y);
    ck_assert(v[0] == 0 && v[1] == 7 && v[2] == 0 && v[3] == 7 &&
              v[4] == 7 && v[5] == 0);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    ck_assert(tg_data_f32(tg_grad(b))[0] == 3);
    ck_assert_ptr_null(tg_grad(a));
    ck_assert_ptr_null(tg_grad(cond));
    tg_tape_free(t);
}
END_TEST

static tg_tensor *apply_where(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    (void)n, (void)ud;
    return tg_where(t, in[0], in[1], in[2]);
}

/* The gradient check passes; cond gets 0, and its zeros are kinks. */
START_TEST(where_gradcheck_and_kinks)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3] = {vec(t, 4, (double[]){1, 0, -2, 0}),
                        vec(t, 4, (double[]){0.3, -1.2, 2.5, 0.7}),
                        vec(t, 1, (double[]){-0.4})};
    for (int k = 0; k < 3; k++)
        tg_set_requires_grad(in[k], true);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(apply_where, NULL, 3, in, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_ambiguous, 2); /* cond's two zeros */
    tg_tape_free(t);
}
END_TEST

START_TEST(where_bad_input)
{
    tg_tape *t = tg_tape_new();
    int64_t s34[2] = {3, 4}, s5 = 5;
    tg_tensor *m = tg_zeros(t, TG_F32, 2, s34);
    tg_tensor *v5 = tg_zeros(t, TG_F32, 1, &s5);
    tg_tensor *s = tg_scalar(t, TG_F32, 1);
    tg_tensor *d = tg_zeros(t, TG_F64, 2, s34);
    tg_set_requires_grad(m, true);
    int64_t size = tg_tape_size(t);
    ck_assert_null_status(tg_where(t, m, v5, s), TG_ESHAPE,
                          "tg_where: shapes cond (3,4), a (5,) and b () do "
                          "not broadcast");
    ck_assert_null_status(tg_where(t, s, m, v5), TG_ESHAPE,
                          "cond (), a (3,4) and b (5,)");
    ck_assert_null_status(tg_where(t, d, m, m), TG_EDTYPE, "tg_where: ");
    ck_assert_null_status(tg_where(NULL, m, m, m), TG_EINVAL,
                          "tg_where: tape is NULL");
    ck_assert_int_eq(tg_tape_size(t), size);
    tg_tape_free(t);
}
END_TEST

/* ---- clamp. */

/* At the bounds clamp passes the gradient, hardtanh does not. */
START_TEST(clamp_gradient_at_bounds)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = vec(t, 5, (double[]){-1, -0.5, 0, 0.8, 1});
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_clamp(t, x, -0.5, 0.8))),
                     TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 0 && g[1] == 1 && g[2] == 1 && g[3] == 1 && g[4] == 0);
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_hardtanh(t, x, -0.5,
                                                          0.8))), TG_OK);
    g = tg_data_f64(tg_grad(x));
    ck_assert(g[1] == 0 && g[2] == 1 && g[3] == 0);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *apply_clamp(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    (void)n;
    const double *b = ud;
    return tg_clamp(t, in[0], b[0], b[1]);
}

/* Values on a bound are kinks for a gradient check; others pass. With
 * min > max nothing is a kink: the output is constant. */
START_TEST(clamp_gradcheck_and_kinks)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = vec(t, 6, (double[]){-2, -0.5, 0.1, 0.8, 3, 0.4});
    tg_set_requires_grad(x, true);
    tg_gradcheck_report r;
    double b[2] = {-0.5, 0.8};
    ck_assert_int_eq(tg_gradcheck(apply_clamp, b, 1, &x, NULL, &r), TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_ambiguous, 2);
    double reversed[2] = {1, -1};
    ck_assert_int_eq(tg_gradcheck(apply_clamp, reversed, 1, &x, NULL, &r),
                     TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_ambiguous, 0);
    const double *y = tg_data_f64(tg_clamp(t, x, 1, -1));
    for (int i = 0; i < 6; i++)
        ck_assert(y[i] == -1);
    tg_tape_free(t);
}
END_TEST

/* An f32 element equal to the bound rounded to float is on the bound. */
START_TEST(clamp_f32_bounds)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 2;
    tg_tensor *x = tg_from_data(t, TG_F32, 1, &n, (float[]){0.1f, 0.3f});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_clamp(t, x, 0.1, 0.2);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    ck_assert(tg_data_f32(y)[0] == 0.1f && tg_data_f32(y)[1] == 0.2f);
    ck_assert(tg_data_f32(tg_grad(x))[0] == 1);
    ck_assert(tg_data_f32(tg_grad(x))[1] == 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(clamp_bad_input)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = vec(t, 2, (double[]){1, 2});
    tg_set_requires_grad(x, true);
    int64_t size = tg_tape_size(t);
    ck_assert_null_status(tg_clamp(t, x, NAN, 1), TG_EINVAL,
                          "tg_clamp: bounds are nan and 1; they must not be "
                          "NaN");
    ck_assert_null_status(tg_clamp(t, x, 0, NAN), TG_EINVAL, "tg_clamp: ");
    ck_assert_null_status(tg_clamp(NULL, x, 0, 1), TG_EINVAL,
                          "tg_clamp: tape is NULL");
    ck_assert_int_eq(tg_tape_size(t), size);
    tg_tape_free(t);
}
END_TEST

/* ---- Made from a rule: full, ones, arange, eye. */

START_TEST(full_and_ones)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[2] = {2, 3};
    tg_tensor *f = tg_full(t, TG_F32, 2, s23, 0.1);
    tg_tensor *o = tg_ones(t, TG_F64, 2, s23);
    tg_tensor *s = tg_full(t, TG_F64, 0, NULL, -2.5);
    ck_assert_int_eq(tg_ndim(f), 2);
    ck_assert_int_eq(tg_shape(f)[1], 3);
    for (int i = 0; i < 6; i++) {
        ck_assert(tg_data_f32(f)[i] == 0.1f);
        ck_assert(tg_data_f64(o)[i] == 1.0);
    }
    ck_assert(tg_item(s) == -2.5 && tg_ndim(s) == 0);
    ck_assert(!tg_requires_grad(f) && tg_tape_size(t) == 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(arange_counts)
{
    tg_tape *t = tg_tape_new();
    /* ceil((end - start) / step): the last value stays below end. */
    ck_assert_int_eq(tg_numel(tg_arange(t, TG_F64, 0, 1, 0.1)), 10);
    ck_assert_int_eq(tg_numel(tg_arange(t, TG_F64, 0, 10, 3)), 4);
    ck_assert_int_eq(tg_numel(tg_arange(t, TG_F32, 0, 1, 2)), 1);
    tg_tensor *down = tg_arange(t, TG_F64, 3, 0, -1);
    ck_assert_int_eq(tg_numel(down), 3);
    ck_assert(tg_data_f64(down)[0] == 3 && tg_data_f64(down)[2] == 1);
    tg_tape_free(t);
}
END_TEST

START_TEST(fill_bad_input)
{
    tg_tape *t = tg_tape_new();
    int64_t bad[2] = {2, 0}, s2 = 2;
    ck_assert_null_status(tg_arange(t, TG_F32, 0, 1, 0), TG_EINVAL,
                          "tg_arange: step is 0");
    ck_assert_null_status(tg_arange(t, TG_F32, 0, 1, -0.5), TG_EINVAL,
                          "tg_arange: start 0, end 1, step -0.5 give no "
                          "values");
    ck_assert_null_status(tg_arange(t, TG_F64, 2, 2, 1), TG_EINVAL,
                          "give no values");
    ck_assert_null_status(tg_arange(t, TG_F64, 0, INFINITY, 1), TG_EINVAL,
                          "must be finite");
    ck_assert_null_status(tg_arange(t, TG_F64, 0, 1e300, 1e-10), TG_EINVAL,
                          "at most 2^53");
    ck_assert_null_status(tg_arange(NULL, TG_F64, 0, 1, 1), TG_EINVAL,
                          "tg_arange: tape is NULL");
    ck_assert_null_status(tg_arange(t, (tg_dtype)5, 0, 1, 1), TG_EDTYPE,
                          "tg_arange: unknown dtype 5");
    ck_assert_null_status(tg_eye(t, TG_F32, 0, 3), TG_EINVAL,
                          "tg_eye: sizes 0 and 3 must be at least 1");
    ck_assert_null_status(tg_eye(t, TG_F32, 3, INT64_MAX), TG_EINVAL,
                          "tg_eye: the shape's element count overflows");
    ck_assert_null_status(tg_full(t, TG_F32, 2, bad, 1), TG_EINVAL,
                          "tg_full: dimension 1 has size 0");
    ck_assert_null_status(tg_ones(t, TG_F32, 2, NULL), TG_EINVAL,
                          "tg_ones: shape is NULL");
    ck_assert_null_status(tg_ones(NULL, TG_F32, 1, &s2), TG_EINVAL,
                          "tg_ones: tape is NULL");
    tg_tape_free(t);
}
END_TEST

/* ---- cast and detach. */

/* An f32 input feeds an f64 computation; its gradient comes back f32. */
START_TEST(cast_mixes_dtypes)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    tg_tensor *x = tg_from_data(t, TG_F32, 1, &n, (float[]){0.1f, 2, -3});
    tg_tensor *w = vec(t, 3, (double[]){1e-10, 0.5, 2});
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_cast(t, x, TG_F64);
    ck_assert_int_eq(tg_dtype_of(y), TG_F64);
    ck_assert(tg_data_f64(y)[0] == (double)0.1f);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), TG_OK);
    const tg_tensor *g = tg_grad(x);
    ck_assert_int_eq(tg_dtype_of(g), TG_F32);
    ck_assert(tg_data_f32(g)[0] == 1e-10f && tg_data_f32(g)[2] == 2);
    /* and back: x -> f64 -> f32 adds both ways' gradients */
    tg_zero_grad(x);
    tg_tensor *z = tg_cast(t, tg_cast(t, x, TG_F64), TG_F32);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_add(t, z, x))), TG_OK);
    ck_assert(tg_data_f32(tg_grad(x))[1] == 2);
    /* the same dtype: a new tensor, gradient 1 */
    tg_tensor *c = tg_cast(t, x, TG_F32);
    ck_assert_ptr_ne(c, x);
    ck_assert(tg_data_f32(c)[0] == 0.1f && tg_requires_grad(c));
    tg_tape_free(t);
}
END_TEST

/* Only the f64 side wants a gradient: the f32 input's slot is NULL. */
START_TEST(cast_null_slot)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *a = vec(t, 2, (double[]){1, 2});
    int64_t n = 2;
    tg_tensor *b = tg_from_data(t, TG_F32, 1, &n, (float[]){3, 4});
    tg_set_requires_grad(a, true);
    tg_tensor *y = tg_sum(t, tg_mul(t, a, tg_cast(t, b, TG_F64)));
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    ck_assert(tg_data_f64(tg_grad(a))[1] == 4);
    ck_assert_ptr_null(tg_grad(b));
    tg_tape_free(t);
}
END_TEST

/* detach copies the values and cuts the history. */
START_TEST(detach_cuts_history)
{
    tg_tape *t = tg_tape_new();
    tg_tape *other = tg_tape_new();
    tg_tensor *x = vec(t, 3, (double[]){1, -2, 3});
    tg_set_requires_grad(x, true);
    tg_tensor *h = tg_mul(t, x, x);
    tg_tensor *d = tg_detach(other, h);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(tg_tape_of(d), other);
    ck_assert(!tg_requires_grad(d));
    ck_assert(tg_data_f64(d)[1] == 4);
    tg_mut_f64(d)[0] = 100; /* a copy: h is unchanged */
    ck_assert(tg_data_f64(h)[0] == 1);
    /* y = x * detach(x * x): dy/dx = x^2, not 3 x^2 */
    tg_tensor *y = tg_sum(t, tg_mul(t, x, tg_detach(t, h)));
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    ck_assert(tg_data_f64(tg_grad(x))[1] == 4);
    ck_assert(tg_data_f64(tg_grad(x))[2] == 9);
    tg_tape_free(other);
    tg_tape_free(t);
}
END_TEST

START_TEST(cast_bad_input)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = vec(t, 2, (double[]){1, 2});
    tg_set_requires_grad(x, true);
    int64_t size = tg_tape_size(t);
    ck_assert_null_status(tg_cast(t, x, (tg_dtype)7), TG_EDTYPE,
                          "tg_cast: unknown dtype 7");
    ck_assert_null_status(tg_cast(NULL, x, TG_F32), TG_EINVAL,
                          "tg_cast: tape is NULL");
    ck_assert_null_status(tg_detach(NULL, x), TG_EINVAL,
                          "tg_detach: tape is NULL");
    tg_clear_error();
    ck_assert_null_status(tg_detach(t, NULL), TG_EINVAL,
                          "tg_detach: tensor is NULL");
    ck_assert_int_eq(tg_tape_size(t), size);
    tg_tape_reset(t);
    ck_assert_null_status(tg_detach(t, x), TG_ESTATE,
                          "tg_detach: tensor was freed by a reset");
    tg_tape_free(t);
}
END_TEST

/* ---- argmax and argmin. */

START_TEST(argmax_has_no_history)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[2] = {2, 3};
    tg_tensor *x = tg_from_data(t, TG_F32, 2, s23,
                                (float[]){1, 5, 5, -1, -1, 0});
    tg_set_requires_grad(x, true);
    tg_tensor *a = tg_argmax(t, x, 1, false), *b = tg_argmin(t, x, -1, true);
    ck_assert(!tg_requires_grad(a) && !tg_requires_grad(b));
    ck_assert_int_eq(tg_tape_size(t), 0);
    ck_assert_int_eq(tg_dtype_of(a), TG_F32);
    ck_assert_int_eq(tg_ndim(a), 1);
    ck_assert_int_eq(tg_ndim(b), 2);
    ck_assert_int_eq(tg_shape(b)[1], 1);
    ck_assert(tg_data_f32(a)[0] == 1 && tg_data_f32(a)[1] == 2);
    ck_assert(tg_data_f32(b)[0] == 0 && tg_data_f32(b)[1] == 0);
    tg_tape_free(t);
}
END_TEST

/* The params of the built-in ops that take one axis, as the library lays
 * them out (src/internal.h's tg__axis_params). */
typedef struct axis_params {
    int axis;
    bool keepdim;
} axis_params;

static tg_tensor *apply_argmax(tg_tape *t, int n, tg_tensor *const *in,
                               void *ud)
{
    (void)ud;
    axis_params p = {1, false};
    tg_tensor *pos = tg_apply(t, tg_op_find("argmax"), n, in, &p);
    return tg_add(t, pos, tg_sum_axis(t, in[0], 1, false));
}

/* By hand the op is recorded; it sends zeros, and a tie is a kink. */
START_TEST(argmax_by_hand)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[2] = {2, 3};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, s23,
                                (double[]){1, 5, 5, -1, 2, 0});
    tg_set_requires_grad(x, true);
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(apply_argmax, NULL, 1, &x, NULL, &r),
                     TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_eq(r.n_ambiguous, 2); /* the two tied 5s */
    tg_tape_free(t);
}
END_TEST

START_TEST(argmax_bad_input)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[2] = {2, 3}, big = ((int64_t)1 << 24) + 1;
    tg_tensor *x = tg_zeros(t, TG_F32, 2, s23);
    ck_assert_null_status(tg_argmax(t, x, 2, false), TG_EINVAL,
                          "tg_argmax: axis 2 is out of range for shape "
                          "(2,3)");
    ck_assert_null_status(tg_argmin(NULL, x, 0, false), TG_EINVAL,
                          "tg_argmin: tape is NULL");
    tg_tensor *huge = tg_zeros(t, TG_F32, 1, &big);
    ck_assert_ptr_nonnull(huge);
    ck_assert_null_status(tg_argmin(t, huge, 0, false), TG_EINVAL,
                          "tg_argmin: x (16777217,) has 16777217 values "
                          "along the axis");
    ck_assert(tg_tape_grad_enabled(t));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_select");
    TCase *tc = tg_test_tcase("pytorch");
    tcase_add_loop_test(tc, matches_pytorch, 0, FX_N_CASES);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("compare");
    tcase_add_test(tc, mask_has_no_history);
    tcase_add_test(tc, recorded_by_hand_sends_zeros);
    tcase_add_test(tc, nan_and_signed_zero);
    tcase_add_test(tc, scalar_forms);
    tcase_add_test(tc, compare_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("where");
    tcase_add_test(tc, where_builds_relu);
    tcase_add_test(tc, where_null_slots);
    tcase_add_test(tc, where_gradcheck_and_kinks);
    tcase_add_test(tc, where_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("clamp");
    tcase_add_test(tc, clamp_gradient_at_bounds);
    tcase_add_test(tc, clamp_gradcheck_and_kinks);
    tcase_add_test(tc, clamp_f32_bounds);
    tcase_add_test(tc, clamp_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("fill");
    tcase_add_test(tc, full_and_ones);
    tcase_add_test(tc, arange_counts);
    tcase_add_test(tc, fill_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("cast");
    tcase_add_test(tc, cast_mixes_dtypes);
    tcase_add_test(tc, cast_null_slot);
    tcase_add_test(tc, detach_cuts_history);
    tcase_add_test(tc, cast_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("argmax");
    tcase_add_test(tc, argmax_has_no_history);
    tcase_add_test(tc, argmax_by_hand);
    tcase_add_test(tc, argmax_bad_input);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
