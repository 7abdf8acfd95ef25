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
 * In f32, Phi and phi are computed in double without libm calls, so that
 * the loops vectorise (libm's erfcf and expf, a call per element, were 30%
 * of a training step of the names GPT): erfc by the Chebyshev fit of
 * Numerical Recipes (erfcc, relative error below 1.2e-7 everywhere, so
 * within 2 ulps of float once rounded) and exp by tg__exp_f32.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

#include "exp_f32.h"

#define SQRT1_2 0.70710678118654752440        /* 1 / sqrt 2 */
#define INV_SQRT_2PI 0.39894228040143267794   /* 1 / sqrt(2 pi) */

/* Phi(x) = erfc(-x / sqrt 2) / 2 in double, relative error below 1.2e-7
 * (Numerical Recipes' erfcc); 0 at -inf, 1 at +inf, NaN for NaN. */
static inline double phi_cdf_f32(float x)
{
    double z = -(double)x * SQRT1_2, az = fabs(z);
    double t = 1.0 / (1.0 + 0.5 * az);
    double p = 0.17087277;
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    p = p * t - 1.26551223;
    double e = t * tg__exp_f32(-az * az + p);
    return 0.5 * (z >= 0 ? e : 2.0 - e);
}

/* x Phi(x); where Phi(x) is 0, -0.0 (x * 0, and the limit at -inf). */
static inline float gelu_f32(float x)
{
    float cdf = (float)phi_cdf_f32(x);
    return cdf == 0.0f ? -0.0f : x * cdf;
}

static inline double gelu_f64(double x)
{
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    return cdf == 0.0 ? -0.0 : x * cdf;
}

/*
 * Phi(x) + x phi(x), with x tamed so that x phi(x) is 0, not NaN, at +-inf.
 * In f32, Phi(x) is read off the forward's output, y / x (y = x Phi(x)
 * rounded: within about 1.5 ulps of Phi), where y is a normal number. Where
 * it is not: Phi is 1/2 for |x| below 2e-30, 1 from x = 6 (as Phi rounds to
 * in float) and, for x below -11 (y underflows), phi(x) / |x| (1 - 1/x^2 +
 * 3/x^4 - 15/x^6 + 105/x^8), the asymptotic series, whose next term is
 * below 3e-8 of Phi there (and Phi below 1% of x phi). One exp, no erfc.
 */
static inline float gelu_grad_f32(float x, float y, float gy)
{
    double xt = tg_tame_f32(x);
    double pdf = tg__exp_f32(-0.5 * xt * xt) * INV_SQRT_2PI;
    double ix = 1.0 / xt, i2 = ix * ix;
    double tail = -pdf * ix * (1 - i2 * (1 - 3 * i2 * (1 - 5 * i2 *
                                                        (1 - 7 * i2))));
    double cdf = x >= 6.0f ? 1.0 : fabsf(y) >= 1e-30f ? (double)y * ix
                 : x < -5.0f ? tail : 0.5;
    return gy * (float)(cdf + xt * pdf);
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
