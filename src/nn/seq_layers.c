/*
 * seq_layers.c — the sequence pieces of tapegrad/sequence.h as tg_layers,
 * so they plug into tg_sequential with PyTorch's state-dict names:
 * embedding, layer norm, multi-head self-attention, and GRU and LSTM
 * layers that run their cell over the time axis (backprop through time is
 * the tape that recorded every step).
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"
#include "tapegrad/index.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

/* Keep the error of the call that made a NULL argument, else name it. */
static int null_arg(const char *fn, const char *what)
{
    if (tg_last_status() != TG_OK)
        return tg_last_status();
    return tg_set_error(TG_EINVAL, "%s: %s is NULL", fn, what);
}

/* Prefix the current error with fn (an init call failed inside fn). */
static void rename_error(const char *fn)
{
    char why[256];
    snprintf(why, sizeof why, "%s", tg_last_error());
    tg_set_error(tg_last_status(), "%s: %s", fn, why);
}

/* A new layer of cls with state, given the n named parameters. */
static tg_layer *layer_with(tg_tape *t, const tg_layer_class *cls,
                            void *state, int n, const char *const *names,
                            tg_tensor *const *params)
{
    tg_layer *l = tg_layer_new(t, cls, state);
    for (int i = 0; l != NULL && i < n; i++)
        if (tg_layer_add_param(l, names[i], params[i]) != TG_OK)
            return NULL;
    return l;
}

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
        rename_error(fn);
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
        null_arg(fn, t == NULL ? "tape" : "rng");
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
    return layer_with(t, &embedding_class, e, 1, names, &w);
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
        null_arg(fn, "tape");
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
        rename_error(fn);
        return NULL;
    }
    ln->eps = eps;
    const char *names[] = {"weight", "bias"};
    tg_tensor *params[] = {ln->weight, ln->bias};
    return layer_with(t, &layer_norm_class, ln, 2, names, params);
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
        null_arg(fn, "tape");
        return NULL;
    }
    mha_state *s = tg_tape_alloc(t, sizeof *s);
    if (s == NULL)
        return NULL;
    if (tg_mha_init(&s->m, t, NULL, rng, dt, embed, heads) != TG_OK) {
        rename_error(fn);
        return NULL;
    }
    s->causal = causal;
    const char *names[] = {"in_proj_weight", "in_proj_bias",
                           "out_proj_weight", "out_proj_bias"};
    tg_tensor *params[] = {s->m.w_in, s->m.b_in, s->m.out.weight,
                           s->m.out.bias};
    return layer_with(t, &mha_class, s, 4, names, params);
}

/* ---- GRU and LSTM over a sequence --------------------------------------- */

typedef struct rnn_state {
    bool lstm;
    tg_gru_cell gru;
    tg_lstm_cell cell;
} rnn_state;

static const char *const rnn_names[] = {"weight_ih_l0", "weight_hh_l0",
                                        "bias_ih_l0", "bias_hh_l0"};

static tg_tensor *rnn_run(tg_tape *t, tg_layer *l, tg_tensor *x,
                          tg_tensor *h0, tg_tensor *c0, tg_tensor **h_n,
                          tg_tensor **c_n);

/* In a container: from zeros (a pending error is no reason to fail). */
static tg_tensor *rnn_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    return rnn_run(t, l, x, NULL, NULL, NULL, NULL);
}

static const tg_layer_class gru_class = {"gru", rnn_forward, NULL};
static const tg_layer_class lstm_class = {"lstm", rnn_forward, NULL};

static tg_layer *rnn_new(const char *fn, tg_tape *t, tg_rng *rng, tg_dtype dt,
                         int64_t input, int64_t hidden, bool lstm)
{
    if (t == NULL) {
        null_arg(fn, "tape");
        return NULL;
    }
    rnn_state *s = tg_tape_alloc(t, sizeof *s);
    if (s == NULL)
        return NULL;
    *s = (rnn_state){.lstm = lstm};
    int rc = lstm ? tg_lstm_cell_init(&s->cell, t, NULL, rng, dt, input, hidden)
                  : tg_gru_cell_init(&s->gru, t, NULL, rng, dt, input, hidden);
    if (rc != TG_OK) {
        rename_error(fn);
        return NULL;
    }
    tg_tensor *p[] = {s->gru.w_ih, s->gru.w_hh, s->gru.b_ih, s->gru.b_hh};
    if (lstm) {
        p[0] = s->cell.w_ih;
        p[1] = s->cell.w_hh;
        p[2] = s->cell.b_ih;
        p[3] = s->cell.b_hh;
    }
    return layer_with(t, lstm ? &lstm_class : &gru_class, s, 4, rnn_names, p);
}

tg_layer *tg_layer_gru_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                           int64_t input, int64_t hidden)
{
    return rnn_new("tg_layer_gru_new", t, rng, dt, input, hidden, false);
}

tg_layer *tg_layer_lstm_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                            int64_t input, int64_t hidden)
{
    return rnn_new("tg_layer_lstm_new", t, rng, dt, input, hidden, true);
}

/* Whether an initial state s0 (NULL for zeros) is (1, N, H) or (N, H)
 * (batched, N rows), or (1, H) or (H,) (unbatched); the error if not. */
static int check_state(const char *fn, const char *what, const tg_tensor *s0,
                       const tg_layer *l, bool batched, int64_t N, int64_t H)
{
    if (s0 == NULL)
        return TG_OK;
    int want = batched ? 2 : 1, nd = tg_ndim(s0);
    const int64_t *s = tg_shape(s0);
    if ((nd == want || (nd == want + 1 && s[0] == 1)) && s[nd - 1] == H &&
        (!batched || s[nd - 2] == N) && tg_dtype_of(s0) ==
        tg_dtype_of(l->params[1]))
        return TG_OK;
    char ss[96], sw[96], want_s[96];
    if (batched)
        snprintf(want_s, sizeof want_s, "(1, %lld, %lld) or (%lld, %lld)",
                 (long long)N, (long long)H, (long long)N, (long long)H);
    else
        snprintf(want_s, sizeof want_s, "(1, %lld) or (%lld,) for an "
                 "unbatched x", (long long)H, (long long)H);
    return tg_set_error(tg_dtype_of(s0) == tg_dtype_of(l->params[1])
                        ? TG_ESHAPE : TG_EDTYPE, "%s: %s %s %s is not %s %s: "
                        "the %s layer's weight_hh_l0 %s has hidden size %lld",
                        fn, what, tg_dtype_name(tg_dtype_of(s0)),
                        tg_shape_str(s0, ss, sizeof ss), want_s,
                        tg_dtype_name(tg_dtype_of(l->params[1])), l->cls->kind,
                        tg_shape_str(l->params[1], sw, sizeof sw),
                        (long long)H);
}

/* A checked initial state as (N, H) or (H,), or zeros if NULL. */
static tg_tensor *initial_state(tg_tape *t, tg_tensor *s0, bool batched,
                                int64_t N, int64_t H, tg_dtype dt)
{
    int64_t shape[2] = {N, H};
    int want = batched ? 2 : 1;
    if (s0 == NULL)
        return tg_zeros(t, dt, want, shape + (2 - want));
    if (tg_ndim(s0) == want)
        return s0;
    return tg_reshape(t, s0, want, shape + (2 - want));
}

/* x against the layer's weights: (N, T, I) or (T, I), T >= 1, their dtype. */
static int check_input(const char *fn, const tg_layer *l, const tg_tensor *x)
{
    const tg_tensor *w_ih = l->params[0];
    int nd = tg_ndim(x);
    int64_t I = tg_shape(w_ih)[1];
    bool shape_ok = (nd == 2 || nd == 3) && tg_shape(x)[nd - 1] == I &&
                    tg_shape(x)[nd - 2] <= INT_MAX;
    if (shape_ok && tg_dtype_of(x) == tg_dtype_of(w_ih))
        return TG_OK;
    char sx[96], sw[96];
    return tg_set_error(shape_ok ? TG_EDTYPE : TG_ESHAPE, "%s: x %s %s must "
                        "be (N, T, %lld) or (T, %lld) with T <= %d, and %s as "
                        "the %s layer's weight_ih_l0 %s", fn,
                        tg_dtype_name(tg_dtype_of(x)),
                        tg_shape_str(x, sx, sizeof sx), (long long)I,
                        (long long)I, INT_MAX, tg_dtype_name(tg_dtype_of(w_ih)),
                        l->cls->kind, tg_shape_str(w_ih, sw, sizeof sw));
}

/* The cell over the T steps of x from h (and c): every step's h joined
 * along the time axis; the last states in *h and *c. */
static tg_tensor *run_steps(tg_tape *t, const rnn_state *st, tg_tensor *x,
                            int64_t H, tg_tensor **h, tg_tensor **c)
{
    int nd = tg_ndim(x), T = (int)tg_shape(x)[nd - 2];
    bool batched = nd == 3;
    int64_t N = batched ? tg_shape(x)[0] : 1, I = tg_shape(x)[nd - 1];
    int64_t xs[2] = {N, I}, hs[3] = {N, 1, H};
    tg_tensor **outs = tg_tape_alloc(t, (size_t)T * sizeof *outs);
    if (outs == NULL)
        return NULL;
    for (int i = 0; i < T; i++) {
        tg_tensor *xt = tg_slice(t, x, nd - 2, i, i + 1, 1);
        xt = tg_reshape(t, xt, batched ? 2 : 1, batched ? xs : xs + 1);
        *h = st->lstm ? tg_lstm_cell_forward(t, &st->cell, xt, *h, *c, c)
                      : tg_gru_cell_forward(t, &st->gru, xt, *h);
        outs[i] = tg_reshape(t, *h, batched ? 3 : 2, batched ? hs : hs + 1);
        if (outs[i] == NULL)
            return NULL;
    }
    return T == 1 ? outs[0] : tg_concat(t, T, outs, nd - 2);
}

tg_tensor *tg_layer_rnn_forward(tg_tape *t, tg_layer *l, tg_tensor *x,
                                tg_tensor *h0, tg_tensor *c0,
                                tg_tensor **h_n, tg_tensor **c_n)
{
    if (h_n != NULL)
        *h_n = NULL;
    if (c_n != NULL)
        *c_n = NULL;
    /* NULL propagates: with an error pending, a NULL state is taken as the
     * result of the call that failed, not as "zeros". */
    bool lstm = l != NULL && l->cls == &lstm_class;
    if ((h0 == NULL || (lstm && c0 == NULL)) && tg_last_status() != TG_OK)
        return NULL;
    return rnn_run(t, l, x, h0, c0, h_n, c_n);
}

static tg_tensor *rnn_run(tg_tape *t, tg_layer *l, tg_tensor *x,
                          tg_tensor *h0, tg_tensor *c0, tg_tensor **h_n,
                          tg_tensor **c_n)
{
    const char *fn = "tg_layer_rnn_forward";
    if (h_n != NULL)
        *h_n = NULL;
    if (c_n != NULL)
        *c_n = NULL;
    if (l == NULL || x == NULL) {
        null_arg(fn, l == NULL ? "layer" : "input");
        return NULL;
    }
    if (l->cls != &gru_class && l->cls != &lstm_class) {
        tg_set_error(TG_EINVAL, "%s: the layer is a %s layer, not a GRU or "
                     "LSTM layer", fn, l->cls->kind ? l->cls->kind : "user");
        return NULL;
    }
    const rnn_state *st = l->state;
    if (!st->lstm && (c0 != NULL || c_n != NULL)) {
        tg_set_error(TG_EINVAL, "%s: a GRU layer has no cell state (c0 and "
                     "c_n must be NULL)", fn);
        return NULL;
    }
    if (check_input(fn, l, x) != TG_OK)
        return NULL;
    bool batched = tg_ndim(x) == 3;
    int64_t N = batched ? tg_shape(x)[0] : 1, H = tg_shape(l->params[1])[1];
    if (check_state(fn, "h0", h0, l, batched, N, H) != TG_OK ||
        check_state(fn, "c0", c0, l, batched, N, H) != TG_OK)
        return NULL;
    tg_dtype dt = tg_dtype_of(x);
    tg_tensor *h = initial_state(t, h0, batched, N, H, dt);
    tg_tensor *c = st->lstm ? initial_state(t, c0, batched, N, H, dt) : NULL;
    if (h == NULL || (st->lstm && c == NULL))
        return NULL;
    tg_tensor *y = run_steps(t, st, x, H, &h, &c);
    int64_t ns[3] = {1, N, H};
    /* The last states as PyTorch gives them: (1, N, H), or (1, H). */
    tg_tensor *hl = y && h_n ? tg_reshape(t, h, batched ? 3 : 2, ns + !batched)
                             : NULL;
    tg_tensor *cl = y && c_n ? tg_reshape(t, c, batched ? 3 : 2, ns + !batched)
                             : NULL;
    if (y == NULL || (h_n != NULL && hl == NULL) || (c_n != NULL && cl == NULL))
        return NULL;
    if (h_n != NULL)
        *h_n = hl;
    if (c_n != NULL)
        *c_n = cl;
    return y;
}
