/*
 * logsumexp.c — log(sum(exp(x))) over all elements (logsumexp), or along
 * one axis (logsumexp_axis), without overflow.
 *
 *     lse(x)           = log(exp(x[0]) + ... + exp(x[n-1]))
 *     d lse / d x[i]   = exp(x[i]) / sum_k exp(x[k]) = exp(x[i] - lse(x))
 *
 * The gradient is the softmax of the lane. exp(1000) overflows, so the
 * forward shifts every lane by its max m first (lse(x) = m + lse(x - m),
 * see tg__lane_logsumexp), and the backward uses exp(x - lse), whose
 * exponent is never positive. Edge cases as PyTorch: a lane of all -inf
 * gives -inf (and a NaN gradient), a +inf gives +inf, a NaN gives NaN.
 */
#include "tapegrad/ops.h"

#include "ops/axis_ops.h"
#include "ops/builtin.h"
#include "tensor/element.h"
#include "tensor/lane_f32.h"

#include <math.h>

/* y[j] = the stable log-sum-exp of lane j. */
static tg_tensor *logsumexp_forward(tg_op_ctx *c)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__set(y, j, tg__lane_logsumexp(c->in[0], &l, j));
    return y;
}

/* gx = gy[j] * exp(x - y[j]) over lane j: the softmax, scaled. */
static int logsumexp_backward(tg_op_ctx *c, const tg_tensor *y,
                              const tg_tensor *gy, tg_tensor *const *gx)
{
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    const tg_tensor *x = c->in[0];
    tg__lanes l = tg__reduction_lanes(c);
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t base = tg__lane_base(&l, j);
        double g = tg__get(gy, j), lse = tg__get(y, j);
        if (tg__lane_f32(x, &l)) { /* the same, vectorised */
            tg__f32_scaled_exp((float *)gx[0]->data + base,
                               (const float *)x->data + base, l.n, g, lse);
            continue;
        }
        for (int64_t k = 0; k < l.n; k++) {
            int64_t at = base + k * l.inner;
            tg__set(gx[0], at, g * exp(tg__get(x, at) - lse));
        }
    }
    return TG_OK;
}

/* The same derivative with ops: gy * exp(x - y), the softmax of x. */
static int logsumexp_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                  const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    tg_tensor *yk = tg__with_axis_kept(c, y, "tg_logsumexp_axis");
    tg_tensor *g = tg__with_axis_kept(c, gy, "tg_logsumexp_axis");
    gx[0] = tg_mul(t, g, tg_exp(t, tg_sub(t, c->in[0], yk)));
    return tg_made(gx[0]);
}

const tg_op tg__op_logsumexp = {
    .name = "logsumexp",
    .arity = 1,
    .forward = logsumexp_forward,
    .backward = logsumexp_backward,
    .backward_ops = logsumexp_backward_ops,
};

const tg_op tg__op_logsumexp_axis = {
    .name = "logsumexp_axis",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = logsumexp_forward,
    .backward = logsumexp_backward,
    .backward_ops = logsumexp_backward_ops,
};

tg_tensor *tg_logsumexp(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_logsumexp, 1, &x, NULL);
}

tg_tensor *tg_logsumexp_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    return tg_apply(t, &tg__op_logsumexp_axis, 1, &x, &p);
}
