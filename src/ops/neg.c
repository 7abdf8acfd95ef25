/*
 * neg.c — negation.
 *
 *     neg(x)    = -x
 *     neg'(x)   = -1
 *
 * neg(0) is -0.0 and neg(NaN) is NaN, as PyTorch. The loops around these
 * one-element functions come from unary.h (relu.c shows them written out).
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float neg_f32(float x, const void *p)
{
    (void)p;
    return -x;
}

static inline double neg_f64(double x, const void *p)
{
    (void)p;
    return -x;
}

/* d root/dx = d root/dy * -1. */
static inline float neg_grad_f32(float x, float y, float gy, const void *p)
{
    (void)x, (void)y, (void)p;
    return -gy;
}

static inline double neg_grad_f64(double x, double y, double gy, const void *p)
{
    (void)x, (void)y, (void)p;
    return -gy;
}

TG__UNARY_OP(neg, void, tg__unary_no_check)

const tg_op tg__op_neg = {
    .name = "neg",
    .arity = 1,
    .forward = neg_forward,
    .backward = neg_backward,
};

tg_tensor *tg_neg(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_neg, &x, 1, NULL);
}
