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

const tg_op tg__op_tanh = {
    .name = "tanh",
    .arity = 1,
    .forward = tanh_forward,
    .backward = tanh_backward,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_tanh, 1, &x, NULL);
}
