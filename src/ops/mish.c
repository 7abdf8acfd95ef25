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
 * inf and 0 at -inf. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

/* x t; where t is 0, -0.0 (x < 0, and the limit at -inf). */
static inline float mish_f32(float x)
{
    float t = tanhf(log1pf(expf(x)));
    return t == 0.0f ? -0.0f : x * t;
}

static inline double mish_f64(double x)
{
    double t = tanh(log1p(exp(x)));
    return t == 0.0 ? -0.0 : x * t;
}

/* With x tamed, x s (1 - t^2) is 0 rather than inf * 0 at +-inf. */
static inline float mish_grad_f32(float x, float y, float gy)
{
    (void)y;
    float s = 1.0f / (1.0f + expf(-x));
    float t = tanhf(log1pf(expf(x)));
    return gy * (t + tg_tame_f32(x) * s * (1.0f - t * t));
}

static inline double mish_grad_f64(double x, double y, double gy)
{
    (void)y;
    double s = 1.0 / (1.0 + exp(-x));
    double t = tanh(log1p(exp(x)));
    return gy * (t + tg_tame_f64(x) * s * (1.0 - t * t));
}

TG_UNARY_OP(mish)

/* The same derivative with ops: gy (th + x sigmoid(x) (1 - th^2)), with
 * th = tanh(softplus(x)). */
static int mish_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg_tensor *th = tg_tanh(t, tg_softplus(t, x, 1, 20));
    tg_tensor *sech2 = tg_add_scalar(t, tg_neg(t, tg_mul(t, th, th)), 1);
    tg_tensor *d = tg_add(t, th, tg_mul(t, tg_mul(t, x, tg_sigmoid(t, x)),
                                        sech2));
    gx[0] = tg_mul(t, gy, d);
    return tg_made(gx[0]);
}

const tg_op tg__op_mish = {
    .name = "mish",
    .arity = 1,
    .forward = mish_forward,
    .backward = mish_backward,
    .backward_ops = mish_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_mish(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_mish, 1, &x, NULL);
}
