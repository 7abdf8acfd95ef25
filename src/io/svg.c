/*
 * svg.c — line plots as standalone SVG 1.1 files.
 *
 * The picture: a title above a framed plot area; tick marks, grid lines and
 * labels at round numbers (1, 2 or 5 times a power of ten) on both axes;
 * axis labels; one line per series in its own colour; a legend in the
 * corner of the plot area that hides the fewest points. The data range is
 * padded by 5% on each side so no line runs along the frame. Ranges, ticks
 * and margins are svg_frame.c's, the legend svg_legend.c's.
 *
 * All numbers in the file are written from integers (pixels in hundredths,
 * tick labels from their round decimal digits), never by printf's "%f", so
 * the current locale's decimal comma cannot get in. All text is XML-escaped; characters XML 1.0
 * forbids (most control characters, malformed UTF-8) become U+FFFD.
 */
#include "tapegrad/io.h"

#include "io/svg_plot.h"

#include <string.h>

#define FN "tg_svg_write_plot"

#define DEFAULT_WIDTH 640
#define DEFAULT_HEIGHT 420
#define MIN_SIZE 160
#define MAX_SIZE 20000
#define TITLE_SIZE 16

/* matplotlib's "tab10" palette: distinct, and readable on white. */
static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define PALETTE_SIZE (sizeof palette / sizeof palette[0])

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

/* ---- Text */

/* s as XML character data or attribute value: escaped, and cleaned of
 * what XML 1.0 cannot hold at all. */
int tg__svg_write_text(tg__atomic_file *af, const char *s)
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
        tg__svg_write_text(af, plot->title);
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
        tg__svg_write_text(af, plot->title);
        tg__atomic_puts(af, "</text>\n");
    }
    if (plot->xlabel != NULL) {
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\""
                          " fill=\"#111111\">", px(a, f->left + f->width / 2),
                          px(b, f->top + f->height + 44));
        tg__svg_write_text(af, plot->xlabel);
        tg__atomic_puts(af, "</text>\n");
    }
    if (plot->ylabel != NULL) {
        double x = f->left - 8 - f->label_w - 12;
        double y = f->top + f->height / 2;
        tg__atomic_printf(af, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\""
                          " fill=\"#111111\" transform=\"rotate(-90 %s %s)\">",
                          px(a, x), px(b, y), px(c, x), px(d, y));
        tg__svg_write_text(af, plot->ylabel);
        tg__atomic_puts(af, "</text>\n");
    }
}

const char *tg__svg_series_color(const tg_plot_series *series, int k)
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
    tg__svg_write_text(af, color);
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
            tg__svg_write_text(af, color);
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

/* ---- The whole picture */

static int write_plot(tg__atomic_file *af, const tg_plot *plot,
                      const tg_plot_series *series, int n)
{
    int w = plot->width != 0 ? plot->width : DEFAULT_WIDTH;
    int h = plot->height != 0 ? plot->height : DEFAULT_HEIGHT;
    frame f;
    tg__svg_make_frame(&f, plot, w, h, series, n);
    write_header(af, plot, w, h);
    write_ticks(af, &f);
    for (int k = 0; k < n; k++)
        if (write_series(af, &f, &series[k],
                         tg__svg_series_color(series, k)) != TG_OK)
            return TG_EIO;
    write_labels(af, &f, plot);
    tg__svg_write_legend(af, &f, series, n);
    return tg__atomic_puts(af, "</svg>\n");
}

int tg_svg_write_plot(const char *path, const tg_plot *plot,
                      int n, const tg_plot_series *series)
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
