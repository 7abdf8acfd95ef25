/*
 * batch_norm.c — batch normalisation over dimension 1 of (N, C[, L[, W]]).
 *
 *     xhat = (x - mean_c) * rstd_c,   rstd_c = 1 / sqrt(var_c + eps)
 *     y    = xhat * weight_c + bias_c
 *
 * In training mean_c and var_c (biased) are the batch's over the m
 * elements of channel c, and depend on x: with g = gy * weight,
 *     d root / d x = rstd (g - mean(g) - xhat mean(g xhat))
 * (means over the channel); in eval mode they are the running statistics,
 * constants, and d root / d x = gy * weight * rstd. In both,
 *     d root / d weight_c = sum gy xhat,   d root / d bias_c = sum gy.
 * The running statistics are inputs (for the dtype and stale checks) but
 * carry no gradient (zeros if asked), and are updated in place by
 * tg_batch_norm once the op has run and been recorded, so that a failure
 * anywhere (memory for the tape entry included) leaves them as they were.
 * The derivative written with ops recomputes xhat with ops from x (in
 * training), so that it can be differentiated again.
 */
#include "tapegrad/ops.h"
#include "tapegrad/pool.h"

#include "ops/builtin.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

#include <math.h>

typedef struct bn_saved bn_saved;

typedef struct bn_params {
    bool training, has_w, has_b, has_running;
    double momentum, eps;
    /* Where forward leaves its statistics for tg_batch_norm, which moves
     * the running ones once tg_apply has succeeded (recording included);
     * only read during that call. */
    bn_saved **result;
} bn_params;

/* Input positions: x first, then whichever of these are there. */
typedef struct bn_inputs {
    const tg_tensor *x, *w, *b, *rm, *rv;
    int iw, ib, irm, irv;    /* their indices in c->in, or -1 */
} bn_inputs;

struct bn_saved {
    double *mean, *rstd;     /* per channel */
    double *var;             /* training: the batch's biased variance */
    double *s1, *s2;         /* backward's per-channel sums */
    int64_t ch, inner, m;    /* C, elements per (n, c), per channel */
};

static bn_inputs inputs_of(const tg_op_ctx *c)
{
    const bn_params *p = c->params;
    bn_inputs in = {c->in[0], NULL, NULL, NULL, NULL, -1, -1, -1, -1};
    int k = 1;
    if (p->has_w)
        in.w = c->in[in.iw = k++];
    if (p->has_b)
        in.b = c->in[in.ib = k++];
    if (p->has_running) {
        in.rm = c->in[in.irm = k++];
        in.rv = c->in[in.irv = k++];
    }
    return in;
}

static int check_vector(const char *what, const tg_tensor *v,
                        const tg_tensor *x)
{
    char sh[128], shx[128];
    if (v != NULL && (v->ndim != 1 || v->shape[0] != x->shape[1]))
        return tg_set_error(TG_ESHAPE, "tg_batch_norm: %s has shape %s for x "
                            "of shape %s; it must be (%lld), one per channel",
                            what, tg_shape_str(v, sh, sizeof sh),
                            tg_shape_str(x, shx, sizeof shx),
                            (long long)x->shape[1]);
    return TG_OK;
}

static int check(const bn_params *p, const bn_inputs *in)
{
    char sh[128];
    const tg_tensor *x = in->x;
    if (x->ndim < 2 || x->ndim > 4)
        return tg_set_error(TG_ESHAPE, "tg_batch_norm: x has shape %s; it "
                            "must be (N, C), (N, C, L) or (N, C, H, W)",
                            tg_shape_str(x, sh, sizeof sh));
    if (check_vector("weight", in->w, x) || check_vector("bias", in->b, x) ||
        check_vector("running_mean", in->rm, x) ||
        check_vector("running_var", in->rv, x))
        return tg_last_status();
    if (p->training && x->numel / x->shape[1] == 1)
        return tg_set_error(TG_ESHAPE, "tg_batch_norm: x has shape %s, one "
                            "value per channel; training needs more than one "
                            "to compute a variance",
                            tg_shape_str(x, sh, sizeof sh));
    if (!(p->eps > 0) || !isfinite(p->eps) || !(p->momentum >= 0) ||
        !(p->momentum <= 1))
        return tg_set_error(TG_EINVAL, "tg_batch_norm: eps %g and momentum "
                            "%g; eps must be positive and finite, momentum in "
                            "[0, 1]", p->eps, p->momentum);
    return TG_OK;
}

static tg_tensor *bn_forward(tg_op_ctx *c)
{
    const bn_params *p = c->params;
    bn_inputs in = inputs_of(c);
    if (check(p, &in) != TG_OK)
        return NULL;
    const tg_tensor *x = in.x;
    int64_t ch = x->shape[1], inner = x->numel / (x->shape[0] * ch);
    bn_saved *s = tg_tape_alloc(c->tape, sizeof *s);
    tg_tensor *y = tg_empty_like(c->tape, x);
    if (s == NULL || y == NULL ||
        (s->mean = tg_tape_alloc(c->tape, 5 * (size_t)ch * sizeof(double))) ==
            NULL)
        return NULL;
    s->rstd = s->mean + ch;
    s->s1 = s->rstd + ch;
    s->s2 = s->s1 + ch;
    s->var = s->s2 + ch;
    s->ch = ch;
    s->inner = inner;
    s->m = x->numel / ch;
    for (int64_t k = 0; k < ch; k++) {
        double mean, var;
        if (p->training) {
            double sum = 0, sq = 0;
            for (int64_t n = 0; n < x->shape[0]; n++)
                for (int64_t e = 0; e < inner; e++)
                    sum += tg__get(x, (n * ch + k) * inner + e);
            mean = sum / (double)s->m;
            for (int64_t n = 0; n < x->shape[0]; n++)
                for (int64_t e = 0; e < inner; e++) {
                    double d = tg__get(x, (n * ch + k) * inner + e) - mean;
                    sq += d * d;
                }
            var = sq / (double)s->m;
        } else {
            mean = tg__get(in.rm, k);
            var = tg__get(in.rv, k);
        }
        s->mean[k] = mean;
        s->var[k] = var;
        s->rstd[k] = 1.0 / sqrt(var + p->eps);
        double w = in.w ? tg__get(in.w, k) : 1.0, b = in.b ? tg__get(in.b, k) : 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t e = 0; e < inner; e++) {
                int64_t i = (n * ch + k) * inner + e;
                tg__set(y, i, (tg__get(x, i) - mean) * s->rstd[k] * w + b);
            }
    }
    if (p->result != NULL)
        *p->result = s;
    c->saved = s;
    return y;
}

static int bn_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                       tg_tensor *const *gx)
{
    (void)y;
    const bn_params *p = c->params;
    bn_inputs in = inputs_of(c);
    bn_saved *s = c->saved;
    const tg_tensor *x = in.x;
    int64_t ch = s->ch, inner = s->inner, nb = x->shape[0];
    for (int64_t k = 0; k < ch; k++) {
        double sg = 0, sgx = 0; /* sum gy, sum gy xhat */
        for (int64_t n = 0; n < nb; n++)
            for (int64_t e = 0; e < inner; e++) {
                int64_t i = (n * ch + k) * inner + e;
                double g = tg__get(gy, i);
                sg += g;
                sgx += g * (tg__get(x, i) - s->mean[k]) * s->rstd[k];
            }
        s->s1[k] = sg;
        s->s2[k] = sgx;
    }
    for (int i = 0; i < c->n; i++)
        if (gx[i] != NULL && (i == in.irm || i == in.irv))
            tg_grad_fill(gx[i], 0.0);
    if (in.iw >= 0 && gx[in.iw] != NULL)
        for (int64_t k = 0; k < ch; k++)
            tg__set(gx[in.iw], k, s->s2[k]);
    if (in.ib >= 0 && gx[in.ib] != NULL)
        for (int64_t k = 0; k < ch; k++)
            tg__set(gx[in.ib], k, s->s1[k]);
    if (gx[0] == NULL)
        return TG_OK;
    for (int64_t k = 0; k < ch; k++) {
        double w = in.w ? tg__get(in.w, k) : 1.0, r = s->rstd[k];
        double mg = w * s->s1[k] / (double)s->m, mgx = w * s->s2[k] / (double)s->m;
        for (int64_t n = 0; n < nb; n++)
            for (int64_t e = 0; e < inner; e++) {
                int64_t i = (n * ch + k) * inner + e;
                double g = tg__get(gy, i) * w;
                if (p->training) {
                    double xh = (tg__get(x, i) - s->mean[k]) * r;
                    tg__set(gx[0], i, r * (g - mg - xh * mgx));
                } else {
                    tg__set(gx[0], i, r * g);
                }
            }
    }
    return TG_OK;
}

/* ---- the same derivative with ops ---- */

/* z summed over every dimension but 1, kept as (1, C, 1, ...). */
static tg_tensor *chan_sum(tg_tape *t, tg_tensor *z, int ndim)
{
    z = tg_sum_axis(t, z, 0, true);
    for (int a = 2; a < ndim; a++)
        z = tg_sum_axis(t, z, a, true);
    return z;
}

static tg_tensor *chan_mean(tg_tape *t, tg_tensor *z, int ndim, int64_t m)
{
    tg_tensor *s = chan_sum(t, z, ndim);
    return s ? tg_mul(t, s, tg_scalar(t, s->dtype, 1.0 / (double)m)) : NULL;
}

/* A per-channel vector, constant, as (1, C, 1, ...) of x's dtype. */
static tg_tensor *chan_const(tg_tape *t, const double *v, const tg_tensor *x)
{
    int64_t shape[4] = {1, x->shape[1], 1, 1};
    tg_tensor *r = tg_empty(t, x->dtype, x->ndim, shape);
    if (r != NULL)
        for (int64_t k = 0; k < x->shape[1]; k++)
            tg__set(r, k, v[k]);
    return r;
}

static tg_tensor *as_chan(tg_tape *t, tg_tensor *v, int ndim)
{
    int64_t shape[4] = {1, v ? v->shape[0] : 1, 1, 1};
    return tg_reshape(t, v, ndim, shape);
}

static tg_tensor *as_vector(tg_tape *t, tg_tensor *v, int64_t ch)
{
    return tg_reshape(t, v, 1, &ch);
}

static int bn_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                           const bool *want, tg_tensor **gx)
{
    (void)y;
    const bn_params *p = c->params;
    bn_inputs in = inputs_of(c);
    const bn_saved *s = c->saved;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    int nd = x->ndim;
    tg_tensor *xhat, *rstd;
    if (p->training) {
        tg_tensor *d = tg_sub(t, x, chan_mean(t, x, nd, s->m));
        tg_tensor *var = chan_mean(t, tg_mul(t, d, d), nd, s->m);
        rstd = tg_pow(t, tg_add(t, var, tg_scalar(t, x->dtype, p->eps)), -0.5);
        xhat = tg_mul(t, d, rstd);
    } else {
        rstd = chan_const(t, s->rstd, x);
        xhat = tg_mul(t, tg_sub(t, x, chan_const(t, s->mean, x)), rstd);
    }
    for (int i = 0; i < c->n; i++)
        if (want[i] && (i == in.irm || i == in.irv))
            if ((gx[i] = tg_zeros(t, x->dtype, 1, &s->ch)) == NULL)
                return tg_last_status();
    if (in.iw >= 0 && want[in.iw] &&
        (gx[in.iw] = as_vector(t, chan_sum(t, tg_mul(t, gy, xhat), nd),
                               s->ch)) == NULL)
        return tg_last_status();
    if (in.ib >= 0 && want[in.ib] &&
        (gx[in.ib] = as_vector(t, chan_sum(t, gy, nd), s->ch)) == NULL)
        return tg_last_status();
    if (!want[0])
        return TG_OK;
    tg_tensor *g = in.w ? tg_mul(t, gy, as_chan(t, c->in[in.iw], nd)) : gy;
    if (p->training) {
        tg_tensor *mg = chan_mean(t, g, nd, s->m);
        tg_tensor *mgx = chan_mean(t, tg_mul(t, g, xhat), nd, s->m);
        gx[0] = tg_mul(t, rstd, tg_sub(t, tg_sub(t, g, mg), tg_mul(t, xhat, mgx)));
    } else {
        gx[0] = tg_mul(t, g, rstd);
    }
    return tg_made(gx[0]);
}

const tg_op tg__op_batch_norm = {
    .name = "batch_norm", .arity = -1, .params_size = sizeof(bn_params),
    .forward = bn_forward, .backward = bn_backward,
    .backward_ops = bn_backward_ops,
};

tg_tensor *tg_batch_norm(tg_tape *t, tg_tensor *x, tg_tensor *running_mean,
                         tg_tensor *running_var, tg_tensor *weight,
                         tg_tensor *bias, bool training, double momentum,
                         double eps)
{
    if (x == NULL) { /* tg_apply keeps the earlier failure's message */
        bn_params none = {training, false, false, false, 0.1, 1e-5, NULL};
        return tg_apply(t, &tg__op_batch_norm, 1, &x, &none);
    }
    if ((running_mean == NULL) != (running_var == NULL)) {
        tg_set_error(TG_EINVAL, "tg_batch_norm: running_mean is %s and "
                     "running_var %s; give both or neither",
                     running_mean ? "given" : "NULL",
                     running_var ? "given" : "NULL");
        return NULL;
    }
    if (!training && running_mean == NULL) {
        tg_set_error(TG_EINVAL, "tg_batch_norm: eval mode (training false) "
                     "needs running_mean and running_var");
        return NULL;
    }
    if (running_mean != NULL && training &&
        (running_mean == running_var || running_mean == x ||
         running_var == x || running_mean == weight || running_var == weight ||
         running_mean == bias || running_var == bias)) {
        /* training updates them in place: one tensor in two roles would
         * be read after it was written */
        tg_set_error(TG_EINVAL, "tg_batch_norm: running_%s is also %s; the "
                     "running statistics are updated in place and must be "
                     "tensors of their own",
                     running_mean == running_var || running_mean == x ||
                     running_mean == weight || running_mean == bias
                         ? "mean" : "var",
                     running_mean == running_var ? "running_var"
                     : running_mean == x || running_var == x ? "x"
                     : running_mean == weight || running_var == weight
                         ? "weight" : "bias");
        return NULL;
    }
    if (running_mean != NULL && training &&
        (tg_requires_grad(running_mean) || tg_requires_grad(running_var))) {
        tg_set_error(TG_EINVAL, "tg_batch_norm: running_%s requires grad; "
                     "it is updated in place in training, so it must not "
                     "(as PyTorch refuses an in-place write to a leaf that "
                     "requires grad)", tg_requires_grad(running_mean)
                     ? "mean" : "var");
        return NULL;
    }
    bn_saved *st = NULL;
    bn_params p = {training, weight != NULL, bias != NULL,
                   running_mean != NULL, momentum, eps, &st};
    tg_tensor *in[5] = {x};
    int n = 1;
    if (weight != NULL)
        in[n++] = weight;
    if (bias != NULL)
        in[n++] = bias;
    if (running_mean != NULL) {
        in[n++] = running_mean;
        in[n++] = running_var;
    }
    tg_tensor *y = tg_apply(t, &tg__op_batch_norm, n, in, &p);
    if (y == NULL || !training || running_mean == NULL || st == NULL)
        return y;
    /* Nothing fails past this point: the running statistics move. */
    double unbias = (double)st->m / (double)(st->m - 1);
    for (int64_t k = 0; k < st->ch; k++) {
        tg__set(running_mean, k, (1 - momentum) * tg__get(running_mean, k) +
                                     momentum * st->mean[k]);
        tg__set(running_var, k, (1 - momentum) * tg__get(running_var, k) +
                                    momentum * st->var[k] * unbias);
    }
    return y;
}
