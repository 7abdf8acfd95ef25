/*
 * conv_kernel.c — convolution as im2col + gemm, f32 and f64.
 *
 * For one sample and one group, im2col (conv_cols.c) lays the input
 * windows out as a matrix col of K = (c / g) kh kw rows and P = oh ow
 * columns. Then
 *
 *     forward:      y_g  (o/g x P) = w_g (o/g x K) @ col
 *     input grad:   col = w_g^T @ gy_g,  then col2im adds col back into gx
 *     weight grad:  gw_g^T (K x o/g) += col @ gy_g^T  (over the samples)
 *
 * all three through tg__gemm_*. So that the products are large enough
 * for the gemm to run near its peak, the blocks of several samples stand
 * side by side (col is K x nb P, and the output or its gradient is
 * shuffled to and from o/g x nb P rows), as many samples as keep those two
 * under 128K elements: small enough that the gemm reads col from cache
 * right after im2col wrote it (at W6's shapes this halved the time against
 * 4M). The scratch is the caller's, from the tape arena, so the
 * steady state allocates nothing.
 */
#include "ops/conv_cols.h"

#include "tensor/gemm.h"

#include <string.h>

/* Byte-addressed views of the operands, so one driver serves both dtypes. */
static const void *at(const void *p, int64_t elems, size_t es)
{
    return (const unsigned char *)p + (size_t)elems * es;
}
static void *at_mut(void *p, int64_t elems, size_t es)
{
    return (unsigned char *)p + (size_t)elems * es;
}

/* Between y's layout (N, O, P) and a group's rows side by side,
 * t (o/g x nb P) for samples n0 .. n0 + nb - 1: gather reads y into t,
 * else t is written into y. */
static void shuffle(tg_dtype dt, const tg__conv_geom *g, int64_t n0,
                    int64_t nb, int64_t gi, void *y, void *t, bool gather)
{
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = g->oh * g->ow, pitch = tg__conv_pitch(g);
    bool wd = tg__conv_wide(g);
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
    int64_t pitch = tg__conv_wide_shape(g) ? (g->oh - 1) * g->w + g->ow
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
    int64_t nb = tg__conv_chunk(g), P = tg__conv_pitch(g);
    int64_t K = g->c / g->g * g->kh * g->kw;
    /* col, a group's output rows, and the weight gradient transposed. */
    int64_t cols = nb * P * (K + g->o / g->g) + K * g->o;
    int64_t direct = tg__conv_direct_scratch(g);
    return direct > cols ? direct : cols;
}

/* The parts of the scratch: col (K x nb P), then t (o/g x nb P), then
 * for the weight gradient gwt (g blocks of K x o/g). */
static void *rows_of(tg_dtype dt, const tg__conv_geom *g, void *scratch)
{
    int64_t K = g->c / g->g * g->kh * g->kw;
    return at_mut(scratch, K * tg__conv_chunk(g) * tg__conv_pitch(g),
                  tg_dtype_size(dt));
}
static void *gwt_of(tg_dtype dt, const tg__conv_geom *g, void *scratch)
{
    return at_mut(rows_of(dt, g, scratch),
                  g->o / g->g * tg__conv_chunk(g) * tg__conv_pitch(g),
                  tg_dtype_size(dt));
}

/* gw (o/g x K per group) = gwt (K x o/g per group) transposed. */
static void untranspose(tg_dtype dt, const tg__conv_geom *g, const void *gwt,
                        void *gw)
{
    int64_t og = g->o / g->g, K = g->c / g->g * g->kh * g->kw;
    for (int64_t gi = 0; gi < g->g; gi++)
        for (int64_t o = 0; o < og; o++)
            for (int64_t k = 0; k < K; k++) {
                int64_t src = gi * K * og + k * og + o, dst = (gi * og + o) * K + k;
                if (dt == TG_F32)
                    ((float *)gw)[dst] = ((const float *)gwt)[src];
                else
                    ((double *)gw)[dst] = ((const double *)gwt)[src];
            }
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
    int64_t og = g->o / g->g, P = tg__conv_pitch(g);
    int64_t K = g->c / g->g * g->kh * g->kw, chunk = tg__conv_chunk(g);
    if (tg__conv_direct_ok(dt, g)) {
        tg__conv_direct_forward(g, x, w, bias, y, scratch);
        return;
    }
    void *t = rows_of(dt, g, scratch);
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        for (int64_t gi = 0; gi < g->g; gi++) {
            tg__conv_im2col(dt, g, x, n0, nb, gi, scratch);
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
    const tg__conv_geom gg = tg__conv_guarded(dt, geom, w, geom->o * (geom->c / geom->g)
                                                      * geom->kh * geom->kw);
    const tg__conv_geom *g = &gg;
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = tg__conv_pitch(g);
    int64_t K = g->c / g->g * g->kh * g->kw, chunk = tg__conv_chunk(g);
    void *t = rows_of(dt, g, scratch);
    memset(gx, 0, (size_t)(g->n * g->c * g->h * g->w) * es);
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        for (int64_t gi = 0; gi < g->g; gi++) {
            shuffle(dt, g, n0, nb, gi, (void *)gy, t, true);
            gemm(dt, true, false, K, nb * P, og, at(w, gi * og * K, es), K,
                 t, nb * P, false, scratch, nb * P);
            tg__conv_col2im(dt, g, scratch, n0, nb, gi, gx);
        }
    }
}

/*
 * The product is taken transposed, gwt (K x o/g) = col @ gy_g^T, and
 * turned round at the end: with o/g (6 or 16) columns the gemm reads col's
 * rows where they lie and packs only gy's few rows, where gw = gy_g @
 * col^T made it transpose all of col for a product o/g rows tall.
 */
void tg__conv_weight_grad(tg_dtype dt, const tg__conv_geom *geom,
                          const void *x, const void *gy, void *gw,
                          void *scratch, bool col_ready)
{
    if (tg__conv_direct_ok(dt, geom)) {
        tg__conv_direct_weight_grad(geom, x, gy, gw, scratch);
        return;
    }
    const tg__conv_geom gg = tg__conv_guarded(dt, geom, x, geom->n * geom->c * geom->h
                                                      * geom->w);
    const tg__conv_geom *g = &gg;
    col_ready = col_ready && !g->narrow; /* forward's columns were wide */
    size_t es = tg_dtype_size(dt);
    int64_t og = g->o / g->g, P = tg__conv_pitch(g);
    int64_t K = g->c / g->g * g->kh * g->kw, chunk = tg__conv_chunk(g);
    void *t = rows_of(dt, g, scratch), *gwt = gwt_of(dt, g, scratch);
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        for (int64_t gi = 0; gi < g->g; gi++) {
            if (!col_ready)
                tg__conv_im2col(dt, g, x, n0, nb, gi, scratch);
            shuffle(dt, g, n0, nb, gi, (void *)gy, t, true);
            gemm(dt, false, true, K, og, nb * P, scratch, nb * P, t, nb * P,
                 n0 > 0, at_mut(gwt, gi * K * og, es), og);
        }
    }
    untranspose(dt, g, gwt, gw);
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
