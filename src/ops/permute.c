/*
 * permute.c — reorder the dims of a tensor.
 *
 *     permute(x, dims) has dim d = x's dim dims[d]:
 *     y[i0, ..., i(n-1)] = x[j] with j[dims[d]] = i[d]
 *     d root / d x       = permute(d root / d y, inverse of dims)
 *
 * Like transpose, it only moves values; the gradient is moved back by the
 * inverse permutation (inv[dims[d]] = d). Dims may count from the end, as
 * in PyTorch. The copy is done by src/tensor/permute.c.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/tensor_check.h"
#include "tensor/permute.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>

/* The dims as the caller gave them; checked against x in forward. */
typedef struct permute_params {
    int ndim;                 /* how many dims the caller gave */
    int dims[TG_MAX_DIMS];    /* may count from the end */
} permute_params;

/* "(2,0,1)" for error messages. */
static const char *dims_str(const int *dims, int n, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < n && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, "%s%d", d ? "," : "",
                               dims[d]);
    if (at < len)
        snprintf(buf + at, len - at, n == 1 ? ",)" : ")");
    return buf;
}

/* p's dims resolved to 0..ndim-1 into perm; TG_EINVAL unless they are a
 * permutation of x's dims. */
static int resolve(const tg_tensor *x, const permute_params *p, int *perm)
{
    char s[128], d[128];
    bool seen[TG_MAX_DIMS] = {false};
    if (p->ndim != x->ndim)
        return tg_set_error(TG_EINVAL, "tg_permute: %d dims given for shape "
                            "%s, which has %d", p->ndim,
                            tg_shape_str(x, s, sizeof s), x->ndim);
    for (int i = 0; i < p->ndim; i++) {
        int v = p->dims[i] < 0 ? p->dims[i] + x->ndim : p->dims[i];
        if (v < 0 || v >= x->ndim || seen[v])
            return tg_set_error(TG_EINVAL, "tg_permute: dims %s are not a "
                                "permutation of the %d dims of shape %s",
                                dims_str(p->dims, p->ndim, d, sizeof d),
                                x->ndim, tg_shape_str(x, s, sizeof s));
        seen[v] = true;
        perm[i] = v;
    }
    return TG_OK;
}

static tg_tensor *permute_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    int perm[TG_MAX_DIMS];
    if (resolve(x, c->params, perm) != TG_OK)
        return NULL;
    int64_t shape[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[perm[d]];
    tg_tensor *y = tg_empty(c->tape, x->dtype, x->ndim, shape);
    if (y != NULL)
        tg__permute_copy(x, perm, y);
    return y;
}

/* The gradient, moved back by the inverse permutation. */
static int permute_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    int perm[TG_MAX_DIMS], inv[TG_MAX_DIMS];
    resolve(c->in[0], c->params, perm); /* forward checked them */
    for (int d = 0; d < c->in[0]->ndim; d++)
        inv[perm[d]] = d;
    tg__permute_copy(gy, inv, gx[0]);
    return TG_OK;
}

/* The same derivative with ops: gy permuted back (the inverse dims). */
static int permute_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    const permute_params *p = c->params;
    int nd = tg_ndim(c->in[0]), inverse[TG_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        inverse[(p->dims[d] % nd + nd) % nd] = d;
    gx[0] = tg_permute(c->tape, gy, nd, inverse);
    return tg_made(gx[0]);
}

const tg_op tg__op_permute = {
    .name = "permute",
    .arity = 1,
    .params_size = sizeof(permute_params),
    .forward = permute_forward,
    .backward = permute_backward,
    .backward_ops = permute_backward_ops,
};

tg_tensor *tg_permute(tg_tape *t, tg_tensor *x, int ndim, const int *dims)
{
    permute_params p = {ndim, {0}};
    bool bad = ndim < 0 || ndim > TG_MAX_DIMS || (ndim > 0 && dims == NULL);
    if (bad && x != NULL) { /* a NULL x carries an earlier error: keep it */
        tg__check_ndim("tg_permute", ndim, dims, "dims");
        return NULL;
    }
    for (int d = 0; !bad && d < ndim; d++)
        p.dims[d] = dims[d];
    return tg_apply(t, &tg__op_permute, 1, &x, &p);
}
