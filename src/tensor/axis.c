/*
 * axis.c — seeing a tensor around one axis, and the lane reductions that
 * sum, mean, max, min, logsumexp and the softmaxes share.
 *
 * A tensor of shape (d0, ..., d[a-1], n, d[a+1], ...) reduced over axis a
 * is (outer, n, inner) with outer = d0 * ... * d[a-1] and inner the product
 * of the dims after a. Every lane (the n values at one outer and one inner
 * position) is reduced on its own, and lanes are numbered in the order of
 * the reduced output, so an op just loops j over outer * inner lanes.
 */
#include "tensor/axis.h"
#include "tensor/element.h"
#include "tensor/lane_f32.h"

#include <math.h>
#include <stdio.h>

int tg__axis_resolve(const char *fn, const tg_tensor *x, int axis, int *out)
{
    int nd = x->ndim > 0 ? x->ndim : 1; /* a scalar acts as shape (1,) */
    if (axis < -nd || axis >= nd) {
        char s[128];
        return tg_set_error(TG_EINVAL, "%s: axis %d is out of range for "
                            "shape %s", fn, axis, tg_shape_str(x, s, sizeof s));
    }
    *out = axis < 0 ? axis + nd : axis;
    return TG_OK;
}

tg__lanes tg__lanes_around(const tg_tensor *x, int axis)
{
    tg__lanes l = {1, 1, 1};
    for (int d = 0; d < x->ndim; d++) {
        if (d < axis)
            l.outer *= x->shape[d];
        else if (d == axis)
            l.n = x->shape[d];
        else
            l.inner *= x->shape[d];
    }
    return l;
}

tg__lanes tg__lanes_all(const tg_tensor *x)
{
    return (tg__lanes){1, x->numel, 1};
}

int tg__reduced_shape(const tg_tensor *x, int axis, bool keepdim,
                      int64_t *shape)
{
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != axis)
            shape[nd++] = x->shape[d];
        else if (keepdim)
            shape[nd++] = 1;
    }
    return nd;
}

tg__lanes tg__reduction_lanes(const tg_op_ctx *c)
{
    const tg__axis_params *p = c->params;
    const tg_tensor *x = c->in[0];
    if (p == NULL)
        return tg__lanes_all(x);
    int axis = p->axis < 0 ? p->axis + (x->ndim > 0 ? x->ndim : 1) : p->axis;
    return tg__lanes_around(x, axis);
}

tg_tensor *tg__reduction_begin(tg_op_ctx *c, tg__lanes *l)
{
    const tg__axis_params *p = c->params;
    const tg_tensor *x = c->in[0];
    if (p == NULL) {
        *l = tg__lanes_all(x);
        return tg_empty(c->tape, x->dtype, 0, NULL);
    }
    char fn[64];
    int axis = 0;
    snprintf(fn, sizeof fn, "tg_%s", c->op->name);
    if (tg__axis_resolve(fn, x, p->axis, &axis) != TG_OK)
        return NULL;
    int64_t shape[TG_MAX_DIMS];
    int nd = tg__reduced_shape(x, axis, p->keepdim, shape);
    *l = tg__lanes_around(x, axis);
    return tg_empty(c->tape, x->dtype, nd, shape);
}

/* Pairwise sums of n values stepping by stride, one per dtype. */
static double sum_f32(const float *v, int64_t n, int64_t stride)
{
    if (n > 64) {
        int64_t h = n / 2;
        return sum_f32(v, h, stride) + sum_f32(v + h * stride, n - h, stride);
    }
    double s0 = 0, s1 = 0;
    int64_t k = 0;
    for (; k + 2 <= n; k += 2) {
        s0 += v[k * stride];
        s1 += v[(k + 1) * stride];
    }
    if (k < n)
        s0 += v[k * stride];
    return s0 + s1;
}

static double sum_f64(const double *v, int64_t n, int64_t stride)
{
    if (n > 64) {
        int64_t h = n / 2;
        return sum_f64(v, h, stride) + sum_f64(v + h * stride, n - h, stride);
    }
    double s0 = 0, s1 = 0;
    int64_t k = 0;
    for (; k + 2 <= n; k += 2) {
        s0 += v[k * stride];
        s1 += v[(k + 1) * stride];
    }
    if (k < n)
        s0 += v[k * stride];
    return s0 + s1;
}

double tg__lane_sum(const tg_tensor *x, const tg__lanes *l, int64_t j)
{
    int64_t base = tg__lane_base(l, j);
    if (x->dtype == TG_F32)
        return sum_f32((const float *)x->data + base, l->n, l->inner);
    return sum_f64((const double *)x->data + base, l->n, l->inner);
}

/*
 * One pass finds the first extreme (a NaN beats everything, as in
 * PyTorch's max and min), a second counts the elements equal to it.
 */
int64_t tg__lane_arg(const tg_tensor *x, const tg__lanes *l, int64_t j,
                     bool want_max, int64_t *ties)
{
    int64_t base = tg__lane_base(l, j);
    int64_t arg = 0;
    double best = tg__get(x, base);
    for (int64_t k = 1; k < l->n && !isnan(best); k++) {
        double v = tg__get(x, base + k * l->inner);
        if (isnan(v) || (want_max ? v > best : v < best)) {
            best = v;
            arg = k;
        }
    }
    int64_t count = 0;
    for (int64_t k = arg; k < l->n; k++) {
        double v = tg__get(x, base + k * l->inner);
        count += isnan(best) ? isnan(v) : v == best;
    }
    *ties = count;
    return arg;
}

double tg__lane_max(const tg_tensor *x, const tg__lanes *l, int64_t j)
{
    int64_t base = tg__lane_base(l, j);
    if (tg__lane_f32(x, l))
        return tg__f32_max((const float *)x->data + base, l->n);
    double m = -INFINITY;
    for (int64_t k = 0; k < l->n; k++) {
        double v = tg__get(x, base + k * l->inner);
        if (isnan(v))
            return v;
        m = v > m ? v : m;
    }
    return m;
}

/*
 * logsumexp(v) = m + log(sum(exp(v - m))) with m the largest v, so the
 * biggest term is exp(0) = 1 and nothing overflows. PyTorch shifts by 0
 * when m is infinite, which keeps -inf - -inf = NaN out: all -inf gives
 * log(0) = -inf, and a +inf gives +inf.
 */
/* The sum of exp(v - shift) over lane j: vectorised for a contiguous f32
 * lane (src/tensor/lane_f32.c), one libm exp per element otherwise. */
static double lane_sum_exp(const tg_tensor *x, const tg__lanes *l,
                           int64_t j, double shift)
{
    int64_t base = tg__lane_base(l, j);
    if (tg__lane_f32(x, l))
        return tg__f32_sum_exp((const float *)x->data + base, l->n, shift);
    double s = 0;
    for (int64_t k = 0; k < l->n; k++)
        s += exp(tg__get(x, base + k * l->inner) - shift);
    return s;
}

double tg__lane_logsumexp(const tg_tensor *x, const tg__lanes *l, int64_t j)
{
    double m = tg__lane_max(x, l, j);
    if (isinf(m))
        m = 0;
    return m + log(lane_sum_exp(x, l, j, m));
}

/* x may be a NULL gradient slot (input needs no gradient): nothing to do. */
void tg__lane_fill(tg_tensor *x, const tg__lanes *l, int64_t j, double v)
{
    if (x == NULL)
        return;
    int64_t base = tg__lane_base(l, j);
    for (int64_t k = 0; k < l->n; k++)
        tg__set(x, base + k * l->inner, v);
}

void tg__lane_select_grad(tg_tensor *gx, const tg_tensor *x,
                          const tg__lanes *l, int64_t j, bool want_max,
                          bool split_ties, double g)
{
    if (gx == NULL) /* a NULL gradient slot: no gradient to select */
        return;
    int64_t ties, base = tg__lane_base(l, j);
    int64_t arg = tg__lane_arg(x, l, j, want_max, &ties);
    tg__lane_fill(gx, l, j, 0.0);
    if (!split_ties) {
        tg__set(gx, base + arg * l->inner, g);
        return;
    }
    double best = tg__get(x, base + arg * l->inner);
    for (int64_t k = arg; k < l->n; k++) {
        double v = tg__get(x, base + k * l->inner);
        if (isnan(best) ? isnan(v) : v == best)
            tg__set(gx, base + k * l->inner, g / (double)ties);
    }
}

void tg__lane_softmax_stats(const tg_tensor *x, const tg__lanes *l,
                            int64_t j, double *m, double *s)
{
    *m = tg__lane_max(x, l, j);
    *s = lane_sum_exp(x, l, j, *m);
}
