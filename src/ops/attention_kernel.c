/*
 * attention_kernel.c — one matrix of scaled dot-product attention
 * (attention_kernel.h): its products by the gemm kernel, which reads and
 * writes through row strides, and the masked softmax and its derivative
 * row by row in between. Small f32 matrices (a head of a character
 * model: 16 x 16) go to attention_small.c instead, where the products are
 * loops short enough that calling the gemm kernel would cost more than
 * they do.
 */
#include "ops/attention_kernel.h"

#include "hot.h"
#include "tensor/gemm.h"
#include "vec_math.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* C (m x n, ldc) = op(A) op(B), of the dtype f32 says. */
static void gemm(bool f32, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                 const void *a, int64_t lda, const void *b, int64_t ldb,
                 void *c, int64_t ldc)
{
    if (f32)
        tg__gemm_f32(ta, tb, m, n, k, a, lda, b, ldb, 0.0f, c, ldc);
    else
        tg__gemm_f64(ta, tb, m, n, k, a, lda, b, ldb, 0.0, c, ldc);
}

/* The largest of x[0..n), NaN if any is NaN. */
static float max_f32(const float *x, int64_t n)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        m = x[j] > m || isnan(x[j]) ? x[j] : m;
    return m;
}

/*
 * NaN and inf at masked places, as PyTorch: its attention adds the mask
 * (-inf above the diagonal) to the scores, then takes the softmax, then
 * multiplies by v. So a masked score that is NaN or +inf turns its whole
 * row NaN (inf - inf), though the row never looks at that key; and a NaN
 * or inf in a masked row of v reaches the output through its weight 0
 * (0 * inf is NaN). The gemm path below gets the second by itself (its
 * products run over every column); masked_poison() checks for the first.
 * The small-matrix loops skip the masked columns, so they look for NaN
 * and inf in their inputs as they pack them and, if there are any, run
 * every product over all the columns (see small_forward).
 */

/* Whether one of a row's masked scores, row[n..S), is NaN or +inf. */
static bool masked_poison_f32(const float *row, int64_t n, int64_t S)
{
    bool bad = false;
    for (int64_t j = n; j < S; j++)
        bad |= !(row[j] < INFINITY);
    return bad;
}

static bool masked_poison_f64(const double *row, int64_t n, int64_t S)
{
    bool bad = false;
    for (int64_t j = n; j < S; j++)
        bad |= !(row[j] < INFINITY);
    return bad;
}

/* One row of S scores in place: scaled, softmaxed over its first n and
 * the rest (masked) set to 0; all NaN if a masked score is NaN or +inf,
 * or if the row's max is (PyTorch's masked probabilities are
 * e^-inf / sum, NaN when the sum is). The max is subtracted before exp, so no exp overflows. In float with
 * vec_math.h's exp, 16 lanes at a time; the sum is a plain loop (a vector
 * sum would reorder the additions). */
TG__HOT static void softmax_row_f32(float *row, int64_t n, int64_t S,
                                    float scale)
{
    if (masked_poison_f32(row, n, S)) {
        for (int64_t j = 0; j < S; j++)
            row[j] = NAN;
        return;
    }
    for (int64_t j = 0; j < n; j++)
        row[j] *= scale;
    float m = max_f32(row, n), sum = 0;
    for (int64_t j = 0; j < n; j++)
        row[j] = tg__vexpf(row[j] - m);
    for (int64_t j = 0; j < n; j++)
        sum += row[j];
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; j++)
        row[j] *= inv;
    for (int64_t j = n; j < S; j++) /* e^-inf / sum: NaN in a NaN row */
        row[j] = 0.0f * inv;
}

/* The same in double, with libm's exp. */
static void softmax_row_f64(double *row, int64_t n, int64_t S, double scale)
{
    double m = -INFINITY, sum = 0;
    if (masked_poison_f64(row, n, S)) {
        for (int64_t j = 0; j < S; j++)
            row[j] = NAN;
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        row[j] *= scale;
        m = row[j] > m || isnan(row[j]) ? row[j] : m;
    }
    for (int64_t j = 0; j < n; j++)
        sum += row[j] = exp(row[j] - m);
    for (int64_t j = 0; j < n; j++)
        row[j] /= sum;
    for (int64_t j = n; j < S; j++)
        row[j] = 0.0 / sum;
}

/* ds = p * (dp - rowsum(p * dp)) * scale, in place in dp (rows of S). */
TG__HOT static void softmax_link_f32(const float *p, float *dp, int64_t L,
                                     int64_t S, float scale)
{
    for (int64_t i = 0; i < L; i++) {
        const float *pr = p + i * S;
        float *g = dp + i * S;
        double dot = 0;
        for (int64_t j = 0; j < S; j++)
            dot += (double)pr[j] * g[j];
        float d = (float)dot;
        for (int64_t j = 0; j < S; j++)
            g[j] = pr[j] * (g[j] - d) * scale;
    }
}

static void softmax_link_f64(const double *p, double *dp, int64_t L,
                             int64_t S, double scale)
{
    for (int64_t i = 0; i < L; i++) {
        const double *pr = p + i * S;
        double *g = dp + i * S, dot = 0;
        for (int64_t j = 0; j < S; j++)
            dot += pr[j] * g[j];
        for (int64_t j = 0; j < S; j++)
            g[j] = pr[j] * (g[j] - dot) * scale;
    }
}

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
static bool small(const tg__attn_mat *m)
{
    return m->f32 && m->S <= 64 && m->D <= 64 && m->Dv <= 64;
}

/* n rounded up to a multiple of LANES. */
static int64_t padded(int64_t n)
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

/* dst (rows x padded(cols), zero-padded) = src (rows x cols, rows ld
 * apart), or its transpose (cols x padded(rows)) when t. Returns the
 * number of elements of dst. */
static int64_t pack(const float *src, int64_t ld, int64_t rows, int64_t cols,
                    bool t, float *dst)
{
    int64_t w = padded(t ? rows : cols);
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
    int64_t Sp = padded(m->S), Dvp = padded(m->Dv);
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

/* ds = p * (dp - p . dp) * scale over a padded row, in place in dp. */
TG__HOT static void link_lanes(const float *p, float *dp, int64_t n,
                               int64_t w, float scale)
{
    double dot = 0;
    for (int64_t j = 0; j < n; j++)
        dot += (double)p[j] * dp[j];
    float d = (float)dot;
    for (int64_t j = 0; j < w; j++)
        dp[j] = p[j] * (dp[j] - d) * scale;
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
    int64_t L = m->L, S = m->S, Sp = padded(S), Dp = padded(m->D),
            Dvp = padded(m->Dv);
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
        link_lanes(p + i * Sp, dr, n, Sp, scale);
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

void tg__attn_forward(const tg__attn_mat *m, void *p, void *y, int64_t ldy,
                      void *scratch)
{
    if (small(m)) {
        small_forward(m, p, y, ldy, scratch);
        return;
    }
    gemm(m->f32, false, true, m->L, m->S, m->D, m->q, m->ldq, m->k, m->ldk,
         p, m->S);
    double scale = 1.0 / sqrt((double)m->D);
    for (int64_t i = 0; i < m->L; i++) {
        int64_t n = m->causal ? i + 1 : m->S;
        if (m->f32)
            softmax_row_f32((float *)p + i * m->S, n, m->S, (float)scale);
        else
            softmax_row_f64((double *)p + i * m->S, n, m->S, scale);
    }
    gemm(m->f32, false, false, m->L, m->Dv, m->S, p, m->S, m->v, m->ldv, y,
         ldy);
}

int64_t tg__attn_p_cols(const tg__attn_mat *m)
{
    return small(m) ? padded(m->S) : m->S;
}

int64_t tg__attn_scratch(const tg__attn_mat *m)
{
    if (!small(m))
        return m->L * m->S; /* ds */
    int64_t Sp = padded(m->S), Dp = padded(m->D), Dvp = padded(m->Dv);
    int64_t fwd = m->D * Sp + m->S * Dvp + Dvp;
    int64_t bwd = m->L * Dvp + (Dp > Dvp ? Dp : Dvp) + m->Dv * Sp +
                  m->S * Dp + m->L * Dp + m->L * Sp;
    return fwd > bwd ? fwd : bwd;
}

void tg__attn_backward(const tg__attn_mat *m, const void *p, const void *gy,
                       int64_t ldg, const tg__attn_grads *g, void *scratch)
{
    if (small(m)) {
        small_backward(m, p, gy, ldg, g, scratch);
        return;
    }
    bool f32 = m->f32;
    if (g->v != NULL) /* dv = p^T gy */
        gemm(f32, true, false, m->S, m->Dv, m->L, p, m->S, gy, ldg, g->v,
             g->ldv);
    if (g->q == NULL && g->k == NULL)
        return;
    void *ds = scratch; /* dp = gy v^T, then ds in its place */
    gemm(f32, false, true, m->L, m->S, m->Dv, gy, ldg, m->v, m->ldv, ds,
         m->S);
    double scale = 1.0 / sqrt((double)m->D);
    if (f32)
        softmax_link_f32(p, ds, m->L, m->S, (float)scale);
    else
        softmax_link_f64(p, ds, m->L, m->S, scale);
    if (g->q != NULL) /* dq = ds k */
        gemm(f32, false, false, m->L, m->D, m->S, ds, m->S, m->k, m->ldk,
             g->q, g->ldq);
    if (g->k != NULL) /* dk = ds^T q */
        gemm(f32, true, false, m->S, m->D, m->L, ds, m->S, m->q, m->ldq,
             g->k, g->ldk);
}
