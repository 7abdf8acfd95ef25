/*
 * conv_cols.c — im2col and col2im: the input windows of a convolution
 * laid out as a matrix, and that matrix's columns added back.
 *
 * For one sample and one group, im2col lays the input windows out as a
 * matrix col of K = (c / g) kh kw rows (one per weight tap) and P = oh ow
 * columns (one per output position), zeros where a tap falls in the
 * padding; col2im is its adjoint, adding each column's values back to the
 * input positions they came from. conv_kernel.c multiplies col by the
 * weights with the project's gemm.
 */
#include "ops/conv_cols.h"

#include "tensor/pool.h"

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
bool tg__conv_wide_shape(const tg__conv_geom *g)
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
bool tg__conv_wide(const tg__conv_geom *g)
{
    return !g->narrow && tg__conv_wide_shape(g);
}

int64_t tg__conv_pitch(const tg__conv_geom *g)
{
    return tg__conv_wide(g) ? (g->oh - 1) * g->w + g->ow : g->oh * g->ow;
}

/* No inf or NaN in p: none has an all-ones exponent. Integer tests, so
 * that the loop vectorises (an OR of comparisons, no branch). */
static bool all_finite(tg_dtype dt, const void *p, int64_t n)
{
    if (dt == TG_F32) {
        const uint32_t exp = 0x7f800000u;
        uint32_t bad = 0;
        for (int64_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, (const float *)p + i, sizeof b);
            bad |= (b & exp) == exp;
        }
        return bad == 0;
    }
    const uint64_t exp = 0x7ff0000000000000u;
    uint64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, (const double *)p + i, sizeof b);
        bad |= (b & exp) == exp;
    }
    return bad == 0;
}

tg__conv_geom tg__conv_guarded(tg_dtype dt, const tg__conv_geom *g,
                               const void *p, int64_t n)
{
    tg__conv_geom r = *g;
    r.narrow = tg__conv_wide_shape(g) && !all_finite(dt, p, n);
    return r;
}

/* dst[j] = src[j * stride] for j < n (a loop: the runs are short). The
 * buffers never overlap (restrict), so the loops vectorise. */
static void copy_run(tg_dtype dt, void *restrict dst, const void *restrict src,
                     int64_t stride, int64_t n)
{
    if (dt == TG_F32) {
        float *restrict d = dst;
        const float *restrict a = src;
        if (stride == 1)
            for (int64_t j = 0; j < n; j++)
                d[j] = a[j];
        else
            for (int64_t j = 0; j < n; j++)
                d[j] = a[j * stride];
    } else {
        double *restrict d = dst;
        const double *restrict a = src;
        for (int64_t j = 0; j < n; j++)
            d[j] = a[j * stride];
    }
}

/* dst[j * stride] += src[j] for j < n. */
static void add_run(tg_dtype dt, void *restrict dst, int64_t stride,
                    const void *restrict src, int64_t n)
{
    if (dt == TG_F32) {
        float *restrict d = dst;
        const float *restrict a = src;
        if (stride == 1)
            for (int64_t j = 0; j < n; j++)
                d[j] += a[j];
        else
            for (int64_t j = 0; j < n; j++)
                d[j * stride] += a[j];
    } else {
        double *restrict d = dst;
        const double *restrict a = src;
        for (int64_t j = 0; j < n; j++)
            d[j * stride] += a[j];
    }
}

static unsigned char *byte_at(const void *p, int64_t elems, size_t es)
{
    return (unsigned char *)p + (size_t)elems * es;
}

/*
 * The one walk both directions share: for cg channels of one sample, img
 * (cg, h, w) and the columns of col (K rows, ld apart) where the sample's
 * block starts. to_col: im2col writes every element of the block (zeros
 * in the padding); else col2im adds the block into img.
 */
static void walk(tg_dtype dt, const tg__conv_geom *g, int64_t cg, void *img,
                 void *col, int64_t ld, bool to_col)
{
    size_t es = tg_dtype_size(dt);
    bool wd = tg__conv_wide(g);
    int64_t pitch = tg__conv_pitch(g);
    for (int64_t c = 0; c < cg; c++)
        for (int64_t p = 0; p < g->kh; p++)
            for (int64_t q = 0; q < g->kw; q++) {
                unsigned char *row = byte_at(col, ((c * g->kh + p) * g->kw + q) * ld, es);
                if (wd) { /* one run of img per tap */
                    unsigned char *run = byte_at(img, (c * g->h + p) * g->w + q, es);
                    if (to_col)
                        memcpy(row, run, (size_t)pitch * es);
                    else
                        add_run(dt, run, 1, row, pitch);
                    continue;
                }
                int64_t off = q * g->dw - g->pw, lo, hi;
                valid_span(g->ow, g->sw, off, g->w, &lo, &hi);
                for (int64_t i = 0; i < g->oh; i++) {
                    unsigned char *r = byte_at(row, i * g->ow, es);
                    int64_t iy = i * g->sh - g->ph + p * g->dh;
                    /* A row of padding, or a tap whose columns all land
                     * in the padding (lo == hi; x + off + lo sw may then
                     * point before the image, which C does not allow even
                     * unread): zeros in col, nothing to add back. */
                    bool inside = iy >= 0 && iy < g->h && lo < hi;
                    if (to_col && !inside) {
                        memset(r, 0, (size_t)g->ow * es);
                        continue;
                    }
                    if (!inside)
                        continue;
                    unsigned char *xr =
                        byte_at(img, (c * g->h + iy) * g->w + off + lo * g->sw, es);
                    if (!to_col) {
                        add_run(dt, xr, g->sw, byte_at(r, lo, es), hi - lo);
                        continue;
                    }
                    memset(r, 0, (size_t)lo * es);
                    copy_run(dt, byte_at(r, lo, es), xr, g->sw, hi - lo);
                    memset(byte_at(r, hi, es), 0, (size_t)(g->ow - hi) * es);
                }
            }
}

/* The im2col or col2im of a range of samples, for the thread pool: each
 * sample's columns of col and its block of x or gx are its own, so parts
 * write disjoint memory. */
typedef struct cols_job {
    tg_dtype dt;
    const tg__conv_geom *g;
    int64_t n0, nb, gi;
    void *img, *col;
    bool to_col;
} cols_job;

static void cols_part(void *ctx, int64_t begin, int64_t end)
{
    const cols_job *j = ctx;
    const tg__conv_geom *g = j->g;
    size_t es = tg_dtype_size(j->dt);
    int64_t cg = g->c / g->g, P = tg__conv_pitch(g), ld = j->nb * P;
    for (int64_t k = begin; k < end; k++) {
        int64_t off = ((j->n0 + k) * g->c + j->gi * cg) * g->h * g->w;
        walk(j->dt, g, cg, byte_at(j->img, off, es), byte_at(j->col, k * P, es),
             ld, j->to_col);
    }
}

/* Samples per part: about 64K elements of col each. */
static int64_t cols_min_part(const tg__conv_geom *g)
{
    int64_t per = g->c / g->g * g->kh * g->kw * g->oh * g->ow;
    int64_t m = ((int64_t)1 << 16) / (per > 0 ? per : 1);
    return m < 1 ? 1 : m;
}

void tg__conv_im2col(tg_dtype dt, const tg__conv_geom *g, const void *x,
                     int64_t n0, int64_t nb, int64_t gi, void *col)
{
    cols_job j = {dt, g, n0, nb, gi, (void *)x, col, true};
    tg__parallel_for(nb, 1, cols_min_part(g), cols_part, &j);
}

void tg__conv_col2im(tg_dtype dt, const tg__conv_geom *g, const void *col,
                     int64_t n0, int64_t nb, int64_t gi, void *gx)
{
    cols_job j = {dt, g, n0, nb, gi, gx, (void *)col, false};
    tg__parallel_for(nb, 1, cols_min_part(g), cols_part, &j);
}
