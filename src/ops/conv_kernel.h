/*
 * conv_kernel.h — the loops under conv1d and conv2d (src/ops/conv.c):
 * im2col and col2im around the project's gemm. conv1d runs as conv2d with
 * H = 1 and a 1-tall kernel.
 */
#ifndef TG_OPS_CONV_KERNEL_H
#define TG_OPS_CONV_KERNEL_H

#include "tapegrad/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One convolution's sizes: input (n, c, h, w), weight (o, c / g, kh, kw),
 * output (n, o, oh, ow), and the options per spatial dim. */
typedef struct tg__conv_geom {
    int64_t n, c, h, w;
    int64_t o, kh, kw;
    int64_t oh, ow;
    int64_t sh, sw, ph, pw, dh, dw, g;
    /* Set by conv_kernel.c for a gradient whose other operand holds an inf
     * or NaN: no wide columns (below), whose unused columns would
     * multiply it by 0. */
    bool narrow;
} tg__conv_geom;

/* Samples side by side in one product (col is (c / g) kh kw rows by that
 * many times oh ow columns): as many as keep col and a group's o / g
 * output rows under 128K elements, at least 1. The batch is cut into
 * chunks of that many samples. */
int64_t tg__conv_chunk(const tg__conv_geom *g);
/* How many chunks run at once on `threads` threads (tg_num_threads()):
 * each of these slots has its own part of the scratch. */
int64_t tg__conv_slots(const tg__conv_geom *g, int threads);
/* The scratch every call below needs for that many slots, in elements of
 * the dtype: per slot col and a group's output rows, and a weight
 * gradient per chunk; or the direct kernel's padded samples (below) if
 * that is more. */
int64_t tg__conv_scratch_elems(const tg__conv_geom *g, int64_t slots);

/*
 * The three convolutions. Results are bit for bit the same for any slots
 * and thread count: each chunk writes only its own samples, and the
 * weight gradient sums the chunks' parts in chunk order.
 */
/*
 * What a call leaves in its scratch that a later call of the same
 * backward can use instead of making it again (bits of an unsigned):
 *   TG__CONV_COLS:   x's im2col, as tg__conv_forward leaves it with
 *                    one group in one chunk (im2col + gemm);
 *   TG__CONV_PLANES: x's zero-padded planes, all samples, as the direct
 *                    kernel's forward leaves them (conv_direct.c);
 *   TG__CONV_GY:     gy turned round and its rows summed, as the
 *                    implicit input gradient leaves them
 *                    (conv_implicit.h), for the weight gradient of the
 *                    same gy in the same scratch.
 * Each kernel uses only its own kind and ignores the rest, so a stale
 * bit (say the instruction set allowed changed in between) is harmless.
 */
enum { TG__CONV_COLS = 1, TG__CONV_PLANES = 2, TG__CONV_GY = 4 };

/* y = conv(x, w) (+ bias unless NULL); y is written, not added to.
 * Returns what it left in the scratch for the weight gradient (above). */
unsigned tg__conv_forward(tg_dtype dt, const tg__conv_geom *g, const void *x,
                          const void *w, const void *bias, void *y,
                          void *scratch, int64_t slots);
/* gx = the transposed convolution of gy with w (x's shape); written.
 * Returns what it left in the scratch for the weight gradient. */
unsigned tg__conv_input_grad(tg_dtype dt, const tg__conv_geom *g,
                             const void *gy, const void *w, void *gx,
                             void *scratch, int64_t slots);
/* gw = the correlation of x with gy (w's shape); written. ready: what an
 * earlier call left in this scratch (above). gb: unless NULL, also the
 * bias gradient (tg__conv_bias_grad's bits), summed by the kernels that
 * walk gy anyway in the same split call. */
void tg__conv_weight_grad(tg_dtype dt, const tg__conv_geom *g, const void *x,
                          const void *gy, void *gw, void *gb, void *scratch,
                          int64_t slots, unsigned ready);
/* gb[o] = the sum of gy[:, o, :, :]; written. */
void tg__conv_bias_grad(tg_dtype dt, const tg__conv_geom *g, const void *gy,
                        void *gb);
/* Its pieces, for the kernels that fuse it (conv_bias.c): one f32 row's
 * sum; channel o's sum over the batch (f32 gy); and channel o's sum from
 * rows already summed, rows[n * rstride + o]. Same order, same bits. */
float tg__conv_row_sum_f32(const float *r, int64_t P);
float tg__conv_bias_channel_f32(const tg__conv_geom *g, const float *gy,
                                int64_t o);
float tg__conv_bias_from_rows(const tg__conv_geom *g, const float *rows,
                              int64_t rstride, int64_t o);
/*
 * The direct f32 kernel of conv_direct.c, which tg__conv_forward and
 * tg__conv_weight_grad take instead of im2col + gemm when
 * tg__conv_direct_ok: one input channel, one group, stride and dilation 1,
 * kernel at most 8 wide and 16 tall, output rows 8 to 256 wide, AVX2 + FMA
 * allowed on this thread. Its scratch (padded copies of the samples) is
 * tg__conv_direct_scratch elements.
 */
bool tg__conv_direct_ok(tg_dtype dt, const tg__conv_geom *g);
int64_t tg__conv_direct_scratch(const tg__conv_geom *g);
void tg__conv_direct_forward(const tg__conv_geom *g, const float *x,
                             const float *w, const float *bias, float *y,
                             float *scratch);
/* planes_ready: the scratch holds the forward's padded planes of x. gb:
 * unless NULL, the bias gradient too. */
void tg__conv_direct_weight_grad(const tg__conv_geom *g, const float *x,
                                 const float *gy, float *gw, float *gb,
                                 float *scratch, bool planes_ready);

#endif /* TG_OPS_CONV_KERNEL_H */
