/*
 * conv_kernel.c — convolution as im2col + gemm, f32 and f64.
 *
 * For one sample and one group, im2col lays the input windows out as a
 * matrix col of K = (c / g) kh kw rows (one per weight tap) and P = oh ow
 * columns (one per output position), zeros where a tap falls in the
 * padding. Then
 *
 *     forward:      y_g  (o/g x P) = w_g (o/g x K) @ col
 *     input grad:   col = w_g^T @ gy_g,  then col2im adds col back into gx
 *     weight grad:  gw_g += gy_g @ col^T   (summed over the samples)
 *
 * all three through tg__gemm_*. Each call reuses one col of K x P elements
 * (the caller's scratch, from the tape arena), so the steady state
 * allocates nothing.
 */
#include "ops/conv_kernel.h"

#include "tensor/gemm.h"

#include <string.h>

int64_t tg__conv_col_elems(const tg__conv_geom *g)
{
    return g->c / g->g * g->kh * g->kw * g->oh * g->ow;
}

/* The output columns [lo, hi) whose tap at offset off reads inside a row
 * of width w (the others read padding). */
static void valid_span(int64_t ow, int64_t sw, int64_t off, int64_t w,
                       int64_t *lo, int64_t *hi)
{
    int64_t a = off < 0 ? (-off + sw - 1) / sw : 0;   /* first ix >= 0 */
    int64_t b = off < w ? (w - off + sw - 1) / sw : 0; /* first ix >= w */
    *lo = a < ow ? a : ow;
    *hi = b < ow ? b : ow;
    if (*hi < *lo)
        *hi = *lo;
}

/* im2col of cg channels of one sample: x (cg, h, w) into col (K, P). */
#define IM2COL_BODY(T)                                                       \
    for (int64_t c = 0; c < cg; c++)                                         \
        for (int64_t p = 0; p < g->kh; p++)                                  \
            for (int64_t q = 0; q < g->kw; q++) {                            \
                T *row = col + ((c * g->kh + p) * g->kw + q) * g->oh * g->ow; \
                int64_t off = q * g->dw - g->pw, lo, hi;                     \
                valid_span(g->ow, g->sw, off, g->w, &lo, &hi);               \
                for (int64_t i = 0; i < g->oh; i++) {                        \
                    T *r = row + i * g->ow;                                  \
                    int64_t iy = i * g->sh - g->ph + p * g->dh;              \
                    if (iy < 0 || iy >= g->h) {                              \
                        memset(r, 0, (size_t)g->ow * sizeof *r);             \
                        continue;                                            \
                    }                                                        \
                    const T *xr = x + (c * g->h + iy) * g->w;                \
                    for (int64_t j = 0; j < lo; j++)                         \
                        r[j] = 0;                                            \
                    if (g->sw == 1)                                          \
                        memcpy(r + lo, xr + off + lo, (size_t)(hi - lo) * sizeof *r); \
                    else                                                     \
                        for (int64_t j = lo; j < hi; j++)                    \
                            r[j] = xr[off + j * g->sw];                      \
                    for (int64_t j = hi; j < g->ow; j++)                     \
                        r[j] = 0;                                            \
                }                                                            \
            }

/* col2im: the inverse walk, adding col (K, P) into gx (cg, h, w). */
#define COL2IM_BODY(T)                                                       \
    for (int64_t c = 0; c < cg; c++)                                         \
        for (int64_t p = 0; p < g->kh; p++)                                  \
            for (int64_t q = 0; q < g->kw; q++) {                            \
                const T *row = col + ((c * g->kh + p) * g->kw + q) * g->oh * g->ow; \
                int64_t off = q * g->dw - g->pw, lo, hi;                     \
                valid_span(g->ow, g->sw, off, g->w, &lo, &hi);               \
                for (int64_t i = 0; i < g->oh; i++) {                        \
                    int64_t iy = i * g->sh - g->ph + p * g->dh;              \
                    if (iy < 0 || iy >= g->h)                                \
                        continue;                                            \
                    const T *r = row + i * g->ow;                            \
                    T *xr = gx + (c * g->h + iy) * g->w;                     \
                    for (int64_t j = lo; j < hi; j++)                        \
                        xr[off + j * g->sw] += r[j];                         \
                }                                                            \
            }

static void im2col_f32(const tg__conv_geom *g, int64_t cg, const float *x,
                       float *col)
{
    IM2COL_BODY(float)
}
static void im2col_f64(const tg__conv_geom *g, int64_t cg, const double *x,
                       double *col)
{
    IM2COL_BODY(double)
}
static void col2im_f32(const tg__conv_geom *g, int64_t cg, const float *col,
                       float *gx)
{
    COL2IM_BODY(float)
}
static void col2im_f64(const tg__conv_geom *g, int64_t cg, const double *col,
                       double *gx)
{
    COL2IM_BODY(double)
}

/* Byte-addressed views of the operands, so one driver serves both dtypes. */
static void im2col(tg_dtype dt, const tg__conv_geom *g, const void *x,
                   void *col)
{
    int64_t cg = g->c / g->g;
    if (dt == TG_F32)
        im2col_f32(g, cg, x, col);
    else
        im2col_f64(g, cg, x, col);
}

static void col2im(tg_dtype dt, const tg__conv_geom *g, const void *col,
                   void *gx)
{
    int64_t cg = g->c / g->g;
    if (dt == TG_F32)
        col2im_f32(g, cg, col, gx);
    else
        col2im_f64(g, cg, col, gx);
}

static void gemm(tg_dtype dt, bool ta, bool tb, int64_t m, int64_t n,
                 int64_t k, const void *A, int64_t lda, const void *B,
                 int64_t ldb, bool accumulate, void *C, int64_t ldc)
{
    if (dt == TG_F32)
        tg__gemm_f32(ta, tb, m, n, k, A, lda, B, ldb, accumulate ? 1.0f : 0.0f,
                     C, ldc);
    else
        tg__gemm_f64(ta, tb, m, n, k, A, lda, B, ldb, accumulate ? 1.0 : 0.0,
                     C, ldc);
}

static const void *at(const void *p, int64_t elems, size_t es)
{
    return (const unsigned char *)p + (size_t)elems * es;
}
static void *at_mut(void *p, int64_t elems, size_t es)
{
    return (unsigned char *)p + (size_t)elems * es;
}

void tg__conv_forward(tg_dtype dt, const tg__conv_geom *g, const void *x,
                      const void *w, const void *bias, void *y, void *col)
{
    size_t es = tg_dtype_size(dt);
    int64_t cg = g->c / g->g, og = g->o / g->g, P = g->oh * g->ow;
    int64_t K = cg * g->kh * g->kw;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < g->g; gi++) {
            im2col(dt, g, at(x, (n * g->c + gi * cg) * g->h * g->w, es), col);
            gemm(dt, false, false, og, P, K, at(w, gi * og * K, es), K, col,
                 P, false, at_mut(y, (n * g->o + gi * og) * P, es), P);
        }
    if (bias == NULL)
        return;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t o = 0; o < g->o; o++) {
            int64_t base = (n * g->o + o) * P;
            if (dt == TG_F32) {
                float *yr = (float *)y + base, b = ((const float *)bias)[o];
                for (int64_t i = 0; i < P; i++)
                    yr[i] += b;
            } else {
                double *yr = (double *)y + base, b = ((const double *)bias)[o];
                for (int64_t i = 0; i < P; i++)
                    yr[i] += b;
            }
        }
}

void tg__conv_input_grad(tg_dtype dt, const tg__conv_geom *g, const void *gy,
                         const void *w, void *gx, void *col)
{
    size_t es = tg_dtype_size(dt);
    int64_t cg = g->c / g->g, og = g->o / g->g, P = g->oh * g->ow;
    int64_t K = cg * g->kh * g->kw;
    memset(gx, 0, (size_t)(g->n * g->c * g->h * g->w) * es);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < g->g; gi++) {
            gemm(dt, true, false, K, P, og, at(w, gi * og * K, es), K,
                 at(gy, (n * g->o + gi * og) * P, es), P, false, col, P);
            col2im(dt, g, col,
                   at_mut(gx, (n * g->c + gi * cg) * g->h * g->w, es));
        }
}

void tg__conv_weight_grad(tg_dtype dt, const tg__conv_geom *g, const void *x,
                          const void *gy, void *gw, void *col)
{
    size_t es = tg_dtype_size(dt);
    int64_t cg = g->c / g->g, og = g->o / g->g, P = g->oh * g->ow;
    int64_t K = cg * g->kh * g->kw;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < g->g; gi++) {
            im2col(dt, g, at(x, (n * g->c + gi * cg) * g->h * g->w, es), col);
            gemm(dt, false, true, og, K, P,
                 at(gy, (n * g->o + gi * og) * P, es), P, col, P, n > 0,
                 at_mut(gw, gi * og * K, es), K);
        }
}

void tg__conv_bias_grad(tg_dtype dt, const tg__conv_geom *g, const void *gy,
                        void *gb)
{
    int64_t P = g->oh * g->ow;
    for (int64_t o = 0; o < g->o; o++) {
        double s = 0;
        for (int64_t n = 0; n < g->n; n++) {
            int64_t base = (n * g->o + o) * P;
            if (dt == TG_F32) {
                const float *r = (const float *)gy + base;
                float part = 0;
                for (int64_t i = 0; i < P; i++)
                    part += r[i];
                s += part;
            } else {
                const double *r = (const double *)gy + base;
                for (int64_t i = 0; i < P; i++)
                    s += r[i];
            }
        }
        if (dt == TG_F32)
            ((float *)gb)[o] = (float)s;
        else
            ((double *)gb)[o] = s;
    }
}
