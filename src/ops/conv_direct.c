/*
 * conv_direct.c — a direct f32 kernel for convolutions of one input
 * channel with stride 1 (LeNet's conv1: 1->6, 5x5, padding 2 on 28x28),
 * where im2col + gemm spends most of its time laying out 25 copies of the
 * image for a product only 6 rows tall.
 *
 * Each sample is first copied into a zero-padded plane xp (hp x wp, rows
 * a multiple of 16 wide plus room for the taps), so no tap needs a bounds
 * test: by the forward's own split call, each part padding its samples
 * just before it reads them (cache-hot, and one hand-off to the threads
 * instead of two). The planes of the whole batch stay in the scratch,
 * which conv.c keeps for the backward (TG__CONV_PLANES), so the weight
 * gradient does not pad x again. Then, vectorised over an output row (8
 * lanes, AVX2 + FMA):
 *
 *     forward:      y[o][i][j]  = b[o] + sum_pq w[o][p][q] xp[i+p][j+q]
 *                   (4 rows x 16 columns of y at a time: 8 accumulators)
 *     weight grad:  gw[o][p][q] = sum_n,i,j gy[o][i][j] xp[i+p][j+q]
 *                   (one accumulator per p, q for two kernel rows p at a
 *                   time, lanes summed at the end)
 *
 * With AVX-512 allowed on the calling thread, conv_direct_avx512.c's
 * loops (16 lanes, 32 registers) run instead of these.
 *
 * Every output element is summed in one fixed order whatever the thread
 * count: the forward splits samples, the weight gradient output channels
 * and two fixed halves of the samples (WGRAD_HALVES). The weight
 * gradient's part for channel o also sums the rows of gy for the bias
 * gradient gb[o] (added up in sample order as conv_bias.c does, so the
 * same bits as conv_bias_grad): the same split, so no split call of its
 * own.
 * Without AVX2 + FMA (or with tg__gemm_limit_isa below 1) conv_kernel.c
 * keeps im2col + gemm.
 */
#include "ops/conv_direct.h"

#include "tensor/gemm.h"
#include "tensor/pool.h"

#include <string.h>

#if TG__DIRECT_X86
#include <immintrin.h>
#endif

/* Output columns per block, and the widest kernel the weight gradient's
 * specialised loops take. */
#define DBLOCK 16
#define DMAX_KW 8
/* The weight gradient sums the samples in this many fixed halves, each
 * into its own gw, then adds them (on any thread count); units of the
 * split are (half, output channel), halves first, so on 2 threads each
 * thread reads only the samples it padded in the forward and whose gy it
 * made in the pooling's backward, not the whole batch with half of it
 * written by the other core (207 us on one thread in W6, 128 on two). */
#define WGRAD_HALVES 2

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* Output row length as computed (a multiple of DBLOCK), and the padded
 * plane's sizes. */
static int64_t owv_of(const tg__conv_geom *g) { return round_up(g->ow, DBLOCK); }
static int64_t wp_of(const tg__conv_geom *g) { return owv_of(g) + DBLOCK; }
static int64_t hp_of(const tg__conv_geom *g) { return g->oh + g->kh - 1; }

bool tg__conv_direct_ok(tg_dtype dt, const tg__conv_geom *g)
{
    return TG__DIRECT_X86 && dt == TG_F32 && g->g == 1 && g->c == 1 &&
           g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->kw <= DMAX_KW && g->kh <= 16 && g->ow >= 8 && g->ow <= 256 &&
           g->oh >= 1 && tg__gemm_isa() >= 1;
}

/* The planes, then for the weight gradient the second sample half's gw
 * and every sample's row sums of gy (the bias gradient's pieces). */
int64_t tg__conv_direct_scratch(const tg__conv_geom *g)
{
    return g->n * hp_of(g) * wp_of(g) + g->o * g->kh * g->kw + g->n * g->o;
}

/* Sample s's padded plane: zeros, then x's rows at (ph, pw). x fits:
 * hp = h + 2 ph (stride 1), and wp >= ow + kw - 1 = w + 2 pw. */
static void pad_plane(const tg__conv_geom *g, const float *x, float *xp)
{
    int64_t wp = wp_of(g), hp = hp_of(g);
    memset(xp, 0, (size_t)(hp * wp) * sizeof *xp);
    for (int64_t iy = 0; iy < g->h; iy++)
        memcpy(xp + (iy + g->ph) * wp + g->pw, x + iy * g->w,
               (size_t)g->w * sizeof *x);
}

typedef struct direct_job {
    const tg__conv_geom *g;
    const float *x, *w, *bias, *gy;
    float *y, *gw, *gb, *xp; /* gb: NULL, or the bias gradient too */
    bool avx512; /* the caller's instruction set, for every worker */
    /* The weight gradient's: the second sample half's gw, and the row
     * sums of gy (rows[s o + o]). */
    float *second, *rows;
} direct_job;

/* Sample s's plane, made from x. */
static void pad_sample(const direct_job *j, int64_t s)
{
    int64_t plane = hp_of(j->g) * wp_of(j->g);
    pad_plane(j->g, j->x + s * j->g->h * j->g->w, j->xp + s * plane);
}

static void pad_part(void *ctx, int64_t begin, int64_t end)
{
    for (int64_t s = begin; s < end; s++)
        pad_sample(ctx, s);
}

#if TG__DIRECT_X86
#define DIRECT_ATTR __attribute__((target("avx2,fma")))

/* Rows i0 .. i0 + nr - 1 (nr is 4 or 1) of output channel o, columns
 * j0 .. j0 + 15, into y (rows ow long; only columns < ow are stored).
 * Inlined with nr a constant, so the accumulators stay in registers. */
DIRECT_ATTR static inline __attribute__((always_inline)) void
fwd_block(const tg__conv_geom *g, const float *xp, int64_t wp,
          const float *wo, float b, float *yo, int64_t i0, const int nr,
          int64_t j0)
{
    __m256 acc[4][2];
    for (int r = 0; r < 4; r++)
        acc[r][0] = acc[r][1] = _mm256_set1_ps(b);
    for (int64_t p = 0; p < g->kh; p++)
        for (int64_t q = 0; q < g->kw; q++) {
            __m256 wv = _mm256_set1_ps(wo[p * g->kw + q]);
            const float *xr = xp + (i0 + p) * wp + j0 + q;
            for (int r = 0; r < 4; r++) {
                if (r >= nr)
                    break;
                acc[r][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr), acc[r][0]);
                acc[r][1] =
                    _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr + 8), acc[r][1]);
                xr += wp;
            }
        }
    int64_t n = g->ow - j0 < DBLOCK ? g->ow - j0 : DBLOCK;
    for (int r = 0; r < nr; r++) {
        float *yr = yo + (i0 + r) * g->ow + j0;
        if (n == DBLOCK) {
            _mm256_storeu_ps(yr, acc[r][0]);
            _mm256_storeu_ps(yr + 8, acc[r][1]);
        } else {
            float tmp[DBLOCK];
            _mm256_storeu_ps(tmp, acc[r][0]);
            _mm256_storeu_ps(tmp + 8, acc[r][1]);
            memcpy(yr, tmp, (size_t)n * sizeof *yr);
        }
    }
}

DIRECT_ATTR static void fwd_sample(const direct_job *j, int64_t s)
{
    const tg__conv_geom *g = j->g;
    int64_t wp = wp_of(g), plane = hp_of(g) * wp, taps = g->kh * g->kw;
    const float *xp = j->xp + s * plane;
    for (int64_t o = 0; o < g->o; o++) {
        float b = j->bias != NULL ? j->bias[o] : 0.0f;
        float *yo = j->y + (s * g->o + o) * g->oh * g->ow;
        const float *wo = j->w + o * taps;
        int64_t i0 = 0;
        for (; i0 + 4 <= g->oh; i0 += 4)
            for (int64_t j0 = 0; j0 < g->ow; j0 += DBLOCK)
                fwd_block(g, xp, wp, wo, b, yo, i0, 4, j0);
        for (; i0 < g->oh; i0++)
            for (int64_t j0 = 0; j0 < g->ow; j0 += DBLOCK)
                fwd_block(g, xp, wp, wo, b, yo, i0, 1, j0);
    }
}

static float hsum(const float v[8])
{
    /* A fixed tree, the same on every call. */
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* gw[o][p + r][q] for r < NP (1 or 2 kernel rows) and q < KW, over every
 * sample: NP KW accumulators of 8 lanes, each piece of gy loaded once for
 * all of them. The last piece of a row is a masked load of gy and of x
 * (lanes past ow read as 0). Inlined with NP and KW constants, so the accumulators stay
 * in registers. */
DIRECT_ATTR static inline __attribute__((always_inline)) void
wgrad_rows(const direct_job *j, int64_t o, int64_t p, const int NP,
           const int KW)
{
    const tg__conv_geom *g = j->g;
    int64_t wp = wp_of(g), plane = hp_of(g) * wp;
    int64_t full = g->ow / 8 * 8;
    int32_t m[8];
    for (int l = 0; l < 8; l++)
        m[l] = full + l < g->ow ? -1 : 0;
    __m256i mask = _mm256_loadu_si256((const __m256i *)m);
    __m256 acc[2][DMAX_KW];
    for (int r = 0; r < NP; r++)
        for (int q = 0; q < KW; q++)
            acc[r][q] = _mm256_setzero_ps();
    for (int64_t s = 0; s < g->n; s++) {
        const float *gyo = j->gy + (s * g->o + o) * g->oh * g->ow;
        const float *xp = j->xp + s * plane + p * wp;
        for (int64_t i = 0; i < g->oh; i++) {
            const float *gr = gyo + i * g->ow, *xr = xp + i * wp;
            for (int64_t j0 = 0; j0 < full; j0 += 8) {
                __m256 gv = _mm256_loadu_ps(gr + j0);
                for (int r = 0; r < NP; r++)
                    for (int q = 0; q < KW; q++)
                        acc[r][q] = _mm256_fmadd_ps(
                            gv, _mm256_loadu_ps(xr + r * wp + j0 + q),
                            acc[r][q]);
            }
            if (full < g->ow) {
                /* The row's last piece: x is masked as well as gy, or an
                 * inf past the row's end (the padding's right edge, the
                 * next row) would give 0 * inf = NaN in taps that never
                 * read it. */
                __m256 gv = _mm256_maskload_ps(gr + full, mask);
                for (int r = 0; r < NP; r++)
                    for (int q = 0; q < KW; q++)
                        acc[r][q] = _mm256_fmadd_ps(
                            gv,
                            _mm256_maskload_ps(xr + r * wp + full + q, mask),
                            acc[r][q]);
            }
        }
    }
    for (int r = 0; r < NP; r++) {
        float *out = j->gw + (o * g->kh + p + r) * g->kw;
        for (int q = 0; q < KW; q++) {
            float lanes[8];
            _mm256_storeu_ps(lanes, acc[r][q]);
            out[q] = hsum(lanes);
        }
    }
}

/* Kernel rows two at a time while KW is at most 6 (12 accumulators of
 * the 16 registers), else one. */
DIRECT_ATTR static inline __attribute__((always_inline)) void
wgrad_kw(const direct_job *j, int64_t o, const int KW)
{
    int64_t p = 0;
    if (KW <= 6)
        for (; p + 2 <= j->g->kh; p += 2)
            wgrad_rows(j, o, p, 2, KW);
    for (; p < j->g->kh; p++)
        wgrad_rows(j, o, p, 1, KW);
}

DIRECT_ATTR static void wgrad_channel(const direct_job *j, int64_t o)
{
    switch (j->g->kw) {
    case 1: wgrad_kw(j, o, 1); break;
    case 2: wgrad_kw(j, o, 2); break;
    case 3: wgrad_kw(j, o, 3); break;
    case 4: wgrad_kw(j, o, 4); break;
    case 5: wgrad_kw(j, o, 5); break;
    case 6: wgrad_kw(j, o, 6); break;
    case 7: wgrad_kw(j, o, 7); break;
    default: wgrad_kw(j, o, 8); break;
    }
}
#endif /* TG__DIRECT_X86 */

static void fwd_part(void *ctx, int64_t begin, int64_t end)
{
#if TG__DIRECT_X86
    const direct_job *j = ctx;
    const tg__conv_geom *g = j->g;
    int64_t wp = wp_of(g), plane = hp_of(g) * wp;
    for (int64_t s = begin; s < end; s++) {
        pad_sample(j, s); /* then read at once, from the cache */
        if (j->avx512)
            tg__conv_direct512_fwd_sample(g, j->xp + s * plane, wp, j->w,
                                          j->bias,
                                          j->y + s * g->o * g->oh * g->ow);
        else
            fwd_sample(j, s);
    }
#else
    (void)ctx, (void)begin, (void)end;
#endif
}

/* Units [begin, end): unit u is output channel u % o over sample half
 * u / o (of WGRAD_HALVES), into gw for the first half and into second for
 * the second. The kernels sum over every sample of the geometry they are
 * given, so each unit hands them its half as a batch of its own: the
 * geometry with n its half's count, x's planes and gy from its first
 * sample. */
static void wgrad_part(void *ctx, int64_t begin, int64_t end)
{
#if TG__DIRECT_X86
    const direct_job *j = ctx;
    const tg__conv_geom *g = j->g;
    int64_t plane = hp_of(g) * wp_of(g), P = g->oh * g->ow;
    for (int64_t u = begin; u < end; u++) {
        int64_t half = u / g->o, o = u % g->o;
        int64_t s0 = g->n * half / WGRAD_HALVES;
        int64_t s1 = g->n * (half + 1) / WGRAD_HALVES;
        tg__conv_geom gh = *g;
        gh.n = s1 - s0;
        direct_job h = *j;
        h.g = &gh;
        h.xp = j->xp + s0 * plane;
        h.gy = j->gy + s0 * g->o * P;
        h.gw = half == 0 ? j->gw : j->second;
        if (j->avx512) /* an empty half (one sample) sums to zeros */
            tg__conv_direct512_wgrad_channel(h.g, h.xp, wp_of(g), h.gy, o,
                                             h.gw);
        else
            wgrad_channel(&h, o);
        if (j->gb != NULL) /* channel o's gy rows are warm in the cache */
            for (int64_t s = s0; s < s1; s++)
                j->rows[s * g->o + o] =
                    tg__conv_row_sum_f32(j->gy + (s * g->o + o) * P, P);
    }
#else
    (void)ctx, (void)begin, (void)end;
#endif
}

/* Samples per part: about 64K multiply-adds each. */
static int64_t min_samples(const tg__conv_geom *g)
{
    int64_t per = g->o * g->oh * g->ow * g->kh * g->kw;
    int64_t m = ((int64_t)1 << 16) / (per > 0 ? per : 1);
    return m < 1 ? 1 : m;
}

void tg__conv_direct_forward(const tg__conv_geom *g, const float *x,
                             const float *w, const float *bias, float *y,
                             float *scratch)
{
    direct_job j = {g, x, w, bias, NULL, y, NULL, NULL, scratch,
                    tg__gemm_isa() >= 2, NULL, NULL};
    tg__parallel_for(g->n, 1, min_samples(g), fwd_part, &j);
}

void tg__conv_direct_weight_grad(const tg__conv_geom *g, const float *x,
                                 const float *gy, float *gw, float *gb,
                                 float *scratch, bool planes_ready)
{
    float *after = scratch + g->n * hp_of(g) * wp_of(g);
    direct_job j = {g, x, NULL, NULL, gy, NULL, gw, gb, scratch,
                    tg__gemm_isa() >= 2, after, after + g->o * g->kh * g->kw};
    if (!planes_ready) {
        /* Every part below reads every sample: the planes first, in a
         * split call of their own. */
        int64_t per = hp_of(g) * wp_of(g);
        int64_t m = ((int64_t)1 << 15) / (per > 0 ? per : 1);
        tg__parallel_for(g->n, 1, m < 1 ? 1 : m, pad_part, &j);
    }
    int64_t per = g->n * g->oh * g->ow * g->kh * g->kw;
    int64_t units = WGRAD_HALVES * g->o;
    tg__parallel_for(units, 1, per >= ((int64_t)1 << 16) ? 1 : units,
                     wgrad_part, &j);
    /* gw = first half + second; the bias gradient summed from the rows in
     * sample order (conv_bias_grad's bits): the same on any thread count. */
    for (int64_t k = 0; k < g->o * g->kh * g->kw; k++)
        gw[k] += j.second[k];
    if (gb != NULL)
        for (int64_t o = 0; o < g->o; o++)
            gb[o] = tg__conv_bias_from_rows(g, j.rows, g->o, o);
}
