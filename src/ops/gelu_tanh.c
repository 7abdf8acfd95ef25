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
 * (|x| > 1.8e19 in f32), where the limit is again 1 or 0. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

#define K_BETA 0.79788456080286535588   /* sqrt(2 / pi) */
#define K_KAPPA 0.044715

/* x (1 + tanh(u)) / 2; where 1 + tanh(u) is 0, -0.0 (the limit at -inf). */
static inline float gelu_tanh_f32(float x)
{
    float inner = (float)K_BETA * (x + (float)K_KAPPA * (x * x * x));
    float right = 1.0f + tanhf(inner);
    return right == 0.0f ? -0.0f : 0.5f * x * right;
}

static inline double gelu_tanh_f64(double x)
{
    double inner = K_BETA * (x + K_KAPPA * (x * x * x));
    double right = 1.0 + tanh(inner);
    return right == 0.0 ? -0.0 : 0.5 * x * right;
}

/*
 * PyTorch's gradient, on x tamed to [-1e10, 1e10]: there tanh(u) is
 * already +-1, so the second term is exactly 0, and x^3 cannot overflow.
 */
static inline float gelu_tanh_grad_f32(float x, float y, float gy)
{
    (void)y;
    float xt = tg_tame_f32(x), x_sq = xt * xt;
    float t = tanhf((float)K_BETA * (xt + (float)K_KAPPA * (x_sq * xt)));
    float du = (float)K_BETA * (1.0f + 3.0f * (float)K_KAPPA * x_sq);
    return gy * (0.5f * (1.0f + t) + 0.5f * xt * (1.0f - t * t) * du);
}

static inline double gelu_tanh_grad_f64(double x, double y, double gy)
{
    (void)y;
    double xt = tg_tame_f64(x), x_sq = xt * xt;
    double t = tanh(K_BETA * (xt + K_KAPPA * (x_sq * xt)));
    double du = K_BETA * (1.0 + 3.0 * K_KAPPA * x_sq);
    return gy * (0.5 * (1.0 + t) + 0.5 * xt * (1.0 - t * t) * du);
}

TG_UNARY_OP(gelu_tanh)

/* The same derivative with ops: with th = tanh(u), u = b (x + k x^3),
 * gy ((1 + th) / 2 + x (1 - th^2) b (1 + 3 k x^2) / 2). */
static int gelu_tanh_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                  const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0], *x2 = tg_mul(t, x, x);
    tg_tensor *x3 = tg_mul(t, x2, x);
    tg_tensor *u = tg_mul_scalar(t, tg_add(t, x, tg_mul_scalar(t, x3, K_KAPPA)),
                                 K_BETA);
    tg_tensor *du = tg_mul_scalar(t, tg_mul_scalar(t, x2, 3 * K_KAPPA), K_BETA);
    du = tg_add_scalar(t, du, K_BETA);                 /* du/dx */
    tg_tensor *th = tg_tanh(t, u);
    tg_tensor *sech2 = tg_add_scalar(t, tg_neg(t, tg_mul(t, th, th)), 1);
    tg_tensor *half_1_th = tg_mul_scalar(t, tg_add_scalar(t, th, 1), 0.5);
    tg_tensor *rest = tg_mul_scalar(t, tg_mul(t, x, tg_mul(t, sech2, du)), 0.5);
    tg_tensor *d = tg_add(t, half_1_th, rest);
    gx[0] = tg_mul(t, gy, d);
    return tg_made(gx[0]);
}

const tg_op tg__op_gelu_tanh = {
    .name = "gelu_tanh",
    .arity = 1,
    .forward = gelu_tanh_forward,
    .backward = gelu_tanh_backward,
    .backward_ops = gelu_tanh_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_gelu_tanh(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_gelu_tanh, 1, &x, NULL);
}
