/*
 * exp.c — the exponential.
 *
 *     exp(x)    = e^x
 *     exp'(x)   = e^x = y
 *
 * The gradient reuses the output: gx = gy * y. exp(inf) = inf with
 * gradient inf, exp(-inf) = 0 with gradient 0, and exp overflows to inf
 * beyond x = 88.72 (f32) or 709.78 (f64), as PyTorch. f32 is computed with
 * expf. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

static inline float exp_f32(float x)
{
    return expf(x);
}

static inline double exp_f64(double x)
{
    return exp(x);
}

static inline float exp_grad_f32(float x, float y, float gy)
{
    (void)x;
    return gy * y;
}

static inline double exp_grad_f64(double x, double y, double gy)
{
    (void)x;
    return gy * y;
}

TG_UNARY_OP(exp)

/* The same derivative with ops, for gradients of gradients: gy * y. */
static int exp_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    gx[0] = tg_mul(t, gy, y);
    return tg_made(gx[0]);
}

const tg_op tg__op_exp = {
    .name = "exp",
    .arity = 1,
    .forward = exp_forward,
    .backward = exp_backward,
    .backward_ops = exp_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_exp(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_exp, 1, &x, NULL);
}
