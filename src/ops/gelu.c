/*
 * gelu.c — the Gaussian error linear unit, exact form (Hendrycks and
 * Gimpel, 2016).
 *
 *     gelu(x)    = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2
 *     gelu'(x)   = Phi(x) + x phi(x),  phi(x) = e^(-x^2/2) / sqrt(2 pi)
 *
 * Phi is computed as erfc(-x / sqrt 2) / 2, which equals PyTorch's
 * (1 + erf(x / sqrt 2)) / 2 but does not cancel for x < 0: gelu(-10) is
 * -7.6e-23 rather than PyTorch's 0, within PyTorch's own error. At the
 * infinities PyTorch's formula gives inf * 0 = NaN; here gelu(-inf) is -0.0
 * (as gelu of any x so negative that Phi underflows), and gelu' is 1 at
 * inf and 0 at -inf, the limits. tg_gelu_tanh is the tanh approximation.
 * The loops come from
 * tapegrad/elementwise.h.
 *
 * In f32, Phi and phi are computed in float, 16 lanes at a time, by
 * tg__vphif (src/vec_math.h: one exp, one division and one polynomial for
 * both; Phi within 7 ulps and phi within 2.2 of the exact values). libm's
 * erfcf and expf, a call per element, cost 30% of a training step of the
 * names GPT; the double version that replaced them (8 lanes) still 22%.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

#include "vec_math.h"

#define SQRT1_2 0.70710678118654752440        /* 1 / sqrt 2 */
#define INV_SQRT_2PI 0.39894228040143267794   /* 1 / sqrt(2 pi) */

/* x Phi(x); where Phi(x) is 0, -0.0 (x * 0, and the limit at -inf). */
static inline float gelu_f32(float x)
{
    float pdf, cdf = tg__vphif(x, &pdf);
    return cdf == 0.0f ? -0.0f : x * cdf;
}

static inline double gelu_f64(double x)
{
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    return cdf == 0.0 ? -0.0 : x * cdf;
}

/*
 * Phi(x) + x phi(x), with x tamed so that x phi(x) is 0, not NaN, at +-inf
 * (phi is already exactly 0 from |x| = 14.5).
 */
static inline float gelu_grad_f32(float x, float y, float gy)
{
    (void)y;
    float pdf, cdf = tg__vphif(x, &pdf);
    return gy * (cdf + tg_tame_f32(x) * pdf);
}

static inline double gelu_grad_f64(double x, double y, double gy)
{
    (void)y;
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    double xt = tg_tame_f64(x);
    double pdf = exp(-0.5 * xt * xt) * INV_SQRT_2PI;
    return gy * (cdf + xt * pdf);
}

TG_UNARY_OP(gelu)

/*
 * The same derivative with ops, for gradients of gradients:
 * gy (Phi(x) + x phi(x)), with Phi written exactly with the public erf op,
 * Phi(x) = (1 + erf(x / sqrt 2)) / 2 (PyTorch's form; it differs from the
 * fast backward's erfc form by rounding only, ~1e-16 absolute), and
 * phi(x) = e^(-x^2/2) / sqrt(2 pi). At x = +-inf, x phi(x) is inf * 0 =
 * NaN here, where the fast backward gives the limits 1 and 0.
 */
static int gelu_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg_tensor *cdf = tg_mul_scalar(
        t, tg_add_scalar(t, tg_erf(t, tg_mul_scalar(t, x, SQRT1_2)), 1), 0.5);
    tg_tensor *pdf = tg_mul_scalar(
        t, tg_exp(t, tg_mul_scalar(t, tg_mul(t, x, x), -0.5)), INV_SQRT_2PI);
    gx[0] = tg_mul(t, gy, tg_add(t, cdf, tg_mul(t, x, pdf)));
    return tg_made(gx[0]);
}

const tg_op tg__op_gelu = {
    .name = "gelu",
    .arity = 1,
    .forward = gelu_forward,
    .backward = gelu_backward,
    .backward_ops = gelu_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_gelu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_gelu, 1, &x, NULL);
}
