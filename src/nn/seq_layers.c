/*
 * seq_layers.c — the sequence pieces of tapegrad/sequence.h as tg_layers,
 * so they plug into tg_sequential with PyTorch's state-dict names:
 * embedding, layer norm and multi-head self-attention. The GRU and LSTM
 * layers, which run their cell over the time axis, are in seq_rnn_layer.c.
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"
#include "tapegrad/index.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"

#include <math.h>

/* ---- embedding ------------------------------------------------------------ */

typedef struct embedding_state {
    int64_t padding_idx;
} embedding_state;

static tg_tensor *embedding_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const char *fn = "tg_layer_forward: embedding layer";
    const embedding_state *e = l->state;
    tg_tensor *w = l->params[0];
    char sx[96], sw[96];
    int nd = tg_ndim(x);
    if (nd >= TG_MAX_DIMS) {
        tg_set_error(TG_ESHAPE, "%s: ids %s have %d dims; at most %d, for "
                     "the embedding dim to follow", fn,
                     tg_shape_str(x, sx, sizeof sx), nd, TG_MAX_DIMS - 1);
        return NULL;
    }
    int64_t shape[TG_MAX_DIMS], n = tg_numel(x), rows = tg_shape(w)[0];
    for (int d = 0; d < nd; d++)
        shape[d] = tg_shape(x)[d];
    shape[nd] = tg_shape(w)[1];
    bool f32 = tg_dtype_of(x) == TG_F32;
    const float *xf = f32 ? tg_data_f32(x) : NULL;
    const double *xd = f32 ? NULL : tg_data_f64(x);
    if (xf == NULL && xd == NULL) {      /* a tensor freed by a reset */
        tg__error_in(fn);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {    /* check all before making any */
        double v = f32 ? (double)xf[i] : xd[i];
        if (!(v >= 0.0 && v < (double)rows) || v != floor(v)) {
            tg_set_error(TG_EINVAL, "%s: id %g at position %lld of ids %s is "
                         "not a whole number in 0..%lld (weight %s)", fn, v,
                         (long long)i, tg_shape_str(x, sx, sizeof sx),
                         (long long)rows - 1, tg_shape_str(w, sw, sizeof sw));
            return NULL;
        }
    }
    int64_t *ids = tg_tape_alloc(t, (size_t)n * sizeof *ids);
    if (ids == NULL)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        ids[i] = (int64_t)(f32 ? (double)xf[i] : xd[i]);
    return tg_reshape(t, tg_embedding(t, w, n, ids, e->padding_idx), nd + 1,
                      shape);
}

static const tg_layer_class embedding_class = {"embedding", embedding_forward,
                                               NULL};

tg_layer *tg_layer_embedding_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                 int64_t num, int64_t dim,
                                 int64_t padding_idx)
{
    const char *fn = "tg_layer_embedding_new";
    if (t == NULL || rng == NULL) {
        tg__nn_null_arg(fn, t == NULL ? "tape" : "rng");
        return NULL;
    }
    if (num < 1 || dim < 1 || padding_idx < -1 || padding_idx >= num) {
        tg_set_error(TG_EINVAL, "%s: %lld embeddings of dim %lld with "
                     "padding_idx %lld: sizes must be at least 1 and "
                     "padding_idx -1 (none) or in 0..%lld", fn,
                     (long long)num, (long long)dim, (long long)padding_idx,
                     (long long)num - 1);
        return NULL;
    }
    int64_t shape[2] = {num, dim};
    embedding_state *e = tg_tape_alloc(t, sizeof *e);
    tg_tensor *w = tg_rand_normal(t, rng, dt, 2, shape, 0.0, 1.0);
    if (e == NULL || w == NULL)
        return NULL;
    e->padding_idx = padding_idx;
    /* nn.Embedding zeroes the padding row after its N(0, 1) draw. */
    for (int64_t j = 0; padding_idx >= 0 && j < dim; j++) {
        if (dt == TG_F32)
            tg_mut_f32(w)[padding_idx * dim + j] = 0.0f;
        else
            tg_mut_f64(w)[padding_idx * dim + j] = 0.0;
    }
    const char *names[] = {"weight"};
    return tg__layer_with_params(t, &embedding_class, e, 1, names, &w);
}

/* ---- layer norm ------------------------------------------------------------ */

static tg_tensor *layer_norm_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    return tg_layer_norm_layer_forward(t, l->state, x);
}

static const tg_layer_class layer_norm_class = {"layer_norm",
                                                layer_norm_forward, NULL};

tg_layer *tg_layer_layer_norm_new(tg_tape *t, tg_dtype dt, int ndim,
                                  const int64_t *shape, double eps)
{
    const char *fn = "tg_layer_layer_norm_new";
    if (t == NULL) {
        tg__nn_null_arg(fn, "tape");
        return NULL;
    }
    if (!(eps >= 0.0 && isfinite(eps))) {
        tg_set_error(TG_EINVAL, "%s: eps %g must be finite and at least 0",
                     fn, eps);
        return NULL;
    }
    tg_layer_norm_layer *ln = tg_tape_alloc(t, sizeof *ln);
    if (ln == NULL)
        return NULL;
    if (tg_layer_norm_layer_init(ln, t, NULL, dt, ndim, shape) != TG_OK) {
        tg__error_in(fn);
        return NULL;
    }
    ln->eps = eps;
    const char *names[] = {"weight", "bias"};
    tg_tensor *params[] = {ln->weight, ln->bias};
    return tg__layer_with_params(t, &layer_norm_class, ln, 2, names, params);
}

/* ---- multi-head self-attention ----------------------------------------- */

typedef struct mha_state {
    tg_mha m;
    bool causal;
} mha_state;

static tg_tensor *mha_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const mha_state *s = l->state;
    return tg_mha_forward(t, &s->m, x, s->causal);
}

static const tg_layer_class mha_class = {"multihead_attention", mha_forward,
                                         NULL};

tg_layer *tg_layer_mha_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                           int64_t embed, int heads, bool causal)
{
    const char *fn = "tg_layer_mha_new";
    if (t == NULL) {
        tg__nn_null_arg(fn, "tape");
        return NULL;
    }
    mha_state *s = tg_tape_alloc(t, sizeof *s);
    if (s == NULL)
        return NULL;
    if (tg_mha_init(&s->m, t, NULL, rng, dt, embed, heads) != TG_OK) {
        tg__error_in(fn);
        return NULL;
    }
    s->causal = causal;
    const char *names[] = {"in_proj_weight", "in_proj_bias",
                           "out_proj_weight", "out_proj_bias"};
    tg_tensor *params[] = {s->m.w_in, s->m.b_in, s->m.out.weight,
                           s->m.out.bias};
    return tg__layer_with_params(t, &mha_class, s, 4, names, params);
}
