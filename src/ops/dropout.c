/*
 * dropout.c — inverted dropout with a mask from tapegrad's PCG32.
 *
 *     y[i]          = x[i] * m[i],   m[i] = 1 / (1 - p) if u[i] >= p else 0
 *     d y[i]/d x[i] = m[i]
 *
 * u[i] is the i-th tg_rng_uniform draw (row-major) of a copy of the
 * caller's generator, kept in the params: forward draws the mask from the
 * copy, so running the op again with the same params (a gradient check
 * does) gives the same mask, and the entry point advances the caller's
 * generator by the same numel draws once the op has succeeded. Given the
 * mask, y is linear in x; the derivative written with ops is gy times the
 * mask as a constant tensor.
 */
#include "tapegrad/ops.h"
#include "tapegrad/pool.h"

#include "ops/builtin.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

#include <math.h>

typedef struct dropout_params {
    double p;
    tg_rng rng;              /* the caller's generator as it was */
} dropout_params;

static tg_tensor *dropout_forward(tg_op_ctx *c)
{
    const dropout_params *p = c->params;
    const tg_tensor *x = c->in[0];
    tg_tensor *y = tg_empty_like(c->tape, x);
    /* the mask, in x's dtype, for backward and backward_ops */
    tg_tensor *m = tg_empty_like(c->tape, x);
    if (y == NULL || m == NULL)
        return NULL;
    tg_rng rng = p->rng;
    double keep = 1.0 / (1.0 - p->p);
    for (int64_t i = 0; i < x->numel; i++) {
        double mi = tg_rng_uniform(&rng) >= p->p ? keep : 0.0;
        tg__set(m, i, mi);
        tg__set(y, i, tg__get(x, i) * tg__get(m, i));
    }
    c->saved = m;
    return y;
}

static int dropout_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const tg_tensor *m = c->saved;
    if (gx[0] != NULL)
        for (int64_t i = 0; i < gy->numel; i++)
            tg__set(gx[0], i, tg__get(gy, i) * tg__get(m, i));
    return TG_OK;
}

/* gy * mask: the mask is a constant, made by forward, with no history. */
static int dropout_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    gx[0] = tg_mul(c->tape, gy, c->saved);
    return tg_made(gx[0]);
}

const tg_op tg__op_dropout = {
    .name = "dropout", .arity = 1, .params_size = sizeof(dropout_params),
    .forward = dropout_forward, .backward = dropout_backward,
    .backward_ops = dropout_backward_ops,
};

tg_tensor *tg_dropout(tg_tape *t, tg_tensor *x, double p, tg_rng *rng,
                      bool training)
{
    if (x == NULL) { /* tg_apply keeps the earlier failure's message */
        dropout_params none = {0.0, {0, 0, 0.0, false}};
        return tg_apply(t, &tg__op_dropout, 1, &x, &none);
    }
    if (!(p >= 0.0 && p < 1.0)) {
        tg_set_error(TG_EINVAL, "tg_dropout: p is %g; it must be in [0, 1)",
                     p);
        return NULL;
    }
    if (!training)
        return x;
    if (rng == NULL) {
        tg_set_error(TG_EINVAL, "tg_dropout: rng is NULL; training needs a "
                     "generator for the mask");
        return NULL;
    }
    if ((rng->inc & 1) == 0) {
        tg_set_error(TG_ESTATE, "tg_dropout: rng was never seeded; call "
                     "tg_rng_seed first");
        return NULL;
    }
    dropout_params dp = {p, *rng};
    tg_tensor *y = tg_apply(t, &tg__op_dropout, 1, &x, &dp);
    if (y != NULL)
        for (int64_t i = 0; i < x->numel; i++)
            (void)tg_rng_uniform(rng);
    return y;
}
