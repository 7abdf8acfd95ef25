/*
 * sum_axis.c — the sum along one axis.
 *
 *     sum_axis(x)[j]       = the sum of lane j (the values x[o, :, i])
 *     d sum_axis / d x[k]  = 1 for every element k of lane j
 *
 * As for sum (sum.c), every element of a lane gets the upstream gradient
 * of its lane's sum. Lanes are explained in src/tensor/axis.c.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/element.h"

/* Along an axis: y[j] = the sum of lane j, pairwise in double. */
static tg_tensor *sum_axis_forward(tg_op_ctx *c)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__set(y, j, tg__lane_sum(c->in[0], &l, j));
    return y;
}

/* Every element of lane j gets gy[j]. */
static int sum_axis_backward(tg_op_ctx *c, const tg_tensor *y,
                             const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient */
        return TG_OK;
    tg__lanes l = tg__reduction_lanes(c);
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__lane_fill(gx[0], &l, j, tg__get(gy, j));
    return TG_OK;
}

/* The same derivative with ops: gy, with the axis kept, broadcast back to
 * x's shape. */
static int sum_axis_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                 const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    const tg__axis_params *p = c->params;
    int axis = 0;
    if (tg__axis_resolve("tg_sum_axis", x, p->axis, &axis) != TG_OK)
        return tg_last_status();
    int64_t kept[TG_MAX_DIMS];
    int nd = tg__reduced_shape(x, axis, true, kept);
    tg_tensor *zeros = tg_zeros(t, tg_dtype_of(x), tg_ndim(x), tg_shape(x));
    gx[0] = tg_add(t, zeros, tg_reshape(t, gy, nd, kept));
    return tg_made(gx[0]);
}

const tg_op tg__op_sum_axis = {
    .name = "sum_axis",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = sum_axis_forward,
    .backward = sum_axis_backward,
    .backward_ops = sum_axis_backward_ops,
};

tg_tensor *tg_sum_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    return tg_apply(t, &tg__op_sum_axis, 1, &x, &p);
}
