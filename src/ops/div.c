/*
 * div.c — elementwise division with broadcasting.
 *
 *     div(a, b)      = a / b
 *     d div / d a    = 1 / b,    d div / d b = -a / b^2 = -y / b
 *
 * The gradients are computed as PyTorch does, gy / b and -gy * (y / b),
 * reusing the output y = a / b rather than squaring b: the same values,
 * rounding for rounding, and IEEE's rules at b == 0 (a / 0 is +-inf, 0 / 0
 * is NaN) carry through to the gradients.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"

#define DIV(a, b, g, y, p) ((a) / (b))
TG__BCAST_ROW(div_f32, float, DIV)
TG__BCAST_ROW(div_f64, double, DIV)
static const tg__row_fn div_rows[2] = {div_f32, div_f64};

#define GRAD_A(a, b, g, y, p) ((g) / (b))
TG__BCAST_ROW(grad_a_f32, float, GRAD_A)
TG__BCAST_ROW(grad_a_f64, double, GRAD_A)
static const tg__row_fn grad_a[2] = {grad_a_f32, grad_a_f64};

#define GRAD_B(a, b, g, y, p) (-(g) * ((y) / (b)))
TG__BCAST_ROW(grad_b_f32, float, GRAD_B)
TG__BCAST_ROW(grad_b_f64, double, GRAD_B)
static const tg__row_fn grad_b[2] = {grad_b_f32, grad_b_f64};

static tg_tensor *div_forward(tg_op_ctx *c)
{
    return tg__broadcast_binary(c->tape, "tg_div", c->in[0], c->in[1],
                                div_rows, NULL);
}

static int div_backward(tg_op_ctx *c, const tg_tensor *y,
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

/* The same derivative with ops: gy / b for a, -gy * y / b for b (y = a /
 * b), summed down to each input's shape. */
static int div_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    tg_tape *t = c->tape;
    tg_tensor *a = c->in[0], *b = c->in[1];
    if (want[0] && (gx[0] = tg_sum_to(t, tg_div(t, gy, b), a)) == NULL)
        return tg_last_status();
    if (want[1]) {
        tg_tensor *gb = tg_neg(t, tg_mul(t, gy, tg_div(t, y, b)));
        if ((gx[1] = tg_sum_to(t, gb, b)) == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

const tg_op tg__op_div = {
    .name = "div",
    .arity = 2,
    .forward = div_forward,
    .backward = div_backward,
    .backward_ops = div_backward_ops,
};

tg_tensor *tg_div(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_div, 2, in, NULL);
}
