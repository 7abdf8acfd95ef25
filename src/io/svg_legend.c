/*
 * svg_legend.c — a plot's legend: one row per labelled series, in the
 * corner of the plot area that hides the fewest points (see svg_plot.h).
 */
#include "io/svg_plot.h"

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

int tg__svg_write_legend(tg__atomic_file *af, const frame *f,
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
        tg__svg_write_text(af, tg__svg_series_color(series, k));
        tg__atomic_printf(af, "\"/>\n<text x=\"%s\" y=\"%s\" "
                          "fill=\"#111111\">", px(a, bx.x + 36),
                          px(b, y + FONT_SIZE * 0.35));
        tg__svg_write_text(af, series[k].label);
        tg__atomic_puts(af, "</text>\n");
    }
    return af->err != 0 ? TG_EIO : TG_OK;
}
