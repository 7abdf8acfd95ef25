/*
 * permute.c — copy a tensor with its dims reordered.
 *
 * The output is written in order; for each output element the input
 * offset follows from the input's strides taken in the output's dim order.
 * The innermost output dim is one strided loop, and a 2-D transpose (the
 * common case, in matmul-heavy code) goes through 32 x 32 tiles so that
 * both the rows read and the rows written stay in cache.
 */
#include "tensor/element.h"
#include "tensor/permute.h"

#define TILE 32

/* y (cols x rows) = x (rows x cols) transposed, tile by tile. */
#define TRANSPOSE(T, name)                                                   \
    static void name(const T *restrict x, T *restrict y, int64_t rows,      \
                     int64_t cols)                                           \
    {                                                                        \
        for (int64_t i0 = 0; i0 < rows; i0 += TILE)                          \
            for (int64_t j0 = 0; j0 < cols; j0 += TILE) {                    \
                int64_t i1 = i0 + TILE < rows ? i0 + TILE : rows;            \
                int64_t j1 = j0 + TILE < cols ? j0 + TILE : cols;            \
                for (int64_t j = j0; j < j1; j++)                            \
                    for (int64_t i = i0; i < i1; i++)                        \
                        y[j * rows + i] = x[i * cols + j];                   \
            }                                                                \
    }

TRANSPOSE(float, transpose_f32)
TRANSPOSE(double, transpose_f64)

/*
 * Any permutation: walk y's multi-index like an odometer, with stride[d]
 * the step in x for one step along y's dim d.
 */
#define PERMUTE(T, name)                                                     \
    static void name(const T *restrict x, T *restrict y, int nd,            \
                     const int64_t *shape, const int64_t *stride,           \
                     int64_t numel)                                          \
    {                                                                        \
        int64_t idx[TG_MAX_DIMS] = {0}, off = 0, n = shape[nd - 1];         \
        int64_t s = stride[nd - 1];                                          \
        for (int64_t done = 0; done < numel; done += n) {                    \
            for (int64_t k = 0; k < n; k++)                                  \
                y[done + k] = x[off + k * s];                                \
            for (int d = nd - 2; d >= 0; d--) {                              \
                off += stride[d];                                            \
                if (++idx[d] < shape[d])                                     \
                    break;                                                   \
                off -= stride[d] * shape[d];                                 \
                idx[d] = 0;                                                  \
            }                                                                \
        }                                                                    \
    }

PERMUTE(float, permute_f32)
PERMUTE(double, permute_f64)

void tg__permute_copy(const tg_tensor *x, const int *perm, tg_tensor *y)
{
    if (y == NULL) /* a NULL gradient slot: nothing to write */
        return;
    int nd = x->ndim;
    if (nd == 2 && perm[0] == 1) {
        if (x->dtype == TG_F32)
            transpose_f32(x->data, y->data, x->shape[0], x->shape[1]);
        else
            transpose_f64(x->data, y->data, x->shape[0], x->shape[1]);
        return;
    }
    if (nd == 0) {
        tg__set(y, 0, tg__get(x, 0));
        return;
    }
    int64_t xstride[TG_MAX_DIMS], shape[TG_MAX_DIMS], stride[TG_MAX_DIMS];
    xstride[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--)
        xstride[d] = xstride[d + 1] * x->shape[d + 1];
    for (int d = 0; d < nd; d++) {
        shape[d] = x->shape[perm[d]];
        stride[d] = xstride[perm[d]];
    }
    if (x->dtype == TG_F32)
        permute_f32(x->data, y->data, nd, shape, stride, x->numel);
    else
        permute_f64(x->data, y->data, nd, shape, stride, x->numel);
}
