/*
 * test_seq_layers.c — the sequence layers of tapegrad/sequence.h
 * (embedding, layer norm, multi-head self-attention, GRU, LSTM) in a
 * tg_sequential: a state dict PyTorch saved loads by name, and the
 * outputs and gradients match PyTorch's (tests/fixtures/seq_layers.h, made
 * by tests/fixtures/gen_seq_layers.py); gradcheck through each layer.
 */
#include "support/tg_test.h"
#include "fixtures/seq_layers.h"

#include "tapegrad/sequence.h"
#include "tapegrad/train.h"

#include <math.h>
#include <string.h>

/* w[i] = cos(phase + i), as weights() of the generator. */
static double *cos_weights(tg_tape *t, int64_t n, int phase)
{
    double *w = tg_tape_alloc(t, (size_t)n * sizeof *w);
    ck_assert_ptr_nonnull(w);
    for (int64_t i = 0; i < n; i++)
        w[i] = cos((double)(phase + i));
    return w;
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                    : tg_data_f64(x)[i];
}

static void expect_close(const char *what, const tg_tensor *x,
                         const double *want, int64_t n, double tol)
{
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(tg_numel(x), n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(tg_test_close(at(x, i), want[i], tol, tol),
                      "%s[%lld] = %.17g, PyTorch %.17g", what, (long long)i,
                      at(x, i), want[i]);
}

/* The generator's network, parameters drawn at random then replaced by
 * the PyTorch file's. */
static tg_sequential *torch_net(tg_tape *t, tg_dtype dt)
{
    tg_rng rng;
    tg_rng_seed(&rng, 3, 0);
    int64_t six[] = {6};
    tg_sequential *s = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add_named(s, "emb",
        tg_layer_embedding_new(t, &rng, dt, 7, 6, 0)), TG_OK);
    ck_assert_int_eq(tg_sequential_add_named(s, "ln",
        tg_layer_layer_norm_new(t, dt, 1, six, 1e-5)), TG_OK);
    ck_assert_int_eq(tg_sequential_add_named(s, "attn",
        tg_layer_mha_new(t, &rng, dt, 6, 2, true)), TG_OK);
    ck_assert_int_eq(tg_sequential_add_named(s, "gru",
        tg_layer_gru_new(t, &rng, dt, 6, 5)), TG_OK);
    ck_assert_int_eq(tg_sequential_add_named(s, "lstm",
        tg_layer_lstm_new(t, &rng, dt, 5, 4)), TG_OK);
    const char *path = dt == TG_F32
        ? TG_SEQ_FIXTURES "/torch_seq_layers_f32.npz"
        : TG_SEQ_FIXTURES "/torch_seq_layers_f64.npz";
    ck_assert_msg(tg_checkpoint_load(path, &(tg_checkpoint){.model = s})
                  == TG_OK, "%s", tg_last_error());
    return s;
}

static void net_matches(tg_dtype dt, double tol)
{
    tg_tape *t = tg_tape_new();
    tg_sequential *s = torch_net(t, dt);
    int64_t shape[] = {2, 5};
    tg_tensor *ids = tg_from_data(t, TG_F64, 2, shape, sl_ids);
    tg_tensor *y = tg_sequential_forward(t, s, ids);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_ndim(y), 3);
    ck_assert_int_eq(tg_shape(y)[2], 4);
    expect_close("out", y, sl_out, 40, tol);
    tg_tensor *loss = tg_test_dot(t, y, cos_weights(t, 40, 1));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    int n = tg_sequential_state_count(s);
    ck_assert_int_eq(n, (int)(sizeof sl_grads / sizeof sl_grads[0]));
    for (int i = 0; i < n; i++) {
        const char *name;
        tg_tensor *p = tg_sequential_state_at(s, i, &name);
        ck_assert_str_eq(name, sl_grads[i].name);
        expect_close(name, tg_grad(p), sl_grads[i].grad, sl_grads[i].n, tol);
    }
    /* The padding row passes no gradient. */
    const tg_tensor *g = tg_grad(tg_sequential_state_at(s, 0, NULL));
    for (int j = 0; j < 6; j++)
        ck_assert(at(g, j) == 0.0);
    tg_tape_free(t);
}

START_TEST(network_matches_pytorch_f64)
{
    net_matches(TG_F64, 1e-9);
}
END_TEST

START_TEST(network_matches_pytorch_f32)
{
    net_matches(TG_F32, 2e-4);
}
END_TEST

static void gru_with_h0(tg_dtype dt, double tol)
{
    tg_tape *t = tg_tape_new();
    tg_layer *gru = tg_sequential_at(torch_net(t, dt), 3);
    int64_t xs[] = {2, 3, 6}, hs[] = {1, 2, 5};
    tg_tensor *x = tg_test_leaf(t, dt, 3, xs, sl_gru_x);
    tg_tensor *h0 = tg_test_leaf(t, dt, 3, hs, sl_gru_h0);
    tg_tensor *hn = NULL;
    tg_tensor *y = tg_layer_rnn_forward(t, gru, x, h0, NULL, &hn, NULL);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_ndim(hn), 3);
    expect_close("out", y, sl_gru_out, 30, tol);
    expect_close("h_n", hn, sl_gru_hn, 10, tol);
    tg_tensor *loss = tg_add(t, tg_test_dot(t, y, cos_weights(t, 30, 1)),
                             tg_test_dot(t, hn, cos_weights(t, 10, 7)));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    expect_close("d x", tg_grad(x), sl_gru_gx, 36, tol);
    expect_close("d h0", tg_grad(h0), sl_gru_gh0, 10, tol);
    tg_tape_free(t);
}

static void lstm_unbatched(tg_dtype dt, double tol)
{
    tg_tape *t = tg_tape_new();
    tg_layer *lstm = tg_sequential_at(torch_net(t, dt), 4);
    int64_t xs[] = {3, 5}, hs[] = {1, 4};
    tg_tensor *x = tg_test_leaf(t, dt, 2, xs, sl_lstm_x);
    tg_tensor *h0 = tg_test_leaf(t, dt, 2, hs, sl_lstm_h0);
    tg_tensor *c0 = tg_test_leaf(t, dt, 1, hs + 1, sl_lstm_c0); /* (4,) too */
    tg_tensor *hn = NULL, *cn = NULL;
    tg_tensor *y = tg_layer_rnn_forward(t, lstm, x, h0, c0, &hn, &cn);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_ndim(y), 2);
    ck_assert_int_eq(tg_ndim(cn), 2);
    expect_close("out", y, sl_lstm_out, 12, tol);
    expect_close("h_n", hn, sl_lstm_hn, 4, tol);
    expect_close("c_n", cn, sl_lstm_cn, 4, tol);
    tg_tensor *loss = tg_add(t, tg_test_dot(t, y, cos_weights(t, 12, 1)),
                             tg_add(t, tg_test_dot(t, hn, cos_weights(t, 4, 7)),
                                    tg_test_dot(t, cn, cos_weights(t, 4, 11))));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    expect_close("d x", tg_grad(x), sl_lstm_gx, 15, tol);
    expect_close("d h0", tg_grad(h0), sl_lstm_gh0, 4, tol);
    expect_close("d c0", tg_grad(c0), sl_lstm_gc0, 4, tol);
    tg_tape_free(t);
}

START_TEST(recurrent_layers_with_initial_state_match_pytorch)
{
    gru_with_h0(TG_F64, 1e-9);
    gru_with_h0(TG_F32, 2e-4);
    lstm_unbatched(TG_F64, 1e-9);
    lstm_unbatched(TG_F32, 2e-4);
}
END_TEST

/* ---- gradcheck through each layer --------------------------------------- */

static tg_tensor *through_layer(tg_tape *t, int n, tg_tensor *const *in,
                                void *ud)
{
    (void)n;
    return tg_layer_forward(t, ud, in[0]);
}

/* Check the layer's gradient for x and for every parameter. */
static void gradcheck_layer(tg_layer *l, tg_tensor *x)
{
    tg_tensor *in[8];
    int n = 0;
    in[n++] = x;
    for (int i = 0; i < l->n_params; i++)
        in[n++] = l->params[i];
    tg_gradcheck_report r;
    ck_assert_msg(tg_gradcheck(through_layer, l, n, in, NULL, &r) == TG_OK,
                  "%s: %s", l->cls->kind, tg_last_error());
    ck_assert_msg(r.passed, "%s: %s", l->cls->kind, r.message);
    ck_assert_int_gt(r.n_checked, tg_numel(x));
}

static tg_tensor *ids_tensor;

static tg_tensor *embedding_of_ids(tg_tape *t, int n, tg_tensor *const *in,
                                   void *ud)
{
    (void)n;
    (void)in;
    return tg_layer_forward(t, ud, ids_tensor);
}

START_TEST(gradcheck_through_each_layer)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 0);
    /* embedding: d/d weight, with repeated ids (no padding row: its zero
     * gradient is by definition, not the derivative; the PyTorch test
     * checks it) */
    tg_layer *emb = tg_layer_embedding_new(t, &rng, TG_F64, 5, 3, -1);
    int64_t is[] = {2, 3};
    float idv[] = {1, 2, 4, 1, 0, 2};
    ids_tensor = tg_from_data(t, TG_F32, 2, is, idv);
    tg_gradcheck_report r;
    ck_assert_msg(tg_gradcheck(embedding_of_ids, emb, 1, emb->params, NULL,
                               &r) == TG_OK, "%s", tg_last_error());
    ck_assert_msg(r.passed, "embedding: %s", r.message);

    int64_t xs[] = {2, 3, 4}, four[] = {4};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 3, xs, 0.0, 1.0);
    tg_layer *ln = tg_layer_layer_norm_new(t, TG_F64, 1, four, 1e-5);
    /* non-trivial affine parameters */
    for (int i = 0; i < 4; i++) {
        tg_mut_f64(ln->params[0])[i] = 0.5 + 0.25 * i;
        tg_mut_f64(ln->params[1])[i] = 0.1 * i - 0.2;
    }
    gradcheck_layer(ln, x);
    gradcheck_layer(tg_layer_mha_new(t, &rng, TG_F64, 4, 2, true), x);
    gradcheck_layer(tg_layer_mha_new(t, &rng, TG_F64, 4, 1, false), x);
    gradcheck_layer(tg_layer_gru_new(t, &rng, TG_F64, 4, 3), x);
    gradcheck_layer(tg_layer_lstm_new(t, &rng, TG_F64, 4, 3), x);
    tg_tape_free(t);
}
END_TEST

/* ---- shapes, names, initialisation -------------------------------------- */

START_TEST(state_dict_names_are_pytorchs)
{
    tg_tape *t = tg_tape_new();
    tg_sequential *s = torch_net(t, TG_F32);
    const char *want[] = {
        "emb.weight", "ln.weight", "ln.bias", "attn.in_proj_weight",
        "attn.in_proj_bias", "attn.out_proj_weight", "attn.out_proj_bias",
        "gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
        "gru.bias_hh_l0", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
        "lstm.bias_ih_l0", "lstm.bias_hh_l0"};
    ck_assert_int_eq(tg_sequential_state_count(s), 15);
    for (int i = 0; i < 15; i++) {
        const char *name;
        ck_assert_ptr_nonnull(tg_sequential_state_at(s, i, &name));
        ck_assert_str_eq(name, want[i]);
    }
    ck_assert_int_eq(tg_params_count(tg_sequential_params(s)), 15);
    ck_assert_int_eq(tg_shape(tg_sequential_state_at(s, 12, NULL))[0], 16);
    tg_tape_free(t);
}
END_TEST

START_TEST(embedding_shapes_and_init)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 5, 0);
    tg_layer *emb = tg_layer_embedding_new(t, &rng, TG_F32, 100, 50, 7);
    const tg_tensor *w = tg_layer_param(emb, "weight");
    double sum = 0.0, sq = 0.0;
    for (int64_t i = 0; i < 5000; i++) {
        double v = at(w, i);
        if (i / 50 == 7)
            ck_assert(v == 0.0);
        sum += v;
        sq += v * v;
    }
    /* N(0, 1) over 4950 draws: mean within 0.1, variance within 0.1 */
    ck_assert(fabs(sum / 4950) < 0.1);
    ck_assert(fabs(sq / 4950 - 1.0) < 0.1);
    /* ids of any shape: (2, 1, 3) -> (2, 1, 3, 50); a scalar -> (50,) */
    int64_t s3[] = {2, 1, 3};
    double v6[] = {0, 99, 7, 3, 3, 1};
    tg_tensor *y = tg_layer_forward(t, emb, tg_from_data(t, TG_F64, 3, s3, v6));
    ck_assert_int_eq(tg_ndim(y), 4);
    ck_assert_int_eq(tg_shape(y)[3], 50);
    for (int j = 0; j < 50; j++)
        ck_assert(at(y, 50 + j) == at(w, 99 * 50 + j));
    y = tg_layer_forward(t, emb, tg_scalar(t, TG_F32, 3.0));
    ck_assert_int_eq(tg_ndim(y), 1);
    ck_assert(at(y, 4) == at(w, 3 * 50 + 4));
    tg_tape_free(t);
}
END_TEST

START_TEST(mha_causal_does_not_look_ahead)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 9, 0);
    tg_layer *m = tg_layer_mha_new(t, &rng, TG_F64, 4, 2, true);
    int64_t xs[] = {5, 4};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 2, xs, 0.0, 1.0);
    tg_tensor *y1 = tg_layer_forward(t, m, x);
    tg_mut_f64(x)[19] += 3.0;        /* change the last position only */
    tg_tensor *y2 = tg_layer_forward(t, m, x);
    for (int i = 0; i < 16; i++)
        ck_assert(at(y1, i) == at(y2, i));
    ck_assert(at(y1, 16) != at(y2, 16));
    tg_tape_free(t);
}
END_TEST

/* A NULL h0 made by a failed call is that failure, not zeros; once the
 * error is cleared, NULL is zeros again (as in a container). */
START_TEST(null_state_from_a_failed_call_propagates)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 2, 0);
    tg_layer *gru = tg_layer_gru_new(t, &rng, TG_F64, 4, 3);
    int64_t xs[] = {2, 5, 4};
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 3, xs, 0.0, 1.0);
    tg_tensor *h0 = tg_slice(t, x, 5, 0, 1, 1);         /* axis 5: fails */
    ck_assert_ptr_null(h0);
    tg_tensor *hn = x;
    ck_assert_ptr_null(tg_layer_rnn_forward(t, gru, x, h0, NULL, &hn, NULL));
    ck_assert_ptr_null(hn);
    ck_assert_msg(strstr(tg_last_error(), "tg_slice") != NULL, "%s",
                  tg_last_error());
    tg_tensor *in_net = tg_layer_forward(t, gru, x);   /* zeros */
    ck_assert_ptr_nonnull(in_net);
    tg_clear_error();
    tg_tensor *y = tg_layer_rnn_forward(t, gru, x, NULL, NULL, &hn, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_ndim(hn), 3);
    for (int64_t i = 0; i < tg_numel(y); i++)
        ck_assert(at(y, i) == at(in_net, i));
    for (int j = 0; j < 3; j++)            /* the last step of batch row 1 */
        ck_assert(at(hn, 3 + j) == at(y, 2 * 15 - 3 + j));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seq_layers");
    TCase *tc = tg_test_tcase("pytorch");
    tcase_add_test(tc, network_matches_pytorch_f64);
    tcase_add_test(tc, network_matches_pytorch_f32);
    tcase_add_test(tc, recurrent_layers_with_initial_state_match_pytorch);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("layers");
    tcase_add_test(tc, gradcheck_through_each_layer);
    tcase_add_test(tc, state_dict_names_are_pytorchs);
    tcase_add_test(tc, embedding_shapes_and_init);
    tcase_add_test(tc, mha_causal_does_not_look_ahead);
    tcase_add_test(tc, null_state_from_a_failed_call_propagates);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
