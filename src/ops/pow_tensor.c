/*
 * pow_tensor.c — a tensor raised elementwise to a tensor of powers, with
 * broadcasting.
 *
 *     pow(a, b)      = a^b
 *     d/da           = b * a^(b-1),   and 0 where b == 0
 *     d/db           = a^b * log(a),  and 0 where a == 0 and b >= 0
 *
 * The special cases are PyTorch's. Where b == 0 the output is the constant
 * 1, so a's gradient is 0 even at a == 0 (where b * a^(b-1) would be
 * 0 * inf). Where a == 0 and b >= 0, a^b is flat in b from the right
 * (0^b = 0 for b > 0) and log(0) = -inf would make 0 * -inf = NaN, so b's
 * gradient is taken as 0; for b < 0 it stays a^b * log(a) = -inf. For
 * a < 0, log(a) is NaN and so is b's gradient, as the real function a^b
 * is not differentiable in b there. Values come from the C library's pow
 * (in double for f32): 0^0 = 1, (-2)^0.5 = NaN, 1^NaN = 1.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"

#include <math.h>

#define POW(a, b, g, y, p) pow((a), (b))
TG__BCAST_ROW(pow_f32, float, POW)
TG__BCAST_ROW(pow_f64, double, POW)
static const tg__row_fn pow_rows[2] = {pow_f32, pow_f64};

#define GRAD_A(a, b, g, y, p) ((b) == 0 ? 0 : (g) * ((b) * pow((a), (b) - 1)))
TG__BCAST_ROW(grad_a_f32, float, GRAD_A)
TG__BCAST_ROW(grad_a_f64, double, GRAD_A)
static const tg__row_fn grad_a[2] = {grad_a_f32, grad_a_f64};

#define GRAD_B(a, b, g, y, p)                                                \
    ((g) * ((a) == 0 && (b) >= 0 ? 0 : (y) * log(a)))
TG__BCAST_ROW(grad_b_f32, float, GRAD_B)
TG__BCAST_ROW(grad_b_f64, double, GRAD_B)
static const tg__row_fn grad_b[2] = {grad_b_f32, grad_b_f64};

static tg_tensor *pow_tensor_forward(tg_op_ctx *c)
{
    return tg__broadcast_binary(c->tape, "tg_pow_tensor", c->in[0],
                                c->in[1], pow_rows, NULL);
}

static int pow_tensor_backward(tg_op_ctx *c, const tg_tensor *y,
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

/* The same derivative with ops: gy * b * a^(b - 1) for a, gy * y * log(a)
 * for b, summed down to each input's shape. */
static int pow_tensor_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                   const bool *want, tg_tensor **gx)
{
    tg_tape *t = c->tape;
    tg_tensor *a = c->in[0], *b = c->in[1];
    if (want[0]) {
        tg_tensor *b_minus_1 = tg_add_scalar(t, b, -1);
        tg_tensor *d = tg_mul(t, b, tg_pow_tensor(t, a, b_minus_1));
        if ((gx[0] = tg_sum_to(t, tg_mul(t, gy, d), a)) == NULL)
            return tg_last_status();
    }
    if (want[1]) {
        tg_tensor *d = tg_mul(t, y, tg_log(t, a));
        if ((gx[1] = tg_sum_to(t, tg_mul(t, gy, d), b)) == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

const tg_op tg__op_pow_tensor = {
    .name = "pow_tensor",
    .arity = 2,
    .forward = pow_tensor_forward,
    .backward = pow_tensor_backward,
    .backward_ops = pow_tensor_backward_ops,
};

tg_tensor *tg_pow_tensor(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_pow_tensor, 2, in, NULL);
}
