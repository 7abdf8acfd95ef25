/*
 * jvp.c — products built from two reverse passes (tapegrad/vjp.h):
 * forward-mode tg_jvp by the double-VJP trick, and tg_hvp.
 *
 * Both differentiate an inner product of a recorded gradient. For tg_jvp
 * the gradient is g(u) = J^T u for a stand-in u, which is linear in u, so
 * the gradient of <g(u), v> with respect to u is J v. For tg_hvp it is
 * grad f, and the gradient of <grad f, v> is H v.
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
 * <g, v> summed over i, recorded: the scalar whose gradient is the product
 * wanted. *s is NULL (and TG_OK) when it has no history: every g[i] was a
 * constant or every v[i] NULL.
 */
static int inner(tg_tape *t, int n, tg_tensor *const *g,
                 tg_tensor *const *v, tg_tensor **s)
{
    *s = NULL;
    for (int i = 0; i < n; i++) {
        if (v[i] == NULL || g[i] == NULL || !g[i]->requires_grad)
            continue;
        tg_tensor *term = tg_sum(t, tg_mul(t, g[i], v[i]));
        *s = *s == NULL ? term : tg_add(t, *s, term);
        if (*s == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

/* results[i] = the gradient of s with respect to wrt[i] (zeros without). */
static int outer(tg_tape *t, tg_tensor *s, int n, tg_tensor *const *wrt,
                 tg_tensor **results, bool create_graph)
{
    tg_vjp_options o = {create_graph, TG_UNUSED_ZEROS};
    if (s != NULL)
        return tg_vjp(t, 1, &s, NULL, n, wrt, results, &o);
    for (int i = 0; i < n; i++) {
        const tg_tensor *x = wrt[i];
        if ((results[i] = tg_zeros(t, x->dtype, x->ndim, x->shape)) == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

int tg_jvp(tg_tape *t, int n_out, tg_tensor *const *outputs, int n_in,
           tg_tensor *const *inputs, tg_tensor *const *tangents,
           tg_tensor **jvps, const tg_vjp_options *opt)
{
    /* jvps is written last: it may be the caller's outputs array. */
    if (jvps == NULL || tangents == NULL)
        return tg_set_error(TG_EINVAL, "tg_jvp: %s is NULL",
                            jvps == NULL ? "jvps" : "tangents");
    tg_tensor *stack_u[8], *stack_g[8];
    tg_tensor **u = stack_u, **g = stack_g;
    int rc = TG_OK;
    if (t != NULL && (n_out > 8 || n_in > 8)) {
        u = tg_tape_alloc(t, (size_t)(n_out > 0 ? n_out : 1) * sizeof *u);
        g = tg_tape_alloc(t, (size_t)(n_in > 0 ? n_in : 1) * sizeof *g);
        if (u == NULL || g == NULL) {
            memset(jvps, 0, (size_t)n_out * sizeof *jvps);
            return tg__error_in("tg_jvp");
        }
    }
    /* The stand-ins u_j: leaves of zeros, where the value does not matter
     * (J^T u is linear in u). */
    for (int j = 0; j < n_out && rc == TG_OK && outputs != NULL; j++) {
        rc = tg__check_tensor("tg_jvp", outputs[j]);
        if (rc == TG_OK) {
            const tg_tensor *y = outputs[j];
            u[j] = tg_zeros(t, y->dtype, y->ndim, y->shape);
            rc = u[j] == NULL ? tg__error_in("tg_jvp")
                              : tg_set_requires_grad(u[j], true);
        }
    }
    for (int i = 0; i < n_in && rc == TG_OK && inputs != NULL; i++)
        if ((rc = tg__check_tensor("tg_jvp", inputs[i])) == TG_OK)
            rc = check_like("tg_jvp", "tangent", i, tangents[i], inputs[i]);
    tg_vjp_options o = {true, TG_UNUSED_ZEROS};
    if (rc == TG_OK)
        rc = tg_vjp(t, n_out, outputs, u, n_in, inputs, g, &o);
    tg_tensor *s = NULL;
    if (rc == TG_OK)
        rc = inner(t, n_in, g, tangents, &s);
    if (rc == TG_OK)
        rc = outer(t, s, n_out, u, jvps, opt != NULL && opt->create_graph);
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
    /* hvps is written last: it may be the caller's inputs array. */
    if (hvps == NULL || vectors == NULL)
        return tg_set_error(TG_EINVAL, "tg_hvp: %s is NULL",
                            hvps == NULL ? "hvps" : "vectors");
    tg_tensor *stack_g[8], **g = stack_g;
    if (t != NULL && n_in > 8 &&
        (g = tg_tape_alloc(t, (size_t)n_in * sizeof *g)) == NULL) {
        memset(hvps, 0, (size_t)n_in * sizeof *hvps);
        return tg__error_in("tg_hvp");
    }
    int rc = TG_OK;
    for (int i = 0; i < n_in && rc == TG_OK && inputs != NULL; i++)
        if ((rc = tg__check_tensor("tg_hvp", inputs[i])) == TG_OK)
            rc = check_like("tg_hvp", "vector", i, vectors[i], inputs[i]);
    tg_vjp_options o = {true, TG_UNUSED_ZEROS};
    if (rc == TG_OK)
        rc = tg_vjp(t, 1, &f, NULL, n_in, inputs, g, &o);
    tg_tensor *s = NULL;
    if (rc == TG_OK)
        rc = inner(t, n_in, g, vectors, &s);
    if (rc == TG_OK)
        rc = outer(t, s, n_in, inputs, hvps, opt != NULL && opt->create_graph);
    if (rc != TG_OK) {
        memset(hvps, 0, (size_t)n_in * sizeof *hvps);
        return tg__error_in("tg_hvp");
    }
    return TG_OK;
}
