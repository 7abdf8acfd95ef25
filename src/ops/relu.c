/*
 * relu.c — the rectified linear unit, and the model for every op.
 *
 *     relu(x)  = max(x, 0)
 *     relu'(x) = 1 if x > 0, else 0
 *
 * By the chain rule d root/dx = relu'(x) * d root/dy: the gradient flows
 * where x > 0 and stops where x <= 0 (0 at the kink x == 0, as PyTorch;
 * NaN passes it). relu(NaN) is NaN, relu(-0.0) -0.0, relu(-inf) 0.
 *
 * An op is a forward, a backward that turns the output's gradient into
 * the input's (one link of the chain rule), and a tg_op struct naming
 * them. relu works element by element, so this file writes the maths of
 * one element and TG_UNARY_OP (tapegrad/elementwise.h) the loops around
 * it. Your own op is written the same way: see docs/adding-an-op.md.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

/* Forward: y = max(x, 0). Testing x < 0 keeps NaN and -0.0 as they are. */
static inline float relu_f32(float x) { return x < 0 ? 0 : x; }
static inline double relu_f64(double x) { return x < 0 ? 0 : x; }

/* Backward: d root/dx = gy where x > 0 (or NaN), else 0; y is unused. */
static inline float relu_grad_f32(float x, float y, float gy)
{
    return (void)y, x <= 0 ? 0 : gy;
}
static inline double relu_grad_f64(double x, double y, double gy)
{
    return (void)y, x <= 0 ? 0 : gy;
}
TG_UNARY_OP(relu) /* relu_forward, relu_backward: the loops */

/* The same backward with ops, so it can be differentiated again: gy times
 * relu'(x), which is constant on each side of 0 (relu'' = 0). */
static int relu_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)want; /* one input, so it is wanted: else backward skips relu */
    gx[0] = tg_mul(c->tape, gy, tg_unary_slope(c, y, &relu_loops));
    return tg_made(gx[0]);
}
/* Which side of the kink x is on, for gradient checks (see op.h). */
static inline int64_t relu_piece_at(double x)
{
    return x > 0 ? 1 : x < 0 ? 0 : TG_ON_KINK;
}
TG_UNARY_PIECE(relu)

const tg_op tg__op_relu = {
    .name = "relu", .arity = 1, .forward = relu_forward,
    .backward = relu_backward, .backward_ops = relu_backward_ops,
    .piece = relu_piece, .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_relu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_relu, 1, &x, NULL);
}
