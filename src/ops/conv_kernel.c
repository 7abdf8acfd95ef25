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
 *
 * Two kinds of shape skip im2col: one input channel goes to
 * conv_direct.c's kernel, 8 to 16 output channels to conv_implicit.c's
 * (f32, stride 1; each says when it runs). They share this scratch.
 */
#include "ops/conv_cols.h"
#include "ops/conv_implicit.h"

#include "tensor/gemm.h"
#include "tensor/pool.h"

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

/* The pitch the scratch is sized for: the wide one when the shape allows
 * it, even when narrow, so the scratch made for wide columns holds narrow
 * ones. */
static int64_t max_pitch(const tg__conv_geom *g)
{
    return tg__conv_wide_shape(g) ? (g->oh - 1) * g->w + g->ow : g->oh * g->ow;
}

static int64_t taps(const tg__conv_geom *g) { return g->c / g->g * g->kh * g->kw; }

int64_t tg__conv_chunk(const tg__conv_geom *g)
{
    int64_t per = (taps(g) + g->o / g->g) * max_pitch(g);
    int64_t nb = TG__CONV_COL_LIMIT / (per > 0 ? per : 1);
    return nb < 1 ? 1 : nb > g->n ? g->n : nb;
}

static int64_t chunks_of(const tg__conv_geom *g)
{
    int64_t c = tg__conv_chunk(g);
    return (g->n + c - 1) / c;
}

int64_t tg__conv_slots(const tg__conv_geom *g, int threads)
{
    int64_t n = chunks_of(g);
    return threads < n ? (threads < 1 ? 1 : threads) : n;
}

/* Whether the scratch of tg__conv_forward holds all of x's im2col after
 * the call (one group, all samples in one chunk, neither the direct
 * kernel nor the implicit ones of conv_implicit.h). */
static bool col_kept(tg_dtype dt, const tg__conv_geom *g)
{
    return g->g == 1 && tg__conv_chunk(g) == g->n &&
           !tg__conv_direct_ok(dt, g) && !tg__conv_implicit_ok(dt, g);
}

/*
 * The scratch: `slots` slots, each a col (K x nb P) and a group's output
 * rows t (o/g x nb P), one per thread at work; then, for the weight
 * gradient, each chunk's own gwt (g blocks of K x o/g), summed in chunk
 * order at the end so that the sum does not depend on who made which.
 */
static int64_t slot_elems(const tg__conv_geom *g)
{
    return tg__conv_chunk(g) * max_pitch(g) * (taps(g) + g->o / g->g);
}

int64_t tg__conv_scratch_elems(const tg__conv_geom *g, int64_t slots)
{
    int64_t cols = slots * slot_elems(g) + chunks_of(g) * taps(g) * g->o;
    int64_t direct = tg__conv_direct_scratch(g);
    int64_t implicit =
        tg__conv_implicit_ok(TG_F32, g) ? tg__conv_implicit_scratch(g) : 0;
    cols = direct > cols ? direct : cols;
    return implicit > cols ? implicit : cols;
}

/* One call's operands and scratch, for the chunks run by each slot. */
typedef struct conv_job {
    tg_dtype dt;
    const tg__conv_geom *g;
    const void *x, *w, *bias, *gy; /* those of the call */
    void *out;                     /* y, gx, or the per-chunk gwt */
    void *scratch;
    int64_t slots;
    bool col_ready;
    void (*chunk)(const struct conv_job *j, int64_t n0, int64_t nb,
                  int64_t ci, void *col, void *t);
} conv_job;

/* Slot s runs chunks s, s + slots, s + 2 slots, ... in its own part of
 * the scratch. Each chunk writes only its samples' outputs (or its own
 * gwt), so what is computed does not depend on the number of slots. */
static void slots_part(void *ctx, int64_t begin, int64_t end)
{
    const conv_job *j = ctx;
    const tg__conv_geom *g = j->g;
    size_t es = tg_dtype_size(j->dt);
    int64_t chunk = tg__conv_chunk(g), nch = chunks_of(g);
    for (int64_t s = begin; s < end; s++) {
        void *col = at_mut(j->scratch, s * slot_elems(g), es);
        void *t = at_mut(col, taps(g) * chunk * max_pitch(g), es);
        for (int64_t ci = s; ci < nch; ci += j->slots) {
            int64_t n0 = ci * chunk;
            int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
            j->chunk(j, n0, nb, ci, col, t);
        }
    }
}

/* With one slot the chunks run here, and the gemm and im2col inside may
 * still use the pool; with more, each slot is one part of the pool's
 * work and what runs inside it runs on its thread. */
static void run_slots(conv_job *j)
{
    if (j->slots <= 1)
        slots_part(j, 0, 1);
    else
        tg__parallel_for(j->slots, 1, 1, slots_part, j);
}

static void add_bias(const conv_job *j, int64_t n0, int64_t nb)
{
    const tg__conv_geom *g = j->g;
    int64_t P = g->oh * g->ow;
    for (int64_t n = n0; n < n0 + nb; n++)
        for (int64_t o = 0; o < g->o; o++) {
            int64_t base = (n * g->o + o) * P;
            if (j->dt == TG_F32) {
                float *yr = (float *)j->out + base;
                float b = ((const float *)j->bias)[o];
                for (int64_t i = 0; i < P; i++)
                    yr[i] += b;
            } else {
                double *yr = (double *)j->out + base;
                double b = ((const double *)j->bias)[o];
                for (int64_t i = 0; i < P; i++)
                    yr[i] += b;
            }
        }
}

static void forward_chunk(const conv_job *j, int64_t n0, int64_t nb,
                          int64_t ci, void *col, void *t)
{
    const tg__conv_geom *g = j->g;
    size_t es = tg_dtype_size(j->dt);
    int64_t og = g->o / g->g, K = taps(g), P = tg__conv_pitch(g);
    (void)ci;
    for (int64_t gi = 0; gi < g->g; gi++) {
        tg__conv_im2col(j->dt, g, j->x, n0, nb, gi, col);
        gemm(j->dt, false, false, og, nb * P, K, at(j->w, gi * og * K, es), K,
             col, nb * P, false, t, nb * P);
        shuffle(j->dt, g, n0, nb, gi, j->out, t, false);
    }
    if (j->bias != NULL)
        add_bias(j, n0, nb);
}

unsigned tg__conv_forward(tg_dtype dt, const tg__conv_geom *g, const void *x,
                          const void *w, const void *bias, void *y,
                          void *scratch, int64_t slots)
{
    if (tg__conv_direct_ok(dt, g)) {
        tg__conv_direct_forward(g, x, w, bias, y, scratch);
        return TG__CONV_PLANES;
    }
    if (tg__conv_implicit_ok(dt, g)) {
        tg__conv_implicit_forward(g, x, w, bias, y, scratch);
        return 0;
    }
    conv_job j = {dt, g, x, w, bias, NULL, y, scratch, slots, false,
                  forward_chunk};
    run_slots(&j);
    return col_kept(dt, g) ? TG__CONV_COLS : 0;
}

static void input_grad_chunk(const conv_job *j, int64_t n0, int64_t nb,
                             int64_t ci, void *col, void *t)
{
    const tg__conv_geom *g = j->g;
    size_t es = tg_dtype_size(j->dt);
    int64_t og = g->o / g->g, K = taps(g), P = tg__conv_pitch(g);
    int64_t per = g->c * g->h * g->w;
    (void)ci;
    memset(at_mut(j->out, n0 * per, es), 0, (size_t)(nb * per) * es);
    for (int64_t gi = 0; gi < g->g; gi++) {
        shuffle(j->dt, g, n0, nb, gi, (void *)j->gy, t, true);
        gemm(j->dt, true, false, K, nb * P, og, at(j->w, gi * og * K, es), K,
             t, nb * P, false, col, nb * P);
        tg__conv_col2im(j->dt, g, col, n0, nb, gi, j->out);
    }
}

unsigned tg__conv_input_grad(tg_dtype dt, const tg__conv_geom *geom,
                             const void *gy, const void *w, void *gx,
                             void *scratch, int64_t slots)
{
    const tg__conv_geom g = tg__conv_guarded(dt, geom, w, geom->o * taps(geom));
    if (tg__conv_implicit_ok(dt, &g) &&
        tg__conv_implicit_finite(w, g.o * taps(&g))) {
        tg__conv_implicit_input_grad(&g, gy, w, gx, scratch);
        return TG__CONV_GY;
    }
    conv_job j = {dt, &g, NULL, w, NULL, gy, gx, scratch, slots, false,
                  input_grad_chunk};
    run_slots(&j);
    return 0;
}

/*
 * The product is taken transposed, gwt (K x o/g) = col @ gy_g^T, and
 * turned round at the end: with o/g (6 or 16) columns the gemm reads col's
 * rows where they lie and packs only gy's few rows, where gw = gy_g @
 * col^T made it transpose all of col for a product o/g rows tall.
 */
static void weight_grad_chunk(const conv_job *j, int64_t n0, int64_t nb,
                              int64_t ci, void *col, void *t)
{
    const tg__conv_geom *g = j->g;
    size_t es = tg_dtype_size(j->dt);
    int64_t og = g->o / g->g, K = taps(g), P = tg__conv_pitch(g);
    void *gwt = at_mut(j->out, ci * K * g->o, es);
    for (int64_t gi = 0; gi < g->g; gi++) {
        if (!j->col_ready)
            tg__conv_im2col(j->dt, g, j->x, n0, nb, gi, col);
        shuffle(j->dt, g, n0, nb, gi, (void *)j->gy, t, true);
        gemm(j->dt, false, true, K, og, nb * P, col, nb * P, t, nb * P, false,
             at_mut(gwt, gi * K * og, es), og);
    }
}

/* gw (o/g x K per group) = the chunks' gwt (K x o/g per group) summed in
 * chunk order, and turned round. */
static void sum_chunks(tg_dtype dt, const tg__conv_geom *g, const void *gwt,
                       void *gw)
{
    int64_t og = g->o / g->g, K = taps(g), nch = chunks_of(g);
    for (int64_t gi = 0; gi < g->g; gi++)
        for (int64_t o = 0; o < og; o++)
            for (int64_t k = 0; k < K; k++) {
                int64_t src = gi * K * og + k * og + o, dst = (gi * og + o) * K + k;
                if (dt == TG_F32) {
                    float sum = 0;
                    for (int64_t c = 0; c < nch; c++)
                        sum += ((const float *)gwt)[c * K * g->o + src];
                    ((float *)gw)[dst] = sum;
                } else {
                    double sum = 0;
                    for (int64_t c = 0; c < nch; c++)
                        sum += ((const double *)gwt)[c * K * g->o + src];
                    ((double *)gw)[dst] = sum;
                }
            }
}

void tg__conv_weight_grad(tg_dtype dt, const tg__conv_geom *geom,
                          const void *x, const void *gy, void *gw, void *gb,
                          void *scratch, int64_t slots, unsigned ready)
{
    if (tg__conv_direct_ok(dt, geom)) {
        tg__conv_direct_weight_grad(geom, x, gy, gw, gb, scratch,
                                    (ready & TG__CONV_PLANES) != 0);
        return;
    }
    if (tg__conv_implicit_ok(dt, geom)) {
        tg__conv_implicit_weight_grad(geom, x, gy, gw, gb, scratch,
                                      (ready & TG__CONV_GY) != 0);
        return;
    }
    const tg__conv_geom g = tg__conv_guarded(dt, geom, x, geom->n * geom->c *
                                                           geom->h * geom->w);
    /* The forward's columns (one chunk, in slot 0) were wide. */
    bool col_ready = (ready & TG__CONV_COLS) != 0 && !g.narrow;
    if (col_ready)
        slots = 1;
    void *gwt = at_mut(scratch, slots * slot_elems(&g), tg_dtype_size(dt));
    conv_job j = {dt, &g, x, NULL, NULL, gy, gwt, scratch, slots, col_ready,
                  weight_grad_chunk};
    run_slots(&j);
    sum_chunks(dt, &g, gwt, gw);
    if (gb != NULL) /* no pass over gy here to fold it into */
        tg__conv_bias_grad(dt, &g, gy, gb);
}
