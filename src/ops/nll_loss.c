/*
 * nll_loss.c — the negative log-likelihood of class labels.
 *
 *     nll_loss(logp, y) = -(1/D) sum_{i: y_i != ignore} c[y_i] logp[i][y_i]
 *     d / d logp[i][k]  = -[k == y_i] c[y_i] / D for rows not ignored, else 0
 *
 * c are the class weights (1 without), D the sum of the kept rows' c[y_i]
 * (their count M without weights) for the mean reduction, 1 for the sum;
 * the 'none' reduction keeps one loss per row, 0 at an ignored row
 * (F.nll_loss). The pick is a tg_gather along the classes, times a column
 * of weights (c[y_i] / D, or 0 for an ignored row), summed: its gradient
 * and the recorded derivative come from those ops. An ignored row is left out
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

int tg__nll_check_options(const char *fn, const tg_tensor *logp,
                          const tg_cross_entropy_options *o)
{
    char s[128], sw[128];
    if (o->reduction != TG_REDUCE_MEAN && o->reduction != TG_REDUCE_SUM &&
        o->reduction != TG_REDUCE_NONE)
        return tg_set_error(TG_EINVAL, "%s: reduction is %d; it must be "
                            "TG_REDUCE_MEAN, TG_REDUCE_SUM or TG_REDUCE_NONE",
                            fn, (int)o->reduction);
    const tg_tensor *w = o->weight;
    if (w == NULL)
        return TG_OK;
    if (tg__check_tensor(fn, w) != TG_OK)
        return tg_last_status();
    if (w->ndim != 1 || w->shape[0] != logp->shape[1])
        return tg_set_error(TG_ESHAPE, "%s: weight has shape %s; it must be "
                            "(%lld,), one per class of input %s", fn,
                            tg_shape_str(w, sw, sizeof sw),
                            (long long)logp->shape[1],
                            tg_shape_str(logp, s, sizeof s));
    if (w->dtype != logp->dtype)
        return tg_set_error(TG_EDTYPE, "%s: weight is %s; it must be the "
                            "input's dtype, %s", fn, tg_dtype_name(w->dtype),
                            tg_dtype_name(logp->dtype));
    return TG_OK;
}

/* The weight of class k: o->weight[k], 1 without weights. */
static double class_weight(const tg_cross_entropy_options *o, int64_t k)
{
    return o->weight ? tg__get(o->weight, k) : 1.0;
}

tg_tensor *tg__nll_weights(tg_tape *t, const tg_tensor *logp,
                           const int64_t *labels,
                           const tg_cross_entropy_options *o, bool by_class)
{
    int64_t n = logp->shape[0], kept = 0, shape[2] = {n, 1};
    double total = 0; /* the kept rows' class weights */
    for (int64_t i = 0; i < n; i++)
        if (labels[i] != o->ignore_index) {
            kept++;
            total += class_weight(o, labels[i]);
        }
    /* without weights, 1/M exactly as before the options existed */
    double d = o->reduction != TG_REDUCE_MEAN ? 1.0
               : o->weight                    ? total
                                              : (double)kept;
    tg_tensor *w = tg_empty(t, logp->dtype, 2, shape);
    if (w == NULL)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        double c = by_class && labels[i] != o->ignore_index
                       ? class_weight(o, labels[i])
                       : 1.0;
        tg__set(w, i, labels[i] != o->ignore_index ? c / d : 0.0);
    }
    return w;
}

tg_tensor *tg__nll_weighted_sum(tg_tape *t, tg_tensor *x, tg_tensor *w,
                                const int64_t *labels,
                                const tg_cross_entropy_options *o)
{
    if (x == NULL || w == NULL)
        return NULL;
    int64_t n = w->shape[0];
    bool ignores = false;
    for (int64_t i = 0; i < n && !ignores; i++)
        ignores = labels[i] == o->ignore_index;
    if (ignores) { /* where(kept, x, 0): its gradient is 0 where not kept */
        int64_t shape[2] = {n, 1};
        tg_tensor *keep = tg_empty(t, x->dtype, 2, shape);
        if (keep == NULL)
            return NULL;
        for (int64_t i = 0; i < n; i++)
            tg__set(keep, i, labels[i] != o->ignore_index ? 1.0 : 0.0);
        x = tg_where(t, keep, x, tg_scalar(t, x->dtype, 0.0));
    }
    tg_tensor *weighted = tg_mul(t, x, w);
    if (o->reduction == TG_REDUCE_NONE) /* one loss per row: (N,) */
        return tg_sum_axis(t, weighted, 1, false);
    return tg_sum(t, weighted);
}

tg_tensor *tg__nll_picked(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                          const tg_cross_entropy_options *o, tg_tensor *w)
{
    int64_t shape[2] = {logp->shape[0], 1};
    tg_tensor *ix = tg_empty(t, logp->dtype, 2, shape);
    if (ix == NULL)
        return NULL;
    bool none_kept = true;
    for (int64_t i = 0; i < shape[0]; i++) {
        bool kept = labels[i] != o->ignore_index;
        tg__set(ix, i, kept ? (double)labels[i] : 0.0);
        none_kept &= !kept;
    }
    tg_tensor *loss = tg_neg(
        t, tg__nll_weighted_sum(t, tg_gather(t, logp, 1, ix), w, labels, o));
    /* only the mean divides by the (zero) weight of no rows */
    return none_kept && o->reduction == TG_REDUCE_MEAN
               ? tg_add_scalar(t, loss, NAN)
               : loss;
}

tg_tensor *tg__nll_class_row(tg_tape *t, const tg_cross_entropy_options *o)
{
    const tg_tensor *cw = o->weight;
    int64_t shape[2] = {1, cw->shape[0]};
    tg_tensor *row = tg_empty(t, cw->dtype, 2, shape);
    if (row == NULL)
        return NULL;
    for (int64_t k = 0; k < cw->shape[0]; k++)
        tg__set(row, k, tg__get(cw, k));
    return row;
}

/* logp's options checked, naming fn; NULL (with the error) or the loss. */
static tg_tensor *nll(const char *fn, tg_tape *t, tg_tensor *logp,
                      const int64_t *labels,
                      const tg_cross_entropy_options *o)
{
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    if (tg__nll_check(fn, logp, labels, o->ignore_index) != TG_OK ||
        tg__nll_check_options(fn, logp, o) != TG_OK)
        return NULL;
    return tg__nll_picked(t, logp, labels, o,
                          tg__nll_weights(t, logp, labels, o, true));
}

tg_tensor *tg_nll_loss(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                       int64_t ignore_index)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = ignore_index;
    return nll("tg_nll_loss", t, logp, labels, &o);
}

tg_tensor *tg_nll_loss_ex(tg_tape *t, tg_tensor *logp, const int64_t *labels,
                          const tg_cross_entropy_options *opt)
{
    const char *fn = "tg_nll_loss_ex";
    tg_cross_entropy_options o = opt ? *opt : tg_cross_entropy_defaults();
    if (o.label_smoothing != 0.0) { /* also NaN: F.nll_loss has no smoothing */
        tg_set_error(TG_EINVAL, "%s: label_smoothing is %g; nll_loss has "
                     "none, it must be 0", fn, o.label_smoothing);
        return NULL;
    }
    return nll(fn, t, logp, labels, &o);
}
