/*
 * layer_norm.h — what layer_norm.c (the op, its kernels) and
 * layer_norm_ops.c (its derivative written with ops, for create_graph)
 * share: the op's parameters.
 */
#ifndef TG_OPS_LAYER_NORM_H
#define TG_OPS_LAYER_NORM_H

#include "tapegrad/ops.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ln_params {
    int ndim;                     /* normalised dims: x's last ndim */
    int64_t shape[TG_MAX_DIMS];   /* their sizes */
    double eps;
    bool has_w, has_b;            /* in[1] is w if has_w; b follows */
} ln_params;

/* The size of one row: the normalised part, x's last ndim dims. */
static inline int64_t tg__ln_row_size(const ln_params *p)
{
    int64_t n = 1;
    for (int d = 0; d < p->ndim; d++)
        n *= p->shape[d];
    return n;
}

/* layer norm's backward_ops: d/dx, d/dw, d/db recorded as ops on c's
 * tape (layer_norm_ops.c). */
int tg__ln_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                        const bool *want, tg_tensor **gx);

#endif
