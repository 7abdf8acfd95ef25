/*
 * log_softmax.c — the log of the softmax along one axis.
 *
 *     log_softmax(x)[i]      = x[i] - log(sum_k exp(x[k]))
 *     d root / d x[i]        = g[i] - exp(y[i]) * sum_k g[k]
 *
 * with y the output and g the upstream gradient; exp(y) is the softmax.
 * Taking the log of tg_softmax's output loses everything below the
 * smallest positive double (a probability of 1e-400 becomes log(0) =
 * -inf), so this op never forms the softmax: it shifts each lane by its
 * max m and computes (x - m) - log(sum(exp(x - m))), which stays finite
 * for any finite input. As in PyTorch, a lane of all -inf or holding +inf
 * or NaN gives NaN. Lanes: see src/tensor/axis.c.
 */
#include "tapegrad/ops.h"

#include "exp_f32.h"
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
    int rc = tg__axis_resolve("tg_log_softmax", c->in[0], p->axis, &axis);
    if (rc == TG_OK)
        *l = tg__lanes_around(c->in[0], axis);
    return rc;
}

/* y = (x - m) - log(s), lane by lane (m, s from tg__lane_softmax_stats). */
static tg_tensor *log_softmax_forward(tg_op_ctx *c)
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
        double m, s;
        tg__lane_softmax_stats(x, &l, j, &m, &s);
        double log_s = log(s);
        if (tg__lane_f32(x, &l)) { /* the same, vectorised */
            tg__f32_shift_into((float *)y->data + base,
                               (const float *)x->data + base, l.n, m, log_s);
            continue;
        }
        for (int64_t k = 0; k < l.n; k++) {
            int64_t at = base + k * l.inner;
            tg__set(y, at, (tg__get(x, at) - m) - log_s);
        }
    }
    return y;
}

/* One contiguous f32 lane of log_softmax_backward, typed so it
 * vectorises (exp_f32.h's exp: the result is rounded to float). */
TG__HOT static void log_softmax_backward_f32(float *restrict gx,
                                             const float *restrict y,
                                             const float *restrict g,
                                             int64_t n, double sum)
{
    for (int64_t k = 0; k < n; k++)
        gx[k] = (float)((double)g[k] - tg__exp_f32((double)y[k]) * sum);
}

/* gx = g - exp(y) * sum(g), lane by lane. */
static int log_softmax_backward(tg_op_ctx *c, const tg_tensor *y,
                                const tg_tensor *gy, tg_tensor *const *gx)
{
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    tg__lanes l = {0, 0, 0};
    lanes_of(c, &l); /* forward checked the axis */
    for (int64_t j = 0; j < l.outer * l.inner; j++) {
        int64_t base = tg__lane_base(&l, j);
        double sum = tg__lane_sum(gy, &l, j);
        if (tg__lane_f32(y, &l)) {
            log_softmax_backward_f32((float *)gx[0]->data + base,
                         (const float *)y->data + base,
                         (const float *)gy->data + base, l.n, sum);
            continue;
        }
        for (int64_t k = 0; k < l.n; k++) {
            int64_t at = base + k * l.inner;
            tg__set(gx[0], at, tg__get(gy, at) - exp(tg__get(y, at)) * sum);
        }
    }
    return TG_OK;
}

/* The same derivative with ops: gy - exp(y) * sum(gy) along the axis. */
static int log_softmax_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                    const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    int axis = ((const tg__axis_params *)c->params)->axis;
    tg_tensor *total = tg_sum_axis(t, gy, axis, true);
    gx[0] = tg_sub(t, gy, tg_mul(t, tg_exp(t, y), total));
    return tg_made(gx[0]);
}

const tg_op tg__op_log_softmax = {
    .name = "log_softmax",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = log_softmax_forward,
    .backward = log_softmax_backward,
    .backward_ops = log_softmax_backward_ops,
};

tg_tensor *tg_log_softmax(tg_tape *t, tg_tensor *x, int axis)
{
    tg__axis_params p = {axis, false};
    return tg_apply(t, &tg__op_log_softmax, 1, &x, &p);
}
