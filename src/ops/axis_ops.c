/*
 * axis_ops.c — what the backward_ops of axis ops and selecting ops share:
 * putting a reduced axis back, and the gradient of a selection (max, min,
 * maximum, minimum) as a constant mask.
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
