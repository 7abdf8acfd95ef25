/*
 * abs.c — the absolute value.
 *
 *     abs(x)    = |x|
 *     abs'(x)   = sign(x): 1 if x > 0, -1 if x < 0, 0 at x == 0
 *
 * The kink at 0 gets the derivative 0, as PyTorch (gy * sgn(x)); so does
 * NaN, whose sign PyTorch also takes as 0. abs(-0.0) = 0.0. The loops come
 * from unary.h; piece tells gradient checks which side of 0 x is on.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float abs_f32(float x, const void *p)
{
    (void)p;
    return fabsf(x);
}

static inline double abs_f64(double x, const void *p)
{
    (void)p;
    return fabs(x);
}

/* gy * sign(x), with sign(0) = sign(NaN) = 0. */
static inline float abs_grad_f32(float x, float y, float gy, const void *p)
{
    (void)y, (void)p;
    return gy * (float)((x > 0.0f) - (x < 0.0f));
}

static inline double abs_grad_f64(double x, double y, double gy, const void *p)
{
    (void)y, (void)p;
    return gy * (double)((x > 0.0) - (x < 0.0));
}

/* 1 right of the kink, 0 left of it. */
static inline int64_t abs_piece_at(double x, const void *p, tg_dtype dt)
{
    (void)p, (void)dt;
    return x > 0 ? 1 : x < 0 ? 0 : TG_ON_KINK;
}

TG__UNARY_OP(abs, void, tg__unary_no_check)
TG__UNARY_PIECE(abs, void)

const tg_op tg__op_abs = {
    .name = "abs",
    .arity = 1,
    .forward = abs_forward,
    .backward = abs_backward,
    .piece = abs_piece,
};

tg_tensor *tg_abs(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_abs, &x, 1, NULL);
}
