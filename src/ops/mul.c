/*
 * mul.c — elementwise multiplication with broadcasting.
 *
 *     mul(a, b)      = a * b
 *     d mul / d a    = b,    d mul / d b = a
 *
 * So a's gradient is gy * b and b's is gy * a, each summed over the
 * dimensions that input was broadcast along. mul(x, x) works: the tape
 * adds the two contributions, 2 * x * gy.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"
#include "tensor/tensor_check.h"

#define MUL(a, b, g, y, p) ((a) * (b))
TG__BCAST_ROW(mul_f32, float, MUL)
TG__BCAST_ROW(mul_f64, double, MUL)
static const tg__row_fn mul_rows[2] = {mul_f32, mul_f64};

#define GRAD_A(a, b, g, y, p) ((g) * (b))
TG__BCAST_ROW(grad_a_f32, float, GRAD_A)
TG__BCAST_ROW(grad_a_f64, double, GRAD_A)
static const tg__row_fn grad_a[2] = {grad_a_f32, grad_a_f64};

#define GRAD_B(a, b, g, y, p) ((g) * (a))
TG__BCAST_ROW(grad_b_f32, float, GRAD_B)
TG__BCAST_ROW(grad_b_f64, double, GRAD_B)
static const tg__row_fn grad_b[2] = {grad_b_f32, grad_b_f64};

static tg_tensor *mul_forward(tg_op_ctx *c)
{
    return tg__broadcast_binary(c->tape, "tg_mul", c->in[0], c->in[1],
                                mul_rows, NULL);
}

static int mul_backward(tg_op_ctx *c, const tg_tensor *y,
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

/* The same derivative with ops: gy * b for a, gy * a for b, summed down
 * to each input's shape. */
static int mul_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        gx[i] = tg_sum_to(t, tg_mul(t, gy, c->in[1 - i]), c->in[i]);
        if (gx[i] == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

const tg_op tg__op_mul = {
    .name = "mul",
    .arity = 2,
    .forward = mul_forward,
    .backward = mul_backward,
    .backward_ops = mul_backward_ops,
};

tg_tensor *tg_mul(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_mul, 2, in, NULL);
}

/* c * x for a constant c: mul with a scalar tensor made on t, as
 * tg_add_scalar. */
tg_tensor *tg_mul_scalar(tg_tape *t, tg_tensor *x, double c)
{
    if (tg__check_read("tg_mul_scalar", x) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_mul_scalar: tape is NULL");
        return NULL;
    }
    return tg_mul(t, x, tg_scalar(t, tg_dtype_of(x), c));
}
