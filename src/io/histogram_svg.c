/*
 * histogram_svg.c — a histogram as a bar chart in a standalone SVG 1.1
 * file, drawn as tg_svg_write_plot draws its line plots (svg.c): title,
 * framed plot area, grid lines and tick labels at round numbers, axis
 * labels, the same fonts and greys.
 *
 * Written on the public API only (tapegrad.h), so the small pieces it
 * shares in spirit with svg.c (round ticks, pixel numbers written from
 * integers so that no locale's decimal comma gets in, XML escaping, the
 * write-then-rename) are its own, simpler versions.
 */
#include <tapegrad.h>
#include <tapegrad/histogram.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FN "tg_svg_write_histogram"
#define FONT_SIZE 12
#define TITLE_SIZE 16
#define CHAR_WIDTH 7.6
#define MAX_TICKS 16

typedef struct ticks {
    int n;
    double v[MAX_TICKS];
    char label[MAX_TICKS][48];
} ticks;

/* The plot area in pixels and the data it shows. */
typedef struct frame {
    double left, top, width, height, label_w;
    double x0, x1, y0, y1;
    ticks xt, yt;
} frame;

/* ---- Checking the arguments */

static int check_size(const char *what, int v)
{
    if (v != 0 && (v < 160 || v > 20000))
        return tg_set_error(TG_EINVAL, FN ": %s %d is not 0 or 160 to 20000",
                            what, v);
    return TG_OK;
}

static int check_args(const char *path, const tg_plot *plot, int bins,
                      const double *edges, const int64_t *counts)
{
    if (path == NULL || path[0] == '\0')
        return tg_set_error(TG_EINVAL, FN ": path is %s",
                            path == NULL ? "NULL" : "empty");
    if (plot == NULL || edges == NULL || counts == NULL)
        return tg_set_error(TG_EINVAL, FN ": %s is NULL", plot == NULL
                            ? "plot" : edges == NULL ? "edges" : "counts");
    if (bins < 1 || bins > TG_HISTOGRAM_MAX_BINS)
        return tg_set_error(TG_EINVAL, FN ": bins is %d, need 1 to %d", bins,
                            TG_HISTOGRAM_MAX_BINS);
    for (int i = 0; i < bins; i++) {
        if (!isfinite(edges[i]) || !isfinite(edges[i + 1]) ||
            !(edges[i] < edges[i + 1]))
            return tg_set_error(TG_EINVAL, FN ": edges[%d] = %g and "
                                "edges[%d] = %g are not finite and "
                                "increasing", i, edges[i], i + 1,
                                edges[i + 1]);
        if (counts[i] < 0)
            return tg_set_error(TG_EINVAL, FN ": counts[%d] is %lld", i,
                                (long long)counts[i]);
    }
    int rc = check_size("width", plot->width);
    return rc == TG_OK ? check_size("height", plot->height) : rc;
}

/* ---- Numbers and text */

/* A pixel coordinate with up to two decimals, from integers. */
static const char *px(char *buf, double v)
{
    long long c = llround(fmax(fmin(v, 1e9), -1e9) * 100.0);
    snprintf(buf, 32, "%s%lld.%02lld", c < 0 ? "-" : "", llabs(c) / 100,
             llabs(c) % 100);
    return buf;
}

/* s as XML text: the five special characters escaped, control
 * characters (which XML 1.0 cannot hold) as spaces. */
static void put_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            fputs("&amp;", f);
        else if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c == '\'')
            fputs("&apos;", f);
        else
            fputc(c < 0x20 ? ' ' : c, f);
    }
}

/* n x 10^e (n != 0) in exponent form from its digits: "1.5e6", "-5e-5". */
static void sci_label(char *out, size_t size, long long n, int e)
{
    unsigned long long m = (unsigned long long)llabs(n);
    for (; m % 10 == 0; m /= 10)
        e++;
    char d[24];
    int nd = snprintf(d, sizeof d, "%llu", m);
    snprintf(out, size, "%s%c%s%se%d", n < 0 ? "-" : "", d[0],
             nd > 1 ? "." : "", d + 1, nd - 1 + e);
}

/* Ticks at k * m * 10^e for m = 1, 2 or 5 chosen for about one every
 * spacing pixels of the length pixels of the axis (2 to 6 of them),
 * labelled from those integers ("0.3", "2e-5"). */
static void make_ticks(double lo, double hi, double length, double spacing,
                       ticks *t)
{
    t->n = 0;
    double raw = (hi - lo) / fmax(2, fmin(6, floor(length / spacing)));
    if (!(raw > 0) || !isfinite(raw))
        return;
    int e = (int)floor(log10(raw));
    double mag = pow(10, e);
    int m = raw <= 1.5 * mag ? 1 : raw <= 3.5 * mag ? 2 : raw <= 7.5 * mag
            ? 5 : 10;
    if (m == 10) {
        m = 1;
        e++;
    }
    double step = m * pow(10, e);
    double k0 = ceil(lo / step), k1 = floor(hi / step);
    if (!(fabs(k0) < 1e15 && fabs(k1) < 1e15 && k1 - k0 < MAX_TICKS))
        return;
    bool sci = fmax(fabs(lo), fabs(hi)) >= 1e6 || step < 1e-4;
    for (long long k = (long long)k0; k <= (long long)k1; k++) {
        char num[48];
        snprintf(num, sizeof num, "%llde%d", k * m, e);
        t->v[t->n] = strtod(num, NULL);
        if (k == 0)
            snprintf(t->label[t->n], sizeof t->label[0], "0");
        else if (sci)
            sci_label(t->label[t->n], sizeof t->label[0], k * m, e);
        else if (e >= 0)
            snprintf(t->label[t->n], sizeof t->label[0], "%lld%.*s", k * m,
                     e, "000000");
        else {   /* k*m / 10^-e with -e (1 to 4, as not sci) decimals */
            long long v = k * m, p = 1;
            int dec = -e < 4 ? -e : 4;
            for (int i = 0; i < dec; i++)
                p *= 10;
            snprintf(t->label[t->n], sizeof t->label[0], "%s%lld.%0*lld",
                     v < 0 ? "-" : "", llabs(v) / p, dec, llabs(v) % p);
        }
        t->n++;
    }
}

/* ---- Layout and drawing */

static double to_x(const frame *f, double x)
{
    return f->left + f->width * (x - f->x0) / (f->x1 - f->x0);
}

static double to_y(const frame *f, double y)
{
    return f->top + f->height * (f->y1 - y) / (f->y1 - f->y0);
}

static void make_frame(frame *f, const tg_plot *plot, int w, int h, int bins,
                       const double *edges, const int64_t *counts)
{
    int64_t most = 0;
    for (int i = 0; i < bins; i++)
        most = counts[i] > most ? counts[i] : most;
    f->x0 = edges[0];
    f->x1 = edges[bins];
    f->y0 = 0;
    f->y1 = most > 0 ? 1.05 * (double)most : 1;
    make_ticks(f->x0, f->x1, w - 80, 90, &f->xt);
    make_ticks(f->y0, f->y1, h - 100, 40, &f->yt);
    f->label_w = 0;
    for (int i = 0; i < f->yt.n; i++)
        f->label_w = fmax(f->label_w, CHAR_WIDTH *
                          (double)strlen(f->yt.label[i]));
    f->left = 20 + f->label_w + (plot->ylabel != NULL ? 22 : 0);
    f->top = plot->title != NULL ? 44 : 16;
    f->width = w - f->left - 20;
    f->height = h - f->top - 32 - (plot->xlabel != NULL ? 24 : 0);
}

/* Grid lines and tick labels of both axes. */
static void write_ticks(FILE *out, const frame *f)
{
    char a[32], b[32], c[32];
    double bottom = f->top + f->height, right = f->left + f->width;
    fputs("<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n", out);
    for (int i = 0; i < f->yt.n; i++) {
        const char *y = px(a, to_y(f, f->yt.v[i]));
        fprintf(out, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n",
                px(b, f->left), y, px(c, right), y);
    }
    fputs("</g>\n<g fill=\"#333333\" text-anchor=\"middle\">\n", out);
    for (int i = 0; i < f->xt.n; i++)
        fprintf(out, "<text x=\"%s\" y=\"%s\">%s</text>\n",
                px(a, to_x(f, f->xt.v[i])), px(b, bottom + 8 + FONT_SIZE),
                f->xt.label[i]);
    fputs("</g>\n<g fill=\"#333333\" text-anchor=\"end\">\n", out);
    for (int i = 0; i < f->yt.n; i++)
        fprintf(out, "<text x=\"%s\" y=\"%s\">%s</text>\n",
                px(a, f->left - 8),
                px(b, to_y(f, f->yt.v[i]) + FONT_SIZE * 0.35),
                f->yt.label[i]);
    fputs("</g>\n<g stroke=\"#333333\" stroke-width=\"1\">\n", out);
    for (int i = 0; i < f->xt.n; i++) {
        const char *x = px(a, to_x(f, f->xt.v[i]));
        fprintf(out, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", x,
                px(b, bottom), x, px(c, bottom + 5));
    }
    for (int i = 0; i < f->yt.n; i++) {
        const char *y = px(a, to_y(f, f->yt.v[i]));
        fprintf(out, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n",
                px(b, f->left - 5), y, px(c, f->left), y);
    }
    fputs("</g>\n", out);
}

/* One rectangle per bin with a count, in color with a white outline. */
static void write_bars(FILE *out, const frame *f, int bins,
                       const double *edges, const int64_t *counts,
                       const char *color)
{
    char a[32], b[32], c[32], d[32];
    fputs("<g fill=\"", out);
    put_text(out, color);
    fputs("\" stroke=\"white\" stroke-width=\"0.5\">\n", out);
    for (int i = 0; i < bins; i++) {
        if (counts[i] == 0)
            continue;
        double x = to_x(f, edges[i]), y = to_y(f, (double)counts[i]);
        fprintf(out, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\"/>\n",
                px(a, x), px(b, y), px(c, to_x(f, edges[i + 1]) - x),
                px(d, f->top + f->height - y));
    }
    fputs("</g>\n", out);
}

static void write_text_at(FILE *out, double x, double y, const char *extra,
                          const char *s)
{
    char a[32], b[32];
    fprintf(out, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" "
            "fill=\"#111111\"%s>", px(a, x), px(b, y), extra);
    put_text(out, s);
    fputs("</text>\n", out);
}

/* The frame, the title and the axis labels. */
static void write_labels(FILE *out, const frame *f, const tg_plot *plot)
{
    char a[32], b[32], c[32], d[32];
    fprintf(out, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" "
            "fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n",
            px(a, f->left), px(b, f->top), px(c, f->width),
            px(d, f->height));
    double mid = f->left + f->width / 2;
    if (plot->title != NULL)
        write_text_at(out, mid, 28, " font-size=\"16\"", plot->title);
    if (plot->xlabel != NULL)
        write_text_at(out, mid, f->top + f->height + 44, "", plot->xlabel);
    if (plot->ylabel != NULL) {
        double x = f->left - 8 - f->label_w - 12, y = f->top + f->height / 2;
        char rot[96];
        snprintf(rot, sizeof rot, " transform=\"rotate(-90 %s %s)\"",
                 px(a, x), px(b, y));
        write_text_at(out, x, y, rot, plot->ylabel);
    }
}

static void write_chart(FILE *out, const tg_plot *plot, int bins,
                        const double *edges, const int64_t *counts,
                        const char *color)
{
    int w = plot->width != 0 ? plot->width : 640;
    int h = plot->height != 0 ? plot->height : 420;
    frame f;
    make_frame(&f, plot, w, h, bins, edges, counts);
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" "
            "standalone=\"no\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
            " font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
            "font-size=\"%d\">\n", w, h, w, h, FONT_SIZE);
    if (plot->title != NULL) {
        fputs("<title>", out);
        put_text(out, plot->title);
        fputs("</title>\n", out);
    }
    fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h);
    write_ticks(out, &f);
    write_bars(out, &f, bins, edges, counts, color);
    write_labels(out, &f, plot);
    fputs("</svg>\n", out);
}

/* ---- The file: written beside path, then renamed into place */

static int io_error(const char *path, int err)
{
    return tg_set_error(TG_EIO, FN ": cannot write '%s': %s", path,
                        strerror(err));
}

int tg_svg_write_histogram(const char *path, const tg_plot *plot, int bins,
                           const double *edges, const int64_t *counts,
                           const char *color)
{
    int rc = check_args(path, plot, bins, edges, counts);
    if (rc != TG_OK)
        return rc;
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (tmp == NULL)
        return tg_set_error(TG_ENOMEM, FN ": out of memory");
    snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        rc = io_error(path, errno);
        free(tmp);
        return rc;
    }
    write_chart(out, plot, bins, edges, counts, color ? color : "#1f77b4");
    int err = ferror(out) ? (errno ? errno : EIO) : 0;
    if (fclose(out) != 0 && err == 0)
        err = errno ? errno : EIO;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        remove(tmp);
        rc = io_error(path, err);
    }
    free(tmp);
    return rc;
}
