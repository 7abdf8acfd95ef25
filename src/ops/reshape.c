/*
 * reshape.c — the same values, read with another shape.
 *
 *     reshape(x, shape) holds x's values in the same row-major order
 *     d root / d x      = reshape(d root / d y, x's shape)
 *
 * Nothing moves: element i of y is element i of x, so the gradient is the
 * upstream gradient's values unchanged, read back with x's shape. One size
 * may be -1, meaning "whatever makes the element counts agree", as in
 * PyTorch. Tensors own their storage, so the values are copied: in
 * parts across the thread pool when there are enough of them (LeNet-5's
 * flatten copies 64x400 floats forward and back every step, about 10 us
 * each on one thread).
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/pool.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>
#include <string.h>

typedef struct reshape_params {
    int ndim;
    int64_t shape[TG_MAX_DIMS];   /* one may be -1 */
} reshape_params;

/* "(4,-1)" for error messages. */
static const char *sizes_str(const int64_t *shape, int n, char *buf,
                             size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < n && at < len; d++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", d ? "," : "",
                               (long long)shape[d]);
    if (at < len)
        snprintf(buf + at, len - at, n == 1 ? ",)" : ")");
    return buf;
}

/* The requested shape with its -1 filled in, into shape. TG_EINVAL for a
 * size below -1, a 0 or two -1s; TG_ESHAPE if the counts cannot agree. */
static int resolve(const tg_tensor *x, const reshape_params *p,
                   int64_t *shape)
{
    char s[128], r[160];
    int free_dim = -1;
    int64_t known = 1;
    for (int d = 0; d < p->ndim; d++) {
        shape[d] = p->shape[d];
        if (shape[d] == -1 && free_dim < 0) {
            free_dim = d;
            continue;
        }
        if (shape[d] < 1)
            return tg_set_error(TG_EINVAL, "tg_reshape: shape %s: sizes must "
                                "be positive, with at most one -1",
                                sizes_str(p->shape, p->ndim, r, sizeof r));
        if (known > x->numel / shape[d])
            known = x->numel + 1; /* more than x holds, without overflow */
        else
            known *= shape[d];
    }
    if (free_dim >= 0 && known <= x->numel && x->numel % known == 0)
        shape[free_dim] = x->numel / known;
    else if (free_dim >= 0 || known != x->numel)
        return tg_set_error(TG_ESHAPE, "tg_reshape: cannot reshape %s "
                            "(%lld elements) into %s", tg_shape_str(x, s,
                            sizeof s), (long long)x->numel,
                            sizes_str(p->shape, p->ndim, r, sizeof r));
    return TG_OK;
}

/* dst[i] = src[i] for elements [begin, end) of a given size: a part of
 * copy_values. Each element is copied alone, so where the parts fall does
 * not matter. */
typedef struct copy_job {
    char *dst;
    const char *src;
    size_t size;
} copy_job;

static void copy_part(void *job, int64_t begin, int64_t end)
{
    const copy_job *j = job;
    memcpy(j->dst + (size_t)begin * j->size, j->src + (size_t)begin * j->size,
           (size_t)(end - begin) * j->size);
}

/* n elements of dtype dt from src to dst, split like an elementwise op. */
static void copy_values(void *dst, const void *src, int64_t n, tg_dtype dt)
{
    copy_job j = {dst, src, tg_dtype_size(dt)};
    tg__parallel_for(n, 16, TG__ELEMENTWISE_PART, copy_part, &j);
}

static tg_tensor *reshape_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    const reshape_params *p = c->params;
    int64_t shape[TG_MAX_DIMS];
    if (resolve(x, p, shape) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty(c->tape, x->dtype, p->ndim, shape);
    if (y != NULL)
        copy_values(y->data, x->data, x->numel, x->dtype);
    return y;
}

/* The upstream gradient's values, in x's shape. */
static int reshape_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c;
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    copy_values(gx[0]->data, gy->data, gy->numel, gy->dtype);
    return TG_OK;
}

tg_tensor *tg__reshape_if_needed(tg_tape *t, tg_tensor *x, int ndim,
                                 const int64_t *shape)
{
    if (x != NULL && x->ndim == ndim &&
        memcmp(x->shape, shape, (size_t)ndim * sizeof *shape) == 0)
        return x;
    return tg_reshape(t, x, ndim, shape);
}

/* The same derivative with ops: gy reshaped back to x's shape. */
static int reshape_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tensor *x = c->in[0];
    gx[0] = tg_reshape(c->tape, gy, tg_ndim(x), tg_shape(x));
    return tg_made(gx[0]);
}

const tg_op tg__op_reshape = {
    .name = "reshape",
    .arity = 1,
    .params_size = sizeof(reshape_params),
    .forward = reshape_forward,
    .backward = reshape_backward,
    .backward_ops = reshape_backward_ops,
};

tg_tensor *tg_reshape(tg_tape *t, tg_tensor *x, int ndim, const int64_t *shape)
{
    reshape_params p = {ndim, {0}};
    bool bad = ndim < 0 || ndim > TG_MAX_DIMS || (ndim > 0 && shape == NULL);
    if (bad && x != NULL) { /* a NULL x carries an earlier error: keep it */
        tg__check_ndim("tg_reshape", ndim, shape, "shape");
        return NULL;
    }
    for (int d = 0; !bad && d < ndim; d++)
        p.shape[d] = shape[d];
    return tg_apply(t, &tg__op_reshape, 1, &x, &p);
}
