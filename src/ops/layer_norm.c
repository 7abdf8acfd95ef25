/*
 * layer_norm.c — layer normalisation over the trailing dims, fused.
 *
 *     mu     = mean of the row x[r, :]            (a row: the last dims)
 *     rstd   = 1 / sqrt(mean((x - mu)^2) + eps)   (biased variance)
 *     xhat   = (x - mu) * rstd
 *     y      = xhat * w + b                       (w, b optional)
 *
 *     d/dx   = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)),  gh = gy * w
 *     d/dw   = sum over rows of gy * xhat
 *     d/db   = sum over rows of gy
 *
 * as torch.nn.functional.layer_norm. The mean and the variance are two
 * passes over the row in double (the variance of the centred values, so a
 * large common offset does not cancel digits as E[x^2] - E[x]^2 would);
 * forward saves mu and rstd per row for backward. A row of finite f64
 * values whose squared deviations overflow (|x - mu| beyond ~1e154) gets
 * rstd = NaN, so y and the gradients are NaN there, as PyTorch's; an
 * rstd of 0 would give y = b, finite and wrong (f32 rows cannot
 * overflow in double). A row whose sums mean(gh), mean(gh xhat) are not
 * finite (an infinite or NaN weight or upstream gradient) takes d/dx by
 * PyTorch's own formula instead (tg__ln_backward_row_torch), which puts NaN and
 * +-inf where PyTorch does; the derivative with ops (create_graph) picks
 * between the two formulas row by row in the same way (layer_norm_ops.c).
 */
#include "tapegrad/ops.h"
#include "tapegrad/sequence.h"

#include "ops/builtin.h"
#include "ops/layer_norm.h"
#include "ops/layer_norm_rows.h"
#include "tensor/element.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct ln_saved {
    double *mu, *rstd;            /* per row */
} ln_saved;

/* x's last dims must be p->shape, and w and b (if any) must have it. */
static int check(const tg_op_ctx *c, const ln_params *p)
{
    const tg_tensor *x = c->in[0];
    char sx[96], sw[96];
    if (!(p->eps >= 0) || !isfinite(p->eps))
        return tg_set_error(TG_EINVAL, "tg_layer_norm: eps %g must be "
                            "finite and not negative", p->eps);
    bool fits = p->ndim <= tg_ndim(x);
    for (int d = 0; fits && d < p->ndim; d++)
        fits = tg_shape(x)[tg_ndim(x) - p->ndim + d] == p->shape[d];
    if (!fits) {
        char ss[96] = "(";
        for (int d = 0; d < p->ndim; d++)
            snprintf(ss + strlen(ss), sizeof ss - strlen(ss), "%s%lld",
                     d ? "," : "", (long long)p->shape[d]);
        snprintf(ss + strlen(ss), sizeof ss - strlen(ss), "%s)",
                 p->ndim == 1 ? "," : "");
        return tg_set_error(TG_ESHAPE, "tg_layer_norm: normalized shape %s "
                            "does not match the last dims of x %s", ss,
                            tg_shape_str(x, sx, sizeof sx));
    }
    for (int k = 1; k < c->n; k++) {
        const tg_tensor *a = c->in[k];
        bool same = tg_ndim(a) == p->ndim;
        for (int d = 0; same && d < p->ndim; d++)
            same = tg_shape(a)[d] == p->shape[d];
        if (!same)
            return tg_set_error(TG_ESHAPE, "tg_layer_norm: %s %s must have "
                                "the normalized shape, the last dims of x %s",
                                k == 1 && p->has_w ? "weight" : "bias",
                                tg_shape_str(a, sw, sizeof sw),
                                tg_shape_str(x, sx, sizeof sx));
    }
    return TG_OK;
}

static const tg_tensor *weight_of(const tg_op_ctx *c, const ln_params *p)
{
    return p->has_w ? c->in[1] : NULL;
}

static const tg_tensor *bias_of(const tg_op_ctx *c, const ln_params *p)
{
    return p->has_b ? c->in[p->has_w ? 2 : 1] : NULL;
}

/* Element i of a float or double array (f32 says which): the loops keep
 * the flag and the pointers in locals, so the compiler can hoist the test
 * out of them (through a tensor, every store could alias its fields). */
static inline double ld(const void *a, bool f32, int64_t i)
{
    return f32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

static inline void st(void *a, bool f32, int64_t i, double v)
{
    if (f32)
        ((float *)a)[i] = (float)v;
    else
        ((double *)a)[i] = v;
}

/*
 * One row's gx by PyTorch's formula (the one of its CPU kernel):
 *
 *     ds = sum(g w x),  db = sum(g w),  b = (db mu - ds) rstd^3 / n,
 *     c  = -b mu - db rstd / n,         gx = rstd g w + b x + c
 *
 * for a row whose sums m1, m2 are not finite: an infinite or NaN weight
 * or upstream gradient (from backward_row here and from the f32 rows of
 * layer_norm_rows.c). In exact arithmetic it is backward_row's formula,
 * but at infinities the two differ in which entries become NaN and which
 * +-inf; this one gives PyTorch's. f32 says whether
 * x, g, w and gx are float or double; w may be NULL (ones). Cold: finite
 * rows never come here.
 */
void tg__ln_backward_row_torch(const void *x, const void *g, const void *w,
                               void *gx, bool f32, int64_t n, double mu,
                               double rstd)
{
    double ds = 0, db = 0;
    for (int64_t i = 0; i < n; i++) {
        double gw = w != NULL ? ld(g, f32, i) * ld(w, f32, i) : ld(g, f32, i);
        ds += gw * ld(x, f32, i);
        db += gw;
    }
    double scale = 1.0 / (double)n;
    double b = (db * mu - ds) * rstd * rstd * rstd * scale;
    double c = -b * mu - db * rstd * scale;
    for (int64_t i = 0; i < n; i++) {
        double gw = w != NULL ? ld(g, f32, i) * ld(w, f32, i) : ld(g, f32, i);
        st(gx, f32, i, rstd * gw + b * ld(x, f32, i) + c);
    }
}

/* The data of x (NULL for NULL), to read or to write. */
static const void *rd(const tg_tensor *x)
{
    if (x == NULL)
        return NULL;
    return tg_dtype_of(x) == TG_F32 ? (const void *)tg_data_f32(x)
                                    : (const void *)tg_data_f64(x);
}

static void *wr(tg_tensor *x)
{
    if (x == NULL)
        return NULL;
    return tg_dtype_of(x) == TG_F32 ? (void *)tg_mut_f32(x)
                                    : (void *)tg_mut_f64(x);
}

/* One row: mu and rstd by two passes in double, then y. */
static void forward_row(const void *x, const void *w, const void *b, void *y,
                        bool f32, int64_t n, double eps, double *mu_out,
                        double *rstd_out)
{
    double mu = 0, var = 0;
    for (int64_t i = 0; i < n; i++)
        mu += ld(x, f32, i);
    mu /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = ld(x, f32, i) - mu;
        var += d * d;
    }
    double rstd = tg__ln_rstd(var, n, eps);
    for (int64_t i = 0; i < n; i++) {
        double v = (ld(x, f32, i) - mu) * rstd;
        if (w != NULL)
            v *= ld(w, f32, i);
        if (b != NULL)
            v += ld(b, f32, i);
        st(y, f32, i, v);
    }
    *mu_out = mu;
    *rstd_out = rstd;
}

static tg_tensor *layer_norm_forward(tg_op_ctx *c)
{
    const ln_params *p = c->params;
    if (check(c, p) != TG_OK)
        return NULL;
    const tg_tensor *x = c->in[0];
    int64_t n = tg__ln_row_size(p), rows = n ? tg_numel(x) / n : 0;
    tg_tensor *y = tg_empty_like(c->tape, x);
    ln_saved *s = tg_tape_alloc(c->tape, sizeof *s);
    double *mem = tg_tape_alloc(c->tape, 2 * (size_t)(rows + 1) * sizeof *mem);
    if (y == NULL || s == NULL || mem == NULL)
        return NULL;
    s->mu = mem;
    s->rstd = mem + rows + 1;
    bool f32 = tg_dtype_of(x) == TG_F32;
    size_t es = f32 ? sizeof(float) : sizeof(double);
    const char *xs = rd(x);
    char *ys = wr(y);
    const void *w = rd(weight_of(c, p)), *b = rd(bias_of(c, p));
    if (f32 && w != NULL && b != NULL)
        tg__ln_forward_rows_f32((const float *)(const void *)xs, w, b,
                                (float *)(void *)ys, n, rows, p->eps, s->mu,
                                s->rstd);
    else
        for (int64_t r = 0; r < rows; r++) {
            size_t at = (size_t)(r * n) * es;
            forward_row(xs + at, w, b, ys + at, f32, n, p->eps, &s->mu[r],
                        &s->rstd[r]);
        }
    c->saved = s;
    return y;
}

/* One row's gradients: gx (if wanted) and the row's share of gw and gb
 * added into accumulators in double. */
static void backward_row(const void *x, const void *g, const void *w,
                         void *gx, bool f32, int64_t n, double mu, double rstd,
                         double *gw, double *gb)
{
    double m1 = 0, m2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double gi = ld(g, f32, i), xh = (ld(x, f32, i) - mu) * rstd;
        double gh = w != NULL ? gi * ld(w, f32, i) : gi;
        m1 += gh;
        m2 += gh * xh;
        if (gw != NULL)
            gw[i] += gi * xh;
        if (gb != NULL)
            gb[i] += gi;
    }
    if (gx == NULL)
        return;
    if (!isfinite(m1) || !isfinite(m2)) { /* an infinite weight, say */
        tg__ln_backward_row_torch(x, g, w, gx, f32, n, mu, rstd);
        return;
    }
    m1 /= (double)n;
    m2 /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double gi = ld(g, f32, i), xh = (ld(x, f32, i) - mu) * rstd;
        double gh = w != NULL ? gi * ld(w, f32, i) : gi;
        st(gx, f32, i, rstd * (gh - m1 - xh * m2));
    }
}

/* d/dx row by row; d/dw and d/db summed over the rows in double. */
static int layer_norm_backward(tg_op_ctx *c, const tg_tensor *y,
                               const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const ln_params *p = c->params;
    const ln_saved *s = c->saved;
    const tg_tensor *x = c->in[0];
    tg_tensor *gw = p->has_w ? gx[1] : NULL;
    tg_tensor *gb = p->has_b ? gx[p->has_w ? 2 : 1] : NULL;
    int64_t n = tg__ln_row_size(p), rows = n ? tg_numel(x) / n : 0;
    double *acc = NULL;
    if (gw != NULL || gb != NULL) {
        acc = tg_tape_alloc(c->tape, 2 * (size_t)n * sizeof *acc);
        if (acc == NULL)
            return tg_last_status();
        for (int64_t i = 0; i < 2 * n; i++)
            acc[i] = 0;
    }
    bool f32 = tg_dtype_of(x) == TG_F32;
    size_t es = f32 ? sizeof(float) : sizeof(double);
    const char *xs = rd(x), *gs = rd(gy);
    char *gxs = wr(gx[0]);
    const void *w = rd(weight_of(c, p));
    bool fast = f32 && w != NULL && gw != NULL && gb != NULL && gxs != NULL;
    if (fast)
        tg__ln_backward_rows_f32((const float *)(const void *)xs,
                                 (const float *)(const void *)gs, w,
                                 (float *)(void *)gxs, n, rows, s->mu,
                                 s->rstd, acc, acc + n);
    else
        for (int64_t r = 0; r < rows; r++) {
            size_t at = (size_t)(r * n) * es;
            backward_row(xs + at, gs + at, w, gxs ? gxs + at : NULL, f32, n,
                         s->mu[r], s->rstd[r], gw ? acc : NULL,
                         gb ? acc + n : NULL);
        }
    for (int64_t i = 0; i < n; i++) {
        if (gw != NULL)
            tg__set(gw, i, acc[i]);
        if (gb != NULL)
            tg__set(gb, i, acc[n + i]);
    }
    return TG_OK;
}

const tg_op tg__op_layer_norm = {
    .name = "layer_norm",
    .arity = -1,
    .params_size = sizeof(ln_params),
    .forward = layer_norm_forward,
    .backward = layer_norm_backward,
    .backward_ops = tg__ln_backward_ops,
};

tg_tensor *tg_layer_norm(tg_tape *t, tg_tensor *x, int ndim,
                         const int64_t *shape, tg_tensor *weight,
                         tg_tensor *bias, double eps)
{
    if (ndim < 1 || ndim > TG_MAX_DIMS || shape == NULL) {
        if (x == NULL && tg_last_status() != TG_OK)
            return NULL; /* keep the failure that made x NULL */
        tg_set_error(TG_EINVAL, "tg_layer_norm: normalized shape of %d dims%s;"
                     " it needs 1 to %d", ndim, shape ? "" : " (NULL)",
                     TG_MAX_DIMS);
        return NULL;
    }
    if (x != NULL && ndim > tg_ndim(x)) {
        /* shape is read only as far as x has dims: a normalized shape
         * longer than x cannot match, and its array may be x's length */
        tg_set_error(TG_ESHAPE, "tg_layer_norm: normalized shape of %d dims"
                     " is longer than x, which has %d", ndim, tg_ndim(x));
        return NULL;
    }
    ln_params p = {.ndim = ndim, .eps = eps, .has_w = weight != NULL,
                   .has_b = bias != NULL};
    for (int d = 0; d < ndim; d++)
        p.shape[d] = shape[d];
    tg_tensor *in[3] = {x, weight ? weight : bias, weight ? bias : NULL};
    int n = 1 + (weight != NULL) + (bias != NULL);
    return tg_apply(t, &tg__op_layer_norm, n, in, &p);
}
