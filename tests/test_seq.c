/*
 * test_seq.c — tapegrad/sequence.h against PyTorch: layer norm, scaled
 * dot-product attention (also against its composition from matmul, where
 * and softmax), GRU and LSTM cells over three steps (backprop through
 * time) and multi-head self-attention, in f64 and f32. The references are
 * tests/fixtures/ops_seq.h, made by tests/fixtures/gen_seq.py; every loss
 * is sum(y * w) with w[i] = cos(1 + i).
 */
#include "tg_test.h"
#include "tapegrad/check.h"

#include "fixtures/ops_seq.h"

#define N(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

static const tg_dtype dtypes[2] = {TG_F64, TG_F32};

/* sum(y * w), w[i] = cos(1 + i). */
static tg_tensor *loss_of(tg_tape *t, tg_tensor *y)
{
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    static double w[256];
    ck_assert_int_le(tg_numel(y), 256);
    for (int64_t i = 0; i < tg_numel(y); i++)
        w[i] = cos((double)(1 + i));
    return tg_test_dot(t, y, w);
}

static void expect(const char *what, const tg_tensor *x, const double *ref,
                   int64_t n, double tol)
{
    ck_assert_msg(x != NULL, "%s: NULL (%s)", what, tg_last_error());
    ck_assert_int_eq(tg_numel(x), n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(tg_test_close(tg_value_at(x, i), ref[i], tol, tol),
                      "%s[%lld] = %.17g, PyTorch %.17g", what, (long long)i,
                      tg_value_at(x, i), ref[i]);
}

#define EXPECT(x, ref, tol) expect(#x, (x), (ref), N(ref), (tol))

/* ---- layer_norm ---- */

START_TEST(layer_norm_matches_pytorch)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-10 : 2e-3; /* x ~ 1000: f32 ulp 6e-5 */
    tg_tape *t = tg_tape_new();
    int64_t xs[3] = {3, 2, 4}, ns[2] = {2, 4};
    tg_tensor *x = tg_test_leaf(t, dt, 3, xs, seq_ln_x);
    tg_tensor *w = tg_test_leaf(t, dt, 2, ns, seq_ln_w), *b = tg_test_leaf(t, dt, 2, ns, seq_ln_b);
    tg_tensor *y = tg_layer_norm(t, x, 2, ns, w, b, 1e-5);
    ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
    EXPECT(y, seq_ln_y, tol);
    EXPECT(tg_grad(x), seq_ln_gx, tol);
    EXPECT(tg_grad(w), seq_ln_gw, tol);
    EXPECT(tg_grad(b), seq_ln_gb, tol);
    tg_tape_free(t);
}
END_TEST

START_TEST(layer_norm_without_affine)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-10 : 2e-3;
    tg_tape *t = tg_tape_new();
    int64_t xs[3] = {3, 2, 4}, ns[1] = {4};
    tg_tensor *x = tg_test_leaf(t, dt, 3, xs, seq_ln_x);
    tg_tensor *y = tg_layer_norm(t, x, 1, ns, NULL, NULL, 1e-5);
    ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
    EXPECT(y, seq_ln_plain_y, tol);
    EXPECT(tg_grad(x), seq_ln_plain_gx, tol);
    tg_tape_free(t);
}
END_TEST

/* Rows offset by 1e6 with a spread of 1: E[x^2] - E[x]^2 would lose every
 * digit in f32; the two-pass variance keeps the normalised values exact
 * to the rounding of x itself. */
START_TEST(layer_norm_is_stable_under_an_offset)
{
    tg_tape *t = tg_tape_new();
    int64_t s[2] = {2, 4}, ns[1] = {4};
    double v[8] = {1e6 - 1.5, 1e6 - 0.5, 1e6 + 0.5, 1e6 + 1.5,
                   -3, -1, 1, 3};
    tg_tensor *x = tg_test_leaf(t, TG_F32, 2, s, v);
    tg_tensor *y = tg_layer_norm(t, x, 1, ns, NULL, NULL, 0.0);
    double r = 1 / sqrt(1.25);
    double want[8] = {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r,
                      -1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r};
    EXPECT(y, want, 1e-6);
    tg_tape_free(t);
}
END_TEST

/* ---- scaled_dot_product_attention ---- */

START_TEST(attention_matches_pytorch)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-10 : 1e-4;
    tg_tape *t = tg_tape_new();
    int64_t qs[3] = {2, 3, 4}, ks[3] = {2, 5, 4}, vs[3] = {2, 5, 3};
    tg_tensor *q = tg_test_leaf(t, dt, 3, qs, seq_sdpa_q), *k = tg_test_leaf(t, dt, 3, ks, seq_sdpa_k);
    tg_tensor *v = tg_test_leaf(t, dt, 3, vs, seq_sdpa_v);
    tg_tensor *y = tg_scaled_dot_product_attention(t, q, k, v, false);
    ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
    EXPECT(y, seq_sdpa_y, tol);
    EXPECT(tg_grad(q), seq_sdpa_gq, tol);
    EXPECT(tg_grad(k), seq_sdpa_gk, tol);
    EXPECT(tg_grad(v), seq_sdpa_gv, tol);
    tg_tape_free(t);
}
END_TEST

START_TEST(causal_attention_matches_pytorch)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-10 : 1e-4;
    tg_tape *t = tg_tape_new();
    int64_t qs[3] = {2, 4, 4}, vs[3] = {2, 4, 3};
    tg_tensor *q = tg_test_leaf(t, dt, 3, qs, seq_sdpa_causal_q);
    tg_tensor *k = tg_test_leaf(t, dt, 3, qs, seq_sdpa_causal_k);
    tg_tensor *v = tg_test_leaf(t, dt, 3, vs, seq_sdpa_causal_v);
    tg_tensor *y = tg_scaled_dot_product_attention(t, q, k, v, true);
    ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
    EXPECT(y, seq_sdpa_causal_y, tol);
    EXPECT(tg_grad(q), seq_sdpa_causal_gq, tol);
    EXPECT(tg_grad(k), seq_sdpa_causal_gk, tol);
    EXPECT(tg_grad(v), seq_sdpa_causal_gv, tol);
    tg_tape_free(t);
}
END_TEST

/* softmax(where(mask, q k^T / sqrt(D), -inf)) v, from separate ops. */
static tg_tensor *composed(tg_tape *t, tg_tensor *q, tg_tensor *k,
                           tg_tensor *v, int64_t L)
{
    int perm[3] = {0, 2, 1};
    int64_t ms[2] = {L, L};
    tg_tensor *mask = tg_zeros(t, tg_dtype_of(q), 2, ms);
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j <= i; j++) {
            if (tg_dtype_of(q) == TG_F32)
                tg_mut_f32(mask)[i * L + j] = 1;
            else
                tg_mut_f64(mask)[i * L + j] = 1;
        }
    tg_tensor *s = tg_mul_scalar(t, tg_matmul(t, q, tg_permute(t, k, 3, perm)),
                                 1 / sqrt((double)tg_shape(q)[2]));
    s = tg_where(t, mask, s, tg_scalar(t, tg_dtype_of(q), -INFINITY));
    return tg_matmul(t, tg_softmax(t, s, -1), v);
}

/* The fused op against the composition, outputs and gradients, on random
 * inputs whose scores reach +-20: the same to rounding. */
START_TEST(attention_agrees_with_its_composition)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-12 : 2e-5;
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 77, 1);
    int64_t qs[3] = {3, 6, 8}, vs[3] = {3, 6, 5};
    tg_tensor *in[3] = {tg_rand_normal(t, &rng, dt, 3, qs, 0.0, 2.0),
                        tg_rand_normal(t, &rng, dt, 3, qs, 0.0, 2.0),
                        tg_rand_normal(t, &rng, dt, 3, vs, 0.0, 1.0)};
    tg_tensor *fused[4], *comp[4];
    for (int run = 0; run < 2; run++) {
        tg_tensor **r = run ? comp : fused;
        for (int i = 0; i < 3; i++) {
            tg_set_requires_grad(in[i], true);
            tg_zero_grad(in[i]);
        }
        r[3] = run ? composed(t, in[0], in[1], in[2], 6)
                   : tg_scaled_dot_product_attention(t, in[0], in[1], in[2], true);
        ck_assert_int_eq(tg_backward(t, loss_of(t, r[3])), TG_OK);
        for (int i = 0; i < 3; i++)
            r[i] = tg_detach(t, tg_grad(in[i]));
    }
    for (int i = 0; i < 4; i++)
        for (int64_t e = 0; e < tg_numel(fused[i]); e++)
            ck_assert_msg(tg_test_close(tg_value_at(fused[i], e),
                                        tg_value_at(comp[i], e), tol, tol),
                          "%s %d[%lld]: fused %.17g, composed %.17g",
                          i == 3 ? "output" : "gradient", i, (long long)e,
                          tg_value_at(fused[i], e), tg_value_at(comp[i], e));
    tg_tape_free(t);
}
END_TEST

/* Scores of 1e4 overflow exp in any precision; the shifted softmax gives
 * the one-hot answer instead of NaN. */
START_TEST(attention_is_stable_for_large_scores)
{
    tg_tape *t = tg_tape_new();
    int64_t s[2] = {2, 1};
    double qv[2] = {100, 100}, kv[2] = {100, -100}, vv[2] = {3, 7};
    tg_tensor *q = tg_test_leaf(t, TG_F32, 2, s, qv), *k = tg_test_leaf(t, TG_F32, 2, s, kv);
    tg_tensor *v = tg_test_leaf(t, TG_F32, 2, s, vv);
    tg_tensor *y = tg_scaled_dot_product_attention(t, q, k, v, false);
    double want[2] = {3, 3};
    EXPECT(y, want, 0);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    for (int i = 0; i < 2; i++)
        ck_assert(isfinite(tg_value_at(tg_grad(q), i)));
    tg_tape_free(t);
}
END_TEST

/* ---- cells: three steps, gradients through time ---- */

START_TEST(gru_cell_matches_pytorch_through_time)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-10 : 1e-4;
    tg_tape *t = tg_tape_new();
    int64_t wi[2] = {12, 3}, wh[2] = {12, 4}, b[1] = {12}, xs[3] = {3, 2, 3},
            hs[2] = {2, 4};
    tg_gru_cell c = {tg_test_leaf(t, dt, 2, wi, seq_gru_weight_ih),
                     tg_test_leaf(t, dt, 2, wh, seq_gru_weight_hh),
                     tg_test_leaf(t, dt, 1, b, seq_gru_bias_ih),
                     tg_test_leaf(t, dt, 1, b, seq_gru_bias_hh)};
    tg_tensor *x = tg_test_leaf(t, dt, 3, xs, seq_gru_x);
    tg_tensor *h0 = tg_test_leaf(t, dt, 2, hs, seq_gru_h0), *h = h0;
    int64_t one[2] = {2, 3};
    for (int step = 0; step < 3; step++)
        h = tg_gru_cell_forward(t, &c, tg_reshape(t, tg_slice(t, x, 0, step, step + 1, 1), 2, one), h);
    ck_assert_int_eq(tg_backward(t, loss_of(t, h)), TG_OK);
    EXPECT(h, seq_gru_h, tol);
    EXPECT(tg_grad(x), seq_gru_gx, tol);
    EXPECT(tg_grad(h0), seq_gru_gh0, tol);
    EXPECT(tg_grad(c.w_ih), seq_gru_gweight_ih, tol);
    EXPECT(tg_grad(c.w_hh), seq_gru_gweight_hh, tol);
    EXPECT(tg_grad(c.b_ih), seq_gru_gbias_ih, tol);
    EXPECT(tg_grad(c.b_hh), seq_gru_gbias_hh, tol);
    tg_tape_free(t);
}
END_TEST

START_TEST(lstm_cell_matches_pytorch_through_time)
{
    tg_dtype dt = dtypes[_i];
    double tol = dt == TG_F64 ? 1e-10 : 1e-4;
    tg_tape *t = tg_tape_new();
    int64_t wi[2] = {16, 3}, wh[2] = {16, 4}, b[1] = {16}, xs[3] = {3, 2, 3},
            hs[2] = {2, 4};
    tg_lstm_cell c = {tg_test_leaf(t, dt, 2, wi, seq_lstm_weight_ih),
                      tg_test_leaf(t, dt, 2, wh, seq_lstm_weight_hh),
                      tg_test_leaf(t, dt, 1, b, seq_lstm_bias_ih),
                      tg_test_leaf(t, dt, 1, b, seq_lstm_bias_hh)};
    tg_tensor *x = tg_test_leaf(t, dt, 3, xs, seq_lstm_x);
    tg_tensor *h0 = tg_test_leaf(t, dt, 2, hs, seq_lstm_h0), *h = h0;
    tg_tensor *cs = tg_test_leaf(t, dt, 2, hs, seq_lstm_c0);
    int64_t one[2] = {2, 3};
    for (int step = 0; step < 3; step++)
        h = tg_lstm_cell_forward(t, &c, tg_reshape(t, tg_slice(t, x, 0, step, step + 1, 1), 2, one), h, cs, &cs);
    ck_assert_int_eq(tg_backward(t, loss_of(t, h)), TG_OK);
    EXPECT(h, seq_lstm_h, tol);
    EXPECT(cs, seq_lstm_c, tol);
    EXPECT(tg_grad(x), seq_lstm_gx, tol);
    EXPECT(tg_grad(h0), seq_lstm_gh0, tol);
    EXPECT(tg_grad(c.w_ih), seq_lstm_gweight_ih, tol);
    EXPECT(tg_grad(c.w_hh), seq_lstm_gweight_hh, tol);
    EXPECT(tg_grad(c.b_ih), seq_lstm_gbias_ih, tol);
    EXPECT(tg_grad(c.b_hh), seq_lstm_gbias_hh, tol);
    tg_tape_free(t);
}
END_TEST

/* ---- multi-head self-attention ---- */

static void check_mha(tg_dtype dt, bool causal, const double *x_, const double *wi,
                      const double *bi, const double *wo, const double *bo,
                      const double *y_, const double *gx, const double *gwi,
                      const double *gwo)
{
    double tol = dt == TG_F64 ? 1e-10 : 1e-4;
    tg_tape *t = tg_tape_new();
    int64_t xs[3] = {2, 4, 6}, wis[2] = {18, 6}, bis[1] = {18}, wos[2] = {6, 6},
            bos[1] = {6};
    tg_mha m = {tg_test_leaf(t, dt, 2, wis, wi), tg_test_leaf(t, dt, 1, bis, bi),
                {tg_test_leaf(t, dt, 2, wos, wo), tg_test_leaf(t, dt, 1, bos, bo)}, 2};
    tg_tensor *x = tg_test_leaf(t, dt, 3, xs, x_);
    tg_tensor *y = tg_mha_forward(t, &m, x, causal);
    ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
    expect("y", y, y_, 48, tol);
    expect("d/dx", tg_grad(x), gx, 48, tol);
    expect("d/dW_in", tg_grad(m.w_in), gwi, 108, tol);
    expect("d/dW_out", tg_grad(m.out.weight), gwo, 36, tol);
    tg_tape_free(t);
}

START_TEST(mha_matches_pytorch)
{
    check_mha(dtypes[_i], false, seq_mha_x, seq_mha_w_in, seq_mha_b_in,
              seq_mha_w_out, seq_mha_b_out, seq_mha_y, seq_mha_gx,
              seq_mha_gw_in, seq_mha_gw_out);
}
END_TEST

START_TEST(causal_mha_matches_pytorch)
{
    check_mha(dtypes[_i], true, seq_mha_causal_x, seq_mha_causal_w_in,
              seq_mha_causal_b_in, seq_mha_causal_w_out, seq_mha_causal_b_out,
              seq_mha_causal_y, seq_mha_causal_gx, seq_mha_causal_gw_in,
              seq_mha_causal_gw_out);
}
END_TEST

/* Initialisation: PyTorch's bounds, parameters registered, sizes checked. */
START_TEST(init_as_pytorch)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    tg_rng rng;
    tg_rng_seed(&rng, 5, 0);
    tg_gru_cell g;
    tg_lstm_cell l;
    tg_mha m;
    ck_assert_int_eq(tg_gru_cell_init(&g, t, p, &rng, TG_F32, 3, 16), TG_OK);
    ck_assert_int_eq(tg_lstm_cell_init(&l, t, p, &rng, TG_F64, 3, 16), TG_OK);
    ck_assert_int_eq(tg_mha_init(&m, t, p, &rng, TG_F32, 8, 2), TG_OK);
    ck_assert_int_eq(tg_params_count(p), 12);
    for (int64_t i = 0; i < tg_numel(g.w_hh); i++)
        ck_assert(fabs(tg_value_at(g.w_hh, i)) <= 0.25);
    ck_assert_int_eq(tg_shape(l.w_ih)[0], 64);
    ck_assert_double_eq(tg_value_at(m.b_in, 5), 0.0);
    ck_assert_status(tg_mha_init(&m, t, p, &rng, TG_F32, 8, 3), TG_EINVAL,
                     "tg_mha_init: embedding size 8 must be a positive "
                     "multiple of the 3 heads");
    ck_assert_status(tg_gru_cell_init(&g, t, p, &rng, TG_F32, 0, 4), TG_EINVAL,
                     "tg_gru_cell_init: input size 0");
    tg_tape_free(t);
}
END_TEST

/* The layer-norm layer starts as the plain normalisation (weight 1, bias
 * 0) and trains both. */
START_TEST(layer_norm_layer)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    tg_layer_norm_layer l;
    int64_t xs[3] = {3, 2, 4}, ns[1] = {4};
    ck_assert_int_eq(tg_layer_norm_layer_init(&l, t, p, TG_F64, 1, ns), TG_OK);
    ck_assert_int_eq(tg_params_count(p), 2);
    tg_tensor *x = tg_test_leaf(t, TG_F64, 3, xs, seq_ln_x);
    tg_tensor *y = tg_layer_norm_layer_forward(t, &l, x);
    ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
    EXPECT(y, seq_ln_plain_y, 1e-10);
    EXPECT(tg_grad(x), seq_ln_plain_gx, 1e-10);
    ck_assert_ptr_nonnull(tg_grad(l.weight));
    ck_assert_status(tg_layer_norm_layer_init(&l, t, p, TG_F64, 1,
                                              (int64_t[]){0}),
                     TG_EINVAL, "tg_layer_norm_layer_init: size 0 of dim 0");
    tg_tape_free(t);
}
END_TEST

/* ---- second order, beyond the registry's one case of each op ---- */

static tg_tensor *sdpa_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_scaled_dot_product_attention(t, in[0], in[1], in[2], false);
}

static tg_tensor *ln_bias_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    int64_t shape[2] = {2, 3};
    return tg_layer_norm(t, in[0], 2, shape, NULL, in[1], 1e-3);
}

static tg_tensor *gru_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_gru_cell c = {in[1], in[2], NULL, NULL};
    return tg_gru_cell_forward(t, &c, in[0], tg_gru_cell_forward(t, &c, in[0], in[0]));
}

/* Attention without a mask and L != S, layer norm over two dims with a
 * bias only, and two GRU steps: first and second derivatives. */
START_TEST(second_derivatives)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 9, 2);
    int64_t qs[3] = {2, 2, 3}, ks[3] = {2, 4, 3}, vs[3] = {2, 4, 2};
    tg_tensor *a[3] = {tg_rand_normal(t, &rng, TG_F64, 3, qs, 0, 1),
                       tg_rand_normal(t, &rng, TG_F64, 3, ks, 0, 1),
                       tg_rand_normal(t, &rng, TG_F64, 3, vs, 0, 1)};
    tg_ck_assert_gradients(sdpa_fn, NULL, 3, a);
    tg_ck_assert_second_gradients(sdpa_fn, NULL, 3, a);
    int64_t xs[3] = {2, 2, 3}, bs[2] = {2, 3};
    tg_tensor *l[2] = {tg_rand_normal(t, &rng, TG_F64, 3, xs, 0, 1),
                       tg_rand_normal(t, &rng, TG_F64, 2, bs, 0, 1)};
    tg_ck_assert_gradients(ln_bias_fn, NULL, 2, l);
    tg_ck_assert_second_gradients(ln_bias_fn, NULL, 2, l);
    int64_t hs[2] = {2, 3}, wi[2] = {9, 3};
    tg_tensor *g[3] = {tg_rand_normal(t, &rng, TG_F64, 2, hs, 0, 1),
                       tg_rand_normal(t, &rng, TG_F64, 2, wi, 0, 0.5),
                       tg_rand_normal(t, &rng, TG_F64, 2, wi, 0, 0.5)};
    tg_ck_assert_gradients(gru_fn, NULL, 3, g);
    tg_ck_assert_second_gradients(gru_fn, NULL, 3, g);
    tg_tape_free(t);
}
END_TEST

/* A training step of layer norm, multi-head attention and two GRU steps
 * on a step tape that is reset after each step: after the first step the
 * tape's memory is reused and no allocator call is made (what W7 needs). */
static void seq_step(tg_tape *t, const tg_mha *m, const tg_gru_cell *g,
                     tg_tensor *x)
{
    int64_t ns[1] = {8}, flat[2] = {6, 8};
    tg_tensor *a = tg_layer_norm(t, x, 1, ns, NULL, NULL, 1e-5);
    tg_tensor *y = tg_reshape(t, tg_mha_forward(t, m, a, true), 2, flat);
    tg_tensor *h = tg_gru_cell_forward(t, g, y, y);
    h = tg_gru_cell_forward(t, g, y, h);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, h, h))), TG_OK);
}

START_TEST(steady_state_makes_no_allocator_calls)
{
    tg_tape *pt = tg_tape_new(), *t = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_rng rng;
    tg_rng_seed(&rng, 3, 0);
    tg_mha m;
    tg_gru_cell g;
    ck_assert_int_eq(tg_mha_init(&m, pt, p, &rng, TG_F32, 8, 2), TG_OK);
    ck_assert_int_eq(tg_gru_cell_init(&g, pt, p, &rng, TG_F32, 8, 8), TG_OK);
    int64_t xs[3] = {2, 3, 8};
    tg_tensor *x = tg_rand_normal(pt, &rng, TG_F32, 3, xs, 0, 1);
    for (int step = 0; step < 2; step++) { /* warm up, grads allocated */
        tg_params_zero_grad(p);
        seq_step(t, &m, &g, x);
        tg_tape_reset(t);
    }
    long before = tg_test_allocation_calls();
    for (int step = 0; step < 3; step++) {
        tg_params_zero_grad(p);
        seq_step(t, &m, &g, x);
        tg_tape_reset(t);
    }
    ck_assert_int_eq(tg_test_allocation_calls(), before);
    tg_tape_free(t);
    tg_tape_free(pt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seq");
    TCase *tc = tg_test_tcase("seq");
    tcase_add_loop_test(tc, layer_norm_matches_pytorch, 0, 2);
    tcase_add_loop_test(tc, layer_norm_without_affine, 0, 2);
    tcase_add_test(tc, layer_norm_is_stable_under_an_offset);
    tcase_add_loop_test(tc, attention_matches_pytorch, 0, 2);
    tcase_add_loop_test(tc, causal_attention_matches_pytorch, 0, 2);
    tcase_add_loop_test(tc, attention_agrees_with_its_composition, 0, 2);
    tcase_add_test(tc, attention_is_stable_for_large_scores);
    tcase_add_loop_test(tc, gru_cell_matches_pytorch_through_time, 0, 2);
    tcase_add_loop_test(tc, lstm_cell_matches_pytorch_through_time, 0, 2);
    tcase_add_loop_test(tc, mha_matches_pytorch, 0, 2);
    tcase_add_loop_test(tc, causal_mha_matches_pytorch, 0, 2);
    tcase_add_test(tc, init_as_pytorch);
    tcase_add_test(tc, layer_norm_layer);
    tcase_add_test(tc, second_derivatives);
    tcase_add_test(tc, steady_state_makes_no_allocator_calls);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
