/*
 * tanh.c — the hyperbolic tangent.
 *
 *     tanh(x)   = (e^x - e^-x) / (e^x + e^-x)
 *     tanh'(x)  = 1 - tanh(x)^2 = 1 - y^2
 *
 * The gradient reuses the output, as PyTorch. tanh(+-inf) = +-1 with
 * gradient 0, tanh(-0.0) = -0.0. f32 is computed with tanhf. The loops
 * come from tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float tanh_f32(float x)
{
    return tanhf(x);
}

static inline double tanh_f64(double x)
{
    return tanh(x);
}

static inline float tanh_grad_f32(float x, float y, float gy)
{
    (void)x;
    return gy * (1.0f - y * y);
}

static inline double tanh_grad_f64(double x, double y, double gy)
{
    (void)x;
    return gy * (1.0 - y * y);
}

TG_UNARY_OP(tanh)

/* The same derivative with ops, for gradients of gradients: gy (1 - y^2). */
static int tanh_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    tg_tensor *one_minus_y2 = tg_add_scalar(t, tg_neg(t, tg_mul(t, y, y)), 1);
    gx[0] = tg_mul(t, gy, one_minus_y2);
    return tg_made(gx[0]);
}

const tg_op tg__op_tanh = {
    .name = "tanh",
    .arity = 1,
    .forward = tanh_forward,
    .backward = tanh_backward,
    .backward_ops = tanh_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_tanh, 1, &x, NULL);
}
