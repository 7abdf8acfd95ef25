/*
 * tapegrad/io.h — writing results for people and other tools: floats as
 * Python prints them, JSON as Python's json.dump writes it, and line plots
 * as standalone SVG.
 *
 * Files are written to a temporary name beside the target ("path.tmp-...")
 * and renamed into place, so readers see the old file or the new one, and a
 * failure never leaves a truncated file (nor the temporary one) behind.
 * Nothing here depends on the current locale: numbers always use '.'.
 *
 * Errors: TG_EINVAL for bad arguments (checked before any file is touched),
 * TG_ENOMEM, and TG_EIO with a message naming the function, the path and
 * the system's reason ("tg_json_write: cannot write 'out/a.json': No such
 * file or directory").
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
 * Write v into buf as Python's repr(v) does: the shortest decimal that reads
 * back to the same double (the nearest such if several), positional from
 * 1e-4 up to below 1e16 and with an exponent of at least two digits outside
 * that ("-2.0", "-1.9959959983825684", "0.0001", "1e-05", "1e+16",
 * "1234567890123456.0", "1.5e+16", "0.0", "-0.0", "nan", "inf", "-inf").
 * To print a float as Python prints the float32 value widened to double,
 * pass (double)f. n is buf's size and must be at least TG_FLOAT_BUFSIZE.
 * Returns the length written (without the NUL), or TG_EINVAL for a NULL or
 * too small buf.
 */
TG_API int tg_format_double(char *buf, size_t n, double v);

/*
 * Write {"names[0]": [...], "names[1]": [...], ...} (n >= 1 entries, in that
 * order) to path, byte for byte as Python's json.dump(obj, f, indent=4)
 * writes a dict of lists of floats: 4-space indent, one number a line,
 * numbers as tg_format_double (an f32 value as its double: -2.0,
 * -1.9959959983825684), NaN and the infinities as NaN, Infinity and
 * -Infinity, names escaped as with ensure_ascii (non-ASCII as \uXXXX), and
 * no newline at the end. Each tensor is written flat, in row-major order.
 * Errors: TG_EINVAL for a NULL or empty path, n < 1, NULL names or values,
 * a name that is NULL, not UTF-8 or repeated (a dict has each key once); a
 * NULL tensor propagates an earlier failure (its message is kept); a
 * tensor freed by a reset is TG_ESTATE; TG_EIO, TG_ENOMEM as above.
 */
TG_API int tg_json_write(const char *path, int n, const char *const *names,
                         const tg_tensor *const *values);

/* One line of a plot: n points (x[i], y[i]), UTF-8 text. */
typedef struct tg_plot_series {
    const char *label;   /* legend text; NULL for no legend entry */
    const double *x;
    const double *y;
    int64_t n;
    const char *color;   /* CSS color; NULL picks from a palette */
} tg_plot_series;

/* The frame of a plot, in pixels. A width of 0 means 640, a height of 0
 * means 420; otherwise each is 160 to 20000. */
typedef struct tg_plot {
    const char *title;   /* may be NULL */
    const char *xlabel;  /* may be NULL */
    const char *ylabel;  /* may be NULL */
    int width;
    int height;
} tg_plot;

/*
 * Write a line plot of the n >= 1 series as a standalone SVG 1.1 file:
 * title, framed axes with grid lines and tick labels at round numbers (1, 2
 * or 5 times a power of ten), axis labels, a legend of the labelled series
 * in the corner where it hides the least, and each series as lines in its
 * colour (the tab10 palette when color is NULL). A point with a non-finite
 * coordinate is left out and breaks the line there; a point alone between
 * breaks is drawn as a dot. The axes span the finite points plus 5%. Text
 * is XML-escaped; characters XML cannot hold become U+FFFD.
 * Errors: TG_EINVAL for a NULL or empty path, NULL plot or series, n < 1,
 * a size outside 160..20000 (other than 0), a series with n < 0 or with
 * points but a NULL x or y; TG_EIO, TG_ENOMEM as above.
 */
TG_API int tg_svg_write_plot(const char *path, const tg_plot *plot,
                             int n, const tg_plot_series *series);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_IO_H */
