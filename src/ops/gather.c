/*
 * gather.c — gather (torch.gather, take_along_axis) and scatter_add, each
 * the other's derivative.
 *
 *     gather(x, axis, index)[p]          = x[p with p[axis] = index[p]]
 *     scatter_add(dst, axis, index, src) = dst, then for every position p
 *                                          of index: out[p with p[axis] =
 *                                          index[p]] += src[p]
 *     d gather / d x              = scatter_add(zeros like x, axis, index, gy)
 *     d scatter_add / d dst       = gy
 *     d scatter_add / d src       = gather(gy, axis, index)
 *
 * tapegrad's tensors hold f32 or f64 only, so index is a tensor of x's
 * dtype holding whole numbers (exact up to 2^24 in f32), as argmax gives
 * them. It has x's number of dims; index.shape[d] <= x.shape[d] for every
 * d other than axis (as PyTorch), and for scatter_add index and src have
 * the same shape (PyTorch allows a smaller index). Every index value must
 * be whole and in 0..x.shape[axis]-1: negative values are refused, as
 * PyTorch refuses them. index gets no gradient (its derivative is 0
 * wherever it is defined); a gradient asked of it is zeros.
 *
 * Both ops visit index's positions in row-major order and add in that
 * order, so the recorded derivative (one op written with the other)
 * equals the fast one bit for bit.
 */
#include "tapegrad/index.h"
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

#include <string.h>

typedef struct gather_params {
    int axis;
} gather_params;

/*
 * index's positions row by row (a row runs along its last dim): element j
 * of a row, holding k, is at x offset base + k * stride + j * step, where
 * base leaves the axis out, stride is x's along the axis, and step is 1,
 * or 0 when the axis is the last dim (then k alone moves along it).
 */
typedef struct walk {
    int ndim, axis;
    int64_t pos[TG_MAX_DIMS];      /* the row's position in index */
    int64_t shape[TG_MAX_DIMS];    /* index's */
    int64_t xstride[TG_MAX_DIMS];  /* x's (or dst's) */
    int64_t rows, cols, stride, step;
} walk;

static void walk_init(walk *w, const tg_tensor *x, const tg_tensor *index,
                      int axis)
{
    w->ndim = x->ndim;
    w->axis = axis;
    int64_t s = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        w->pos[d] = 0;
        w->shape[d] = index->shape[d];
        w->xstride[d] = s;
        s *= x->shape[d];
    }
    w->cols = index->shape[x->ndim - 1];
    w->rows = index->numel / w->cols;
    w->stride = w->xstride[axis];
    w->step = axis == x->ndim - 1 ? 0 : 1;
}

/* x's offset of the current row, the axis left out. */
static int64_t walk_base(const walk *w)
{
    int64_t o = 0;
    for (int d = 0; d < w->ndim - 1; d++)
        if (d != w->axis)
            o += w->pos[d] * w->xstride[d];
    return o;
}

static void walk_next_row(walk *w)
{
    for (int d = w->ndim - 2; d >= 0; d--) {
        if (++w->pos[d] < w->shape[d])
            return;
        w->pos[d] = 0;
    }
}

/*
 * TG_OK if index fits x along axis (resolved into *axis), src (or NULL)
 * has index's shape, and every value is a whole number in range; else the
 * error, naming fn, the shapes and the first bad value.
 */
static int check(const char *fn, const tg_tensor *x, int *axis,
                 const tg_tensor *index, const tg_tensor *src)
{
    char xs[128], is[128], ss[128]; /* the shapes, formatted on failure */
    if (x->ndim == 0)
        return tg_set_error(TG_ESHAPE, "%s: x has shape (); a scalar has no "
                            "axis to index", fn);
    if (tg__axis_resolve(fn, x, *axis, axis) != TG_OK)
        return tg_last_status();
    if (index->ndim != x->ndim)
        return tg_set_error(TG_ESHAPE, "%s: index %s and x %s have different "
                            "numbers of dims", fn,
                            tg_shape_str(index, is, sizeof is),
                            tg_shape_str(x, xs, sizeof xs));
    for (int d = 0; d < x->ndim; d++)
        if (d != *axis && index->shape[d] > x->shape[d])
            return tg_set_error(TG_ESHAPE, "%s: index %s is larger than x %s "
                                "in dim %d (only axis %d may differ)", fn,
                                tg_shape_str(index, is, sizeof is),
                                tg_shape_str(x, xs, sizeof xs), d, *axis);
    if (src != NULL &&
        (src->ndim != index->ndim ||
         memcmp(src->shape, index->shape,
                (size_t)src->ndim * sizeof *src->shape) != 0))
        return tg_set_error(TG_ESHAPE, "%s: index %s and src %s must have the "
                            "same shape", fn,
                            tg_shape_str(index, is, sizeof is),
                            tg_shape_str(src, ss, sizeof ss));
    int64_t n = x->shape[*axis];
    double top = (double)n;
    for (int64_t p = 0; p < index->numel; p++) {
        double v = tg__get(index, p); /* in range first: the cast is safe */
        if (!(v >= 0 && v < top) || (double)(int64_t)v != v)
            return tg_set_error(TG_EINVAL, "%s: index %g at position %lld of "
                                "index %s is not a whole number in 0..%lld "
                                "(axis %d of x %s)",
                                fn, v, (long long)p,
                                tg_shape_str(index, is, sizeof is),
                                (long long)(n - 1), *axis,
                                tg_shape_str(x, xs, sizeof xs));
    }
    return TG_OK;
}

/* out[x offset of p] += src[p] for every position p of index, in order. */
static void scatter_into(tg_tensor *out, int axis, const tg_tensor *index,
                         const tg_tensor *src)
{
    walk w;
    walk_init(&w, out, index, axis);
    for (int64_t r = 0, p = 0; r < w.rows; r++, p += w.cols) {
        int64_t base = walk_base(&w);
        walk_next_row(&w);
        if (out->dtype == TG_F32) {
            float *o = (float *)out->data + base;
            const float *ix = (const float *)index->data + p;
            const float *sv = (const float *)src->data + p;
            for (int64_t j = 0; j < w.cols; j++)
                o[(int64_t)ix[j] * w.stride + j * w.step] += sv[j];
        } else {
            double *o = (double *)out->data + base;
            const double *ix = (const double *)index->data + p;
            const double *sv = (const double *)src->data + p;
            for (int64_t j = 0; j < w.cols; j++)
                o[(int64_t)ix[j] * w.stride + j * w.step] += sv[j];
        }
    }
}

/* out[p] = x[x offset of p] for every position p of index. */
static void gather_into(tg_tensor *out, const tg_tensor *x, int axis,
                        const tg_tensor *index)
{
    walk w;
    walk_init(&w, x, index, axis);
    for (int64_t r = 0, p = 0; r < w.rows; r++, p += w.cols) {
        int64_t base = walk_base(&w);
        walk_next_row(&w);
        if (x->dtype == TG_F32) {
            const float *xv = (const float *)x->data + base;
            const float *ix = (const float *)index->data + p;
            float *o = (float *)out->data + p;
            for (int64_t j = 0; j < w.cols; j++)
                o[j] = xv[(int64_t)ix[j] * w.stride + j * w.step];
        } else {
            const double *xv = (const double *)x->data + base;
            const double *ix = (const double *)index->data + p;
            double *o = (double *)out->data + p;
            for (int64_t j = 0; j < w.cols; j++)
                o[j] = xv[(int64_t)ix[j] * w.stride + j * w.step];
        }
    }
}

static void zero(tg_tensor *g)
{
    if (g != NULL)
        memset(g->data, 0, (size_t)g->numel * tg_dtype_size(g->dtype));
}

static int resolved_axis(const tg_op_ctx *c)
{
    int axis;
    (void)tg__axis_resolve("", c->in[0], ((const gather_params *)c->params)->axis,
                           &axis); /* forward succeeded */
    return axis;
}

static tg_tensor *gather_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0], *index = c->in[1];
    int axis = ((const gather_params *)c->params)->axis;
    if (check("tg_gather", x, &axis, index, NULL) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty(c->tape, x->dtype, index->ndim, index->shape);
    if (y != NULL)
        gather_into(y, x, axis, index);
    return y;
}

static int gather_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    zero(gx[1]);
    if (gx[0] != NULL) {
        zero(gx[0]);
        scatter_into(gx[0], resolved_axis(c), c->in[1], gy);
    }
    return TG_OK;
}

static int gather_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0], *index = c->in[1];
    if (want[1] && tg_made(gx[1] = tg_zeros(t, index->dtype, index->ndim,
                                            index->shape)) != TG_OK)
        return tg_last_status();
    if (want[0]) {
        tg_tensor *z = tg_zeros(t, x->dtype, x->ndim, x->shape);
        gx[0] = tg_scatter_add(t, z, resolved_axis(c), index, gy);
        return tg_made(gx[0]);
    }
    return TG_OK;
}

const tg_op tg__op_gather = {
    .name = "gather",
    .arity = 2,
    .params_size = sizeof(gather_params),
    .forward = gather_forward,
    .backward = gather_backward,
    .backward_ops = gather_backward_ops,
};

tg_tensor *tg_gather(tg_tape *t, tg_tensor *x, int axis, tg_tensor *index)
{
    gather_params p = {axis};
    tg_tensor *in[2] = {x, index};
    return tg_apply(t, &tg__op_gather, 2, in, &p);
}

static tg_tensor *scatter_add_forward(tg_op_ctx *c)
{
    const tg_tensor *dst = c->in[0], *index = c->in[1], *src = c->in[2];
    int axis = ((const gather_params *)c->params)->axis;
    if (check("tg_scatter_add", dst, &axis, index, src) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty_like(c->tape, dst);
    if (y != NULL) {
        memcpy(y->data, dst->data,
               (size_t)dst->numel * tg_dtype_size(dst->dtype));
        scatter_into(y, axis, index, src);
    }
    return y;
}

static int scatter_add_backward(tg_op_ctx *c, const tg_tensor *y,
                                const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    zero(gx[1]);
    if (gx[0] != NULL)
        memcpy(gx[0]->data, gy->data,
               (size_t)gy->numel * tg_dtype_size(gy->dtype));
    if (gx[2] != NULL)
        gather_into(gx[2], gy, resolved_axis(c), c->in[1]);
    return TG_OK;
}

static int scatter_add_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                    const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    tg_tensor *index = c->in[1];
    if (want[0])
        gx[0] = gy;
    if (want[1] && tg_made(gx[1] = tg_zeros(t, index->dtype, index->ndim,
                                            index->shape)) != TG_OK)
        return tg_last_status();
    if (want[2])
        return tg_made(gx[2] = tg_gather(t, gy, resolved_axis(c), index));
    return TG_OK;
}

const tg_op tg__op_scatter_add = {
    .name = "scatter_add",
    .arity = 3,
    .params_size = sizeof(gather_params),
    .forward = scatter_add_forward,
    .backward = scatter_add_backward,
    .backward_ops = scatter_add_backward_ops,
};

tg_tensor *tg_scatter_add(tg_tape *t, tg_tensor *dst, int axis,
                          tg_tensor *index, tg_tensor *src)
{
    gather_params p = {axis};
    tg_tensor *in[3] = {dst, index, src};
    return tg_apply(t, &tg__op_scatter_add, 3, in, &p);
}
