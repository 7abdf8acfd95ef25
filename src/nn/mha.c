/*
 * mha.c — multi-head self-attention from ops, as
 * torch.nn.MultiheadAttention(E, heads, batch_first=True)(x, x, x): one
 * linear for q, k and v together (the in-projection), the heads'
 * scaled dot-product attention read from its output in place
 * (tg__attention_heads, the same values as splitting the heads off by
 * reshape and permute, tg_scaled_dot_product_attention, and joining them
 * back), a linear out.
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"
#include "nn/params.h"
#include "ops/attention.h"
#include "tensor/error_internal.h"
#include "tensor/handle.h"

#include <math.h>
#include <stdint.h>

static int init_into(tg_mha *m, tg_tape *t, tg_params *p, tg_rng *rng,
                     tg_dtype dt, int64_t embed);

int tg_mha_init(tg_mha *m, tg_tape *t, tg_params *p, tg_rng *rng, tg_dtype dt,
                int64_t embed, int heads)
{
    if (m == NULL || rng == NULL)
        return tg_set_error(TG_EINVAL, "tg_mha_init: %s is NULL",
                            m ? "rng" : "layer");
    if (heads < 1 || embed < 1 || embed % heads != 0 || embed > INT64_MAX / 4)
        return tg_set_error(TG_EINVAL, "tg_mha_init: embedding size %lld "
                            "must be a positive multiple of the %d heads",
                            (long long)embed, heads);
    if (p != NULL && tg__check_handle("tg_mha_init", p, "parameter list")
                         != TG_OK)
        return tg_last_status();
    /* Made aside: a failure leaves m, rng and p as they were. */
    tg_mha made = {.heads = heads};
    tg_rng saved = *rng;
    int64_t n0 = tg_params_count(p);
    int rc = init_into(&made, t, p, rng, dt, embed);
    if (rc != TG_OK) {
        *rng = saved;
        tg__params_truncate(p, n0);
        return tg__error_in("tg_mha_init");
    }
    *m = made;
    return TG_OK;
}

/* tg_mha_init's parameters into m (heads set), added to p. */
static int init_into(tg_mha *m, tg_tape *t, tg_params *p, tg_rng *rng,
                     tg_dtype dt, int64_t embed)
{
    /* xavier_uniform on (3E, E): bound sqrt(6 / (fan_in + fan_out)) */
    double bound = sqrt(6.0 / (double)(embed + 3 * embed));
    int64_t wshape[2] = {3 * embed, embed}, bshape[1] = {3 * embed};
    m->w_in = tg_rand_uniform(t, rng, dt, 2, wshape, -bound, bound);
    m->b_in = tg_zeros(t, dt, 1, bshape);
    if (m->w_in == NULL || m->b_in == NULL)
        return tg_last_status();
    int rc = tg_linear_layer_init(&m->out, t, NULL, rng, dt, embed, embed, true);
    if (rc != TG_OK)
        return rc;
    m->out.bias = tg_zeros(t, dt, 1, &embed);
    if (m->out.bias == NULL)
        return tg_last_status();
    tg_tensor *all[4] = {m->w_in, m->b_in, m->out.weight, m->out.bias};
    for (int i = 0; i < 4 && rc == TG_OK; i++) {
        rc = tg_set_requires_grad(all[i], true);
        if (rc == TG_OK && p != NULL)
            rc = tg_params_add(p, all[i]);
    }
    return rc;
}

static tg_tensor *mha_forward(tg_tape *t, const tg_mha *m, tg_tensor *x,
                              bool causal)
{
    char sx[96];
    if (m == NULL || x == NULL) {
        if (m == NULL || tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "tg_mha_forward: %s is NULL",
                         m ? "x" : "layer");
        return NULL;
    }
    if (m->w_in == NULL || tg_ndim(m->w_in) != 2 || m->heads < 1 ||
        tg_shape(m->w_in)[0] != 3 * tg_shape(m->w_in)[1] ||
        tg_shape(m->w_in)[1] % m->heads != 0) {
        tg_set_error(TG_EINVAL, "tg_mha_forward: the layer's in-projection "
                     "%s is not (3E, E) with E a multiple of its %d heads",
                     m->w_in ? tg_shape_str(m->w_in, sx, sizeof sx) : "NULL",
                     m->heads);
        return NULL;
    }
    int64_t E = tg_shape(m->w_in)[1];
    if (m->b_in != NULL && (tg_ndim(m->b_in) != 1 ||
                            tg_shape(m->b_in)[0] != 3 * E)) {
        /* a longer b_in would be sliced into thirds silently */
        tg_set_error(TG_ESHAPE, "tg_mha_forward: the layer's in-projection "
                     "bias %s must be (%lld,), 3E for E = %lld",
                     tg_shape_str(m->b_in, sx, sizeof sx), (long long)(3 * E),
                     (long long)E);
        return NULL;
    }
    int nd = tg_ndim(x);
    if ((nd != 2 && nd != 3) || tg_shape(x)[nd - 1] != E) {
        tg_set_error(TG_ESHAPE, "tg_mha_forward: x %s must be (B, L, %lld) "
                     "or (L, %lld)", tg_shape_str(x, sx, sizeof sx),
                     (long long)E, (long long)E);
        return NULL;
    }
    /* q, k and v side by side, (B, L, 3E), from one product with all of
     * W_in; the heads are read from it in place and their outputs written
     * side by side, (B, L, E), by one op (src/ops/attention_heads.c). */
    tg_tensor *qkv = tg_linear(t, x, m->w_in, m->b_in);
    tg_tensor *a = tg__attention_heads(t, qkv, m->heads, causal);
    return tg_linear_layer_forward(t, &m->out, a);
}

/* A failure of an op on the way is reported under the user's call. */
tg_tensor *tg_mha_forward(tg_tape *t, const tg_mha *m, tg_tensor *x,
                          bool causal)
{
    unsigned long errors = tg__error_count();
    tg_tensor *y = mha_forward(t, m, x, causal);
    if (y == NULL && tg__error_count() != errors)
        tg__error_in("tg_mha_forward");
    return y;
}
