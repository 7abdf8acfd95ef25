/*
 * histogram.c — binned counts, as numpy.histogram computes them.
 *
 * Written on the public API only (tapegrad.h). The bin of a value x is
 * NumPy's: a first guess floor((x - lo) / (hi - lo) * bins), the value hi
 * moved into the last bin, and then the guess corrected by comparing x
 * with the edges themselves, since the division can be an ulp off near an
 * edge. So a value on an edge is always counted in the bin that edge
 * opens, as NumPy counts it.
 */
#include <tapegrad.h>
#include <tapegrad/histogram.h>

#include <math.h>
#include <stdio.h>

#define FN "tg_histogram"
#define FN_TENSOR "tg_histogram_tensor"

/* The outputs and the bin count, checked before anything is written. */
static int check_outputs(const char *fn, int bins, const int64_t *counts,
                         const double *edges)
{
    if (bins < 1 || bins > TG_HISTOGRAM_MAX_BINS)
        return tg_set_error(TG_EINVAL, "%s: bins is %d, need 1 to %d", fn,
                            bins, TG_HISTOGRAM_MAX_BINS);
    if (counts == NULL || edges == NULL)
        return tg_set_error(TG_EINVAL, "%s: %s is NULL", fn,
                            counts == NULL ? "counts" : "edges");
    return TG_OK;
}

/* The range given, checked as NumPy checks it. */
static int given_range(const char *fn, const double *range, double *lo,
                       double *hi)
{
    if (!isfinite(range[0]) || !isfinite(range[1]))
        return tg_set_error(TG_EINVAL, "%s: the range [%g, %g] is not "
                            "finite", fn, range[0], range[1]);
    if (range[0] > range[1])
        return tg_set_error(TG_EINVAL, "%s: the range [%g, %g] has its "
                            "lower end above the upper one", fn, range[0],
                            range[1]);
    *lo = range[0];
    *hi = range[1];
    return TG_OK;
}

/* The edges bins equal bins over [lo, hi] as numpy.linspace makes them:
 * i * step + lo, the last one exactly hi. */
static int make_edges(const char *fn, double lo, double hi, int bins,
                      double *edges)
{
    if (lo == hi) {
        lo -= 0.5;
        hi += 0.5;
    }
    double step = (hi - lo) / bins;
    if (!isfinite(hi - lo))
        return tg_set_error(TG_ENUMERIC, "%s: the range [%g, %g] is wider "
                            "than the largest double", fn, lo, hi);
    for (int i = 0; i < bins; i++)
        edges[i] = step != 0 ? i * step + lo : i / (double)bins * (hi - lo)
                                                   + lo;
    edges[bins] = hi;
    return TG_OK;
}

/* The bin of x, which lies in [edges[0], edges[bins]]. */
static int bin_of(double x, int bins, const double *edges)
{
    double lo = edges[0], hi = edges[bins];
    double guess = (x - lo) / (hi - lo) * bins;
    int i = guess >= bins ? bins : (int)guess;
    if (i == bins)
        i--;
    if (x < edges[i])
        i--;
    else if (i != bins - 1 && x >= edges[i + 1])
        i++;
    return i;
}

/* The counting itself, over values read through get(src, k). */
typedef double (*getter)(const void *src, int64_t k);

static int64_t count(const void *src, getter get, int64_t n, int bins,
                     int64_t *counts, const double *edges)
{
    int64_t inside = 0;
    for (int i = 0; i < bins; i++)
        counts[i] = 0;
    for (int64_t k = 0; k < n; k++) {
        double x = get(src, k);
        if (!(x >= edges[0] && x <= edges[bins]))
            continue;   /* outside, or NaN */
        counts[bin_of(x, bins, edges)]++;
        inside++;
    }
    return inside;
}

/* The smallest and largest of the values, which must all be finite. */
static int auto_range(const char *fn, const void *src, getter get, int64_t n,
                      double *lo, double *hi)
{
    if (n == 0)
        return tg_set_error(TG_EINVAL, "%s: no values and no range: give a "
                            "range for an empty histogram", fn);
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t k = 0; k < n; k++) {
        double x = get(src, k);
        if (!isfinite(x))
            return tg_set_error(TG_EINVAL, "%s: value %lld is %g, so the "
                                "range from the values is not finite: give "
                                "a range", fn, (long long)k, x);
        *lo = fmin(*lo, x);
        *hi = fmax(*hi, x);
    }
    return TG_OK;
}

static int64_t histogram(const char *fn, const void *src, getter get,
                         int64_t n, int bins, const double *range,
                         int64_t *counts, double *edges)
{
    double lo = 0, hi = 0;
    int rc = range != NULL ? given_range(fn, range, &lo, &hi)
                           : auto_range(fn, src, get, n, &lo, &hi);
    if (rc == TG_OK)
        rc = make_edges(fn, lo, hi, bins, edges);
    if (rc != TG_OK)
        return rc;
    return count(src, get, n, bins, counts, edges);
}

static double get_f64(const void *src, int64_t k)
{
    return ((const double *)src)[k];
}

static double get_f32(const void *src, int64_t k)
{
    return ((const float *)src)[k];
}

int64_t tg_histogram(int64_t n, const double *values, int bins,
                     const double *range, int64_t *counts, double *edges)
{
    int rc = check_outputs(FN, bins, counts, edges);
    if (rc != TG_OK)
        return rc;
    if (n < 0)
        return tg_set_error(TG_EINVAL, FN ": n is %lld", (long long)n);
    if (values == NULL && n > 0)
        return tg_set_error(TG_EINVAL, FN ": values is NULL");
    return histogram(FN, values, get_f64, n, bins, range, counts, edges);
}

int64_t tg_histogram_tensor(const tg_tensor *x, int bins, const double *range,
                            int64_t *counts, double *edges)
{
    if (x == NULL) {
        if (tg_last_status() == TG_OK)
            return tg_set_error(TG_EINVAL, FN_TENSOR ": x is NULL");
        return tg_last_status();   /* an earlier failure, message kept */
    }
    int rc = check_outputs(FN_TENSOR, bins, counts, edges);
    if (rc != TG_OK)
        return rc;
    bool f64 = tg_dtype_of(x) == TG_F64;
    const void *src = f64 ? (const void *)tg_data_f64(x)
                          : (const void *)tg_data_f32(x);
    if (src == NULL) {   /* freed by a reset: say whose call it was */
        char why[256];
        snprintf(why, sizeof why, "%s", tg_last_error());
        return tg_set_error(tg_last_status(), FN_TENSOR ": x: %s", why);
    }
    return histogram(FN_TENSOR, src, f64 ? get_f64 : get_f32, tg_numel(x),
                     bins, range, counts, edges);
}
