/*
 * svg_frame.c — where a plot's data goes in the picture: the data range,
 * padded; round ticks and their labels on both axes; and margins wide
 * enough for those labels (see svg_plot.h).
 */
#include "io/svg_plot.h"

#include <float.h>

/* The smallest and largest finite coordinates of the drawable points. */
static bool data_range(const tg_plot_series *series, int n, double *x0,
                       double *x1, double *y0, double *y1)
{
    *x0 = *y0 = INFINITY;
    *x1 = *y1 = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int64_t i = 0; i < series[k].n; i++) {
            if (!drawable(&series[k], i))
                continue;
            *x0 = fmin(*x0, series[k].x[i]);
            *x1 = fmax(*x1, series[k].x[i]);
            *y0 = fmin(*y0, series[k].y[i]);
            *y1 = fmax(*y1, series[k].y[i]);
        }
    return *x0 <= *x1;
}

/*
 * Widen [lo, hi] by 5% on each side (a single value to +-50% of itself, or
 * +-1 around 0), staying within the finite doubles, so that it maps to
 * pixels without dividing by zero.
 */
static void pad_range(double *lo, double *hi)
{
    double span = *hi / 2 - *lo / 2;   /* halves: hi - lo may overflow */
    if (span == 0)
        span = fabs(*lo) / 2;
    else
        span *= 2 * 0.05;
    *lo = fmax(*lo - span, -DBL_MAX);
    *hi = fmin(*hi + span, DBL_MAX);
    if (!(*hi / 2 - *lo / 2 > 0)) {   /* 0, or subnormals too close */
        *lo -= 1;
        *hi += 1;
    }
}

/* The decimal exponent of n x 10^e (n != 0): 2 for 250 x 10^0. */
static int decimal_exponent(long long n, int e)
{
    for (unsigned long long m = (unsigned long long)llabs(n); m >= 10; m /= 10)
        e++;
    return e;
}

/*
 * The label of the tick at n x 10^e, written from those integers: "0.3",
 * not "0.30000000000000004"; in exponent form ("2.5e6", "1e\u22125") when
 * sci, and with a real minus sign (U+2212) as typesetters use.
 */
static void tick_label(char *out, size_t size, long long n, int e, bool sci)
{
    if (n == 0) {
        snprintf(out, size, "0");
        return;
    }
    const char *minus = "\xe2\x88\x92";
    const char *sign = n < 0 ? minus : "";
    unsigned long long m = (unsigned long long)llabs(n);
    for (; m % 10 == 0; m /= 10)
        e++;
    char d[24];
    int nd = snprintf(d, sizeof d, "%llu", m);
    int x = nd - 1 + e;
    if (sci)
        snprintf(out, size, "%s%c%s%se%s%d", sign, d[0], nd > 1 ? "." : "",
                 d + 1, x < 0 ? minus : "", abs(x));
    else if (e >= 0)
        snprintf(out, size, "%s%s%.*s", sign, d, e, "000000");
    else if (nd + e > 0)
        snprintf(out, size, "%s%.*s.%s", sign, nd + e, d, d + nd + e);
    else
        snprintf(out, size, "%s0.%.*s%s", sign, -(nd + e), "0000", d);
}

/*
 * Round ticks in [lo, hi]: a step of m = 1, 2 or 5 times 10^e chosen for
 * about six ticks, and ticks at the multiples k of the step that fall
 * inside. Each tick's value is k*m x 10^e as strtod reads it, the double
 * nearest the round number. The labels of an axis are all positional, or
 * all in exponent form when its largest is 1e6 or more or below 1e-4.
 */
static void make_ticks(double lo, double hi, ticks *t)
{
    t->n = 0;
    double raw = (hi / 2 - lo / 2) / 3;   /* (hi - lo) / 6 */
    if (!(raw > 0))
        return;
    int e = (int)floor(log10(raw));
    double mag = pow(10, e);
    int m = raw <= 1.5 * mag ? 1 : raw <= 3.5 * mag ? 2 : raw <= 7.5 * mag ?
            5 : 10;
    if (m == 10) {
        m = 1;
        e++;
    }
    double step = m * pow(10, e);
    double k0 = ceil(lo / step), k1 = floor(hi / step);
    if (!(fabs(k0) < 1e15 && fabs(k1) < 1e15 && k1 - k0 < MAX_TICKS))
        return;   /* a tiny range far from 0: no tick labels would fit */
    long long first = (long long)k0 * m, last = (long long)k1 * m;
    long long widest = llabs(first) > llabs(last) ? first : last;
    int x = widest != 0 ? decimal_exponent(widest, e) : 0;
    bool sci = x >= 6 || x < -4;
    for (long long k = (long long)k0; k <= (long long)k1; k++) {
        char num[48];
        snprintf(num, sizeof num, "%llde%d", k * m, e);
        t->v[t->n] = strtod(num, NULL);
        tick_label(t->label[t->n], sizeof t->label[0], k * m, e, sci);
        t->n++;
    }
}

/* Ranges and ticks, then margins wide enough for the labels. */
void tg__svg_make_frame(frame *f, const tg_plot *plot, double w, double h,
                        const tg_plot_series *series, int n)
{
    if (!data_range(series, n, &f->x0, &f->x1, &f->y0, &f->y1)) {
        f->x0 = f->y0 = 0;
        f->x1 = f->y1 = 1;
    }
    pad_range(&f->x0, &f->x1);
    pad_range(&f->y0, &f->y1);
    make_ticks(f->x0, f->x1, &f->xt);
    make_ticks(f->y0, f->y1, &f->yt);
    f->label_w = 0;
    for (int i = 0; i < f->yt.n; i++)
        f->label_w = fmax(f->label_w, text_width(f->yt.label[i]));
    double left = 20 + f->label_w + (plot->ylabel != NULL ? 22 : 0);
    double top = plot->title != NULL ? 44 : 16;
    double bottom = 32 + (plot->xlabel != NULL ? 24 : 0);
    f->left = left;
    f->top = top;
    f->width = w - left - 20;
    f->height = h - top - bottom;
}
