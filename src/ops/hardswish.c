/*
 * hardswish.c — a piecewise swish (Howard et al., 2019, MobileNetV3).
 *
 *     hardswish(x)    = x min(max(x + 3, 0), 6) / 6
 *     hardswish'(x)   = 0 if x < -3, 1 if x >= 3, else x / 3 + 1/2
 *
 * The function is continuous but its derivative jumps at -3 (from 0 to
 * -1/2) and at 3 (from 3/2 to 1). At those kinks the derivative is -1/2
 * and 1, and at NaN it is NaN: the conventions of PyTorch's vectorised
 * kernel, which real tensors use (its scalar kernel, used for the last few
 * elements of a tensor, gives 3/2 at 3 and passes the gradient at NaN).
 * The value is x * (r / 6) rather than PyTorch's x * r / 6, so it cannot
 * overflow for x near the largest float (PyTorch gives inf at 3e38 in
 * f32); hardswish(-inf) is -0.0 where PyTorch has NaN (-inf * 0). The loops
 * come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

/* x r / 6 with r = min(max(x + 3, 0), 6); r == 0 gives -0.0 (x <= -3). */
static inline float hardswish_f32(float x, const void *p)
{
    (void)p;
    float r = x + 3.0f;
    r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
    return r == 0.0f ? -0.0f : x * (r / 6.0f);
}

static inline double hardswish_f64(double x, const void *p)
{
    (void)p;
    double r = x + 3.0;
    r = r < 0.0 ? 0.0 : r > 6.0 ? 6.0 : r;
    return r == 0.0 ? -0.0 : x * (r / 6.0);
}

static inline float hardswish_grad_f32(float x, float y, float gy,
                                       const void *p)
{
    (void)y, (void)p;
    return x < -3.0f ? 0.0f : x >= 3.0f ? gy : gy * (x / 3.0f + 0.5f);
}

static inline double hardswish_grad_f64(double x, double y, double gy,
                                        const void *p)
{
    (void)y, (void)p;
    return x < -3.0 ? 0.0 : x >= 3.0 ? gy : gy * (x / 3.0 + 0.5);
}

/* 0 below -3, 1 between, 2 above 3; -3 and 3 are kinks. */
static inline int64_t hardswish_piece_at(double x, const void *p, tg_dtype dt)
{
    (void)p, (void)dt;
    return x < -3 ? 0 : x > 3 ? 2 : x > -3 && x < 3 ? 1 : TG_ON_KINK;
}

TG__UNARY_OP(hardswish, void, tg__unary_no_check)
TG__UNARY_PIECE(hardswish, void)

const tg_op tg__op_hardswish = {
    .name = "hardswish",
    .arity = 1,
    .forward = hardswish_forward,
    .backward = hardswish_backward,
    .piece = hardswish_piece,
};

tg_tensor *tg_hardswish(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_hardswish, &x, 1, NULL);
}
