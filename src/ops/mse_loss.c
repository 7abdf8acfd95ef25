/*
 * mse_loss.c — the mean squared error between two tensors of one shape.
 *
 *     mse(a, b)        = (1/n) sum_i (a[i] - b[i])^2
 *     d mse / d a[i]   =  2 (a[i] - b[i]) / n
 *     d mse / d b[i]   = -2 (a[i] - b[i]) / n
 *
 * The squares are summed in double, so f32 inputs are rounded once. The
 * shapes must match exactly: PyTorch broadcasts here with a warning, which
 * mostly hides a bug (a (N,1) prediction against (N,) targets is an NxN
 * comparison), so we refuse instead.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/element.h"
#include "tensor/tensor_check.h"

static tg_tensor *mse_loss_forward(tg_op_ctx *c)
{
    const tg_tensor *a = c->in[0], *b = c->in[1];
    char sa[128], sb[128];
    if (!tg__same_shape(a, b)) {
        tg_set_error(TG_ESHAPE, "tg_mse_loss: shapes %s and %s differ; "
                     "mse_loss needs one shape (reshape first)",
                     tg_shape_str(a, sa, sizeof sa),
                     tg_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    tg_tensor *y = tg_empty(c->tape, a->dtype, 0, NULL);
    if (y == NULL)
        return NULL;
    double s = 0;
    for (int64_t i = 0; i < a->numel; i++) {
        double d = tg__get(a, i) - tg__get(b, i);
        s += d * d;
    }
    tg__set(y, 0, s / (double)a->numel);
    return y;
}

/* ga = 2 (a - b) g / n and gb = -ga, for the inputs that need them. */
static int mse_loss_backward(tg_op_ctx *c, const tg_tensor *y,
                             const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL && gx[1] == NULL) /* neither input needs one */
        return TG_OK;
    const tg_tensor *a = c->in[0], *b = c->in[1];
    double scale = 2.0 * tg__get(gy, 0) / (double)a->numel;
    for (int64_t i = 0; i < a->numel; i++) {
        double d = scale * (tg__get(a, i) - tg__get(b, i));
        if (gx[0] != NULL)
            tg__set(gx[0], i, d);
        if (gx[1] != NULL)
            tg__set(gx[1], i, -d);
    }
    return TG_OK;
}

/* The same derivative with ops: +-gy * 2 (a - b) / n. */
static int mse_loss_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                 const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    double n = (double)tg_numel(c->in[0]);
    tg_tensor *d = tg_mul(t, gy, tg_mul_scalar(t, tg_sub(t, c->in[0],
                                                          c->in[1]), 2 / n));
    if (want[0] && (gx[0] = d) == NULL)
        return tg_last_status();
    if (want[1] && (gx[1] = tg_neg(t, d)) == NULL)
        return tg_last_status();
    return TG_OK;
}

const tg_op tg__op_mse_loss = {
    .name = "mse_loss",
    .arity = 2,
    .forward = mse_loss_forward,
    .backward = mse_loss_backward,
    .backward_ops = mse_loss_backward_ops,
};

tg_tensor *tg_mse_loss(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_mse_loss, 2, in, NULL);
}
