/*
 * argmax.c — where the largest (argmax) or smallest (argmin) value of each
 * lane along an axis is.
 *
 *     argmax(x, axis)[j] = the position k of the largest x[..., k, ...]
 *
 * As PyTorch: the first position on ties, and the first NaN if a lane
 * holds one (NaN beats every number, for argmin too). The positions are
 * whole numbers held in x's dtype (PyTorch gives int64), so they index
 * and compare with other tensors directly; f32 holds them exactly up to
 * 2^24, and a longer axis is refused rather than rounded. The shape is
 * x's without the axis, or with it as 1 when keepdim.
 *
 * A position is piecewise constant in x: no gradient. The entry points
 * record nothing, so the result never requires grad (as PyTorch's int64
 * result). Run through tg_apply by hand, the op's backward sends zeros,
 * and its piece function (the position itself, a kink on a tie) lets a
 * gradient check see where the position would change.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>

/* f32 holds every whole number up to 2^24 exactly. */
#define F32_EXACT ((int64_t)1 << 24)

static tg_tensor *arg_forward(tg_op_ctx *c, bool want_max)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    const tg_tensor *x = c->in[0];
    if (x->dtype == TG_F32 && l.n > F32_EXACT) {
        char s[128];
        tg_set_error(TG_EINVAL, "tg_%s: x %s has %lld values along the axis;"
                     " an f32 result holds positions exactly only up to 2^24 "
                     "(cast x to f64 first)", c->op->name,
                     tg_shape_str(x, s, sizeof s), (long long)l.n);
        return NULL;
    }
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t ties;
        tg__set(y, j, (double)tg__lane_arg(x, &l, j, want_max, &ties));
    }
    return y;
}

static tg_tensor *argmax_forward(tg_op_ctx *c)
{
    return arg_forward(c, true);
}

static tg_tensor *argmin_forward(tg_op_ctx *c)
{
    return arg_forward(c, false);
}

/* No gradient: zeros for an input that wants one. */
static int arg_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy;
    if (gx[0] != NULL && tg_grad_fill(gx[0], 0.0) != TG_OK)
        return tg_last_status();
    return TG_OK;
}

/* The same with ops: no gradient, so gx[0] stays NULL. */
static int arg_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)c, (void)y, (void)gy, (void)want, (void)gx;
    return TG_OK;
}

/* The position itself; a kink where the extreme is tied. */
static int64_t arg_piece(const tg_op_ctx *c, int64_t j, bool want_max)
{
    tg__lanes l = tg__reduction_lanes(c);
    int64_t ties;
    int64_t k = tg__lane_arg(c->in[0], &l, j, want_max, &ties);
    return ties > 1 ? TG_ON_KINK : k;
}

static int64_t argmax_piece(const tg_op_ctx *c, const tg_tensor *y,
                            int64_t j)
{
    (void)y;
    return arg_piece(c, j, true);
}

static int64_t argmin_piece(const tg_op_ctx *c, const tg_tensor *y,
                            int64_t j)
{
    (void)y;
    return arg_piece(c, j, false);
}

const tg_op tg__op_argmax = {
    .name = "argmax",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = argmax_forward,
    .backward = arg_backward,
    .backward_ops = arg_backward_ops,
    .piece = argmax_piece,
};

const tg_op tg__op_argmin = {
    .name = "argmin",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = argmin_forward,
    .backward = arg_backward,
    .backward_ops = arg_backward_ops,
    .piece = argmin_piece,
};

/* Run op with nothing recorded on t: the positions never require grad. */
static tg_tensor *arg_apply(tg_tape *t, const tg_op *op, tg_tensor *x,
                            int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    bool on = tg_tape_grad_enabled(t);
    tg_tape_set_grad_enabled(t, false);
    tg_tensor *y = tg_apply(t, op, 1, &x, &p);
    tg_tape_set_grad_enabled(t, on);
    return y;
}

tg_tensor *tg_argmax(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    return arg_apply(t, &tg__op_argmax, x, axis, keepdim);
}

tg_tensor *tg_argmin(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    return arg_apply(t, &tg__op_argmin, x, axis, keepdim);
}
