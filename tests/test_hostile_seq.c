/*
 * test_hostile_seq.c — hostile input to the sequence ops (layer norm,
 * attention, recurrent cells), layers and tg_sequential.
 *
 * Part of the hostile-input round (test_hostile_*.c), one file an area.
 * Each test throws one family of bad arguments at one call and checks
 * the contract of docs/errors.md: a status (or NULL) and a message that
 * names the call, nothing changed, no leak (the counting allocator), no
 * crash and no UB (the suite also runs under ASan+UBSan and valgrind).
 * The shared checks (REFUSED, REFUSED_RC) are in support/tg_hostile.h.
 */
#include "tg_hostile.h"
#include "tapegrad/elementwise.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/train.h"
#include "tapegrad/vjp.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- sequence ----------------------------------------------------------- */

START_TEST(layer_norm_hostile)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[2] = {3, 4}, ns = 4;
    tg_tensor *x = param(t, TG_F32, 2, xs, 0.5);
    int bad_nd[] = {0, -1, 9, INT_MAX, INT_MIN, 3};
    for (size_t i = 0; i < sizeof bad_nd / sizeof bad_nd[0]; i++) {
        tg_clear_error();
        ck_assert_ptr_null(tg_layer_norm(t, x, bad_nd[i], xs, NULL, NULL,
                                         1e-5));
        ck_assert_msg(strncmp(tg_last_error(), "tg_layer_norm: ", 15) == 0,
                      "%s", tg_last_error());
    }
    double eps[] = {NAN, INFINITY, -1e-5};
    for (size_t i = 0; i < 3; i++)
        REFUSED(tg_layer_norm(t, x, 1, &ns, NULL, NULL, eps[i]), TG_EINVAL,
                "tg_layer_norm");
    REFUSED(tg_layer_norm(t, x, 1, NULL, NULL, NULL, 1e-5), TG_EINVAL,
            "tg_layer_norm");
    /* weight == bias == x's row shape, aliasing. */
    tg_tensor *w = param(t, TG_F32, 1, &ns, 1.0);
    tg_tensor *y = tg_layer_norm(t, x, 1, &ns, w, w, 1e-5);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, y))), TG_OK);
    tg_layer_norm_layer l;
    memset(&l, 0x5a, sizeof l);
    tg_layer_norm_layer before = l;
    REFUSED_RC(tg_layer_norm_layer_init(&l, t, NULL, TG_F32, 0, &ns),
               TG_EINVAL, "tg_layer_norm_layer_init");
    int64_t zero = 0, neg = -3;
    REFUSED_RC(tg_layer_norm_layer_init(&l, t, NULL, TG_F32, 1, &zero),
               TG_EINVAL, "tg_layer_norm_layer_init");
    REFUSED_RC(tg_layer_norm_layer_init(&l, t, NULL, TG_F32, 1, &neg),
               TG_EINVAL, "tg_layer_norm_layer_init");
    int64_t huge[2] = {INT64_MAX, INT64_MAX};
    tg_clear_error();
    ck_assert_int_lt(tg_layer_norm_layer_init(&l, t, NULL, TG_F32, 2, huge),
                     0);
    ck_assert_msg(strncmp(tg_last_error(), "tg_layer_norm_layer_init: ", 26)
                  == 0, "%s", tg_last_error());
    REFUSED_RC(tg_layer_norm_layer_init(&l, t, NULL, (tg_dtype)77, 1, &ns),
               TG_EDTYPE, "tg_layer_norm_layer_init");
    ck_assert_int_eq(memcmp(&l, &before, sizeof l), 0);
    REFUSED(tg_layer_norm_layer_forward(t, NULL, x), TG_EINVAL,
            "tg_layer_norm_layer_forward");
    tg_tape_free(t);
}
END_TEST

START_TEST(attention_hostile)
{
    tg_tape *t = tg_tape_new();
    int64_t qs[3] = {2, 3, 4}, ks[3] = {2, 5, 4}, vs[3] = {2, 5, 6};
    tg_tensor *q = param(t, TG_F64, 3, qs, 0.1);
    tg_tensor *k = param(t, TG_F64, 3, ks, 0.2);
    tg_tensor *v = param(t, TG_F64, 3, vs, 0.3);
    REFUSED(tg_scaled_dot_product_attention(t, q, k, v, true), TG_ESHAPE,
            "tg_scaled_dot_product_attention");
    REFUSED(tg_scaled_dot_product_attention(t, q, k, q, false), TG_ESHAPE,
            "tg_scaled_dot_product_attention");
    REFUSED(tg_scaled_dot_product_attention(t, q, filled(t, TG_F32, 3, ks,
                                                         1.0), v, false),
            TG_EDTYPE, "tg_scaled_dot_product_attention");
    REFUSED(tg_scaled_dot_product_attention(t, tg_scalar(t, TG_F64, 1), k,
                                            v, false),
            TG_ESHAPE, "tg_scaled_dot_product_attention");
    /* q == k == v, causal, then vjp with create_graph and backward. */
    tg_tensor *y = tg_scaled_dot_product_attention(t, q, q, q, true);
    ck_assert_ptr_nonnull(y);
    tg_tensor *g[1];
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    tg_tensor *root = tg_sum(t, tg_mul(t, y, y));
    ck_assert_int_eq(tg_vjp(t, 1, &root, NULL, 1, &q, g, &o), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, g[0], g[0]))),
                     TG_OK);
    /* NaN and inf in q: no crash, NaN out. */
    tg_tensor *qn = filled(t, TG_F64, 3, qs, NAN);
    tg_tensor *kn = filled(t, TG_F64, 3, ks, INFINITY);
    ck_assert_ptr_nonnull(tg_scaled_dot_product_attention(t, qn, kn, v,
                                                          false));
    tg_tape_free(t);
}
END_TEST

START_TEST(cells_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng, unseeded;
    tg_rng_seed(&rng, 3, 4);
    memset(&unseeded, 0, sizeof unseeded);
    tg_gru_cell g;
    tg_lstm_cell c;
    tg_mha m;
    memset(&g, 0, sizeof g);
    int64_t bad[] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 40};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tg_rng before = rng;
        tg_clear_error();
        ck_assert_int_lt(tg_gru_cell_init(&g, t, NULL, &rng, TG_F32, bad[i],
                                          4), 0);
        ck_assert_msg(strncmp(tg_last_error(), "tg_gru_cell_init: ", 18) == 0,
                      "%s", tg_last_error());
        ck_assert_int_lt(tg_lstm_cell_init(&c, t, NULL, &rng, TG_F32, 4,
                                           bad[i]), 0);
        ck_assert_int_lt(tg_mha_init(&m, t, NULL, &rng, TG_F32, bad[i], 1),
                         0);
        ck_assert(rng_eq(&before, &rng));
    }
    REFUSED_RC(tg_gru_cell_init(NULL, t, NULL, &rng, TG_F32, 2, 2), TG_EINVAL,
               "tg_gru_cell_init");
    REFUSED_RC(tg_gru_cell_init(&g, t, NULL, NULL, TG_F32, 2, 2), TG_EINVAL,
               "tg_gru_cell_init");
    REFUSED_RC(tg_gru_cell_init(&g, t, NULL, &unseeded, TG_F32, 2, 2),
               TG_ESTATE, "tg_gru_cell_init");
    REFUSED_RC(tg_lstm_cell_init(&c, NULL, NULL, &rng, TG_F32, 2, 2),
               TG_EINVAL, "tg_lstm_cell_init");
    REFUSED_RC(tg_mha_init(&m, t, NULL, &rng, TG_F32, 4, 0), TG_EINVAL,
               "tg_mha_init");
    REFUSED_RC(tg_mha_init(&m, t, NULL, &rng, TG_F32, 4, -2), TG_EINVAL,
               "tg_mha_init");
    REFUSED_RC(tg_mha_init(&m, t, NULL, &rng, TG_F32, 4, 3), TG_EINVAL,
               "tg_mha_init");
    REFUSED_RC(tg_mha_init(&m, t, NULL, &rng, TG_F32, 4, INT_MIN), TG_EINVAL,
               "tg_mha_init");
    /* Forwards: a zeroed cell, mixed dtypes, an 8-D x. */
    tg_gru_cell zg;
    memset(&zg, 0, sizeof zg);
    int64_t xs[2] = {2, 3}, hs[2] = {2, 4};
    tg_tensor *x = filled(t, TG_F32, 2, xs, 0.5);
    tg_tensor *h = filled(t, TG_F32, 2, hs, 0.0);
    REFUSED(tg_gru_cell_forward(t, &zg, x, h), TG_EINVAL,
            "tg_gru_cell_forward");
    REFUSED(tg_gru_cell_forward(t, NULL, x, h), TG_EINVAL,
            "tg_gru_cell_forward");
    ck_assert_int_eq(tg_gru_cell_init(&g, t, NULL, &rng, TG_F32, 3, 4), TG_OK);
    ck_assert_int_eq(tg_lstm_cell_init(&c, t, NULL, &rng, TG_F32, 3, 4),
                     TG_OK);
    REFUSED(tg_gru_cell_forward(t, &g, filled(t, TG_F64, 2, xs, 0.5), h),
            TG_EDTYPE, "tg_gru_cell_forward");
    REFUSED(tg_gru_cell_forward(t, &g, h, h), TG_ESHAPE,
            "tg_gru_cell_forward");
    REFUSED(tg_gru_cell_forward(t, &g, tg_scalar(t, TG_F32, 1), h),
            TG_ESHAPE, "tg_gru_cell_forward");
    tg_tensor *cs_out = (tg_tensor *)&rng;
    REFUSED(tg_lstm_cell_forward(t, &c, x, h, h, NULL), TG_EINVAL,
            "tg_lstm_cell_forward");
    REFUSED(tg_lstm_cell_forward(t, &c, x, h, x, &cs_out), TG_ESHAPE,
            "tg_lstm_cell_forward");
    ck_assert_ptr_null(cs_out);
    /* h == cs aliasing is legal; then vjp with create_graph, backward. */
    tg_tensor *h0 = param(t, TG_F32, 2, hs, 0.1);
    tg_tensor *h1 = tg_lstm_cell_forward(t, &c, x, h0, h0, &cs_out);
    ck_assert_ptr_nonnull(h1);
    tg_tensor *root = tg_sum(t, tg_mul(t, h1, cs_out));
    tg_tensor *gr[1];
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    ck_assert_int_eq(tg_vjp(t, 1, &root, NULL, 1, &h0, gr, &o), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, gr[0])), TG_OK);
    /* Cell of a reset tape used on a live tape: stale. */
    tg_tape *u = tg_tape_new();
    tg_gru_cell ug;
    ck_assert_int_eq(tg_gru_cell_init(&ug, u, NULL, &rng, TG_F32, 3, 4),
                     TG_OK);
    tg_tape_reset(u);
    REFUSED(tg_gru_cell_forward(t, &ug, x, h), TG_ESTATE,
            "tg_gru_cell_forward");
    ck_assert_int_eq(tg_mha_init(&m, u, NULL, &rng, TG_F32, 4, 2), TG_OK);
    int64_t ms[3] = {2, 3, 4};
    tg_tensor *mx = filled(t, TG_F32, 3, ms, 0.5);
    ck_assert_ptr_nonnull(tg_mha_forward(t, &m, mx, true));
    tg_tape_reset(u);
    REFUSED(tg_mha_forward(t, &m, mx, true), TG_ESTATE, "tg_mha_forward");
    tg_mha zm;
    memset(&zm, 0, sizeof zm);
    REFUSED(tg_mha_forward(t, &zm, mx, false), TG_EINVAL, "tg_mha_forward");
    tg_tape_free(u);
    tg_tape_free(t);
}
END_TEST

/* ---- layers and sequential ------------------------------------------- */

static tg_tensor *ident_fwd(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    (void)l;
    (void)t;
    return x;
}

static int fail_set_training(tg_layer *l, bool training)
{
    (void)l;
    (void)training;
    return tg_set_error(TG_ESTATE, "layer refuses");
}

START_TEST(layers_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 5, 6);
    tg_layer_class nofwd = {"bad", NULL, NULL};
    REFUSED(tg_layer_new(t, &nofwd, NULL), TG_EINVAL, "tg_layer_new");
    REFUSED(tg_layer_new(t, NULL, NULL), TG_EINVAL, "tg_layer_new");
    tg_layer_class cls = {"ident", ident_fwd, NULL};
    REFUSED(tg_layer_new(NULL, &cls, NULL), TG_EINVAL, "tg_layer_new");
    tg_layer *l = tg_layer_new(t, &cls, NULL);
    ck_assert_ptr_nonnull(l);
    int64_t n = 3;
    tg_tensor *p = filled(t, TG_F32, 1, &n, 1.0);
    REFUSED_RC(tg_layer_add_param(l, NULL, p), TG_EINVAL,
               "tg_layer_add_param");
    REFUSED_RC(tg_layer_add_param(l, "", p), TG_EINVAL, "tg_layer_add_param");
    REFUSED_RC(tg_layer_add_param(l, "a.b", p), TG_EINVAL,
               "tg_layer_add_param");
    ck_assert(!tg_requires_grad(p));
    REFUSED_RC(tg_layer_add_param(NULL, "w", p), TG_EINVAL,
               "tg_layer_add_param");
    REFUSED_RC(tg_layer_add_buffer(l, "b", NULL), TG_EINVAL,
               "tg_layer_add_buffer");
    ck_assert_int_eq(tg_layer_add_param(l, "w", p), TG_OK);
    REFUSED_RC(tg_layer_add_param(l, "w", p), TG_EINVAL,
               "tg_layer_add_param");
    /* The same tensor under two names, or as param and buffer. */
    REFUSED_RC(tg_layer_add_param(l, "w2", p), TG_EINVAL,
               "tg_layer_add_param");
    REFUSED_RC(tg_layer_add_buffer(l, "w", p), TG_EINVAL,
               "tg_layer_add_buffer");
    REFUSED(tg_layer_param(l, "nope"), TG_ENOTFOUND, "tg_layer_param");
    REFUSED(tg_layer_param(l, NULL), TG_EINVAL, "tg_layer_param");
    REFUSED(tg_layer_buffer(NULL, "x"), TG_EINVAL, "tg_layer_buffer");
    REFUSED(tg_layer_linear_new(t, &rng, TG_F32, 0, 3, true), TG_EINVAL,
            "tg_layer_linear_new");
    REFUSED(tg_layer_linear_new(t, &rng, TG_F32, INT64_MAX, INT64_MAX, true),
            TG_EINVAL, "tg_layer_linear_new");
    REFUSED(tg_layer_linear_new(t, NULL, TG_F32, 2, 3, true), TG_EINVAL,
            "tg_layer_linear_new");
    REFUSED(tg_layer_activation_new(t, "no_such_op"), TG_ENOTFOUND,
            "tg_layer_activation_new");
    REFUSED(tg_layer_activation_new(t, NULL), TG_EINVAL,
            "tg_layer_activation_new");
    REFUSED(tg_layer_activation_new(t, "add"), TG_EINVAL,
            "tg_layer_activation_new");
    REFUSED(tg_layer_op_new(t, NULL, NULL), TG_EINVAL, "tg_layer_op_new");
    REFUSED(tg_layer_fn_new(t, NULL, "x"), TG_EINVAL, "tg_layer_fn_new");
    REFUSED(tg_layer_flatten_new(t, -1), TG_EINVAL, "tg_layer_flatten_new");
    REFUSED(tg_layer_flatten_new(t, INT_MIN), TG_EINVAL,
            "tg_layer_flatten_new");
    tg_layer *fl = tg_layer_flatten_new(t, INT_MAX);
    if (fl != NULL)
        REFUSED(tg_layer_forward(t, fl, p), TG_EINVAL, "tg_layer_forward");
    /* A set_training hook that fails: the flag is left as it was. */
    tg_layer_class cls2 = {"picky", ident_fwd, fail_set_training};
    tg_layer *l2 = tg_layer_new(t, &cls2, NULL);
    REFUSED_RC(tg_layer_set_training(l2, false), TG_ESTATE,
               "tg_layer_set_training");
    ck_assert(l2->training);
    /* A forward that returns its input: allowed for a layer (identity). */
    ck_assert_ptr_eq(tg_layer_forward(t, l, p), p);
    tg_tape_free(t);
}
END_TEST

START_TEST(sequential_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 5, 6);
    tg_sequential *s = tg_sequential_new(t);
    ck_assert_ptr_nonnull(s);
    int64_t xs[2] = {2, 3};
    tg_tensor *x = filled(t, TG_F32, 2, xs, 1.0);
    /* Zero layers: the identity, as nn.Sequential(). */
    ck_assert_ptr_eq(tg_sequential_forward(t, s, x), x);
    ck_assert_int_eq(tg_sequential_count(s), 0);
    ck_assert_int_eq(tg_sequential_state_count(s), 0);
    tg_params *ps = tg_sequential_params(s);
    ck_assert_ptr_nonnull(ps);
    ck_assert_int_eq(tg_params_count(ps), 0);
    REFUSED(tg_sequential_at(s, 0), TG_EINVAL, "tg_sequential_at");
    REFUSED(tg_sequential_at(s, -1), TG_EINVAL, "tg_sequential_at");
    REFUSED(tg_sequential_name(s, INT_MIN), TG_EINVAL, "tg_sequential_name");
    REFUSED(tg_sequential_state_at(s, 0, NULL), TG_EINVAL,
            "tg_sequential_state_at");
    REFUSED_RC(tg_sequential_add(s, NULL), TG_EINVAL, "tg_sequential_add");
    REFUSED_RC(tg_sequential_add(NULL, NULL), TG_EINVAL, "tg_sequential_add");
    tg_layer *lin = tg_layer_linear_new(t, &rng, TG_F32, 3, 2, true);
    ck_assert_int_eq(tg_sequential_add(s, lin), TG_OK);
    REFUSED_RC(tg_sequential_add(s, lin), TG_EINVAL, "tg_sequential_add");
    tg_layer *act = tg_layer_activation_new(t, "relu");
    REFUSED_RC(tg_sequential_add_named(s, "0", act), TG_EINVAL,
               "tg_sequential_add_named");
    REFUSED_RC(tg_sequential_add_named(s, "", act), TG_EINVAL,
               "tg_sequential_add_named");
    REFUSED_RC(tg_sequential_add_named(s, "a.b", act), TG_EINVAL,
               "tg_sequential_add_named");
    REFUSED_RC(tg_sequential_add_named(s, NULL, act), TG_EINVAL,
               "tg_sequential_add_named");
    ck_assert_int_eq(tg_sequential_count(s), 1);
    /* The container as its own layer? Not a layer: can't. A layer made on
     * another tape that is then reset: refused when added or run. */
    tg_tape *u = tg_tape_new();
    tg_layer *ul = tg_layer_linear_new(u, &rng, TG_F32, 2, 2, true);
    ck_assert_int_eq(tg_sequential_add(s, ul), TG_OK);
    tg_tensor *y = tg_sequential_forward(t, s, x);
    ck_assert_ptr_nonnull(y);
    tg_tape_reset(u);
    REFUSED(tg_sequential_forward(t, s, x), TG_ESTATE,
            "tg_sequential_forward");
    REFUSED(tg_sequential_state_at(s, 3, NULL), TG_ESTATE,
            "tg_sequential_state_at");
    tg_tape_free(u);
    /* set_training toggled between forward and backward: backward still
     * works (the mode is read at forward time). */
    tg_sequential *s2 = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add(s2, tg_layer_linear_new(t, &rng,
                                         TG_F32, 3, 2, true)), TG_OK);
    tg_tensor *y2 = tg_sequential_forward(t, s2, x);
    ck_assert_int_eq(tg_sequential_set_training(s2, false), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y2)), TG_OK);
    REFUSED_RC(tg_sequential_set_training(NULL, true), TG_EINVAL,
               "tg_sequential_set_training");
    tg_tape_free(t);
}
END_TEST

START_TEST(sequential_after_reset)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 5, 6);
    tg_sequential *s = tg_sequential_new(t);
    tg_layer *lin = tg_layer_linear_new(t, &rng, TG_F32, 3, 2, true);
    ck_assert_int_eq(tg_sequential_add(s, lin), TG_OK);
    tg_tape_reset(t);
    int64_t n = 4096;
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(tg_full(t, TG_F64, 1, &n, 1.0 + i));
    int64_t xs[2] = {2, 3};
    tg_tensor *x = filled(t, TG_F32, 2, xs, 1.0);
    REFUSED(tg_sequential_forward(t, s, x), TG_ESTATE,
            "tg_sequential_forward");
    REFUSED_RC(tg_sequential_add(s, tg_layer_flatten_new(t, 1)), TG_ESTATE,
               "tg_sequential_add");
    REFUSED(tg_sequential_params(s), TG_ESTATE, "tg_sequential_params");
    REFUSED_RC(tg_sequential_set_training(s, false), TG_ESTATE,
               "tg_sequential_set_training");
    REFUSED(tg_layer_forward(t, lin, x), TG_ESTATE, "tg_layer_forward");
    REFUSED_RC(tg_layer_set_training(lin, false), TG_ESTATE,
               "tg_layer_set_training");
    REFUSED(tg_layer_param(lin, "weight"), TG_ESTATE, "tg_layer_param");
    tg_clear_error();
    ck_assert_int_eq(tg_sequential_count(s), 0);
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    tg_checkpoint ck = {.model = s};
    char path[] = "/tmp/tg_hostile_ckXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    REFUSED_RC(tg_checkpoint_save(path, &ck), TG_ESTATE,
               "tg_checkpoint_save");
    unlink(path);
    tg_tape_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hostile_seq");
    TCase *tc = tg_test_tcase("hostile_seq");
    tg_test_set_timeout(tc, 120);
    tcase_add_test(tc, layer_norm_hostile);
    tcase_add_test(tc, attention_hostile);
    tcase_add_test(tc, cells_hostile);
    tcase_add_test(tc, layers_hostile);
    tcase_add_test(tc, sequential_hostile);
    tcase_add_test(tc, sequential_after_reset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tg_test_main(suite());
}
