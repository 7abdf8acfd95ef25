/*
 * attention.h — what multi-head attention (src/nn/mha.c) uses of the
 * attention ops beyond the public tg_scaled_dot_product_attention.
 */
#ifndef TG_OPS_ATTENTION_H
#define TG_OPS_ATTENTION_H

#include "tapegrad/op.h"

/*
 * Multi-head self-attention's middle, as one op: from qkv (..., L, 3E),
 * the q, k and v projections side by side (each E = heads * hd wide, head
 * h in columns h * hd .. (h + 1) * hd of its third), to (..., L, E), the
 * heads' outputs side by side in the same way. The same values as
 * splitting qkv into thirds and the thirds into heads (reshape, permute),
 * tg_scaled_dot_product_attention, and joining the heads back, without
 * copying a head in or out, forward or backward (src/ops/attention_heads.c).
 * Errors (under "tg_mha_forward"): TG_ESHAPE for qkv with fewer than 2
 * dims or a last size that is not 3 * heads * (something); TG_EINVAL for
 * heads < 1.
 */
tg_tensor *tg__attention_heads(tg_tape *t, tg_tensor *qkv, int heads,
                               bool causal);

/*
 * The derivative of tg_scaled_dot_product_attention(q, k, v, causal) for
 * upstream gradient gy, written with ops (so it can be differentiated
 * again): gx[i] for each want[i]. TG_OK or the error status.
 */
int tg__sdpa_grads_by_ops(tg_tape *t, tg_tensor *q, tg_tensor *k,
                          tg_tensor *v, tg_tensor *gy, bool causal,
                          const bool *want, tg_tensor **gx);

#endif /* TG_OPS_ATTENTION_H */
