/*
 * neg.c — negation.
 *
 *     neg(x)    = -x
 *     neg'(x)   = -1
 *
 * neg(0) is -0.0 and neg(NaN) is NaN, as PyTorch. The loops around these
 * one-element functions come from tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float neg_f32(float x)
{
    return -x;
}

static inline double neg_f64(double x)
{
    return -x;
}

/* d root/dx = d root/dy * -1. */
static inline float neg_grad_f32(float x, float y, float gy)
{
    (void)x, (void)y;
    return -gy;
}

static inline double neg_grad_f64(double x, double y, double gy)
{
    (void)x, (void)y;
    return -gy;
}

TG_UNARY_OP(neg)

/* The same derivative with ops, for gradients of gradients: -gy. */
static int neg_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want, (void)y;
    tg_tape *t = c->tape;
    gx[0] = tg_neg(t, gy);
    return tg_made(gx[0]);
}

const tg_op tg__op_neg = {
    .name = "neg",
    .arity = 1,
    .forward = neg_forward,
    .backward = neg_backward,
    .backward_ops = neg_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_neg(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_neg, 1, &x, NULL);
}
