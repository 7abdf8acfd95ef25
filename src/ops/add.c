/*
 * add.c — elementwise addition with broadcasting.
 *
 *     add(a, b)      = a + b
 *     d add / d a    = 1,    d add / d b = 1
 *
 * The shapes broadcast by NumPy's rules (src/tensor/broadcast.c), so a
 * (3,4) matrix plus a (4,) bias adds the bias to every row. Backward
 * passes the output's gradient straight through, summed over the
 * dimensions an input was broadcast along: the bias's gradient is the
 * column sums of gy.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"
#include "tensor/tensor_check.h"

#define ADD(a, b, g, y, p) ((a) + (b))
TG__BCAST_ROW(add_f32, float, ADD)
TG__BCAST_ROW(add_f64, double, ADD)
static const tg__row_fn add_rows[2] = {add_f32, add_f64};

static tg_tensor *add_forward(tg_op_ctx *c)
{
    return tg__broadcast_binary(c->tape, "tg_add", c->in[0], c->in[1],
                                add_rows, NULL);
}

/* Both inputs get gy, each summed down to its own shape. */
static int add_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    for (int i = 0; i < 2; i++)
        if (gx[i] != NULL && tg__sum_to(c->tape, gx[i], gy) != TG_OK)
            return TG_ENOMEM;
    return TG_OK;
}

/* The same derivative with ops: gy summed down to each input's shape. */
static int add_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)y;
    for (int i = 0; i < 2; i++)
        if (want[i] && (gx[i] = tg_sum_to(c->tape, gy, c->in[i])) == NULL)
            return tg_last_status();
    return TG_OK;
}

const tg_op tg__op_add = {
    .name = "add",
    .arity = 2,
    .forward = add_forward,
    .backward = add_backward,
    .backward_ops = add_backward_ops,
};

tg_tensor *tg_add(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_add, 2, in, NULL);
}

/*
 * x + c for a constant c: add with a scalar tensor made on t, which needs
 * no gradient of its own. The one-row broadcast of a scalar is the same
 * plain loop as a dedicated op would be.
 */
tg_tensor *tg_add_scalar(tg_tape *t, tg_tensor *x, double c)
{
    if (tg__check_read("tg_add_scalar", x) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_add_scalar: tape is NULL");
        return NULL;
    }
    return tg_add(t, x, tg_scalar(t, tg_dtype_of(x), c));
}
