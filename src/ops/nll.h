/*
 * nll.h — the masked mean of picked log-probabilities that nll_loss and
 * cross_entropy's options share (src/ops/nll_loss.c).
 */
#ifndef TG_OPS_NLL_H
#define TG_OPS_NLL_H

#include "tapegrad/tensor.h"

/*
 * Check, naming fn, that logp is (N, C) and every label is ignore_index or
 * in 0..C-1. TG_OK or the status.
 */
int tg__nll_check(const char *fn, const tg_tensor *logp,
                  const int64_t *labels, int64_t ignore_index);

/*
 * Weights (N, 1) of logp's dtype: 1/count for rows whose label is not
 * ignore_index, 0 for the others (all 0 when every row is ignored).
 * NULL on failure.
 */
tg_tensor *tg__nll_weights(tg_tape *t, const tg_tensor *logp,
                           const int64_t *labels, int64_t ignore_index);

/* sum_i w_i x[i][:] for x (N, K) and the weights above, with the ignored
 * rows (weight 0) left out, not multiplied by 0: a row PyTorch skips adds
 * nothing even when it holds an inf or a NaN (0 * inf would be NaN). */
tg_tensor *tg__nll_weighted_sum(tg_tape *t, tg_tensor *x, tg_tensor *w);

/* -sum_i w_i logp[i][labels[i]] (ignored rows pick column 0, weight 0);
 * with every row ignored, that plus NaN: PyTorch's 0/0 value, with its
 * gradient 0. */
tg_tensor *tg__nll_picked(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                          int64_t ignore_index, tg_tensor *w);

#endif /* TG_OPS_NLL_H */
