/*
 * softsign.c — softsign.
 *
 *     softsign(x)    = x / (1 + |x|)
 *     softsign'(x)   = 1 / (1 + |x|)^2
 *
 * Smooth enough for gradient checks: its derivative is continuous (only
 * the second derivative jumps at 0). PyTorch composes it from abs, add and
 * div, so at +-inf it gives inf / inf = NaN and a NaN gradient; here
 * softsign(+-inf) = +-1 and the gradient there is 0, the limits. The
 * gradient is computed directly rather than through the quotient rule,
 * whose two terms cancel for large |x|. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

/* x / (1 + |x|), or the limit +-1 at +-inf (rather than inf / inf). */
static inline float softsign_f32(float x, const void *p)
{
    (void)p;
    return fabsf(x) == INFINITY ? copysignf(1.0f, x) : x / (1.0f + fabsf(x));
}

static inline double softsign_f64(double x, const void *p)
{
    (void)p;
    return fabs(x) == INFINITY ? copysign(1.0, x) : x / (1.0 + fabs(x));
}

static inline float softsign_grad_f32(float x, float y, float gy,
                                      const void *p)
{
    (void)y, (void)p;
    float den = 1.0f + fabsf(x);
    return gy / (den * den);
}

static inline double softsign_grad_f64(double x, double y, double gy,
                                       const void *p)
{
    (void)y, (void)p;
    double den = 1.0 + fabs(x);
    return gy / (den * den);
}

TG__UNARY_OP(softsign, void, tg__unary_no_check)

const tg_op tg__op_softsign = {
    .name = "softsign",
    .arity = 1,
    .forward = softsign_forward,
    .backward = softsign_backward,
};

tg_tensor *tg_softsign(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_softsign, &x, 1, NULL);
}
