/*
 * sigmoid.c — the logistic function.
 *
 *     sigmoid(x)   = 1 / (1 + e^-x)
 *     sigmoid'(x)  = sigmoid(x) (1 - sigmoid(x)) = y (1 - y)
 *
 * This form is already safe for large |x|: for x -> -inf, e^-x overflows
 * to inf and 1 / inf = 0; for x -> +inf, e^-x = 0 and the result is 1;
 * nothing becomes NaN. It is PyTorch's form, so f32 (with expf) matches
 * it. The gradient reuses the output. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

static inline float sigmoid_f32(float x, const void *p)
{
    (void)p;
    return 1.0f / (1.0f + expf(-x));
}

static inline double sigmoid_f64(double x, const void *p)
{
    (void)p;
    return 1.0 / (1.0 + exp(-x));
}

static inline float sigmoid_grad_f32(float x, float y, float gy,
                                     const void *p)
{
    (void)x, (void)p;
    return gy * (1.0f - y) * y;
}

static inline double sigmoid_grad_f64(double x, double y, double gy,
                                      const void *p)
{
    (void)x, (void)p;
    return gy * (1.0 - y) * y;
}

TG__UNARY_OP(sigmoid, void, tg__unary_no_check)

const tg_op tg__op_sigmoid = {
    .name = "sigmoid",
    .arity = 1,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
};

tg_tensor *tg_sigmoid(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_sigmoid, &x, 1, NULL);
}
