/*
 * exp.c — the exponential.
 *
 *     exp(x)    = e^x
 *     exp'(x)   = e^x = y
 *
 * The gradient reuses the output: gx = gy * y. exp(inf) = inf with
 * gradient inf, exp(-inf) = 0 with gradient 0, and exp overflows to inf
 * beyond x = 88.72 (f32) or 709.78 (f64), as PyTorch. f32 is computed with
 * expf. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float exp_f32(float x, const void *p)
{
    (void)p;
    return expf(x);
}

static inline double exp_f64(double x, const void *p)
{
    (void)p;
    return exp(x);
}

static inline float exp_grad_f32(float x, float y, float gy, const void *p)
{
    (void)x, (void)p;
    return gy * y;
}

static inline double exp_grad_f64(double x, double y, double gy, const void *p)
{
    (void)x, (void)p;
    return gy * y;
}

TG__UNARY_OP(exp, void, tg__unary_no_check)

const tg_op tg__op_exp = {
    .name = "exp",
    .arity = 1,
    .forward = exp_forward,
    .backward = exp_backward,
};

tg_tensor *tg_exp(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_exp, &x, 1, NULL);
}
