/*
 * conv_direct_avx512.c — the AVX-512 loops of the direct one-channel
 * kernel (conv_direct.c says what it computes and how the samples are
 * padded). The maths is the same as the AVX2 loops there; what changes is
 * the width: a vector holds 16 floats, and there are 32 registers.
 *
 *     forward:      y[o][i][j] = b[o] + sum_pq w[o][p][q] xp[i+p][j+q]
 *                   4 rows of 16 columns of y for 6 output channels at a
 *                   time (24 accumulators: each x piece loaded once for
 *                   the 6 channels);
 *     weight grad:  gw[o][p][q] = sum_n,i,j gy[o][i][j] xp[i+p][j+q]
 *                   up to 5 kernel rows at a time (NP KW <= 25 of the 32
 *                   registers) and 4 gy rows, each x piece loaded once
 *                   for all of them.
 *
 * A row's last piece is masked (lanes past ow are neither read from gy
 * nor stored to y), so LeNet's 28 columns take 2 vectors where AVX2 took
 * 4. Each output is summed in one fixed order, the same for any number
 * of threads; the order differs from the AVX2 loops', as the gemm's does
 * between instruction sets.
 */
/* As in conv_implicit.c: GCC's predictive commoning carried loads from
 * one iteration to the next in registers the accumulators need. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")
#endif

#include "ops/conv_direct.h"

#if TG__DIRECT_X86
#include <immintrin.h>

#define D512_ATTR __attribute__((target("avx512f,avx2,fma")))
#define D512_INLINE TG__CONV_INLINE /* conv_direct.h says why */

/* Lanes [0, n) of a 16-lane vector, n <= 16. */
D512_ATTR static D512_INLINE __mmask16 lanes(int64_t n)
{
    return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1u);
}

/* Rows i0 .. i0 + NR - 1, columns j0 .. j0 + 15 of output channels
 * o0 .. o0 + NO - 1 into y (the sample's, rows ow long). Per tap the NO
 * weights are broadcast once and each x piece is loaded once for all NO
 * channels: NR + NO loads for NR NO multiply-adds (NR = 4, NO = 6: 24
 * accumulators, 6 weights and one x piece in the 32 registers), where
 * one channel at a time took NR + 1 loads for NR. Inlined with NR and NO
 * constants. */
D512_ATTR static D512_INLINE void
fwd_block(const tg__conv_geom *g, const float *xp, int64_t wp, const float *w,
          const float *bias, float *y, int64_t o0, int64_t i0, int64_t j0,
          const int NR, const int NO)
{
    int64_t taps = g->kh * g->kw;
    __m512 acc[4][6];
    for (int k = 0; k < NO; k++) {
        __m512 b = _mm512_set1_ps(bias != NULL ? bias[o0 + k] : 0.0f);
        for (int r = 0; r < NR; r++)
            acc[r][k] = b;
    }
    const float *wo = w + o0 * taps;
    for (int64_t p = 0; p < g->kh; p++)
        for (int64_t q = 0; q < g->kw; q++) {
            __m512 wv[6];
            for (int k = 0; k < NO; k++)
                wv[k] = _mm512_set1_ps(wo[k * taps + p * g->kw + q]);
            const float *xr = xp + (i0 + p) * wp + j0 + q;
            for (int r = 0; r < NR; r++, xr += wp) {
                __m512 xv = _mm512_loadu_ps(xr);
                for (int k = 0; k < NO; k++)
                    acc[r][k] = _mm512_fmadd_ps(wv[k], xv, acc[r][k]);
            }
        }
    __mmask16 m = lanes(g->ow - j0);
    int64_t P = g->oh * g->ow;
    for (int k = 0; k < NO; k++)
        for (int r = 0; r < NR; r++)
            _mm512_mask_storeu_ps(y + (o0 + k) * P + (i0 + r) * g->ow + j0, m,
                                  acc[r][k]);
}

/* One block with NO (1 .. 6) made a constant, NR already one. */
D512_ATTR static D512_INLINE void
fwd_channels(const tg__conv_geom *g, const float *xp, int64_t wp,
             const float *w, const float *bias, float *y, int64_t o0,
             int64_t i0, int64_t j0, const int NR, int NO)
{
    switch (NO) {
    case 1: fwd_block(g, xp, wp, w, bias, y, o0, i0, j0, NR, 1); break;
    case 2: fwd_block(g, xp, wp, w, bias, y, o0, i0, j0, NR, 2); break;
    case 3: fwd_block(g, xp, wp, w, bias, y, o0, i0, j0, NR, 3); break;
    case 4: fwd_block(g, xp, wp, w, bias, y, o0, i0, j0, NR, 4); break;
    case 5: fwd_block(g, xp, wp, w, bias, y, o0, i0, j0, NR, 5); break;
    default: fwd_block(g, xp, wp, w, bias, y, o0, i0, j0, NR, 6); break;
    }
}

/* One block with NR (4 or 1) and NO (1 .. 6) made constants. */
D512_ATTR static void fwd_any(const tg__conv_geom *g, const float *xp,
                              int64_t wp, const float *w, const float *bias,
                              float *y, int64_t o0, int64_t i0, int64_t j0,
                              int NR, int NO)
{
    if (NR == 4)
        fwd_channels(g, xp, wp, w, bias, y, o0, i0, j0, 4, NO);
    else
        fwd_channels(g, xp, wp, w, bias, y, o0, i0, j0, 1, NO);
}

D512_ATTR void tg__conv_direct512_fwd_sample(const tg__conv_geom *g,
                                             const float *xp, int64_t wp,
                                             const float *w, const float *bias,
                                             float *y)
{
    /* Channel blocks of about equal size, at most 6. */
    int64_t nb = (g->o + 5) / 6, per = (g->o + nb - 1) / nb;
    for (int64_t o0 = 0; o0 < g->o; o0 += per) {
        int no = (int)(g->o - o0 < per ? g->o - o0 : per);
        for (int64_t j0 = 0; j0 < g->ow; j0 += 16) {
            int64_t i0 = 0;
            for (; i0 + 4 <= g->oh; i0 += 4)
                fwd_any(g, xp, wp, w, bias, y, o0, i0, j0, 4, no);
            for (; i0 < g->oh; i0++)
                fwd_any(g, xp, wp, w, bias, y, o0, i0, j0, 1, no);
        }
    }
}

/* One 16-column piece (or the row's masked last piece, MASKED) of gy rows
 * i .. i + G - 1 (G is 1, 2 or 4; gr: row i, rows gow apart) against x
 * rows i .. i + G + NP - 2 (xr: row i + p): gy row i + t meets x row i + k
 * through kernel row p + k - t. Each x piece is loaded once and used by
 * all G gy rows, so G rows cost (NP + G - 1) KW loads of x for G NP KW
 * multiply-adds, where one row at a time cost NP KW for NP KW (at 5x5
 * and G = 4: 40 loads for 100, not 100 for 100).
 * Masked pieces read 0 past ow from gy AND from x, so an inf in a column
 * no output reads through tap q cannot reach gw[..][q] as 0 * inf. */
D512_ATTR static D512_INLINE void
wgrad_piece(__m512 acc[5][8], const float *gr, int64_t gow, const float *xr,
            int64_t wp, __mmask16 m, const int G, const int NP, const int KW,
            const bool MASKED)
{
    __m512 gv[4];
    for (int t = 0; t < G; t++)
        gv[t] = MASKED ? _mm512_maskz_loadu_ps(m, gr + t * gow)
                       : _mm512_loadu_ps(gr + t * gow);
    /* Unrolled in full (the pragmas: GCC's own limits stop short), so
     * that every acc index is a constant and acc lives in registers. */
#pragma GCC unroll 8
    for (int k = 0; k < G + NP - 1; k++)
#pragma GCC unroll 8
        for (int q = 0; q < KW; q++) {
            const float *xq = xr + k * wp + q;
            __m512 xv = MASKED ? _mm512_maskz_loadu_ps(m, xq) : _mm512_loadu_ps(xq);
#pragma GCC unroll 4
            for (int t = 0; t < G; t++) {
                int r = k - t;
                if (r >= 0 && r < NP)
                    acc[r][q] = _mm512_fmadd_ps(gv[t], xv, acc[r][q]);
            }
        }
}

/* gw[o][p + r][q] for r < NP and q < KW, over every sample: NP KW
 * accumulators (at most 25), gy rows 4 at a time when 4 gy pieces and
 * one x piece fit beside them in the 32 registers. Inlined with NP and KW
 * constants, so the accumulators stay in registers. */
D512_ATTR static D512_INLINE void
wgrad_rows(const tg__conv_geom *g, const float *xp, int64_t wp,
           const float *gy, int64_t o, float *gw, int64_t p, const int NP,
           const int KW)
{
    int64_t plane = (g->oh + g->kh - 1) * wp;
    int64_t full = g->ow / 16 * 16;
    __mmask16 tail = lanes(g->ow - full);
    /* gy rows per step: 4 while the accumulators leave room for 4 gy
     * pieces and an x piece in the 32 registers, else 2. */
    const int GR = NP * KW + 5 <= 31 ? 4 : 2;
    __m512 acc[5][8];
    for (int r = 0; r < NP; r++)
        for (int q = 0; q < KW; q++)
            acc[r][q] = _mm512_setzero_ps();
    for (int64_t s = 0; s < g->n; s++) {
        const float *gyo = gy + (s * g->o + o) * g->oh * g->ow;
        const float *xs = xp + s * plane + p * wp;
        int64_t i = 0;
        for (; i + GR <= g->oh; i += GR) {
            const float *gr = gyo + i * g->ow, *xr = xs + i * wp;
            for (int64_t j0 = 0; j0 < full; j0 += 16)
                wgrad_piece(acc, gr + j0, g->ow, xr + j0, wp, tail, GR, NP, KW,
                            false);
            if (full != g->ow)
                wgrad_piece(acc, gr + full, g->ow, xr + full, wp, tail, GR, NP,
                            KW, true);
        }
        for (; i < g->oh; i++) {
            const float *gr = gyo + i * g->ow, *xr = xs + i * wp;
            for (int64_t j0 = 0; j0 < full; j0 += 16)
                wgrad_piece(acc, gr + j0, g->ow, xr + j0, wp, tail, 1, NP, KW,
                            false);
            if (full != g->ow)
                wgrad_piece(acc, gr + full, g->ow, xr + full, wp, tail, 1, NP,
                            KW, true);
        }
    }
    for (int r = 0; r < NP; r++)
        for (int q = 0; q < KW; q++)
            gw[(o * g->kh + p + r) * g->kw + q] =
                _mm512_reduce_add_ps(acc[r][q]);
}

/* Kernel rows in blocks of as many as 25 accumulators hold (5 rows for
 * KW <= 5, 4 for 6 and 7, 3 for 8), then the rows left. */
D512_ATTR static D512_INLINE void
wgrad_kw(const tg__conv_geom *g, const float *xp, int64_t wp,
         const float *gy, int64_t o, float *gw, const int KW)
{
    const int most = KW <= 5 ? 5 : KW <= 7 ? 4 : 3;
    int64_t p = 0;
    for (; p + most <= g->kh; p += most)
        wgrad_rows(g, xp, wp, gy, o, gw, p, most, KW);
    switch (g->kh - p) {
    case 0: break;
    case 1: wgrad_rows(g, xp, wp, gy, o, gw, p, 1, KW); break;
    case 2: wgrad_rows(g, xp, wp, gy, o, gw, p, 2, KW); break;
    case 3: wgrad_rows(g, xp, wp, gy, o, gw, p, 3, KW); break;
    default: wgrad_rows(g, xp, wp, gy, o, gw, p, 4, KW); break;
    }
}

D512_ATTR void tg__conv_direct512_wgrad_channel(const tg__conv_geom *g,
                                                const float *xp, int64_t wp,
                                                const float *gy, int64_t o,
                                                float *gw)
{
    switch (g->kw) {
    case 1: wgrad_kw(g, xp, wp, gy, o, gw, 1); break;
    case 2: wgrad_kw(g, xp, wp, gy, o, gw, 2); break;
    case 3: wgrad_kw(g, xp, wp, gy, o, gw, 3); break;
    case 4: wgrad_kw(g, xp, wp, gy, o, gw, 4); break;
    case 5: wgrad_kw(g, xp, wp, gy, o, gw, 5); break;
    case 6: wgrad_kw(g, xp, wp, gy, o, gw, 6); break;
    case 7: wgrad_kw(g, xp, wp, gy, o, gw, 7); break;
    default: wgrad_kw(g, xp, wp, gy, o, gw, 8); break;
    }
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int tg__conv_direct512_unused;
#endif /* TG__DIRECT_X86 */
