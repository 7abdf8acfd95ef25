/*
 * log.c — the natural logarithm.
 *
 *     log(x)    = ln x
 *     log'(x)   = 1 / x
 *
 * As PyTorch: log(0) = -inf with gradient gy / 0 = inf (-inf at -0.0),
 * log(x < 0) = NaN with gradient gy / x (finite: the formula is applied
 * as is), log(inf) = inf with gradient 0. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float log_f32(float x)
{
    return logf(x);
}

static inline double log_f64(double x)
{
    return log(x);
}

static inline float log_grad_f32(float x, float y, float gy)
{
    (void)y;
    return gy / x;
}

static inline double log_grad_f64(double x, double y, double gy)
{
    (void)y;
    return gy / x;
}

TG_UNARY_OP(log)

/* The same derivative with ops, for gradients of gradients: gy / x. */
static int log_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want, (void)y;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    gx[0] = tg_div(t, gy, x);
    return tg_made(gx[0]);
}

const tg_op tg__op_log = {
    .name = "log",
    .arity = 1,
    .forward = log_forward,
    .backward = log_backward,
    .backward_ops = log_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_log(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_log, 1, &x, NULL);
}
