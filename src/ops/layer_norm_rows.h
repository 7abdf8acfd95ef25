/*
 * layer_norm_rows.h — the f32 rows of layer norm with a weight and a
 * bias, forward and backward (src/ops/layer_norm_rows.c), for
 * layer_norm.c.
 */
#ifndef TG_OPS_LAYER_NORM_ROWS_H
#define TG_OPS_LAYER_NORM_ROWS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* 1 / sqrt(var / n + eps) for the sum var of a row's n squared
 * deviations; NaN when var overflowed (finite values so far apart that
 * their squares do not fit: PyTorch's answer, where 0 would make
 * y = b, finite and wrong). */
static inline double tg__ln_rstd(double var, int64_t n, double eps)
{
    return isinf(var) ? NAN : 1.0 / sqrt(var / (double)n + eps);
}

/* y = (x - mu) rstd w + b over each of the rows (n floats each, one
 * after the other); mu[r] and rstd[r] = 1 / sqrt(var + eps) get row r's,
 * computed in double. */
void tg__ln_forward_rows_f32(const float *restrict x, const float *restrict w,
                             const float *restrict b, float *restrict y,
                             int64_t n, int64_t rows, double eps, double *mu,
                             double *rstd);

/* gx for the rows from x, their gradient g and w (mu and rstd as saved by
 * the forward); each row's g xhat and g are added into gw[0..n) and
 * gb[0..n) (doubles), the rows in order. */
void tg__ln_backward_rows_f32(const float *restrict x, const float *restrict g,
                              const float *restrict w, float *restrict gx,
                              int64_t n, int64_t rows, const double *mu,
                              const double *rstd, double *restrict gw,
                              double *restrict gb);

/* One row's gx by PyTorch's formula, for a row whose sums are not finite
 * (an infinite or NaN weight or gradient; layer_norm.c); x, g,
 * w (NULL: ones) and gx are float if f32, else double. */
void tg__ln_backward_row_torch(const void *x, const void *g, const void *w,
                               void *gx, bool f32, int64_t n, double mu,
                               double rstd);

#endif /* TG_OPS_LAYER_NORM_ROWS_H */
