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
#include "sequential.h"

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
 * Where those means are not finite (an infinite or NaN weight or upstream
 * gradient), d/dx is PyTorch's own formula, so NaN and +-inf land where
 * they do in PyTorch (an infinite weight: NaN, mostly, not +-inf), in
 * tg_backward and in the derivative recorded with create_graph alike.
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
 * Infinite or NaN values go where PyTorch 1.13's attention puts them
 * (torch._scaled_dot_product_attention_math: the scores plus a -inf mask,
 * softmax, times v), in f32 and f64 and at every size: a masked score
 * (q_i . k_j, j > i) that is NaN or +inf makes row i of the output NaN
 * (inf - inf), and a NaN or inf in a masked row of v reaches the outputs
 * of the positions that cannot see it, through their weight 0 (0 * inf is
 * NaN); the gradients follow the same products. tests/test_nonfinite.c
 * checks values and gradients against PyTorch's.
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
 * h (2,5) has hidden size 5, but w_hh (12,4) is for hidden size 4"), for
 * x not 1-D or 2-D, or for h of another batch size or number of dims than
 * x ("tg_gru_cell_forward: h (4,) does not match x (2,3): (B, H) for x
 * (B, I), (H,) for x (I,)"; PyTorch refuses these too, nothing is
 * broadcast).
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
 * (W_out (E, E), b_out (E,)). The heads are not copied out: one product
 * gives q, k and v side by side, and one fused op (recorded as
 * "attention_heads" on the tape) attends each head where it lies in that
 * product and writes its output where it lies in a, forward and backward.
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
 * Errors: TG_EINVAL for a NULL m; TG_ESHAPE when x's last size is not E,
 * or b_in is not NULL or (3E,).
 */
TG_API tg_tensor *tg_mha_forward(tg_tape *t, const tg_mha *m, tg_tensor *x,
                                 bool causal);

/* ---- As layers of a tg_sequential --------------------------------------- */

/*
 * The pieces above as tg_layers (tapegrad/sequential.h), with the names of
 * PyTorch's state dict, so that np.savez(path, **{k: v.numpy() for k, v
 * in model.state_dict().items()}) loads into the same network with
 * tg_checkpoint_load (tapegrad/train.h). A small character model:
 *
 *     tg_rng rng;  tg_rng_seed(&rng, 1, 0);
 *     tg_sequential *net = tg_sequential_new(t);
 *     tg_sequential_add_named(net, "emb",
 *         tg_layer_embedding_new(t, &rng, TG_F32, 27, 16, -1));
 *     tg_sequential_add_named(net, "attn",
 *         tg_layer_mha_new(t, &rng, TG_F32, 16, 4, true));
 *     int64_t e[] = {16};
 *     tg_sequential_add_named(net, "ln",
 *         tg_layer_layer_norm_new(t, TG_F32, 1, e, 1e-5));
 *     tg_sequential_add_named(net, "gru",
 *         tg_layer_gru_new(t, &rng, TG_F32, 16, 32));
 *     tg_sequential_add_named(net, "head",
 *         tg_layer_linear_new(t, &rng, TG_F32, 32, 27, true));
 *     int64_t shape[] = {2, 3};                  // 2 words of 3 letters
 *     double ids[] = {1, 2, 3, 4, 5, 0};
 *     tg_tensor *x = tg_from_data(t, TG_F64, 2, shape, ids);
 *     tg_tensor *logits = tg_sequential_forward(t, net, x);   // (2, 3, 27)
 *     if (logits == NULL || tg_backward(t, tg_sum(t, logits)) != TG_OK)
 *         fprintf(stderr, "%s\n", tg_last_error());
 *     const char *name;
 *     tg_sequential_state_at(net, 7, &name);   // "gru.weight_ih_l0"
 *
 * Every constructor returns NULL with tg_last_error() naming it on bad
 * arguments (a NULL t or rng, a size below 1) or allocation failure.
 * Forward errors name tg_layer_forward and the layer's kind, or the op
 * that refused the input.
 */

/*
 * nn.Embedding(num, dim, padding_idx): the input is a tensor of token ids
 * (f32 or f64 holding whole numbers in 0..num-1) of any shape S with
 * fewer than TG_MAX_DIMS dims; the output is weight's rows, shape S +
 * (dim,) (tg_embedding). Parameter "weight" (num, dim), drawn N(0, 1)
 * from rng as PyTorch does, with the padding row (padding_idx in 0..num-1,
 * or -1 for none) set to 0; that row gets no gradient. Forward errors:
 * TG_EINVAL naming the id and its position for an id that is negative,
 * too large or not whole; TG_ESHAPE for ids of TG_MAX_DIMS dims.
 */
TG_API tg_layer *tg_layer_embedding_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                        int64_t num, int64_t dim,
                                        int64_t padding_idx);

/*
 * nn.LayerNorm(shape, eps): normalizes over the last ndim dims of its
 * input, which must be shape (tg_layer_norm). Parameters "weight" (ones)
 * and "bias" (zeros) of that shape. eps: finite, >= 0 (PyTorch's default
 * is 1e-5).
 */
TG_API tg_layer *tg_layer_layer_norm_new(tg_tape *t, tg_dtype dt, int ndim,
                                         const int64_t *shape, double eps);

/*
 * nn.MultiheadAttention(embed, heads, batch_first=True) as self-attention:
 * y = attn(x, x, x)[0] for x (B, L, embed) or (L, embed) (tg_mha_forward;
 * causal lets position i see positions 0..i only, as an upper-triangular
 * attn_mask). Parameters, initialised as tg_mha_init: "in_proj_weight"
 * (3 embed, embed), "in_proj_bias" (3 embed,), "out_proj_weight" and
 * "out_proj_bias". Layer parameter names cannot hold a '.', so PyTorch's
 * "out_proj.weight" and "out_proj.bias" are "out_proj_weight" and
 * "out_proj_bias" here: rename those two keys when moving a state dict
 * across (tests/fixtures/gen_seq_layers.py does).
 */
TG_API tg_layer *tg_layer_mha_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                  int64_t embed, int heads, bool causal);

/*
 * nn.GRU(input, hidden, batch_first=True) and nn.LSTM(...) with one layer:
 * the cell (tg_gru_cell_forward, tg_lstm_cell_forward) run over the time
 * axis of x (N, T, input) (or unbatched (T, input)), giving every step's
 * hidden state, (N, T, hidden) (or (T, hidden)). Recorded step by step on
 * the tape, so tg_backward is backprop through time. Parameters as
 * PyTorch's, initialised as tg_gru_cell_init / tg_lstm_cell_init:
 * "weight_ih_l0" (gates hidden, input), "weight_hh_l0" (gates hidden,
 * hidden), "bias_ih_l0", "bias_hh_l0" (gates hidden,), gates 3 (r, z, n)
 * or 4 (i, f, g, o). As a layer of a tg_sequential, the initial state is
 * zeros; tg_layer_rnn_forward takes one and returns the last.
 */
TG_API tg_layer *tg_layer_gru_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                  int64_t input, int64_t hidden);
TG_API tg_layer *tg_layer_lstm_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                   int64_t input, int64_t hidden);

/*
 * Run a GRU or LSTM layer l over x as PyTorch's gru(x, h0) and
 * lstm(x, (h0, c0)): h0 and c0 are (1, N, hidden) as PyTorch's (or
 * (N, hidden); (1, hidden) or (hidden,) for an unbatched x), or NULL for
 * zeros; but while an error is pending (tg_last_status() != TG_OK) a NULL
 * h0 or c0 is taken as the result of the call that failed, whose error is
 * kept (NULL propagates, docs/errors.md): tg_clear_error() after handling
 * an error. In a tg_sequential the layer always starts from zeros.
 * Returns the output (N, T, hidden); *h_n and *c_n, when not NULL,
 * are set to the last states, (1, N, hidden) (or (1, hidden)). A GRU
 * layer takes no c0 or c_n (both must be NULL).
 * Errors (NULL, and *h_n, *c_n NULL): TG_EINVAL for a NULL l, a layer
 * that is not a GRU or LSTM layer, or a c0 / c_n given to a GRU;
 * TG_ESHAPE for an x that is not (N, T, input) or (T, input) (T at most
 * INT_MAX), and for an h0 or c0 whose hidden size does not match the layer's
 * weights ("tg_layer_rnn_forward: h0 f32 (1,2,5) is not (1, 2, 4) or (2, 4)
 * f32: the gru layer's weight_hh_l0 (12,4) has hidden size 4"); TG_EDTYPE
 * for an x, h0 or c0 of another dtype than the weights. Nothing is
 * recorded on t on any error found before the first step.
 */
TG_API tg_tensor *tg_layer_rnn_forward(tg_tape *t, tg_layer *l, tg_tensor *x,
                                       tg_tensor *h0, tg_tensor *c0,
                                       tg_tensor **h_n, tg_tensor **c_n);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_SEQUENCE_H */
