/*
 * hardsigmoid.c — a piecewise linear sigmoid.
 *
 *     hardsigmoid(x)    = min(max(x + 3, 0), 6) / 6
 *     hardsigmoid'(x)   = 1/6 if -3 < x < 3, else 0
 *
 * At the corners x == -3 and x == 3 the derivative is 0, and at NaN the
 * value is NaN and the derivative 0, as PyTorch's vectorised kernel. f32
 * multiplies by 1.0f / 6.0f as PyTorch; f64 divides by 6, where PyTorch
 * 1.13 multiplies by the float constant (0.1666666716337204). The loops
 * come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

/* min(max(v, 0), 6), NaN kept. */
static inline float relu6_of_f32(float v)
{
    return v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
}

static inline double relu6_of_f64(double v)
{
    return v < 0.0 ? 0.0 : v > 6.0 ? 6.0 : v;
}

static inline float hardsigmoid_f32(float x, const void *p)
{
    (void)p;
    return relu6_of_f32(x + 3.0f) / 6.0f;
}

static inline double hardsigmoid_f64(double x, const void *p)
{
    (void)p;
    return relu6_of_f64(x + 3.0) / 6.0;
}

static inline float hardsigmoid_grad_f32(float x, float y, float gy,
                                         const void *p)
{
    (void)y, (void)p;
    return x > -3.0f && x < 3.0f ? gy * (1.0f / 6.0f) : 0.0f;
}

static inline double hardsigmoid_grad_f64(double x, double y, double gy,
                                          const void *p)
{
    (void)y, (void)p;
    return x > -3.0 && x < 3.0 ? gy / 6.0 : 0.0;
}

/* 0 below -3, 1 between, 2 above 3; the corners are kinks. */
static inline int64_t hardsigmoid_piece_at(double x, const void *p,
                                           tg_dtype dt)
{
    (void)p, (void)dt;
    return x < -3 ? 0 : x > 3 ? 2 : x > -3 && x < 3 ? 1 : TG_ON_KINK;
}

TG__UNARY_OP(hardsigmoid, void, tg__unary_no_check)
TG__UNARY_PIECE(hardsigmoid, void)

const tg_op tg__op_hardsigmoid = {
    .name = "hardsigmoid",
    .arity = 1,
    .forward = hardsigmoid_forward,
    .backward = hardsigmoid_backward,
    .piece = hardsigmoid_piece,
};

tg_tensor *tg_hardsigmoid(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_hardsigmoid, &x, 1, NULL);
}
