/*
 * test_oom_seq.c — whole scenarios under allocation failure: layer norm,
 * attention, multi-head attention and recurrent cells
 * (tapegrad/sequence.h); the sequence layers in a container; the
 * constructors of sequence.h and sequential.h. Each runs through the sweeps
 * of tests/support/tg_oom.h (each allocation failing in turn, for good and
 * just once, and the tape's memory filled to each level where the
 * scenario's work is on the tape).
 */
#include "tg_oom.h"

/* ---- seq: layer norm and attention, multi-head attention, and a
 * GRU and an LSTM step, forward and backward (tapegrad/sequence.h), as
 * three scenarios small enough for one arena block each (the fill-level
 * sweep needs that). Each result is compared with the same graph run once
 * without failures. */

static int seq_part;
static double seq_reference[3] = {NAN, NAN, NAN};

static tg_tensor *seq_loss(tg_tape *t, tg_tensor *x, tg_tensor *w)
{
    tg_rng rng;
    tg_rng_seed(&rng, 14, 0);
    if (seq_part == 0) {
        tg_tensor *ln = tg_layer_norm(t, x, 1, (int64_t[]){4}, w, NULL, 1e-5);
        return tg_sum(t, tg_scaled_dot_product_attention(t, ln, ln, x, true));
    }
    if (seq_part == 1) {
        tg_mha m;
        if (tg_mha_init(&m, t, NULL, &rng, TG_F64, 4, 2) != TG_OK)
            return NULL;
        return tg_sum(t, tg_mul(t, w, tg_mha_forward(t, &m, x, true)));
    }
    tg_gru_cell g;
    tg_lstm_cell l;
    if (tg_gru_cell_init(&g, t, NULL, &rng, TG_F64, 4, 4) != TG_OK ||
        tg_lstm_cell_init(&l, t, NULL, &rng, TG_F64, 4, 4) != TG_OK)
        return NULL;
    tg_tensor *y = tg_reshape(t, x, 2, (int64_t[]){6, 4}), *cs = y;
    tg_tensor *h = tg_gru_cell_forward(t, &g, y, y);
    h = tg_lstm_cell_forward(t, &l, y, h, cs, &cs);
    return tg_sum(t, tg_mul(t, tg_mul(t, h, cs), w));
}

static int seq_graph(tg_tape *t, double *out)
{
    tg_tensor *x = tg_reshape(t, tg_linspace(t, TG_F64, -2, 3, 24), 3,
                              (int64_t[]){2, 3, 4});
    tg_tensor *w = tg_linspace(t, TG_F64, 0.5, 2, 4);
    if (x == NULL || w == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_tensor *loss = seq_loss(t, x, w);
    int rc = tg_backward(t, loss);
    if (rc != TG_OK)
        return rc;
    *out = tg_item(loss) + tg_sum_value(tg_grad(x)) + tg_sum_value(tg_grad(w));
    return isfinite(*out) ? TG_OK : wrong("a finite loss and gradients");
}

static void seq_prepare(void)
{
    if (!isnan(seq_reference[seq_part]))
        return;
    tg_tape *t = tg_tape_new();
    ck_assert_int_eq(seq_graph(t, &seq_reference[seq_part]), TG_OK);
    tg_tape_free(t);
}

static int seq_ops(tg_tape *t)
{
    double v = NAN;
    int rc = seq_graph(t, &v);
    if (rc != TG_OK)
        return rc;
    return v == seq_reference[seq_part] ? TG_OK
                                        : wrong("the result of a clean run");
}

START_TEST(seq_ops_under_oom)
{
    static const char *const names[3] = {
        "layer norm and attention", "multi-head attention",
        "GRU and LSTM steps"};
    seq_part = _i / 3;
    const scenario sc = {names[seq_part], seq_ops, seq_prepare, NULL};
    oom_sweep(&sc, (mode)(_i % 3));
}
END_TEST

/* ---- seqlayers: the sequence layers (tapegrad/sequence.h) in a
 * tg_sequential, in three scenarios small enough for one arena block each
 * (the fill-level sweep needs that): (0) embedding, layer norm and causal
 * attention layers in a container, forward and backward; (1) a GRU layer
 * in a container over two steps; (2) an LSTM layer run by
 * tg_layer_rnn_forward from given h0 and c0, with its last states. A constructor that fails returns NULL with TG_ENOMEM
 * (and the container refuses the NULL, keeping that status); one that
 * succeeds has its parameters under PyTorch's names with their shapes;
 * the loss and gradients equal a clean run's. */

static int seq_layers_part;
static double seq_layers_reference[3] = {NAN, NAN, NAN};

/* A container of the n layers l, named names, with n_params[i] each. */
static tg_sequential *seq_layers_net(tg_tape *t, int n, tg_layer *const *l,
                                     const char *const *names,
                                     const int *n_params)
{
    tg_sequential *s = tg_sequential_new(t);
    for (int i = 0; i < n; i++) {
        if (tg_sequential_add_named(s, names[i], l[i]) != TG_OK)
            return NULL;
        if (l[i]->n_params != n_params[i]) {
            wrong("each layer has its parameters");
            return NULL;
        }
    }
    return s;
}

static int seq_layers_graph(tg_tape *t, double *out)
{
    tg_rng rng;
    tg_rng_seed(&rng, 14, 1);
    int64_t four[] = {4};
    double idv[6] = {1, 0, 4, 2, 3, 3};
    tg_tensor *ids = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, idv);
    tg_tensor *x = tg_reshape(t, tg_linspace(t, TG_F64, -1, 1, 8), 3,
                              (int64_t[]){1, 2, 4});
    tg_sequential *s;
    tg_tensor *y, *extra;
    const char *name = "";
    if (seq_layers_part == 0) {
        tg_layer *l[3] = {tg_layer_embedding_new(t, &rng, TG_F64, 5, 4, 0),
                          tg_layer_layer_norm_new(t, TG_F64, 1, four, 1e-5),
                          tg_layer_mha_new(t, &rng, TG_F64, 4, 2, true)};
        static const char *const names[3] = {"emb", "ln", "attn"};
        static const int n_params[3] = {1, 2, 4};
        if ((s = seq_layers_net(t, 3, l, names, n_params)) == NULL)
            return tg_last_status();
        const tg_tensor *w = tg_sequential_state_at(s, 5, &name);
        if (w == NULL)               /* its names are made on first use */
            return tg_last_status();
        if (tg_sequential_state_count(s) != 7 ||
            strcmp(name, "attn.out_proj_weight") != 0 ||
            tg_shape(w)[0] != 4 ||
            tg_data_f64(tg_layer_param(l[0], "weight"))[1] != 0.0)
            return wrong("the state dict's names, shapes and padding row");
        y = tg_sequential_forward(t, s, ids);
        extra = tg_scalar(t, TG_F64, 0.0);
    } else {
        /* part 1: a GRU in a container; part 2: an LSTM run by
         * tg_layer_rnn_forward from h0 and c0 cut from x. */
        bool lstm = seq_layers_part == 2;
        tg_layer *l = lstm ? tg_layer_lstm_new(t, &rng, TG_F64, 4, 3)
                           : tg_layer_gru_new(t, &rng, TG_F64, 4, 3);
        static const char *const names[2] = {"gru", "lstm"};
        static const int n_params[1] = {4};
        if ((s = seq_layers_net(t, 1, &l, names + lstm, n_params)) == NULL)
            return tg_last_status();
        const tg_tensor *w = tg_sequential_state_at(s, 1, &name);
        if (w == NULL)               /* its names are made on first use */
            return tg_last_status();
        if (tg_sequential_state_count(s) != 4 ||
            strcmp(name, lstm ? "lstm.weight_hh_l0" : "gru.weight_hh_l0") != 0
            || tg_shape(w)[0] != (lstm ? 12 : 9) || tg_shape(w)[1] != 3)
            return wrong("the state dict's names and shapes");
        tg_set_requires_grad(x, true);
        if (!lstm) {
            y = tg_sequential_forward(t, s, x);
            extra = tg_scalar(t, TG_F64, 0.0);
        } else {
            tg_tensor *h0 = tg_slice(t, tg_slice(t, x, 1, 0, 1, 1), 2, 0, 3, 1);
            tg_tensor *c0 = tg_slice(t, tg_slice(t, x, 1, 1, 2, 1), 2, 1, 4, 1);
            tg_tensor *hn = NULL;
            y = tg_layer_rnn_forward(t, l, x, h0, c0, &hn, &extra);
            if (y != NULL && (tg_ndim(hn) != 3 || tg_ndim(extra) != 3))
                return wrong("h_n and c_n are (1, N, H)");
        }
    }
    int rc = tg_backward(t, tg_add(t, tg_sum(t, y), tg_sum(t, extra)));
    if (rc != TG_OK)
        return rc;
    *out = tg_sum_value(y) + tg_sum_value(extra);
    for (int i = 0; i < tg_sequential_state_count(s); i++)
        *out += tg_sum_value(tg_grad(tg_sequential_state_at(s, i, NULL)));
    if (seq_layers_part > 0)
        *out += tg_sum_value(tg_grad(x));
    return isfinite(*out) ? TG_OK : wrong("a finite loss and gradients");
}

static void seq_layers_prepare(void)
{
    if (!isnan(seq_layers_reference[seq_layers_part]))
        return;
    tg_tape *t = tg_tape_new();
    ck_assert_int_eq(seq_layers_graph(t,
                     &seq_layers_reference[seq_layers_part]), TG_OK);
    tg_tape_free(t);
}

static int seq_layers_run(tg_tape *t)
{
    double v = NAN;
    int rc = seq_layers_graph(t, &v);
    if (rc != TG_OK)
        return rc;
    return v == seq_layers_reference[seq_layers_part]
               ? TG_OK : wrong("the result of a clean run");
}

START_TEST(seq_layers_under_oom)
{
    static const char *const names[3] = {
        "embedding, layer norm, attention layers", "a GRU layer",
        "an LSTM layer with given states"};
    seq_layers_part = _i / 3;
    const scenario sc = {names[seq_layers_part], seq_layers_run,
                         seq_layers_prepare, NULL};
    oom_sweep(&sc, (mode)(_i % 3));
}
END_TEST
/* ---- end seqlayers ---------------------------------------------------- */

/* ---- hostile round: the constructors of sequence.h and sequential.h
 * change nothing when an allocation fails (rng, list and struct as they
 * were), and name the user's call. */

static int seq_ctor_check(int rc, const char *fn, const tg_params *p,
                          int64_t count, const tg_rng *rng,
                          const tg_rng *before, const void *obj,
                          const void *obj_before, size_t size)
{
    if (rc == TG_OK)
        return TG_OK;
    char why[512];
    snprintf(why, sizeof why, "%s", tg_last_error());
    if (strncmp(why, fn, strlen(fn)) != 0) {
        static char msg[600];
        snprintf(msg, sizeof msg, "%s failed with \"%s\", which does not "
                 "name it", fn, why);
        return wrong(msg);
    }
    if (tg_params_count(p) != count)
        return wrong("a failed constructor changed the parameter list");
    if (rng->state != before->state || rng->inc != before->inc ||
        rng->has_spare != before->has_spare)
        return wrong("a failed constructor moved the rng");
    if (obj != NULL && memcmp(obj, obj_before, size) != 0)
        return wrong("a failed constructor wrote its struct");
    return tg_set_error(rc, "%s", why);
}

static int seq_constructors(tg_tape *t)
{
    tg_params *p = tg_params_new(t);
    if (p == NULL)
        return tg_last_status();
    tg_rng rng, before;
    tg_rng_seed(&rng, 3, 1);
    tg_gru_cell g, g0;
    tg_lstm_cell l, l0;
    tg_mha m, m0;
    tg_layer_norm_layer ln, ln0;
    memset(&g, 0x11, sizeof g);
    memset(&l, 0x22, sizeof l);
    memset(&m, 0x33, sizeof m);
    memset(&ln, 0x44, sizeof ln);
    g0 = g;
    l0 = l;
    m0 = m;
    ln0 = ln;
    before = rng;
    int rc = seq_ctor_check(tg_gru_cell_init(&g, t, p, &rng, TG_F32, 3, 4),
                            "tg_gru_cell_init", p, 0, &rng, &before, &g,
                            &g0, sizeof g);
    before = rng;
    if (rc == TG_OK)
        rc = seq_ctor_check(tg_lstm_cell_init(&l, t, p, &rng, TG_F32, 3, 4),
                            "tg_lstm_cell_init", p, 4, &rng, &before, &l,
                            &l0, sizeof l);
    before = rng;
    if (rc == TG_OK)
        rc = seq_ctor_check(tg_mha_init(&m, t, p, &rng, TG_F32, 4, 2),
                            "tg_mha_init", p, 8, &rng, &before, &m, &m0,
                            sizeof m);
    before = rng;
    if (rc == TG_OK)
        rc = seq_ctor_check(tg_layer_norm_layer_init(&ln, t, p, TG_F32, 1,
                                                     (int64_t[]){4}),
                            "tg_layer_norm_layer_init", p, 12, &rng,
                            &before, &ln, &ln0, sizeof ln);
    if (rc != TG_OK)
        return rc;
    tg_sequential *s = tg_sequential_new(t);
    if (s == NULL)
        return seq_ctor_check(tg_last_status(), "tg_sequential_new", p, 14,
                              &rng, &rng, NULL, NULL, 0);
    before = rng;
    tg_layer *lin = tg_layer_linear_new(t, &rng, TG_F32, 3, 2, true);
    if (lin == NULL)
        return seq_ctor_check(tg_last_status(), "tg_layer_linear_new", p, 14,
                              &rng, &before, NULL, NULL, 0);
    rc = tg_sequential_add(s, lin);
    if (rc == TG_OK && tg_sequential_count(s) != 1)
        return wrong("tg_sequential_add added nothing");
    if (rc != TG_OK && tg_sequential_count(s) != 0)
        return wrong("a failed tg_sequential_add changed the container");
    if (rc == TG_OK && tg_sequential_params(s) == NULL)
        rc = tg_last_status();
    if (rc == TG_OK && tg_params_count(p) != 14)
        return wrong("the constructors made the wrong things");
    return rc;
}

START_TEST(seq_constructors_under_oom)
{
    static const scenario sc = {"sequence and sequential constructors",
                                seq_constructors, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom_seq");
    TCase *tc;
    tc = tg_test_tcase("seq");
    tcase_add_loop_test(tc, seq_ops_under_oom, 0, 9);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("seq_layers");
    tcase_add_loop_test(tc, seq_layers_under_oom, 0, 9);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("constructors");
    tcase_add_loop_test(tc, seq_constructors_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
