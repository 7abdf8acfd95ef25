/*
 * mean.c — the mean of all elements (mean), or along one axis (mean_axis).
 *
 *     mean(x)          = (x[0] + ... + x[n-1]) / n
 *     d mean / d x[i]  = 1 / n
 *
 * It is sum scaled by 1/n, lane by lane (see src/tensor/axis.c): each
 * element of a lane gets the upstream gradient of its lane's mean divided
 * by the lane's length. The whole-tensor mean is the one lane of all
 * elements.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/element.h"

/* y[j] = the sum of lane j (pairwise, in double) divided by its length. */
static tg_tensor *mean_forward(tg_op_ctx *c)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__set(y, j, tg__lane_sum(c->in[0], &l, j) / (double)l.n);
    return y;
}

/* Every element of lane j gets gy[j] / n. */
static int mean_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    tg__lanes l = tg__reduction_lanes(c);
    if (c->params == NULL) /* the mean of everything: one value, as sum.c */
        return tg_grad_fill(gx[0], tg__get(gy, 0) / (double)l.n);
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__lane_fill(gx[0], &l, j, tg__get(gy, j) / (double)l.n);
    return TG_OK;
}

/* The same derivative with ops: gy / n, with the axis kept, broadcast
 * back to x's shape. */
static int mean_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg__lanes l = tg__reduction_lanes(c);
    tg_tensor *g = tg_mul_scalar(t, gy, 1.0 / (double)l.n);
    const tg__axis_params *p = c->params;
    if (p != NULL) { /* mean_axis: put the reduced axis back as size 1 */
        int axis = 0;
        if (tg__axis_resolve("tg_mean_axis", x, p->axis, &axis) != TG_OK)
            return tg_last_status();
        int64_t kept[TG_MAX_DIMS];
        int nd = tg__reduced_shape(x, axis, true, kept);
        g = tg_reshape(t, g, nd, kept);
    }
    tg_tensor *zeros = tg_zeros(t, tg_dtype_of(x), tg_ndim(x), tg_shape(x));
    gx[0] = tg_add(t, zeros, g);
    return tg_made(gx[0]);
}

const tg_op tg__op_mean = {
    .name = "mean",
    .arity = 1,
    .forward = mean_forward,
    .backward = mean_backward,
    .backward_ops = mean_backward_ops,
};

const tg_op tg__op_mean_axis = {
    .name = "mean_axis",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = mean_forward,
    .backward = mean_backward,
    .backward_ops = mean_backward_ops,
};

tg_tensor *tg_mean(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_mean, 1, &x, NULL);
}

tg_tensor *tg_mean_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    return tg_apply(t, &tg__op_mean_axis, 1, &x, &p);
}
