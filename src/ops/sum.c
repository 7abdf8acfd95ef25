/*
 * sum.c — the sum of all elements.
 *
 *     sum(x)          = x[0] + x[1] + ... + x[n-1]
 *     d sum / d x[i]  = 1
 *
 * So, by the chain rule, every element of x gets the same gradient: the
 * upstream d root / d sum, a single number. The backward says exactly
 * that with tg_grad_fill, and the tape may keep it as that one number
 * until an op needs the elements (relu after a sum never does).
 * tg_sum_value does the adding up, accurately and fast.
 */
#include <tapegrad.h>

/* Forward: y = x[0] + ... + x[n-1], a scalar. */
static tg_tensor *sum_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    return tg_scalar(c->tape, tg_dtype_of(x), tg_sum_value(x));
}

/* Backward: d root / dx[i] = d root / dy, for every i. */
static int sum_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                        tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] == NULL) /* x needs no gradient */
        return TG_OK;
    return tg_grad_fill(gx[0], tg_item(gy));
}

/* The same derivative with ops: gy broadcast to x's shape. */
static int sum_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tensor *x = c->in[0];
    tg_tensor *zeros = tg_zeros(c->tape, tg_dtype_of(x), tg_ndim(x),
                                tg_shape(x));
    gx[0] = tg_add(c->tape, zeros, gy);
    return tg_made(gx[0]);
}

const tg_op tg__op_sum = {
    .name = "sum",
    .arity = 1,
    .forward = sum_forward,
    .backward = sum_backward,
    .backward_ops = sum_backward_ops,
};

tg_tensor *tg_sum(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_sum, 1, &x, NULL);
}
