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
 * The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

#define SQRT1_2 0.70710678118654752440        /* 1 / sqrt 2 */
#define INV_SQRT_2PI 0.39894228040143267794   /* 1 / sqrt(2 pi) */

/* x Phi(x); where Phi(x) is 0, -0.0 (x * 0, and the limit at -inf). */
static inline float gelu_f32(float x, const void *p)
{
    (void)p;
    float cdf = 0.5f * erfcf(-x * (float)SQRT1_2);
    return cdf == 0.0f ? -0.0f : x * cdf;
}

static inline double gelu_f64(double x, const void *p)
{
    (void)p;
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    return cdf == 0.0 ? -0.0 : x * cdf;
}

/* Phi(x) + x phi(x), with x tamed so that x phi(x) is 0, not NaN, at +-inf. */
static inline float gelu_grad_f32(float x, float y, float gy, const void *p)
{
    (void)y, (void)p;
    float cdf = 0.5f * erfcf(-x * (float)SQRT1_2);
    float xt = tg__tame_f32(x);
    float pdf = expf(-0.5f * xt * xt) * (float)INV_SQRT_2PI;
    return gy * (cdf + xt * pdf);
}

static inline double gelu_grad_f64(double x, double y, double gy,
                                   const void *p)
{
    (void)y, (void)p;
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    double xt = tg__tame_f64(x);
    double pdf = exp(-0.5 * xt * xt) * INV_SQRT_2PI;
    return gy * (cdf + xt * pdf);
}

TG__UNARY_OP(gelu, void, tg__unary_no_check)

const tg_op tg__op_gelu = {
    .name = "gelu",
    .arity = 1,
    .forward = gelu_forward,
    .backward = gelu_backward,
};

tg_tensor *tg_gelu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_gelu, &x, 1, NULL);
}
