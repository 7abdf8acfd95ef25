/*
 * gelu_tanh.c — GELU's tanh approximation (PyTorch's approximate='tanh').
 *
 *     gelu_tanh(x)   = x (1 + tanh(u)) / 2,  u = k (x + 0.044715 x^3),
 *                      k = sqrt(2 / pi)
 *     gelu_tanh'(x)  = (1 + tanh(u)) / 2 + x (1 - tanh(u)^2) u' / 2,
 *                      u' = k (1 + 3 * 0.044715 x^2)
 *
 * PyTorch's formula, computed the same way (f32 with tanhf), except where
 * it is not finite although the function is: gelu_tanh(-inf) is -0.0
 * rather than NaN (-inf * 0), and the gradient is 1 at +inf and 0 at -inf
 * rather than NaN; PyTorch's gradient is also NaN wherever x^2 overflows
 * (|x| > 1.8e19 in f32), where the limit is again 1 or 0. The loops come
 * from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

#define K_BETA 0.79788456080286535588   /* sqrt(2 / pi) */
#define K_KAPPA 0.044715

/* x (1 + tanh(u)) / 2; where 1 + tanh(u) is 0, -0.0 (the limit at -inf). */
static inline float gelu_tanh_f32(float x, const void *p)
{
    (void)p;
    float inner = (float)K_BETA * (x + (float)K_KAPPA * (x * x * x));
    float right = 1.0f + tanhf(inner);
    return right == 0.0f ? -0.0f : 0.5f * x * right;
}

static inline double gelu_tanh_f64(double x, const void *p)
{
    (void)p;
    double inner = K_BETA * (x + K_KAPPA * (x * x * x));
    double right = 1.0 + tanh(inner);
    return right == 0.0 ? -0.0 : 0.5 * x * right;
}

/*
 * PyTorch's gradient, on x tamed to [-1e10, 1e10]: there tanh(u) is
 * already +-1, so the second term is exactly 0, and x^3 cannot overflow.
 */
static inline float gelu_tanh_grad_f32(float x, float y, float gy,
                                       const void *p)
{
    (void)y, (void)p;
    float xt = tg__tame_f32(x), x_sq = xt * xt;
    float t = tanhf((float)K_BETA * (xt + (float)K_KAPPA * (x_sq * xt)));
    float du = (float)K_BETA * (1.0f + 3.0f * (float)K_KAPPA * x_sq);
    return gy * (0.5f * (1.0f + t) + 0.5f * xt * (1.0f - t * t) * du);
}

static inline double gelu_tanh_grad_f64(double x, double y, double gy,
                                        const void *p)
{
    (void)y, (void)p;
    double xt = tg__tame_f64(x), x_sq = xt * xt;
    double t = tanh(K_BETA * (xt + K_KAPPA * (x_sq * xt)));
    double du = K_BETA * (1.0 + 3.0 * K_KAPPA * x_sq);
    return gy * (0.5 * (1.0 + t) + 0.5 * xt * (1.0 - t * t) * du);
}

TG__UNARY_OP(gelu_tanh, void, tg__unary_no_check)

const tg_op tg__op_gelu_tanh = {
    .name = "gelu_tanh",
    .arity = 1,
    .forward = gelu_tanh_forward,
    .backward = gelu_tanh_backward,
};

tg_tensor *tg_gelu_tanh(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_gelu_tanh, &x, 1, NULL);
}
