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
#include "ops/attention_small.h"

#include "hot.h"
#include "tensor/gemm.h"
#include "vec_math.h"

#include <math.h>

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
 * every product over all the columns (attention_small.c).
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

/* ds = p * (dp - rowsum(p * dp)) * scale, in place in dp (rows of S):
 * the row formula the small path uses too (attention_small.h). */
TG__HOT static void softmax_link_f32(const float *p, float *dp, int64_t L,
                                     int64_t S, float scale)
{
    for (int64_t i = 0; i < L; i++)
        tg__attn_link_row_f32(p + i * S, dp + i * S, S, S, scale);
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

void tg__attn_forward(const tg__attn_mat *m, void *p, void *y, int64_t ldy,
                      void *scratch)
{
    if (tg__attn_small(m)) {
        tg__attn_small_forward(m, p, y, ldy, scratch);
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
    return tg__attn_small(m) ? tg__attn_small_cols(m->S) : m->S;
}

int64_t tg__attn_scratch(const tg__attn_mat *m)
{
    return tg__attn_small(m) ? tg__attn_small_scratch(m)
                             : m->L * m->S; /* ds */
}

void tg__attn_backward(const tg__attn_mat *m, const void *p, const void *gy,
                       int64_t ldg, const tg__attn_grads *g, void *scratch)
{
    if (tg__attn_small(m)) {
        tg__attn_small_backward(m, p, gy, ldg, g, scratch);
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
