/*
 * test_bad_input_autograd.c — bad input: backward, gradient checks,
 * gradients as tensors (tg_vjp, tg_jvp, tg_hvp) and gradgradcheck
 * (tapegrad/vjp.h, tapegrad/gradcheck.h). One row per mistake: the status
 * and the message fragment it must give back. tests/support/tg_bad_input.h
 * says how a row is run and what it must leave behind.
 */
#include "tg_bad_input.h"

/* ---- Helpers for rows that take more than one call. */

static int backward_after_reset(fx *f)
{
    tg_tensor *root = tg_sum(f->t, f->a34);
    tg_tape_reset(f->t);
    return tg_backward(f->t, root);
}

static int backward_other_tape(fx *f)
{
    tg_tape *other = tg_tape_new();
    int rc = tg_backward(other, tg_sum(f->t, f->a34));
    tg_tape_free(other);
    return rc;
}

/* Backward twice from one root: allowed, leaf gradients add up. */
static int backward_twice(fx *f)
{
    tg_tensor *root = tg_sum(f->t, tg_mul_scalar(f->t, f->a34, 3.0));
    int rc = tg_backward(f->t, root);
    if (rc == TG_OK)
        rc = tg_backward(f->t, root);
    if (rc != TG_OK)
        return rc;
    return expect(tg_data_f32(tg_grad(f->a34))[5] == 6.0f,
                  "two passes of d sum(3x)/dx accumulate to 6");
}

static int backward_grad_disabled(fx *f)
{
    tg_tape_set_grad_enabled(f->t, false);
    tg_tensor *root = tg_sum(f->t, f->a34);
    tg_tape_set_grad_enabled(f->t, true);
    return tg_backward(f->t, root);
}

/* ---- Gradient checks. */

static tg_tensor *gc_relu(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_relu(t, in[0]);
}

static tg_tensor *gc_null(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_add(t, in[0], NULL);
}

static int gradcheck_one(fx *f, tg_gradcheck_fn fn, tg_tensor *x,
                         const tg_gradcheck_options *o)
{
    tg_gradcheck_report r;
    (void)f;
    return tg_gradcheck(fn, NULL, 1, &x, o, &r);
}

static int gradcheck_eps(fx *f, double eps)
{
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.eps = eps;
    return gradcheck_one(f, gc_relu, f->d34, &o);
}

static int gradcheck_nonfinite(fx *f)
{
    tg_mut_f64(f->d34)[7] = NAN;
    return gradcheck_one(f, gc_relu, f->d34, NULL);
}

static int gradcheck_non_leaf(fx *f)
{
    return gradcheck_one(f, gc_relu, tg_relu(f->t, f->d34), NULL);
}

static int gradcheck_null_report(fx *f)
{
    return tg_gradcheck(gc_relu, NULL, 1, &f->d34, NULL, NULL);
}

/* ---- Gradients as tensors: tg_vjp, tg_jvp, tg_hvp, tg_gradgradcheck. */

/* twice(x) = 2x, f32, with a fast backward and no backward_ops: first
 * order works through it, create_graph does not. */
static void twice_into(tg_tensor *out, const tg_tensor *x)
{
    for (int64_t i = 0; i < tg_numel(x); i++) {
        if (tg_dtype_of(x) == TG_F32)
            tg_mut_f32(out)[i] = 2 * tg_data_f32(x)[i];
        else
            tg_mut_f64(out)[i] = 2 * tg_data_f64(x)[i];
    }
}

static tg_tensor *twice_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        twice_into(y, c->in[0]);
    return y;
}

static int twice_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        twice_into(gx[0], gy);
    return TG_OK;
}

static const tg_op twice_op = {
    .name = "twice", .arity = 1,
    .forward = twice_forward, .backward = twice_backward,
};

/*
 * What every row of these calls starts from: a34's gradient holds 2
 * everywhere (from a plain backward), y = sum(tanh(a34)) and the result
 * slots hold a sentinel. After the call (run): a failure must have
 * written NULL into every slot, and a34's gradient must still be 2.
 */
typedef struct grad_call {
    fx *f;
    tg_tensor *y;            /* sum(tanh(a34)), one element */
    tg_tensor *yv;           /* tanh(a34), (3, 4) */
    tg_tensor *res[10];      /* the results */
    int n_res;               /* how many of them the call writes */
} grad_call;

static void grad_call_begin(grad_call *g, fx *f, int n_res)
{
    g->f = f;
    tg_backward(f->t, tg_sum(f->t, tg_mul_scalar(f->t, f->a34, 2.0)));
    g->yv = tg_tanh(f->t, f->a34);
    g->y = tg_sum(f->t, g->yv);
    g->n_res = n_res;
    for (int i = 0; i < 10; i++)
        g->res[i] = f->s;
    tg_clear_error();
}

/* The call's status, unless it changed what it must not. */
static int grad_call_end(grad_call *g, int rc)
{
    const float *ga = tg_data_f32(tg_grad(g->f->a34));
    bool same = ga != NULL;
    for (int i = 0; same && i < 12; i++)
        same = ga[i] == 2.0f;
    bool cleared = true;
    for (int i = 0; rc != TG_OK && i < g->n_res; i++)
        cleared = cleared && g->res[i] == NULL;
    if (rc != TG_OK && (!same || !cleared)) {
        char why[200];
        snprintf(why, sizeof why, "after \"%s\": %s", tg_last_error(),
                 !same ? "the gradient of a34 changed"
                       : "a result slot was not set to NULL");
        return expect(false, why);
    }
    if (!same)
        return expect(false, "the gradient of a34 changed");
    return rc;
}

static tg_vjp_options vjp_opts(bool create_graph, tg_unused unused)
{
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = create_graph;
    o.unused = unused;
    return o;
}

/* tg_vjp of out (NULL: y) with grad_output go on tape t (NULL: f->t),
 * for n_in inputs in[] (NULL: a34). */
static int vjp_row(fx *f, tg_tape *t, int n_out, tg_tensor *out,
                   tg_tensor *go, int n_in, tg_tensor *const *in,
                   tg_vjp_options o)
{
    grad_call g;
    grad_call_begin(&g, f, n_in > 0 ? n_in : 0);
    tg_tensor *outs[1] = {out != NULL ? out : g.y}, *a[1] = {f->a34};
    tg_tensor *gos[1] = {go};
    return grad_call_end(&g, tg_vjp(t != NULL ? t : f->t, n_out, outs,
                                    go != NULL ? gos : NULL, n_in,
                                    in != NULL ? in : a, g.res, &o));
}

static int vjp_null_arrays(fx *f, int which)
{
    grad_call g;
    grad_call_begin(&g, f, which == 3 ? 0 : 1);
    tg_tensor *a[1] = {f->a34}, *outs[1] = {g.y};
    return grad_call_end(&g, tg_vjp(which == 0 ? NULL : f->t, 1,
                                    which == 1 ? NULL : outs, NULL, 1,
                                    which == 2 ? NULL : a,
                                    which == 3 ? NULL : g.res, NULL));
}

static int vjp_grad_disabled(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34};
    tg_vjp_options o = vjp_opts(true, TG_UNUSED_ERROR);
    tg_tape_set_grad_enabled(f->t, false);
    int rc = tg_vjp(f->t, 1, &g.y, NULL, 1, a, g.res, &o);
    tg_tape_set_grad_enabled(f->t, true);
    return grad_call_end(&g, rc);
}

/* y depends on a34, not on d34: what d34 gets under each choice. */
static int vjp_unused(fx *f, tg_unused unused)
{
    grad_call g;
    grad_call_begin(&g, f, 2);
    tg_tensor *in[2] = {f->a34, f->d34};
    tg_vjp_options o = vjp_opts(false, unused);
    int rc = grad_call_end(&g, tg_vjp(f->t, 1, &g.y, NULL, 2, in, g.res, &o));
    if (rc != TG_OK)
        return rc;
    double d = 1 - tanh(tg_value_at(f->a34, 5)) * tanh(tg_value_at(f->a34, 5));
    if (!(fabs(tg_value_at(g.res[0], 5) - d) < 1e-6))
        return expect(false, "the gradient of the used input is 1 - tanh^2");
    if (unused == TG_UNUSED_NULL)
        return expect(g.res[1] == NULL, "the unused input gets NULL");
    return expect(g.res[1] != NULL && tg_dtype_of(g.res[1]) == TG_F64 &&
                      tg_numel(g.res[1]) == 12 &&
                      tg_value_at(g.res[1], 11) == 0.0,
                  "the unused input gets f64 zeros of its shape");
}

/* Through twice: first order works, create_graph names the op. */
static int vjp_through_user_op(fx *f, bool create_graph)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34};
    tg_tensor *y = tg_sum(f->t, tg_exp(f->t, tg_apply(f->t, &twice_op, 1, a,
                                                       NULL)));
    tg_vjp_options o = vjp_opts(create_graph, TG_UNUSED_ERROR);
    int rc = grad_call_end(&g, tg_vjp(f->t, 1, &y, NULL, 1, a, g.res, &o));
    if (rc != TG_OK)
        return rc;
    double want = 2 * exp(2 * tg_value_at(f->a34, 7));
    return expect(fabs(tg_value_at(g.res[0], 7) - want) < 1e-5 * want,
                  "d sum(exp(twice(x))) / dx = 2 exp(2x)");
}

static int vjp_output_other_tape(fx *f)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *z = tg_scalar(other, TG_F32, 1.0);
    tg_set_requires_grad(z, true);
    int rc = vjp_row(f, NULL, 1, tg_mul_scalar(other, z, 3.0), NULL, 1, NULL,
                     tg_vjp_defaults());
    tg_tape_free(other);
    return rc;
}

static int vjp_stale_output(fx *f)
{
    tg_tensor *y = tg_sum(f->t, tg_tanh(f->t, f->a34)), *g = f->s;
    tg_tape_reset(f->t);
    tg_tensor *x = tg_scalar(f->t, TG_F32, 1);
    tg_set_requires_grad(x, true);
    int rc = tg_vjp(f->t, 1, &y, NULL, 1, &x, &g, NULL);
    return rc != TG_OK && g != NULL ? expect(false, "grads[0] not NULL") : rc;
}

/* tg_jvp of yv (or y) along tangent v for a34 (or in[]). */
static int jvp_row(fx *f, tg_tape *t, int n_out, bool vector_out, int n_in,
                   tg_tensor *const *in, tg_tensor *v, bool tangents_null,
                   bool results_null, const tg_vjp_options *o)
{
    grad_call g;
    grad_call_begin(&g, f, n_out > 0 && !results_null ? n_out : 0);
    tg_tensor *outs[1] = {vector_out ? g.yv : g.y}, *a[1] = {f->a34};
    tg_tensor *vs[9] = {v, v, v, v, v, v, v, v, v};
    return grad_call_end(&g, tg_jvp(t != NULL ? t : f->t, n_out, outs, n_in,
                                    in != NULL ? in : a,
                                    tangents_null ? NULL : vs,
                                    results_null ? NULL : g.res, o));
}

static tg_tensor *ones_like(fx *f, const tg_tensor *x)
{
    tg_tensor *v = tg_ones(f->t, tg_dtype_of(x), tg_ndim(x), tg_shape(x));
    return v;
}

static int jvp_output_no_history(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *y = tg_sum(f->t, f->b5), *a[1] = {f->a34}, *v[1] = {NULL};
    return grad_call_end(&g, tg_jvp(f->t, 1, &y, 1, a, v, g.res, NULL));
}

/* More inputs than the calls keep on the stack, with no tape. */
static int jvp_many_null_tape(fx *f)
{
    tg_tensor *in[9] = {f->a34, f->a34, f->a34, f->a34, f->a34,
                        f->a34, f->a34, f->a34, f->a34};
    return tg_jvp(NULL, 0, NULL, 9, in, in, in, NULL);
}

/* With grad disabled, tg_jvp and tg_hvp still work without create_graph
 * (their inner passes are theirs), and refuse create_graph. */
static int products_grad_disabled(fx *f, bool hvp, bool create_graph)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34}, *v[1] = {ones_like(f, f->a34)};
    tg_vjp_options o = vjp_opts(create_graph, TG_UNUSED_ERROR);
    tg_tape_set_grad_enabled(f->t, false);
    int rc = hvp ? tg_hvp(f->t, g.y, 1, a, v, g.res, &o)
                 : tg_jvp(f->t, 1, &g.y, 1, a, v, g.res, &o);
    bool still_off = !tg_tape_grad_enabled(f->t);
    tg_tape_set_grad_enabled(f->t, true);
    rc = grad_call_end(&g, rc);
    if (rc != TG_OK)
        return rc;
    /* d/dx of sum(tanh x) along ones: sum of 1 - tanh^2; H v: -2 tanh
     * (1 - tanh^2) elementwise. */
    double x = tg_value_at(f->a34, 3), th = tanh(x), want = 0;
    for (int i = 0; i < 12; i++)
        want += 1 - tanh(tg_value_at(f->a34, i)) * tanh(tg_value_at(f->a34, i));
    double got = tg_value_at(g.res[0], hvp ? 3 : 0);
    if (hvp)
        want = -2 * th * (1 - th * th);
    return expect(still_off && fabs(got - want) < 1e-5,
                  "the product with grad disabled, and the switch kept");
}

static int jvp_through_user_op(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34}, *v[1] = {ones_like(f, f->a34)};
    tg_tensor *y = tg_sum(f->t, tg_apply(f->t, &twice_op, 1, a, NULL));
    return grad_call_end(&g, tg_jvp(f->t, 1, &y, 1, a, v, g.res, NULL));
}

/* An output that does not depend on the input: zeros, as documented. */
static int jvp_unused_input(fx *f)
{
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->d34}, *v[1] = {ones_like(f, f->d34)};
    int rc = grad_call_end(&g, tg_jvp(f->t, 1, &g.yv, 1, a, v, g.res, NULL));
    if (rc != TG_OK)
        return rc;
    return expect(tg_numel(g.res[0]) == 12 && tg_value_at(g.res[0], 4) == 0,
                  "an output that does not depend on the input gets zeros");
}

/* tg_hvp of f (NULL: y) with vector v for a34 (or in[]). */
static int hvp_row(fx *f, tg_tensor *out, int n_in, tg_tensor *const *in,
                   tg_tensor *v, bool vectors_null, bool results_null)
{
    grad_call g;
    grad_call_begin(&g, f, n_in > 0 && !results_null ? n_in : 0);
    tg_tensor *a[1] = {f->a34}, *vs[1] = {v};
    return grad_call_end(&g, tg_hvp(f->t, out != NULL ? out : g.y, n_in,
                                    in != NULL ? in : a,
                                    vectors_null ? NULL : vs,
                                    results_null ? NULL : g.res, NULL));
}

static int hvp_vector_row(fx *f, int which)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *v = which == 0 ? f->b5 : which == 1 ? f->d34
                   : tg_ones(other, TG_F32, 2, (int64_t[]){3, 4});
    int rc = hvp_row(f, NULL, 1, NULL, v, false, false);
    tg_tape_free(other);
    return rc;
}

static int hvp_not_scalar(fx *f)
{
    return hvp_row(f, tg_tanh(f->t, f->a34), 1, NULL, NULL, false, false);
}

static int hvp_through_user_op(fx *f)
{
    tg_tensor *a[1] = {f->a34};
    tg_tensor *y = tg_sum(f->t, tg_tanh(f->t, tg_apply(f->t, &twice_op, 1, a,
                                                        NULL)));
    return hvp_row(f, y, 1, NULL, ones_like(f, f->a34), false, false);
}

static tg_tensor *ggc_tanh(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, in[0]);
}

static tg_tensor *ggc_mul_tanh(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_mul(t, in[0], in[1]));
}

static tg_tensor *ggc_twice(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_apply(t, &twice_op, 1, in, NULL));
}

/* An output (f) of another tape: tg_jvp, tg_hvp refuse it. */
static int products_output_other_tape(fx *f, bool hvp)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *z = tg_scalar(other, TG_F32, 1.0);
    tg_set_requires_grad(z, true);
    tg_tensor *y = tg_mul_scalar(other, z, 3.0);
    grad_call g;
    grad_call_begin(&g, f, 1);
    tg_tensor *a[1] = {f->a34}, *v[1] = {ones_like(f, f->a34)};
    int rc = hvp ? tg_hvp(f->t, y, 1, a, v, g.res, NULL)
                 : tg_jvp(f->t, 1, &y, 1, a, v, g.res, NULL);
    tg_tape_free(other);
    return grad_call_end(&g, rc);
}

/* Inputs on two tapes: gradgradcheck evaluates fn on tapes of its own, so
 * this is allowed; the check passes and the inputs are left alone. */
static int ggc_inputs_on_two_tapes(fx *f)
{
    tg_tape *other = tg_tape_new();
    tg_tensor *w = tg_scalar(other, TG_F64, 0.7);
    tg_tensor *in[2] = {f->d34, w};
    tg_gradcheck_report r;
    int rc = tg_gradgradcheck(ggc_mul_tanh, NULL, 2, in, NULL, &r);
    bool same = tg_value_at(w, 0) == 0.7 && !tg_requires_grad(w) &&
                tg_value_at(f->d34, 3) == 0.25 * 3 - 1.1;
    tg_tape_free(other);
    if (rc != TG_OK)
        return rc;
    return expect(r.passed && same, "gradgradcheck of tanh(x w) across two "
                  "tapes passes and leaves the inputs alone");
}

static int ggc_row(fx *f, tg_gradcheck_fn fn, int n, bool inputs_null,
                   bool report_null)
{
    grad_call g;
    grad_call_begin(&g, f, 0);
    tg_tensor *in[65];
    for (int i = 0; i < 65; i++)
        in[i] = f->d34;
    tg_gradcheck_report r;
    return grad_call_end(&g, tg_gradgradcheck(fn, NULL, n,
                                              inputs_null ? NULL : in, NULL,
                                              report_null ? NULL : &r));
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Backward. */                                                          \
    X(backward_null_tape, TG_EINVAL, "tg_backward: tape is NULL",            \
      tg_backward(NULL, f->s))                                               \
    X(backward_null_root, TG_EINVAL, "tg_backward: tensor is NULL",          \
      tg_backward(f->t, NULL))                                               \
    X(backward_non_scalar, TG_ESHAPE,                                        \
      "tg_backward: root has shape (3,4); it must have exactly one element", \
      tg_backward(f->t, tg_relu(f->t, f->a34)))                              \
    X(backward_other_tape, TG_ESTATE, "root belongs to another tape",        \
      backward_other_tape(f))                                                \
    X(backward_after_reset, TG_ESTATE, "tg_backward: tensor was freed by a " \
      "reset", backward_after_reset(f))                                      \
    X(backward_twice, TG_OK, "", backward_twice(f))                          \
    X(backward_no_requires_grad, TG_ESTATE, "root does not require grad",    \
      tg_backward(f->t, f->s))                                               \
    X(backward_grad_disabled, TG_ESTATE, "root does not require grad",       \
      backward_grad_disabled(f))                                             \
    X(backward_chain_keeps_first_error, TG_ESHAPE, "tg_add: shapes (3,4) "   \
      "and (5,)", tg_backward(f->t, tg_sum(f->t, tg_add(f->t, f->a34,        \
                                                        f->b5))))            \
    /* Gradient checks. */                                                   \
    X(gradcheck_null_fn, TG_EINVAL, "tg_gradcheck: fn is NULL",              \
      gradcheck_one(f, NULL, f->d34, NULL))                                  \
    X(gradcheck_null_report, TG_EINVAL, "tg_gradcheck: report is NULL",      \
      gradcheck_null_report(f))                                              \
    X(gradcheck_no_inputs, TG_EINVAL, "tg_gradcheck: n is 0",                \
      tg_gradcheck(gc_relu, NULL, 0, &f->d34, NULL,                          \
                   &(tg_gradcheck_report){0}))                               \
    X(gradcheck_f32, TG_EDTYPE, "tg_gradcheck: input 0 is f32",              \
      gradcheck_one(f, gc_relu, f->a34, NULL))                               \
    X(gradcheck_eps_zero, TG_EINVAL, "tg_gradcheck: eps is 0",               \
      gradcheck_eps(f, 0.0))                                                 \
    X(gradcheck_eps_nan, TG_EINVAL, "tg_gradcheck: eps is nan",              \
      gradcheck_eps(f, NAN))                                                 \
    X(gradcheck_eps_too_small, TG_EINVAL, "does not change",                 \
      gradcheck_eps(f, 1e-300))                                              \
    X(gradcheck_non_finite_input, TG_ENUMERIC, "tg_gradcheck: input 0 "      \
      "element 7", gradcheck_nonfinite(f))                                   \
    X(gradcheck_non_leaf, TG_EINVAL, "was made by a recorded op",            \
      gradcheck_non_leaf(f))                                                 \
    X(gradcheck_null_input, TG_EINVAL, "tg_gradcheck: input 0: tensor is "   \
      "NULL", gradcheck_one(f, gc_relu, NULL, NULL))                         \
    X(gradcheck_fn_fails, TG_EINVAL, "tg_gradcheck: the function failed",    \
      gradcheck_one(f, gc_null, f->d34, NULL))                               \
    /* Gradients as tensors (tapegrad/vjp.h) and gradgradcheck. */          \
    X(vjp_create_graph_grad_disabled, TG_EINVAL, "tg_vjp: create_graph on a " \
      "tape with grad disabled", vjp_grad_disabled(f))                       \
    X(vjp_unused_error, TG_EINVAL, "tg_vjp: input 1 is not used by the "     \
      "outputs", vjp_unused(f, TG_UNUSED_ERROR))                             \
    X(vjp_unused_null, TG_OK, "", vjp_unused(f, TG_UNUSED_NULL))             \
    X(vjp_unused_zeros, TG_OK, "", vjp_unused(f, TG_UNUSED_ZEROS))           \
    X(vjp_unused_unknown, TG_EINVAL, "tg_vjp: unknown unused option 7",      \
      vjp_row(f, NULL, 1, NULL, NULL, 1, NULL,                               \
              vjp_opts(false, (tg_unused)7)))                                \
    X(vjp_grad_output_shape, TG_ESHAPE, "tg_vjp: grad_output 0 has shape "   \
      "(5,); output 0 has (3,4)", vjp_row(f, NULL, 1, tg_tanh(f->t, f->a34), \
                                          f->b5, 1, NULL,                    \
                                          tg_vjp_defaults()))                \
    X(vjp_grad_output_dtype, TG_EDTYPE, "tg_vjp: grad_output 0 is f64; "     \
      "output 0 is f32", vjp_row(f, NULL, 1, tg_tanh(f->t, f->a34), f->d34,  \
                                 1, NULL, tg_vjp_defaults()))                \
    X(vjp_grad_output_missing, TG_EINVAL, "tg_vjp: output 0 has shape "      \
      "(3,4); give its grad_output", vjp_row(f, NULL, 1,                    \
                                              tg_tanh(f->t, f->a34), NULL,   \
                                              1, NULL, tg_vjp_defaults()))   \
    X(vjp_user_op_first_order, TG_OK, "", vjp_through_user_op(f, false))     \
    X(vjp_user_op_create_graph, TG_EINVAL, "tg_vjp: twice has no "           \
      "derivative written with ops", vjp_through_user_op(f, true))           \
    X(vjp_null_tape, TG_EINVAL, "tg_vjp: tape is NULL", vjp_null_arrays(f, 0)) \
    X(vjp_null_outputs, TG_EINVAL, "tg_vjp: outputs is NULL",                \
      vjp_null_arrays(f, 1))                                                 \
    X(vjp_null_inputs, TG_EINVAL, "tg_vjp: inputs is NULL",                  \
      vjp_null_arrays(f, 2))                                                 \
    X(vjp_null_grads, TG_EINVAL, "tg_vjp: grads is NULL",                    \
      vjp_null_arrays(f, 3))                                                 \
    X(vjp_no_outputs, TG_EINVAL, "tg_vjp: 0 outputs and 1 inputs",           \
      vjp_row(f, NULL, 0, NULL, NULL, 1, NULL, tg_vjp_defaults()))           \
    X(vjp_negative_inputs, TG_EINVAL, "tg_vjp: 1 outputs and -1 inputs",     \
      vjp_row(f, NULL, 1, NULL, NULL, -1, NULL, tg_vjp_defaults()))          \
    X(vjp_null_output, TG_EINVAL, "tg_vjp: tensor is NULL",                  \
      vjp_row(f, NULL, 1, NULL, NULL, 1, (tg_tensor *[]){NULL},              \
              tg_vjp_defaults()))                                            \
    X(vjp_output_other_tape, TG_ESTATE, "tg_vjp: output 0 belongs to "       \
      "another tape", vjp_output_other_tape(f))                               \
    X(vjp_output_without_history, TG_ESTATE, "tg_vjp: output 0 has no "      \
      "history", vjp_row(f, NULL, 1, tg_sum(f->t, f->b5), NULL, 1, NULL,     \
                         tg_vjp_defaults()))                                 \
    X(vjp_input_without_grad, TG_EINVAL, "tg_vjp: input 0 does not require " \
      "grad", vjp_row(f, NULL, 1, NULL, NULL, 1, &f->b5, tg_vjp_defaults())) \
    X(vjp_stale_output, TG_ESTATE, "tg_vjp: tensor was freed by a reset",    \
      vjp_stale_output(f))                                                   \
    X(jvp_null_tape, TG_EINVAL, "tg_jvp: tape is NULL", jvp_many_null_tape(f)) \
    X(jvp_null_tangents, TG_EINVAL, "tg_jvp: tangents is NULL",               \
      jvp_row(f, NULL, 1, false, 1, NULL, NULL, true, false, NULL))          \
    X(jvp_null_jvps, TG_EINVAL, "tg_jvp: the results array is NULL",         \
      jvp_row(f, NULL, 1, false, 1, NULL, NULL, false, true, NULL))          \
    X(jvp_no_outputs, TG_EINVAL, "tg_jvp: 0 outputs and 1 inputs",           \
      jvp_row(f, NULL, 0, false, 1, NULL, NULL, false, false, NULL))         \
    X(jvp_tangent_shape, TG_ESHAPE, "tg_jvp: tangent 0 has shape (5,); "     \
      "input 0 has (3,4)", jvp_row(f, NULL, 1, true, 1, NULL, f->b5, false, \
                                    false, NULL))                            \
    X(jvp_tangent_dtype, TG_EDTYPE, "tg_jvp: tangent 0 is f64; input 0 is "  \
      "f32", jvp_row(f, NULL, 1, true, 1, NULL, f->d34, false, false, NULL)) \
    X(jvp_input_without_grad, TG_EINVAL, "tg_jvp: input 0 does not require " \
      "grad", jvp_row(f, NULL, 1, true, 1, &f->b5, NULL, false, false,      \
                      NULL))                                                 \
    X(jvp_output_without_history, TG_ESTATE, "tg_jvp: output 0 has no "      \
      "history", jvp_output_no_history(f))                                   \
    X(jvp_grad_disabled, TG_OK, "", products_grad_disabled(f, false, false)) \
    X(jvp_create_graph_grad_disabled, TG_EINVAL, "tg_jvp: create_graph on a " \
      "tape with grad disabled", products_grad_disabled(f, false, true))     \
    X(jvp_user_op, TG_EINVAL, "tg_jvp: tg_vjp: twice has no derivative "     \
      "written with ops", jvp_through_user_op(f))                                                \
    X(jvp_unused_input, TG_OK, "", jvp_unused_input(f))                      \
    X(hvp_null_f, TG_EINVAL, "tg_hvp: tensor is NULL",                       \
      tg_hvp(f->t, NULL, 1, &f->a34, &f->a34, (tg_tensor *[1]){0}, NULL))   \
    X(hvp_f_not_scalar, TG_EINVAL, "tg_hvp: f has shape (3,4); it must "    \
      "have one element", hvp_not_scalar(f))                                 \
    X(hvp_null_vectors, TG_EINVAL, "tg_hvp: vectors is NULL",                 \
      hvp_row(f, NULL, 1, NULL, NULL, true, false))                          \
    X(hvp_null_hvps, TG_EINVAL, "tg_hvp: the results array is NULL",         \
      hvp_row(f, NULL, 1, NULL, NULL, false, true))                          \
    X(hvp_no_inputs, TG_EINVAL, "tg_hvp: 1 outputs and 0 inputs",            \
      hvp_row(f, NULL, 0, NULL, NULL, false, false))                         \
    X(hvp_vector_shape, TG_ESHAPE, "tg_hvp: vector 0 has shape (5,); input 0 " \
      "has (3,4)", hvp_vector_row(f, 0))                                    \
    X(hvp_vector_dtype, TG_EDTYPE, "tg_hvp: vector 0 is f64; input 0 is "    \
      "f32", hvp_vector_row(f, 1))                                           \
    X(hvp_grad_disabled, TG_OK, "", products_grad_disabled(f, true, false))  \
    X(hvp_create_graph_grad_disabled, TG_EINVAL, "tg_hvp: create_graph on a " \
      "tape with grad disabled", products_grad_disabled(f, true, true))      \
    X(hvp_user_op, TG_EINVAL, "tg_hvp: tg_vjp: twice has no derivative "     \
      "written with ops", hvp_through_user_op(f))                                                \
    X(gradgradcheck_null_fn, TG_EINVAL, "tg_gradgradcheck: fn is NULL",      \
      ggc_row(f, NULL, 1, false, false))                                     \
    X(gradgradcheck_null_inputs, TG_EINVAL, "tg_gradgradcheck: inputs is "   \
      "NULL", ggc_row(f, ggc_tanh, 1, true, false))                          \
    X(gradgradcheck_null_report, TG_EINVAL, "tg_gradgradcheck: report is "   \
      "NULL", ggc_row(f, ggc_tanh, 1, false, true))                          \
    X(gradgradcheck_no_inputs, TG_EINVAL, "tg_gradgradcheck: n must be "     \
      "1..64", ggc_row(f, ggc_tanh, 0, false, false))                        \
    X(gradgradcheck_65_inputs, TG_EINVAL, "tg_gradgradcheck: n must be "     \
      "1..64", ggc_row(f, ggc_tanh, 65, false, false))                       \
    X(jvp_output_other_tape, TG_ESTATE, "tg_jvp: output 0 belongs to "       \
      "another tape", products_output_other_tape(f, false))                  \
    X(hvp_f_other_tape, TG_ESTATE, "tg_hvp: output 0 belongs to another "    \
      "tape", products_output_other_tape(f, true))                           \
    X(gradgradcheck_two_tapes, TG_OK, "", ggc_inputs_on_two_tapes(f))        \
    X(gradgradcheck_user_op, TG_EINVAL, "tg_gradgradcheck: tg_gradcheck: "   \
      "the function failed at the inputs' values: tg_vjp: twice has no "     \
      "derivative written with ops",                                         \
      ggc_row(f, ggc_twice, 1, false, false))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_autograd", rows, N_ROWS);
}
