/*
 * conv_implicit.h — the implicit-gemm f32 kernels for convolutions with
 * 8 to 16 output channels (LeNet's conv2: 6->16, 5x5 on 14x14), AVX-512.
 *
 * im2col + gemm (conv_kernel.c) copies every input value kh kw times into
 * a column matrix and then multiplies it by a weight matrix only o rows
 * tall: at these shapes the copies cost about what the arithmetic does.
 * These kernels read x (or gy) where it lies, at each tap's offset, and
 * put the 16 output channels in the 16 lanes of a vector:
 *
 *     forward:      y[:, i, j]  += w[:, c, p, q] * x[c, i+p, j+q]
 *     weight grad:  gw[:, c, p, q] += gy[:, i, j] * x[c, i+p, j+q]
 *
 * (":" is the vector of output channels; x[...] one float, broadcast), so
 * each multiply-add does 16 useful products and nothing is copied but a
 * transpose of gy, made once a backward for both gradients. The input
 * gradient keeps o in the lanes too, on its reduction side, and sums each
 * output's 16 lanes at the end:
 *
 *     input grad:   gx[c, h, w] = lanes summed of
 *                   sum over p, q of w[:, c, p, q] * gy[:, h-p, w-q]
 *
 * (conv_implicit_dx.c).
 *
 * Taken by conv_kernel.c when tg__conv_implicit_ok: f32, one group,
 * stride and dilation 1, 8 <= o <= 16 output channels, a kernel at most 8
 * wide, a scratch of at most 4M floats (tg__conv_implicit_scratch: it
 * holds the whole batch's gy, so large images keep im2col), AVX-512
 * allowed on the calling thread (tg__gemm_isa() >= 2);
 * conv_direct.c's one-channel kernel is asked first. Every output element
 * is summed in one fixed order, whatever the thread count.
 */
#ifndef TG_OPS_CONV_IMPLICIT_H
#define TG_OPS_CONV_IMPLICIT_H

#include "ops/conv_kernel.h"

bool tg__conv_implicit_ok(tg_dtype dt, const tg__conv_geom *g);
/* Elements of scratch the three calls below need (any of them). */
int64_t tg__conv_implicit_scratch(const tg__conv_geom *g);

/* y = conv(x, w) (+ bias unless NULL), written. */
void tg__conv_implicit_forward(const tg__conv_geom *g, const float *x,
                               const float *w, const float *bias, float *y,
                               float *scratch);
/* gw = the correlation of x with gy, written; gb (unless NULL) the bias
 * gradient. gy_turned: the scratch already holds gy turned round and its
 * row sums, as tg__conv_implicit_input_grad left them. */
void tg__conv_implicit_weight_grad(const tg__conv_geom *g, const float *x,
                                   const float *gy, float *gw, float *gb,
                                   float *scratch, bool gy_turned);
/* gx = the transposed convolution of gy with w, written; leaves gy turned
 * round (below) at the start of the scratch. w must be finite
 * (conv_kernel.c keeps im2col otherwise): a block's taps that fall just
 * outside gy read 0 there, and 0 * inf would be NaN.
 * tg__conv_implicit_finite(w, n) says whether w's n floats are. */
bool tg__conv_implicit_finite(const float *w, int64_t n);
void tg__conv_implicit_input_grad(const tg__conv_geom *g, const float *gy,
                                  const float *w, float *gx, float *scratch);

/*
 * gy turned round, which both gradients read (conv_implicit_dx.c makes
 * it): sample s's gy pixel (i, j) is the 16-float vector
 * tg__conv_implicit_gy_at(g, turned, s, i) + j * 16 (its o channels, zeros
 * past o), each row with kw zero pixels at both ends; after every sample,
 * the row sums of gy, sums[s * o + ch] (tg__conv_row_sum_f32's bits), from
 * which the bias gradient is added up. The input gradient turns each
 * sample in its own split call, just before it reads it; the weight
 * gradient of the same backward then finds the whole batch turned.
 */
int64_t tg__conv_implicit_turned(const tg__conv_geom *g); /* elements */
void tg__conv_implicit_turn(const tg__conv_geom *g, const float *gy,
                            int64_t s, float *turned);
const float *tg__conv_implicit_gy_at(const tg__conv_geom *g,
                                     const float *turned, int64_t s,
                                     int64_t i);
const float *tg__conv_implicit_sums(const tg__conv_geom *g,
                                    const float *turned);

/* Shared by the files: x as the kernels read it. With no padding that
 * is x itself; otherwise every sample is copied, zero-padded, into
 * `room` (tg__conv_implicit_padded elements). Rows are *wp apart, planes
 * *hp rows. The forward pads each sample in its own split call instead
 * (tg__conv_implicit_pad). */
int64_t tg__conv_implicit_padded(const tg__conv_geom *g);
const float *tg__conv_implicit_planes(const tg__conv_geom *g, const float *x,
                                      float *room, int64_t *hp, int64_t *wp);
/* Sample s's planes into room (laid out as above). */
void tg__conv_implicit_pad(const tg__conv_geom *g, const float *x,
                           float *room, int64_t s);
/* Packed weights, wt[c][p][q][16] = w[o][c][p][q], zero past o:
 * tg__conv_implicit_wt_elems floats. */
int64_t tg__conv_implicit_wt_elems(const tg__conv_geom *g);
void tg__conv_implicit_pack(const tg__conv_geom *g, const float *w, float *wt);

#endif /* TG_OPS_CONV_IMPLICIT_H */
