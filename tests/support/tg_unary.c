/*
 * tg_unary.c — the fixture checks shared by the unary op suites.
 */
#include "tg_unary.h"

#include <float.h>
#include <stdio.h>

#include "tg_test.h"

double tg_unary_rtol(tg_dtype dt)
{
    return dt == TG_F32 ? 8 * FLT_EPSILON : 8 * DBL_EPSILON;
}

tg_unary_fn tg_unary_find(const tg_unary_entry *table, int n,
                          const unary_case *c)
{
    for (int i = 0; i < n; i++)
        if (strcmp(table[i].op, c->op) == 0)
            return table[i].fn;
    ck_abort_msg("no caller for op %s", c->op);
    return NULL;
}

int tg_unary_count_f64(const unary_case *cases, int n)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += cases[i].dtype == TG_F64;
    return count;
}

const unary_case *tg_unary_nth_f64(const unary_case *cases, int n, int k)
{
    for (int i = 0; i < n; i++)
        if (cases[i].dtype == TG_F64 && k-- == 0)
            return &cases[i];
    ck_abort_msg("no f64 case number %d", k);
    return NULL;
}

/* "elu f32 (0.5, 0)", for messages. */
static const char *label(const unary_case *c)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "%s %s (%g, %g)", c->op,
             tg_dtype_name(c->dtype), c->p[0], c->p[1]);
    return buf;
}

/*
 * Whether got is want up to rounding: NaN for NaN, infinities exactly,
 * else within rtol of the larger of |want| and the error scale, plus the
 * smallest normal number (subnormal results carry no relative accuracy).
 */
static bool matches(double got, double want, double scale, tg_dtype dt)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    double tiny = dt == TG_F32 ? FLT_MIN : DBL_MIN;
    return fabs(got - want) <= tg_unary_rtol(dt) * fmax(fabs(want), scale) +
                                   tiny;
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

/* The case's points as a 1-D tensor of its dtype (f32 points are floats). */
static tg_tensor *points(tg_tape *t, const unary_case *c)
{
    int64_t n = c->n;
    tg_tensor *x = tg_empty(t, c->dtype, 1, &n);
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < c->n; i++) {
        if (c->dtype == TG_F32)
            tg_mut_f32(x)[i] = (float)c->pts[i].x;
        else
            tg_mut_f64(x)[i] = c->pts[i].x;
    }
    return x;
}

void tg_unary_check_forward(const unary_case *c, tg_unary_fn f)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *y = f(t, points(t, c), c->p);
    ck_assert_msg(y != NULL, "%s: %s", label(c), tg_last_error());
    ck_assert_int_eq(tg_ndim(y), 1);
    ck_assert_int_eq(tg_numel(y), c->n);
    ck_assert_int_eq(tg_dtype_of(y), c->dtype);
    for (int i = 0; i < c->n; i++) {
        const unary_point *q = &c->pts[i];
        ck_assert_msg(matches(at(y, i), q->y, q->y_scale, c->dtype),
                      "%s at x = %.9g: y = %.17g, PyTorch %.17g", label(c),
                      q->x, at(y, i), q->y);
    }
    tg_tape_free(t);
}

/* Run backward from root and return x's gradient. */
static const tg_tensor *gradient(tg_tape *t, tg_tensor *x, tg_tensor *root,
                                 const unary_case *c)
{
    ck_assert_msg(root != NULL, "%s: %s", label(c), tg_last_error());
    int rc = tg_backward(t, root);
    ck_assert_msg(rc == TG_OK, "%s: backward: %s", label(c), tg_last_error());
    const tg_tensor *g = tg_grad(x);
    ck_assert_ptr_nonnull(g);
    return g;
}

void tg_unary_check_gradient(const unary_case *c, tg_unary_fn f)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = points(t, c);
    tg_set_requires_grad(x, true);
    const tg_tensor *g = gradient(t, x, tg_sum(t, f(t, x, c->p)), c);
    for (int i = 0; i < c->n; i++) {
        const unary_point *q = &c->pts[i];
        ck_assert_msg(matches(at(g, i), q->d, q->d_scale, c->dtype),
                      "%s at x = %.9g: dy/dx = %.17g, PyTorch %.17g",
                      label(c), q->x, at(g, i), q->d);
    }
    tg_tape_free(t);
}

/* Upstream weights of both signs and several magnitudes, exact in f32. */
static double weight(int i)
{
    return (i % 2 ? -1.0 : 1.0) * (0.25 + 0.75 * (i % 5));
}

void tg_unary_check_chain(const unary_case *c, tg_unary_fn f)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = points(t, c);
    tg_set_requires_grad(x, true);
    double w[TG_UNARY_MAX_POINTS];
    ck_assert_int_le(c->n, TG_UNARY_MAX_POINTS);
    for (int i = 0; i < c->n; i++)
        w[i] = weight(i);
    const tg_tensor *g = gradient(t, x, tg_test_dot(t, f(t, x, c->p), w), c);
    for (int i = 0; i < c->n; i++) {
        const unary_point *q = &c->pts[i];
        double want = w[i] * q->d;   /* may overflow f32, as the op does */
        if (c->dtype == TG_F32)
            want = (float)want;
        ck_assert_msg(matches(at(g, i), want, fabs(w[i]) * q->d_scale,
                              c->dtype),
                      "%s at x = %.9g with upstream %g: gradient %.17g, "
                      "expected %.17g", label(c), q->x, w[i], at(g, i), want);
    }
    tg_tape_free(t);
}

typedef struct call {
    const unary_case *c;
    tg_unary_fn f;
} call;

static tg_tensor *apply(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    const call *k = ud;
    return k->f(t, in[0], k->c->p);
}

/*
 * One point at a time: a gradient check reduces the output to one number,
 * and exp(40) in the same sum would drown exp(-40)'s share of it.
 */
int64_t tg_unary_gradcheck(const unary_case *c, tg_unary_fn f,
                           bool (*want_point)(const unary_case *c, double x))
{
    ck_assert_int_eq(c->dtype, TG_F64);
    call k = {c, f};
    int64_t ambiguous = 0, checked = 0;
    for (int i = 0; i < c->n; i++) {
        double v = c->pts[i].x;
        if (!isfinite(v) || fabs(v) > 50 || (want_point && !want_point(c, v)))
            continue;
        tg_tape *t = tg_tape_new();
        tg_tensor *x = tg_scalar(t, TG_F64, v);
        tg_gradcheck_report r;
        int rc = tg_gradcheck(apply, &k, 1, &x, NULL, &r);
        ck_assert_msg(rc == TG_OK, "%s at x = %.17g: gradcheck: %s", label(c),
                      v, tg_last_error());
        ck_assert_msg(r.passed, "%s at x = %.17g: %s", label(c), v, r.message);
        ambiguous += r.n_ambiguous;
        checked++;
        tg_tape_free(t);
    }
    ck_assert_int_gt(checked, 10);
    return ambiguous;
}
