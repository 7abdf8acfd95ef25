/*
 * tapegrad/histogram.h — histograms: binned counts as numpy.histogram
 * computes them, and a bar chart of them as a standalone SVG file in the
 * style of tg_svg_write_plot (tapegrad/io.h).
 *
 *     tg_tensor *w = tg_linspace(t, TG_F32, -1.0, 1.0, 100);
 *     double edges[31];
 *     int64_t counts[30];
 *     if (tg_histogram_tensor(w, 30, NULL, counts, edges) < 0)
 *         fprintf(stderr, "%s\n", tg_last_error());
 *     tg_plot p = {"layer 0: weight gradients", "gradient", "count", 0, 0};
 *     tg_svg_write_histogram("/tmp/tg_w.svg", &p, 30, edges, counts, NULL);
 *
 * The bins are those of numpy.histogram(values, bins, range): bins equal
 * bins over [lo, hi] (the smallest and largest value when range is NULL;
 * lo - 0.5 and hi + 0.5 when they are equal), with edges
 * lo + i * (hi - lo) / bins and the last edge exactly hi. Every bin is
 * half-open, [edges[i], edges[i+1]), but the last, which is closed and so
 * counts the values equal to hi. Values outside the range, and NaN, are
 * left out of the counts. A value is put in the same bin as NumPy puts it,
 * the edges being compared to the value itself after the first guess.
 *
 * Errors never abort: a negative status and tg_last_error() naming the
 * call ("tg_histogram: bins is 0, need at least 1"). Nothing is written
 * into counts or edges, nor any file touched, when the arguments are bad.
 */
#ifndef TAPEGRAD_HISTOGRAM_H
#define TAPEGRAD_HISTOGRAM_H

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most bins a histogram may have. */
#define TG_HISTOGRAM_MAX_BINS 100000

/*
 * Count the n values into bins bins: counts[0..bins) and edges[0..bins]
 * (bins + 1 doubles), as numpy.histogram(values, bins, range=(range[0],
 * range[1])) or, with range NULL, numpy.histogram(values, bins).
 * Returns how many values were counted (those inside the range), or a
 * negative status: TG_EINVAL for NULL values (with n > 0), counts or edges,
 * n < 0, bins outside 1..TG_HISTOGRAM_MAX_BINS, a range with a NaN or an
 * infinity or with range[0] > range[1], or (range NULL) no values or a
 * value that is not finite (NumPy's "autodetected range is not finite");
 * TG_ENUMERIC when hi - lo overflows.
 */
TG_API int64_t tg_histogram(int64_t n, const double *values, int bins,
                            const double *range, int64_t *counts,
                            double *edges);

/*
 * The same over every element of the tensor x (f32 or f64, any shape),
 * each element as its double (numpy.histogram(x.astype(np.float64), ...)).
 * A NULL x propagates an earlier failure (its message is kept); a tensor
 * freed by a reset of its tape is TG_ESTATE.
 */
TG_API int64_t tg_histogram_tensor(const tg_tensor *x, int bins,
                                   const double *range, int64_t *counts,
                                   double *edges);

/*
 * Write a bar chart of a histogram as a standalone SVG 1.1 file, in the
 * style of tg_write_svg_plot: title, framed axes with grid lines and tick
 * labels at round numbers, axis labels, and one bar per bin from edges[i]
 * to edges[i+1], as high as counts[i], filled with color (a CSS colour;
 * NULL for tab10's first, "#1f77b4"). The x axis spans the edges, the y
 * axis 0 to the largest count plus 5%. Text is XML-escaped.
 * The file is written to a temporary name beside path and renamed into
 * place: readers see the old file or the new one.
 * Errors: TG_EINVAL for a NULL or empty path, a NULL plot, edges or
 * counts, bins outside 1..TG_HISTOGRAM_MAX_BINS, edges that are not
 * finite and increasing, a negative count, a size outside 160..20000
 * (other than 0); TG_EIO with the path and the system's reason
 * ("tg_svg_write_histogram: cannot write 'out/h.svg': No such file or
 * directory"); TG_ENOMEM.
 */
TG_API int tg_svg_write_histogram(const char *path, const tg_plot *plot,
                                  int bins, const double *edges,
                                  const int64_t *counts, const char *color);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_HISTOGRAM_H */
