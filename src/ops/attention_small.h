/*
 * attention_small.h — attention's small-f32-matrix loops
 * (attention_small.c), private to attention_kernel.c: the same
 * tg__attn_mat in, the same results as its row-by-row path, with the
 * products as loops of 16 lanes over rows padded with zeros.
 */
#ifndef TG_OPS_ATTENTION_SMALL_H
#define TG_OPS_ATTENTION_SMALL_H

#include "ops/attention_kernel.h"

#include <stdbool.h>
#include <stdint.h>

/* Whether m is small enough for these loops: f32, rows of at most 64. */
bool tg__attn_small(const tg__attn_mat *m);

/* n rounded up to a multiple of 16: the padded width of p's rows (and of
 * every packed matrix) on this path. */
int64_t tg__attn_small_cols(int64_t n);

/* The scratch (floats) that forward and backward need for m. */
int64_t tg__attn_small_scratch(const tg__attn_mat *m);

/*
 * One row of the softmax's derivative, in place in dp:
 *
 *     ds = p * (dp - p . dp) * scale
 *
 * the dot product over p[0..n) summed in double, ds written over
 * dp[0..w), w >= n (past n, p is 0: the masked columns, and the padding
 * of this path's rows). Both paths run it: attention_small.c on its
 * padded rows, attention_kernel.c on rows of S (n = w = S). Inline, so
 * each caller's loops are compiled for its own vector width (TG__HOT).
 */
static inline void tg__attn_link_row_f32(const float *p, float *dp,
                                         int64_t n, int64_t w, float scale)
{
    double dot = 0;
    for (int64_t j = 0; j < n; j++)
        dot += (double)p[j] * dp[j];
    float d = (float)dot;
    for (int64_t j = 0; j < w; j++)
        dp[j] = p[j] * (dp[j] - d) * scale;
}

/* tg__attn_forward and tg__attn_backward for a small m (p has rows of
 * tg__attn_small_cols(S) floats). */
void tg__attn_small_forward(const tg__attn_mat *m, void *p, void *y,
                            int64_t ldy, void *scratch);
void tg__attn_small_backward(const tg__attn_mat *m, const void *p,
                             const void *gy, int64_t ldg,
                             const tg__attn_grads *g, void *scratch);

#endif /* TG_OPS_ATTENTION_SMALL_H */
