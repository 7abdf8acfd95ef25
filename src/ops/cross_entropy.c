/*
 * cross_entropy.c — the mean cross-entropy of logits against class labels,
 * fused and stable.
 *
 *     loss = (1/N) sum_i [ lse(x[i]) - x[i][y_i] ]       (= -mean log p)
 *     d loss / d x[i][k] = (softmax(x[i])[k] - [k == y_i]) / N
 *
 * x is (N, C): a row of C logits per example, y_i the class of row i.
 * lse(x[i]) = log(sum_k exp(x[i][k])) is computed shifted by the row's max
 * (tg__lane_softmax_stats), so logits of 1000 neither overflow nor lose
 * the loss to log(0); one pass gives the loss and the gradient is the
 * softmax minus the one-hot label, with no log_softmax tensor in between.
 * Labels are copied onto the tape when the op runs, so the caller's array
 * may change or go away afterwards. As in PyTorch, a row of all -inf or
 * holding +inf or NaN makes the loss NaN.
 */
#include "tapegrad/index.h"
#include "tapegrad/ops.h"

#include "exp_f32.h"
#include "ops/builtin.h"
#include "ops/nll.h"
#include "tensor/element.h"
#include "tensor/lane_f32.h"

#include <math.h>
#include <string.h>

/* The caller's labels: valid only during the call (forward copies them). */
typedef struct ce_params {
    const int64_t *labels;
} ce_params;

/* What backward needs: the labels, every row's max m and its sum s of
 * exp(x - m). The softmax is exp(x - m) / s: exp(x - (m + log s)) would
 * lose log s to rounding when |m| is huge (a row of 1e30s gave p = 1 for
 * every class instead of 1/C). */
typedef struct ce_saved {
    int64_t *labels;
    double *max, *sum;
} ce_saved;

/* TG_ESHAPE unless x is (N, C); TG_EINVAL for a missing or bad label. */
static int check(const tg_tensor *x, const int64_t *labels)
{
    char s[128];
    if (x->ndim != 2)
        return tg_set_error(TG_ESHAPE, "tg_cross_entropy: logits have shape "
                            "%s; they must be (N,C), one row per example",
                            tg_shape_str(x, s, sizeof s));
    if (labels == NULL)
        return tg_set_error(TG_EINVAL, "tg_cross_entropy: labels is NULL");
    for (int64_t i = 0; i < x->shape[0]; i++)
        if (labels[i] < 0 || labels[i] >= x->shape[1])
            return tg_set_error(TG_EINVAL, "tg_cross_entropy: label %lld in "
                                "row %lld is outside 0..%lld",
                                (long long)labels[i], (long long)i,
                                (long long)(x->shape[1] - 1));
    return TG_OK;
}

/* Copies of the labels and room for the rows' m and s, on the tape. */
static ce_saved *save(tg_tape *t, const int64_t *labels, int64_t n)
{
    ce_saved *sv = tg_tape_alloc(t, sizeof *sv);
    if (sv == NULL)
        return NULL;
    sv->labels = tg_tape_alloc(t, (size_t)n * sizeof *sv->labels);
    sv->max = tg_tape_alloc(t, (size_t)n * sizeof *sv->max);
    sv->sum = tg_tape_alloc(t, (size_t)n * sizeof *sv->sum);
    if (sv->labels == NULL || sv->max == NULL || sv->sum == NULL)
        return NULL;
    memcpy(sv->labels, labels, (size_t)n * sizeof *labels);
    return sv;
}

static tg_tensor *cross_entropy_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    const ce_params *p = c->params;
    if (check(x, p->labels) != TG_OK)
        return NULL;
    tg__lanes l = tg__lanes_around(x, 1); /* one lane per row */
    ce_saved *sv = save(c->tape, p->labels, l.outer);
    tg_tensor *y = sv ? tg_empty(c->tape, x->dtype, 0, NULL) : NULL;
    if (y == NULL)
        return NULL;
    /* Every row's max m and sum s of exp(x - m): an f32 block in one
     * pass (rows of 10 classes are too short for the per-row loops to
     * use vectors), the same numbers as tg__lane_softmax_stats row by row. */
    if (tg__lane_f32(x, &l))
        tg__f32_rows_softmax_stats(x->data, l.outer, l.n, sv->max, sv->sum);
    else
        for (int64_t i = 0; i < l.outer; i++)
            tg__lane_softmax_stats(x, &l, i, &sv->max[i], &sv->sum[i]);
    double total = 0;
    for (int64_t i = 0; i < l.outer; i++)
        /* (m - x[label]) + log(s), not lse - x[label]: when the label
         * is the max, lse and x[label] agree to many digits and their
         * difference would lose them (logits (48, 28): 2e-9 with only 6
         * digits right); m - x[label] is exact there. */
        total += (sv->max[i] - tg__get(x, i * l.n + sv->labels[i])) +
                 log(sv->sum[i]);
    tg__set(y, 0, total / (double)l.outer);
    c->saved = sv;
    return y;
}

/* gx[i][k] = g / N * (exp(x[i][k] - m_i) / s_i - [k == y_i]). */
static int cross_entropy_backward(tg_op_ctx *c, const tg_tensor *y,
                                  const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    const tg_tensor *x = c->in[0];
    const ce_saved *sv = c->saved;
    int64_t rows = x->shape[0], cols = x->shape[1];
    double g = tg__get(gy, 0) / (double)rows;
    if (x->dtype == TG_F32) { /* the same, vectorised over the block */
        float *gd = gx[0]->data;
        const float *xd = x->data;
        tg__f32_rows_scaled_exp(gd, xd, rows, cols, g, sv->max, sv->sum);
        for (int64_t i = 0; i < rows; i++) {
            int64_t at = i * cols + sv->labels[i];
            gd[at] = (float)(g * (tg__exp_f32((double)xd[at] - sv->max[i]) /
                                      sv->sum[i] -
                                  1.0));
        }
        return TG_OK;
    }
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < cols; k++) {
            double p = exp(tg__get(x, i * cols + k) - sv->max[i]) /
                       sv->sum[i];
            tg__set(gx[0], i * cols + k,
                    g * (p - (k == sv->labels[i] ? 1.0 : 0.0)));
        }
    return TG_OK;
}

/* The same derivative with ops: gy * (softmax(x) - onehot(labels)) / N. */
static int cross_entropy_backward_ops(tg_op_ctx *c, tg_tensor *y,
                                      tg_tensor *gy, const bool *want,
                                      tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    const ce_saved *sv = c->saved;
    tg_tensor *onehot = tg_zeros(t, x->dtype, 2, x->shape);
    if (onehot == NULL)
        return tg_last_status();
    for (int64_t i = 0; i < x->shape[0]; i++)
        tg__set(onehot, i * x->shape[1] + sv->labels[i], 1.0);
    tg_tensor *d = tg_sub(t, tg_softmax(t, x, 1), onehot);
    tg_tensor *g = tg_mul_scalar(t, gy, 1.0 / (double)x->shape[0]);
    gx[0] = tg_mul(t, d, g);
    return tg_made(gx[0]);
}

const tg_op tg__op_cross_entropy = {
    .name = "cross_entropy",
    .arity = 1,
    .params_size = sizeof(ce_params),
    .forward = cross_entropy_forward,
    .backward = cross_entropy_backward,
    .backward_ops = cross_entropy_backward_ops,
};

tg_tensor *tg_cross_entropy(tg_tape *t, tg_tensor *logits,
                            const int64_t *labels)
{
    ce_params p = {labels};
    return tg_apply(t, &tg__op_cross_entropy, 1, &logits, &p);
}

tg_cross_entropy_options tg_cross_entropy_defaults(void)
{
    return (tg_cross_entropy_options){.ignore_index = -100,
                                      .label_smoothing = 0.0,
                                      .reduction = TG_REDUCE_MEAN,
                                      .weight = NULL};
}

/*
 * With options, as PyTorch 1.13 computes them (LossNLL.cpp):
 *     loss_i = (1 - e) c[y_i] (-logp[i][y_i])
 *              + (e / C) sum_k c[k] (-logp[i][k])
 * for the rows i whose label is not ignore_index (0 for the others), with
 * logp = log_softmax(x), e the smoothing and c the class weights (1
 * without). The mean is sum_i loss_i / D, D the sum of the kept rows'
 * c[y_i] (their count without weights), the sum is sum_i loss_i, none
 * keeps loss_i. Without an ignored row, smoothing or weights, the mean is
 * the fused op above; otherwise it is written with ops (log_softmax,
 * gather, sums), which give its gradients.
 */
tg_tensor *tg_cross_entropy_ex(tg_tape *t, tg_tensor *logits,
                               const int64_t *labels,
                               const tg_cross_entropy_options *opt)
{
    const char *fn = "tg_cross_entropy_ex";
    tg_cross_entropy_options o = opt ? *opt : tg_cross_entropy_defaults();
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0)) {
        tg_set_error(TG_EINVAL, "%s: label_smoothing is %g; it must be in "
                     "[0, 1]", fn, o.label_smoothing);
        return NULL;
    }
    if (tg__nll_check(fn, logits, labels, o.ignore_index) != TG_OK ||
        tg__nll_check_options(fn, logits, &o) != TG_OK)
        return NULL;
    bool ignores = false;
    for (int64_t i = 0; i < logits->shape[0]; i++)
        ignores |= labels[i] == o.ignore_index;
    if (!ignores && o.label_smoothing == 0.0 && o.weight == NULL &&
        o.reduction == TG_REDUCE_MEAN)
        return tg_cross_entropy(t, logits, labels);
    tg_tensor *logp = tg_log_softmax(t, logits, 1);
    tg_tensor *w = tg__nll_weights(t, logits, labels, &o, true);
    if (logp == NULL || w == NULL)
        return NULL;
    tg_tensor *nll = tg__nll_picked(t, logp, labels, &o, w);
    if (o.label_smoothing == 0.0)
        return nll;
    double e = o.label_smoothing, classes = (double)logits->shape[1];
    tg_tensor *spread = logp, *row_w = w; /* without weights, w is 1/D too */
    if (o.weight != NULL) { /* -sum_k c[k] logp[i][k], divided by D */
        spread = tg_mul(t, logp, tg__nll_class_row(t, &o));
        row_w = tg__nll_weights(t, logits, labels, &o, false);
    }
    tg_tensor *smooth =
        tg_neg(t, tg__nll_weighted_sum(t, spread, row_w, labels, &o));
    return tg_add(t, tg_mul_scalar(t, nll, 1.0 - e),
                  tg_mul_scalar(t, smooth, e / classes));
}
