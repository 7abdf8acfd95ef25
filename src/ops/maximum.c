/*
 * maximum.c — the elementwise larger of two tensors, with broadcasting.
 *
 *     maximum(a, b)  = a if a > b, b if b > a
 *     d/da           = 1 if a > b, 0 if a < b, 1/2 if a == b
 *     d/db           = 0 if a > b, 1 if a < b, 1/2 if a == b
 *
 * On a tie the function has a kink (it bends from following b to following
 * a), and the gradient is split evenly between the inputs, as PyTorch does.
 * NaN in either input gives NaN, and then both inputs get the whole
 * gradient (PyTorch again). maximum(-0.0, +0.0) is +0.0 whichever side it
 * is on, as IEEE 754-2019's maximum; PyTorch's answer there depends on the
 * tensor's length (its vectorised and scalar loops differ).
 *
 * The piece function tells a gradient check which input won each element,
 * and that ties sit on the kink.
 */
#include "tapegrad/ops.h"

#include "ops/axis_ops.h"
#include "ops/builtin.h"
#include "tensor/broadcast.h"

#include <math.h>
#include <string.h>

/*
 * On a tie only zeros can differ, in their sign bit, so the bits of a
 * and b are combined with AND: +0 beats -0. That is the signed-zero
 * rule, and cheaper than testing signbit (no extra compare and select).
 */
static inline float tie_f32(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    x &= y;
    memcpy(&a, &x, sizeof a);
    return a;
}

static inline double tie_f64(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    x &= y;
    memcpy(&a, &x, sizeof a);
    return a;
}

#define TIE(a, b) _Generic((a), float: tie_f32, default: tie_f64)((a), (b))

/* a tie as above; else a if it is NaN or larger, else b (b's NaN too). */
#define MAX(a, b, g, y, p)                                                   \
    ((a) == (b) ? TIE((a), (b)) : (a) != (a) || (a) > (b) ? (a) : (b))
TG__BCAST_ROW(max_f32, float, MAX)
TG__BCAST_ROW(max_f64, double, MAX)
static const tg__row_fn max_rows[2] = {max_f32, max_f64};

/* The gradient reaches a where a >= b (half of it on a tie) or either is
 * NaN; b's is the mirror image. */
#define GRAD_A(a, b, g, y, p) ((a) < (b) ? 0 : (a) == (b) ? (g) / 2 : (g))
TG__BCAST_ROW(grad_a_f32, float, GRAD_A)
TG__BCAST_ROW(grad_a_f64, double, GRAD_A)
static const tg__row_fn grad_a[2] = {grad_a_f32, grad_a_f64};

#define GRAD_B(a, b, g, y, p) ((a) > (b) ? 0 : (a) == (b) ? (g) / 2 : (g))
TG__BCAST_ROW(grad_b_f32, float, GRAD_B)
TG__BCAST_ROW(grad_b_f64, double, GRAD_B)
static const tg__row_fn grad_b[2] = {grad_b_f32, grad_b_f64};

static tg_tensor *maximum_forward(tg_op_ctx *c)
{
    return tg__broadcast_binary(c->tape, "tg_maximum", c->in[0], c->in[1],
                                max_rows, NULL);
}

static int maximum_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    const tg_tensor *a = c->in[0], *b = c->in[1];
    if (gx[0] != NULL &&
        tg__broadcast_grad(c->tape, gx[0], a, b, gy, y, grad_a, NULL) != TG_OK)
        return TG_ENOMEM;
    if (gx[1] != NULL &&
        tg__broadcast_grad(c->tape, gx[1], a, b, gy, y, grad_b, NULL) != TG_OK)
        return TG_ENOMEM;
    return TG_OK;
}

/* Which input output i came from: 0 for a, 1 for b (the NaN one if either
 * is NaN), TG_ON_KINK on a tie. */
static int64_t maximum_piece(const tg_op_ctx *c, const tg_tensor *y,
                             int64_t i)
{
    double a, b;
    tg__binary_values(c->in[0], c->in[1], y, i, &a, &b);
    if (a == b)
        return TG_ON_KINK;
    return isnan(a) || a > b ? 0 : 1;
}

/* The same derivative with ops: see tg__pick_backward_ops. */
static int maximum_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)y;
    return tg__pick_backward_ops(c, gy, want, gx, true);
}

const tg_op tg__op_maximum = {
    .name = "maximum",
    .arity = 2,
    .forward = maximum_forward,
    .backward = maximum_backward,
    .backward_ops = maximum_backward_ops,
    .piece = maximum_piece,
};

tg_tensor *tg_maximum(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_maximum, 2, in, NULL);
}
