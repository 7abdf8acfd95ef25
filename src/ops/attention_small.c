/*
 * attention_small.c — scaled dot-product attention for small f32
 * matrices (attention_small.h): a head of a character model, 16 x 16,
 * where the products are loops of 16 lanes instead of calls to the gemm
 * kernel. attention_kernel.c sends a matrix here when tg__attn_small()
 * says so; the maths is that of its row-by-row path.
 */
#include "ops/attention_small.h"

#include "hot.h"
#include "vec_math.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- Small f32 matrices: the products as loops of 16 lanes -------------
 *
 * For a head of 16 x 16 the gemm kernel's set-up costs more than its
 * 4096 multiply-adds. Here every product is one loop, combine(): a row of
 * the result is a weighted sum of rows of a matrix packed into scratch
 * with its rows padded with zeros to a multiple of 16 floats, so that the
 * innermost loop is always 16 lanes (one AVX-512 register, two AVX2 ones)
 * and never has a remainder. A row of scores is a sum of rows of k^T, a
 * row of y a sum of rows of v, and so on. p is kept with padded rows too
 * (its padding 0). Under a causal mask the sums stop at the diagonal, so
 * the masked half of p v and of the backward's products is skipped. */

#define LANES 16

/* Small enough for these loops: f32, rows of at most 64. */
bool tg__attn_small(const tg__attn_mat *m)
{
    return m->f32 && m->S <= 64 && m->D <= 64 && m->Dv <= 64;
}

/* n rounded up to a multiple of LANES. */
int64_t tg__attn_small_cols(int64_t n)
{
    return (n + LANES - 1) / LANES * LANES;
}

/* out[0..w) = sum over r < n of a[r * as] * b[r * ldb + 0..w), w a
 * multiple of LANES: one row of a product, 16 lanes at a time. */
TG__HOT static void combine(const float *a, int64_t as, const float *b,
                            int64_t ldb, int64_t n, int64_t w,
                            float *restrict out)
{
    for (int64_t c = 0; c < w; c += LANES) {
        float acc[LANES] = {0};
        for (int64_t r = 0; r < n; r++) {
            float ar = a[r * as];
            for (int l = 0; l < LANES; l++)
                acc[l] += ar * b[r * ldb + c + l];
        }
        for (int l = 0; l < LANES; l++)
            out[c + l] = acc[l];
    }
}

/* dst (rows x tg__attn_small_cols(cols), zero-padded) = src (rows x cols, rows ld
 * apart), or its transpose (cols x tg__attn_small_cols(rows)) when t. Returns the
 * number of elements of dst. */
static int64_t pack(const float *src, int64_t ld, int64_t rows, int64_t cols,
                    bool t, float *dst)
{
    int64_t w = tg__attn_small_cols(t ? rows : cols);
    for (int64_t i = 0; i < (t ? cols : rows) * w; i++)
        dst[i] = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            dst[t ? c * w + r : r * w + c] = src[r * ld + c];
    return (t ? cols : rows) * w;
}

/* Whether x[0..n) holds no NaN and no inf. By the bits (an exponent of
 * all ones) and an OR, which vectorises, where a sum of x - x would be a
 * chain of float additions: this runs on every small matrix. */
static inline bool all_finite(const float *x, int64_t n)
{
    uint32_t any = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof b);
        any |= (b & 0x7f800000u) == 0x7f800000u;
    }
    return any == 0;
}

/* y[0..n) = x[0..n): a row of a result out of its padded scratch. */
static void unpack(const float *x, int64_t n, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i];
}

/* A padded row of scores, softmaxed in place over its first n (scaled
 * first); the other lanes 0; all NaN if one of the masked scores, the
 * lanes from n on, is NaN or +inf. As softmax_row_f32, over all the lanes: the
 * max and the sum lane by lane, the lanes reduced at the end, so that the
 * loops have no branch and no remainder. The masked lanes take e^0, not
 * e^-inf: an exp that underflows goes through subnormal floats, which
 * cost this processor a hundred cycles each (35% of the function when it
 * did), and their lanes are set to 0 anyway. */
TG__HOT static void softmax_lanes(float *row, int64_t n, int64_t w,
                                  float scale)
{
    float mx[LANES], sum[LANES], nan = 0;
    for (int l = 0; l < LANES; l++)
        mx[l] = -INFINITY, sum[l] = 0;
    for (int64_t c = 0; c < w; c += LANES)
        for (int l = 0; l < LANES; l++) {
            float x = row[c + l] * scale;
            row[c + l] = x;
            x = c + l < n ? x : -INFINITY;
            mx[l] = x > mx[l] ? x : mx[l];
            nan += x != x ? 1.0f : 0.0f;
        }
    /* a masked NaN or +inf makes the row NaN; so does a padding lane's
     * NaN (from an inf in q, whose row is NaN anyway) */
    for (int64_t j = n; j < w; j++)
        nan += row[j] <= FLT_MAX ? 0.0f : 1.0f;
    for (int h = LANES / 2; h > 0; h /= 2) /* a tree: 4 steps, not 15 */
        for (int l = 0; l < h; l++)
            mx[l] = mx[l + h] > mx[l] ? mx[l + h] : mx[l];
    float m = nan > 0 ? NAN : mx[0];
    for (int64_t c = 0; c < w; c += LANES)
        for (int l = 0; l < LANES; l++) {
            float e = tg__vexpf(c + l < n ? row[c + l] - m : 0.0f);
            row[c + l] = c + l < n ? e : 0.0f;
            sum[l] += row[c + l];
        }
    for (int h = LANES / 2; h > 0; h /= 2)
        for (int l = 0; l < h; l++)
            sum[l] += sum[l + h];
    float inv = 1.0f / sum[0];
    for (int64_t j = 0; j < w; j++)
        row[j] *= inv;
}

TG__HOT static void small_forward(const tg__attn_mat *m, float *p, float *y,
                          int64_t ldy, float *scratch)
{
    int64_t Sp = tg__attn_small_cols(m->S), Dvp = tg__attn_small_cols(m->Dv);
    float *kt = scratch, *vp = kt + m->D * Sp, *row = vp + m->S * Dvp;
    float scale = (float)(1.0 / sqrt((double)m->D));
    pack(m->k, m->ldk, m->S, m->D, true, kt);
    /* a NaN or inf in v: p v over every row of v, masked ones too */
    bool all = !all_finite(vp, pack(m->v, m->ldv, m->S, m->Dv, false, vp));
    for (int64_t i = 0; i < m->L; i++) {
        int64_t n = m->causal ? i + 1 : m->S;
        float *pr = p + i * Sp;
        combine((const float *)m->q + i * m->ldq, 1, kt, Sp, m->D, Sp, pr);
        softmax_lanes(pr, n, Sp, scale);
        combine(pr, 1, vp, Dvp, all ? m->S : n, Dvp, row);
        unpack(row, m->Dv, y + i * ldy);
    }
}

/*
 * Row by row: dp_i = gy_i v^T, ds_i = p_i * (dp_i - p_i . dp_i) * scale,
 * dq_i = ds_i k. Then column by column, dv_j = sum_i p_ij gy_i and
 * dk_j = sum_i ds_ij q_i, over the rows i that see column j (i >= j when
 * causal). Scratch: v^T, k, q, gy packed, ds and one row. When q, k, v,
 * gy or p hold a NaN or inf, every sum runs over all the rows or columns,
 * the masked ones (weight 0) too, as PyTorch's products do.
 */
TG__HOT static void small_backward(const tg__attn_mat *m, const float *p,
                           const float *gy, int64_t ldg,
                           const tg__attn_grads *g, float *scratch)
{
    int64_t L = m->L, S = m->S, Sp = tg__attn_small_cols(S), Dp = tg__attn_small_cols(m->D),
            Dvp = tg__attn_small_cols(m->Dv);
    float *gyp = scratch, *row = gyp + L * Dvp;
    bool finite = all_finite(gyp, pack(gy, ldg, L, m->Dv, false, gyp));
    for (int64_t i = 0; i < L; i++) /* a row of p is all NaN or none */
        finite &= p[i * Sp] == p[i * Sp];
    for (int64_t j = 0; g->v != NULL && j < S; j++) {
        int64_t i0 = m->causal && finite ? j : 0;
        combine(p + i0 * Sp + j, Sp, gyp + i0 * Dvp, Dvp, L - i0, Dvp, row);
        unpack(row, m->Dv, (float *)g->v + j * g->ldv);
    }
    if (g->q == NULL && g->k == NULL)
        return;
    float *vt = row + (Dp > Dvp ? Dp : Dvp), *kp = vt + m->Dv * Sp,
          *qp = kp + S * Dp, *ds = qp + L * Dp;
    float scale = (float)(1.0 / sqrt((double)m->D));
    finite &= all_finite(vt, pack(m->v, m->ldv, S, m->Dv, true, vt));
    finite &= all_finite(kp, pack(m->k, m->ldk, S, m->D, false, kp));
    finite &= all_finite(qp, pack(m->q, m->ldq, L, m->D, false, qp));
    for (int64_t i = 0; i < L; i++) {
        int64_t n = m->causal && finite ? i + 1 : S;
        float *dr = ds + i * Sp;
        combine(gyp + i * Dvp, 1, vt, Sp, m->Dv, Sp, dr);
        tg__attn_link_row_f32(p + i * Sp, dr, n, Sp, scale);
        if (g->q != NULL) {
            combine(dr, 1, kp, Dp, n, Dp, row);
            unpack(row, m->D, (float *)g->q + i * g->ldq);
        }
    }
    for (int64_t j = 0; g->k != NULL && j < S; j++) {
        int64_t i0 = m->causal && finite ? j : 0;
        combine(ds + i0 * Sp + j, Sp, qp + i0 * Dp, Dp, L - i0, Dp, row);
        unpack(row, m->D, (float *)g->k + j * g->ldk);
    }
}

void tg__attn_small_forward(const tg__attn_mat *m, void *p, void *y,
                            int64_t ldy, void *scratch)
{
    small_forward(m, p, y, ldy, scratch);
}

void tg__attn_small_backward(const tg__attn_mat *m, const void *p,
                             const void *gy, int64_t ldg,
                             const tg__attn_grads *g, void *scratch)
{
    small_backward(m, p, gy, ldg, g, scratch);
}

int64_t tg__attn_small_scratch(const tg__attn_mat *m)
{
    int64_t Sp = tg__attn_small_cols(m->S), Dp = tg__attn_small_cols(m->D),
            Dvp = tg__attn_small_cols(m->Dv);
    int64_t fwd = m->D * Sp + m->S * Dvp + Dvp;
    int64_t bwd = m->L * Dvp + (Dp > Dvp ? Dp : Dvp) + m->Dv * Sp +
                  m->S * Dp + m->L * Dp + m->L * Sp;
    return fwd > bwd ? fwd : bwd;
}
