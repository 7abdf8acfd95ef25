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

/* tg__attn_forward and tg__attn_backward for a small m (p has rows of
 * tg__attn_small_cols(S) floats). */
void tg__attn_small_forward(const tg__attn_mat *m, void *p, void *y,
                            int64_t ldy, void *scratch);
void tg__attn_small_backward(const tg__attn_mat *m, const void *p,
                             const void *gy, int64_t ldg,
                             const tg__attn_grads *g, void *scratch);

#endif /* TG_OPS_ATTENTION_SMALL_H */
