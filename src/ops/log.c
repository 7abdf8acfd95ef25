/*
 * log.c — the natural logarithm.
 *
 *     log(x)    = ln x
 *     log'(x)   = 1 / x
 *
 * As PyTorch: log(0) = -inf with gradient gy / 0 = inf (-inf at -0.0),
 * log(x < 0) = NaN with gradient gy / x (finite: the formula is applied
 * as is), log(inf) = inf with gradient 0. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float log_f32(float x, const void *p)
{
    (void)p;
    return logf(x);
}

static inline double log_f64(double x, const void *p)
{
    (void)p;
    return log(x);
}

static inline float log_grad_f32(float x, float y, float gy, const void *p)
{
    (void)y, (void)p;
    return gy / x;
}

static inline double log_grad_f64(double x, double y, double gy, const void *p)
{
    (void)y, (void)p;
    return gy / x;
}

TG__UNARY_OP(log, void, tg__unary_no_check)

const tg_op tg__op_log = {
    .name = "log",
    .arity = 1,
    .forward = log_forward,
    .backward = log_backward,
};

tg_tensor *tg_log(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_log, &x, 1, NULL);
}
