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
 */
enum { LANES = 8 };

static inline double sum_lanes(const double *acc)
{
    double t = 0;
    for (int k = 0; k < LANES; k++)
        t += acc[k];
    return t;
}

/* TG__HOT (hot.h): compiled for AVX-512 too, 8 of the LANES in one
 * register (the sums are in the same order in every clone: same bits). */
TG__HOT static void forward_row_f32(const float *restrict x,
                                    const float *restrict w,
                                    const float *restrict b,
                                    float *restrict y, int64_t n, double eps,
                                    double *mu_out, double *rstd_out)
{
    double acc[LANES] = {0};
    int64_t i = 0, m = n - n % LANES;
    for (i = 0; i < m; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[i + k];
    double mu = sum_lanes(acc);
    for (; i < n; i++)
        mu += x[i];
    mu /= (double)n;
    for (int k = 0; k < LANES; k++)
        acc[k] = 0;
    for (i = 0; i < m; i += LANES)
        for (int k = 0; k < LANES; k++) {
            double d = x[i + k] - mu;
            acc[k] += d * d;
        }
    double var = sum_lanes(acc);
    for (; i < n; i++)
        var += (x[i] - mu) * (x[i] - mu);
    double rstd = 1.0 / sqrt(var / (double)n + eps);
    for (i = 0; i < n; i++)
        y[i] = (float)((x[i] - mu) * rstd * w[i] + b[i]);
    *mu_out = mu;
    *rstd_out = rstd;
}

TG__HOT static void backward_row_f32(const float *restrict x,
                                     const float *restrict g,
                                     const float *restrict w,
                                     float *restrict gx, int64_t n, double mu,
                                     double rstd, double *restrict gw,
                                     double *restrict gb)
{
    double a1[LANES] = {0}, a2[LANES] = {0};
    int64_t i = 0, m = n - n % LANES;
    for (i = 0; i < m; i += LANES)
        for (int k = 0; k < LANES; k++) {
            double gi = g[i + k], xh = (x[i + k] - mu) * rstd;
            a1[k] += gi * w[i + k];
            a2[k] += gi * w[i + k] * xh;
        }
    double m1 = sum_lanes(a1), m2 = sum_lanes(a2);
    for (; i < n; i++) {
        double gi = g[i], xh = (x[i] - mu) * rstd;
        m1 += gi * w[i];
        m2 += gi * w[i] * xh;
    }
    m1 /= (double)n;
    m2 /= (double)n;
    for (i = 0; i < n; i++) {
        double gi = g[i], xh = (x[i] - mu) * rstd;
        gw[i] += gi * xh;
        gb[i] += gi;
        gx[i] = (float)(rstd * (gi * w[i] - m1 - xh * m2));
    }
}

/* The entry points: plain functions around the clones, which stay static
 * (a global target_clones function would be exported as an ifunc, and
 * clang's hidden one is not found at load time). */
void tg__ln_forward_row_f32(const float *restrict x, const float *restrict w,
                            const float *restrict b, float *restrict y,
                            int64_t n, double eps, double *mu_out,
                            double *rstd_out)
{
    forward_row_f32(x, w, b, y, n, eps, mu_out, rstd_out);
}

void tg__ln_backward_row_f32(const float *restrict x, const float *restrict g,
                             const float *restrict w, float *restrict gx,
                             int64_t n, double mu, double rstd,
                             double *restrict gw, double *restrict gb)
{
    backward_row_f32(x, g, w, gx, n, mu, rstd, gw, gb);
}
