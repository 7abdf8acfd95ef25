/*
 * jvp.c — products built from two reverse passes (tapegrad/vjp.h):
 * forward-mode tg_jvp by the double-VJP trick, and tg_hvp.
 *
 * Both differentiate a recorded gradient g along v: a second tg_vjp of g
 * with v as its grad_output gives the gradient of <g, v> (v held
 * constant). For tg_jvp the gradient is g(u) = J^T u for a stand-in u,
 * which is linear in u, so the gradient of <g(u), v> with respect to u is
 * J v. For tg_hvp it is grad f, and the gradient of <grad f, v> is H v.
 */
#include "tapegrad/ops.h"
#include "tapegrad/vjp.h"

#include "tensor/error_internal.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

/* TG_ESHAPE / TG_EDTYPE naming fn unless v is NULL or shaped like x. */
static int check_like(const char *fn, const char *what, int i,
                      const tg_tensor *v, const tg_tensor *x)
{
    if (v == NULL)
        return TG_OK;
    int rc = tg__check_read(fn, v);
    if (rc != TG_OK)
        return rc;
    char a[96], b[96];
    if (v->dtype != x->dtype)
        return tg_set_error(TG_EDTYPE, "%s: %s %d is %s; input %d is %s", fn,
                            what, i, tg_dtype_name(v->dtype), i,
                            tg_dtype_name(x->dtype));
    if (!tg__same_shape(v, x))
        return tg_set_error(TG_ESHAPE, "%s: %s %d has shape %s; input %d has "
                            "%s", fn, what, i, tg_shape_str(v, a, sizeof a),
                            i, tg_shape_str(x, b, sizeof b));
    return TG_OK;
}

/*
 * Everything tg_jvp and tg_hvp are given, checked before anything is made
 * (so that a failure changes nothing): n_out outputs (f for tg_hvp), n_in
 * inputs with a vector each (vec names it), results to write.
 */
static int check_args(const char *fn, tg_tape *t, int n_out,
                      tg_tensor *const *outputs, int n_in,
                      tg_tensor *const *inputs, tg_tensor *const *vecs,
                      const char *vec, const void *results,
                      const tg_vjp_options *opt)
{
    if (t == NULL || outputs == NULL || inputs == NULL || vecs == NULL ||
        results == NULL)
        return tg_set_error(TG_EINVAL, "%s: %s%s is NULL", fn,
                            t == NULL ? "tape" : outputs == NULL ? "outputs"
                            : inputs == NULL ? "inputs"
                            : vecs == NULL ? vec : "the results array",
                            t != NULL && outputs != NULL && inputs != NULL &&
                                    vecs == NULL ? "s" : "");
    if (n_out < 1 || n_in < 1)
        return tg_set_error(TG_EINVAL, "%s: %d outputs and %d inputs; there "
                            "must be at least one of each", fn, n_out, n_in);
    if (opt != NULL && opt->create_graph && !tg_tape_grad_enabled(t))
        return tg_set_error(TG_EINVAL, "%s: create_graph on a tape with grad "
                            "disabled (tg_tape_set_grad_enabled)", fn);
    for (int j = 0; j < n_out; j++) {
        int rc = tg__check_tensor(fn, outputs[j]);
        if (rc != TG_OK)
            return rc;
        if (outputs[j]->tape != t || outputs[j]->creator < 0)
            return tg_set_error(TG_ESTATE, "%s: output %d %s", fn, j,
                                outputs[j]->tape != t
                                    ? "belongs to another tape"
                                    : "has no history: nothing it was made "
                                      "from requires grad");
    }
    for (int i = 0; i < n_in; i++) {
        int rc = tg__check_tensor(fn, inputs[i]);
        if (rc != TG_OK)
            return rc;
        if (!inputs[i]->requires_grad)
            return tg_set_error(TG_EINVAL, "%s: input %d does not require "
                                "grad", fn, i);
        if ((rc = check_like(fn, vec, i, vecs[i], inputs[i])) != TG_OK)
            return rc;
    }
    return TG_OK;
}

/* n pointers: stack[] when they fit, else t's arena. */
static tg_tensor **table(tg_tape *t, int n, tg_tensor **stack, int fits)
{
    if (n <= fits)
        return stack;
    return tg_tape_alloc(t, (size_t)n * sizeof *stack);
}

/*
 * The second pass: results[k] = the gradient of sum_i <g[i], v[i]> with
 * respect to wrt[k], as tg_vjp of the gradients g[i] with grad_outputs v[i]
 * (so v is a constant of the product, as PyTorch's autograd.functional
 * takes it, and no inner product is recorded). A g[i] that is not made by
 * an op is a stand-in u_j passed through unchanged (tg_jvp of an output
 * that is its input): its term's gradient is v[i] for that u_j. Results
 * are written last (for tg_hvp, results may be the caller's inputs).
 */
static int second_pass(tg_tape *t, int n, tg_tensor *const *g,
                       tg_tensor *const *v, int n_wrt, tg_tensor *const *wrt,
                       tg_tensor **results, bool create_graph)
{
    tg_tensor *so[8], *sv[8], *sr[8];
    tg_tensor **outs = table(t, n, so, 8), **seeds = table(t, n, sv, 8);
    tg_tensor **r = table(t, n_wrt, sr, 8);
    if (outs == NULL || seeds == NULL || r == NULL)
        return tg_last_status();
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (v[i] == NULL || g[i] == NULL || !g[i]->requires_grad ||
            g[i]->creator < 0 || g[i]->tape != t)
            continue;
        outs[m] = g[i];
        seeds[m++] = v[i];
    }
    tg_vjp_options o = {create_graph, TG_UNUSED_ZEROS};
    int rc = TG_OK;
    if (m > 0) {
        rc = tg_vjp(t, m, outs, seeds, n_wrt, wrt, r, &o);
    } else {
        for (int k = 0; k < n_wrt && rc == TG_OK; k++)
            r[k] = tg_zeros(t, wrt[k]->dtype, wrt[k]->ndim, wrt[k]->shape);
        for (int k = 0; k < n_wrt && rc == TG_OK; k++)
            rc = r[k] == NULL ? tg_last_status() : TG_OK;
    }
    bool recording = tg_tape_grad_enabled(t);
    tg_tape_set_grad_enabled(t, create_graph);
    for (int i = 0; i < n && rc == TG_OK; i++) {
        if (v[i] == NULL || g[i] == NULL || !g[i]->requires_grad ||
            g[i]->creator >= 0)
            continue;
        for (int k = 0; k < n_wrt && rc == TG_OK; k++)
            if (wrt[k] == g[i] && (r[k] = tg_add(t, r[k], v[i])) == NULL)
                rc = tg_last_status();
    }
    tg_tape_set_grad_enabled(t, recording);
    if (rc == TG_OK)
        memcpy(results, r, (size_t)n_wrt * sizeof *r);
    return rc;
}

/* The two passes: g = the recorded gradient of outputs (weighted by u, or
 * 1 for f), then the second pass. The first records whatever the tape's
 * switch says (the second differentiates it); only create_graph decides
 * whether the results have a history. */
static int two_passes(tg_tape *t, int n_out, tg_tensor *const *outputs,
                      tg_tensor *const *u, int n_in, tg_tensor *const *inputs,
                      tg_tensor *const *vecs, tg_tensor **g, int n_wrt,
                      tg_tensor *const *wrt, tg_tensor **results,
                      bool create_graph)
{
    bool was = tg_tape_grad_enabled(t);
    tg_tape_set_grad_enabled(t, true);
    tg_vjp_options o = {true, TG_UNUSED_ZEROS};
    int rc = tg_vjp(t, n_out, outputs, u, n_in, inputs, g, &o);
    if (rc == TG_OK)
        rc = second_pass(t, n_in, g, vecs, n_wrt, wrt, results, create_graph);
    tg_tape_set_grad_enabled(t, was);
    return rc;
}

int tg_jvp(tg_tape *t, int n_out, tg_tensor *const *outputs, int n_in,
           tg_tensor *const *inputs, tg_tensor *const *tangents,
           tg_tensor **jvps, const tg_vjp_options *opt)
{
    int rc = check_args("tg_jvp", t, n_out, outputs, n_in, inputs, tangents,
                        "tangent", jvps, opt);
    if (rc != TG_OK) {
        if (jvps != NULL && n_out > 0)
            memset(jvps, 0, (size_t)n_out * sizeof *jvps);
        return rc;
    }
    /* jvps is written last: it may be the caller's outputs array. */
    tg_tensor *stack_u[8], *stack_g[8];
    tg_tensor **u = table(t, n_out, stack_u, 8), **g = table(t, n_in, stack_g,
                                                               8);
    rc = u == NULL || g == NULL ? tg__error_in("tg_jvp") : TG_OK;
    /* The stand-ins u_j: leaves of zeros, where the value does not matter
     * (J^T u is linear in u). */
    for (int j = 0; j < n_out && rc == TG_OK; j++) {
        const tg_tensor *y = outputs[j];
        u[j] = tg_zeros(t, y->dtype, y->ndim, y->shape);
        rc = u[j] == NULL ? tg_last_status()
                          : tg_set_requires_grad(u[j], true);
    }
    if (rc == TG_OK)
        rc = two_passes(t, n_out, outputs, u, n_in, inputs, tangents, g,
                        n_out, u, jvps, opt != NULL && opt->create_graph);
    if (rc != TG_OK) {
        memset(jvps, 0, (size_t)n_out * sizeof *jvps);
        return tg__error_in("tg_jvp");
    }
    return TG_OK;
}

int tg_hvp(tg_tape *t, tg_tensor *f, int n_in, tg_tensor *const *inputs,
           tg_tensor *const *vectors, tg_tensor **hvps,
           const tg_vjp_options *opt)
{
    int rc = check_args("tg_hvp", t, 1, &f, n_in, inputs, vectors, "vector",
                        hvps, opt);
    if (rc == TG_OK && f->numel != 1) {
        char a[96];
        rc = tg_set_error(TG_EINVAL, "tg_hvp: f has shape %s; it must have "
                          "one element", tg_shape_str(f, a, sizeof a));
    }
    if (rc != TG_OK) {
        if (hvps != NULL && n_in > 0)
            memset(hvps, 0, (size_t)n_in * sizeof *hvps);
        return rc;
    }
    /* hvps is written last: it may be the caller's inputs array. */
    tg_tensor *stack_g[8], **g = table(t, n_in, stack_g, 8);
    rc = g == NULL ? tg__error_in("tg_hvp")
                   : two_passes(t, 1, &f, NULL, n_in, inputs, vectors, g,
                                n_in, inputs, hvps,
                                opt != NULL && opt->create_graph);
    if (rc != TG_OK) {
        memset(hvps, 0, (size_t)n_in * sizeof *hvps);
        return tg__error_in("tg_hvp");
    }
    return TG_OK;
}
