/*
 * nll.h — the weighted, reduced sum of picked log-probabilities that
 * nll_loss and cross_entropy's options share (src/ops/nll_loss.c).
 */
#ifndef TG_OPS_NLL_H
#define TG_OPS_NLL_H

#include "tapegrad/index.h"
#include "tapegrad/tensor.h"

/*
 * Check, naming fn, that logp is (N, C) and every label is ignore_index or
 * in 0..C-1. TG_OK or the status.
 */
int tg__nll_check(const char *fn, const tg_tensor *logp,
                  const int64_t *labels, int64_t ignore_index);

/*
 * Check, naming fn, o's reduction and its weight against logp (N, C): a
 * (C,) tensor of logp's dtype, or NULL. TG_OK or the status.
 */
int tg__nll_check_options(const char *fn, const tg_tensor *logp,
                          const tg_cross_entropy_options *o);

/*
 * Row weights (N, 1) of logp's dtype, 0 for the rows whose label is
 * o->ignore_index; for a kept row i, c_i / D with
 *     c_i = o->weight[labels[i]] when by_class and o->weight is set, else 1,
 *     D   = the sum of the kept rows' o->weight[labels[i]] (their count
 *           without a weight) for the mean, 1 for the sum and for none.
 * (The nll term weighs rows by_class; label smoothing's term weighs the
 * classes inside a row instead, and divides by the same D.)
 * NULL on failure.
 */
tg_tensor *tg__nll_weights(tg_tape *t, const tg_tensor *logp,
                           const int64_t *labels,
                           const tg_cross_entropy_options *o, bool by_class);

/* sum_i w_i x[i][:] for x (N, K) and weights w (N, 1) — summed to a
 * scalar, or for TG_REDUCE_NONE to one value per row (N,) — with the
 * ignored rows left out, not multiplied by 0: a row PyTorch skips adds
 * nothing even when it holds an inf or a NaN (0 * inf would be NaN). */
tg_tensor *tg__nll_weighted_sum(tg_tape *t, tg_tensor *x, tg_tensor *w,
                                const int64_t *labels,
                                const tg_cross_entropy_options *o);

/* -sum_i w_i logp[i][labels[i]] (ignored rows pick column 0, left out),
 * reduced as o says; for the mean with every row ignored, that plus NaN:
 * PyTorch's 0/0 value, with its gradient 0. */
tg_tensor *tg__nll_picked(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                          const tg_cross_entropy_options *o, tg_tensor *w);

/* The class weights o->weight as a constant (1, C) row of x's dtype, to
 * multiply logp's rows with; no gradient flows to o->weight. */
tg_tensor *tg__nll_class_row(tg_tape *t, const tg_cross_entropy_options *o);

#endif /* TG_OPS_NLL_H */
