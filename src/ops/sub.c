/*
 * sub.c — elementwise subtraction with broadcasting.
 *
 *     sub(a, b)      = a - b
 *     d sub / d a    = 1,    d sub / d b = -1
 *
 * Written directly rather than as add(a, neg(b)): the composition would
 * make a whole negated copy of b and walk memory twice, where this is one
 * pass. The gradients are add's, with b's negated.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"

#define SUB(a, b, g, y, p) ((a) - (b))
TG__BCAST_ROW(sub_f32, float, SUB)
TG__BCAST_ROW(sub_f64, double, SUB)
static const tg__row_fn sub_rows[2] = {sub_f32, sub_f64};

static tg_tensor *sub_forward(tg_op_ctx *c)
{
    return tg__broadcast_binary(c->tape, "tg_sub", c->in[0], c->in[1],
                                sub_rows, NULL);
}

/* x = -x in place, for b's gradient. */
static void negate(tg_tensor *x)
{
    int64_t n = tg_numel(x);
    if (tg_dtype_of(x) == TG_F32) {
        float *restrict v = tg_mut_f32(x);
        for (int64_t i = 0; i < n; i++)
            v[i] = -v[i];
    } else {
        double *restrict v = tg_mut_f64(x);
        for (int64_t i = 0; i < n; i++)
            v[i] = -v[i];
    }
}

/* a gets gy and b gets -gy, each summed down to its own shape. */
static int sub_backward(tg_op_ctx *c, const tg_tensor *y,
                        const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] != NULL && tg__sum_to(c->tape, gx[0], gy) != TG_OK)
        return TG_ENOMEM;
    if (gx[1] != NULL) {
        if (tg__sum_to(c->tape, gx[1], gy) != TG_OK)
            return TG_ENOMEM;
        negate(gx[1]);
    }
    return TG_OK;
}

/* The same derivative with ops: gy for a, -gy for b, summed down to each
 * input's shape. */
static int sub_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    if (want[0] && (gx[0] = tg_sum_to(t, gy, c->in[0])) == NULL)
        return tg_last_status();
    if (want[1] && (gx[1] = tg_sum_to(t, tg_neg(t, gy), c->in[1])) == NULL)
        return tg_last_status();
    return TG_OK;
}

const tg_op tg__op_sub = {
    .name = "sub",
    .arity = 2,
    .forward = sub_forward,
    .backward = sub_backward,
    .backward_ops = sub_backward_ops,
};

tg_tensor *tg_sub(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_sub, 2, in, NULL);
}
