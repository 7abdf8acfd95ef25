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
 * whose two terms cancel for large |x|. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

/* x / (1 + |x|), or the limit +-1 at +-inf (rather than inf / inf). */
static inline float softsign_f32(float x)
{
    return fabsf(x) == INFINITY ? copysignf(1.0f, x) : x / (1.0f + fabsf(x));
}

static inline double softsign_f64(double x)
{
    return fabs(x) == INFINITY ? copysign(1.0, x) : x / (1.0 + fabs(x));
}

static inline float softsign_grad_f32(float x, float y, float gy)
{
    (void)y;
    float den = 1.0f + fabsf(x);
    return gy / (den * den);
}

static inline double softsign_grad_f64(double x, double y, double gy)
{
    (void)y;
    double den = 1.0 + fabs(x);
    return gy / (den * den);
}

TG_UNARY_OP(softsign)

/* The same derivative with ops: gy / (1 + |x|)^2. */
static int softsign_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                 const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *d = tg_add_scalar(t, tg_abs(t, c->in[0]), 1);
    gx[0] = tg_div(t, gy, tg_mul(t, d, d));
    return tg_made(gx[0]);
}

const tg_op tg__op_softsign = {
    .name = "softsign",
    .arity = 1,
    .forward = softsign_forward,
    .backward = softsign_backward,
    .backward_ops = softsign_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_softsign(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_softsign, 1, &x, NULL);
}
