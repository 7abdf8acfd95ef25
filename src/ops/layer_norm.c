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
 * between the two formulas row by row in the same way (ln_torch_gx).
 */
#include "tapegrad/ops.h"
#include "tapegrad/sequence.h"

#include "ops/builtin.h"
#include "ops/layer_norm_rows.h"
#include "tensor/element.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct ln_params {
    int ndim;                     /* normalised dims: x's last ndim */
    int64_t shape[TG_MAX_DIMS];   /* their sizes */
    double eps;
    bool has_w, has_b;            /* in[1] is w if has_w; b follows */
} ln_params;

typedef struct ln_saved {
    double *mu, *rstd;            /* per row */
} ln_saved;

/* The size of one row (the normalised part), and the number of rows. */
static int64_t row_size(const ln_params *p)
{
    int64_t n = 1;
    for (int d = 0; d < p->ndim; d++)
        n *= p->shape[d];
    return n;
}

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
    int64_t n = row_size(p), rows = n ? tg_numel(x) / n : 0;
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
    int64_t n = row_size(p), rows = n ? tg_numel(x) / n : 0;
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

/*
 * tg__ln_backward_row_torch's formula with ops, on rows of x (rows, n),
 * gh = g w and rstd (rows, 1), all f64:
 *
 *     ds = sum(gh x),  db = sum(gh),  b = (db mu - ds) rstd^3 / n,
 *     c  = -b mu - db rstd / n,       gx = rstd gh + b x + c
 */
static tg_tensor *ln_torch_gx(tg_tape *t, tg_tensor *x, tg_tensor *gh,
                              tg_tensor *rstd, int64_t n)
{
    tg_tensor *mu = tg_mean_axis(t, x, 1, true);
    tg_tensor *ds = tg_sum_axis(t, tg_mul(t, gh, x), 1, true);
    tg_tensor *db = tg_sum_axis(t, gh, 1, true);
    tg_tensor *r3n = tg_mul_scalar(t, tg_pow(t, rstd, 3.0), 1.0 / (double)n);
    tg_tensor *b = tg_mul(t, tg_sub(t, tg_mul(t, db, mu), ds), r3n);
    tg_tensor *c = tg_sub(t, tg_neg(t, tg_mul(t, b, mu)),
                          tg_mul_scalar(t, tg_mul(t, db, rstd),
                                        1.0 / (double)n));
    return tg_add(t, tg_add(t, tg_mul(t, rstd, gh), tg_mul(t, b, x)), c);
}

/*
 * The same derivative with ops, x seen as (rows, n): xhat and rstd are
 * recomputed from x by ops so that the gradient has a history in x.
 */
static int layer_norm_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                   const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    const ln_params *p = c->params;
    tg_tensor *x = c->in[0], *w = p->has_w ? c->in[1] : NULL;
    int64_t n = row_size(p), rows = n ? tg_numel(x) / n : 0;
    int64_t flat[2] = {rows, n}, wflat[2] = {1, n};
    /* in double, as the forward: an f32 row's squared deviations (up to
     * 1e77) overflow float but not double */
    tg_dtype dt = tg_dtype_of(x);
    tg_tensor *x2 = tg_cast(t, tg_reshape(t, x, 2, flat), TG_F64);
    tg_tensor *g2 = tg_cast(t, tg_reshape(t, gy, 2, flat), TG_F64);
    tg_tensor *xc = tg_sub(t, x2, tg_mean_axis(t, x2, 1, true));
    tg_tensor *var = tg_mean_axis(t, tg_mul(t, xc, xc), 1, true);
    tg_tensor *rstd = tg_pow(t, tg_add_scalar(t, var, p->eps), -0.5);
    /* NaN where the variance overflowed, as the forward's tg__ln_rstd */
    rstd = tg_where(t, tg_eq_scalar(t, var, INFINITY),
                    tg_scalar(t, TG_F64, NAN), rstd);
    tg_tensor *xh = tg_mul(t, xc, rstd);
    if (want[0]) {
        tg_tensor *gh = w ? tg_mul(t, g2, tg_cast(t, tg_reshape(t, w, 2,
                                                                wflat),
                                                  TG_F64))
                          : g2;
        tg_tensor *m1 = tg_mean_axis(t, gh, 1, true);
        tg_tensor *m2 = tg_mean_axis(t, tg_mul(t, gh, xh), 1, true);
        tg_tensor *d = tg_sub(t, tg_sub(t, gh, m1), tg_mul(t, xh, m2));
        /* rows whose means are not finite take PyTorch's formula, as
         * backward_row does, so NaN and +-inf land where they do there */
        tg_tensor *finite = tg_lt_scalar(
            t, tg_maximum(t, tg_abs(t, m1), tg_abs(t, m2)), INFINITY);
        tg_tensor *gxr = tg_where(t, finite, tg_mul(t, rstd, d),
                                  ln_torch_gx(t, x2, gh, rstd, n));
        gx[0] = tg_reshape(t, tg_cast(t, gxr, dt), tg_ndim(x), tg_shape(x));
        if (gx[0] == NULL)
            return tg_last_status();
    }
    if (p->has_w && want[1]) {
        tg_tensor *s = tg_cast(t, tg_sum_axis(t, tg_mul(t, g2, xh), 0, false),
                               dt);
        gx[1] = tg_reshape(t, s, p->ndim, p->shape);
        if (gx[1] == NULL)
            return tg_last_status();
    }
    int kb = p->has_w ? 2 : 1;
    if (p->has_b && want[kb]) {
        gx[kb] = tg_reshape(t, tg_cast(t, tg_sum_axis(t, g2, 0, false), dt),
                            p->ndim, p->shape);
        if (gx[kb] == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

const tg_op tg__op_layer_norm = {
    .name = "layer_norm",
    .arity = -1,
    .params_size = sizeof(ln_params),
    .forward = layer_norm_forward,
    .backward = layer_norm_backward,
    .backward_ops = layer_norm_backward_ops,
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
