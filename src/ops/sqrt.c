/*
 * sqrt.c — the square root.
 *
 *     sqrt(x)   = x^(1/2)
 *     sqrt'(x)  = 1 / (2 sqrt(x)) = 1 / (2y)
 *
 * The gradient reuses the output. As PyTorch: at 0 the gradient is
 * gy / 0 = inf (sqrt(-0.0) = -0.0, so -inf there), sqrt(x < 0) = NaN with
 * a NaN gradient, sqrt(inf) = inf with gradient 0. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float sqrt_f32(float x)
{
    return sqrtf(x);
}

static inline double sqrt_f64(double x)
{
    return sqrt(x);
}

static inline float sqrt_grad_f32(float x, float y, float gy)
{
    (void)x;
    return gy / (2.0f * y);
}

static inline double sqrt_grad_f64(double x, double y, double gy)
{
    (void)x;
    return gy / (2.0 * y);
}

TG_UNARY_OP(sqrt)

/* The same derivative with ops, for gradients of gradients: gy / (2 y). */
static int sqrt_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    gx[0] = tg_div(t, gy, tg_mul_scalar(t, y, 2));
    return tg_made(gx[0]);
}

const tg_op tg__op_sqrt = {
    .name = "sqrt",
    .arity = 1,
    .forward = sqrt_forward,
    .backward = sqrt_backward,
    .backward_ops = sqrt_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_sqrt(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_sqrt, 1, &x, NULL);
}
