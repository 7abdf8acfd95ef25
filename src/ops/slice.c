/*
 * slice.c — every step-th element along one axis, Python style.
 *
 *     slice(x, axis, start, stop, step)[..., k, ...] = x[..., start + k step, ...]
 *     d root / d x = the upstream gradient scattered back into zeros at
 *                    the positions the slice read
 *
 * start, stop and step are Python's x[start:stop:step] along axis: negative
 * indices count from the end, out-of-range ones are clamped (so INT64_MAX
 * as stop means "to the end", and with a negative step INT64_MIN means "to
 * the front"), and a negative step walks backwards. The result has x's
 * shape with the axis cut to the elements chosen; as tapegrad has no empty
 * dimensions, a slice that chooses none is an error.
 *
 * The values are only moved, so forward and backward are copies. The
 * derivative written with ops (for gradients of gradients) scatters with
 * concat and reshape: the gradient is reversed first for a negative step,
 * spread with step - 1 zeros after each element for a step above 1, then
 * padded with zeros before and after. Each of those is exact, so the
 * recorded gradient equals the fast one bit for bit.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/tensor_struct.h"

#include <string.h>

typedef struct slice_params {
    int axis;
    int64_t start, stop, step;
} slice_params;

/* The resolved slice: positions start + k step for k < len, on axis. */
typedef struct span {
    int axis;
    int64_t start, step, len;
} span;

/* i clamped into [lo, hi] after counting a negative i from the end. */
static int64_t clamp_index(int64_t i, int64_t n, int64_t lo, int64_t hi)
{
    if (i < 0)
        i = i < -n ? lo : i + n;
    return i < lo ? lo : i > hi ? hi : i;
}

/* Python's slice.indices(n), and the count, or an error naming tg_slice. */
static int resolve(const tg_tensor *x, const slice_params *p, span *s)
{
    char sh[128];
    if (x->ndim == 0)
        return tg_set_error(TG_ESHAPE, "tg_slice: x has shape (); a scalar "
                            "has no axis to slice");
    if (tg__axis_resolve("tg_slice", x, p->axis, &s->axis) != TG_OK)
        return tg_last_status();
    if (p->step == 0 || p->step == INT64_MIN)
        return tg_set_error(TG_EINVAL, "tg_slice: step is %lld; it must be "
                            "nonzero (and above INT64_MIN)",
                            (long long)p->step);
    int64_t n = x->shape[s->axis];
    int64_t lo = p->step > 0 ? 0 : -1, hi = p->step > 0 ? n : n - 1;
    int64_t start = clamp_index(p->start, n, lo, hi);
    int64_t stop = clamp_index(p->stop, n, lo, hi);
    int64_t len = 0;
    if (p->step > 0 && stop > start)
        len = (stop - start - 1) / p->step + 1;
    else if (p->step < 0 && start > stop)
        len = (start - stop - 1) / -p->step + 1;
    if (len == 0)
        return tg_set_error(TG_ESHAPE, "tg_slice: [%lld:%lld:%lld] along "
                            "axis %d of x %s chooses no elements; tensors "
                            "have no empty dimensions", (long long)p->start,
                            (long long)p->stop, (long long)p->step, p->axis,
                            tg_shape_str(x, sh, sizeof sh));
    s->start = start;
    s->step = p->step;
    s->len = len;
    return TG_OK;
}

/* Copy between x (shaped as the input) and y (the slice): gather into y,
 * or scatter y back into x. */
static void copy_span(const tg_tensor *x, const span *s, unsigned char *xd,
                      unsigned char *yd, bool gather)
{
    tg__lanes l = tg__lanes_around(x, s->axis);
    size_t row = (size_t)l.inner * tg_dtype_size(x->dtype);
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t k = 0; k < s->len; k++) {
            unsigned char *xr = xd + (size_t)(o * l.n + s->start +
                                              k * s->step) * row;
            unsigned char *yr = yd + (size_t)(o * s->len + k) * row;
            memcpy(gather ? yr : xr, gather ? xr : yr, row);
        }
}

static tg_tensor *slice_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    span s;
    if (resolve(x, c->params, &s) != TG_OK)
        return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[s.axis] = s.len;
    tg_tensor *y = tg_empty(c->tape, x->dtype, x->ndim, shape);
    if (y != NULL)
        copy_span(x, &s, x->data, y->data, true);
    return y;
}

/* Zeros everywhere, then gy's rows where the slice read them. */
static int slice_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x was switched off after recording */
        return TG_OK;
    span s;
    (void)resolve(c->in[0], c->params, &s); /* forward succeeded */
    memset(gx[0]->data, 0,
           (size_t)gx[0]->numel * tg_dtype_size(gx[0]->dtype));
    copy_span(c->in[0], &s, gx[0]->data, gy->data, false);
    return TG_OK;
}

/* Zeros of shape (outer, n, inner): padding for the scatter below. */
static tg_tensor *zeros3(tg_tape *t, tg_dtype dt, int64_t outer, int64_t n,
                         int64_t inner)
{
    int64_t shape[3] = {outer, n, inner};
    return tg_zeros(t, dt, 3, shape);
}

/*
 * The same derivative with ops: gy scattered into zeros of x's shape, in
 * x's view as (outer, n, inner) around the axis. Reversing (for a negative
 * step) is tg_slice with step -1, spreading is concat with zeros along a
 * new dim and a reshape, padding is concat with zeros: all exact.
 */
static int slice_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                              const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    const tg_tensor *x = c->in[0];
    tg_dtype dt = x->dtype;
    span s;
    (void)resolve(x, c->params, &s); /* forward succeeded */
    tg__lanes l = tg__lanes_around(x, s.axis);
    int64_t v3[3] = {l.outer, s.len, l.inner};
    tg_tensor *g = tg_reshape(t, gy, 3, v3);
    int64_t first = s.start, step = s.step;
    if (step < 0) {         /* the same positions, ascending */
        first = s.start + (s.len - 1) * step;
        step = -step;
        if (s.len > 1)
            g = tg_slice(t, g, 1, -1, INT64_MIN, -1);
    }
    int64_t covered = (s.len - 1) * step + 1; /* from first to the last */
    if (step > 1 && s.len > 1) {
        int64_t v4[4] = {l.outer, s.len, 1, l.inner};
        int64_t z4[4] = {l.outer, s.len, step - 1, l.inner};
        tg_tensor *parts[2] = {tg_reshape(t, g, 4, v4), tg_zeros(t, dt, 4, z4)};
        int64_t spread[3] = {l.outer, s.len * step, l.inner};
        g = tg_reshape(t, tg_concat(t, 2, parts, 2), 3, spread);
        g = tg_slice(t, g, 1, 0, covered, 1);
    }
    tg_tensor *parts[3];
    int np = 0;
    if (first > 0)
        parts[np++] = zeros3(t, dt, l.outer, first, l.inner);
    parts[np++] = g;
    if (l.n - first - covered > 0)
        parts[np++] = zeros3(t, dt, l.outer, l.n - first - covered, l.inner);
    if (np > 1)
        g = tg_concat(t, np, parts, 1);
    gx[0] = tg_reshape(t, g, x->ndim, x->shape);
    return tg_made(gx[0]);
}

const tg_op tg__op_slice = {
    .name = "slice",
    .arity = 1,
    .params_size = sizeof(slice_params),
    .forward = slice_forward,
    .backward = slice_backward,
    .backward_ops = slice_backward_ops,
};

tg_tensor *tg_slice(tg_tape *t, tg_tensor *x, int axis, int64_t start,
                    int64_t stop, int64_t step)
{
    slice_params p = {axis, start, stop, step};
    return tg_apply(t, &tg__op_slice, 1, &x, &p);
}
