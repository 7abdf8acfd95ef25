/*
 * conv_implicit.c — the implicit-gemm forward (conv_implicit.h says what
 * the kernels compute, and when they run), and what the three share: the
 * gate, the scratch, the zero-padded copy of x.
 *
 * Forward, for one sample: the weights are packed once per call as
 * wt[c][p][q][16] (output channels in the lanes, zero past o). A block of
 * R output rows x J output columns (R <= 2, J <= 12: up to 24 of the 32
 * vector registers) keeps one accumulator per output pixel, all 16
 * channels of it. For each tap (c, p, q) it loads wt's vector once and
 * does R J multiply-adds, each with one float of x broadcast from memory
 * (vfmadd231ps zmm, zmm, [x]{1to16}): one load of x per multiply-add,
 * which the two load ports keep up with. At the end the block is turned
 * round into y's layout (channels apart, pixels contiguous). With
 * padding, each part of the split call first copies its own samples,
 * zero-padded, into the scratch (tg__conv_implicit_pad) and reads them at
 * once from the cache: no split call for the padding alone.
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
#include "tensor/gemm.h"
#include "tensor/pool.h"

#include <string.h>

#if TG__DIRECT_X86
#include <immintrin.h>
#endif

#define LANES 16
#define FWD_MAX_J 12

/* The kernels' scratch holds gy (or x) of the whole batch, where
 * im2col's is a few samples' worth: past this many elements (16 MiB of
 * f32) the batch's images are large, im2col's products are big enough
 * for the gemm anyway, and conv_kernel.c keeps it. */
#define SCRATCH_LIMIT ((int64_t)1 << 22)

bool tg__conv_implicit_ok(tg_dtype dt, const tg__conv_geom *g)
{
    return TG__DIRECT_X86 && dt == TG_F32 && g->g == 1 && g->o >= 8 &&
           g->o <= LANES && g->sh == 1 && g->sw == 1 && g->dh == 1 &&
           g->dw == 1 && g->kw <= 8 && g->oh >= 1 && g->ow >= 1 &&
           tg__conv_implicit_scratch(g) <= SCRATCH_LIMIT &&
           tg__gemm_isa() >= 2;
}

static bool padded(const tg__conv_geom *g) { return g->ph != 0 || g->pw != 0; }

int64_t tg__conv_implicit_padded(const tg__conv_geom *g)
{
    return padded(g) ? g->n * g->c * (g->h + 2 * g->ph) * (g->w + 2 * g->pw)
                     : 0;
}

int64_t tg__conv_implicit_wt_elems(const tg__conv_geom *g)
{
    return g->c * g->kh * g->kw * LANES;
}

/* Forward: wt, then the padded x. Backward: gy turned, then dx's wt or
 * the weight gradient's padded x and its second half's gw. */
int64_t tg__conv_implicit_scratch(const tg__conv_geom *g)
{
    int64_t wt = tg__conv_implicit_wt_elems(g), xp = tg__conv_implicit_padded(g);
    int64_t fwd = wt + xp;
    int64_t wg = xp + g->o * g->c * g->kh * g->kw;
    int64_t bwd = tg__conv_implicit_turned(g) + (wt > wg ? wt : wg);
    return fwd > bwd ? fwd : bwd;
}

void tg__conv_implicit_pack(const tg__conv_geom *g, const float *w, float *wt)
{
    int64_t taps = g->c * g->kh * g->kw;
    memset(wt, 0, (size_t)(taps * LANES) * sizeof *wt);
    for (int64_t o = 0; o < g->o; o++)
        for (int64_t k = 0; k < taps; k++)
            wt[k * LANES + o] = w[o * taps + k];
}

void tg__conv_implicit_pad(const tg__conv_geom *g, const float *x,
                           float *room, int64_t s)
{
    int64_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw, plane = hp * wp;
    for (int64_t nc = s * g->c; nc < (s + 1) * g->c; nc++) {
        float *dst = room + nc * plane;
        memset(dst, 0, (size_t)plane * sizeof *dst);
        for (int64_t i = 0; i < g->h; i++)
            memcpy(dst + (i + g->ph) * wp + g->pw, x + (nc * g->h + i) * g->w,
                   (size_t)g->w * sizeof *dst);
    }
}

typedef struct pad_job {
    const tg__conv_geom *g;
    const float *x;
    float *xp;
} pad_job;

/* Samples [begin, end): zeros, then x's rows at (ph, pw). */
static void pad_part(void *ctx, int64_t begin, int64_t end)
{
    const pad_job *j = ctx;
    for (int64_t s = begin; s < end; s++)
        tg__conv_implicit_pad(j->g, j->x, j->xp, s);
}

const float *tg__conv_implicit_planes(const tg__conv_geom *g, const float *x,
                                      float *room, int64_t *hp, int64_t *wp)
{
    *hp = g->h + 2 * g->ph;
    *wp = g->w + 2 * g->pw;
    if (!padded(g))
        return x;
    pad_job j = {g, x, room};
    int64_t per = g->c * *hp * *wp;
    int64_t m = ((int64_t)1 << 15) / (per > 0 ? per : 1);
    tg__parallel_for(g->n, 1, m < 1 ? 1 : m, pad_part, &j);
    return room;
}

#if TG__DIRECT_X86
#define I512_ATTR __attribute__((target("avx512f,avx2,fma")))
#define I512_INLINE TG__CONV_INLINE /* conv_direct.h says why */

typedef struct fwd_job {
    const tg__conv_geom *g;
    const float *x;
    float *room;      /* NULL, or where each part pads its samples */
    const float *xs;  /* x, or its padded copy */
    int64_t hp, wp;   /* its plane's sizes */
    const float *wt;  /* packed weights, wt[c][p][q][16] */
    const float *bias;
    float *y;
} fwd_job;

/* Output rows i0 .. i0 + R - 1, columns j0 .. j0 + J - 1 of one sample
 * (xs: its planes; ys: its output). Inlined with R and J constants, so
 * that acc is R J registers. */
I512_ATTR static I512_INLINE void fwd_block(const fwd_job *f, const float *xs,
                                            float *ys, int64_t i0, int64_t j0,
                                            const int R, const int J)
{
    const tg__conv_geom *g = f->g;
    __m512 acc[2][FWD_MAX_J];
    __m512 b = _mm512_setzero_ps();
    if (f->bias != NULL)
        b = _mm512_maskz_loadu_ps((__mmask16)((1u << g->o) - 1u), f->bias);
    for (int r = 0; r < R; r++)
        for (int jj = 0; jj < J; jj++)
            acc[r][jj] = b;
    const float *wt = f->wt;
    for (int64_t c = 0; c < g->c; c++)
        for (int64_t p = 0; p < g->kh; p++) {
            const float *xr = xs + (c * f->hp + i0 + p) * f->wp + j0;
            for (int64_t q = 0; q < g->kw; q++, wt += LANES, xr++) {
                __m512 wv = _mm512_loadu_ps(wt);
                for (int r = 0; r < R; r++)
                    for (int jj = 0; jj < J; jj++)
                        acc[r][jj] = _mm512_fmadd_ps(
                            wv, _mm512_set1_ps(xr[r * f->wp + jj]), acc[r][jj]);
            }
        }
    /* Turned round: pixel-major vectors to y's channel-major rows. */
    float t[2 * FWD_MAX_J][LANES];
    for (int r = 0; r < R; r++)
        for (int jj = 0; jj < J; jj++)
            _mm512_storeu_ps(t[r * J + jj], acc[r][jj]);
    int64_t P = g->oh * g->ow;
    for (int64_t o = 0; o < g->o; o++)
        for (int r = 0; r < R; r++) {
            float *yr = ys + o * P + (i0 + r) * g->ow + j0;
            for (int jj = 0; jj < J; jj++)
                yr[jj] = t[r * J + jj][o];
        }
}

/* One block with J (1 .. 12) made a constant, R already one. */
I512_ATTR static I512_INLINE void fwd_cols(const fwd_job *f, const float *xs,
                                           float *ys, int64_t i0, int64_t j0,
                                           const int R, int J)
{
    switch (J) {
    case 1: fwd_block(f, xs, ys, i0, j0, R, 1); break;
    case 2: fwd_block(f, xs, ys, i0, j0, R, 2); break;
    case 3: fwd_block(f, xs, ys, i0, j0, R, 3); break;
    case 4: fwd_block(f, xs, ys, i0, j0, R, 4); break;
    case 5: fwd_block(f, xs, ys, i0, j0, R, 5); break;
    case 6: fwd_block(f, xs, ys, i0, j0, R, 6); break;
    case 7: fwd_block(f, xs, ys, i0, j0, R, 7); break;
    case 8: fwd_block(f, xs, ys, i0, j0, R, 8); break;
    case 9: fwd_block(f, xs, ys, i0, j0, R, 9); break;
    case 10: fwd_block(f, xs, ys, i0, j0, R, 10); break;
    case 11: fwd_block(f, xs, ys, i0, j0, R, 11); break;
    default: fwd_block(f, xs, ys, i0, j0, R, 12); break;
    }
}

/* One block, with R in {1, 2} and J in 1 .. 12 made constants. */
I512_ATTR static void fwd_any(const fwd_job *f, const float *xs, float *ys,
                              int64_t i0, int64_t j0, int R, int J)
{
    if (R == 2)
        fwd_cols(f, xs, ys, i0, j0, 2, J);
    else
        fwd_cols(f, xs, ys, i0, j0, 1, J);
}

/* Samples [begin, end), each by blocks of 2 rows and about equal column
 * pieces of at most 12. */
I512_ATTR static void fwd_part(void *ctx, int64_t begin, int64_t end)
{
    const fwd_job *f = ctx;
    const tg__conv_geom *g = f->g;
    int64_t pieces = (g->ow + FWD_MAX_J - 1) / FWD_MAX_J;
    int64_t jw = (g->ow + pieces - 1) / pieces;
    for (int64_t s = begin; s < end; s++) {
        if (f->room != NULL) /* padded here, read at once from the cache */
            tg__conv_implicit_pad(g, f->x, f->room, s);
        const float *xs = f->xs + s * g->c * f->hp * f->wp;
        float *ys = f->y + s * g->o * g->oh * g->ow;
        for (int64_t i0 = 0; i0 < g->oh; i0 += 2)
            for (int64_t j0 = 0; j0 < g->ow; j0 += jw) {
                int R = g->oh - i0 >= 2 ? 2 : 1;
                int J = (int)(g->ow - j0 < jw ? g->ow - j0 : jw);
                fwd_any(f, xs, ys, i0, j0, R, J);
            }
    }
}
#endif /* TG__DIRECT_X86 */

void tg__conv_implicit_forward(const tg__conv_geom *g, const float *x,
                               const float *w, const float *bias, float *y,
                               float *scratch)
{
#if TG__DIRECT_X86
    float *wt = scratch;
    tg__conv_implicit_pack(g, w, wt);
    int64_t taps = g->c * g->kh * g->kw;
    fwd_job f = {g, x, NULL, x, g->h + 2 * g->ph, g->w + 2 * g->pw, wt, bias, y};
    if (padded(g))
        f.xs = f.room = scratch + tg__conv_implicit_wt_elems(g);
    /* Samples per part: about 64K multiply-adds each. */
    int64_t per = g->o * g->oh * g->ow * taps;
    int64_t m = ((int64_t)1 << 16) / (per > 0 ? per : 1);
    tg__parallel_for(g->n, 1, m < 1 ? 1 : m, fwd_part, &f);
#else
    (void)g, (void)x, (void)w, (void)bias, (void)y, (void)scratch;
#endif
}
