/*
 * tapegrad/sequence.h — the pieces of sequence models: layer norm and
 * scaled dot-product attention as fused ops, and GRU and LSTM cells and
 * multi-head self-attention built from ops (so backprop through time is
 * tg_backward over the tape that recorded every step).
 *
 * A GRU run over three steps of a batch of 2, then its gradients:
 *
 *     tg_rng rng;  tg_rng_seed(&rng, 1, 0);
 *     tg_gru_cell cell;
 *     tg_gru_cell_init(&cell, t, NULL, &rng, TG_F32, 4, 8);  // 4 in, 8 hidden
 *     int64_t xs[] = {2, 4}, hs[] = {2, 8};
 *     tg_tensor *h = tg_zeros(t, TG_F32, 2, hs);
 *     for (int step = 0; step < 3; step++) {
 *         tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 2, xs, 0.0, 1.0);
 *         h = tg_gru_cell_forward(t, &cell, x, h);
 *     }
 *     if (tg_backward(t, tg_sum(t, h)) != TG_OK)   // through all 3 steps
 *         fprintf(stderr, "%s\n", tg_last_error());
 *     const float *gw = tg_data_f32(tg_grad(cell.w_hh));
 */
#ifndef TAPEGRAD_SEQUENCE_H
#define TAPEGRAD_SEQUENCE_H

#include "nn.h"
#include "ops.h"
#include "random.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Ops ---------------------------------------------------------------- */

/*
 * layer_norm(x) = (x - mu) / sqrt(var + eps) * weight + bias, with mu and
 * var (biased) taken over x's last ndim dims, which must be shape[0..ndim-1]
 * (torch.nn.functional.layer_norm(x, shape, weight, bias, eps)). weight
 * and bias are NULL or of that shape (either may be given alone). Same
 * shape as x. One fused op: two passes in double per row, so a large
 * common offset does not cost digits.
 * d/dx = rstd (gh - mean(gh) - xhat mean(gh xhat)) per row, gh = g weight;
 * d/dweight = sum over rows of g xhat; d/dbias = sum over rows of g.
 * Errors: TG_EINVAL for ndim outside 1..TG_MAX_DIMS, a NULL shape, or eps
 * negative or not finite; TG_ESHAPE when shape is not x's last dims
 * ("tg_layer_norm: normalized shape (5,) does not match the last dims of
 * x (3,4)") or weight or bias does not have it.
 */
TG_API tg_tensor *tg_layer_norm(tg_tape *t, tg_tensor *x, int ndim,
                                const int64_t *shape, tg_tensor *weight,
                                tg_tensor *bias, double eps);

/*
 * attention(q, k, v) = softmax(q k^T / sqrt(D)) v per batch matrix, for
 * q (..., L, D), k (..., S, D) and v (..., S, Dv): (..., L, Dv), as
 * torch.nn.functional.scaled_dot_product_attention(q, k, v,
 * is_causal=causal). causal masks key j for query i when j > i (needs
 * L == S). One fused op with a stable masked softmax (each row shifted by
 * its max over the keys it sees; masked keys get exactly 0).
 * d/dv = p^T g; d/ds = p (g v^T - rowsum(p g v^T)); d/dq = d/ds k / sqrt(D);
 * d/dk = (d/ds)^T q / sqrt(D), p the attention weights.
 * Errors: TG_ESHAPE for fewer than 2 dims or batch dims that differ (no
 * broadcasting), head dims of q and k that disagree ("tg_scaled_dot_product_
 * attention: the head dims of q (2,3,4) and k (2,5,6) disagree"), k and v
 * of different lengths, or a causal mask on non-square scores.
 */
TG_API tg_tensor *tg_scaled_dot_product_attention(tg_tape *t, tg_tensor *q,
                                                  tg_tensor *k, tg_tensor *v,
                                                  bool causal);

/* ---- Layer norm as a layer ------------------------------------------- */

/* torch.nn.LayerNorm(shape, eps): tg_layer_norm with a weight and a bias
 * of the normalized shape, initialised to ones and zeros. */
typedef struct tg_layer_norm_layer {
    tg_tensor *weight, *bias;
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    double eps;
} tg_layer_norm_layer;

/*
 * Make the layer's parameters on t (weight 1, bias 0, eps 1e-5 as
 * PyTorch's default) and add them to p (may be NULL). Returns 0, or
 * TG_EINVAL for a NULL l or shape, ndim outside 1..TG_MAX_DIMS or a size
 * below 1.
 */
TG_API int tg_layer_norm_layer_init(tg_layer_norm_layer *l, tg_tape *t,
                                    tg_params *p, tg_dtype dt, int ndim,
                                    const int64_t *shape);

/* tg_layer_norm(t, x, l->ndim, l->shape, l->weight, l->bias, l->eps).
 * Errors: TG_EINVAL for a NULL l; those of tg_layer_norm. */
TG_API tg_tensor *tg_layer_norm_layer_forward(tg_tape *t,
                                              const tg_layer_norm_layer *l,
                                              tg_tensor *x);

/* ---- Recurrent cells ------------------------------------------------- */

/*
 * A GRU cell, as torch.nn.GRUCell (gates in the order r, z, n):
 * r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr),
 * z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz),
 * n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),
 * h' = (1 - z) * n + z * h.
 * w_ih (3H, I), w_hh (3H, H), b_ih and b_hh (3H,) (or NULL for none).
 */
typedef struct tg_gru_cell {
    tg_tensor *w_ih, *w_hh, *b_ih, *b_hh;
} tg_gru_cell;

/*
 * An LSTM cell, as torch.nn.LSTMCell (gates in the order i, f, g, o):
 * i, f, o = sigmoid and g = tanh of the four quarters of
 * x W_ih^T + b_ih + h W_hh^T + b_hh; c' = f * c + i * g, h' = o * tanh(c').
 * w_ih (4H, I), w_hh (4H, H), b_ih and b_hh (4H,) (or NULL).
 */
typedef struct tg_lstm_cell {
    tg_tensor *w_ih, *w_hh, *b_ih, *b_hh;
} tg_lstm_cell;

/*
 * Make a cell's parameters on t, initialised as PyTorch's: every one
 * uniform in [-1/sqrt(hidden), 1/sqrt(hidden)], drawn from rng in the
 * order w_ih, w_hh, b_ih, b_hh; added to p (p may be NULL). Returns 0, or
 * TG_EINVAL for a NULL cell or rng or a size below 1.
 */
TG_API int tg_gru_cell_init(tg_gru_cell *c, tg_tape *t, tg_params *p,
                            tg_rng *rng, tg_dtype dt, int64_t input,
                            int64_t hidden);
TG_API int tg_lstm_cell_init(tg_lstm_cell *c, tg_tape *t, tg_params *p,
                             tg_rng *rng, tg_dtype dt, int64_t input,
                             int64_t hidden);

/*
 * One step: the new hidden state h' (B, H) from x (B, I) and h (B, H)
 * (or x (I,) and h (H,)), made of ops on t (linear, slice, sigmoid, tanh,
 * mul, add), so a loop over steps records backprop through time.
 * Errors: TG_EINVAL for a NULL cell; TG_ESHAPE when h's last size is not
 * the hidden size of w_hh, or x's not its input size ("tg_gru_cell_forward:
 * h (2,5) has hidden size 5, but w_hh (12,4) is for hidden size 4").
 */
TG_API tg_tensor *tg_gru_cell_forward(tg_tape *t, const tg_gru_cell *c,
                                      tg_tensor *x, tg_tensor *h);

/*
 * One LSTM step: from x, h and the cell state cs (h and cs (B, H)), the
 * new h' (returned) and c' (in *cs_out). Errors as tg_gru_cell_forward
 * (also for cs), plus TG_EINVAL for a NULL cs_out; *cs_out is NULL on
 * failure.
 */
TG_API tg_tensor *tg_lstm_cell_forward(tg_tape *t, const tg_lstm_cell *c,
                                       tg_tensor *x, tg_tensor *h,
                                       tg_tensor *cs, tg_tensor **cs_out);

/* ---- Multi-head self-attention ---------------------------------------- */

/*
 * Self-attention with `heads` heads over embeddings of size E, as
 * torch.nn.MultiheadAttention(E, heads, batch_first=True) called with
 * query = key = value = x: q, k and v are the three thirds of
 * x W_in^T + b_in (W_in (3E, E), b_in (3E,)), each split into heads of
 * size E / heads and attended (tg_scaled_dot_product_attention, causal
 * optional); the heads are joined again into a, and y = a W_out^T + b_out
 * (W_out (E, E), b_out (E,)).
 */
typedef struct tg_mha {
    tg_tensor *w_in, *b_in;      /* in_proj_weight, in_proj_bias */
    tg_linear_layer out;         /* out_proj */
    int heads;
} tg_mha;

/*
 * Parameters on t, initialised as PyTorch's: W_in Xavier-uniform, W_out
 * uniform in [-1/sqrt(E), 1/sqrt(E)], both biases 0; added to p (may be
 * NULL). Errors: TG_EINVAL for a NULL m or rng, heads < 1 or E not a
 * multiple of heads.
 */
TG_API int tg_mha_init(tg_mha *m, tg_tape *t, tg_params *p, tg_rng *rng,
                       tg_dtype dt, int64_t embed, int heads);

/*
 * y (B, L, E) from x (B, L, E) (or (L, E) to (L, E)); causal lets position
 * i see positions 0..i only.
 * Errors: TG_EINVAL for a NULL m; TG_ESHAPE when x's last size is not E.
 */
TG_API tg_tensor *tg_mha_forward(tg_tape *t, const tg_mha *m, tg_tensor *x,
                                 bool causal);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_SEQUENCE_H */
