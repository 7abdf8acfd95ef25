/*
 * transpose.c — the transpose of a matrix.
 *
 *     transpose(x)[j][i] = x[i][j]
 *     d root / d x       = transpose(d root / d y)
 *
 * Transposing only moves values, so the gradient moves back the same way:
 * transposing it again puts each element where it came from. Tensors own
 * contiguous storage, so this copies (through the tiled kernel in
 * src/tensor/permute.c) rather than making a strided view. tg_permute
 * reorders any number of dims.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/permute.h"
#include "tensor/tensor_struct.h"

static const int swap[2] = {1, 0};

static tg_tensor *transpose_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    char s[128];
    if (x->ndim != 2) {
        tg_set_error(TG_ESHAPE, "tg_transpose: shape %s is not 2-D; "
                     "tg_permute reorders any dims",
                     tg_shape_str(x, s, sizeof s));
        return NULL;
    }
    int64_t shape[2] = {x->shape[1], x->shape[0]};
    tg_tensor *y = tg_empty(c->tape, x->dtype, 2, shape);
    if (y != NULL)
        tg__permute_copy(x, swap, y);
    return y;
}

/* The gradient, transposed back to x's shape. */
static int transpose_backward(tg_op_ctx *c, const tg_tensor *y,
                              const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c;
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    tg__permute_copy(gy, swap, gx[0]);
    return TG_OK;
}

/* The same derivative with ops: gy transposed back. */
static int transpose_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                  const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    gx[0] = tg_transpose(c->tape, gy);
    return tg_made(gx[0]);
}

const tg_op tg__op_transpose = {
    .name = "transpose",
    .arity = 1,
    .forward = transpose_forward,
    .backward = transpose_backward,
    .backward_ops = transpose_backward_ops,
};

tg_tensor *tg_transpose(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_transpose, 1, &x, NULL);
}
