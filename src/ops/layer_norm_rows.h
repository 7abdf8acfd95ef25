/*
 * layer_norm_rows.h — one f32 row of layer norm with a weight and a bias,
 * forward and backward (src/ops/layer_norm_rows.c), for layer_norm.c.
 */
#ifndef TG_OPS_LAYER_NORM_ROWS_H
#define TG_OPS_LAYER_NORM_ROWS_H

#include <stdint.h>

/* y = (x - mu) rstd w + b over the n floats of one row; *mu_out and
 * *rstd_out get mu and rstd = 1 / sqrt(var + eps), computed in double. */
void tg__ln_forward_row_f32(const float *restrict x, const float *restrict w,
                            const float *restrict b, float *restrict y,
                            int64_t n, double eps, double *mu_out,
                            double *rstd_out);

/* gx for one row from x, its gradient g and w (mu and rstd as saved by
 * the forward); the row's g xhat and g are added into gw[0..n) and
 * gb[0..n) (doubles). */
void tg__ln_backward_row_f32(const float *restrict x, const float *restrict g,
                             const float *restrict w, float *restrict gx,
                             int64_t n, double mu, double rstd,
                             double *restrict gw, double *restrict gb);

#endif /* TG_OPS_LAYER_NORM_ROWS_H */
