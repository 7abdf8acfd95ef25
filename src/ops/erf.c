/*
 * erf.c — the error function.
 *
 *     erf(x)    = 2/sqrt(pi) * integral from 0 to x of e^(-t^2) dt
 *     erf'(x)   = 2/sqrt(pi) e^(-x^2)
 *
 * erf(+-inf) = +-1 with gradient 0, erf(-0.0) = -0.0, erf(NaN) NaN, as
 * C99 and torch.erf. f32 is computed with erff. gelu's derivative is
 * written with it (Phi(x) = (1 + erf(x / sqrt 2)) / 2). The loops come
 * from tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

#define TWO_OVER_SQRT_PI 1.12837916709551257390 /* 2 / sqrt(pi) */

static inline float erf_f32(float x)
{
    return erff(x);
}

static inline double erf_f64(double x)
{
    return erf(x);
}

/* e^(-x^2) is 0 at +-inf, so the gradient is 0 there, not NaN. */
static inline float erf_grad_f32(float x, float y, float gy)
{
    (void)y;
    return gy * ((float)TWO_OVER_SQRT_PI * expf(-x * x));
}

static inline double erf_grad_f64(double x, double y, double gy)
{
    (void)y;
    return gy * (TWO_OVER_SQRT_PI * exp(-x * x));
}

TG_UNARY_OP(erf)

/* The same derivative with ops, for gradients of gradients:
 * gy * 2/sqrt(pi) e^(-x^2). */
static int erf_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg_tensor *d = tg_mul_scalar(t, tg_exp(t, tg_neg(t, tg_mul(t, x, x))),
                                 TWO_OVER_SQRT_PI);
    gx[0] = tg_mul(t, gy, d);
    return tg_made(gx[0]);
}

const tg_op tg__op_erf = {
    .name = "erf",
    .arity = 1,
    .forward = erf_forward,
    .backward = erf_backward,
    .backward_ops = erf_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_erf(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_erf, 1, &x, NULL);
}
