/*
 * nll_loss.c — the negative log-likelihood of class labels.
 *
 *     nll_loss(logp, y) = -(1/M) sum_{i: y_i != ignore} logp[i][y_i]
 *     d / d logp[i][k]  = -[k == y_i] / M for rows not ignored, else 0
 *
 * M counts the rows not ignored (F.nll_loss, mean reduction, no class
 * weights). The pick is a tg_gather along the classes, times a column of
 * weights (1/M, or 0 for an ignored row), summed: its gradient and the
 * recorded derivative come from those ops. An ignored row is left out
 * (tg_where), not multiplied by 0, so that an inf or a NaN in it does not
 * make the loss NaN: PyTorch skips it. With every row ignored the
 * value is NaN (PyTorch's 0/0) but the gradient 0, as PyTorch's: the
 * weights are 0 and a constant NaN is added.
 */
#include "tapegrad/index.h"
#include "tapegrad/ops.h"

#include "ops/nll.h"
#include "tensor/element.h"
#include "tensor/tensor_check.h"

#include <math.h>

int tg__nll_check(const char *fn, const tg_tensor *logp,
                  const int64_t *labels, int64_t ignore_index)
{
    char s[128];
    if (tg__check_tensor(fn, logp) != TG_OK)
        return tg_last_status();
    if (logp->ndim != 2)
        return tg_set_error(TG_ESHAPE, "%s: input has shape %s; it must be "
                            "(N,C), one row per example", fn,
                            tg_shape_str(logp, s, sizeof s));
    if (labels == NULL)
        return tg_set_error(TG_EINVAL, "%s: labels is NULL", fn);
    for (int64_t i = 0; i < logp->shape[0]; i++)
        if (labels[i] != ignore_index &&
            (labels[i] < 0 || labels[i] >= logp->shape[1]))
            return tg_set_error(TG_EINVAL, "%s: label %lld in row %lld is "
                                "outside 0..%lld (input %s)", fn,
                                (long long)labels[i], (long long)i,
                                (long long)(logp->shape[1] - 1),
                                tg_shape_str(logp, s, sizeof s));
    return TG_OK;
}

tg_tensor *tg__nll_weights(tg_tape *t, const tg_tensor *logp,
                           const int64_t *labels, int64_t ignore_index)
{
    int64_t n = logp->shape[0], kept = 0, shape[2] = {n, 1};
    for (int64_t i = 0; i < n; i++)
        kept += labels[i] != ignore_index;
    tg_tensor *w = tg_empty(t, logp->dtype, 2, shape);
    if (w == NULL)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        tg__set(w, i, labels[i] != ignore_index ? 1.0 / (double)kept : 0.0);
    return w;
}

tg_tensor *tg__nll_weighted_sum(tg_tape *t, tg_tensor *x, tg_tensor *w)
{
    if (x == NULL || w == NULL)
        return NULL;
    bool ignores = false;
    for (int64_t i = 0; i < w->numel && !ignores; i++)
        ignores = tg__get(w, i) == 0.0;
    if (ignores) /* where(w != 0, x, 0): its gradient is 0 where w is */
        x = tg_where(t, w, x, tg_scalar(t, x->dtype, 0.0));
    return tg_sum(t, tg_mul(t, x, w));
}

tg_tensor *tg__nll_picked(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                          int64_t ignore_index, tg_tensor *w)
{
    int64_t shape[2] = {logp->shape[0], 1};
    tg_tensor *ix = tg_empty(t, logp->dtype, 2, shape);
    if (ix == NULL)
        return NULL;
    bool none_kept = true;
    for (int64_t i = 0; i < shape[0]; i++) {
        tg__set(ix, i, labels[i] == ignore_index ? 0.0 : (double)labels[i]);
        none_kept &= labels[i] == ignore_index;
    }
    tg_tensor *loss =
        tg_neg(t, tg__nll_weighted_sum(t, tg_gather(t, logp, 1, ix), w));
    return none_kept ? tg_add_scalar(t, loss, NAN) : loss;
}

tg_tensor *tg_nll_loss(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                       int64_t ignore_index)
{
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_nll_loss: tape is NULL");
        return NULL;
    }
    if (tg__nll_check("tg_nll_loss", logp, labels, ignore_index) != TG_OK)
        return NULL;
    return tg__nll_picked(t, logp, labels, ignore_index,
                          tg__nll_weights(t, logp, labels, ignore_index));
}
