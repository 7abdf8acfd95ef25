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
 * all three through tg__gemm_*. So that the products are large enough
 * for the gemm to run near its peak, the blocks of several samples stand
 * side by side (col is K x nb P, and the output or its gradient is
 * shuffled to and from o/g x nb P rows), as many samples as keep those two
 * under 128K elements: small enough that the gemm reads col from cache right
 * after im2col wrote it (at W6's shapes this halved the time against 4M). The scratch is the caller's, from the tape arena, so the
 * steady state allocates nothing.
 */
#include "ops/conv_kernel.h"

#include "tensor/gemm.h"
#include "tensor/pool.h"

#include <math.h>
#include <string.h>

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

/*
 * Wide columns. With stride 1, dilation 1 and no padding, tap (p, q) of
 * output (i, j) reads x[i + p][j + q], so if the output rows are laid out
 * w apart instead of ow (the last w - ow columns of each row unused), the
 * tap's im2col row is one contiguous run of x, (oh - 1) w + ow long, and
 * col2im adds one contiguous run back: no per-row copies of 10 or 28
 * values. The gemm then computes the unused columns too (at W6's conv2,
 * 136 columns where 100 are used), which pays when the runs replace copies
 * of short rows: taken while the columns grow by at most half. The output
 * gradient is laid out with zeros in the unused columns, so they add
 * nothing to the weight or input gradient.
 */
static bool wide_shape(const tg__conv_geom *g)
{
    int64_t pitch = (g->oh - 1) * g->w + g->ow;
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->ph == 0 && g->pw == 0 && g->ow < g->w &&
           2 * pitch <= 3 * g->oh * g->ow;
}

/*
 * The unused columns are exact only while the other operand is finite:
 * 0 * inf is NaN. A weight gradient whose x, or an input gradient whose
 * weight, holds an inf or NaN takes the ordinary columns (g->narrow), as
 * PyTorch's sums never read those products.
 */
static bool wide(const tg__conv_geom *g)
{
    return !g->narrow && wide_shape(g);
}

/* The columns of one sample in col and in the output rows t: oh ow, or
 * (oh - 1) w + ow when wide. */
static int64_t pitch_of(const tg__conv_geom *g)
{
    return wide(g) ? (g->oh - 1) * g->w + g->ow : g->oh * g->ow;
}

static bool all_finite(tg_dtype dt, const void *p, int64_t n)
{
    bool ok = true;
    if (dt == TG_F32)
        for (int64_t i = 0; i < n; i++)
            ok &= isfinite(((const float *)p)[i]) != 0;
    else
        for (int64_t i = 0; i < n; i++)
            ok &= isfinite(((const double *)p)[i]) != 0;
    return ok;
}

/* g, narrow if the wide columns would multiply a non-finite value of p
 * (n elements) by 0. */
static tg__conv_geom guarded(tg_dtype dt, const tg__conv_geom *g,
                             const void *p, int64_t n)
{
    tg__conv_geom r = *g;
    r.narrow = wide_shape(g) && !all_finite(dt, p, n);
    return r;
}

/* The wide im2col and col2im: one run per tap. */
#define WIDE_IM2COL_BODY(T)                                                  \
    for (int64_t c = 0; c < cg; c++)                                         \
        for (int64_t p = 0; p < g->kh; p++)                                  \
            for (int64_t q = 0; q < g->kw; q++)                              \
                memcpy(col + ((c * g->kh + p) * g->kw + q) * ld,             \
                       x + (c * g->h + p) * g->w + q,                        \
                       (size_t)pitch * sizeof(T));

#define WIDE_COL2IM_BODY(T)                                                  \
    for (int64_t c = 0; c < cg; c++)                                         \
        for (int64_t p = 0; p < g->kh; p++)                                  \
            for (int64_t q = 0; q < g->kw; q++) {                            \
                const T *restrict r =                                        \
                    col + ((c * g->kh + p) * g->kw + q) * ld;                \
                T *restrict xr = gx + (c * g->h + p) * g->w + q;             \
                for (int64_t t = 0; t < pitch; t++)                          \
                    xr[t] += r[t];                                           \
            }

/* im2col of cg channels of one sample: x (cg, h, w) into the P columns of
 * col (K rows, ld apart) where the sample's block starts. */
#define IM2COL_BODY(T)                                                       \
    for (int64_t c = 0; c < cg; c++)                                         \
        for (int64_t p = 0; p < g->kh; p++)                                  \
            for (int64_t q = 0; q < g->kw; q++) {                            \
                T *row = col + ((c * g->kh + p) * g->kw + q) * ld;       \
                int64_t off = q * g->dw - g->pw, lo, hi;                     \
                valid_span(g->ow, g->sw, off, g->w, &lo, &hi);               \
                for (int64_t i = 0; i < g->oh; i++) {                        \
                    T *restrict r = row + i * g->ow;                         \
                    int64_t iy = i * g->sh - g->ph + p * g->dh;              \
                    if (iy < 0 || iy >= g->h) {                              \
                        memset(r, 0, (size_t)g->ow * sizeof *r);             \
                        continue;                                            \
                    }                                                        \
                    const T *restrict xr = x + (c * g->h + iy) * g->w;       \
                    for (int64_t j = 0; j < lo; j++)                         \
                        r[j] = 0;                                            \
                    if (g->sw == 1) /* short rows: a loop beats memcpy */ \
                        for (int64_t j = lo; j < hi; j++)                    \
                            r[j] = xr[off + j];                              \
                    else                                                     \
                        for (int64_t j = lo; j < hi; j++)                    \
                            r[j] = xr[off + j * g->sw];                      \
                    for (int64_t j = hi; j < g->ow; j++)                     \
                        r[j] = 0;                                            \
                }                                                            \
            }

/* col2im: the inverse walk, adding those columns of col into gx (cg, h, w). */
#define COL2IM_BODY(T)                                                       \
    for (int64_t c = 0; c < cg; c++)                                         \
        for (int64_t p = 0; p < g->kh; p++)                                  \
            for (int64_t q = 0; q < g->kw; q++) {                            \
                const T *row = col + ((c * g->kh + p) * g->kw + q) * ld;       \
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
                       float *col, int64_t ld)
{
    int64_t pitch = pitch_of(g);
    if (wide(g)) {
        WIDE_IM2COL_BODY(float)
    } else {
        IM2COL_BODY(float)
    }
}
static void im2col_f64(const tg__conv_geom *g, int64_t cg, const double *x,
                       double *col, int64_t ld)
{
    int64_t pitch = pitch_of(g);
    if (wide(g)) {
        WIDE_IM2COL_BODY(double)
    } else {
        IM2COL_BODY(double)
    }
}
static void col2im_f32(const tg__conv_geom *g, int64_t cg, const float *col,
                       float *gx, int64_t ld)
{
    int64_t pitch = pitch_of(g);
    if (wide(g)) {
        WIDE_COL2IM_BODY(float)
    } else {
        COL2IM_BODY(float)
    }
}
static void col2im_f64(const tg__conv_geom *g, int64_t cg, const double *col,
                       double *gx, int64_t ld)
{
    int64_t pitch = pitch_of(g);
    if (wide(g)) {
        WIDE_COL2IM_BODY(double)
    } else {
        COL2IM_BODY(double)
    }
}

/* Byte-addressed views of the operands, so one driver serves both dtypes. */
static const void *at(const void *p, int64_t elems, size_t es)
{
    return (const unsigned char *)p + (size_t)elems * es;
}
static void *at_mut(void *p, int64_t elems, size_t es)
{
    return (unsigned char *)p + (size_t)elems * es;
}

/* The im2col or col2im of a range of samples, for the thread pool: each
 * sample's columns of col and its block of x or gx are its own, so parts
 * write disjoint memory. */
typedef struct cols_job {
    tg_dtype dt;
    const tg__conv_geom *g;
    int64_t n0, nb, gi;
    const void *x;   /* im2col: read */
    void *gx;        /* col2im: added into */
    void *col;
} cols_job;

static void cols_part(void *ctx, int64_t begin, int64_t end)
{
    const cols_job *j = ctx;
    const tg__conv_geom *g = j->g;
    size_t es = tg_dtype_size(j->dt);
    int64_t cg = g->c / g->g, P = pitch_of(g), ld = j->nb * P;
    for (int64_t k = begin; k < end; k++) {
        int64_t off = ((j->n0 + k) * g->c + j->gi * cg) * g->h * g->w;
        if (j->gx == NULL && j->dt == TG_F32)
            im2col_f32(g, cg, at(j->x, off, es), (float *)j->col + k * P, ld);
        else if (j->gx == NULL)
            im2col_f64(g, cg, at(j->x, off, es), (double *)j->col + k * P, ld);
        else if (j->dt == TG_F32)
            col2im_f32(g, cg, (const float *)j->col + k * P,
                       at_mut(j->gx, off, es), ld);
        else
            col2im_f64(g, cg, (const double *)j->col + k * P,
                       at_mut(j->gx, off, es), ld);
    }
}

/* Samples per part: about 64K elements of col each. */
static int64_t cols_min_part(const tg__conv_geom *g)
{
    int64_t per = g->c / g->g * g->kh * g->kw * g->oh * g->ow;
    int64_t m = ((int64_t)1 << 16) / (per > 0 ? per : 1);
    return m < 1 ? 1 : m;
}

/* Columns nb samples wide: the im2col blocks of samples n0 .. n0 + nb - 1
 * of group gi side by side, col (K x nb P). */
static void im2col(tg_dtype dt, const tg__conv_geom *g, const void *x,
                   int64_t n0, int64_t nb, int64_t gi, void *col)
{
    cols_job j = {dt, g, n0, nb, gi, x, NULL, col};
    tg__parallel_for(nb, 1, cols_min_part(g), cols_part, &j);
}

static void col2im(tg_dtype dt, const tg__conv_geom *g, const void *col,
                   int64_t n0, int64_t nb, int64_t gi, void *gx)
{
    cols_job j = {dt, g, n0, nb, gi, NULL, gx, (void *)col};
    tg__parallel_for(nb, 1, cols_min_part(g), cols_part, &j);
}

/* Between y's layout (N, O, P) and a group's rows side by side,
 * t (o/g x nb P) for samples n0 .. n0 + nb - 1: gather reads y into t,
 * else t is written into y. */
static void shuffle(tg_dtype dt, const tg__conv_geom *g, int64_t n0,
                    int64_t nb, int64_t gi, void *y, void *t, bool gather)
{
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = g->oh * g->ow, pitch = pitch_of(g);
    bool wd = wide(g);
    size_t row = (size_t)(wd ? g->ow : P) * es;
    size_t gap = (size_t)(g->w - g->ow) * es;
    for (int64_t o = 0; o < og; o++)
        for (int64_t k = 0; k < nb; k++) {
            unsigned char *yr = at_mut(y, ((n0 + k) * g->o + gi * og + o) * P, es);
            unsigned char *tr = at_mut(t, o * nb * pitch + k * pitch, es);
            if (!wd) {
                memcpy(gather ? tr : yr, gather ? yr : tr, row);
                continue;
            }
            for (int64_t i = 0; i < g->oh; i++) { /* rows w apart in t */
                unsigned char *ti = tr + (size_t)(i * g->w) * es;
                unsigned char *yi = yr + (size_t)(i * g->ow) * es;
                memcpy(gather ? ti : yi, gather ? yi : ti, row);
                if (gather && i + 1 < g->oh)
                    memset(ti + row, 0, gap); /* unused: adds nothing */
            }
        }
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

/* Samples per chunk: as many as keep the scratch (col and a group's
 * output rows) under TG__CONV_COL_LIMIT elements (512 KiB of f32: the
 * cache), at least 1. */
#define TG__CONV_COL_LIMIT ((int64_t)1 << 17)

int64_t tg__conv_chunk(const tg__conv_geom *g)
{
    /* The wide pitch when the shape allows it, even when narrow: the same
     * samples per chunk, so the scratch made for the wide columns holds
     * the narrow ones. */
    int64_t pitch = wide_shape(g) ? (g->oh - 1) * g->w + g->ow
                                  : g->oh * g->ow;
    int64_t per = (g->c / g->g * g->kh * g->kw + g->o / g->g) * pitch;
    int64_t nb = TG__CONV_COL_LIMIT / (per > 0 ? per : 1);
    return nb < 1 ? 1 : nb > g->n ? g->n : nb;
}

bool tg__conv_col_kept(tg_dtype dt, const tg__conv_geom *g)
{
    return g->g == 1 && tg__conv_chunk(g) == g->n &&
           !tg__conv_direct_ok(dt, g);
}

int64_t tg__conv_scratch_elems(const tg__conv_geom *g)
{
    int64_t nb = tg__conv_chunk(g), P = pitch_of(g);
    int64_t cols = nb * P * (g->c / g->g * g->kh * g->kw + g->o / g->g);
    int64_t direct = tg__conv_direct_scratch(g);
    return direct > cols ? direct : cols;
}

/* The two parts of the scratch: col (K x nb P), then t (o/g x nb P). */
static void *rows_of(tg_dtype dt, const tg__conv_geom *g, void *scratch)
{
    int64_t K = g->c / g->g * g->kh * g->kw;
    return at_mut(scratch, K * tg__conv_chunk(g) * pitch_of(g),
                  tg_dtype_size(dt));
}

static void add_bias(tg_dtype dt, const tg__conv_geom *g, const void *bias,
                     void *y)
{
    int64_t P = g->oh * g->ow;
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

void tg__conv_forward(tg_dtype dt, const tg__conv_geom *g, const void *x,
                      const void *w, const void *bias, void *y, void *scratch)
{
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = pitch_of(g);
    int64_t K = g->c / g->g * g->kh * g->kw, chunk = tg__conv_chunk(g);
    if (tg__conv_direct_ok(dt, g)) {
        tg__conv_direct_forward(g, x, w, bias, y, scratch);
        return;
    }
    void *t = rows_of(dt, g, scratch);
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        for (int64_t gi = 0; gi < g->g; gi++) {
            im2col(dt, g, x, n0, nb, gi, scratch);
            gemm(dt, false, false, og, nb * P, K, at(w, gi * og * K, es), K,
                 scratch, nb * P, false, t, nb * P);
            shuffle(dt, g, n0, nb, gi, y, t, false);
        }
    }
    if (bias != NULL)
        add_bias(dt, g, bias, y);
}

void tg__conv_input_grad(tg_dtype dt, const tg__conv_geom *geom,
                         const void *gy, const void *w, void *gx, void *scratch)
{
    const tg__conv_geom gg = guarded(dt, geom, w, geom->o * (geom->c / geom->g)
                                                      * geom->kh * geom->kw);
    const tg__conv_geom *g = &gg;
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = pitch_of(g);
    int64_t K = g->c / g->g * g->kh * g->kw, chunk = tg__conv_chunk(g);
    void *t = rows_of(dt, g, scratch);
    memset(gx, 0, (size_t)(g->n * g->c * g->h * g->w) * es);
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        for (int64_t gi = 0; gi < g->g; gi++) {
            shuffle(dt, g, n0, nb, gi, (void *)gy, t, true);
            gemm(dt, true, false, K, nb * P, og, at(w, gi * og * K, es), K,
                 t, nb * P, false, scratch, nb * P);
            col2im(dt, g, scratch, n0, nb, gi, gx);
        }
    }
}

void tg__conv_weight_grad(tg_dtype dt, const tg__conv_geom *geom,
                          const void *x, const void *gy, void *gw,
                          void *scratch, bool col_ready)
{
    const tg__conv_geom gg = guarded(dt, geom, x, geom->n * geom->c * geom->h
                                                      * geom->w);
    const tg__conv_geom *g = &gg;
    col_ready = col_ready && !g->narrow; /* forward's columns were wide */
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = pitch_of(g);
    int64_t K = g->c / g->g * g->kh * g->kw, chunk = tg__conv_chunk(g);
    if (tg__conv_direct_ok(dt, g)) {
        tg__conv_direct_weight_grad(g, x, gy, gw, scratch);
        return;
    }
    void *t = rows_of(dt, g, scratch);
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        for (int64_t gi = 0; gi < g->g; gi++) {
            if (!col_ready)
                im2col(dt, g, x, n0, nb, gi, scratch);
            shuffle(dt, g, n0, nb, gi, (void *)gy, t, true);
            gemm(dt, false, true, og, K, nb * P, t, nb * P, scratch, nb * P,
                 n0 > 0, at_mut(gw, gi * og * K, es), K);
        }
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
            if (dt == TG_F32) { /* 16 running sums: a vectorised loop */
                const float *r = (const float *)gy + base;
                float lane[16] = {0};
                int64_t i = 0;
                for (; i + 16 <= P; i += 16)
                    for (int l = 0; l < 16; l++)
                        lane[l] += r[i + l];
                float part = 0;
                for (; i < P; i++)
                    part += r[i];
                for (int l = 0; l < 16; l++)
                    part += lane[l];
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
