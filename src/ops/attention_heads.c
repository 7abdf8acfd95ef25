/*
 * attention_heads.c — the middle of multi-head self-attention as one op.
 *
 *     qkv: (..., L, 3E), rows [q_0 .. q_{H-1} | k_0 .. k_{H-1} | v_0 .. v_{H-1}]
 *          with every q_h, k_h, v_h hd = E / H wide
 *     out: (..., L, E),  rows [o_0 .. o_{H-1}],
 *          o_h = tg_scaled_dot_product_attention(q_h, k_h, v_h, causal)
 *
 * Written with ops, this is: cut qkv into thirds, reshape each to
 * (B, L, H, hd) and permute it to (B, H, L, hd) so that every head is a
 * contiguous matrix, attend, permute and reshape back. Each of those
 * reshapes and permutes copies the whole activation, forward and again
 * backward: eight copies of (B, L, E) per call each way. Here every head
 * is read where it lies, hd columns of rows 3E apart, and written where
 * it belongs, hd columns of rows E apart; attention_kernel.c takes the
 * row strides. The gradient of qkv is written the same way, so nothing is
 * copied and no slice's zero-filled gradient is ever made.
 *
 * The derivative with ops (backward_ops) is the composition above, so
 * gradients of gradients go through tg_scaled_dot_product_attention's.
 */
#include "tapegrad/ops.h"

#include "ops/attention.h"
#include "ops/attention_heads_params.h"
#include "ops/attention_kernel.h"
#include "ops/builtin.h"

typedef tg__heads_params heads_params; /* shared with tg_op_cases.c */

/* The sizes: batch (the leading dims together), L, E, heads, hd. */
typedef struct heads_dims {
    int64_t batch, L, E, H, hd;
} heads_dims;

static heads_dims dims_of(const tg_tensor *qkv, int heads)
{
    int nd = tg_ndim(qkv);
    heads_dims d = {1, tg_shape(qkv)[nd - 2], tg_shape(qkv)[nd - 1] / 3,
                    heads, tg_shape(qkv)[nd - 1] / 3 / heads};
    for (int i = 0; i < nd - 2; i++)
        d.batch *= tg_shape(qkv)[i];
    return d;
}

static int check(const tg_tensor *qkv, const heads_params *p)
{
    char s[96];
    int nd = tg_ndim(qkv);
    if (p->heads < 1)
        return tg_set_error(TG_EINVAL, "tg_attention_heads: %d heads",
                            p->heads);
    if (nd < 2 || tg_shape(qkv)[nd - 1] % (3 * (int64_t)p->heads) != 0)
        return tg_set_error(TG_ESHAPE, "tg_attention_heads: qkv %s must be "
                            "(..., L, 3 E) with E a multiple of the %d heads",
                            tg_shape_str(qkv, s, sizeof s), p->heads);
    return TG_OK;
}

/* Element offset i of x, read-only and writable. */
static const void *data_at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (const void *)(tg_data_f32(x) + i)
                                    : (const void *)(tg_data_f64(x) + i);
}

static void *mut_at(tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (void *)(tg_mut_f32(x) + i)
                                    : (void *)(tg_mut_f64(x) + i);
}

/* Head h of sequence b: q, k and v hd columns wide in rows 3E apart. */
static tg__attn_mat head(const tg_tensor *qkv, const heads_dims *d,
                         bool causal, int64_t b, int64_t h)
{
    int64_t row = 3 * d->E, at = b * d->L * row + h * d->hd;
    return (tg__attn_mat){tg_dtype_of(qkv) == TG_F32, causal, d->L, d->L,
                          d->hd, d->hd, data_at(qkv, at),
                          data_at(qkv, at + d->E), data_at(qkv, at + 2 * d->E),
                          row, row, row};
}

/* Scratch for one head at a time, on the tape. */
static void *scratch_for(tg_tape *t, const tg_tensor *qkv, const heads_dims *d,
                         bool causal)
{
    tg__attn_mat m = head(qkv, d, causal, 0, 0);
    size_t es = tg_dtype_of(qkv) == TG_F32 ? sizeof(float) : sizeof(double);
    int64_t n = tg__attn_scratch(&m);
    return tg_tape_alloc(t, (size_t)(n > 0 ? n : 1) * es);
}

static tg_tensor *heads_forward(tg_op_ctx *c)
{
    const heads_params *pr = c->params;
    const tg_tensor *qkv = c->in[0];
    if (check(qkv, pr) != TG_OK)
        return NULL;
    heads_dims d = dims_of(qkv, pr->heads);
    int nd = tg_ndim(qkv);
    tg__attn_mat m0 = head(qkv, &d, pr->causal, 0, 0);
    int64_t pn = d.L * tg__attn_p_cols(&m0); /* p's elements per head */
    int64_t shape[TG_MAX_DIMS], pshape[2] = {d.batch * d.H, pn};
    for (int i = 0; i < nd; i++)
        shape[i] = tg_shape(qkv)[i];
    shape[nd - 1] = d.E;
    tg_tensor *y = tg_empty(c->tape, tg_dtype_of(qkv), nd, shape);
    tg_tensor *p = tg_empty(c->tape, tg_dtype_of(qkv), 2, pshape);
    void *scratch = scratch_for(c->tape, qkv, &d, pr->causal);
    if (y == NULL || p == NULL || scratch == NULL)
        return NULL;
    for (int64_t b = 0; b < d.batch; b++)
        for (int64_t h = 0; h < d.H; h++) {
            tg__attn_mat m = head(qkv, &d, pr->causal, b, h);
            tg__attn_forward(&m, mut_at(p, (b * d.H + h) * pn),
                             mut_at(y, b * d.L * d.E + h * d.hd), d.E,
                             scratch);
        }
    c->saved = p;
    return y;
}

static int heads_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const heads_params *pr = c->params;
    const tg_tensor *qkv = c->in[0], *p = c->saved;
    if (gx[0] == NULL)
        return TG_OK;
    heads_dims d = dims_of(qkv, pr->heads);
    void *scratch = scratch_for(c->tape, qkv, &d, pr->causal);
    if (scratch == NULL)
        return tg_last_status();
    int64_t row = 3 * d.E, pn = tg_shape(p)[1];
    for (int64_t b = 0; b < d.batch; b++)
        for (int64_t h = 0; h < d.H; h++) {
            int64_t at = b * d.L * row + h * d.hd;
            tg__attn_mat m = head(qkv, &d, pr->causal, b, h);
            tg__attn_grads g = {mut_at(gx[0], at), mut_at(gx[0], at + d.E),
                                mut_at(gx[0], at + 2 * d.E), row, row, row};
            tg__attn_backward(&m, data_at(p, (b * d.H + h) * pn),
                              data_at(gy, b * d.L * d.E + h * d.hd), d.E, &g,
                              scratch);
        }
    return TG_OK;
}

/* (..., L, E) columns from..from+E of x as (batch, H, L, hd), by ops. */
static tg_tensor *split(tg_tape *t, tg_tensor *x, const heads_dims *d,
                        int64_t from)
{
    int nd = tg_ndim(x);
    int64_t shape[4] = {d->batch, d->L, d->H, d->hd};
    int perm[4] = {0, 2, 1, 3};
    if (from >= 0)
        x = tg_slice(t, x, nd - 1, from, from + d->E, 1);
    return tg_permute(t, tg_reshape(t, x, 4, shape), 4, perm);
}

/* (batch, H, L, hd) back to like's leading dims and (L, E), by ops. */
static tg_tensor *join(tg_tape *t, tg_tensor *x, const tg_tensor *like,
                       const heads_dims *d)
{
    int nd = tg_ndim(like), perm[4] = {0, 2, 1, 3};
    int64_t shape[TG_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        shape[i] = tg_shape(like)[i];
    shape[nd - 1] = d->E;
    return tg_reshape(t, tg_permute(t, x, 4, perm), nd, shape);
}

static int heads_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                              const bool *want, tg_tensor **gx)
{
    (void)y;
    const heads_params *pr = c->params;
    tg_tape *t = c->tape;
    tg_tensor *qkv = c->in[0];
    if (!want[0])
        return TG_OK;
    heads_dims d = dims_of(qkv, pr->heads);
    bool all[3] = {true, true, true};
    tg_tensor *g[3] = {NULL, NULL, NULL};
    int rc = tg__sdpa_grads_by_ops(t, split(t, qkv, &d, 0),
                                   split(t, qkv, &d, d.E),
                                   split(t, qkv, &d, 2 * d.E),
                                   split(t, gy, &d, -1), pr->causal, all, g);
    if (rc != TG_OK)
        return rc;
    for (int i = 0; i < 3; i++)
        g[i] = join(t, g[i], qkv, &d);
    gx[0] = tg_concat(t, 3, g, tg_ndim(qkv) - 1);
    return gx[0] != NULL ? TG_OK : tg_last_status();
}

const tg_op tg__op_attention_heads = {
    .name = "attention_heads",
    .arity = 1,
    .params_size = sizeof(heads_params),
    .forward = heads_forward,
    .backward = heads_backward,
    .backward_ops = heads_backward_ops,
};

tg_tensor *tg__attention_heads(tg_tape *t, tg_tensor *qkv, int heads,
                               bool causal)
{
    heads_params p = {heads, causal};
    return tg_apply(t, &tg__op_attention_heads, 1, &qkv, &p);
}
