/*
 * test_hostile_graph.c — hostile input to tg_parallel_range, tg_vjp with
 * create_graph through the new ops, and stale and foreign inputs to them.
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

/* ---- tg_parallel_range ---------------------------------------------------- */

static void count_range(void *job, int64_t begin, int64_t end)
{
    int64_t *total = job;
    __atomic_fetch_add(total, end - begin, __ATOMIC_RELAXED);
}

START_TEST(parallel_range_hostile)
{
    int64_t total = 0;
    REFUSED_RC(tg_parallel_range(-1, count_range, &total), TG_EINVAL,
               "tg_parallel_range");
    REFUSED_RC(tg_parallel_range(INT64_MIN, count_range, &total), TG_EINVAL,
               "tg_parallel_range");
    REFUSED_RC(tg_parallel_range(10, NULL, &total), TG_EINVAL,
               "tg_parallel_range");
    ck_assert_int_eq(tg_parallel_range(0, count_range, &total), TG_OK);
    ck_assert_int_eq(total, 0);
    /* A huge n with a function that does nothing per element: the parts
     * must cover [0, n) exactly, without overflow. */
    ck_assert_int_eq(tg_parallel_range(INT64_MAX, count_range, &total),
                     TG_OK);
    ck_assert_int_eq(total, INT64_MAX);
}
END_TEST

/* ---- tg_vjp with create_graph through every new op, then backward -------- */

/* y = the i-th new op applied to x (f64, (2,3,4,4)-ish shapes made here),
 * or NULL past the last. */
static tg_tensor *new_op(tg_tape *t, int i, tg_tensor *x4, tg_tensor *x2,
                         tg_rng *rng)
{
    int64_t ws[4] = {2, 3, 3, 3}, c3 = 3, c4 = 4, is[2] = {2, 4};
    int64_t rows[3] = {1, 0, 1}, labels[2] = {3, 1};
    tg_pool2d_options po = tg_pool2d_defaults(2, 2);
    tg_conv_options co = tg_conv_defaults();
    co.padding[0] = co.padding[1] = 1;
    co.dilation[1] = 2;
    tg_cross_entropy_options ce = tg_cross_entropy_defaults();
    ce.label_smoothing = 0.3;
    double iv[8] = {0, 3, 2, 1, 1, 1, 0, 2};
    tg_tensor *idx = tg_from_data(t, TG_F64, 2, is, iv);
    switch (i) {
    case 0:
        return tg_conv2d(t, x4, tg_full(t, TG_F64, 4, ws, 0.1), NULL, &co);
    case 1:
        return tg_max_pool2d(t, x4, &po);
    case 2:
        return tg_avg_pool2d(t, x4, &po);
    case 3:
        return tg_adaptive_avg_pool2d(t, x4, 3, 3);
    case 4:
        return tg_dropout(t, x4, 0.25, rng, true);
    case 5:
        return tg_batch_norm(t, x4, tg_zeros(t, TG_F64, 1, &c3),
                             tg_ones(t, TG_F64, 1, &c3), NULL, NULL, true, 0.1,
                             1e-5);
    case 6:
        return tg_gather(t, x2, 1, idx);
    case 7:
        return tg_scatter_add(t, x2, 1, idx, x2);
    case 8:
        return tg_index_select(t, x2, 1, 3, rows);
    case 9:
        return tg_embedding(t, x2, 3, rows, 0);
    case 10:
        return tg_nll_loss(t, x2, labels, -100);
    case 11:
        return tg_cross_entropy_ex(t, x2, labels, &ce);
    case 12:
        return tg_bce_with_logits(t, x2, tg_sigmoid(t, x2), NULL);
    case 13:
        return tg_layer_norm(t, x4, 2, (int64_t[]){4, 4}, NULL, NULL, 1e-5);
    case 14:
        return tg_scaled_dot_product_attention(t, x4, x4, x4, true);
    case 15: {
        tg_tensor *out[2];
        return tg_split(t, x2, 1, 3, 2, out) == 2 ? tg_mul(t, out[0], out[0])
                                                  : NULL;
    }
    case 16:
        return tg_conv1d(t, x2 == NULL ? NULL : tg_reshape(t, x2, 3,
                                                           (int64_t[]){1, 2,
                                                                       4}),
                         tg_full(t, TG_F64, 3, (int64_t[]){3, 2, 2}, 0.2),
                         tg_full(t, TG_F64, 1, &c3, 0.5), NULL);
    default:
        (void)c4;
        return NULL;
    }
}

START_TEST(vjp_create_graph_through_new_ops)
{
    for (int i = 0;; i++) {
        tg_tape *t = tg_tape_new();
        tg_rng rng;
        tg_rng_seed(&rng, 11, 12);
        int64_t s4[4] = {2, 3, 4, 4}, s2[2] = {2, 4};
        tg_tensor *x4 = tg_rand_normal(t, &rng, TG_F64, 4, s4, 0.0, 1.0);
        tg_tensor *x2 = tg_rand_normal(t, &rng, TG_F64, 2, s2, 0.0, 1.0);
        ck_assert_int_eq(tg_set_requires_grad(x4, true), TG_OK);
        ck_assert_int_eq(tg_set_requires_grad(x2, true), TG_OK);
        tg_clear_error();
        tg_tensor *y = new_op(t, i, x4, x2, &rng);
        if (y == NULL) {
            ck_assert_msg(tg_last_status() == TG_OK, "op %d: %s", i,
                          tg_last_error());
            ck_assert_int_eq(i, 17); /* every op above ran */
            tg_tape_free(t);
            break;
        }
        tg_tensor *root = tg_sum(t, tg_mul(t, y, tg_exp(t, y)));
        tg_tensor *in[2] = {x4, x2}, *g[2];
        tg_vjp_options o = tg_vjp_defaults();
        o.create_graph = true;
        o.unused = TG_UNUSED_ZEROS;
        ck_assert_msg(tg_vjp(t, 1, &root, NULL, 2, in, g, &o) == TG_OK,
                      "op %d: %s", i, tg_last_error());
        tg_tensor *r2 = tg_add(t, tg_sum(t, tg_mul(t, g[0], g[0])),
                               tg_sum(t, tg_mul(t, g[1], g[1])));
        ck_assert_msg(tg_backward(t, r2) == TG_OK, "op %d: %s", i,
                      tg_last_error());
        /* and again: backward twice from the same second-order root */
        ck_assert_msg(tg_backward(t, r2) == TG_OK, "op %d: %s", i,
                      tg_last_error());
        /* vjp of a reset tape's root: stale, refused, grads NULL */
        tg_tape_reset(t);
        g[0] = g[1] = (tg_tensor *)&rng;
        tg_clear_error();
        ck_assert_int_eq(tg_vjp(t, 1, &root, NULL, 2, in, g, &o), TG_ESTATE);
        ck_assert_ptr_null(g[0]);
        ck_assert_ptr_null(g[1]);
        ck_assert_msg(strncmp(tg_last_error(), "tg_vjp: ", 8) == 0, "%s",
                      tg_last_error());
        tg_tape_free(t);
    }
}
END_TEST

/* ---- stale and foreign inputs to the new ops ---------------------------- */

static void nested_range(void *job, int64_t begin, int64_t end)
{
    int64_t *total = job;
    int64_t inner = 0;
    /* a call from inside a part runs on its own thread, and completes */
    if (tg_parallel_range(end - begin, count_range, &inner) == TG_OK)
        __atomic_fetch_add(total, inner, __ATOMIC_RELAXED);
}

START_TEST(stale_inputs_to_new_ops)
{
    tg_tape *t = tg_tape_new(), *u = tg_tape_new();
    int64_t s2[2] = {2, 4}, s4[4] = {1, 2, 4, 4}, c2 = 2, ws[4] = {2, 2, 1, 1};
    tg_tensor *x2 = param(t, TG_F64, 2, s2, 1.0);
    tg_tensor *x4 = param(t, TG_F64, 4, s4, 1.0);
    tg_tensor *ux2 = filled(u, TG_F64, 2, s2, 0.0);
    tg_tensor *ux4 = filled(u, TG_F64, 4, s4, 0.0);
    tg_tensor *uc = filled(u, TG_F64, 1, &c2, 0.0);
    tg_tensor *uc2 = filled(u, TG_F64, 1, &c2, 1.0);
    tg_tensor *uw = filled(u, TG_F64, 4, ws, 0.0);
    tg_rng rng;
    tg_rng_seed(&rng, 1, 1);
    /* Reset, not reused: a stale pointer may land on a new tensor once
     * the tape makes some (docs/errors.md, rule 6). */
    tg_tape_reset(u);
    int64_t rows[2] = {0, 1};
    tg_pool2d_options po = tg_pool2d_defaults(2, 2);
    REFUSED(tg_gather(t, x2, 1, ux2), TG_ESTATE, "tg_gather");
    REFUSED(tg_scatter_add(t, x2, 1, ux2, x2), TG_ESTATE, "tg_scatter_add");
    REFUSED(tg_scatter_add(t, ux2, 1, x2, x2), TG_ESTATE, "tg_scatter_add");
    REFUSED(tg_index_select(t, ux2, 0, 2, rows), TG_ESTATE,
            "tg_index_select");
    REFUSED(tg_embedding(t, ux2, 2, rows, -1), TG_ESTATE, "tg_embedding");
    REFUSED(tg_nll_loss(t, ux2, rows, -100), TG_ESTATE, "tg_nll_loss");
    REFUSED(tg_cross_entropy_ex(t, ux2, rows, NULL), TG_ESTATE,
            "tg_cross_entropy_ex");
    REFUSED(tg_bce_with_logits(t, x2, ux2, NULL), TG_ESTATE,
            "tg_bce_with_logits");
    tg_tensor *out[4];
    REFUSED_RC(tg_split(t, ux2, 0, 1, 4, out), TG_ESTATE, "tg_split");
    REFUSED_RC(tg_chunk(t, ux2, 0, 2, out), TG_ESTATE, "tg_chunk");
    REFUSED(tg_conv2d(t, x4, uw, NULL, NULL), TG_ESTATE, "tg_conv2d");
    REFUSED(tg_conv2d(t, x4, filled(t, TG_F64, 4, ws, 1.0), uc, NULL),
            TG_ESTATE, "tg_conv2d");
    REFUSED(tg_max_pool2d(t, ux4, &po), TG_ESTATE, "tg_max_pool2d");
    REFUSED(tg_adaptive_avg_pool2d(t, ux4, 1, 1), TG_ESTATE,
            "tg_adaptive_avg_pool2d");
    REFUSED(tg_dropout(t, ux4, 0.5, &rng, true), TG_ESTATE, "tg_dropout");
    REFUSED(tg_batch_norm(t, x4, uc, uc2, NULL, NULL, false, 0.1, 1e-5),
            TG_ESTATE, "tg_batch_norm");
    REFUSED(tg_batch_norm(t, x4, uc, uc2, NULL, NULL, true, 0.1, 1e-5),
            TG_ESTATE, "tg_batch_norm");
    REFUSED(tg_batch_norm(t, x4, NULL, NULL, uc, NULL, true, 0.1, 1e-5),
            TG_ESTATE, "tg_batch_norm");
    REFUSED(tg_layer_norm(t, ux4, 1, &s4[3], NULL, NULL, 1e-5), TG_ESTATE,
            "tg_layer_norm");
    REFUSED(tg_scaled_dot_product_attention(t, x4, x4, ux4, false), TG_ESTATE,
            "tg_scaled_dot_product_attention");
    /* Every refusal above left the rng alone and t usable. */
    tg_rng fresh;
    tg_rng_seed(&fresh, 1, 1);
    ck_assert(rng_eq(&fresh, &rng));
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, x2, x2))), TG_OK);
    (void)x4;
    /* tg_parallel_range from inside a part. */
    int64_t total = 0;
    ck_assert_int_eq(tg_parallel_range(1 << 20, nested_range, &total), TG_OK);
    ck_assert_int_eq(total, 1 << 20);
    tg_tape_free(u);
    tg_tape_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hostile_graph");
    TCase *tc = tg_test_tcase("hostile_graph");
    tg_test_set_timeout(tc, 120);
    tcase_add_test(tc, parallel_range_hostile);
    tcase_add_test(tc, vjp_create_graph_through_new_ops);
    tcase_add_test(tc, stale_inputs_to_new_ops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tg_test_main(suite());
}
