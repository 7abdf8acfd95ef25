/*
 * pool2d.c — max, average and adaptive average pooling over the last two
 * dimensions of (N, C, H, W) or (C, H, W).
 *
 *     max_pool2d:  y[o] = x[arg(o)], arg(o) the first maximum of window o
 *                  d y[o] / d x[i] = 1 if i == arg(o), else 0
 *     avg_pool2d:  y[o] = sum_{i in window o} x[i] / divisor(o)
 *                  d y[o] / d x[i] = 1 / divisor(o) for i in window o
 *     adaptive:    the same with PyTorch's windows
 *                  [floor(i H / OH), ceil((i + 1) H / OH))
 *
 * Given the windows (and, for max, the argmax found by forward), each op
 * is a linear map P from x to y, so backward is its transpose P^T: gy
 * scattered to the argmax positions (max) or spread over each window
 * (avg). The derivative written with ops applies P^T as an op of its own
 * (pool2d_linear, in pool_plan.c), whose derivative is P again: the windows are
 * constant where the argmax does not change, so P has no derivative of its
 * own and every higher order is exact.
 *
 * The plan (geometry and argmax, pool_plan.c) lives in tape memory
 * saved by forward. 2x2 windows at stride 2 (LeNet's) take a fast path
 * of their own, pool_max2x2.c. relu_max_pool2d, max pooling of relu(x) as
 * one op, is in pool_relu.c.
 */
#include "tapegrad/pool.h"

#include "ops/builtin.h"
#include "ops/pool_plan.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

/* ---- the three pooling ops ---- */

static tg_tensor *pool_forward(tg_op_ctx *c)
{
    const tg__pool_params *pp = c->params;
    const tg_tensor *x = c->in[0];
    tg__pool_plan *pl = tg_tape_alloc(c->tape, sizeof *pl);
    if (pl == NULL || tg__pool_make_plan(x, pp, pl) != TG_OK)
        return NULL;
    /* y first: tg_empty refuses an output whose element count overflows
     * (planes * oh * ow of an adaptive pool can), before it is used */
    tg_tensor *y = tg__pool_empty_out(c->tape, pl, x->dtype, true);
    if (y == NULL)
        return NULL;
    size_t n_out = (size_t)tg_numel(y);
    bool fast = tg__pool_is_max2x2(pl); /* pool_max2x2.c */
    if (fast && (pl->code = tg_tape_alloc(c->tape, n_out)) == NULL)
        return NULL;
    if (!fast && pl->kind == TG__POOL_MAX &&
        (pl->arg = tg_tape_alloc(c->tape, n_out * sizeof(int64_t))) == NULL)
        return NULL;
    if (fast) {
        tg__pool_max2x2_forward(pl, x, y, false);
        c->saved = pl;
        return y;
    }
    if (pl->kind == TG__POOL_MAX)
        tg__pool_find_argmax(pl, x);
    tg__pool_apply(pl, x, y, true);
    c->saved = pl;
    return y;
}

static int pool_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] != NULL)
        tg__pool_apply(c->saved, gy, gx[0], false);
    return TG_OK;
}

static int pool_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    gx[0] = tg__pool_linear(c->tape, c->saved, gy, true);
    return tg_made(gx[0]);
}

/* MAX: the argmax's position in its window, or TG_ON_KINK where another
 * element of the window equals the maximum (a tie); h * w (a piece of its
 * own: the constant -inf) for a window of padding only. */
static int64_t max_pool_piece(const tg_op_ctx *c, const tg_tensor *y,
                              int64_t o)
{
    return tg__pool_max_piece(c->saved, c->in[0], tg__get(y, o), o, false);
}

const tg_op tg__op_max_pool2d = {
    .name = "max_pool2d", .arity = 1, .params_size = sizeof(tg__pool_params),
    .forward = pool_forward, .backward = pool_backward,
    .backward_ops = pool_backward_ops, .piece = max_pool_piece,
};

const tg_op tg__op_avg_pool2d = {
    .name = "avg_pool2d", .arity = 1, .params_size = sizeof(tg__pool_params),
    .forward = pool_forward, .backward = pool_backward,
    .backward_ops = pool_backward_ops,
};

const tg_op tg__op_adaptive_avg_pool2d = {
    .name = "adaptive_avg_pool2d", .arity = 1,
    .params_size = sizeof(tg__pool_params), .forward = pool_forward,
    .backward = pool_backward, .backward_ops = pool_backward_ops,
};

tg_pool2d_options tg_pool2d_defaults(int64_t kh, int64_t kw)
{
    tg_pool2d_options o = {{kh, kw}, {kh, kw}, {0, 0}, {1, 1}, true};
    return o;
}

static tg_tensor *pool(tg_tape *t, const tg_op *op, int kind, tg_tensor *x,
                       const tg_pool2d_options *o)
{
    if (o == NULL) {
        if (x == NULL) { /* tg_apply keeps the earlier failure's message */
            tg__pool_params none = {kind, tg_pool2d_defaults(1, 1), {1, 1},
                                    false};
            return tg_apply(t, op, 1, &x, &none);
        }
        tg_set_error(TG_EINVAL, "%s: the options are NULL; start from "
                     "tg_pool2d_defaults(kh, kw)", tg__pool_call_name(kind));
        return NULL;
    }
    tg__pool_params p = {kind, *o, {0, 0}, false};
    return tg_apply(t, op, 1, &x, &p);
}

tg_tensor *tg_max_pool2d(tg_tape *t, tg_tensor *x, const tg_pool2d_options *o)
{
    return pool(t, &tg__op_max_pool2d, TG__POOL_MAX, x, o);
}

tg_tensor *tg_avg_pool2d(tg_tape *t, tg_tensor *x, const tg_pool2d_options *o)
{
    return pool(t, &tg__op_avg_pool2d, TG__POOL_AVG, x, o);
}

tg_tensor *tg_adaptive_avg_pool2d(tg_tape *t, tg_tensor *x, int64_t oh,
                                  int64_t ow)
{
    tg__pool_params p = {TG__POOL_ADAPTIVE, {{0, 0}, {0, 0}, {0, 0}, {0, 0}, false},
                     {oh, ow}, false};
    return tg_apply(t, &tg__op_adaptive_avg_pool2d, 1, &x, &p);
}
