/*
 * attention_kernel.h — scaled dot-product attention on one matrix: one
 * batch entry of tg_scaled_dot_product_attention, or one head of one
 * sequence in multi-head attention (src/ops/attention_heads.c).
 *
 * q, k and v are read, and y and the gradients written, through row
 * strides ("leading dimensions"): the public op passes contiguous
 * matrices, multi-head attention passes the heads where they lie side by
 * side in the rows of its (B, L, 3E) projection, so that no head is ever
 * copied out. The maths is at the top of src/ops/attention.c.
 */
#ifndef TG_OPS_ATTENTION_KERNEL_H
#define TG_OPS_ATTENTION_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

/* One matrix of attention: q (L x D), k (S x D), v (S x Dv), each row
 * ld* elements after the one before; all float (f32) or all double. */
typedef struct tg__attn_mat {
    bool f32, causal;           /* causal needs L == S */
    int64_t L, S, D, Dv;
    const void *q, *k, *v;
    int64_t ldq, ldk, ldv;
} tg__attn_mat;

/* Where the gradients of q, k and v go (any may be NULL: not wanted),
 * with their row strides. They are written, not added to. */
typedef struct tg__attn_grads {
    void *q, *k, *v;
    int64_t ldq, ldk, ldv;
} tg__attn_grads;

/* The row length of p, the probabilities forward saves for backward: S,
 * or S rounded up to 16 for the small-matrix loops (private to the
 * kernel: only p's size is the callers' business, L x this). */
int64_t tg__attn_p_cols(const tg__attn_mat *m);

/* Elements of scratch tg__attn_forward and tg__attn_backward need for m
 * (the same scratch may serve every matrix of one shape, one at a time). */
int64_t tg__attn_scratch(const tg__attn_mat *m);

/*
 * y (L x Dv, rows ldy apart) = softmax(q k^T / sqrt(D), masked) v, and p
 * (L rows of tg__attn_p_cols(m), contiguous) = those probabilities, which
 * backward reads; masked entries of p are exactly 0, unless a masked
 * score is NaN or +inf: then the whole row of p is NaN, as PyTorch's
 * (attention.c). scratch holds tg__attn_scratch(m) elements.
 */
void tg__attn_forward(const tg__attn_mat *m, void *p, void *y, int64_t ldy,
                      void *scratch);

/*
 * The gradients of q, k and v from gy (L x Dv, rows ldg apart) and the p
 * of the forward; scratch holds tg__attn_scratch(m) elements.
 */
void tg__attn_backward(const tg__attn_mat *m, const void *p, const void *gy,
                       int64_t ldg, const tg__attn_grads *g, void *scratch);

#endif /* TG_OPS_ATTENTION_KERNEL_H */
