/*
 * tanh.c — the hyperbolic tangent.
 *
 *     tanh(x)   = (e^x - e^-x) / (e^x + e^-x)
 *     tanh'(x)  = 1 - tanh(x)^2 = 1 - y^2
 *
 * The gradient reuses the output, as PyTorch. tanh(+-inf) = +-1 with
 * gradient 0, tanh(-0.0) = -0.0. f32 is computed with tanhf. The loops
 * come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float tanh_f32(float x, const void *p)
{
    (void)p;
    return tanhf(x);
}

static inline double tanh_f64(double x, const void *p)
{
    (void)p;
    return tanh(x);
}

static inline float tanh_grad_f32(float x, float y, float gy, const void *p)
{
    (void)x, (void)p;
    return gy * (1.0f - y * y);
}

static inline double tanh_grad_f64(double x, double y, double gy,
                                   const void *p)
{
    (void)x, (void)p;
    return gy * (1.0 - y * y);
}

TG__UNARY_OP(tanh, void, tg__unary_no_check)

const tg_op tg__op_tanh = {
    .name = "tanh",
    .arity = 1,
    .forward = tanh_forward,
    .backward = tanh_backward,
};

tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_tanh, &x, 1, NULL);
}
