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
 * silu'(inf) = 1 and silu'(-inf) = 0. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

/* x / (1 + e^-x); where the denominator overflows, -0.0 (x < 0). */
static inline float silu_f32(float x)
{
    float den = 1.0f + expf(-x);
    return den == INFINITY ? -0.0f : x / den;
}

static inline double silu_f64(double x)
{
    double den = 1.0 + exp(-x);
    return den == INFINITY ? -0.0 : x / den;
}

/* With x tamed, x (1 - s) is 0 rather than inf * 0 at +-inf. */
static inline float silu_grad_f32(float x, float y, float gy)
{
    (void)y;
    float s = 1.0f / (1.0f + expf(-x));
    return gy * s * (1.0f + tg_tame_f32(x) * (1.0f - s));
}

static inline double silu_grad_f64(double x, double y, double gy)
{
    (void)y;
    double s = 1.0 / (1.0 + exp(-x));
    return gy * s * (1.0 + tg_tame_f64(x) * (1.0 - s));
}

TG_UNARY_OP(silu)

/* The same derivative with ops: gy * s * (1 + x (1 - s)), s = sigmoid(x). */
static int silu_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0], *s = tg_sigmoid(t, x);
    tg_tensor *one_minus_s = tg_add_scalar(t, tg_neg(t, s), 1);
    tg_tensor *inner = tg_add_scalar(t, tg_mul(t, x, one_minus_s), 1);
    gx[0] = tg_mul(t, gy, tg_mul(t, s, inner));
    return tg_made(gx[0]);
}

const tg_op tg__op_silu = {
    .name = "silu",
    .arity = 1,
    .forward = silu_forward,
    .backward = silu_backward,
    .backward_ops = silu_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_silu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_silu, 1, &x, NULL);
}
