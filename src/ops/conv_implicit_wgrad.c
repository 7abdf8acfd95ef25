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
 * The samples are summed in two fixed halves (one for a single sample),
 * each into its own gw, and the halves added at the end: gw = first +
 * second, on any thread count. The threads split (half, block) pairs,
 * halves first, so on 2 threads each thread sums the samples of its own
 * half: the ones whose gy it turned in the input gradient and made in the
 * pooling's backward (split calls cut samples in the same halves). Split
 * by blocks over all samples, as before session 9, each
 * thread read the whole batch, half of it written by the other core:
 * 167 us a call on 2 threads in W6 against 234 on one, where the
 * forward's 213 took 108. Each tap's sum runs over n, i, j in one fixed
 * order, and the halves are added in one: bit-identical results whatever
 * the thread count.
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
    int64_t halves;   /* sample halves: 2, or 1 for a single sample */
    float *second;    /* the second half's gw (gw's layout) */
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
                                           int64_t p0, int64_t s0,
                                           int64_t s1, float *gw,
                                           const int PR, const int KW)
{
    const tg__conv_geom *g = j->g;
    __m512 acc[MAX_PR][8];
    for (int r = 0; r < PR; r++)
        for (int q = 0; q < KW; q++)
            acc[r][q] = _mm512_setzero_ps();
    for (int64_t s = s0; s < s1; s++) {
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
                gw[((o * g->c + c) * g->kh + p0 + r) * g->kw + q] =
                    t[r * KW + q][o];
}

/* One block with KW (1 .. 8) made a constant, PR already one. */
#define WG_ARGS j, c, p0, s0, s1, gw
I512_ATTR static I512_INLINE void wg_cols(const wg_job *j, int64_t c,
                                          int64_t p0, int64_t s0, int64_t s1,
                                          float *gw, const int PR)
{
    switch (j->g->kw) {
    case 1: wg_block(WG_ARGS, PR, 1); break;
    case 2: wg_block(WG_ARGS, PR, 2); break;
    case 3: wg_block(WG_ARGS, PR, 3); break;
    case 4: wg_block(WG_ARGS, PR, 4); break;
    case 5: wg_block(WG_ARGS, PR, 5); break;
    case 6: wg_block(WG_ARGS, PR, 6); break;
    case 7: wg_block(WG_ARGS, PR, 7); break;
    default: wg_block(WG_ARGS, PR, 8); break;
    }
}

/* One block with PR (1 .. 5) and KW (1 .. 8) made constants. */
I512_ATTR static void wg_any(const wg_job *j, int64_t c, int64_t p0,
                             int64_t s0, int64_t s1, float *gw, int PR)
{
    switch (PR) {
    case 1: wg_cols(WG_ARGS, 1); break;
    case 2: wg_cols(WG_ARGS, 2); break;
    case 3: wg_cols(WG_ARGS, 3); break;
    case 4: wg_cols(WG_ARGS, 4); break;
    default: wg_cols(WG_ARGS, 5); break;
    }
}
#undef WG_ARGS

/* Units [begin, end): unit u is sample half u / blocks (into gw or
 * second), block u % blocks; block b is channel b / rows-blocks, kernel
 * rows from (b % rows-blocks) pr. The halves are cut where the pool cuts
 * samples for 2 threads. */
I512_ATTR static void wg_part(void *ctx, int64_t begin, int64_t end)
{
    const wg_job *j = ctx;
    const tg__conv_geom *g = j->g;
    int64_t per_c = (g->kh + j->pr - 1) / j->pr, blocks = g->c * per_c;
    for (int64_t u = begin; u < end; u++) {
        int64_t half = u / blocks, b = u % blocks;
        int64_t s0 = g->n * half / j->halves;
        int64_t s1 = g->n * (half + 1) / j->halves;
        int64_t c = b / per_c, p0 = b % per_c * j->pr;
        int64_t rows = g->kh - p0 < j->pr ? g->kh - p0 : j->pr;
        wg_any(j, c, p0, s0, s1, half == 0 ? j->gw : j->second, (int)rows);
    }
}
#endif /* TG__DIRECT_X86 */

void tg__conv_implicit_weight_grad(const tg__conv_geom *g, const float *x,
                                   const float *gy, float *gw, float *gb,
                                   float *scratch, bool gy_turned)
{
#if TG__DIRECT_X86
    float *room = scratch + tg__conv_implicit_turned(g);
    wg_job j = {g, NULL, 0, 0, gy, scratch, gw, gb, 0, g->n >= 2 ? 2 : 1,
                room + tg__conv_implicit_padded(g)};
    j.xs = tg__conv_implicit_planes(g, x, room, &j.hp, &j.wp);
    if (!gy_turned)
        tg__parallel_for(g->n, 1, 8, turn_part, &j);
    /* As many kernel rows per block as 25 accumulators hold; blocks of
     * about equal height. */
    int64_t most = MAX_TAPS / g->kw < MAX_PR ? MAX_TAPS / g->kw : MAX_PR;
    int64_t per_c = (g->kh + most - 1) / most;
    j.pr = (g->kh + per_c - 1) / per_c;
    tg__parallel_for(j.halves * g->c * per_c, 1, 1, wg_part, &j);
    /* gw = first half + second, the same sum on any thread count. */
    if (j.halves == 2)
        for (int64_t i = 0; i < g->o * g->c * g->kh * g->kw; i++)
            gw[i] += j.second[i];
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
