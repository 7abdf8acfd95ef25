/*
 * attention.c — scaled dot-product attention, fused.
 *
 *     q: (..., L, D)   k: (..., S, D)   v: (..., S, Dv)   out: (..., L, Dv)
 *     s   = q k^T / sqrt(D)                   (..., L, S)
 *     p   = softmax(s) along S, with s[i][j] = -inf for j > i if causal
 *     out = p v
 *
 *     d/dv = p^T g
 *     d/ds = p * (g v^T - rowsum(p * g v^T))          (the softmax link)
 *     d/dq = d/ds k / sqrt(D),   d/dk = (d/ds)^T q / sqrt(D)
 *
 * as torch.nn.functional.scaled_dot_product_attention (torch >= 2.0), per
 * batch matrix. The softmax is the stable one (each row shifted by its
 * max over the unmasked columns) and masked columns are skipped, never
 * exponentiated, so they are exactly 0. Forward saves p for backward. The
 * batch dims of q, k and v must be equal (no broadcasting), and a causal
 * mask needs L == S.
 */
#include "tapegrad/ops.h"
#include "tapegrad/sequence.h"

#include "ops/builtin.h"
#include "tensor/element.h"
#include "tensor/gemm.h"

#include <math.h>

typedef struct sdpa_params {
    bool causal;
} sdpa_params;

typedef struct sdpa_dims {
    int64_t batch, L, S, D, Dv;
} sdpa_dims;

static sdpa_dims dims_of(tg_tensor *const *in)
{
    int nd = tg_ndim(in[0]);
    sdpa_dims d = {1, tg_shape(in[0])[nd - 2], tg_shape(in[1])[nd - 2],
                   tg_shape(in[0])[nd - 1], tg_shape(in[2])[nd - 1]};
    for (int i = 0; i < nd - 2; i++)
        d.batch *= tg_shape(in[0])[i];
    return d;
}

/* Which rule q, k and v break (0: none): same ndim >= 2 and batch dims,
 * q and k of one head size D, k and v of one length S, a causal mask on
 * square scores only. */
static int broken_rule(tg_tensor *const *in, bool causal)
{
    const tg_tensor *q = in[0], *k = in[1], *v = in[2];
    int nd = tg_ndim(q);
    bool ok = nd >= 2 && tg_ndim(k) == nd && tg_ndim(v) == nd;
    for (int i = 0; ok && i < nd - 2; i++)
        ok = tg_shape(k)[i] == tg_shape(q)[i] && tg_shape(v)[i] == tg_shape(q)[i];
    if (!ok)
        return 1;
    if (tg_shape(q)[nd - 1] != tg_shape(k)[nd - 1])
        return 2;
    if (tg_shape(k)[nd - 2] != tg_shape(v)[nd - 2])
        return 3;
    return causal && tg_shape(q)[nd - 2] != tg_shape(k)[nd - 2] ? 4 : 0;
}

/* TG_OK, or the error naming the shapes (formatted only on failure). */
static int check(tg_tensor *const *in, bool causal)
{
    int rule = broken_rule(in, causal);
    if (rule == 0)
        return TG_OK;
    char sq[96], sk[96], sv[96];
    const char *fn = "tg_scaled_dot_product_attention";
    tg_shape_str(in[0], sq, sizeof sq);
    tg_shape_str(in[1], sk, sizeof sk);
    tg_shape_str(in[2], sv, sizeof sv);
    if (rule == 1)
        return tg_set_error(TG_ESHAPE, "%s: q %s, k %s and v %s must have the "
                            "same batch dims and at least 2 dims", fn, sq, sk,
                            sv);
    if (rule == 2)
        return tg_set_error(TG_ESHAPE, "%s: the head dims of q %s and k %s "
                            "disagree", fn, sq, sk);
    if (rule == 3)
        return tg_set_error(TG_ESHAPE, "%s: k %s and v %s differ in length",
                            fn, sk, sv);
    int nd = tg_ndim(in[0]);
    return tg_set_error(TG_ESHAPE, "%s: a causal mask needs square scores, "
                        "but q %s and k %s give %lld x %lld", fn, sq, sk,
                        (long long)tg_shape(in[0])[nd - 2],
                        (long long)tg_shape(in[1])[nd - 2]);
}

/* C = op(A) op(B) for the dtype of the tensors, at element offsets. */
static void gemm(const tg_tensor *ref, bool ta, bool tb, int64_t m, int64_t n,
                 int64_t k, const void *a, int64_t oa, int64_t lda,
                 const void *b, int64_t ob, int64_t ldb, void *cm, int64_t oc,
                 int64_t ldc)
{
    if (tg_dtype_of(ref) == TG_F32)
        tg__gemm_f32(ta, tb, m, n, k, (const float *)a + oa, lda,
                     (const float *)b + ob, ldb, 0.0f, (float *)cm + oc, ldc);
    else
        tg__gemm_f64(ta, tb, m, n, k, (const double *)a + oa, lda,
                     (const double *)b + ob, ldb, 0.0, (double *)cm + oc, ldc);
}

static const void *rd(const tg_tensor *x)
{
    return tg_dtype_of(x) == TG_F32 ? (const void *)tg_data_f32(x)
                                    : (const void *)tg_data_f64(x);
}

static void *wr(tg_tensor *x)
{
    return tg_dtype_of(x) == TG_F32 ? (void *)tg_mut_f32(x)
                                    : (void *)tg_mut_f64(x);
}

/* Element i of a float or double array (f32 says which), kept in locals
 * so that the test is hoisted out of the loops. */
static inline double ld(const void *a, bool f32, int64_t i)
{
    return f32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

static inline void st(void *a, bool f32, int64_t i, double v)
{
    if (f32)
        ((float *)a)[i] = (float)v;
    else
        ((double *)a)[i] = v;
}

/* One row of S scores in place: scaled, masked past `last` (set to 0) and
 * softmaxed, the max over the unmasked ones subtracted first. */
static void softmax_row(void *row, bool f32, int64_t S, int64_t last,
                        double scale)
{
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j <= last; j++) {
        double s = ld(row, f32, j) * scale;
        m = s > m || isnan(s) ? s : m;
    }
    for (int64_t j = 0; j <= last; j++) {
        double e = exp(ld(row, f32, j) * scale - m);
        st(row, f32, j, e);
        sum += e;
    }
    double inv = 1.0 / sum;
    for (int64_t j = 0; j <= last; j++)
        st(row, f32, j, ld(row, f32, j) * inv);
    for (int64_t j = last + 1; j < S; j++)
        st(row, f32, j, 0);
}

static tg_tensor *sdpa_forward(tg_op_ctx *c)
{
    const sdpa_params *pr = c->params;
    if (check(c->in, pr->causal) != TG_OK)
        return NULL;
    sdpa_dims d = dims_of(c->in);
    const tg_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    int nd = tg_ndim(q);
    int64_t shape[TG_MAX_DIMS], pshape[3] = {d.batch, d.L, d.S};
    for (int i = 0; i < nd; i++)
        shape[i] = tg_shape(q)[i];
    shape[nd - 1] = d.Dv;
    tg_tensor *y = tg_empty(c->tape, tg_dtype_of(q), nd, shape);
    tg_tensor *p = tg_empty(c->tape, tg_dtype_of(q), 3, pshape);
    if (y == NULL || p == NULL)
        return NULL;
    double scale = 1.0 / sqrt((double)d.D);
    for (int64_t b = 0; b < d.batch; b++) {
        int64_t op = b * d.L * d.S;
        gemm(q, false, true, d.L, d.S, d.D, rd(q), b * d.L * d.D, d.D, rd(k),
             b * d.S * d.D, d.D, wr(p), op, d.S);
        bool f32 = tg_dtype_of(q) == TG_F32;
        char *rows = (char *)wr(p) + (size_t)op * (f32 ? 4 : 8);
        for (int64_t i = 0; i < d.L; i++)
            softmax_row(rows + (size_t)(i * d.S) * (f32 ? 4 : 8), f32, d.S,
                        pr->causal ? i : d.S - 1, scale);
        gemm(q, false, false, d.L, d.Dv, d.S, rd(p), op, d.S, rd(v),
             b * d.S * d.Dv, d.Dv, wr(y), b * d.L * d.Dv, d.Dv);
    }
    c->saved = p;
    return y;
}

/* ds = p * (dp - rowsum(p * dp)) * scale, in place in dp, for one batch
 * (p at element offset op of the saved probabilities). */
static void softmax_link(const tg_tensor *p, tg_tensor *dp, int64_t op,
                         const sdpa_dims *d, double scale)
{
    bool f32 = tg_dtype_of(p) == TG_F32;
    const void *pp = rd(p);
    void *g = wr(dp);
    for (int64_t i = 0; i < d->L; i++) {
        int64_t base = i * d->S;
        double dot = 0;
        for (int64_t j = 0; j < d->S; j++)
            dot += ld(pp, f32, op + base + j) * ld(g, f32, base + j);
        for (int64_t j = 0; j < d->S; j++)
            st(g, f32, base + j, ld(pp, f32, op + base + j) *
                                     (ld(g, f32, base + j) - dot) * scale);
    }
}

static int sdpa_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const tg_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    const tg_tensor *p = c->saved;
    sdpa_dims d = dims_of(c->in);
    double scale = 1.0 / sqrt((double)d.D);
    tg_tensor *dp = NULL;
    if (gx[0] != NULL || gx[1] != NULL) {
        int64_t shape[2] = {d.L, d.S};
        if ((dp = tg_empty(c->tape, tg_dtype_of(q), 2, shape)) == NULL)
            return tg_last_status();
    }
    for (int64_t b = 0; b < d.batch; b++) {
        int64_t op = b * d.L * d.S, og = b * d.L * d.Dv, ov = b * d.S * d.Dv;
        int64_t oq = b * d.L * d.D, ok = b * d.S * d.D;
        if (gx[2] != NULL) /* dv = p^T g */
            gemm(q, true, false, d.S, d.Dv, d.L, rd(p), op, d.S, rd(gy), og,
                 d.Dv, wr(gx[2]), ov, d.Dv);
        if (dp == NULL)
            continue;
        /* dp = g v^T, then ds in its place */
        gemm(q, false, true, d.L, d.S, d.Dv, rd(gy), og, d.Dv, rd(v), ov, d.Dv,
             wr(dp), 0, d.S);
        softmax_link(p, dp, op, &d, scale);
        if (gx[0] != NULL) /* dq = ds k */
            gemm(q, false, false, d.L, d.D, d.S, rd(dp), 0, d.S, rd(k), ok,
                 d.D, wr(gx[0]), oq, d.D);
        if (gx[1] != NULL) /* dk = ds^T q */
            gemm(q, true, false, d.S, d.D, d.L, rd(dp), 0, d.S, rd(q), oq, d.D,
                 wr(gx[1]), ok, d.D);
    }
    return TG_OK;
}

/* x with its last two dims swapped, by ops. */
static tg_tensor *swap_last(tg_tape *t, tg_tensor *x)
{
    int nd = tg_ndim(x), perm[TG_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        perm[i] = i;
    perm[nd - 2] = nd - 1;
    perm[nd - 1] = nd - 2;
    return tg_permute(t, x, nd, perm);
}

/* 0 on and below the diagonal, -inf above it: (L, L), a constant. */
static tg_tensor *causal_mask(tg_tape *t, const tg_tensor *like, int64_t L)
{
    int64_t shape[2] = {L, L};
    tg_tensor *m = tg_zeros(t, tg_dtype_of(like), 2, shape);
    if (m != NULL)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = i + 1; j < L; j++)
                tg__set(m, i * L + j, -INFINITY);
    return m;
}

/* The probabilities from q and k by ops: softmax(q k^T * scale [+ mask]). */
static tg_tensor *probabilities(tg_tape *t, tg_tensor *q, tg_tensor *k,
                                bool causal, const sdpa_dims *d)
{
    tg_tensor *s = tg_mul_scalar(t, tg_matmul(t, q, swap_last(t, k)),
                                 1.0 / sqrt((double)d->D));
    if (causal)
        s = tg_add(t, s, causal_mask(t, q, d->L));
    return tg_softmax(t, s, -1);
}

/* The same derivative with ops; p is recomputed so it has a history. */
static int sdpa_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    tg_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    sdpa_dims d = dims_of(c->in);
    tg_tensor *p = probabilities(t, q, k, ((const sdpa_params *)c->params)->causal, &d);
    if (want[2] && (gx[2] = tg_matmul(t, swap_last(t, p), gy)) == NULL)
        return tg_last_status();
    if (!want[0] && !want[1])
        return TG_OK;
    tg_tensor *dp = tg_matmul(t, gy, swap_last(t, v));
    tg_tensor *dot = tg_sum_axis(t, tg_mul(t, dp, p), -1, true);
    tg_tensor *ds = tg_mul_scalar(t, tg_mul(t, p, tg_sub(t, dp, dot)),
                                  1.0 / sqrt((double)d.D));
    if (want[0] && (gx[0] = tg_matmul(t, ds, k)) == NULL)
        return tg_last_status();
    if (want[1] && (gx[1] = tg_matmul(t, swap_last(t, ds), q)) == NULL)
        return tg_last_status();
    return TG_OK;
}

const tg_op tg__op_scaled_dot_product_attention = {
    .name = "scaled_dot_product_attention",
    .arity = 3,
    .params_size = sizeof(sdpa_params),
    .forward = sdpa_forward,
    .backward = sdpa_backward,
    .backward_ops = sdpa_backward_ops,
};

tg_tensor *tg_scaled_dot_product_attention(tg_tape *t, tg_tensor *q,
                                           tg_tensor *k, tg_tensor *v,
                                           bool causal)
{
    sdpa_params p = {causal};
    tg_tensor *in[3] = {q, k, v};
    return tg_apply(t, &tg__op_scaled_dot_product_attention, 3, in, &p);
}
