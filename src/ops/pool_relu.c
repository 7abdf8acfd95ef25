/*
 * pool_relu.c — relu_max_pool2d: max pooling of relu(x) as one op, the
 * "ReLU, then max pool" pair that follows each convolution of LeNet.
 *
 *     y[o] = max over window o of relu(x)      (relu(x) = x < 0 ? 0 : x)
 *     d y[o] / d x[i] = 1 if i == arg(o) and x[i] > 0 (or NaN), else 0
 *
 * arg(o) is the first maximum of relu(x) in window o (PyTorch's rule,
 * pool2d.c), so y and the gradient are, bit for bit, those of
 * tg_max_pool2d(tg_relu(x)): the backward below is pool's P^T applied to
 * gy with gy set to 0 where relu stops it. relu stops it at arg(o) exactly
 * when y[o] = relu(x[arg(o)]) is <= 0, so y alone says where, and x is
 * not read again.
 *
 * Why one op: after a convolution x is the largest tensor of the network
 * (LeNet's first, 64 x 6 x 28 x 28 floats, is 1.2 MB, more than L2). The
 * two ops read and write it twice forward (relu, then pool) and three
 * times more backward (pool's P^T writes relu's gradient, relu reads it
 * and x and writes its own). Here forward reads x once and backward
 * writes gx once, and relu's full-size output and gradient are never
 * made. tg_sequential_forward uses it for a relu layer followed by a max
 * pool layer.
 *
 * 2x2 windows at stride 2 run pool_max2x2.c's loops, which take relu as
 * they load (forward) and mask by y (backward); other windows pool a
 * relu'd copy of x with pool_plan.c's general loops.
 */
#include "tapegrad/ops.h"
#include "tapegrad/pool.h"

#include "ops/builtin.h"
#include "ops/pool_plan.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

/* A copy of src on t with out[i] = keep ? relu(src[i]) : (y[i] <= 0 ? 0 :
 * src[i]): relu of x (forward), or gy masked by y (backward). */
static tg_tensor *relu_copy(tg_tape *t, const tg_tensor *src,
                            const tg_tensor *y)
{
    tg_tensor *out = tg_empty_like(t, src);
    if (out == NULL)
        return NULL;
    for (int64_t i = 0; i < src->numel; i++) {
        double v = tg__get(src, i);
        bool stop = y != NULL ? tg__get(y, i) <= 0 : v < 0;
        tg__set(out, i, stop ? 0 : v);
    }
    return out;
}

static tg_tensor *relu_pool_forward(tg_op_ctx *c)
{
    const tg__pool_params *pp = c->params;
    const tg_tensor *x = c->in[0];
    tg__pool_plan *pl = tg_tape_alloc(c->tape, sizeof *pl);
    if (pl == NULL || tg__pool_make_plan(x, pp, pl) != TG_OK)
        return NULL;
    tg_tensor *y = tg__pool_empty_out(c->tape, pl, x->dtype, true);
    if (y == NULL)
        return NULL; /* this also refuses an element count that overflows */
    size_t n_out = (size_t)tg_numel(y);
    c->saved = pl;
    if (tg__pool_is_max2x2(pl)) {
        if ((pl->code = tg_tape_alloc(c->tape, n_out)) == NULL)
            return NULL;
        tg__pool_max2x2_forward(pl, x, y, true);
        return y;
    }
    tg_tensor *r = relu_copy(c->tape, x, NULL);
    if (r == NULL ||
        (pl->arg = tg_tape_alloc(c->tape, n_out * sizeof(int64_t))) == NULL)
        return NULL;
    tg__pool_find_argmax(pl, r);
    tg__pool_apply(pl, r, y, true);
    return y;
}

static int relu_pool_backward(tg_op_ctx *c, const tg_tensor *y,
                              const tg_tensor *gy, tg_tensor *const *gx)
{
    const tg__pool_plan *pl = c->saved;
    if (gx[0] == NULL)
        return TG_OK;
    if (pl->code != NULL) {
        tg__pool_max2x2_relu_grad(pl, gy, y, gx[0]);
        return TG_OK;
    }
    tg_tensor *kept = relu_copy(c->tape, gy, y);
    if (kept == NULL)
        return tg_last_status();
    tg__pool_apply(pl, kept, gx[0], false);
    return TG_OK;
}

/* With ops: P^T (pool2d_linear) of gy where y > 0 or NaN, else 0. The
 * mask is constant where the argmax does not change, as P is. */
static int relu_pool_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                  const bool *want, tg_tensor **gx)
{
    (void)want; /* one input, so it is wanted */
    tg_tape *t = c->tape;
    tg_tensor *kept = tg_where(t, tg_le_scalar(t, y, 0),
                               tg_zeros(t, y->dtype, 0, NULL), gy);
    gx[0] = tg__pool_linear(t, c->saved, kept, true);
    return tg_made(gx[0]);
}

/* For gradient checks: the argmax's position while it is above 0 and
 * alone; TG_ON_KINK on a tie at the maximum or when the maximum is a 0 of
 * x (relu's kink); and one piece (h * w, past every position) while the
 * whole window is below 0, where y is 0 whatever x does. */
static int64_t relu_pool_piece(const tg_op_ctx *c, const tg_tensor *y,
                               int64_t o)
{
    return tg__pool_max_piece(c->saved, c->in[0], tg__get(y, o), o, true);
}

const tg_op tg__op_relu_max_pool2d = {
    .name = "relu_max_pool2d", .arity = 1,
    .params_size = sizeof(tg__pool_params), .forward = relu_pool_forward,
    .backward = relu_pool_backward, .backward_ops = relu_pool_backward_ops,
    .piece = relu_pool_piece,
};

tg_tensor *tg_relu_max_pool2d(tg_tape *t, tg_tensor *x,
                              const tg_pool2d_options *o)
{
    tg__pool_params p = {TG__POOL_MAX, tg_pool2d_defaults(1, 1), {0, 0}, true};
    if (o == NULL && x != NULL) { /* a NULL x keeps the earlier failure */
        tg_set_error(TG_EINVAL, "tg_relu_max_pool2d: the options are NULL; "
                     "start from tg_pool2d_defaults(kh, kw)");
        return NULL;
    }
    if (o != NULL)
        p.o = *o;
    return tg_apply(t, &tg__op_relu_max_pool2d, 1, &x, &p);
}
