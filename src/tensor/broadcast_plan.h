/*
 * broadcast_plan.h — how broadcasting walks its output
 * (src/tensor/broadcast_plan.c), shared by the forward (broadcast.c) and
 * the gradient sums (broadcast_grad.c).
 *
 * Broadcasting ops walk their output in row-major order through a
 * "plan": the output's dimensions with, for each input, the step (in
 * elements) its index takes along each dimension, 0 where the input is
 * broadcast.
 * Dimensions of size 1 are dropped and neighbours that every input walks
 * the same way are merged, so equal shapes become one long row, a scalar
 * with a tensor one row with a step of 0, and (3,4) + (4,) three rows of
 * four. The innermost step is then always 0 or 1, which is what lets the
 * row kernels be plain loops.
 */
#ifndef TG_TENSOR_BROADCAST_PLAN_H
#define TG_TENSOR_BROADCAST_PLAN_H

#include "tapegrad/tensor.h"
#include "tensor/broadcast.h"

/* The output's dimensions as up to two inputs walk them. */
typedef struct tg__plan {
    int ndim;                          /* >= 1 */
    int nx;                            /* inputs: 1 or 2 */
    int64_t shape[TG_MAX_DIMS];
    int64_t stride[2][TG_MAX_DIMS];    /* elements; 0 where broadcast */
} tg__plan;

/* The step x's flat index takes along each of the output's ndim dims. */
void tg__plan_strides(const tg_tensor *x, int ndim, int64_t *stride);

/*
 * The plan for walking an output of shape (ndim, shape) with inputs
 * x[0..nx-1] broadcast to it: size-1 dims dropped, mergeable dims merged.
 */
void tg__plan_init(tg__plan *p, int ndim, const int64_t *shape, int nx,
                   const tg_tensor *const *x);

/* Elements per row (the last dim) and the number of rows. */
static inline int64_t tg__plan_rows(const tg__plan *p, int64_t *n)
{
    int64_t rows = 1;
    for (int d = 0; d < p->ndim - 1; d++)
        rows *= p->shape[d];
    *n = p->shape[p->ndim - 1];
    return rows;
}

/* Step the odometer of dims 0..last-1 to its next position, updating each
 * input's offset. */
static inline void tg__plan_next(const tg__plan *p, int last, int64_t *idx,
                                 int64_t *off)
{
    for (int d = last - 1; d >= 0; d--) {
        for (int k = 0; k < p->nx; k++)
            off[k] += p->stride[k][d];
        if (++idx[d] < p->shape[d])
            return;
        for (int k = 0; k < p->nx; k++)
            off[k] -= p->stride[k][d] * p->shape[d];
        idx[d] = 0;
    }
}

/*
 * out = row(a, b, g, y, prm) over the output. The row kernel takes the
 * last two dims as one block (m rows of n), so it is called once per
 * block, not once per row: (N,4) + (4,) is one call, not N.
 * x holds a, b (walked by the plan) and g, y (output-shaped, or NULL).
 */
void tg__plan_run(const tg__plan *p, size_t es, void *out,
                  const void *const *x, tg__row_fn row, const void *prm);

#endif /* TG_TENSOR_BROADCAST_PLAN_H */
