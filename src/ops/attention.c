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
 * exponentiated, so they are exactly 0 (NaN and inf at masked places go
 * where PyTorch's additive mask puts them: attention_kernel.c). Forward
 * saves p for backward. The
 * batch dims of q, k and v must be equal (no broadcasting), and a causal
 * mask needs L == S.
 */
#include "tapegrad/ops.h"
#include "tapegrad/sequence.h"

#include "ops/builtin.h"
#include "ops/attention.h"
#include "ops/attention_kernel.h"
#include "tensor/element.h"

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

/* Element offset i of x's data, read-only and writable. */
static const char *data_at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (const char *)(tg_data_f32(x) + i)
                                    : (const char *)(tg_data_f64(x) + i);
}

static char *mut_at(tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (char *)(tg_mut_f32(x) + i)
                                    : (char *)(tg_mut_f64(x) + i);
}

/* Batch entry b of q, k and v as one matrix for attention_kernel.h. */
static tg__attn_mat matrix(tg_tensor *const *in, const sdpa_dims *d, bool causal,
                           int64_t b)
{
    return (tg__attn_mat){tg_dtype_of(in[0]) == TG_F32, causal, d->L, d->S,
                          d->D, d->Dv, data_at(in[0], b * d->L * d->D),
                          data_at(in[1], b * d->S * d->D),
                          data_at(in[2], b * d->S * d->Dv), d->D, d->D,
                          d->Dv};
}

/* Scratch for the kernel: n elements of x's dtype on the tape. */
static void *scratch_for(tg_tape *t, const tg_tensor *x, int64_t n)
{
    size_t es = tg_dtype_of(x) == TG_F32 ? sizeof(float) : sizeof(double);
    return tg_tape_alloc(t, (size_t)(n > 0 ? n : 1) * es);
}

static tg_tensor *sdpa_forward(tg_op_ctx *c)
{
    const sdpa_params *pr = c->params;
    if (check(c->in, pr->causal) != TG_OK)
        return NULL;
    sdpa_dims d = dims_of(c->in);
    const tg_tensor *q = c->in[0];
    int nd = tg_ndim(q);
    tg__attn_mat m0 = matrix(c->in, &d, pr->causal, 0);
    int64_t pcols = tg__attn_p_cols(&m0);
    int64_t shape[TG_MAX_DIMS], pshape[3] = {d.batch, d.L, pcols};
    for (int i = 0; i < nd; i++)
        shape[i] = tg_shape(q)[i];
    shape[nd - 1] = d.Dv;
    tg_tensor *y = tg_empty(c->tape, tg_dtype_of(q), nd, shape);
    tg_tensor *p = tg_empty(c->tape, tg_dtype_of(q), 3, pshape);
    void *scratch = scratch_for(c->tape, q, tg__attn_scratch(&m0));
    if (y == NULL || p == NULL || scratch == NULL)
        return NULL;
    for (int64_t b = 0; b < d.batch; b++) {
        tg__attn_mat m = matrix(c->in, &d, pr->causal, b);
        tg__attn_forward(&m, mut_at(p, b * d.L * pcols),
                         mut_at(y, b * d.L * d.Dv), d.Dv, scratch);
    }
    c->saved = p;
    return y;
}

static int sdpa_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const sdpa_params *pr = c->params;
    const tg_tensor *p = c->saved;
    sdpa_dims d = dims_of(c->in);
    tg__attn_mat m0 = matrix(c->in, &d, pr->causal, 0);
    void *scratch = scratch_for(c->tape, p, tg__attn_scratch(&m0));
    if (scratch == NULL)
        return tg_last_status();
    for (int64_t b = 0; b < d.batch; b++) {
        int64_t oq = b * d.L * d.D, ok = b * d.S * d.D, ov = b * d.S * d.Dv;
        tg__attn_mat m = matrix(c->in, &d, pr->causal, b);
        tg__attn_grads gr = {gx[0] ? mut_at(gx[0], oq) : NULL,
                             gx[1] ? mut_at(gx[1], ok) : NULL,
                             gx[2] ? mut_at(gx[2], ov) : NULL,
                             d.D, d.D, d.Dv};
        tg__attn_backward(&m, data_at(p, b * d.L * tg__attn_p_cols(&m)),
                          data_at(gy, b * d.L * d.Dv), d.Dv, &gr, scratch);
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

int tg__sdpa_grads_by_ops(tg_tape *t, tg_tensor *q, tg_tensor *k,
                          tg_tensor *v, tg_tensor *gy, bool causal,
                          const bool *want, tg_tensor **gx)
{
    tg_tensor *in[3] = {q, k, v};
    sdpa_dims d = dims_of(in);
    tg_tensor *p = probabilities(t, q, k, causal, &d);
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

/* The same derivative with ops; p is recomputed so it has a history. */
static int sdpa_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y;
    const sdpa_params *pr = c->params;
    return tg__sdpa_grads_by_ops(c->tape, c->in[0], c->in[1], c->in[2], gy,
                                 pr->causal, want, gx);
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
