/*
 * abs.c — the absolute value.
 *
 *     abs(x)    = |x|
 *     abs'(x)   = sign(x): 1 if x > 0, -1 if x < 0, 0 at x == 0
 *
 * The kink at 0 gets the derivative 0, as PyTorch (gy * sgn(x)); so does
 * NaN, whose sign PyTorch also takes as 0. abs(-0.0) = 0.0. The loops come
 * from tapegrad/elementwise.h; piece tells gradient checks which side of 0
 * x is on.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float abs_f32(float x)
{
    return fabsf(x);
}

static inline double abs_f64(double x)
{
    return fabs(x);
}

/* gy * sign(x), with sign(0) = sign(NaN) = 0. */
static inline float abs_grad_f32(float x, float y, float gy)
{
    (void)y;
    return gy * (float)((x > 0.0f) - (x < 0.0f));
}

static inline double abs_grad_f64(double x, double y, double gy)
{
    (void)y;
    return gy * (double)((x > 0.0) - (x < 0.0));
}

/* 1 right of the kink, 0 left of it. */
static inline int64_t abs_piece_at(double x)
{
    
    return x > 0 ? 1 : x < 0 ? 0 : TG_ON_KINK;
}

TG_UNARY_OP(abs)
TG_UNARY_PIECE(abs)

/* The same derivative with ops, for gradients of gradients: gy times the
 * slope, which is constant on each piece, so it has no derivative of its
 * own (almost everywhere). */
static int abs_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want;
    gx[0] = tg_mul(c->tape, gy, tg_unary_slope(c, y, &abs_loops));
    return tg_made(gx[0]);
}

const tg_op tg__op_abs = {
    .name = "abs",
    .arity = 1,
    .forward = abs_forward,
    .backward = abs_backward,
    .backward_ops = abs_backward_ops,
    .piece = abs_piece,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_abs(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_abs, 1, &x, NULL);
}
