/*
 * tapegrad/io.h — writing results for people and other tools: floats as
 * Python prints them, JSON as Python's json.dump writes it, and line plots
 * as standalone SVG.
 *
 * Files are written to a temporary name beside the target and renamed into
 * place, so a failure never leaves a truncated file. Errors: TG_EINVAL for
 * bad arguments, TG_EIO (message names the path and the system's reason).
 */
#ifndef TAPEGRAD_IO_H
#define TAPEGRAD_IO_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Enough room for any double tg_format_double writes, with its NUL. */
#define TG_FLOAT_BUFSIZE 32

/*
 * Write v as Python's repr(v) does: the shortest decimal that reads back to
 * the same double ("-2.0", "-1.9959959983825684", "0.0", "-0.0", "1e-05",
 * "1.5e+16", "nan", "inf", "-inf"). To print a float as Python prints the
 * float32 value, pass it widened to double. buf needs n >= TG_FLOAT_BUFSIZE.
 * Returns the length written, or TG_EINVAL.
 */
int tg_format_double(char *buf, size_t n, double v);

/*
 * Write {"names[0]": [...], "names[1]": [...], ...} to path, byte for byte
 * as Python's json.dump(obj, f, indent=4) does with lists of floats: 4-space
 * indent, one number a line, numbers as tg_format_double, NaN and the
 * infinities as NaN, Infinity and -Infinity, no newline at the end. Each
 * tensor is written flat, in row-major order.
 */
int tg_write_json(const char *path, int n, const char *const *names,
                  const tg_tensor *const *values);

/* One line of a plot: n points (x[i], y[i]). */
typedef struct tg_plot_series {
    const char *label;   /* legend text; NULL for no legend entry */
    const double *x;
    const double *y;
    int64_t n;
    const char *color;   /* CSS color; NULL picks from a palette */
} tg_plot_series;

/* The frame of a plot. Zero width or height means 640 x 420. */
typedef struct tg_plot {
    const char *title;
    const char *xlabel;  /* may be NULL */
    const char *ylabel;  /* may be NULL */
    int width;
    int height;
} tg_plot;

/*
 * Write a line plot of the n series as a standalone SVG file: title, axes
 * with tick labels at round numbers, a legend, one polyline a series.
 * Non-finite points are left out (the line breaks there).
 */
int tg_write_svg_plot(const char *path, const tg_plot *plot,
                      const tg_plot_series *series, int n);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_IO_H */
