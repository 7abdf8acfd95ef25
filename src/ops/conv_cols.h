/*
 * conv_cols.h — im2col and col2im (conv_cols.c) for the im2col + gemm
 * loops of conv_kernel.c.
 */
#ifndef TG_OPS_CONV_COLS_H
#define TG_OPS_CONV_COLS_H

#include "ops/conv_kernel.h"

/* Whether the geometry allows wide columns (rows w apart, one run of x
 * per tap: conv_cols.c explains), and whether g takes them (not when
 * g->narrow). */
bool tg__conv_wide_shape(const tg__conv_geom *g);
bool tg__conv_wide(const tg__conv_geom *g);
/* The columns of one sample in col and in the output rows: oh ow, or
 * (oh - 1) w + ow when wide. */
int64_t tg__conv_pitch(const tg__conv_geom *g);
/* g, narrow if wide columns would multiply a non-finite value of p (n
 * elements) by 0. */
tg__conv_geom tg__conv_guarded(tg_dtype dt, const tg__conv_geom *g,
                               const void *p, int64_t n);
/* Columns nb samples wide, col (K x nb pitch), for samples n0 .. n0 + nb
 * - 1 of group gi: im2col writes all of col from x; col2im adds col back
 * into gx. Samples are split across the thread pool. */
void tg__conv_im2col(tg_dtype dt, const tg__conv_geom *g, const void *x,
                     int64_t n0, int64_t nb, int64_t gi, void *col);
void tg__conv_col2im(tg_dtype dt, const tg__conv_geom *g, const void *col,
                     int64_t n0, int64_t nb, int64_t gi, void *gx);

#endif /* TG_OPS_CONV_COLS_H */
