/*
 * elementwise.c — running the loops that tapegrad/elementwise.h writes
 * for an elementwise op: make the output, choose the loop for the dtype,
 * and cut the range into parts for the thread pool.
 */
#include "tapegrad/elementwise.h"

#include "tensor/pool.h"
#include "tensor/tensor_struct.h"

/* Which loop of a table: 0 for f32, 1 for f64. */
static int dtype_index(const tg_tensor *x)
{
    return x->dtype == TG_F32 ? 0 : 1;
}

tg_tensor *tg_unary_forward(tg_op_ctx *c, const tg_unary_loops *loops)
{
    if (c == NULL || loops == NULL) {
        tg_set_error(TG_EINVAL, "tg_unary_forward: %s is NULL",
                     c == NULL ? "context" : "loops");
        return NULL;
    }
    const tg_tensor *x = c->in[0];
    tg_tensor *y = tg_empty_like(c->tape, x);
    if (y == NULL)
        return NULL;
    tg_unary_job j = {x->data, NULL, NULL, 0, y->data, c->params};
    tg__parallel_for(x->numel, 16, TG__ELEMENTWISE_PART,
                     loops->forward[dtype_index(x)], &j);
    return y;
}

int tg_unary_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                      tg_tensor *const *gx, const tg_unary_loops *loops)
{
    if (c == NULL || y == NULL || gy == NULL || gx == NULL || loops == NULL)
        return tg_set_error(TG_EINVAL, "tg_unary_backward: an argument is "
                            "NULL");
    if (gx[0] == NULL) /* x needs no gradient */
        return TG_OK;
    const tg_tensor *x = c->in[0];
    tg_unary_job j = {x->data, y->data, gy->data, 0, gx[0]->data, c->params};
    tg_range_fn part = loops->backward[dtype_index(x)];
    if (tg_grad_uniform(gy, &j.gy_value)) {
        j.gy = NULL; /* one value everywhere: its elements are not written */
        part = loops->backward_uniform[dtype_index(x)];
    }
    tg__parallel_for(x->numel, 16, TG__ELEMENTWISE_PART, part, &j);
    return TG_OK;
}

tg_tensor *tg_unary_slope(tg_op_ctx *c, const tg_tensor *y,
                          const tg_unary_loops *loops)
{
    if (c == NULL || y == NULL || loops == NULL) {
        tg_set_error(TG_EINVAL, "tg_unary_slope: an argument is NULL");
        return NULL;
    }
    const tg_tensor *x = c->in[0];
    tg_tensor *d = tg_empty_like(c->tape, x);
    if (d == NULL)
        return NULL;
    tg_unary_job j = {x->data, y->data, NULL, 1.0, d->data, c->params};
    tg__parallel_for(x->numel, 16, TG__ELEMENTWISE_PART,
                     loops->backward_uniform[dtype_index(x)], &j);
    return d;
}

int tg_parallel_range(int64_t n, tg_range_fn fn, void *job)
{
    if (n < 0 || fn == NULL)
        return tg_set_error(TG_EINVAL, "tg_parallel_range: %s",
                            fn == NULL ? "fn is NULL" : "n is negative");
    tg__parallel_for(n, 16, TG__ELEMENTWISE_PART, fn, job);
    return TG_OK;
}
