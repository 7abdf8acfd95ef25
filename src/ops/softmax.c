/*
 * softmax.c — the softmax along one axis.
 *
 *     softmax(x)[i]          = exp(x[i]) / sum_k exp(x[k])
 *     d root / d x[i]        = y[i] * (g[i] - sum_k g[k] y[k])
 *
 * with y the softmax and g the upstream gradient (the Jacobian is
 * diag(y) - y y^T, applied to g without forming it). exp(x) overflows for
 * x above ~709 (f64) or ~88 (f32), so every lane is shifted by its max m
 * first: exp(x - m) is at most 1 and the ratio is unchanged. As in
 * PyTorch, a lane of all -inf or holding +inf or NaN gives NaN. Lanes: see
 * src/tensor/axis.c.
 */
#include "tapegrad/ops.h"

#include "hot.h"
#include "ops/builtin.h"
#include "tensor/element.h"
#include "tensor/lane_f32.h"

#include <math.h>

/* Resolve the axis; the lanes are those around it. */
static int lanes_of(const tg_op_ctx *c, tg__lanes *l)
{
    const tg__axis_params *p = c->params;
    int axis;
    int rc = tg__axis_resolve("tg_softmax", c->in[0], p->axis, &axis);
    if (rc == TG_OK)
        *l = tg__lanes_around(c->in[0], axis);
    return rc;
}

/*
 * y = exp(x - m) / s, lane by lane, m the lane's max (NaN if it holds one,
 * which makes the lane NaN): the exponentials go into y as they are
 * summed, then the lane is scaled by 1 / s, so each costs one exp (the
 * expensive part).
 */
static tg_tensor *softmax_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    tg__lanes l;
    if (lanes_of(c, &l) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty_like(c->tape, x);
    if (y == NULL)
        return NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t base = tg__lane_base(&l, j);
        double m = tg__lane_max(x, &l, j), s = 0;
        if (tg__lane_f32(x, &l)) { /* the same, vectorised */
            float *ys = (float *)y->data + base;
            s = tg__f32_exp_into(ys, (const float *)x->data + base, l.n, m);
            tg__f32_scale(ys, l.n, 1.0 / s);
            continue;
        }
        for (int64_t k = 0; k < l.n; k++) {
            int64_t at = base + k * l.inner;
            double e = exp(tg__get(x, at) - m);
            tg__set(y, at, e);
            s += e;
        }
        double inv = 1.0 / s;
        for (int64_t k = 0; k < l.n; k++)
            tg__set(y, base + k * l.inner, tg__get(y, base + k * l.inner) * inv);
    }
    return y;
}

/* One contiguous f32 lane of softmax_backward, typed so it vectorises. */
TG__HOT static void softmax_backward_f32(float *restrict gx,
                                         const float *restrict y,
                                         const float *restrict g, int64_t n)
{
    double dot = tg__f32_dot(g, y, n);
    for (int64_t k = 0; k < n; k++)
        gx[k] = (float)((double)y[k] * ((double)g[k] - dot));
}

/* gx = y * (g - sum(g * y)), lane by lane. */
static int softmax_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    tg__lanes l = {0, 0, 0};
    lanes_of(c, &l); /* forward checked the axis */
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t base = tg__lane_base(&l, j);
        if (tg__lane_f32(y, &l)) {
            softmax_backward_f32((float *)gx[0]->data + base,
                         (const float *)y->data + base,
                         (const float *)gy->data + base, l.n);
            continue;
        }
        double dot = 0;
        for (int64_t k = 0; k < l.n; k++)
            dot += tg__get(gy, base + k * l.inner) *
                   tg__get(y, base + k * l.inner);
        for (int64_t k = 0; k < l.n; k++) {
            int64_t at = base + k * l.inner;
            tg__set(gx[0], at, tg__get(y, at) * (tg__get(gy, at) - dot));
        }
    }
    return TG_OK;
}

/* The same derivative with ops: y * (gy - sum(gy * y)) along the axis. */
static int softmax_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    int axis = ((const tg__axis_params *)c->params)->axis;
    tg_tensor *dot = tg_sum_axis(t, tg_mul(t, gy, y), axis, true);
    gx[0] = tg_mul(t, y, tg_sub(t, gy, dot));
    return tg_made(gx[0]);
}

const tg_op tg__op_softmax = {
    .name = "softmax",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = softmax_forward,
    .backward = softmax_backward,
    .backward_ops = softmax_backward_ops,
};

tg_tensor *tg_softmax(tg_tape *t, tg_tensor *x, int axis)
{
    tg__axis_params p = {axis, false};
    return tg_apply(t, &tg__op_softmax, 1, &x, &p);
}
