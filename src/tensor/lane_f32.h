/*
 * lane_f32.h — contiguous f32 lanes (src/tensor/lane_f32.c): the softmax
 * family's lane loops typed and vectorised, exp from exp_f32.h.
 */
#ifndef TG_TENSOR_LANE_F32_H
#define TG_TENSOR_LANE_F32_H

#include "tensor/axis.h"
#include "tensor/tensor_struct.h"

/* Whether a lane of x may take these loops: f32 values, the lane's
 * elements adjacent. */
static inline bool tg__lane_f32(const tg_tensor *x, const tg__lanes *l)
{
    return x->dtype == TG_F32 && l->inner == 1;
}
double tg__f32_max(const float *x, int64_t n);
double tg__f32_sum_exp(const float *x, int64_t n, double shift);
double tg__f32_exp_into(float *y, const float *x, int64_t n, double shift);
double tg__f32_dot(const float *a, const float *b, int64_t n);
void tg__f32_scaled_exp(float *y, const float *x, int64_t n, double a,
                        double shift);
void tg__f32_scale(float *y, int64_t n, double a);
void tg__f32_shift_into(float *y, const float *x, int64_t n, double a,
                        double b);

/* The same for every row of a contiguous (rows, n) block at once, bit for
 * bit what the per-row calls give, faster for short rows: each row's max
 * (tg__f32_max) and sum of exp(x - max) (tg__f32_sum_exp) into max[i] and
 * sum[i]; and y[i][k] = (a / divisor[i]) * exp(x[i][k] - shift[i])
 * (tg__f32_scaled_exp with a / divisor[i]). */
void tg__f32_rows_softmax_stats(const float *x, int64_t rows, int64_t n,
                                double *max, double *sum);
void tg__f32_rows_scaled_exp(float *y, const float *x, int64_t rows,
                             int64_t n, double a, const double *shift,
                             const double *divisor);

#endif /* TG_TENSOR_LANE_F32_H */
