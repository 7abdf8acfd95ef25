/*
 * conv_implicit_wgrad.c — the implicit-gemm weight gradient (see
 * conv_implicit.h):
 *
 *     gw[:, c, p, q] = sum over n, i, j of gy[n, :, i, j] x[n, c, i+p, j+q]
 *
 * with the output channels ":" in the 16 lanes. gy is first turned round
 * so that the 16 channels of one output pixel are one vector (zero past
 * o; conv_implicit.h's layout, which the input gradient made already when
 * it ran first in the same backward: then this file does not turn it
 * again, and one split call a step is saved). Then a block of taps, one
 * input channel c and PR kernel rows p0 .. p0 + PR - 1 with all KW
 * columns (PR KW <= 25 accumulators), walks every output pixel of every
 * sample once: load the pixel's gy vector, and for each tap one
 * multiply-add with x's float at that tap's offset broadcast from
 * memory. No im2col: x is read where it lies (or from its zero-padded
 * copy). The bias gradient comes from the row sums the turn left.
 *
 * Blocks are independent (each owns its taps' gw), so the threads split
 * blocks, and each tap's sum runs over n, i, j in the same order whatever
 * the thread count: bit-identical results.
 */
/* GCC's predictive commoning sees that the float a block reads for
 * pixel j, tap q is the one it read for pixel j + 1, tap q - 1, and
 * carries such floats from one iteration to the next in registers the
 * accumulators need: it spilled them, and the kernels ran slower. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")
#endif

#include "ops/conv_implicit.h"

#include "ops/conv_direct.h" /* TG__DIRECT_X86, TG__CONV_INLINE */
#include "tensor/pool.h"

#include <string.h>

#if TG__DIRECT_X86
#include <immintrin.h>

#define LANES 16
#define MAX_TAPS 25 /* accumulators of a block */
#define MAX_PR 5
#define I512_ATTR __attribute__((target("avx512f,avx2,fma")))
#define I512_INLINE TG__CONV_INLINE /* conv_direct.h says why */

typedef struct wg_job {
    const tg__conv_geom *g;
    const float *xs;  /* x, or its padded copy */
    int64_t hp, wp;
    const float *gy;
    float *turned;    /* gy turned round (conv_implicit.h) */
    float *gw, *gb;
    int64_t pr;       /* kernel rows per block */
} wg_job;

/* Samples [begin, end) of gy turned round, when the input gradient did
 * not do it. */
static void turn_part(void *ctx, int64_t begin, int64_t end)
{
    const wg_job *j = ctx;
    for (int64_t s = begin; s < end; s++)
        tg__conv_implicit_turn(j->g, j->gy, s, j->turned);
}

/* The taps of channel c, kernel rows p0 .. p0 + PR - 1, columns 0 .. KW - 1
 * (KW = kw): inlined with PR and KW constants, so acc is PR KW registers. */
I512_ATTR static I512_INLINE void wg_block(const wg_job *j, int64_t c,
                                           int64_t p0, const int PR,
                                           const int KW)
{
    const tg__conv_geom *g = j->g;
    __m512 acc[MAX_PR][8];
    for (int r = 0; r < PR; r++)
        for (int q = 0; q < KW; q++)
            acc[r][q] = _mm512_setzero_ps();
    for (int64_t s = 0; s < g->n; s++) {
        const float *xc = j->xs + ((s * g->c + c) * j->hp + p0) * j->wp;
        for (int64_t i = 0; i < g->oh; i++) {
            const float *xr = xc + i * j->wp;
            const float *gv = tg__conv_implicit_gy_at(g, j->turned, s, i);
            for (int64_t jj = 0; jj < g->ow; jj++, gv += LANES, xr++) {
                __m512 d = _mm512_loadu_ps(gv);
                for (int r = 0; r < PR; r++)
                    for (int q = 0; q < KW; q++)
                        acc[r][q] = _mm512_fmadd_ps(
                            d, _mm512_set1_ps(xr[r * j->wp + q]), acc[r][q]);
            }
        }
    }
    /* Lane o of acc[r][q] is gw[o][c][p0 + r][q]. */
    float t[MAX_PR * 8][LANES];
    for (int r = 0; r < PR; r++)
        for (int q = 0; q < KW; q++)
            _mm512_storeu_ps(t[r * KW + q], acc[r][q]);
    for (int64_t o = 0; o < g->o; o++)
        for (int r = 0; r < PR; r++)
            for (int q = 0; q < KW; q++)
                j->gw[((o * g->c + c) * g->kh + p0 + r) * g->kw + q] =
                    t[r * KW + q][o];
}

/* One block with KW (1 .. 8) made a constant, PR already one. */
I512_ATTR static I512_INLINE void wg_cols(const wg_job *j, int64_t c,
                                          int64_t p0, const int PR)
{
    switch (j->g->kw) {
    case 1: wg_block(j, c, p0, PR, 1); break;
    case 2: wg_block(j, c, p0, PR, 2); break;
    case 3: wg_block(j, c, p0, PR, 3); break;
    case 4: wg_block(j, c, p0, PR, 4); break;
    case 5: wg_block(j, c, p0, PR, 5); break;
    case 6: wg_block(j, c, p0, PR, 6); break;
    case 7: wg_block(j, c, p0, PR, 7); break;
    default: wg_block(j, c, p0, PR, 8); break;
    }
}

/* One block with PR (1 .. 5) and KW (1 .. 8) made constants. */
I512_ATTR static void wg_any(const wg_job *j, int64_t c, int64_t p0, int PR)
{
    switch (PR) {
    case 1: wg_cols(j, c, p0, 1); break;
    case 2: wg_cols(j, c, p0, 2); break;
    case 3: wg_cols(j, c, p0, 3); break;
    case 4: wg_cols(j, c, p0, 4); break;
    default: wg_cols(j, c, p0, 5); break;
    }
}

/* Blocks [begin, end): block b is channel b / rows-blocks, kernel rows
 * from (b % rows-blocks) pr. */
I512_ATTR static void wg_part(void *ctx, int64_t begin, int64_t end)
{
    const wg_job *j = ctx;
    int64_t per_c = (j->g->kh + j->pr - 1) / j->pr;
    for (int64_t b = begin; b < end; b++) {
        int64_t c = b / per_c, p0 = b % per_c * j->pr;
        int64_t rows = j->g->kh - p0 < j->pr ? j->g->kh - p0 : j->pr;
        wg_any(j, c, p0, (int)rows);
    }
}
#endif /* TG__DIRECT_X86 */

void tg__conv_implicit_weight_grad(const tg__conv_geom *g, const float *x,
                                   const float *gy, float *gw, float *gb,
                                   float *scratch, bool gy_turned)
{
#if TG__DIRECT_X86
    wg_job j = {g, NULL, 0, 0, gy, scratch, gw, gb, 0};
    j.xs = tg__conv_implicit_planes(g, x, scratch + tg__conv_implicit_turned(g),
                                    &j.hp, &j.wp);
    if (!gy_turned)
        tg__parallel_for(g->n, 1, 8, turn_part, &j);
    /* As many kernel rows per block as 25 accumulators hold; blocks of
     * about equal height. */
    int64_t most = MAX_TAPS / g->kw < MAX_PR ? MAX_TAPS / g->kw : MAX_PR;
    int64_t per_c = (g->kh + most - 1) / most;
    j.pr = (g->kh + per_c - 1) / per_c;
    tg__parallel_for(g->c * per_c, 1, 1, wg_part, &j);
    /* The bias gradient from the row sums the turn left: n o additions,
     * too few for a split call of their own. */
    if (gb != NULL)
        for (int64_t o = 0; o < g->o; o++)
            gb[o] = tg__conv_bias_from_rows(
                g, tg__conv_implicit_sums(g, scratch), g->o, o);
#else
    (void)g, (void)x, (void)gy, (void)gw, (void)gb, (void)scratch,
        (void)gy_turned;
#endif
}
