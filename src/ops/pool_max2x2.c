/*
 * pool_max2x2.c — max pooling's common case, 2x2 windows at stride 2
 * without padding or dilation (LeNet's pooling), done without the
 * per-window helpers of pool_plan.c.
 *
 * The windows tile the plane, so output (i, j) reads the four inputs
 *
 *     a = x[2i][2j]    b = x[2i][2j+1]    c = x[2i+1][2j]    d = x[2i+1][2j+1]
 *
 * and the argmax is stored compactly as one byte per output, its code:
 * 0, 1, 2, 3 for a, b, c, d (pl->code instead of pl->arg; tg__pool_arg
 * turns it back into a position). The code follows PyTorch's rule, the
 * first maximum in row-major order with a NaN replacing whatever came
 * before:
 *
 *     best = a; for v in b, c, d: if (v > best or v is NaN) best = v
 *
 * Forward finds y and the code in one pass. P^T (the gradient) writes each
 * input once, gy where the code points and 0 at the window's other three,
 * so the input's gradient needs no memset first (only an odd last row or
 * column, which no window covers, is zeroed). gy + 0 is written rather
 * than gy, so a -0 becomes +0 exactly as in the zeroed-then-accumulated
 * gradient of the general path (and PyTorch's).
 *
 * f32 goes through AVX2: the row pair is loaded 16 floats at a time and
 * split into its even and odd columns, giving a, b, c, d for 8 outputs in
 * four registers; a row's last n < 8 outputs (all of them in LeNet's
 * second pooling, 5 wide) use masked loads and stores. f64, and machines
 * without AVX2 (or tg__gemm_limit_isa(0) in tests), use the scalar loop,
 * which makes the same choices. Work is split by output rows across the
 * thread pool; every element is computed alone, so results are the same
 * for any thread count.
 *
 * The same loops also run relu_max_pool2d (pool_relu.c), max_pool2d of
 * relu(x) in one pass: forward takes relu of each of a, b, c, d as it
 * loads them (x < 0 ? 0 : x, relu.c's rule), and P^T keeps gy only where
 * the pooled output y is above 0 or NaN, which is where relu lets the
 * gradient through at the argmax (y = relu(x[arg])). Both give what the
 * two ops give one after the other, bit for bit, without relu's own
 * full-size output and gradient.
 */
#include "ops/pool_plan.h"

#include "tensor/gemm.h"
#include "tensor/pool.h"
#include "tensor/tensor_struct.h"

#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define TG__MAX2X2_X86 1
#include <immintrin.h>
#else
#define TG__MAX2X2_X86 0
#endif

bool tg__pool_is_max2x2(const tg__pool_plan *pl)
{
    return pl->kind == TG__POOL_MAX && pl->k[0] == 2 && pl->k[1] == 2 &&
           pl->s[0] == 2 && pl->s[1] == 2 && pl->p[0] == 0 &&
           pl->p[1] == 0 && pl->d[0] == 1 && pl->d[1] == 1;
}

/* One call's work: output rows [begin, end) of all planes together (row r
 * is row r % oh of plane r / oh). */
typedef struct max2x2_job {
    const tg__pool_plan *pl;
    const void *x;    /* forward: the input; P^T: the pooled gradient */
    void *y;          /* forward: the pooled output; P^T: the input's shape */
    tg_dtype dt;      /* of x and y */
    bool avx2;        /* the caller's tg__gemm_isa() >= 1 */
    bool relu;        /* forward: pool relu(x) (relu_max_pool2d) */
    const void *py;   /* P^T: the pooled output of relu_max_pool2d, gy
                         kept where it is > 0 or NaN; NULL: kept everywhere */
} max2x2_job;

/* ---- scalar loops, for both dtypes ---- */

/* Forward over outputs j0 .. ow - 1 of one output row: r0 and r1 are its
 * two input rows, y and code the row's outputs. */
#define MAX2X2_ROW(T, r0, r1, y, code, j0, ow, relu)                          \
    for (int64_t j = (j0); j < (ow); j++) {                                   \
        T v[4] = {(r0)[2 * j], (r0)[2 * j + 1], (r1)[2 * j],                  \
                  (r1)[2 * j + 1]};                                           \
        for (int q = 0; (relu) && q < 4; q++)                                 \
            v[q] = v[q] < 0 ? 0 : v[q];                                       \
        T best = v[0];                                                        \
        uint8_t k = 0;                                                        \
        for (uint8_t q = 1; q < 4; q++) { /* selects, no branches */          \
            bool take = v[q] > best || v[q] != v[q];                          \
            best = take ? v[q] : best;                                        \
            k = take ? q : k;                                                 \
        }                                                                     \
        (y)[j] = best;                                                        \
        (code)[j] = k;                                                        \
    }

/* P^T over outputs j0 .. ow - 1 of one output row: each window's four
 * inputs written, g where the code points, else 0 (also where py, if not
 * NULL, is <= 0: relu_max_pool2d). */
#define MAX2X2_ROW_T(T, g, code, r0, r1, j0, ow, py)                          \
    for (int64_t j = (j0); j < (ow); j++) {                                   \
        T gj = (g)[j] + (T)0; /* -0 becomes +0, as 0 + g gives */          \
        gj = (py) != NULL && (py)[j] <= 0 ? 0 : gj;                           \
        uint8_t k = (code)[j];                                                \
        (r0)[2 * j] = k == 0 ? gj : 0;                                        \
        (r0)[2 * j + 1] = k == 1 ? gj : 0;                                    \
        (r1)[2 * j] = k == 2 ? gj : 0;                                        \
        (r1)[2 * j + 1] = k == 3 ? gj : 0;                                    \
    }

/* ---- AVX2 for f32: 8 outputs of a row at a time ---- */

#if TG__MAX2X2_X86
#define MAX2X2_ATTR __attribute__((target("avx2")))

/* n < 8 bytes from src to dst, by fixed-size copies (a libc call per
 * row for a few bytes costs more than the row's arithmetic). */
static inline void copy_few(uint8_t *dst, const uint8_t *src, int64_t n)
{
    int64_t k = 0;
    if (n & 4) {
        memcpy(dst, src, 4);
        k = 4;
    }
    if (n & 2) {
        memcpy(dst + k, src + k, 2);
        k += 2;
    }
    if (n & 1)
        dst[k] = src[k];
}

/* Lane masks: lanes below n set (n from 0 to 8). */
MAX2X2_ATTR static inline __m256i lanes_below(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The even and odd columns of the 2n floats at p (n <= 8 outputs; lanes
 * from n on are 0): lanes 0..7 of each in order. shuffle_ps works within
 * 128-bit halves, so the permute puts the halves' pairs back in order.
 * The masked loads read nothing past the row. */
MAX2X2_ATTR static inline void split_even_odd(const float *p, int64_t n,
                                              __m256 *even, __m256 *odd)
{
    __m256 lo, hi;
    if (n == 8) {
        lo = _mm256_loadu_ps(p);
        hi = _mm256_loadu_ps(p + 8);
    } else {
        lo = _mm256_maskload_ps(p, lanes_below(2 * n));
        hi = _mm256_maskload_ps(p + 8, lanes_below(2 * n - 8));
    }
    __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e),
                                                   _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o),
                                                  _MM_SHUFFLE(3, 1, 2, 0)));
}

/* One row's outputs, 8 at a time, the last n < 8 by masked loads and
 * stores. */
MAX2X2_ATTR static void row_avx2(const float *r0, const float *r1, float *y,
                                 uint8_t *code, int64_t ow, bool relu)
{
    for (int64_t j = 0; j < ow; j += 8) {
        int64_t n = ow - j < 8 ? ow - j : 8;
        __m256 v[4];
        split_even_odd(r0 + 2 * j, n, &v[0], &v[1]);
        split_even_odd(r1 + 2 * j, n, &v[2], &v[3]);
        for (int q = 0; relu && q < 4; q++) /* x < 0 ? 0 : x, lane by lane */
            v[q] = _mm256_andnot_ps(
                _mm256_cmp_ps(v[q], _mm256_setzero_ps(), _CMP_LT_OQ), v[q]);
        __m256 best = v[0];
        __m256i k = _mm256_setzero_si256();
        for (int q = 1; q < 4; q++) {
            __m256 take = _mm256_or_ps(_mm256_cmp_ps(v[q], best, _CMP_GT_OQ),
                                       _mm256_cmp_ps(v[q], v[q], _CMP_UNORD_Q));
            best = _mm256_blendv_ps(best, v[q], take);
            k = _mm256_blendv_epi8(k, _mm256_set1_epi32(q),
                                   _mm256_castps_si256(take));
        }
        /* eight 32-bit codes (0..3) narrowed to eight bytes */
        __m128i k16 = _mm_packs_epi32(_mm256_castsi256_si128(k),
                                      _mm256_extracti128_si256(k, 1));
        __m128i k8 = _mm_packus_epi16(k16, k16);
        if (n == 8) {
            _mm256_storeu_ps(y + j, best);
            _mm_storel_epi64((__m128i *)(code + j), k8);
        } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, k8);
            _mm256_maskstore_ps(y + j, lanes_below(n), best);
            copy_few(code + j, tmp, n);
        }
    }
}

/* The same row's P^T: the pooled gradient's values spread to the columns
 * of both input rows, masked by the codes (gy + 0: see the top), and by
 * py > 0 or NaN if py is not NULL. */
MAX2X2_ATTR static void row_t_avx2(const float *g, const uint8_t *code,
                                   const float *py, float *r0, float *r1,
                                   int64_t ow)
{
    for (int64_t j = 0; j < ow; j += 8) {
        int64_t n = ow - j < 8 ? ow - j : 8;
        uint8_t tmp[8] = {0};
        if (n == 8)
            memcpy(tmp, code + j, 8);
        else
            copy_few(tmp, code + j, n);
        __m256 gj = n == 8 ? _mm256_loadu_ps(g + j)
                           : _mm256_maskload_ps(g + j, lanes_below(n));
        gj = _mm256_add_ps(gj, _mm256_setzero_ps());
        if (py != NULL) { /* the lanes past n are 0 in gj already */
            __m256 yj = n == 8 ? _mm256_loadu_ps(py + j)
                               : _mm256_maskload_ps(py + j, lanes_below(n));
            gj = _mm256_andnot_ps(
                _mm256_cmp_ps(yj, _mm256_setzero_ps(), _CMP_LE_OQ), gj);
        }
        __m256i k = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)tmp));
        __m256 v[4];
        for (int q = 0; q < 4; q++)
            v[q] = _mm256_and_ps(gj, _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                                         k, _mm256_set1_epi32(q))));
        /* interleave (a, b) into row 2i and (c, d) into row 2i + 1 */
        for (int r = 0; r < 2; r++) {
            __m256 lo = _mm256_unpacklo_ps(v[2 * r], v[2 * r + 1]);
            __m256 hi = _mm256_unpackhi_ps(v[2 * r], v[2 * r + 1]);
            __m256 first = _mm256_permute2f128_ps(lo, hi, 0x20);
            __m256 second = _mm256_permute2f128_ps(lo, hi, 0x31);
            float *dst = (r == 0 ? r0 : r1) + 2 * j;
            if (n == 8) {
                _mm256_storeu_ps(dst, first);
                _mm256_storeu_ps(dst + 8, second);
            } else {
                _mm256_maskstore_ps(dst, lanes_below(2 * n), first);
                _mm256_maskstore_ps(dst + 8, lanes_below(2 * n - 8), second);
            }
        }
    }
}
#endif

/* ---- the parts run by the thread pool ---- */

static void forward_part(void *ctx, int64_t begin, int64_t end)
{
    const max2x2_job *jb = ctx;
    const tg__pool_plan *pl = jb->pl;
    int64_t w = pl->w, ow = pl->ow, hw = pl->h * w;
    for (int64_t r = begin; r < end; r++) {
        int64_t in0 = r / pl->oh * hw + r % pl->oh * 2 * w;
        uint8_t *code = pl->code + r * ow;
        if (jb->dt == TG_F32) {
            const float *r0 = (const float *)jb->x + in0, *r1 = r0 + w;
            float *y = (float *)jb->y + r * ow;
#if TG__MAX2X2_X86
            if (jb->avx2) {
                row_avx2(r0, r1, y, code, ow, jb->relu);
                continue;
            }
#endif
            MAX2X2_ROW(float, r0, r1, y, code, 0, ow, jb->relu)
        } else {
            const double *r0 = (const double *)jb->x + in0, *r1 = r0 + w;
            double *y = (double *)jb->y + r * ow;
            MAX2X2_ROW(double, r0, r1, y, code, 0, ow, jb->relu)
        }
    }
}

/* P^T's rows; a plane's last input row when H is odd (no window covers
 * it) is zeroed by the part holding that plane's last output row, and
 * an odd last column by the row's own part. */
static void transpose_part(void *ctx, int64_t begin, int64_t end)
{
    const max2x2_job *jb = ctx;
    const tg__pool_plan *pl = jb->pl;
    int64_t w = pl->w, ow = pl->ow, hw = pl->h * w;
    size_t es = jb->dt == TG_F32 ? sizeof(float) : sizeof(double);
    char *out = jb->y;
    for (int64_t r = begin; r < end; r++) {
        int64_t in0 = r / pl->oh * hw + r % pl->oh * 2 * w;
        const uint8_t *code = pl->code + r * ow;
        if (jb->dt == TG_F32) {
            float *r0 = (float *)jb->y + in0, *r1 = r0 + w;
            const float *g = (const float *)jb->x + r * ow;
            const float *py = jb->py ? (const float *)jb->py + r * ow : NULL;
#if TG__MAX2X2_X86
            if (jb->avx2)
                row_t_avx2(g, code, py, r0, r1, ow);
            else
#endif
                MAX2X2_ROW_T(float, g, code, r0, r1, 0, ow, py)
        } else {
            double *r0 = (double *)jb->y + in0, *r1 = r0 + w;
            const double *g = (const double *)jb->x + r * ow;
            const double *py = jb->py ? (const double *)jb->py + r * ow : NULL;
            MAX2X2_ROW_T(double, g, code, r0, r1, 0, ow, py)
        }
        if (w % 2 != 0) { /* the last column of both rows */
            memset(out + (size_t)(in0 + w - 1) * es, 0, es);
            memset(out + (size_t)(in0 + 2 * w - 1) * es, 0, es);
        }
        if (pl->h % 2 != 0 && r % pl->oh == pl->oh - 1)
            memset(out + (size_t)(in0 + 2 * w) * es, 0, (size_t)w * es);
    }
}

/* Rows per part: about what pays for waking a thread for a streaming
 * loop, counted in elements of the cheapest one (TG__ELEMENTWISE_PART).
 * A row reads and writes about 3 w elements either way (2 w in and w / 2
 * out plus the codes forward; the reverse backward), and costs 1.5 to 2
 * times that loop's time per element (measured on W6's shapes: relu's
 * loop, 0.23 ns an element, against 0.35 for pool forward and 0.5 for
 * its P^T), so about 4 w. Counting 2 w kept LeNet's second pooling, 5120
 * rows of 10, on one thread. */
static int64_t min_rows(const tg__pool_plan *pl)
{
    int64_t per_row = 4 * pl->w, m = TG__ELEMENTWISE_PART / per_row;
    return m < 1 ? 1 : m;
}

void tg__pool_max2x2_forward(const tg__pool_plan *pl, const tg_tensor *x,
                             tg_tensor *y, bool relu)
{
    max2x2_job jb = {pl, x->data, y->data, x->dtype, tg__gemm_isa() >= 1,
                     relu, NULL};
    tg__parallel_for(pl->planes * pl->oh, 1, min_rows(pl), forward_part, &jb);
}

/* P x from the codes (for the recorded derivative's pool2d_linear): a
 * plain gather, not on the training path. */
static void gather(const tg__pool_plan *pl, const tg_tensor *x, tg_tensor *y)
{
    for (int64_t o = 0; o < y->numel; o++) {
        int64_t src = o / (pl->oh * pl->ow) * pl->h * pl->w + tg__pool_arg(pl, o);
        if (x->dtype == TG_F32)
            ((float *)y->data)[o] = ((const float *)x->data)[src];
        else
            ((double *)y->data)[o] = ((const double *)x->data)[src];
    }
}

void tg__pool_max2x2_apply(const tg__pool_plan *pl, const tg_tensor *x,
                           tg_tensor *y, bool pooled)
{
    if (pooled) {
        gather(pl, x, y);
        return;
    }
    max2x2_job jb = {pl, x->data, y->data, x->dtype, tg__gemm_isa() >= 1,
                     false, NULL};
    tg__parallel_for(pl->planes * pl->oh, 1, min_rows(pl), transpose_part, &jb);
}

void tg__pool_max2x2_relu_grad(const tg__pool_plan *pl, const tg_tensor *gy,
                               const tg_tensor *y, tg_tensor *gx)
{
    max2x2_job jb = {pl, gy->data, gx->data, gy->dtype, tg__gemm_isa() >= 1,
                     false, y->data};
    tg__parallel_for(pl->planes * pl->oh, 1, min_rows(pl), transpose_part, &jb);
}
