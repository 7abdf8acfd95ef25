/*
 * layer_norm_rows.h — the f32 rows of layer norm with a weight and a
 * bias, forward and backward (src/ops/layer_norm_rows.c), for
 * layer_norm.c.
 */
#ifndef TG_OPS_LAYER_NORM_ROWS_H
#define TG_OPS_LAYER_NORM_ROWS_H

#include <stdint.h>

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

#endif /* TG_OPS_LAYER_NORM_ROWS_H */
