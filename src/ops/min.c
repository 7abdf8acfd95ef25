/*
 * min.c — the smallest element (min), or the smallest along one axis
 * (min_axis).
 *
 *     min(x)            = x[a] where a is the position of the smallest x
 *     d min / d x[i]    = 1 if i == a, else 0
 *
 * min is smooth except where two elements tie for smallest: there the
 * gradient depends on which one is picked, and PyTorch picks differently
 * for its two calls, so we do as it does for each:
 *   - tg_min (torch.min(x), torch.amin) splits the gradient evenly among
 *     all elements equal to the min;
 *   - tg_min_axis (torch.min(x, dim).values) gives all of it to the first
 *     of them, the index torch.min(x, dim) returns.
 * A NaN wins over every number (the min of a lane holding one is NaN, and
 * the NaN gets the gradient), as in PyTorch. The piece hook reports the
 * arg position, or TG_ON_KINK where the min is tied. Lanes: see src/tensor/axis.c.
 */
#include "tapegrad/ops.h"

#include "ops/axis_ops.h"
#include "ops/builtin.h"
#include "tensor/axis.h"

/* The kernels are shared with max.c (src/ops/axis_ops.c). */

/* y[j] = the smallest value of lane j. */
static tg_tensor *min_forward(tg_op_ctx *c)
{
    return tg__select_forward(c, false);
}

/* gy[j] goes to the min of lane j (split among ties for the whole-tensor
 * min); every other element gets 0. */
static int min_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    return tg__select_backward(c, gy, gx, false);
}

/* The arg position within lane i, or TG_ON_KINK on a tie. */
static int64_t min_piece(const tg_op_ctx *c, const tg_tensor *y, int64_t i)
{
    (void)y;
    return tg__select_piece(c, i, false);
}

/* The same derivative with ops: gy sent to the selected elements, a
 * constant mask. */
static int min_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want;
    return tg__select_backward_ops(c, y, gy, gx, "tg_min_axis");
}

const tg_op tg__op_min = {
    .name = "min",
    .arity = 1,
    .forward = min_forward,
    .backward = min_backward,
    .backward_ops = min_backward_ops,
    .piece = min_piece,
};

const tg_op tg__op_min_axis = {
    .name = "min_axis",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = min_forward,
    .backward = min_backward,
    .backward_ops = min_backward_ops,
    .piece = min_piece,
};

tg_tensor *tg_min(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_min, 1, &x, NULL);
}

tg_tensor *tg_min_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    return tg_apply(t, &tg__op_min_axis, 1, &x, &p);
}
