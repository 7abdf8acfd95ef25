/*
 * conv_implicit_dx.c — the implicit-gemm input gradient (see
 * conv_implicit.h). In the coordinates of the zero-padded input,
 *
 *     gx[c, h, w] = sum over o, p, q of w[o, c, p, q] gy[o, h-p, w-q]
 *
 * (the full correlation of gy with the flipped kernel), taking only the
 * terms where gy exists. As in the other two kernels, the lanes hold the
 * output channels o: gy is turned round once per sample into
 * gyt[i][j][16] (the 16 channels of one gy pixel side by side, zero past
 * o, and kw zero pixels at both ends of a row; one masked gather per
 * pixel), w once per call into wt[c][p][q][16]. The turn also sums
 * each of the sample's gy rows (the bias gradient's pieces), and the
 * turned gy of the whole batch stays in the scratch for the weight
 * gradient of the same backward (conv_implicit_wgrad.c), which then does
 * not turn it again.
 * Then every term is a vector multiply-add of two loads,
 *
 *     acc(c, h, w) += wt[c][p][q] * gyt[h-p][w-q]      (16 o at once),
 *
 * and the 16 lanes of acc are summed at the end. A block holds CB (<= 6)
 * channels x J (<= 2) neighbouring columns of one gx row: per tap,
 * CB + J loads for CB J multiply-adds. It walks only the kernel rows p
 * that meet gy (h - p a gy row) and the kernel columns q that meet gy for
 * one of its J columns, so besides the lanes past o (none at LeNet's
 * conv2) almost every multiply-add is a useful one: at conv2's shape 54
 * of its 2 x 5 taps per column pair and row are used, where the earlier
 * layout (16 gx columns in the lanes, w broadcast) spent 1.6 times the
 * useful work on gy's zero borders and idle lanes. The lanes are summed
 * by a fixed tree (sum_lanes), 12 accumulators into one vector. Against
 * that layout, the input gradient's share of `bench conv` fell by about
 * 9% and the bench by 2-6% (bench/RESULTS.md, session 7, lane conv): the
 * short p and q loops and the lane sums eat much of the saving.
 * The zeros read at a block's edge are multiplied by w, so w must be
 * finite (the caller checks).
 *
 * Samples are independent, so the threads split samples, and each gx
 * element is summed in one order whatever the thread count.
 */
/* GCC's predictive commoning sees that the float a block reads for
 * pixel j, tap q is the one it read for pixel j + 1, tap q - 1, and
 * carries such floats from one iteration to the next in registers the
 * accumulators need: it spilled them, and the kernels ran slower. */
/* And it made the zeroing of a block's accumulators a memset (rep stos,
 * about 8% of this file's time) though they live in registers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include "ops/conv_implicit.h"

#include "ops/conv_direct.h" /* TG__DIRECT_X86, TG__CONV_INLINE */
#include "tensor/pool.h"

#include <string.h>

#if TG__DIRECT_X86
#include <immintrin.h>
#endif

#define LANES 16
#define DX_J 2  /* gx columns per block */
#define DX_CB 6 /* channels per block */

/* gyt's zero pixels at each end of a row, and its row length. */
static int64_t edge_of(const tg__conv_geom *g) { return g->kw; }
static int64_t row_of(const tg__conv_geom *g) { return g->ow + 2 * edge_of(g); }

/* gyt of every sample, then the row sums (n o, rounded up to whole
 * vectors). */
static int64_t gyt_elems(const tg__conv_geom *g)
{
    return g->n * g->oh * row_of(g) * LANES;
}

int64_t tg__conv_implicit_turned(const tg__conv_geom *g)
{
    return gyt_elems(g) + (g->n * g->o + LANES - 1) / LANES * LANES;
}

const float *tg__conv_implicit_gy_at(const tg__conv_geom *g,
                                     const float *turned, int64_t s,
                                     int64_t i)
{
    return turned + ((s * g->oh + i) * row_of(g) + edge_of(g)) * LANES;
}

const float *tg__conv_implicit_sums(const tg__conv_geom *g,
                                    const float *turned)
{
    return turned + gyt_elems(g);
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
    const float *gy, *wt; /* wt[c][p][q][16] */
    float *gx, *gyt;
    int64_t cb;           /* channels per block */
} dx_job;

/* a and b hold groups of 16 >> round lanes (16, 8, 4 or 2); the result
 * holds groups half as long, each a group's first half plus its second,
 * a's groups first. fold_index[round] picks the first halves and the
 * second ones (lanes 16 .. 31 are b's). */
static const int32_t fold_index[4][2][LANES] = {
    {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
     {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}}, /* groups of 16 */
    {{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27},
     {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31}}, /* groups of 8 */
    {{0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29},
     {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31}}, /* groups of 4 */
    {{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
     {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}}, /* groups of 2 */
};

I512_ATTR static I512_INLINE __m512 fold(__m512 a, __m512 b, int round)
{
    __m512i lo = _mm512_loadu_si512(fold_index[round][0]);
    __m512i hi = _mm512_loadu_si512(fold_index[round][1]);
    return _mm512_add_ps(_mm512_permutex2var_ps(a, lo, b),
                         _mm512_permutex2var_ps(a, hi, b));
}

/* v[k] for k < n, else 0 (n a constant: no code for the zeros). */
I512_ATTR static I512_INLINE __m512 or_zero(const __m512 *v, int k, const int n)
{
    return k < n ? v[k] : _mm512_setzero_ps();
}

/* Lane k of the result = the sum of v[k]'s 16 lanes, for k < n (n <= 16;
 * the rest 0): four rounds of fold, 8 + 4 + 2 + 1 calls, always the same
 * tree. Written out so that every value stays in a register. */
I512_ATTR static I512_INLINE __m512 sum_lanes(const __m512 *v, const int n)
{
    __m512 t0 = fold(or_zero(v, 0, n), or_zero(v, 1, n), 0);
    __m512 t1 = fold(or_zero(v, 2, n), or_zero(v, 3, n), 0);
    __m512 t2 = fold(or_zero(v, 4, n), or_zero(v, 5, n), 0);
    __m512 t3 = fold(or_zero(v, 6, n), or_zero(v, 7, n), 0);
    __m512 t4 = fold(or_zero(v, 8, n), or_zero(v, 9, n), 0);
    __m512 t5 = fold(or_zero(v, 10, n), or_zero(v, 11, n), 0);
    __m512 t6 = fold(or_zero(v, 12, n), or_zero(v, 13, n), 0);
    __m512 t7 = fold(or_zero(v, 14, n), or_zero(v, 15, n), 0);
    __m512 u0 = fold(t0, t1, 1), u1 = fold(t2, t3, 1);
    __m512 u2 = fold(t4, t5, 1), u3 = fold(t6, t7, 1);
    return fold(fold(u0, u1, 2), fold(u2, u3, 2), 3);
}

/* gx row h (unpadded), channels c0 .. c0 + CB - 1, columns w0 .. w0 + J - 1
 * of one sample: gyt is its turned gy, gxs its gx. Inlined with CB and J
 * constants, so acc is CB J registers. */
I512_ATTR static I512_INLINE void dx_block(const dx_job *j, const float *gyt,
                                           float *gxs, int64_t h,
                                           int64_t c0, int64_t w0,
                                           const int CB, const int J)
{
    const tg__conv_geom *g = j->g;
    __m512 acc[DX_CB * DX_J];
    for (int k = 0; k < CB * J; k++)
        acc[k] = _mm512_setzero_ps();
    /* Padded coordinates: kernel row p meets gy row hh - p, column q
     * meets gy column ww - q for one of the J columns. */
    int64_t hh = h + g->ph, ww = w0 + g->pw;
    int64_t plo = hh - (g->oh - 1) > 0 ? hh - (g->oh - 1) : 0;
    int64_t phi = hh < g->kh - 1 ? hh : g->kh - 1;
    int64_t qlo = ww - (g->ow - 1) > 0 ? ww - (g->ow - 1) : 0;
    int64_t qhi = ww + J - 1 < g->kw - 1 ? ww + J - 1 : g->kw - 1;
    int64_t rl = row_of(g), khw = g->kh * g->kw;
    for (int64_t p = plo; p <= phi; p++) {
        /* gyt pixel (hh - p, ww - q) for column 0 of the block. */
        const float *gr = gyt + ((hh - p) * rl + edge_of(g) + ww) * LANES;
        const float *wr = j->wt + (c0 * khw + p * g->kw) * LANES;
        for (int64_t q = qlo; q <= qhi; q++) {
            __m512 d[DX_J];
            for (int jj = 0; jj < J; jj++)
                d[jj] = _mm512_loadu_ps(gr + (jj - q) * LANES);
            for (int cc = 0; cc < CB; cc++) {
                __m512 wv = _mm512_loadu_ps(wr + (cc * khw + q) * LANES);
                for (int jj = 0; jj < J; jj++)
                    acc[cc * J + jj] =
                        _mm512_fmadd_ps(wv, d[jj], acc[cc * J + jj]);
            }
        }
    }
    float out[LANES];
    _mm512_storeu_ps(out, sum_lanes(acc, CB * J));
    for (int cc = 0; cc < CB; cc++)
        for (int jj = 0; jj < J; jj++)
            gxs[((c0 + cc) * g->h + h) * g->w + w0 + jj] = out[cc * J + jj];
}

/* One block with J (1 or 2) made a constant, CB already one. */
I512_ATTR static I512_INLINE void dx_cols(const dx_job *j, const float *gyt,
                                          float *gxs, int64_t h, int64_t c0,
                                          int64_t w0, const int CB, int J)
{
    if (J == 2)
        dx_block(j, gyt, gxs, h, c0, w0, CB, 2);
    else
        dx_block(j, gyt, gxs, h, c0, w0, CB, 1);
}

/* One block with CB (1 .. 6) and J (1 or 2) made constants. */
I512_ATTR static void dx_any(const dx_job *j, const float *gyt, float *gxs,
                             int64_t h, int64_t c0, int64_t w0, int CB, int J)
{
    switch (CB) {
    case 1: dx_cols(j, gyt, gxs, h, c0, w0, 1, J); break;
    case 2: dx_cols(j, gyt, gxs, h, c0, w0, 2, J); break;
    case 3: dx_cols(j, gyt, gxs, h, c0, w0, 3, J); break;
    case 4: dx_cols(j, gyt, gxs, h, c0, w0, 4, J); break;
    case 5: dx_cols(j, gyt, gxs, h, c0, w0, 5, J); break;
    default: dx_cols(j, gyt, gxs, h, c0, w0, 6, J); break;
    }
}

/* gy of sample s (o, oh, ow) into gyt[i][kw + j][o], zeros elsewhere:
 * one gather of a pixel's o values (P apart) per pixel. Then gy's o rows
 * of the sample summed, for the bias gradient: they were just read, so
 * they are in the cache. */
I512_ATTR static void turn(const tg__conv_geom *g, const float *gy, int64_t s,
                           float *turned)
{
    int64_t P = g->oh * g->ow, rl = row_of(g), e = edge_of(g);
    float *gyt = turned + s * g->oh * rl * LANES;
    const float *src = gy + s * g->o * P;
    __mmask16 m = first(g->o);
    __m512i at = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32((int)P));
    __m512 z = _mm512_setzero_ps();
    for (int64_t i = 0; i < g->oh; i++) {
        float *row = gyt + i * rl * LANES;
        for (int64_t k = 0; k < e; k++) {
            _mm512_storeu_ps(row + k * LANES, z);
            _mm512_storeu_ps(row + (e + g->ow + k) * LANES, z);
        }
        for (int64_t c = 0; c < g->ow; c++)
            _mm512_storeu_ps(row + (e + c) * LANES,
                             _mm512_mask_i32gather_ps(z, m, at, src + i * g->ow + c, 4));
    }
    float *sums = turned + gyt_elems(g) + s * g->o;
    for (int64_t o = 0; o < g->o; o++)
        sums[o] = tg__conv_row_sum_f32(src + o * P, P);
}
#endif /* TG__DIRECT_X86 */

void tg__conv_implicit_turn(const tg__conv_geom *g, const float *gy,
                            int64_t s, float *turned)
{
#if TG__DIRECT_X86
    turn(g, gy, s, turned);
#else
    (void)g, (void)gy, (void)s, (void)turned;
#endif
}

#if TG__DIRECT_X86
/* Samples [begin, end): turn gy round, then every block. */
I512_ATTR static void dx_part(void *ctx, int64_t begin, int64_t end)
{
    const dx_job *j = ctx;
    const tg__conv_geom *g = j->g;
    for (int64_t s = begin; s < end; s++) {
        turn(g, j->gy, s, j->gyt);
        const float *gyt = j->gyt + s * g->oh * row_of(g) * LANES;
        float *gxs = j->gx + s * g->c * g->h * g->w;
        for (int64_t h = 0; h < g->h; h++)
            for (int64_t c0 = 0; c0 < g->c; c0 += j->cb)
                for (int64_t w0 = 0; w0 < g->w; w0 += DX_J) {
                    int CB = (int)(g->c - c0 < j->cb ? g->c - c0 : j->cb);
                    int J = (int)(g->w - w0 < DX_J ? g->w - w0 : DX_J);
                    dx_any(j, gyt, gxs, h, c0, w0, CB, J);
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
    float *wt = scratch + tg__conv_implicit_turned(g);
    tg__conv_implicit_pack(g, w, wt);
    /* Channel blocks of about equal size, at most 6. */
    int64_t nb = (g->c + DX_CB - 1) / DX_CB;
    dx_job j = {g, gy, wt, gx, scratch, (g->c + nb - 1) / nb};
    int64_t per = g->o * g->oh * g->ow * g->c * g->kh * g->kw;
    int64_t m = ((int64_t)1 << 16) / (per > 0 ? per : 1);
    tg__parallel_for(g->n, 1, m < 1 ? 1 : m, dx_part, &j);
#else
    (void)g, (void)gy, (void)w, (void)gx, (void)scratch;
#endif
}
