/*
 * sigmoid.c — the logistic function.
 *
 *     sigmoid(x)   = 1 / (1 + e^-x)
 *     sigmoid'(x)  = sigmoid(x) (1 - sigmoid(x)) = y (1 - y)
 *
 * This form is already safe for large |x|: for x -> -inf, e^-x overflows
 * to inf and 1 / inf = 0; for x -> +inf, e^-x = 0 and the result is 1;
 * nothing becomes NaN. It is PyTorch's form, so f32 (with expf) matches
 * it. The gradient reuses the output. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float sigmoid_f32(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static inline double sigmoid_f64(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static inline float sigmoid_grad_f32(float x, float y, float gy)
{
    (void)x;
    return gy * (1.0f - y) * y;
}

static inline double sigmoid_grad_f64(double x, double y, double gy)
{
    (void)x;
    return gy * (1.0 - y) * y;
}

TG_UNARY_OP(sigmoid)

/* The same derivative with ops, for gradients of gradients:
 * gy * y * (1 - y). */
static int sigmoid_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    gx[0] = tg_mul(t, gy, tg_mul(t, y, tg_add_scalar(t, tg_neg(t, y), 1)));
    return tg_made(gx[0]);
}

const tg_op tg__op_sigmoid = {
    .name = "sigmoid",
    .arity = 1,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .backward_ops = sigmoid_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_sigmoid(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_sigmoid, 1, &x, NULL);
}
