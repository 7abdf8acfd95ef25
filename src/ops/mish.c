/*
 * mish.c — mish (Misra, 2019).
 *
 *     mish(x)    = x tanh(softplus(x)),  softplus(x) = log(1 + e^x)
 *     mish'(x)   = t + x s (1 - t^2),  t = tanh(softplus(x)), s = sigmoid(x)
 *
 * PyTorch's formulas (f32 with expf, log1pf, tanhf); for large x, e^x
 * overflows to inf and t = 1, so mish(x) = x. At the infinities PyTorch
 * gives NaN (-inf * 0, inf * 0) although the limits exist: mish(-inf) is
 * -0.0 (as mish of any x so negative that t underflows) and mish' is 1 at
 * inf and 0 at -inf. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

/* x t; where t is 0, -0.0 (x < 0, and the limit at -inf). */
static inline float mish_f32(float x, const void *p)
{
    (void)p;
    float t = tanhf(log1pf(expf(x)));
    return t == 0.0f ? -0.0f : x * t;
}

static inline double mish_f64(double x, const void *p)
{
    (void)p;
    double t = tanh(log1p(exp(x)));
    return t == 0.0 ? -0.0 : x * t;
}

/* With x tamed, x s (1 - t^2) is 0 rather than inf * 0 at +-inf. */
static inline float mish_grad_f32(float x, float y, float gy, const void *p)
{
    (void)y, (void)p;
    float s = 1.0f / (1.0f + expf(-x));
    float t = tanhf(log1pf(expf(x)));
    return gy * (t + tg__tame_f32(x) * s * (1.0f - t * t));
}

static inline double mish_grad_f64(double x, double y, double gy,
                                   const void *p)
{
    (void)y, (void)p;
    double s = 1.0 / (1.0 + exp(-x));
    double t = tanh(log1p(exp(x)));
    return gy * (t + tg__tame_f64(x) * s * (1.0 - t * t));
}

TG__UNARY_OP(mish, void, tg__unary_no_check)

const tg_op tg__op_mish = {
    .name = "mish",
    .arity = 1,
    .forward = mish_forward,
    .backward = mish_backward,
};

tg_tensor *tg_mish(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_mish, &x, 1, NULL);
}
