/*
 * svg_plot.h — what the parts of tg_write_svg_plot share: the layout of
 * the picture (frame, ticks), turning data and text into pixels, and the
 * calls between svg.c (the drawing), svg_frame.c (ranges, ticks and
 * margins) and svg_legend.c. Private to those three files, so its macros,
 * types and inline helpers keep the short names they had in svg.c.
 */
#ifndef TG_IO_SVG_PLOT_H
#define TG_IO_SVG_PLOT_H

#include "tapegrad/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/atomic_file.h"
#include "io/utf8.h"

#define MAX_TICKS 16
#define FONT_SIZE 12     /* ticks, axis labels and legend */
#define CHAR_WIDTH 7.6   /* a generous average advance at FONT_SIZE */

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

/*
 * A pixel coordinate with two decimals ("123.45", "-0.5"), written with
 * integers so that no locale can turn the point into a comma. Coordinates
 * here lie within the picture; the clamp only keeps llround defined.
 */
static inline const char *px(char *buf, double v)
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
static inline int text_length(const char *s)
{
    int len = 0;
    for (size_t i = 0; s[i] != '\0'; len++)
        tg__utf8_next(s, &i);
    return len;
}

/* An estimate of s's width in pixels at FONT_SIZE (we cannot measure). */
static inline double text_width(const char *s)
{
    return text_length(s) * CHAR_WIDTH;
}

/* Whether point i of s can be drawn: both coordinates finite. */
static inline bool drawable(const tg_plot_series *s, int64_t i)
{
    return isfinite(s->x[i]) && isfinite(s->y[i]);
}

/* Data to pixels; the halves keep hi - lo from overflowing. */
static inline double to_px_x(const frame *f, double x)
{
    return f->left + f->width * (x / 2 - f->x0 / 2) / (f->x1 / 2 - f->x0 / 2);
}

static inline double to_px_y(const frame *f, double y)
{
    return f->top + f->height * (f->y1 / 2 - y / 2) / (f->y1 / 2 - f->y0 / 2);
}

/* ---- svg.c */

/* s as XML character data or attribute value: escaped, and cleaned of
 * what XML 1.0 cannot hold at all. */
int tg__svg_write_text(tg__atomic_file *af, const char *s);

/* The colour of series k: its own, or the next of the palette. */
const char *tg__svg_series_color(const tg_plot_series *series, int k);

/* ---- svg_frame.c */

/* Ranges and ticks, then margins wide enough for the labels. */
void tg__svg_make_frame(frame *f, const tg_plot *plot, double w, double h,
                        const tg_plot_series *series, int n);

/* ---- svg_legend.c */

/* The legend of the labelled series, if any, in the corner of the plot
 * area where it hides the fewest points. */
int tg__svg_write_legend(tg__atomic_file *af, const frame *f,
                         const tg_plot_series *series, int n);

#endif /* TG_IO_SVG_PLOT_H */
