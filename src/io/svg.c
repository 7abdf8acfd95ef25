/*
 * svg.c — line plots as standalone SVG 1.1 files.
 *
 * The picture: a title above a framed plot area; tick marks, grid lines and
 * labels at round numbers (1, 2 or 5 times a power of ten) on both axes;
 * axis labels; one line per series in its own colour; a legend in the
 * corner of the plot area that hides the fewest points. The data range is
 * padded by 5% on each side so no line runs along the frame.
 *
 * All numbers in the file are written from integers (pixels in hundredths,
 * tick labels from their round decimal digits), never by printf's "%f", so
 * the current locale's decimal comma cannot get in. All text is XML-escaped; characters XML 1.0
 * forbids (most control characters, malformed UTF-8) become U+FFFD.
 */
#include "tapegrad/io.h"

#include "io/atomic_file.h"
#include "io/utf8.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FN "tg_write_svg_plot"

#define DEFAULT_WIDTH 640
#define DEFAULT_HEIGHT 420
#define MIN_SIZE 160
#define MAX_SIZE 20000
#define MAX_TICKS 16
#define FONT_SIZE 12     /* ticks, axis labels and legend */
#define TITLE_SIZE 16
#define CHAR_WIDTH 7.6   /* a generous average advance at FONT_SIZE */

/* matplotlib's "tab10" palette: distinct, and readable on white. */
static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define PALETTE_SIZE (sizeof palette / sizeof palette[0])

/* Round values along one axis: ticks v[i] with their labels. */
typedef struct ticks {
    int n;
    double v[MAX_TICKS];
    char label[MAX_TICKS][64];
} ticks;

/* Where things go: the plot area in pixels and the data range it shows. */
typedef struct frame {
    double left, top, width, height;   /* the plot area */
    double label_w;                    /* the widest y tick label */
    double x0, x1, y0, y1;             /* data at its left/right/bottom/top */
    ticks xt, yt;
} frame;

/* A rectangle in pixels, for the legend. */
typedef struct box {
    double x, y, w, h;
} box;

/* ---- Checking the arguments */

static int check_series(const tg_plot_series *series, int n)
{
    if (series == NULL)
        return tg_set_error(TG_EINVAL, FN ": series is NULL");
    if (n < 1)
        return tg_set_error(TG_EINVAL, FN ": n is %d, need at least 1", n);
    for (int i = 0; i < n; i++) {
        const tg_plot_series *s = &series[i];
        if (s->n < 0)
            return tg_set_error(TG_EINVAL, FN ": series[%d] has %lld "
                                "points", i, (long long)s->n);
        if (s->n > 0 && (s->x == NULL || s->y == NULL))
            return tg_set_error(TG_EINVAL, FN ": series[%d].%s is NULL", i,
                                s->x == NULL ? "x" : "y");
    }
    return TG_OK;
}

static int check_args(const char *path, const tg_plot *plot,
                      const tg_plot_series *series, int n)
{
    if (path == NULL || path[0] == '\0')
        return tg_set_error(TG_EINVAL, FN ": path is %s",
                            path == NULL ? "NULL" : "empty");
    if (plot == NULL)
        return tg_set_error(TG_EINVAL, FN ": plot is NULL");
    if (plot->width != 0 && (plot->width < MIN_SIZE || plot->width > MAX_SIZE))
        return tg_set_error(TG_EINVAL, FN ": width %d is not 0 or %d to %d",
                            plot->width, MIN_SIZE, MAX_SIZE);
    if (plot->height != 0 &&
        (plot->height < MIN_SIZE || plot->height > MAX_SIZE))
        return tg_set_error(TG_EINVAL, FN ": height %d is not 0 or %d to %d",
                            plot->height, MIN_SIZE, MAX_SIZE);
    return check_series(series, n);
}

/* ---- Numbers and text */

/*
 * A pixel coordinate with two decimals ("123.45", "-0.5"), written with
 * integers so that no locale can turn the point into a comma. Coordinates
 * here lie within the picture; the clamp only keeps llround defined.
 */
static const char *px(char *buf, double v)
{
    long long c = llround(fmax(fmin(v, 1e9), -1e9) * 100.0);
    const char *sign = c < 0 ? "-" : "";
    c = llabs(c);
    if (c % 100 == 0)
        snprintf(buf, 32, "%s%lld", sign, c / 100);
    else if (c % 10 == 0)
        snprintf(buf, 32, "%s%lld.%lld", sign, c / 100, c % 100 / 10);
    else
        snprintf(buf, 32, "%s%lld.%02lld", sign, c / 100, c % 100);
    return buf;
}

/* The number of characters (code points) in s, to estimate its width. */
static int text_length(const char *s)
{
    int len = 0;
    for (size_t i = 0; s[i] != '\0'; len++)
        tg__utf8_next(s, &i);
    return len;
}

/* An estimate of s's width in pixels at FONT_SIZE (we cannot measure). */
static double text_width(const char *s)
{
    return text_length(s) * CHAR_WIDTH;
}

/* s as XML character data or attribute value: escaped, and cleaned of
 * what XML 1.0 cannot hold at all. */
static int write_text(tg__atomic_file *af, const char *s)
{
    for (size_t i = 0; s[i] != '\0';) {
        size_t start = i;
        int32_t c = tg__utf8_next(s, &i);
        if (c == '&')
            tg__atomic_puts(af, "&amp;");
        else if (c == '<')
            tg__atomic_puts(af, "&lt;");
        else if (c == '>')
            tg__atomic_puts(af, "&gt;");
        else if (c == '"')
            tg__atomic_puts(af, "&quot;");
        else if (c == '\'')
            tg__atomic_puts(af, "&apos;");
        else if (c == '\t' || c == '\n' || c == '\r')
            tg__atomic_puts(af, " ");
        else if (c < 0x20 || c == 0xfffe || c == 0xffff)
            tg__atomic_puts(af, "\xef\xbf\xbd");   /* U+FFFD, also for -1 */
        else
            tg__atomic_write(af, s + start, i - start);
    }
    return af->err != 0 ? TG_EIO : TG_OK;
}

/* ---- Data range and ticks */

static bool drawable(const tg_plot_series *s, int64_t i)
{
    return isfinite(s->x[i]) && isfinite(s->y[i]);
}

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

/* ---- Layout */

/* Data to pixels; the halves keep hi - lo from overflowing. */
static double to_px_x(const frame *f, double x)
{
    return f->left + f->width * (x / 2 - f->x0 / 2) / (f->x1 / 2 - f->x0 / 2);
}

static double to_px_y(const frame *f, double y)
{
    return f->top + f->height * (f->y1 / 2 - y / 2) / (f->y1 / 2 - f->y0 / 2);
}

/* Ranges and ticks, then margins wide enough for the labels. */
static void make_frame(frame *f, const tg_plot *plot, double w, double h,
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

/* ---- Drawing */

static int write_header(tg__atomic_file *af, const tg_plot *plot, int w,
                        int h)
{
    tg__atomic_printf(af,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
        "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
        "font-size=\"%d\">\n", w, h, w, h, FONT_SIZE);
    if (plot->title != NULL) {
        tg__atomic_puts(af, "<title>");
        write_text(af, plot->title);
        tg__atomic_puts(af, "</title>\n");
    }
    return tg__atomic_printf(af, "<rect width=\"%d\" height=\"%d\" "
                             "fill=\"white\"/>\n", w, h);
}

/* Grid lines, tick marks and tick labels of both axes. */
static void write_ticks(tg__atomic_file *af, const frame *f)
{
    char a[32], b[32], c[32];
    double bottom = f->top + f->height, right = f->left + f->width;
    tg__atomic_puts(af, "<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n");
    for (int i = 0; i < f->xt.n; i++) {
        const char *x = px(a, to_px_x(f, f->xt.v[i]));
        tg__atomic_printf(af, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" "
                          "y2=\"%s\"/>\n", x, px(b, f->top), x,
                          px(c, bottom));
    }
    for (int i = 0; i < f->yt.n; i++) {
        const char *y = px(a, to_px_y(f, f->yt.v[i]));
        tg__atomic_printf(af, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" "
                          "y2=\"%s\"/>\n", px(b, f->left), y,
                          px(c, right), y);
    }
    tg__atomic_puts(af, "</g>\n<g stroke=\"#333333\" stroke-width=\"1\">\n");
    for (int i = 0; i < f->xt.n; i++) {
        const char *x = px(a, to_px_x(f, f->xt.v[i]));
        tg__atomic_printf(af, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" "
                          "y2=\"%s\"/>\n", x, px(b, bottom), x,
                          px(c, bottom + 5));
    }
    for (int i = 0; i < f->yt.n; i++) {
        const char *y = px(a, to_px_y(f, f->yt.v[i]));
        tg__atomic_printf(af, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" "
                          "y2=\"%s\"/>\n", px(b, f->left - 5), y,
                          px(c, f->left), y);
    }
    tg__atomic_puts(af, "</g>\n<g fill=\"#333333\" text-anchor=\"middle\">\n");
    for (int i = 0; i < f->xt.n; i++)
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\">%s</text>\n",
                          px(a, to_px_x(f, f->xt.v[i])),
                          px(b, bottom + 8 + FONT_SIZE), f->xt.label[i]);
    tg__atomic_puts(af, "</g>\n<g fill=\"#333333\" text-anchor=\"end\">\n");
    for (int i = 0; i < f->yt.n; i++)
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\">%s</text>\n",
                          px(a, f->left - 8),
                          px(b, to_px_y(f, f->yt.v[i]) + FONT_SIZE * 0.35),
                          f->yt.label[i]);
    tg__atomic_puts(af, "</g>\n");
}

/* The frame around the plot area, the title and the axis labels. */
static void write_labels(tg__atomic_file *af, const frame *f,
                         const tg_plot *plot)
{
    char a[32], b[32], c[32], d[32];
    tg__atomic_printf(af, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\""
                      " fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>"
                      "\n", px(a, f->left), px(b, f->top), px(c, f->width),
                      px(d, f->height));
    if (plot->title != NULL) {
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\" font-size=\"%d\" "
                          "text-anchor=\"middle\" fill=\"#111111\">",
                          px(a, f->left + f->width / 2), px(b, 28.0),
                          TITLE_SIZE);
        write_text(af, plot->title);
        tg__atomic_puts(af, "</text>\n");
    }
    if (plot->xlabel != NULL) {
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\""
                          " fill=\"#111111\">", px(a, f->left + f->width / 2),
                          px(b, f->top + f->height + 44));
        write_text(af, plot->xlabel);
        tg__atomic_puts(af, "</text>\n");
    }
    if (plot->ylabel != NULL) {
        double x = f->left - 8 - f->label_w - 12;
        double y = f->top + f->height / 2;
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\""
                          " fill=\"#111111\" transform=\"rotate(-90 %s %s)\">",
                          px(a, x), px(b, y), px(c, x), px(d, y));
        write_text(af, plot->ylabel);
        tg__atomic_puts(af, "</text>\n");
    }
}

static const char *series_color(const tg_plot_series *series, int k)
{
    return series[k].color != NULL ? series[k].color
                                   : palette[(size_t)k % PALETTE_SIZE];
}

/*
 * One series: a polyline for each run of drawable points, so a NaN or an
 * infinity breaks the line, and a dot for a point drawable on its own.
 */
static int write_series(tg__atomic_file *af, const frame *f,
                        const tg_plot_series *s, const char *color)
{
    char a[32], b[32];
    tg__atomic_puts(af, "<g fill=\"none\" stroke=\"");
    write_text(af, color);
    tg__atomic_puts(af, "\" stroke-width=\"1.75\" stroke-linejoin=\"round\" "
                    "stroke-linecap=\"round\">\n");
    for (int64_t i = 0; i < s->n;) {
        if (!drawable(s, i)) {
            i++;
            continue;
        }
        int64_t end = i;
        while (end < s->n && drawable(s, end))
            end++;
        if (end - i == 1) {
            tg__atomic_printf(af, "<circle cx=\"%s\" cy=\"%s\" r=\"1.75\" "
                              "fill=\"", px(a, to_px_x(f, s->x[i])),
                              px(b, to_px_y(f, s->y[i])));
            write_text(af, color);
            tg__atomic_puts(af, "\" stroke=\"none\"/>\n");
        } else {
            tg__atomic_puts(af, "<polyline points=\"");
            for (int64_t k = i; k < end; k++)
                tg__atomic_printf(af, "%s%s,%s", k > i ? " " : "",
                                  px(a, to_px_x(f, s->x[k])),
                                  px(b, to_px_y(f, s->y[k])));
            tg__atomic_puts(af, "\"/>\n");
        }
        if (af->err != 0)
            return TG_EIO;
        i = end;
    }
    return tg__atomic_puts(af, "</g>\n");
}

/* ---- The legend */

/* How many points of the series (and of their segments) fall in b. */
static int64_t points_inside(const frame *f, const tg_plot_series *series,
                             int n, box b)
{
    int64_t count = 0;
    for (int k = 0; k < n; k++) {
        const tg_plot_series *s = &series[k];
        for (int64_t i = 0; i < s->n; i++) {
            if (!drawable(s, i))
                continue;
            bool line = i + 1 < s->n && drawable(s, i + 1);
            for (int j = 0; j < (line ? 4 : 1); j++) {
                double t = j / 4.0;
                double x = to_px_x(f, s->x[i]), y = to_px_y(f, s->y[i]);
                if (line) {
                    x += t * (to_px_x(f, s->x[i + 1]) - x);
                    y += t * (to_px_y(f, s->y[i + 1]) - y);
                }
                count += x >= b.x && x <= b.x + b.w && y >= b.y &&
                         y <= b.y + b.h;
            }
        }
    }
    return count;
}

/* The corner of the plot area where a legend of size w x h hides the least
 * (upper right, upper left, lower left, lower right, first wins a tie). */
static box legend_box(const frame *f, const tg_plot_series *series, int n,
                      double w, double h)
{
    double pad = 10;
    double xs[4] = {f->left + f->width - pad - w, f->left + pad,
                    f->left + pad, f->left + f->width - pad - w};
    double ys[4] = {f->top + pad, f->top + pad, f->top + f->height - pad - h,
                    f->top + f->height - pad - h};
    box best = {xs[0], ys[0], w, h};
    int64_t least = -1;
    for (int c = 0; c < 4; c++) {
        box b = {xs[c], ys[c], w, h};
        int64_t hidden = points_inside(f, series, n, b);
        if (least < 0 || hidden < least) {
            least = hidden;
            best = b;
        }
    }
    return best;
}

static int write_legend(tg__atomic_file *af, const frame *f,
                        const tg_plot_series *series, int n)
{
    char a[32], b[32], c[32], d[32];
    int rows = 0;
    double text_w = 0;
    for (int k = 0; k < n; k++)
        if (series[k].label != NULL) {
            rows++;
            text_w = fmax(text_w, text_width(series[k].label));
        }
    if (rows == 0)
        return TG_OK;
    double row_h = 20;
    box bx = legend_box(f, series, n, 42 + text_w, 8 + rows * row_h);
    tg__atomic_printf(af, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\""
                      " rx=\"3\" fill=\"white\" fill-opacity=\"0.85\" "
                      "stroke=\"#cccccc\"/>\n", px(a, bx.x), px(b, bx.y),
                      px(c, bx.w), px(d, bx.h));
    int row = 0;
    for (int k = 0; k < n; k++) {
        if (series[k].label == NULL)
            continue;
        double y = bx.y + 4 + row_h * (row++ + 0.5);
        tg__atomic_printf(af, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\""
                          " stroke-width=\"1.75\" stroke=\"", px(a, bx.x + 8),
                          px(b, y), px(c, bx.x + 30), px(d, y));
        write_text(af, series_color(series, k));
        tg__atomic_printf(af, "\"/>\n<text x=\"%s\" y=\"%s\" "
                          "fill=\"#111111\">", px(a, bx.x + 36),
                          px(b, y + FONT_SIZE * 0.35));
        write_text(af, series[k].label);
        tg__atomic_puts(af, "</text>\n");
    }
    return af->err != 0 ? TG_EIO : TG_OK;
}

/* ---- The whole picture */

static int write_plot(tg__atomic_file *af, const tg_plot *plot,
                      const tg_plot_series *series, int n)
{
    int w = plot->width != 0 ? plot->width : DEFAULT_WIDTH;
    int h = plot->height != 0 ? plot->height : DEFAULT_HEIGHT;
    frame f;
    make_frame(&f, plot, w, h, series, n);
    write_header(af, plot, w, h);
    write_ticks(af, &f);
    for (int k = 0; k < n; k++)
        if (write_series(af, &f, &series[k], series_color(series, k)) != TG_OK)
            return TG_EIO;
    write_labels(af, &f, plot);
    write_legend(af, &f, series, n);
    return tg__atomic_puts(af, "</svg>\n");
}

int tg_write_svg_plot(const char *path, const tg_plot *plot,
                      const tg_plot_series *series, int n)
{
    int rc = check_args(path, plot, series, n);
    if (rc != TG_OK)
        return rc;
    tg__atomic_file af;
    rc = tg__atomic_open(&af, FN, path);
    if (rc != TG_OK)
        return rc;
    write_plot(&af, plot, series, n);
    /* A failed write is remembered in af; commit reports it. */
    return tg__atomic_commit(&af);
}
