/*
 * sqrt.c — the square root.
 *
 *     sqrt(x)   = x^(1/2)
 *     sqrt'(x)  = 1 / (2 sqrt(x)) = 1 / (2y)
 *
 * The gradient reuses the output. As PyTorch: at 0 the gradient is
 * gy / 0 = inf (sqrt(-0.0) = -0.0, so -inf there), sqrt(x < 0) = NaN with
 * a NaN gradient, sqrt(inf) = inf with gradient 0. The loops come from
 * unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float sqrt_f32(float x, const void *p)
{
    (void)p;
    return sqrtf(x);
}

static inline double sqrt_f64(double x, const void *p)
{
    (void)p;
    return sqrt(x);
}

static inline float sqrt_grad_f32(float x, float y, float gy, const void *p)
{
    (void)x, (void)p;
    return gy / (2.0f * y);
}

static inline double sqrt_grad_f64(double x, double y, double gy,
                                   const void *p)
{
    (void)x, (void)p;
    return gy / (2.0 * y);
}

TG__UNARY_OP(sqrt, void, tg__unary_no_check)

const tg_op tg__op_sqrt = {
    .name = "sqrt",
    .arity = 1,
    .forward = sqrt_forward,
    .backward = sqrt_backward,
};

tg_tensor *tg_sqrt(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_sqrt, &x, 1, NULL);
}
