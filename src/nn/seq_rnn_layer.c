/*
 * seq_rnn_layer.c — GRU and LSTM layers (tapegrad/sequence.h) that run
 * their cell over the time axis of (N, T, I) or (T, I) input, as
 * PyTorch's nn.GRU and nn.LSTM with one layer do, under their state-dict
 * names. Backprop through time is simply the tape that recorded every
 * step. The other sequence layers are in seq_layers.c.
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"

#include <limits.h>
#include <stdio.h>

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
        tg__nn_null_arg(fn, "tape");
        return NULL;
    }
    rnn_state *s = tg_tape_alloc(t, sizeof *s);
    if (s == NULL)
        return NULL;
    *s = (rnn_state){.lstm = lstm};
    int rc = lstm ? tg_lstm_cell_init(&s->cell, t, NULL, rng, dt, input, hidden)
                  : tg_gru_cell_init(&s->gru, t, NULL, rng, dt, input, hidden);
    if (rc != TG_OK) {
        tg__error_in(fn);
        return NULL;
    }
    tg_tensor *p[] = {s->gru.w_ih, s->gru.w_hh, s->gru.b_ih, s->gru.b_hh};
    if (lstm) {
        p[0] = s->cell.w_ih;
        p[1] = s->cell.w_hh;
        p[2] = s->cell.b_ih;
        p[3] = s->cell.b_hh;
    }
    return tg__layer_with_params(t, lstm ? &lstm_class : &gru_class, s, 4,
                                 rnn_names, p);
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
        tg__nn_null_arg(fn, l == NULL ? "layer" : "input");
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
