/*
 * axis_ops.c — what the backward_ops of axis ops and selecting ops share:
 * putting a reduced axis back, and the gradient of a selection (max, min,
 * maximum, minimum) as a constant mask. Also the kernels of max and min
 * (max.c and min.c hold their maths and op tables), written once with a
 * flag for which end of the lane they select.
 */
#include "tapegrad/ops.h"

#include "ops/axis_ops.h"
#include "tensor/axis.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

tg_tensor *tg__with_axis_kept(tg_op_ctx *c, tg_tensor *g, const char *fn)
{
    const tg__axis_params *p = c->params;
    if (p == NULL || p->keepdim || g == NULL)
        return g; /* a whole reduction's scalar broadcasts as it is */
    int axis = 0;
    if (tg__axis_resolve(fn, c->in[0], p->axis, &axis) != TG_OK)
        return NULL;
    int64_t kept[TG_MAX_DIMS];
    int nd = tg__reduced_shape(c->in[0], axis, true, kept);
    return tg_reshape(c->tape, g, nd, kept);
}

tg_tensor *tg__select_mask(tg_op_ctx *c, const tg_tensor *y)
{
    tg_tensor *ones = tg_empty_like(c->tape, y);
    tg_tensor *mask = tg_empty_like(c->tape, c->in[0]);
    if (ones == NULL || mask == NULL)
        return NULL;
    for (int64_t i = 0; i < ones->numel; i++)
        tg__set(ones, i, 1.0);
    if (c->op->backward(c, y, ones, &mask) != TG_OK)
        return NULL;
    return mask;
}

int tg__pick_backward_ops(tg_op_ctx *c, tg_tensor *gy, const bool *want,
                          tg_tensor **gx, bool want_max)
{
    tg_tape *t = c->tape;
    tg_tensor *a = c->in[0], *b = c->in[1];
    tg_tensor *half_tie = tg_mul_scalar(t, tg_eq(t, a, b), 0.5);
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        /* Input i loses where the other one is picked: for maximum, a
         * loses where a < b and b where a > b; minimum the other way. */
        bool a_less_loses = (i == 0) == want_max;
        tg_tensor *loses = a_less_loses ? tg_lt(t, a, b) : tg_gt(t, a, b);
        tg_tensor *slope = tg_add_scalar(t, tg_neg(t, tg_add(t, loses,
                                                             half_tie)), 1);
        gx[i] = tg_sum_to(t, tg_mul(t, gy, slope), c->in[i]);
        if (gx[i] == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

/* ---- max and min */

tg_tensor *tg__select_forward(tg_op_ctx *c, bool largest)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    const tg_tensor *x = c->in[0];
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t ties, arg = tg__lane_arg(x, &l, j, largest, &ties);
        tg__set(y, j, tg__get(x, tg__lane_base(&l, j) + arg * l.inner));
    }
    return y;
}

int tg__select_backward(tg_op_ctx *c, const tg_tensor *gy,
                        tg_tensor *const *gx, bool largest)
{
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    tg__lanes l = tg__reduction_lanes(c);
    bool split_ties = c->params == NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__lane_select_grad(gx[0], c->in[0], &l, j, largest, split_ties,
                             tg__get(gy, j));
    return TG_OK;
}

int64_t tg__select_piece(const tg_op_ctx *c, int64_t i, bool largest)
{
    tg__lanes l = tg__reduction_lanes(c);
    int64_t ties, arg = tg__lane_arg(c->in[0], &l, i, largest, &ties);
    return ties > 1 ? TG_ON_KINK : arg;
}

/* Which elements are selected is constant where the selection does not
 * change, so the mask has no derivative of its own. */
int tg__select_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            tg_tensor **gx, const char *fn)
{
    tg_tensor *g = tg__with_axis_kept(c, gy, fn);
    gx[0] = tg_mul(c->tape, tg__select_mask(c, y), g);
    return tg_made(gx[0]);
}
