/*
 * conv_implicit_dx.c — the implicit-gemm input gradient (see
 * conv_implicit.h). In the coordinates of the zero-padded input,
 *
 *     gx[c, h, w] = sum over o, p, q of w[o, c, p, q] gy[o, h-p, w-q]
 *
 * (the full correlation of gy with the flipped kernel), taking only the
 * terms where gy exists. Its output has c channels, too few for the
 * lanes (LeNet's conv2 has 6), so here the lanes hold 16 columns of one
 * gx row: gy's row, copied once per sample with kw - 1 zeros on the left
 * and enough on the right (gyp), is read at offset -q for tap column q,
 * and w's float is broadcast. A block keeps K gx rows x CB channels
 * (K <= 4, CB <= 6: up to 24 accumulators) and walks the gy rows that
 * reach it; gy row i reaches gx row h with kernel row p = h - i, so no
 * row is multiplied by rows of zeros. In columns, a lane whose w - q
 * falls outside gy reads one of the zeros: that costs work (at conv2's
 * 14 columns, 4 of the 14 lanes are such per q on average) but no
 * branch. 0 times w is 0 because w is finite (the caller checks).
 *
 * Samples are independent, so the threads split samples, and each gx
 * element is summed in one order whatever the thread count.
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
#endif

#define LANES 16
#define DX_K 4  /* gx rows per block */
#define DX_CB 6 /* channels per block */

static int64_t pieces_of(const tg__conv_geom *g) { return (g->w + LANES - 1) / LANES; }

/* gyp's row length: the kw - 1 zeros, then room for every piece's reads
 * and for gy's row itself. */
static int64_t gp_of(const tg__conv_geom *g)
{
    int64_t reads = g->pw + pieces_of(g) * LANES + g->kw - 1;
    int64_t row = g->kw - 1 + g->ow;
    return reads > row ? reads : row;
}

/* The padded gy of every sample, then w repacked as wd[o][p][q][c]. */
static int64_t gyp_elems(const tg__conv_geom *g)
{
    return g->n * g->o * g->oh * gp_of(g);
}

int64_t tg__conv_implicit_dx_scratch(const tg__conv_geom *g)
{
    return gyp_elems(g) + g->o * g->c * g->kh * g->kw;
}

#if TG__DIRECT_X86
#define I512_ATTR __attribute__((target("avx512f,avx2,fma")))
#define I512_INLINE TG__CONV_INLINE /* conv_direct.h says why */

/* The first n lanes (all 16 for n >= 16). */
I512_ATTR static I512_INLINE __mmask16 first(int64_t n)
{
    return (__mmask16)(n >= LANES ? 0xFFFF : (1u << n) - 1u);
}

typedef struct dx_job {
    const tg__conv_geom *g;
    const float *gy, *wd; /* wd[o][p][q][c]: a tap's channels side by side */
    float *gx, *gyp;
    int64_t gp, cb; /* gyp's row length; channels per block */
} dx_job;

/* gx rows h0 .. h0 + K - 1 (unpadded), channels c0 .. c0 + CB - 1,
 * columns w0 .. w0 + 15 of sample s; gyp is its padded gy. Inlined with
 * K and CB constants, so acc is K CB registers. */
I512_ATTR static I512_INLINE void dx_block(const dx_job *j, const float *gyp,
                                           float *gxs, int64_t h0, int64_t c0,
                                           int64_t w0, const int K,
                                           const int CB)
{
    const tg__conv_geom *g = j->g;
    int64_t khw = g->kh * g->kw, hh0 = h0 + g->ph; /* padded row */
    __m512 acc[DX_K][DX_CB];
    for (int r = 0; r < K; r++)
        for (int cc = 0; cc < CB; cc++)
            acc[r][cc] = _mm512_setzero_ps();
    int64_t ilo = hh0 - (g->kh - 1), ihi = hh0 + K - 1; /* gy rows reaching */
    ilo = ilo < 0 ? 0 : ilo;
    ihi = ihi > g->oh - 1 ? g->oh - 1 : ihi;
    for (int64_t i = ilo; i <= ihi; i++) {
        /* gy row i meets gx row r of the block through kernel row
         * p = hh0 + r - i, if that is one: wr[r] is that row's weights. */
        const float *wr[DX_K];
        bool meets[DX_K];
        for (int r = 0; r < K; r++) {
            int64_t p = hh0 + r - i;
            meets[r] = p >= 0 && p < g->kh;
            wr[r] = j->wd + ((meets[r] ? p : 0) * g->kw) * g->c + c0;
        }
        for (int64_t o = 0; o < g->o; o++) {
            /* Lane l reads gy column (w0 + pw + l) - q: at gyp offset
             * w0 + pw + l - q + kw - 1. */
            const float *gr = gyp + (o * g->oh + i) * j->gp + w0 + g->pw + g->kw - 1;
            for (int64_t q = 0; q < g->kw; q++) {
                __m512 v = _mm512_loadu_ps(gr - q);
                int64_t at = (o * khw + q) * g->c; /* wd[o][p][q][c0] - wr[r] */
                for (int r = 0; r < K; r++) {
                    if (!meets[r])
                        continue;
                    for (int cc = 0; cc < CB; cc++)
                        acc[r][cc] = _mm512_fmadd_ps(
                            v, _mm512_set1_ps(wr[r][at + cc]), acc[r][cc]);
                }
            }
        }
    }
    __mmask16 m = first(g->w - w0);
    for (int r = 0; r < K; r++)
        for (int cc = 0; cc < CB; cc++)
            _mm512_mask_storeu_ps(gxs + ((c0 + cc) * g->h + h0 + r) * g->w + w0,
                                  m, acc[r][cc]);
}

/* One block with CB (1 .. 6) made a constant, K already one. */
I512_ATTR static I512_INLINE void dx_channels(const dx_job *j, const float *gyp,
                                              float *gxs, int64_t h0,
                                              int64_t c0, int64_t w0,
                                              const int K, int CB)
{
    switch (CB) {
    case 1: dx_block(j, gyp, gxs, h0, c0, w0, K, 1); break;
    case 2: dx_block(j, gyp, gxs, h0, c0, w0, K, 2); break;
    case 3: dx_block(j, gyp, gxs, h0, c0, w0, K, 3); break;
    case 4: dx_block(j, gyp, gxs, h0, c0, w0, K, 4); break;
    case 5: dx_block(j, gyp, gxs, h0, c0, w0, K, 5); break;
    default: dx_block(j, gyp, gxs, h0, c0, w0, K, 6); break;
    }
}

/* One block with K (1 .. 4) and CB (1 .. 6) made constants. */
I512_ATTR static void dx_any(const dx_job *j, const float *gyp, float *gxs,
                             int64_t h0, int64_t c0, int64_t w0, int K, int CB)
{
    switch (K) {
    case 1: dx_channels(j, gyp, gxs, h0, c0, w0, 1, CB); break;
    case 2: dx_channels(j, gyp, gxs, h0, c0, w0, 2, CB); break;
    case 3: dx_channels(j, gyp, gxs, h0, c0, w0, 3, CB); break;
    default: dx_channels(j, gyp, gxs, h0, c0, w0, 4, CB); break;
    }
}

/* dst[0, len) = zeros, then src[0, n) at dst + at. */
I512_ATTR static void pad_row(float *dst, int64_t len, const float *src,
                              int64_t n, int64_t at)
{
    for (int64_t k = 0; k < len; k += LANES)
        _mm512_mask_storeu_ps(dst + k, first(len - k), _mm512_setzero_ps());
    for (int64_t k = 0; k < n; k += LANES) {
        __mmask16 m = first(n - k);
        _mm512_mask_storeu_ps(dst + at + k, m, _mm512_maskz_loadu_ps(m, src + k));
    }
}

/* Samples [begin, end): pad gy, then every block. */
I512_ATTR static void dx_part(void *ctx, int64_t begin, int64_t end)
{
    const dx_job *j = ctx;
    const tg__conv_geom *g = j->g;
    int64_t per = g->o * g->oh * j->gp;
    for (int64_t s = begin; s < end; s++) {
        float *gyp = j->gyp + s * per;
        for (int64_t oi = 0; oi < g->o * g->oh; oi++) /* rows are short: */
            pad_row(gyp + oi * j->gp, j->gp,           /* no libc calls */
                    j->gy + (s * g->o * g->oh + oi) * g->ow, g->ow, g->kw - 1);
        float *gxs = j->gx + s * g->c * g->h * g->w;
        for (int64_t h0 = 0; h0 < g->h; h0 += DX_K)
            for (int64_t c0 = 0; c0 < g->c; c0 += j->cb)
                for (int64_t w0 = 0; w0 < g->w; w0 += LANES) {
                    int K = (int)(g->h - h0 < DX_K ? g->h - h0 : DX_K);
                    int CB = (int)(g->c - c0 < j->cb ? g->c - c0 : j->cb);
                    dx_any(j, gyp, gxs, h0, c0, w0, K, CB);
                }
    }
}
#endif /* TG__DIRECT_X86 */

/* No inf or NaN: none has an all-ones exponent. An OR of integer tests
 * vectorises; a float sum of w[i] * 0 was one add after another. */
bool tg__conv_implicit_finite(const float *w, int64_t n)
{
    const uint32_t exp = 0x7f800000u;
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, w + i, sizeof b);
        bad |= (b & exp) == exp;
    }
    return bad == 0;
}

void tg__conv_implicit_input_grad(const tg__conv_geom *g, const float *gy,
                                  const float *w, float *gx, float *scratch)
{
#if TG__DIRECT_X86
    /* Channel blocks of about equal size, at most 6. */
    int64_t nb = (g->c + DX_CB - 1) / DX_CB;
    float *wd = scratch + gyp_elems(g);
    int64_t khw = g->kh * g->kw;
    for (int64_t o = 0; o < g->o; o++)
        for (int64_t c = 0; c < g->c; c++)
            for (int64_t k = 0; k < khw; k++)
                wd[(o * khw + k) * g->c + c] = w[(o * g->c + c) * khw + k];
    dx_job j = {g, gy, wd, gx, scratch, gp_of(g), (g->c + nb - 1) / nb};
    int64_t per = g->o * g->oh * g->ow * g->c * g->kh * g->kw;
    int64_t m = ((int64_t)1 << 16) / (per > 0 ? per : 1);
    tg__parallel_for(g->n, 1, m < 1 ? 1 : m, dx_part, &j);
#else
    (void)g, (void)gy, (void)w, (void)gx, (void)scratch;
#endif
}
