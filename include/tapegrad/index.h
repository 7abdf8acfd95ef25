/*
 * tapegrad/index.h — picking elements by index, splitting along an axis,
 * and the losses that pick by class: gather and scatter_add, index_select,
 * embedding, split and chunk, nll_loss, bce_with_logits, and the options
 * of nll_loss and cross_entropy (reduction, class weights, ...).
 *
 * Tensors hold f32 or f64 only, so an index tensor (gather, scatter_add)
 * holds whole numbers in the dtype of the tensor it indexes, as tg_argmax
 * returns them (exact up to 2^24 in f32); the calls that take a list of
 * indices (index_select, embedding, the losses) take an int64_t array and
 * its count. Indices count from 0, and a negative one is refused, as
 * PyTorch refuses it. Every call here is differentiable twice: gather and
 * scatter_add are ops, each the other's derivative, and the rest are
 * written with ops. As with the ops of tapegrad/ops.h, each call takes the
 * tape first and returns new tensors owned by that tape; on an error it
 * returns NULL (tg_split and tg_chunk: a negative status) and
 * tg_last_error() names the call, and a NULL input is itself an error
 * that keeps the first failure's message.
 *
 * Rows 2, 0 and 2 of a table, and the gradient that reaches the table:
 *
 *     #include <tapegrad.h>
 *     #include <stdio.h>
 *
 *     int main(void)
 *     {
 *         tg_tape *t = tg_tape_new();
 *         int64_t shape[2] = {3, 2};
 *         double w[6] = {0, 1, 10, 11, 20, 21};
 *         tg_tensor *table = tg_from_data(t, TG_F64, 2, shape, w);
 *         tg_set_requires_grad(table, true);
 *         int64_t rows[3] = {2, 0, 2};
 *         tg_tensor *e = tg_embedding(t, table, 3, rows, -1);   // (3, 2)
 *         if (tg_backward(t, tg_sum(t, e)) != TG_OK) {
 *             fprintf(stderr, "%s\n", tg_last_error());
 *             return 1;
 *         }
 *         const double *g = tg_data_f64(tg_grad(table));
 *         printf("%g %g / %g %g %g\n", tg_data_f64(e)[0],
 *                tg_data_f64(e)[2], g[0], g[2], g[4]);       // 20 0 / 1 0 2
 *         tg_tape_free(t);
 *         return 0;
 *     }
 */
#ifndef TAPEGRAD_INDEX_H
#define TAPEGRAD_INDEX_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* gather(x, axis, index)[p] = x[p with p[axis] replaced by index[p]]
 * (torch.gather, numpy's take_along_axis); d/dx = scatter_add(zeros like
 * x, axis, index, gy): an element picked twice gets both gradients. The
 * result has index's shape. index: same dtype and number of dims as x,
 * index.shape[d] <= x.shape[d] for d != axis, whole values in
 * 0..x.shape[axis]-1; it gets no gradient. axis may count from the end.
 * Errors: TG_ESHAPE for a scalar x, dims that differ or an index larger
 * than x off the axis ("tg_gather: index (2,5) is larger than x (2,4) in
 * dim 1 (only axis 0 may differ)"); TG_EINVAL for a bad axis or a value
 * out of range or not whole ("tg_gather: index 4 at position 3 of index
 * (2,2) is not a whole number in 0..3 (axis 1 of x (2,4))"); TG_EDTYPE when index's
 * dtype is not x's. */
TG_API tg_tensor *tg_gather(tg_tape *t, tg_tensor *x, int axis,
                            tg_tensor *index);

/* scatter_add(dst, axis, index, src) = dst, plus src[p] added at
 * p with p[axis] replaced by index[p], for every position p of index
 * (torch.Tensor.scatter_add); d/d dst = gy, d/d src = gather(gy, axis,
 * index). gather's derivative, and gather is its. index as for tg_gather
 * (against dst), and src has index's shape (PyTorch allows a larger src).
 * The result has dst's shape. Errors as tg_gather, naming
 * tg_scatter_add, and TG_ESHAPE when src's shape is not index's. */
TG_API tg_tensor *tg_scatter_add(tg_tape *t, tg_tensor *dst, int axis,
                                 tg_tensor *index, tg_tensor *src);

/* index_select(x, axis, index)[..., k, ...] = x[..., index[k], ...] for
 * the n indices in 0..x.shape[axis]-1 (torch.index_select; repeats
 * allowed); d/dx adds gy's slices back at the rows they came from. x's
 * shape with axis of size n. The array is read during the call only.
 * Errors: TG_ESHAPE for a scalar x; TG_EINVAL for a bad axis, n < 1, a
 * NULL array or an index out of range ("tg_index_select: index 5 at
 * position 1 is outside 0..2 (axis 0 of x (3,4))"). */
TG_API tg_tensor *tg_index_select(tg_tape *t, tg_tensor *x, int axis,
                                  int64_t n, const int64_t *index);

/* embedding(weight, indices)[k, :] = weight[indices[k], :] for a table
 * weight (num_embeddings, dim) and n indices in 0..num_embeddings-1
 * (F.embedding); shape (n, dim). d/d weight adds each row's gradient to
 * the table row it came from, except padding_idx's: rows picked with
 * padding_idx get their values and pass no gradient (-1 for no padding
 * row). Errors: TG_ESHAPE unless weight is 2-D; TG_EINVAL for n < 1, a
 * NULL array, an index out of range or negative, or padding_idx outside
 * -1..num_embeddings-1, each naming tg_embedding and weight's shape. */
TG_API tg_tensor *tg_embedding(tg_tape *t, tg_tensor *weight, int64_t n,
                               const int64_t *indices, int64_t padding_idx);

/* split(x, axis, size) = the slices [0:size], [size:2 size], ... along
 * axis (torch.split with one size; the last may be shorter), written to
 * out[0..count-1]; returns count, or a negative status. cap is out's
 * length. chunk(x, axis, chunks) is split with size ceil(n / chunks)
 * (torch.chunk: 5 rows in 4 chunks give 3 pieces, of 2, 2 and 1), with
 * out of length chunks. Each piece is a tg_slice, with its gradient.
 * Errors: TG_EINVAL for size or chunks < 1, a bad axis, a NULL out or
 * more pieces than cap ("tg_split: pieces of 2 along axis 0 of x (5,3)
 * are 3, more than out's 2"); TG_ESHAPE for a scalar x. */
TG_API int tg_split(tg_tape *t, tg_tensor *x, int axis, int64_t size,
                    int cap, tg_tensor **out);
TG_API int tg_chunk(tg_tape *t, tg_tensor *x, int axis, int chunks,
                    tg_tensor **out);

/* nll_loss(logp, labels) = -(1/M) sum_{i: labels[i] != ignore_index}
 * logp[i][labels[i]] for log-probabilities logp (N,C) (from
 * tg_log_softmax) and N labels, M the rows not ignored (F.nll_loss, mean
 * reduction; pass -100, PyTorch's default, to ignore none). d/d logp =
 * -1/M at each row's label, 0 elsewhere. Shape (). NaN when every row is
 * ignored (as PyTorch's 0/0), with gradient 0 (as PyTorch's).
 * Errors: TG_ESHAPE unless logp is 2-D; TG_EINVAL for NULL labels or a
 * label that is neither ignore_index nor in 0..C-1 ("tg_nll_loss: label
 * 7 in row 2 is outside 0..4 (input (3,5))"). */
TG_API tg_tensor *tg_nll_loss(tg_tape *t, tg_tensor *logp,
                              const int64_t *labels, int64_t ignore_index);

/* bce_with_logits(x, y) = mean((1 - y) x + (1 + (pw - 1) y) log(1 + e^-x))
 * (F.binary_cross_entropy_with_logits, mean reduction), i.e. the binary
 * cross-entropy of sigmoid(x) against targets y in [0, 1], stable for
 * logits of any size. pos_weight pw (NULL for 1) weighs the positive
 * term; it broadcasts to x (one per class: shape (C,)). d/dx =
 * ((1 + (pw - 1) y)(sigmoid(x) - 1) + 1 - y) / n; y and pw get
 * gradients too. Shape (). tg_bce_with_logits_ex (below) adds weight
 * and reduction. Errors: TG_ESHAPE when target's shape is not
 * x's or pos_weight does not broadcast to it; TG_EDTYPE for mixed
 * dtypes. */
TG_API tg_tensor *tg_bce_with_logits(tg_tape *t, tg_tensor *x,
                                     tg_tensor *target,
                                     tg_tensor *pos_weight);

/* How a loss over N rows is reduced (PyTorch's reduction=): the mean
 * (the default, 0), the sum, or none (one loss per row, shape (N,)). */
typedef enum tg_reduction {
    TG_REDUCE_MEAN = 0,
    TG_REDUCE_SUM = 1,
    TG_REDUCE_NONE = 2
} tg_reduction;

/* Options of tg_cross_entropy_ex and tg_nll_loss_ex; start from
 * tg_cross_entropy_defaults() (a zeroed struct whose ignore_index is set
 * to -100 is the defaults too). */
typedef struct tg_cross_entropy_options {
    int64_t ignore_index;    /* rows with this label count for nothing;
                                -100 by default, as PyTorch */
    double label_smoothing;  /* e in [0, 1]; 0 by default (must be 0 for
                                tg_nll_loss_ex) */
    tg_reduction reduction;  /* TG_REDUCE_MEAN by default */
    const tg_tensor *weight; /* class weights c, shape (C,) and the
                                input's dtype, or NULL (all 1, the
                                default). A constant, as PyTorch's: its
                                values are read when the loss is made and
                                it gets no gradient. */
} tg_cross_entropy_options;

/* ignore_index -100, label_smoothing 0, TG_REDUCE_MEAN, weight NULL
 * (PyTorch's), by value: nothing to free, nothing that fails. */
TG_API tg_cross_entropy_options tg_cross_entropy_defaults(void);

/* nll_loss with PyTorch 1.13's options (F.nll_loss(logp, labels,
 * weight=c, ignore_index=, reduction=)): row i's loss is
 * -c[labels[i]] logp[i][labels[i]], 0 for an ignored row; the mean
 * divides their sum by D, the sum of the kept rows' c[labels[i]] (their
 * count M without weights), the sum does not, none returns the N row
 * losses (N,). With every row ignored the mean is NaN (PyTorch's 0/0,
 * gradient 0), the sum 0. NULL opt is the defaults: tg_nll_loss.
 * Errors as tg_nll_loss, naming tg_nll_loss_ex, and TG_EINVAL for a
 * label_smoothing other than 0 (F.nll_loss has none: "tg_nll_loss_ex:
 * label_smoothing is 0.1; nll_loss has none, it must be 0") or an unknown
 * reduction ("...: reduction is 7; it must be TG_REDUCE_MEAN, ..."),
 * TG_ESHAPE for a weight that is not (C,) ("...: weight has shape (4,);
 * it must be (3,), one per class of input (2,3)"), TG_EDTYPE for a
 * weight of another dtype than logp. */
TG_API tg_tensor *tg_nll_loss_ex(tg_tape *t, tg_tensor *logp,
                                 const int64_t *labels,
                                 const tg_cross_entropy_options *opt);

/* tg_cross_entropy with PyTorch 1.13's options (F.cross_entropy(x,
 * labels, weight=c, ignore_index=, reduction=, label_smoothing=e)): with
 * logp = log_softmax(x) along the classes, row i's loss is (1 - e)
 * c[y_i] (-logp[i][y_i]) + (e / C) sum_k c[k] (-logp[i][k]), 0 for an
 * ignored row, reduced as tg_nll_loss_ex: the mean divides the
 * sum by D = the sum of the kept rows' c[y_i] (the count M of kept rows
 * without weights), so without weights it is (1 - e) nll + e / C * (1/M)
 * sum_{i kept} sum_k -logp[i][k]. NULL opt is the defaults, and with
 * them (or any options that change nothing for these labels) it is
 * tg_cross_entropy, fused. Errors as tg_cross_entropy, naming
 * tg_cross_entropy_ex, TG_EINVAL for a smoothing outside [0, 1], and
 * those of tg_nll_loss_ex for the reduction and the weight. */
TG_API tg_tensor *tg_cross_entropy_ex(tg_tape *t, tg_tensor *logits,
                                      const int64_t *labels,
                                      const tg_cross_entropy_options *opt);

/* Options of tg_bce_with_logits_ex; start from
 * tg_bce_with_logits_defaults() (a zeroed struct is the defaults too). */
typedef struct tg_bce_with_logits_options {
    tg_reduction reduction;  /* TG_REDUCE_MEAN by default; TG_REDUCE_NONE
                                gives each element's loss, x's shape */
    const tg_tensor *weight; /* v, broadcast to x, of x's dtype: each
                                element's loss times v, or NULL (all 1,
                                the default). A constant, as PyTorch's
                                weight=: read when the loss is made, it
                                gets no gradient. */
} tg_bce_with_logits_options;

/* TG_REDUCE_MEAN, weight NULL (PyTorch's), by value. */
TG_API tg_bce_with_logits_options tg_bce_with_logits_defaults(void);

/* tg_bce_with_logits with PyTorch 1.13's options
 * (F.binary_cross_entropy_with_logits(x, y, weight=v, pos_weight=pw,
 * reduction=)): each element's loss l times v, then the mean over all
 * elements (not divided by the sum of v), the sum, or none (x's shape).
 * NULL opt is the defaults: tg_bce_with_logits. Errors as
 * tg_bce_with_logits, naming tg_bce_with_logits_ex, and TG_EINVAL for an
 * unknown reduction, TG_ESHAPE for a weight that does not broadcast to x
 * ("tg_bce_with_logits_ex: weight (5,) does not broadcast to logits
 * (3,4)"), TG_EDTYPE for a weight of another dtype. */
TG_API tg_tensor *tg_bce_with_logits_ex(tg_tape *t, tg_tensor *x,
                                        tg_tensor *target,
                                        tg_tensor *pos_weight,
                                        const tg_bce_with_logits_options *opt);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_INDEX_H */
