/*
 * recurrent.c — GRU and LSTM cells built from ops, as torch.nn.GRUCell
 * and torch.nn.LSTMCell. Each step is linear, slice, sigmoid, tanh, mul
 * and add on the caller's tape, so running a loop of steps records the
 * whole unrolled network and tg_backward is backprop through time.
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"
#include "nn/params.h"
#include "tensor/error_internal.h"
#include "tensor/handle.h"

#include <math.h>
#include <stdint.h>

/* Four uniform(-1/sqrt(H), 1/sqrt(H)) parameters: w_ih (gH, I), w_hh
 * (gH, H), b_ih and b_hh (gH,), as PyTorch's RNN cells. */
static int init_cell(const char *fn, tg_tensor **w, tg_tape *t, tg_params *p,
                     tg_rng *rng, tg_dtype dt, int64_t input, int64_t hidden,
                     int gates)
{
    if (w == NULL || rng == NULL)
        return tg_set_error(TG_EINVAL, "%s: %s is NULL", fn,
                            w ? "rng" : "cell");
    if (input < 1 || hidden < 1 || hidden > INT64_MAX / gates)
        return tg_set_error(TG_EINVAL, "%s: input size %lld and hidden size "
                            "%lld must be at least 1 (and %d x hidden fit in "
                            "64 bits)", fn, (long long)input,
                            (long long)hidden, gates);
    if (p != NULL && tg__check_handle(fn, p, "parameter list") != TG_OK)
        return tg_last_status();
    /* A failure changes nothing: rng and p are restored (docs/errors.md). */
    tg_rng saved = *rng;
    int64_t n0 = tg_params_count(p);
    double bound = 1.0 / sqrt((double)hidden);
    int64_t gh = gates * hidden;
    int64_t shapes[4][2] = {{gh, input}, {gh, hidden}, {gh, 0}, {gh, 0}};
    int rc = TG_OK;
    for (int i = 0; i < 4 && rc == TG_OK; i++) {
        w[i] = tg_rand_uniform(t, rng, dt, i < 2 ? 2 : 1, shapes[i], -bound,
                               bound);
        rc = w[i] ? tg_set_requires_grad(w[i], true) : tg_last_status();
        if (rc == TG_OK && p != NULL)
            rc = tg_params_add(p, w[i]);
    }
    if (rc != TG_OK) {
        *rng = saved;
        tg__params_truncate(p, n0);
        return tg__error_in(fn);
    }
    return TG_OK;
}

int tg_gru_cell_init(tg_gru_cell *c, tg_tape *t, tg_params *p, tg_rng *rng,
                     tg_dtype dt, int64_t input, int64_t hidden)
{
    tg_tensor *w[4];
    int rc = init_cell("tg_gru_cell_init", c ? w : NULL, t, p, rng, dt, input,
                       hidden, 3);
    if (rc == TG_OK)
        *c = (tg_gru_cell){w[0], w[1], w[2], w[3]};
    return rc;
}

int tg_lstm_cell_init(tg_lstm_cell *c, tg_tape *t, tg_params *p, tg_rng *rng,
                      tg_dtype dt, int64_t input, int64_t hidden)
{
    tg_tensor *w[4];
    int rc = init_cell("tg_lstm_cell_init", c ? w : NULL, t, p, rng, dt,
                       input, hidden, 4);
    if (rc == TG_OK)
        *c = (tg_lstm_cell){w[0], w[1], w[2], w[3]};
    return rc;
}

static int64_t last(const tg_tensor *x)
{
    return tg_ndim(x) > 0 ? tg_shape(x)[tg_ndim(x) - 1] : -1;
}

/* x, h (and cs) against the cell's weights: w_hh is (gates H, H) and w_ih
 * (gates H, I), h's last size H, x's I. */
static int check_step(const char *fn, tg_tensor *w_ih, tg_tensor *w_hh,
                      int gates, tg_tensor *x, tg_tensor *h, tg_tensor *cs)
{
    char s1[96], s2[96];
    if (x == NULL || h == NULL || w_ih == NULL || w_hh == NULL)
        return tg_last_status() != TG_OK
                   ? tg_last_status()
                   : tg_set_error(TG_EINVAL, "%s: an input is NULL", fn);
    if (tg_ndim(w_hh) != 2 || tg_ndim(w_ih) != 2 ||
        tg_shape(w_hh)[0] != gates * tg_shape(w_hh)[1] ||
        tg_shape(w_ih)[0] != tg_shape(w_hh)[0])
        return tg_set_error(TG_ESHAPE, "%s: weights w_ih %s and w_hh %s are "
                            "not (%d H, I) and (%d H, H)", fn,
                            tg_shape_str(w_ih, s1, sizeof s1),
                            tg_shape_str(w_hh, s2, sizeof s2), gates, gates);
    int64_t H = tg_shape(w_hh)[1];
    tg_tensor *states[2] = {h, cs};
    for (int i = 0; i < 2 && states[i] != NULL; i++)
        if (last(states[i]) != H)
            return tg_set_error(TG_ESHAPE, "%s: %s %s has hidden size %lld, "
                                "but w_hh %s is for hidden size %lld", fn,
                                i ? "c" : "h",
                                tg_shape_str(states[i], s1, sizeof s1),
                                (long long)last(states[i]),
                                tg_shape_str(w_hh, s2, sizeof s2),
                                (long long)H);
    if (last(x) != tg_shape(w_ih)[1])
        return tg_set_error(TG_ESHAPE, "%s: x %s has input size %lld, but "
                            "w_ih %s is for input size %lld", fn,
                            tg_shape_str(x, s1, sizeof s1), (long long)last(x),
                            tg_shape_str(w_ih, s2, sizeof s2),
                            (long long)tg_shape(w_ih)[1]);
    /* One batch, as PyTorch's cells: x (B, I) with states (B, H), or x
     * (I,) with (H,). The ops below would broadcast a state of another
     * batch size, or of 1, or a 3-D x, into an answer to the wrong
     * question. */
    if (tg_ndim(x) != 1 && tg_ndim(x) != 2)
        return tg_set_error(TG_ESHAPE, "%s: x %s must be (B, I) or (I,)", fn,
                            tg_shape_str(x, s1, sizeof s1));
    for (int i = 0; i < 2 && states[i] != NULL; i++)
        if (tg_ndim(states[i]) != tg_ndim(x) ||
            (tg_ndim(x) == 2 && tg_shape(states[i])[0] != tg_shape(x)[0]))
            return tg_set_error(TG_ESHAPE, "%s: %s %s does not match x %s: "
                                "(B, H) for x (B, I), (H,) for x (I,)", fn,
                                i ? "c" : "h",
                                tg_shape_str(states[i], s1, sizeof s1),
                                tg_shape_str(x, s2, sizeof s2));
    return TG_OK;
}

/* Gate number i of H along the last axis of a (..., gates H) tensor. */
static tg_tensor *gate(tg_tape *t, tg_tensor *a, int i, int64_t H)
{
    return tg_slice(t, a, -1, i * H, (i + 1) * H, 1);
}

static tg_tensor *gru_forward(tg_tape *t, const tg_gru_cell *c, tg_tensor *x,
                              tg_tensor *h)
{
    const char *fn = "tg_gru_cell_forward";
    if (c == NULL) {
        tg_set_error(TG_EINVAL, "%s: cell is NULL", fn);
        return NULL;
    }
    if (check_step(fn, c->w_ih, c->w_hh, 3, x, h, NULL) != TG_OK)
        return NULL;
    int64_t H = tg_shape(c->w_hh)[1];
    tg_tensor *gi = tg_linear(t, x, c->w_ih, c->b_ih);
    tg_tensor *gh = tg_linear(t, h, c->w_hh, c->b_hh);
    tg_tensor *r = tg_sigmoid(t, tg_add(t, gate(t, gi, 0, H), gate(t, gh, 0, H)));
    tg_tensor *z = tg_sigmoid(t, tg_add(t, gate(t, gi, 1, H), gate(t, gh, 1, H)));
    tg_tensor *n = tg_tanh(t, tg_add(t, gate(t, gi, 2, H),
                                     tg_mul(t, r, gate(t, gh, 2, H))));
    /* (1 - z) n + z h = n + z (h - n) */
    return tg_add(t, n, tg_mul(t, z, tg_sub(t, h, n)));
}

static tg_tensor *lstm_forward(tg_tape *t, const tg_lstm_cell *c,
                               tg_tensor *x, tg_tensor *h, tg_tensor *cs,
                               tg_tensor **cs_out)
{
    const char *fn = "tg_lstm_cell_forward";
    if (cs_out != NULL)
        *cs_out = NULL;
    if (c == NULL || cs_out == NULL) {
        tg_set_error(TG_EINVAL, "%s: %s is NULL", fn, c ? "cs_out" : "cell");
        return NULL;
    }
    if (cs == NULL) {
        if (tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "%s: the cell state is NULL", fn);
        return NULL;
    }
    if (check_step(fn, c->w_ih, c->w_hh, 4, x, h, cs) != TG_OK)
        return NULL;
    int64_t H = tg_shape(c->w_hh)[1];
    tg_tensor *g = tg_add(t, tg_linear(t, x, c->w_ih, c->b_ih),
                          tg_linear(t, h, c->w_hh, c->b_hh));
    tg_tensor *i = tg_sigmoid(t, gate(t, g, 0, H));
    tg_tensor *f = tg_sigmoid(t, gate(t, g, 1, H));
    tg_tensor *gg = tg_tanh(t, gate(t, g, 2, H));
    tg_tensor *o = tg_sigmoid(t, gate(t, g, 3, H));
    tg_tensor *c2 = tg_add(t, tg_mul(t, f, cs), tg_mul(t, i, gg));
    tg_tensor *h2 = tg_mul(t, o, tg_tanh(t, c2));
    if (h2 != NULL)
        *cs_out = c2;
    return h2;
}

/* A failure inside a step (an op on the way) is reported under the user's
 * call, the op's message after it; a failure pending before is kept. */
tg_tensor *tg_gru_cell_forward(tg_tape *t, const tg_gru_cell *c, tg_tensor *x,
                               tg_tensor *h)
{
    unsigned long errors = tg__error_count();
    tg_tensor *y = gru_forward(t, c, x, h);
    if (y == NULL && tg__error_count() != errors)
        tg__error_in("tg_gru_cell_forward");
    return y;
}

tg_tensor *tg_lstm_cell_forward(tg_tape *t, const tg_lstm_cell *c,
                                tg_tensor *x, tg_tensor *h, tg_tensor *cs,
                                tg_tensor **cs_out)
{
    unsigned long errors = tg__error_count();
    tg_tensor *y = lstm_forward(t, c, x, h, cs, cs_out);
    if (y == NULL && tg__error_count() != errors)
        tg__error_in("tg_lstm_cell_forward");
    return y;
}
