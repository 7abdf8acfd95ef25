/*
 * concat.c — tensors joined end to end along one axis.
 *
 *     concat(x0, x1, ...) along axis a: y's slices along a are x0's,
 *     then x1's, and so on
 *     d root / d x_i = the slices of d root / d y that came from x_i
 *
 * Like reshape, concat only moves values, so each input's gradient is cut
 * back out of the upstream gradient from where that input went. Seen
 * around the axis (src/tensor/axis.c) as (outer, n, inner), every input
 * contributes one contiguous block of n_i * inner values to each of the
 * outer blocks of y, so forward and backward are block copies. Any number
 * of inputs (arity -1); all must have the same shape except along a.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/tensor_struct.h"

#include <string.h>

/* TG_ESHAPE unless every input matches in[0] outside the axis. */
static int check_shapes(const tg_op_ctx *c, int axis)
{
    const tg_tensor *x0 = c->in[0];
    char s0[128], si[128];
    if (x0->ndim == 0)
        return tg_set_error(TG_ESHAPE, "tg_concat: input 0 has shape (); "
                            "scalars have no axis to join along");
    for (int i = 1; i < c->n; i++) {
        const tg_tensor *x = c->in[i];
        bool ok = x->ndim == x0->ndim;
        for (int d = 0; ok && d < x->ndim; d++)
            ok = d == axis || x->shape[d] == x0->shape[d];
        if (!ok)
            return tg_set_error(TG_ESHAPE, "tg_concat: inputs 0 and %d have "
                                "shapes %s and %s, which differ outside axis "
                                "%d", i, tg_shape_str(x0, s0, sizeof s0),
                                tg_shape_str(x, si, sizeof si), axis);
    }
    return TG_OK;
}

/*
 * Copy between y's data (ydata; shaped as the output) and the inputs,
 * block by block: to_y copies each input's blocks into y (forward),
 * otherwise y's blocks back into parts[i] where it is not NULL (backward).
 */
static void copy_blocks(const tg_op_ctx *c, int axis, void *ydata,
                        tg_tensor *const *parts, bool to_y)
{
    tg__lanes l = tg__lanes_around(c->in[0], axis); /* outer, inner */
    size_t esize = tg_dtype_size(c->in[0]->dtype);
    unsigned char *yb = ydata;
    for (int64_t o = 0; o < l.outer; o++) {
        for (int i = 0; i < c->n; i++) {
            int64_t len = c->in[i]->shape[axis] * l.inner;
            size_t bytes = (size_t)len * esize;
            if (parts[i] != NULL) {
                unsigned char *pb = (unsigned char *)parts[i]->data +
                                    (size_t)(o * len) * esize;
                memcpy(to_y ? yb : pb, to_y ? pb : yb, bytes);
            }
            yb += bytes;
        }
    }
}

static tg_tensor *concat_forward(tg_op_ctx *c)
{
    const tg__axis_params *p = c->params;
    int axis;
    if (tg__axis_resolve("tg_concat", c->in[0], p->axis, &axis) != TG_OK ||
        check_shapes(c, axis) != TG_OK)
        return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, c->in[0]->shape, sizeof shape);
    shape[axis] = 0;
    for (int i = 0; i < c->n; i++)
        shape[axis] += c->in[i]->shape[axis];
    tg_tensor *y = tg_empty(c->tape, c->in[0]->dtype, c->in[0]->ndim, shape);
    if (y != NULL)
        copy_blocks(c, axis, y->data, c->in, true);
    return y;
}

/* Each input's gradient: its own blocks of the upstream gradient. */
static int concat_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const tg__axis_params *p = c->params;
    int axis;
    tg__axis_resolve("tg_concat", c->in[0], p->axis, &axis);
    copy_blocks(c, axis, gy->data, gx, false);
    return TG_OK;
}

/* The same derivative with ops: each input's part of gy, cut out with
 * tg_slice (whose own derivative pads it back with zeros). */
static int concat_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx)
{
    (void)y;
    const tg__axis_params *p = c->params;
    int axis;
    if (tg__axis_resolve("tg_concat", c->in[0], p->axis, &axis) != TG_OK)
        return tg_last_status();
    int64_t at = 0;
    for (int i = 0; i < c->n; i++) {
        int64_t len = c->in[i]->shape[axis];
        if (want[i]) {
            gx[i] = tg_slice(c->tape, gy, axis, at, at + len, 1);
            if (gx[i] == NULL)
                return tg_last_status();
        }
        at += len;
    }
    return TG_OK;
}

const tg_op tg__op_concat = {
    .name = "concat",
    .arity = -1,
    .params_size = sizeof(tg__axis_params),
    .forward = concat_forward,
    .backward = concat_backward,
    .backward_ops = concat_backward_ops,
};

tg_tensor *tg_concat(tg_tape *t, int n, tg_tensor *const *xs, int axis)
{
    tg__axis_params p = {axis, false};
    return tg_apply(t, &tg__op_concat, n, xs, &p);
}
