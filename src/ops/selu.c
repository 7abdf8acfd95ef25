/*
 * selu.c — the scaled exponential linear unit (Klambauer et al., 2017).
 *
 *     selu(x)    = scale * x if x > 0, else scale * alpha * (e^x - 1)
 *     selu'(x)   = scale if x > 0, else scale * alpha * e^x
 *
 * with alpha = 1.6732632423543772848 and scale = 1.0507009873554804934,
 * the constants that make zero mean and unit variance a fixed point. At
 * the kink x == 0 the derivative is scale * alpha (the left one), as
 * PyTorch. As in elu.c, e^x - 1 is computed with expm1. f32 multiplies by
 * the constants rounded to float, and by their product rounded, as
 * PyTorch. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

static inline float selu_f32(float x)
{
    const float scale = (float)SELU_SCALE;
    const float neg = (float)SELU_ALPHA * (float)SELU_SCALE;
    return x > 0.0f ? scale * x : neg * expm1f(x);
}

static inline double selu_f64(double x)
{
    return x > 0.0 ? SELU_SCALE * x : SELU_ALPHA * SELU_SCALE * expm1(x);
}

static inline float selu_grad_f32(float x, float y, float gy)
{
    (void)y;
    const float scale = (float)SELU_SCALE;
    const float neg = (float)SELU_ALPHA * (float)SELU_SCALE;
    return x > 0.0f ? gy * scale : gy * neg * expf(x);
}

static inline double selu_grad_f64(double x, double y, double gy)
{
    (void)y;
    return x > 0.0 ? gy * SELU_SCALE : gy * (SELU_ALPHA * SELU_SCALE) * exp(x);
}

/* 1 right of the kink at 0, 0 left of it. */
static inline int64_t selu_piece_at(double x)
{
    
    return x > 0 ? 1 : x < 0 ? 0 : TG_ON_KINK;
}

TG_UNARY_OP(selu)
TG_UNARY_PIECE(selu)

/* The same derivative with ops: gy scale where x > 0, else
 * gy scale alpha e^x, from x: (y + scale alpha) would be the same number
 * but cancels for very negative x (relative error 1e-5 at x = -25 in f64,
 * 0 below -37). x is clamped to <= 0 before exp, so that e^x of a large x,
 * which where() discards, is not inf (its derivative would be 0 * inf). */
static int selu_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg_tensor *scale = tg_scalar(t, tg_dtype_of(y), SELU_SCALE);
    tg_tensor *e = tg_exp(t, tg_clamp(t, x, -INFINITY, 0));
    tg_tensor *d = tg_where(t, tg_gt_scalar(t, x, 0), scale,
                            tg_mul_scalar(t, e, SELU_SCALE * SELU_ALPHA));
    gx[0] = tg_mul(t, gy, d);
    return tg_made(gx[0]);
}

const tg_op tg__op_selu = {
    .name = "selu",
    .arity = 1,
    .forward = selu_forward,
    .backward = selu_backward,
    .backward_ops = selu_backward_ops,
    .piece = selu_piece,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_selu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_selu, 1, &x, NULL);
}
