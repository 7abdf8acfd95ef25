/*
 * conv_kernel.h — the loops under conv1d and conv2d (src/ops/conv.c):
 * im2col and col2im around the project's gemm. conv1d runs as conv2d with
 * H = 1 and a 1-tall kernel.
 */
#ifndef TG_OPS_CONV_KERNEL_H
#define TG_OPS_CONV_KERNEL_H

#include "tapegrad/base.h"

#include <stddef.h>
#include <stdint.h>

/* One convolution's sizes: input (n, c, h, w), weight (o, c / g, kh, kw),
 * output (n, o, oh, ow), and the options per spatial dim. */
typedef struct tg__conv_geom {
    int64_t n, c, h, w;
    int64_t o, kh, kw;
    int64_t oh, ow;
    int64_t sh, sw, ph, pw, dh, dw, g;
} tg__conv_geom;

/* Rows times columns of the im2col matrix of one sample and group, in
 * elements: (c / g) kh kw by oh ow. The scratch each call below needs is
 * that many elements of the dtype per thread. */
int64_t tg__conv_col_elems(const tg__conv_geom *g);

/* y = conv(x, w) (+ bias unless NULL); y is written, not added to. */
void tg__conv_forward(tg_dtype dt, const tg__conv_geom *g, const void *x,
                      const void *w, const void *bias, void *y, void *col);
/* gx = the transposed convolution of gy with w (x's shape); written. */
void tg__conv_input_grad(tg_dtype dt, const tg__conv_geom *g, const void *gy,
                         const void *w, void *gx, void *col);
/* gw = the correlation of x with gy (w's shape); written. */
void tg__conv_weight_grad(tg_dtype dt, const tg__conv_geom *g, const void *x,
                          const void *gy, void *gw, void *col);
/* gb[o] = the sum of gy[:, o, :, :]; written. */
void tg__conv_bias_grad(tg_dtype dt, const tg__conv_geom *g, const void *gy,
                        void *gb);

#endif /* TG_OPS_CONV_KERNEL_H */
