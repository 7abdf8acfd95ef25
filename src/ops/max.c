/*
 * max.c — the largest element (max), or the largest along one axis
 * (max_axis).
 *
 *     max(x)            = x[a] where a is the position of the largest x
 *     d max / d x[i]    = 1 if i == a, else 0
 *
 * max is smooth except where two elements tie for largest: there the
 * gradient depends on which one is picked, and PyTorch picks differently
 * for its two calls, so we do as it does for each:
 *   - tg_max (torch.max(x), torch.amax) splits the gradient evenly among
 *     all elements equal to the max;
 *   - tg_max_axis (torch.max(x, dim).values) gives all of it to the first
 *     of them, the index torch.max(x, dim) returns.
 * A NaN is larger than everything (the max of a lane holding one is NaN,
 * and the NaN gets the gradient). The piece hook reports the arg position,
 * or TG_ON_KINK where the max is tied. Lanes: see src/tensor/axis.c.
 */
#include "tapegrad/ops.h"

#include "ops/axis_ops.h"
#include "ops/builtin.h"
#include "tensor/axis.h"

/* The kernels are shared with min.c (src/ops/axis_ops.c). */

/* y[j] = the largest value of lane j. */
static tg_tensor *max_forward(tg_op_ctx *c)
{
    return tg__select_forward(c, true);
}

/* gy[j] goes to the max of lane j (split among ties for the whole-tensor
 * max); every other element gets 0. */
static int max_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    return tg__select_backward(c, gy, gx, true);
}

/* The arg position within lane i, or TG_ON_KINK on a tie. */
static int64_t max_piece(const tg_op_ctx *c, const tg_tensor *y, int64_t i)
{
    (void)y;
    return tg__select_piece(c, i, true);
}

/* The same derivative with ops: gy sent to the selected elements, a
 * constant mask. */
static int max_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want;
    return tg__select_backward_ops(c, y, gy, gx, "tg_max_axis");
}

const tg_op tg__op_max = {
    .name = "max",
    .arity = 1,
    .forward = max_forward,
    .backward = max_backward,
    .backward_ops = max_backward_ops,
    .piece = max_piece,
};

const tg_op tg__op_max_axis = {
    .name = "max_axis",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = max_forward,
    .backward = max_backward,
    .backward_ops = max_backward_ops,
    .piece = max_piece,
};

tg_tensor *tg_max(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_max, 1, &x, NULL);
}

tg_tensor *tg_max_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    return tg_apply(t, &tg__op_max_axis, 1, &x, &p);
}
