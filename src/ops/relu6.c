/*
 * relu6.c — relu capped at 6 (hardtanh with bounds 0 and 6, as PyTorch
 * defines it).
 *
 *     relu6(x)    = min(max(x, 0), 6)
 *     relu6'(x)   = 1 if 0 < x < 6, else 0
 *
 * At the corners 0 and 6 the derivative is 0, and at NaN the value is NaN
 * and the derivative 0, as PyTorch's vectorised kernel. relu6(-0.0) is
 * -0.0. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float relu6_f32(float x, const void *p)
{
    (void)p;
    return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x;
}

static inline double relu6_f64(double x, const void *p)
{
    (void)p;
    return x < 0.0 ? 0.0 : x > 6.0 ? 6.0 : x;
}

static inline float relu6_grad_f32(float x, float y, float gy, const void *p)
{
    (void)y, (void)p;
    return x > 0.0f && x < 6.0f ? gy : 0.0f;
}

static inline double relu6_grad_f64(double x, double y, double gy,
                                    const void *p)
{
    (void)y, (void)p;
    return x > 0.0 && x < 6.0 ? gy : 0.0;
}

/* 0 below 0, 1 between, 2 above 6; the corners are kinks. */
static inline int64_t relu6_piece_at(double x, const void *p, tg_dtype dt)
{
    (void)p, (void)dt;
    return x < 0 ? 0 : x > 6 ? 2 : x > 0 && x < 6 ? 1 : TG_ON_KINK;
}

TG__UNARY_OP(relu6, void, tg__unary_no_check)
TG__UNARY_PIECE(relu6, void)

const tg_op tg__op_relu6 = {
    .name = "relu6",
    .arity = 1,
    .forward = relu6_forward,
    .backward = relu6_backward,
    .piece = relu6_piece,
};

tg_tensor *tg_relu6(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_relu6, &x, 1, NULL);
}
