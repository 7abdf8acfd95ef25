/*
 * layer_norm_rows.c — the f32 rows of layer_norm.c with a weight and a
 * bias (every nn.LayerNorm), in loops that vectorise; layer_norm.c keeps
 * the op, the general rows (any dtype, optional w and b) and the
 * derivative with ops. The maths is at the top of layer_norm.c.
 */
#include "ops/layer_norm_rows.h"

#include "hot.h"

#include <math.h>

/*
 * The f32 rows with a weight and a bias (every nn.LayerNorm), the loops
 * written so that they vectorise: the sums in double over LANES partial
 * sums (then added up), the rest lane by lane. Same two-pass method as
 * layer_norm.c's forward_row; the partial sums only reorder additions in
 * double.
 *
 * Two rows at a time: a row's sums are chains of dependent additions
 * (each waits for the one before), and a short row (W7's 64 values) is
 * little else, so a row at a time left the processor waiting on them;
 * two independent rows interleaved fill those waits. Each row's sums are
 * still added in the same order as one row alone, so the results are the
 * same bits (and the gradients of w and b get the rows in order).
 */
enum { LANES = 8, PAIR = 2 };

static inline double sum_lanes(const double *acc)
{
    double t = 0;
    for (int k = 0; k < LANES; k++)
        t += acc[k];
    return t;
}

#if defined(__GNUC__)
#define LN_INLINE static inline __attribute__((always_inline))
#else
#define LN_INLINE static inline
#endif

/* R rows (1 or 2, a constant where it is called) of n values, the rows
 * n apart in x and y; mu_out[r] and rstd_out[r] for each. */
LN_INLINE void forward_rows(int R, const float *restrict x,
                            const float *restrict w, const float *restrict b,
                            float *restrict y, int64_t n, double eps,
                            double *mu_out, double *rstd_out)
{
    double acc[PAIR][LANES] = {{0}}, mu[PAIR], rstd[PAIR];
    int64_t i = 0, m = n - n % LANES;
    for (i = 0; i < m; i += LANES)
        for (int r = 0; r < R; r++)
            for (int k = 0; k < LANES; k++)
                acc[r][k] += x[r * n + i + k];
    for (int r = 0; r < R; r++) {
        mu[r] = sum_lanes(acc[r]);
        for (int64_t j = m; j < n; j++)
            mu[r] += x[r * n + j];
        mu[r] /= (double)n;
        for (int k = 0; k < LANES; k++)
            acc[r][k] = 0;
    }
    for (i = 0; i < m; i += LANES)
        for (int r = 0; r < R; r++)
            for (int k = 0; k < LANES; k++) {
                double d = x[r * n + i + k] - mu[r];
                acc[r][k] += d * d;
            }
    for (int r = 0; r < R; r++) {
        const float *xr = x + r * n;
        double var = sum_lanes(acc[r]);
        for (int64_t j = m; j < n; j++)
            var += (xr[j] - mu[r]) * (xr[j] - mu[r]);
        rstd[r] = tg__ln_rstd(var, n, eps);
    }
    for (int r = 0; r < R; r++)
        for (i = 0; i < n; i++)
            y[r * n + i] = (float)((x[r * n + i] - mu[r]) * rstd[r] * w[i] +
                                   b[i]);
    for (int r = 0; r < R; r++) {
        mu_out[r] = mu[r];
        rstd_out[r] = rstd[r];
    }
}

/* gx for R rows (1 or 2) from x, g and w; each row's g xhat and g added
 * into gw and gb, row after row. A row whose sums are not finite gets
 * PyTorch's formula instead (tg__ln_backward_row_torch). */
LN_INLINE void backward_rows(int R, const float *restrict x,
                             const float *restrict g, const float *restrict w,
                             float *restrict gx, int64_t n, const double *mu,
                             const double *rstd, double *restrict gw,
                             double *restrict gb)
{
    double a1[PAIR][LANES] = {{0}}, a2[PAIR][LANES] = {{0}};
    double m1[PAIR], m2[PAIR];
    int64_t i = 0, m = n - n % LANES;
    for (i = 0; i < m; i += LANES)
        for (int r = 0; r < R; r++)
            for (int k = 0; k < LANES; k++) {
                int64_t at = r * n + i + k;
                double gi = g[at], xh = (x[at] - mu[r]) * rstd[r];
                a1[r][k] += gi * w[i + k];
                a2[r][k] += gi * w[i + k] * xh;
            }
    for (int r = 0; r < R; r++) {
        m1[r] = sum_lanes(a1[r]);
        m2[r] = sum_lanes(a2[r]);
        for (int64_t j = m; j < n; j++) {
            double gi = g[r * n + j], xh = (x[r * n + j] - mu[r]) * rstd[r];
            m1[r] += gi * w[j];
            m2[r] += gi * w[j] * xh;
        }
        m1[r] /= (double)n;
        m2[r] /= (double)n;
    }
    for (i = 0; i < n; i++)
        for (int r = 0; r < R; r++) {
            int64_t at = r * n + i;
            double gi = g[at], xh = (x[at] - mu[r]) * rstd[r];
            gw[i] += gi * xh;
            gb[i] += gi;
            gx[at] = (float)(rstd[r] * (gi * w[i] - m1[r] - xh * m2[r]));
        }
    for (int r = 0; r < R; r++)
        if (!isfinite(m1[r]) || !isfinite(m2[r]))
            tg__ln_backward_row_torch(x + r * n, g + r * n, w, gx + r * n,
                                      true, n, mu[r], rstd[r]);
}

/* TG__HOT (hot.h): compiled for AVX-512 too, 8 of the LANES in one
 * register (the sums are in the same order in every clone: same bits). */
TG__HOT static void forward_f32(const float *restrict x,
                                const float *restrict w,
                                const float *restrict b, float *restrict y,
                                int64_t n, int64_t rows, double eps,
                                double *mu, double *rstd)
{
    int64_t r = 0;
    for (; r + PAIR <= rows; r += PAIR)
        forward_rows(PAIR, x + r * n, w, b, y + r * n, n, eps, mu + r,
                     rstd + r);
    if (r < rows)
        forward_rows(1, x + r * n, w, b, y + r * n, n, eps, mu + r, rstd + r);
}

TG__HOT static void backward_f32(const float *restrict x,
                                 const float *restrict g,
                                 const float *restrict w, float *restrict gx,
                                 int64_t n, int64_t rows, const double *mu,
                                 const double *rstd, double *restrict gw,
                                 double *restrict gb)
{
    int64_t r = 0;
    for (; r + PAIR <= rows; r += PAIR)
        backward_rows(PAIR, x + r * n, g + r * n, w, gx + r * n, n, mu + r,
                      rstd + r, gw, gb);
    if (r < rows)
        backward_rows(1, x + r * n, g + r * n, w, gx + r * n, n, mu + r,
                      rstd + r, gw, gb);
}

/* The entry points: plain functions around the clones, which stay static
 * (a global target_clones function would be exported as an ifunc, and
 * clang's hidden one is not found at load time). */
void tg__ln_forward_rows_f32(const float *restrict x, const float *restrict w,
                             const float *restrict b, float *restrict y,
                             int64_t n, int64_t rows, double eps, double *mu,
                             double *rstd)
{
    forward_f32(x, w, b, y, n, rows, eps, mu, rstd);
}

void tg__ln_backward_rows_f32(const float *restrict x, const float *restrict g,
                              const float *restrict w, float *restrict gx,
                              int64_t n, int64_t rows, const double *mu,
                              const double *rstd, double *restrict gw,
                              double *restrict gb)
{
    backward_f32(x, g, w, gx, n, rows, mu, rstd, gw, gb);
}
