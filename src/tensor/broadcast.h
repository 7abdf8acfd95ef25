/*
 * broadcast.h — elementwise binary ops over NumPy-broadcast shapes
 * (src/tensor/broadcast.c): the result shape, row kernels, the forward,
 * and summing gradients back down to each input's shape.
 *
 * NumPy's rule: align the shapes at their last dimension; two sizes agree
 * if they are equal or one of them is 1 (missing leading dims count as 1),
 * and the result takes the larger. Elementwise binary ops run a row kernel
 * over the result; their backward passes sum each input's gradient back
 * down to that input's shape.
 */
#ifndef TG_TENSOR_BROADCAST_H
#define TG_TENSOR_BROADCAST_H

#include "tapegrad/tensor.h"

/*
 * The broadcast shape of a and b into *ndim and shape[TG_MAX_DIMS], or
 * TG_ESHAPE "FN: shapes (3,4) and (5,) do not broadcast" naming fn.
 */
int tg__broadcast_shape(const char *fn, const tg_tensor *a,
                        const tg_tensor *b, int *ndim, int64_t *shape);

/*
 * A row kernel writes m rows of n output elements (out is contiguous) from
 * up to four operands. Along a row, x[0] (a) and x[1] (b) advance by s[0]
 * and s[1] elements, each 0 (one value repeated along the row) or 1, and
 * from one row to the next by s[2] and s[3]; x[2] (g) and x[3] (y) are
 * laid out as out, or NULL when not given. p is the op's parameters.
 * TG__BCAST_ROW makes them.
 */
typedef void (*tg__row_fn)(int64_t m, int64_t n, void *out,
                           const void *const *x, const int64_t *s,
                           const void *p);

/*
 * Define a static row kernel `name` for element type T:
 * out[i] = F(a, b, g, y, p), with F a function-like macro of the elements.
 * Each stride case is its own loop over restrict parameters, so the common
 * ones (equal shapes; one side a scalar) are plain loops the compiler
 * vectorises, with no call per element or per row. F's unused arguments
 * are never read.
 */
#define TG__BCAST_LOOP(name, T, F, IA, IB)                                   \
    static void name(int64_t m, int64_t n, T *restrict o,                    \
                     const T *restrict a, const T *restrict b,               \
                     const T *restrict g, const T *restrict y,               \
                     int64_t ra, int64_t rb, const void *p)                  \
    {                                                                        \
        (void)a, (void)b, (void)g, (void)y, (void)p;                         \
        for (int64_t r = 0; r < m; r++) {                                    \
            int64_t ro = r * n, rao = r * ra, rbo = r * rb;                  \
            (void)rao, (void)rbo;                                            \
            for (int64_t i = 0; i < n; i++)                                  \
                o[ro + i] = F(a[rao + (IA)], b[rbo + (IB)], g[ro + i],       \
                              y[ro + i], p);                                 \
        }                                                                    \
    }
#define TG__BCAST_ROW(name, T, F)                                            \
    TG__BCAST_LOOP(name##_vv, T, F, i, i)                                    \
    TG__BCAST_LOOP(name##_sv, T, F, 0, i)                                    \
    TG__BCAST_LOOP(name##_vs, T, F, i, 0)                                    \
    TG__BCAST_LOOP(name##_ss, T, F, 0, 0)                                    \
    static void name(int64_t m, int64_t n, void *out, const void *const *x,  \
                     const int64_t *s, const void *p)                        \
    {                                                                        \
        if (s[0] == 1 && s[1] == 1)                                          \
            name##_vv(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
        else if (s[1] == 1)                                                  \
            name##_sv(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
        else if (s[0] == 1)                                                  \
            name##_vs(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
        else                                                                 \
            name##_ss(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
    }

/*
 * Forward of a broadcasting binary op: a new tensor on t of the broadcast
 * shape with out = row[dtype](a, b, p). NULL after TG_ESHAPE (naming fn)
 * or TG_ENOMEM. a and b share a dtype (tg_apply checked).
 */
tg_tensor *tg__broadcast_binary(tg_tape *t, const char *fn,
                                const tg_tensor *a, const tg_tensor *b,
                                const tg__row_fn row[2], const void *p);

/*
 * Backward helper: write into gx (the shape of a or of b) the sum over the
 * broadcast dimensions of row[dtype](a, b, g, y, p), computed over y's
 * shape. When gx already has y's shape the row writes gx directly;
 * otherwise each tile of the row's results is summed as it is made, in
 * tg__sum_to's order, with only gx-sized double sums on t (f32). Returns
 * TG_OK or TG_ENOMEM.
 */
int tg__broadcast_grad(tg_tape *t, tg_tensor *gx, const tg_tensor *a,
                       const tg_tensor *b, const tg_tensor *g,
                       const tg_tensor *y, const tg__row_fn row[2],
                       const void *p);

/*
 * dst = src summed over the dimensions along which dst broadcasts to src's
 * shape (a plain copy when the shapes are equal). dst is written, never
 * added to. f32 sums accumulate in double (scratch on t). TG_OK, or
 * TG_ENOMEM.
 */
int tg__sum_to(tg_tape *t, tg_tensor *dst, const tg_tensor *src);

/* The elements of a and b (as doubles) that element i of y, their
 * broadcast result, was computed from: for piece functions. */
void tg__binary_values(const tg_tensor *a, const tg_tensor *b,
                       const tg_tensor *y, int64_t i, double *va, double *vb);

#endif /* TG_TENSOR_BROADCAST_H */
