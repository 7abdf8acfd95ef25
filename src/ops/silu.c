/*
 * silu.c — the sigmoid linear unit, or swish (Elfwing et al., 2017;
 * Ramachandran et al., 2017).
 *
 *     silu(x)    = x sigmoid(x) = x / (1 + e^-x)
 *     silu'(x)   = s (1 + x (1 - s)),  s = sigmoid(x)
 *
 * PyTorch's formulas (f32 with expf), except at the infinities, where
 * they give NaN (-inf / inf, inf * 0) although the limits exist:
 * silu(-inf) is -0.0 (as silu of any x so negative that e^-x overflows),
 * silu'(inf) = 1 and silu'(-inf) = 0. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

/* x / (1 + e^-x); where the denominator overflows, -0.0 (x < 0). */
static inline float silu_f32(float x, const void *p)
{
    (void)p;
    float den = 1.0f + expf(-x);
    return den == INFINITY ? -0.0f : x / den;
}

static inline double silu_f64(double x, const void *p)
{
    (void)p;
    double den = 1.0 + exp(-x);
    return den == INFINITY ? -0.0 : x / den;
}

/* With x tamed, x (1 - s) is 0 rather than inf * 0 at +-inf. */
static inline float silu_grad_f32(float x, float y, float gy, const void *p)
{
    (void)y, (void)p;
    float s = 1.0f / (1.0f + expf(-x));
    return gy * s * (1.0f + tg__tame_f32(x) * (1.0f - s));
}

static inline double silu_grad_f64(double x, double y, double gy,
                                   const void *p)
{
    (void)y, (void)p;
    double s = 1.0 / (1.0 + exp(-x));
    return gy * s * (1.0 + tg__tame_f64(x) * (1.0 - s));
}

TG__UNARY_OP(silu, void, tg__unary_no_check)

const tg_op tg__op_silu = {
    .name = "silu",
    .arity = 1,
    .forward = silu_forward,
    .backward = silu_backward,
};

tg_tensor *tg_silu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_silu, &x, 1, NULL);
}
