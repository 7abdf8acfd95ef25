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
#include "tensor/element.h"

/* y[j] = the largest value of lane j. */
static tg_tensor *max_forward(tg_op_ctx *c)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    const tg_tensor *x = c->in[0];
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t ties, arg = tg__lane_arg(x, &l, j, true, &ties);
        tg__set(y, j, tg__get(x, tg__lane_base(&l, j) + arg * l.inner));
    }
    return y;
}

/* gy[j] goes to the max of lane j (split among ties for the whole-tensor
 * max); every other element gets 0. */
static int max_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    tg__lanes l = tg__reduction_lanes(c);
    bool split_ties = c->params == NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__lane_select_grad(gx[0], c->in[0], &l, j, true, split_ties,
                             tg__get(gy, j));
    return TG_OK;
}

/* The arg position within lane i, or TG_ON_KINK on a tie. */
static int64_t max_piece(const tg_op_ctx *c, const tg_tensor *y, int64_t i)
{
    (void)y;
    tg__lanes l = tg__reduction_lanes(c);
    int64_t ties, arg = tg__lane_arg(c->in[0], &l, i, true, &ties);
    return ties > 1 ? TG_ON_KINK : arg;
}

/* The same derivative with ops: gy sent to the selected elements. Which
 * ones they are is constant where the selection does not change, so the
 * mask has no derivative of its own. */
static int max_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tensor *g = tg__with_axis_kept(c, gy, "tg_max_axis");
    gx[0] = tg_mul(c->tape, tg__select_mask(c, y), g);
    return tg_made(gx[0]);
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
