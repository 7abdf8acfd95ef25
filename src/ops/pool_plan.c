/*
 * pool_plan.c — the windows of max, average and adaptive average pooling,
 * the linear map P they define (y = P x), its transpose P^T, and both as
 * an op (pool2d_linear) whose derivative is the other: see pool2d.c.
 */
#include "ops/pool_plan.h"

#include "tapegrad/op.h"
#include "tensor/element.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <string.h>

const char *tg__pool_call_name(int kind)
{
    return kind == TG__POOL_MAX   ? "tg_max_pool2d"
           : kind == TG__POOL_AVG ? "tg_avg_pool2d"
                                  : "tg_adaptive_avg_pool2d";
}

/* The window of output row (or column) i along one dimension: [lo, hi)
 * clipped to [0, n), and for AVG the unclipped size (padding included). */
static void window(const tg__pool_plan *pl, int dim, int64_t i, int64_t *lo,
                   int64_t *hi, int64_t *padded)
{
    int64_t n = dim == 0 ? pl->h : pl->w, on = dim == 0 ? pl->oh : pl->ow;
    if (pl->kind == TG__POOL_ADAPTIVE) {
        *lo = i * n / on;
        *hi = ((i + 1) * n + on - 1) / on;
        *padded = *hi - *lo;
        return;
    }
    int64_t start = i * pl->s[dim] - pl->p[dim];
    int64_t end = start + (pl->k[dim] - 1) * pl->d[dim] + 1;
    int64_t pend = end < n + pl->p[dim] ? end : n + pl->p[dim];
    *padded = pend - start;
    *lo = start < 0 ? 0 : start;
    *hi = end < n ? end : n;
}

/* The plan for x and the params, or an error naming the call and shapes. */
int tg__pool_make_plan(const tg_tensor *x, const tg__pool_params *pp,
                     tg__pool_plan *pl)
{
    const char *name = pp->relu ? "tg_relu_max_pool2d"
                                : tg__pool_call_name(pp->kind);
    char sh[128];
    memset(pl, 0, sizeof *pl);
    pl->kind = pp->kind;
    if (x->ndim != 3 && x->ndim != 4)
        return tg_set_error(TG_ESHAPE, "%s: x has shape %s; it must be "
                            "(N, C, H, W) or (C, H, W)", name,
                            tg_shape_str(x, sh, sizeof sh));
    pl->ndim = x->ndim;
    pl->planes = 1;
    for (int i = 0; i < x->ndim - 2; i++) {
        pl->lead[i] = x->shape[i];
        pl->planes *= x->shape[i];
    }
    pl->h = x->shape[x->ndim - 2];
    pl->w = x->shape[x->ndim - 1];
    if (pp->kind == TG__POOL_ADAPTIVE) {
        if (pp->out[0] < 1 || pp->out[1] < 1 || pp->out[0] > (1 << 30) ||
            pp->out[1] > (1 << 30))
            return tg_set_error(TG_EINVAL, "%s: output size (%lld, %lld) for "
                                "x of shape %s; both must be between 1 and "
                                "2^30", name, (long long)pp->out[0],
                                (long long)pp->out[1],
                                tg_shape_str(x, sh, sizeof sh));
        pl->oh = pp->out[0];
        pl->ow = pp->out[1];
        return TG_OK;
    }
    const tg_pool2d_options *o = &pp->o;
    for (int d = 0; d < 2; d++) {
        pl->k[d] = o->kernel[d];
        pl->s[d] = o->stride[d];
        pl->p[d] = o->padding[d];
        pl->d[d] = o->dilation[d];
        if (pl->k[d] < 1 || pl->s[d] < 1 || pl->d[d] < 1 || pl->k[d] > (1 << 20) ||
            pl->s[d] > (1 << 20) || pl->d[d] > (1 << 20))
            return tg_set_error(TG_EINVAL, "%s: kernel (%lld, %lld), stride "
                                "(%lld, %lld), dilation (%lld, %lld); each "
                                "must be between 1 and 2^20", name,
                                (long long)o->kernel[0], (long long)o->kernel[1],
                                (long long)o->stride[0], (long long)o->stride[1],
                                (long long)o->dilation[0],
                                (long long)o->dilation[1]);
        if (pl->p[d] < 0 || pl->p[d] > pl->k[d] / 2)
            return tg_set_error(TG_EINVAL, "%s: padding (%lld, %lld) with "
                                "kernel (%lld, %lld); padding must be between "
                                "0 and half the kernel", name,
                                (long long)o->padding[0],
                                (long long)o->padding[1],
                                (long long)o->kernel[0], (long long)o->kernel[1]);
    }
    if (pp->kind == TG__POOL_AVG && (pl->d[0] != 1 || pl->d[1] != 1))
        return tg_set_error(TG_EINVAL, "%s: dilation (%lld, %lld); average "
                            "pooling has none (it must be 1)", name,
                            (long long)pl->d[0], (long long)pl->d[1]);
    pl->include_pad = o->count_include_pad;
    int64_t span_h = pl->d[0] * (pl->k[0] - 1) + 1;
    int64_t span_w = pl->d[1] * (pl->k[1] - 1) + 1;
    int64_t oh = pl->h + 2 * pl->p[0] - span_h, ow = pl->w + 2 * pl->p[1] - span_w;
    if (oh < 0 || ow < 0)
        return tg_set_error(TG_ESHAPE, "%s: x has shape %s, kernel (%lld, "
                            "%lld), padding (%lld, %lld), dilation (%lld, "
                            "%lld); the window does not fit and the output "
                            "would be empty", name,
                            tg_shape_str(x, sh, sizeof sh),
                            (long long)pl->k[0], (long long)pl->k[1],
                            (long long)pl->p[0], (long long)pl->p[1],
                            (long long)pl->d[0], (long long)pl->d[1]);
    pl->oh = oh / pl->s[0] + 1;
    pl->ow = ow / pl->s[1] + 1;
    return TG_OK;
}

tg_tensor *tg__pool_empty_out(tg_tape *t, const tg__pool_plan *pl, tg_dtype dt,
                            bool pooled)
{
    int64_t shape[4];
    int nd = pl->ndim;
    for (int i = 0; i < nd - 2; i++)
        shape[i] = pl->lead[i];
    shape[nd - 2] = pooled ? pl->oh : pl->h;
    shape[nd - 1] = pooled ? pl->ow : pl->w;
    return tg_empty(t, dt, nd, shape);
}

/* 1 / divisor of AVG or ADAPTIVE window (i, j). */
static double inv_divisor(const tg__pool_plan *pl, int64_t i, int64_t j,
                          int64_t h0, int64_t h1, int64_t w0, int64_t w1)
{
    int64_t ph, pw, a, b;
    if (pl->kind == TG__POOL_AVG && pl->include_pad) {
        window(pl, 0, i, &a, &b, &ph);
        window(pl, 1, j, &a, &b, &pw);
        return 1.0 / (double)(ph * pw);
    }
    return 1.0 / (double)((h1 - h0) * (w1 - w0));
}

/* MAX's P x (y[o] = x[arg o]) or P^T x (y[arg o] += x[o], y zeroed
 * first), typed: one load and one store per output element. arg o < 0:
 * window o holds padding only (see tg__pool_find_argmax), y[o] = -inf. */
static void max_apply_f32(const tg__pool_plan *pl, const float *x, float *y,
                          bool pooled)
{
    int64_t hw = pl->h * pl->w, ohw = pl->oh * pl->ow;
    for (int64_t pn = 0; pn < pl->planes; pn++) {
        const int64_t *arg = pl->arg + pn * ohw;
        if (pooled)
            for (int64_t o = 0; o < ohw; o++)
                y[pn * ohw + o] = arg[o] < 0 ? (float)-INFINITY
                                             : x[pn * hw + arg[o]];
        else
            for (int64_t o = 0; o < ohw; o++)
                if (arg[o] >= 0)
                    y[pn * hw + arg[o]] += x[pn * ohw + o];
    }
}

static void max_apply_f64(const tg__pool_plan *pl, const double *x,
                          double *y, bool pooled)
{
    int64_t hw = pl->h * pl->w, ohw = pl->oh * pl->ow;
    for (int64_t pn = 0; pn < pl->planes; pn++) {
        const int64_t *arg = pl->arg + pn * ohw;
        if (pooled)
            for (int64_t o = 0; o < ohw; o++)
                y[pn * ohw + o] = arg[o] < 0 ? (double)-INFINITY
                                             : x[pn * hw + arg[o]];
        else
            for (int64_t o = 0; o < ohw; o++)
                if (arg[o] >= 0)
                    y[pn * hw + arg[o]] += x[pn * ohw + o];
    }
}

/* y = P x (pooled = true) or y = P^T x (pooled = false: x has the pooled
 * shape, y the input's), for a plan whose MAX argmax is known. */
void tg__pool_apply(const tg__pool_plan *pl, const tg_tensor *x, tg_tensor *y,
                       bool pooled)
{
    int64_t hw = pl->h * pl->w, ohw = pl->oh * pl->ow;
    if (pl->code != NULL) {
        tg__pool_max2x2_apply(pl, x, y, pooled);
        return;
    }
    if (!pooled)
        memset(y->data, 0, (size_t)y->numel * (y->dtype == TG_F32 ? 4 : 8));
    if (pl->kind == TG__POOL_MAX && x->dtype == TG_F32) {
        max_apply_f32(pl, x->data, y->data, pooled);
        return;
    }
    if (pl->kind == TG__POOL_MAX) {
        max_apply_f64(pl, x->data, y->data, pooled);
        return;
    }
    /* AVG: each window's mean, or the mean's gradient spread back */
    for (int64_t pn = 0; pn < pl->planes; pn++) {
        int64_t in0 = pn * hw, out0 = pn * ohw;
        for (int64_t i = 0; i < pl->oh; i++)
            for (int64_t j = 0; j < pl->ow; j++) {
                int64_t o = out0 + i * pl->ow + j;
                int64_t h0, h1, w0, w1, pad;
                window(pl, 0, i, &h0, &h1, &pad);
                window(pl, 1, j, &w0, &w1, &pad);
                double inv = inv_divisor(pl, i, j, h0, h1, w0, w1);
                if (pooled) {
                    double s = 0;
                    for (int64_t a = h0; a < h1; a++)
                        for (int64_t b = w0; b < w1; b++)
                            s += tg__get(x, in0 + a * pl->w + b);
                    tg__set(y, o, s * inv);
                } else {
                    double g = tg__get(x, o) * inv;
                    for (int64_t a = h0; a < h1; a++)
                        for (int64_t b = w0; b < w1; b++) {
                            int64_t e = in0 + a * pl->w + b;
                            tg__set(y, e, tg__get(y, e) + g);
                        }
                }
            }
    }
}

/* MAX: find each window's argmax (PyTorch's rule: the first maximum in
 * row-major order, a NaN replacing whatever came before). A dilated
 * window can step over every row or column of x and hold padding only
 * (x 1 high, kernel 2, padding 1, dilation 2 reads rows -1 and 1): its
 * arg is -1, its output -inf and it passes no gradient, as PyTorch. */
void tg__pool_find_argmax(tg__pool_plan *pl, const tg_tensor *x)
{
    int64_t hw = pl->h * pl->w, ohw = pl->oh * pl->ow;
    for (int64_t pn = 0; pn < pl->planes; pn++)
        for (int64_t i = 0; i < pl->oh; i++)
            for (int64_t j = 0; j < pl->ow; j++) {
                int64_t h0 = i * pl->s[0] - pl->p[0], w0 = j * pl->s[1] - pl->p[1];
                int64_t best = -1;
                double bv = -INFINITY;
                for (int64_t a = 0; a < pl->k[0]; a++) {
                    int64_t r = h0 + a * pl->d[0];
                    if (r < 0 || r >= pl->h)
                        continue;
                    for (int64_t b = 0; b < pl->k[1]; b++) {
                        int64_t col = w0 + b * pl->d[1];
                        if (col < 0 || col >= pl->w)
                            continue;
                        double v = tg__get(x, pn * hw + r * pl->w + col);
                        if (best < 0 || v > bv || isnan(v)) {
                            best = r * pl->w + col;
                            bv = v;
                        }
                    }
                }
                pl->arg[pn * ohw + i * pl->ow + j] = best;
            }
}

/* ---- pool2d_linear: P or P^T as an op, for the recorded derivative ---- */

typedef struct linear_params {
    const tg__pool_plan *plan;   /* in the memory of the tape that pooled */
    bool transpose;          /* P^T: pooled shape in, input shape out */
} linear_params;

static tg_tensor *linear_forward(tg_op_ctx *c)
{
    const linear_params *p = c->params;
    tg_tensor *y = tg__pool_empty_out(c->tape, p->plan, c->in[0]->dtype, !p->transpose);
    if (y != NULL)
        tg__pool_apply(p->plan, c->in[0], y, !p->transpose);
    return y;
}

static int linear_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const linear_params *p = c->params;
    if (gx[0] != NULL)
        tg__pool_apply(p->plan, gy, gx[0], p->transpose);
    return TG_OK;
}

static int linear_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx);

/* Not registered: an implementation detail of the three pooling ops'
 * recorded derivatives, checked through theirs (tests/test_ops_pool.c). */
static const tg_op pool2d_linear_op = {
    .name = "pool2d_linear",
    .arity = 1,
    .params_size = sizeof(linear_params),
    .forward = linear_forward,
    .backward = linear_backward,
    .backward_ops = linear_backward_ops,
};

static int linear_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    const linear_params *p = c->params;
    linear_params q = {p->plan, !p->transpose};
    gx[0] = tg_apply(c->tape, &pool2d_linear_op, 1, &gy, &q);
    return tg_made(gx[0]);
}

tg_tensor *tg__pool_linear(tg_tape *t, const tg__pool_plan *plan,
                           tg_tensor *x, bool transpose)
{
    linear_params q = {plan, transpose};
    return tg_apply(t, &pool2d_linear_op, 1, &x, &q);
}

int64_t tg__pool_max_piece(const tg__pool_plan *pl, const tg_tensor *x,
                           double best, int64_t o, bool relu)
{
    int64_t ohw = pl->oh * pl->ow, pn = o / ohw, i = o % ohw / pl->ow,
            j = o % pl->ow, in0 = pn * pl->h * pl->w;
    int64_t arg = tg__pool_arg(pl, o);
    bool flat = arg < 0 || (relu && !(best > 0)); /* y constant in x */
    if (flat && !relu)
        return pl->h * pl->w;
    int64_t h0 = i * pl->s[0] - pl->p[0], w0 = j * pl->s[1] - pl->p[1];
    for (int64_t a = 0; a < pl->k[0]; a++)
        for (int64_t b = 0; b < pl->k[1]; b++) {
            int64_t r = h0 + a * pl->d[0], col = w0 + b * pl->d[1];
            if (r < 0 || r >= pl->h || col < 0 || col >= pl->w)
                continue;
            int64_t e = r * pl->w + col;
            double v = tg__get(x, in0 + e);
            if (flat ? v == 0 : e != arg && v == best)
                return TG_ON_KINK;
        }
    return flat ? pl->h * pl->w : arg;
}
