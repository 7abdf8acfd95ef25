/*
 * test_hostile_ops.c — hostile input to conv, pooling, dropout, batch norm,
 * the index ops and the losses.
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

/* ---- conv ------------------------------------------------------------- */

START_TEST(conv_huge_and_odd_options)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {1, 2, 5, 5}, ws[4] = {2, 2, 3, 3};
    tg_tensor *x = param(t, TG_F64, 4, xs, 1.0);
    tg_tensor *w = param(t, TG_F64, 4, ws, 0.5);
    int64_t bad[] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 31,
                     (int64_t)1 << 40};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tg_conv_options o = tg_conv_defaults();
        o.stride[1] = bad[i];
        REFUSED(tg_conv2d(t, x, w, NULL, &o), TG_EINVAL, "tg_conv2d");
        o = tg_conv_defaults();
        o.dilation[0] = bad[i];
        tg_clear_error();
        ck_assert_ptr_null(tg_conv2d(t, x, w, NULL, &o));
        ck_assert_int_lt(tg_last_status(), 0);
        ck_assert_msg(strncmp(tg_last_error(), "tg_conv2d: ", 11) == 0, "%s",
                      tg_last_error());
        o = tg_conv_defaults();
        o.groups = bad[i];
        tg_clear_error();
        ck_assert_ptr_null(tg_conv2d(t, x, w, NULL, &o));
        ck_assert_int_lt(tg_last_status(), 0);
        o = tg_conv_defaults();
        o.padding[0] = bad[i] == 0 ? -1 : bad[i];
        tg_clear_error();
        tg_tensor *y = tg_conv2d(t, x, w, NULL, &o);
        if (y == NULL)
            ck_assert_msg(strncmp(tg_last_error(), "tg_conv2d: ", 11) == 0,
                          "%s", tg_last_error());
        o = tg_conv_defaults();
        o.stride[0] = bad[i];
        tg_clear_error();
        int64_t x1s[3] = {1, 2, 5}, w1s[3] = {2, 2, 3};
        tg_tensor *x1 = filled(t, TG_F32, 3, x1s, 1.0);
        tg_tensor *w1 = filled(t, TG_F32, 3, w1s, 1.0);
        REFUSED(tg_conv1d(t, x1, w1, NULL, &o), TG_EINVAL, "tg_conv1d");
    }
    /* Padding large enough that the padded size overflows int64. */
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = INT64_MAX / 2;
    REFUSED(tg_conv2d(t, x, w, NULL, &o), TG_EINVAL, "tg_conv2d");
    tg_tape_free(t);
}
END_TEST

START_TEST(conv_shapes_dtypes_tapes)
{
    tg_tape *t = tg_tape_new(), *u = tg_tape_new();
    int64_t xs[4] = {1, 2, 5, 5}, ws[4] = {2, 2, 3, 3}, bs = 2, b3 = 3;
    tg_tensor *x = param(t, TG_F64, 4, xs, 1.0);
    tg_tensor *w = param(t, TG_F64, 4, ws, 0.5);
    tg_tensor *wf = filled(t, TG_F32, 4, ws, 0.5);
    tg_tensor *b = filled(t, TG_F64, 1, &bs, 0.0);
    tg_tensor *bad_b = filled(t, TG_F64, 1, &b3, 0.0);
    REFUSED(tg_conv2d(NULL, x, w, NULL, NULL), TG_EINVAL, "tg_conv2d");
    REFUSED(tg_conv2d(t, NULL, w, NULL, NULL), TG_EINVAL, "tg_conv2d");
    REFUSED(tg_conv2d(t, x, NULL, NULL, NULL), TG_EINVAL, "tg_conv2d");
    REFUSED(tg_conv2d(t, x, wf, NULL, NULL), TG_EDTYPE, "tg_conv2d");
    REFUSED(tg_conv2d(t, x, w, bad_b, NULL), TG_ESHAPE, "tg_conv2d");
    REFUSED(tg_conv2d(t, w, x, NULL, NULL), TG_ESHAPE, "tg_conv2d");
    REFUSED(tg_conv2d(t, b, w, NULL, NULL), TG_ESHAPE, "tg_conv2d");
    int64_t s8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    REFUSED(tg_conv2d(t, filled(t, TG_F64, 8, s8, 1.0), w, NULL, NULL),
            TG_ESHAPE, "tg_conv2d");
    REFUSED(tg_conv2d(t, tg_scalar(t, TG_F64, 1.0), w, NULL, NULL),
            TG_ESHAPE, "tg_conv2d");
    /* x == w: both (2,2,3,3) is a valid conv of itself. */
    tg_tensor *sq = param(t, TG_F64, 4, ws, 0.25);
    tg_tensor *y = tg_conv2d(t, sq, sq, NULL, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    /* Weight on another tape that is then reset: stale. */
    tg_tensor *wu = param(u, TG_F64, 4, ws, 0.5);
    tg_tape_reset(u);
    REFUSED(tg_conv2d(t, x, wu, NULL, NULL), TG_ESTATE, "tg_conv2d");
    /* An op on t reading a non-grad weight of another live tape works. */
    tg_tensor *wl = filled(u, TG_F64, 4, ws, 0.5);
    ck_assert_ptr_nonnull(tg_conv2d(t, x, wl, b, NULL));
    tg_tape_free(u);
    tg_tape_free(t);
}
END_TEST

/* ---- pool, dropout, batch norm ------------------------------------------ */

START_TEST(pool_huge_and_odd_options)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {1, 2, 6, 6};
    tg_tensor *x = param(t, TG_F32, 4, xs, 1.0);
    int64_t bad[] = {0, -1, INT64_MIN, INT64_MAX, (int64_t)1 << 31,
                     (int64_t)1 << 62};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tg_pool2d_options o = tg_pool2d_defaults(bad[i], 2);
        tg_clear_error();
        ck_assert_ptr_null(tg_max_pool2d(t, x, &o));
        ck_assert_msg(strncmp(tg_last_error(), "tg_max_pool2d: ", 15) == 0,
                      "%s", tg_last_error());
        tg_clear_error();
        ck_assert_ptr_null(tg_avg_pool2d(t, x, &o));
        ck_assert_msg(strncmp(tg_last_error(), "tg_avg_pool2d: ", 15) == 0,
                      "%s", tg_last_error());
        o = tg_pool2d_defaults(2, 2);
        o.stride[1] = bad[i];
        tg_clear_error();
        tg_tensor *y = tg_max_pool2d(t, x, &o);
        if (y == NULL)
            ck_assert_msg(strncmp(tg_last_error(), "tg_max_pool2d: ", 15) == 0,
                          "%s", tg_last_error());
        else
            ck_assert_int_eq(tg_shape(y)[3], 1);
        o = tg_pool2d_defaults(2, 2);
        o.dilation[0] = bad[i];
        tg_clear_error();
        y = tg_max_pool2d(t, x, &o);
        ck_assert_ptr_null(y);
        ck_assert_msg(strncmp(tg_last_error(), "tg_max_pool2d: ", 15) == 0,
                      "%s", tg_last_error());
        o = tg_pool2d_defaults(2, 2);
        o.padding[0] = bad[i] == 0 ? -1 : bad[i];
        REFUSED(tg_avg_pool2d(t, x, &o), TG_EINVAL, "tg_avg_pool2d");
        tg_clear_error();
        ck_assert_ptr_null(tg_adaptive_avg_pool2d(t, x, bad[i], 1));
        ck_assert_msg(strncmp(tg_last_error(), "tg_adaptive_avg_pool2d: ",
                              24) == 0, "%s", tg_last_error());
        ck_assert_ptr_null(tg_adaptive_avg_pool2d(t, x, 1, bad[i]));
    }
    /* In range, but (1,2,2^30,2^30) elements: out of memory, not a crash
     * (an element count that overflows is EINVAL, one too large ENOMEM). */
    tg_clear_error();
    ck_assert_ptr_null(tg_adaptive_avg_pool2d(t, x, (int64_t)1 << 30,
                                              (int64_t)1 << 30));
    ck_assert_msg(tg_last_status() == TG_ENOMEM ||
                  tg_last_status() == TG_EINVAL, "%s", tg_last_error());
    ck_assert_msg(strncmp(tg_last_error(), "tg_adaptive_avg_pool2d: ", 24)
                  == 0, "%s", tg_last_error());
    /* A window larger than the padded input; a dilation that spreads a
     * 2-wide window past it. */
    tg_pool2d_options big = tg_pool2d_defaults(7, 7);
    REFUSED(tg_max_pool2d(t, x, &big), TG_ESHAPE, "tg_max_pool2d");
    big = tg_pool2d_defaults(2, 2);
    big.dilation[0] = big.dilation[1] = 1000;
    REFUSED(tg_max_pool2d(t, x, &big), TG_ESHAPE, "tg_max_pool2d");
    big = tg_pool2d_defaults(3, 3);
    big.padding[0] = 1;
    big.stride[0] = INT64_MAX;
    REFUSED(tg_max_pool2d(t, x, &big), TG_EINVAL, "tg_max_pool2d");
    big.stride[0] = (int64_t)1 << 20;  /* the largest allowed */
    tg_tensor *one_row = tg_max_pool2d(t, x, &big);
    ck_assert_ptr_nonnull(one_row);
    ck_assert_int_eq(tg_shape(one_row)[2], 1);
    REFUSED(tg_max_pool2d(t, x, NULL), TG_EINVAL, "tg_max_pool2d");
    REFUSED(tg_avg_pool2d(NULL, x, NULL), TG_EINVAL, "tg_avg_pool2d");
    REFUSED(tg_adaptive_avg_pool2d(t, NULL, 1, 1), TG_EINVAL,
            "tg_adaptive_avg_pool2d");
    int64_t s8[8] = {1, 1, 1, 1, 1, 1, 2, 2};
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    REFUSED(tg_max_pool2d(t, filled(t, TG_F32, 8, s8, 1.0), &o), TG_ESHAPE,
            "tg_max_pool2d");
    REFUSED(tg_avg_pool2d(t, tg_scalar(t, TG_F32, 1.0), &o), TG_ESHAPE,
            "tg_avg_pool2d");
    tg_tape_free(t);
}
END_TEST

START_TEST(dropout_hostile)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 8;
    tg_tensor *x = param(t, TG_F64, 1, &n, 1.0);
    tg_rng rng, unseeded;
    memset(&unseeded, 0, sizeof unseeded);
    tg_rng_seed(&rng, 1, 2);
    double ps[] = {NAN, -0.5, 1.0, 1.5, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        tg_rng before = rng;
        REFUSED(tg_dropout(t, x, ps[i], &rng, true), TG_EINVAL, "tg_dropout");
        ck_assert(rng_eq(&before, &rng));
    }
    REFUSED(tg_dropout(t, x, 0.5, NULL, true), TG_EINVAL, "tg_dropout");
    REFUSED(tg_dropout(t, x, 0.5, &unseeded, true), TG_ESTATE, "tg_dropout");
    REFUSED(tg_dropout(NULL, x, 0.5, &rng, true), TG_EINVAL, "tg_dropout");
    /* -0.0 is a probability of 0: the identity, scaled by 1. */
    tg_tensor *y = tg_dropout(t, x, -0.0, &rng, true);
    ck_assert_ptr_nonnull(y);
    ck_assert_double_eq(tg_data_f64(y)[3], 1.0);
    tg_tape_free(t);
}
END_TEST

START_TEST(batch_norm_hostile)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[2] = {4, 3}, c = 3, c4 = 4;
    tg_tensor *x = param(t, TG_F64, 2, xs, 0.0);
    double *xd = tg_mut_f64(x);
    for (int i = 0; i < 12; i++)
        xd[i] = i * 0.5;
    tg_tensor *rm = filled(t, TG_F64, 1, &c, 0.0);
    tg_tensor *rv = filled(t, TG_F64, 1, &c, 1.0);
    tg_tensor *rf = filled(t, TG_F32, 1, &c, 1.0);
    tg_tensor *r4 = filled(t, TG_F64, 1, &c4, 1.0);
    double bad[] = {NAN, INFINITY, -INFINITY, -1.0, 2.0, -0.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i] != 0.0)
            REFUSED(tg_batch_norm(t, x, rm, rv, NULL, NULL, true, bad[i],
                                  1e-5), TG_EINVAL, "tg_batch_norm");
        if (bad[i] != 2.0)
            REFUSED(tg_batch_norm(t, x, rm, rv, NULL, NULL, true, 0.1,
                                  bad[i]), TG_EINVAL, "tg_batch_norm");
    }
    REFUSED(tg_batch_norm(t, x, rm, rv, NULL, NULL, true, 0.1, 0.0),
            TG_EINVAL, "tg_batch_norm");
    REFUSED(tg_batch_norm(t, x, rm, rf, NULL, NULL, true, 0.1, 1e-5),
            TG_EDTYPE, "tg_batch_norm");
    REFUSED(tg_batch_norm(t, x, rm, r4, NULL, NULL, true, 0.1, 1e-5),
            TG_ESHAPE, "tg_batch_norm");
    REFUSED(tg_batch_norm(t, x, NULL, NULL, NULL, NULL, false, 0.1, 1e-5),
            TG_EINVAL, "tg_batch_norm");
    REFUSED(tg_batch_norm(t, x, rm, NULL, NULL, NULL, true, 0.1, 1e-5),
            TG_EINVAL, "tg_batch_norm");
    int64_t s8[8] = {2, 3, 1, 1, 1, 1, 1, 1};
    REFUSED(tg_batch_norm(t, filled(t, TG_F64, 8, s8, 1.0), rm, rv, NULL,
                          NULL, true, 0.1, 1e-5), TG_ESHAPE, "tg_batch_norm");
    /* Every failure above left the running statistics alone. */
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq(tg_data_f64(rm)[i], 0.0);
        ck_assert_double_eq(tg_data_f64(rv)[i], 1.0);
    }
    /* The same tensor as running_mean and running_var: refused, since the
     * update would read a value it has already written. */
    REFUSED(tg_batch_norm(t, x, rm, rm, NULL, NULL, true, 0.1, 1e-5),
            TG_EINVAL, "tg_batch_norm");
    ck_assert_double_eq(tg_data_f64(rm)[0], 0.0);
    /* A running statistic that is x's weight, or a parameter that
     * requires grad, is written in place: refused too. */
    tg_tensor *wgt = param(t, TG_F64, 1, &c, 1.0);
    REFUSED(tg_batch_norm(t, x, wgt, rv, wgt, NULL, true, 0.1, 1e-5),
            TG_EINVAL, "tg_batch_norm");
    ck_assert_double_eq(tg_data_f64(wgt)[0], 1.0);
    /* weight == bias is fine (both read). */
    tg_tensor *y = tg_batch_norm(t, x, rm, rv, wgt, wgt, true, 0.1, 1e-5);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, y))), TG_OK);
    /* Running stats of a reset tape: stale, refused. */
    tg_tape *u = tg_tape_new();
    tg_tensor *um = filled(u, TG_F64, 1, &c, 0.0);
    tg_tensor *uv = filled(u, TG_F64, 1, &c, 1.0);
    tg_tape_reset(u);
    REFUSED(tg_batch_norm(t, x, um, uv, NULL, NULL, true, 0.1, 1e-5),
            TG_ESTATE, "tg_batch_norm");
    tg_tape_free(u);
    tg_tape_free(t);
}
END_TEST

/* ---- index -------------------------------------------------------------- */

START_TEST(gather_hostile_index_values)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[2] = {2, 4}, is[2] = {2, 1};
    tg_tensor *x = param(t, TG_F64, 2, xs, 1.0);
    double vals[] = {NAN, INFINITY, -INFINITY, 0.5, -1.0, 4.0,
                     9007199254740993.0 /* 2^53+1 rounds to 2^53 */, 1e300,
                     -1e300, (double)INT64_MAX, (double)INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double iv[2] = {0.0, vals[i]};
        tg_tensor *idx = tg_from_data(t, TG_F64, 2, is, iv);
        REFUSED(tg_gather(t, x, 1, idx), TG_EINVAL, "tg_gather");
        tg_tensor *src = filled(t, TG_F64, 2, is, 1.0);
        REFUSED(tg_scatter_add(t, x, 1, idx, src), TG_EINVAL,
                "tg_scatter_add");
        float fv[2] = {0.0f, (float)vals[i]};
        tg_tensor *xf = filled(t, TG_F32, 2, xs, 1.0);
        tg_tensor *idf = tg_from_data(t, TG_F32, 2, is, fv);
        REFUSED(tg_gather(t, xf, 1, idf), TG_EINVAL, "tg_gather");
    }
    /* -0.0 is index 0. */
    double iv[2] = {-0.0, 3.0};
    tg_tensor *idx = tg_from_data(t, TG_F64, 2, is, iv);
    tg_tensor *g = tg_gather(t, x, 1, idx);
    ck_assert_ptr_nonnull(g);
    int bad_axes[] = {2, -3, INT_MAX, INT_MIN};
    for (size_t i = 0; i < 4; i++) {
        REFUSED(tg_gather(t, x, bad_axes[i], idx), TG_EINVAL, "tg_gather");
        REFUSED(tg_scatter_add(t, x, bad_axes[i], idx, g), TG_EINVAL,
                "tg_scatter_add");
        int64_t rows[1] = {0};
        REFUSED(tg_index_select(t, x, bad_axes[i], 1, rows), TG_EINVAL,
                "tg_index_select");
        tg_tensor *out[4];
        REFUSED_RC(tg_split(t, x, bad_axes[i], 1, 4, out), TG_EINVAL,
                   "tg_split");
        REFUSED_RC(tg_chunk(t, x, bad_axes[i], 2, out), TG_EINVAL,
                   "tg_chunk");
    }
    /* x as its own index (same dtype, whole values 1.0 in range). */
    ck_assert_ptr_nonnull(tg_gather(t, x, 1, x));
    /* scatter_add with dst == src == index. */
    int64_t sq[2] = {2, 2};
    double ones[4] = {1, 1, 1, 1};
    tg_tensor *o = tg_from_data(t, TG_F64, 2, sq, ones);
    ck_assert_int_eq(tg_set_requires_grad(o, true), TG_OK);
    tg_tensor *sa = tg_scatter_add(t, o, 0, o, o);
    ck_assert_ptr_nonnull(sa);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, sa)), TG_OK);
    REFUSED(tg_gather(t, tg_scalar(t, TG_F64, 0.0), 0,
                      tg_scalar(t, TG_F64, 0.0)), TG_ESHAPE, "tg_gather");
    tg_tape_free(t);
}
END_TEST

START_TEST(index_lists_hostile)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[2] = {3, 2};
    tg_tensor *x = param(t, TG_F32, 2, xs, 1.0);
    int64_t rows[3] = {0, 2, 1};
    int64_t bad_n[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < 3; i++) {
        REFUSED(tg_index_select(t, x, 0, bad_n[i], rows), TG_EINVAL,
                "tg_index_select");
        REFUSED(tg_embedding(t, x, bad_n[i], rows, -1), TG_EINVAL,
                "tg_embedding");
    }
    REFUSED(tg_index_select(t, x, 0, 3, NULL), TG_EINVAL, "tg_index_select");
    REFUSED(tg_embedding(t, x, 3, NULL, -1), TG_EINVAL, "tg_embedding");
    int64_t badrows[2] = {0, INT64_MIN};
    REFUSED(tg_index_select(t, x, 0, 2, badrows), TG_EINVAL,
            "tg_index_select");
    REFUSED(tg_embedding(t, x, 2, badrows, -1), TG_EINVAL, "tg_embedding");
    int64_t pads[] = {-2, 3, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < 4; i++)
        REFUSED(tg_embedding(t, x, 3, rows, pads[i]), TG_EINVAL,
                "tg_embedding");
    REFUSED(tg_embedding(t, tg_scalar(t, TG_F32, 1.0), 3, rows, -1),
            TG_ESHAPE, "tg_embedding");
    /* split / chunk sizes and caps. */
    tg_tensor *out[4];
    int64_t sizes[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < 3; i++)
        REFUSED_RC(tg_split(t, x, 0, sizes[i], 4, out), TG_EINVAL,
                   "tg_split");
    ck_assert_int_eq(tg_split(t, x, 0, INT64_MAX, 4, out), 1);
    REFUSED_RC(tg_split(t, x, 0, 1, 2, out), TG_EINVAL, "tg_split");
    REFUSED_RC(tg_split(t, x, 0, 1, -1, out), TG_EINVAL, "tg_split");
    REFUSED_RC(tg_split(t, x, 0, 1, INT_MIN, out), TG_EINVAL, "tg_split");
    REFUSED_RC(tg_split(t, x, 0, 1, 4, NULL), TG_EINVAL, "tg_split");
    REFUSED_RC(tg_chunk(t, x, 0, 0, out), TG_EINVAL, "tg_chunk");
    REFUSED_RC(tg_chunk(t, x, 0, -5, out), TG_EINVAL, "tg_chunk");
    REFUSED_RC(tg_chunk(t, x, 0, 2, NULL), TG_EINVAL, "tg_chunk");
    REFUSED_RC(tg_split(t, tg_scalar(t, TG_F32, 1.0), 0, 1, 4, out),
               TG_ESHAPE, "tg_split");
    tg_tensor *many[64];
    int k = tg_chunk(t, x, 0, INT_MAX, many);
    /* chunk: out has `chunks` slots by contract; INT_MAX pieces of 3 rows
     * are 3 pieces of 1. */
    ck_assert_int_eq(k, 3);
    tg_tape_free(t);
}
END_TEST

START_TEST(losses_hostile)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[2] = {3, 4};
    tg_tensor *x = param(t, TG_F64, 2, xs, 0.5);
    int64_t labels[3] = {0, 3, 1};
    int64_t badl[3] = {0, INT64_MIN, 1};
    int64_t bigl[3] = {0, INT64_MAX, 1};
    REFUSED(tg_nll_loss(t, x, NULL, -100), TG_EINVAL, "tg_nll_loss");
    REFUSED(tg_nll_loss(t, x, badl, -100), TG_EINVAL, "tg_nll_loss");
    REFUSED(tg_nll_loss(t, x, bigl, -100), TG_EINVAL, "tg_nll_loss");
    /* ignore_index INT64_MIN ignoring the INT64_MIN row is legal. */
    ck_assert_ptr_nonnull(tg_nll_loss(t, x, badl, INT64_MIN));
    REFUSED(tg_nll_loss(t, tg_scalar(t, TG_F64, 0), labels, -100), TG_ESHAPE,
            "tg_nll_loss");
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    double sm[] = {NAN, INFINITY, -INFINITY, -0.1, 1.1};
    for (size_t i = 0; i < 5; i++) {
        o.label_smoothing = sm[i];
        REFUSED(tg_cross_entropy_ex(t, x, labels, &o), TG_EINVAL,
                "tg_cross_entropy_ex");
    }
    o = tg_cross_entropy_defaults();
    REFUSED(tg_cross_entropy_ex(t, x, NULL, &o), TG_EINVAL,
            "tg_cross_entropy_ex");
    REFUSED(tg_cross_entropy_ex(t, x, bigl, &o), TG_EINVAL,
            "tg_cross_entropy_ex");
    o.ignore_index = INT64_MIN;
    o.label_smoothing = 0.25;
    tg_tensor *l = tg_cross_entropy_ex(t, x, badl, &o);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(tg_backward(t, l), TG_OK);
    /* bce: target == x == pos_weight (aliasing) is legal. */
    tg_tensor *b = tg_bce_with_logits(t, x, x, x);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(tg_backward(t, b), TG_OK);
    int64_t s5 = 5;
    REFUSED(tg_bce_with_logits(t, x, x, filled(t, TG_F64, 1, &s5, 1.0)),
            TG_ESHAPE, "tg_bce_with_logits");
    REFUSED(tg_bce_with_logits(t, x, filled(t, TG_F32, 2, xs, 1.0), NULL),
            TG_EDTYPE, "tg_bce_with_logits");
    tg_tape_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hostile_ops");
    TCase *tc = tg_test_tcase("hostile_ops");
    tg_test_set_timeout(tc, 120);
    tcase_add_test(tc, conv_huge_and_odd_options);
    tcase_add_test(tc, conv_shapes_dtypes_tapes);
    tcase_add_test(tc, pool_huge_and_odd_options);
    tcase_add_test(tc, dropout_hostile);
    tcase_add_test(tc, batch_norm_hostile);
    tcase_add_test(tc, gather_hostile_index_values);
    tcase_add_test(tc, index_lists_hostile);
    tcase_add_test(tc, losses_hostile);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tg_test_main(suite());
}
