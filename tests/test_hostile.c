/*
 * test_hostile.c — a hostile-input round over the APIs added since the
 * last independent round (conv.h, pool.h, index.h, sequence.h,
 * sequential.h, train.h, vjp.h through them, tg_parallel_range). Each test
 * throws one family of bad arguments at one call and checks the contract
 * of docs/errors.md: a status (or NULL) and a message that names the call,
 * nothing changed, no leak (the counting allocator), no crash and no UB
 * (the suite also runs under ASan+UBSan and valgrind).
 */
#include "tg_test.h"
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

/* Requests of terabytes must come back NULL under ASan too. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* A pointer call failed with status want and a message starting with
 * call (the name of the call the test made). */
#define REFUSED(expr, want, call)                                            \
    do {                                                                     \
        tg_clear_error();                                                    \
        const void *r__ = (expr);                                            \
        ck_assert_msg(r__ == NULL, "%s should have failed", #expr);          \
        ck_assert_msg(tg_last_status() == (want), "%s: status %d (%s), "     \
                      "expected %s; message: %s", #expr, tg_last_status(),   \
                      tg_strerror(tg_last_status()), #want, tg_last_error()); \
        ck_assert_msg(strncmp(tg_last_error(), call ": ",                    \
                              strlen(call ": ")) == 0,                       \
                      "%s: message \"%s\" does not start with %s",           \
                      #expr, tg_last_error(), call);                         \
    } while (0)

/* An int call failed with status want and a message starting with call. */
#define REFUSED_RC(expr, want, call)                                         \
    do {                                                                     \
        tg_clear_error();                                                    \
        int rc__ = (expr);                                                   \
        ck_assert_msg(rc__ == (want), "%s returned %d (%s), expected %s; "   \
                      "message: %s", #expr, rc__, tg_strerror(rc__), #want,  \
                      tg_last_error());                                      \
        ck_assert_msg(strncmp(tg_last_error(), call ": ",                    \
                              strlen(call ": ")) == 0,                       \
                      "%s: message \"%s\" does not start with %s",           \
                      #expr, tg_last_error(), call);                         \
    } while (0)

/* Two generators in the same state (fields, not padding). */
static bool rng_eq(const tg_rng *a, const tg_rng *b)
{
    return a->state == b->state && a->inc == b->inc &&
           a->has_spare == b->has_spare &&
           (!a->has_spare || a->spare == b->spare);
}

static tg_tensor *filled(tg_tape *t, tg_dtype dt, int ndim,
                         const int64_t *shape, double v)
{
    tg_tensor *x = tg_full(t, dt, ndim, shape, v);
    ck_assert_ptr_nonnull(x);
    return x;
}

static tg_tensor *param(tg_tape *t, tg_dtype dt, int ndim,
                        const int64_t *shape, double v)
{
    tg_tensor *x = filled(t, dt, ndim, shape, v);
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}

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

/* ---- training utilities -------------------------------------------------- */

START_TEST(clip_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    int64_t n = 3;
    tg_tensor *w = param(t, TG_F64, 1, &n, 2.0);
    ck_assert_int_eq(tg_params_add(p, w), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, w, w))), TG_OK);
    double bad_max[] = {NAN, -1.0, -INFINITY};
    double norm = 123.0;
    for (size_t i = 0; i < 3; i++) {
        REFUSED_RC(tg_params_clip_grad_norm(p, bad_max[i], 2.0, &norm),
                   TG_EINVAL, "tg_params_clip_grad_norm");
        ck_assert_double_eq(norm, 123.0);
    }
    double bad_type[] = {NAN, 0.0, -2.0, -INFINITY, -0.0};
    for (size_t i = 0; i < 5; i++)
        REFUSED_RC(tg_params_clip_grad_norm(p, 1.0, bad_type[i], &norm),
                   TG_EINVAL, "tg_params_clip_grad_norm");
    double bad_clip[] = {NAN, -1.0, -INFINITY};
    for (size_t i = 0; i < 3; i++)
        REFUSED_RC(tg_params_clip_grad_value(p, bad_clip[i]), TG_EINVAL,
                   "tg_params_clip_grad_value");
    ck_assert_double_eq(tg_data_f64(tg_grad(w))[0], 4.0);
    REFUSED_RC(tg_params_clip_grad_norm(NULL, 1.0, 2.0, &norm), TG_EINVAL,
               "tg_params_clip_grad_norm");
    REFUSED_RC(tg_params_clip_grad_value(NULL, 1.0), TG_EINVAL,
               "tg_params_clip_grad_value");
    /* Huge norm types and a norm that overflows: finite result or inf,
     * no crash. */
    ck_assert_int_eq(tg_params_clip_grad_norm(p, INFINITY, 1e308, &norm),
                     TG_OK);
    ck_assert_int_eq(tg_params_clip_grad_norm(p, 10.0, INFINITY, &norm),
                     TG_OK);
    ck_assert_double_eq(norm, 4.0);
    /* A list whose tape was reset: stale. */
    tg_tape *u = tg_tape_new();
    tg_params *up = tg_params_new(u);
    tg_tape_reset(u);
    REFUSED_RC(tg_params_clip_grad_norm(up, 1.0, 2.0, NULL), TG_ESTATE,
               "tg_params_clip_grad_norm");
    REFUSED_RC(tg_params_clip_grad_value(up, 1.0), TG_ESTATE,
               "tg_params_clip_grad_value");
    tg_tape_free(u);
    /* A parameter on another tape that was reset. */
    tg_tape *v = tg_tape_new();
    tg_tensor *vw = param(v, TG_F64, 1, &n, 2.0);
    ck_assert_int_eq(tg_params_add(p, vw), TG_OK);
    tg_tape_reset(v);
    REFUSED_RC(tg_params_clip_grad_value(p, 1.0), TG_ESTATE,
               "tg_params_clip_grad_value");
    REFUSED_RC(tg_params_clip_grad_norm(p, 1.0, 2.0, NULL), TG_ESTATE,
               "tg_params_clip_grad_norm");
    ck_assert_double_eq(tg_data_f64(tg_grad(w))[0], 4.0);
    tg_tape_free(v);
    tg_tape_free(t);
}
END_TEST

START_TEST(schedules_hostile)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    int64_t n = 3;
    ck_assert_int_eq(tg_params_add(p, param(t, TG_F64, 1, &n, 2.0)), TG_OK);
    tg_sgd_options so = tg_sgd_defaults(0.1);
    tg_optimizer *o = tg_sgd_new(t, p, &so);
    ck_assert_ptr_nonnull(o);
    double bad[] = {NAN, INFINITY, -INFINITY, -1.0};
    for (size_t i = 0; i < 4; i++) {
        REFUSED(tg_lr_step_new(t, o, 1, bad[i]), TG_EINVAL, "tg_lr_step_new");
        REFUSED(tg_lr_exponential_new(t, o, bad[i]), TG_EINVAL,
                "tg_lr_exponential_new");
        REFUSED(tg_lr_cosine_new(t, o, 10, bad[i]), TG_EINVAL,
                "tg_lr_cosine_new");
        REFUSED(tg_lr_warmup_new(t, o, bad[i], 1.0, 5), TG_EINVAL,
                "tg_lr_warmup_new");
        REFUSED(tg_lr_warmup_new(t, o, 0.5, bad[i], 5), TG_EINVAL,
                "tg_lr_warmup_new");
        REFUSED(tg_lr_warmup_cosine_new(t, o, bad[i], 3, 5, 0.0), TG_EINVAL,
                "tg_lr_warmup_cosine_new");
    }
    int64_t bad_n[] = {0, -1, INT64_MIN};
    for (size_t i = 0; i < 3; i++) {
        REFUSED(tg_lr_step_new(t, o, bad_n[i], 0.5), TG_EINVAL,
                "tg_lr_step_new");
        REFUSED(tg_lr_cosine_new(t, o, bad_n[i], 0.0), TG_EINVAL,
                "tg_lr_cosine_new");
        REFUSED(tg_lr_warmup_new(t, o, 0.5, 1.0, bad_n[i]), TG_EINVAL,
                "tg_lr_warmup_new");
        REFUSED(tg_lr_warmup_cosine_new(t, o, 0.5, bad_n[i], 5, 0.0),
                TG_EINVAL, "tg_lr_warmup_cosine_new");
    }
    REFUSED(tg_lr_step_new(t, NULL, 1, 0.5), TG_EINVAL, "tg_lr_step_new");
    REFUSED(tg_lr_step_new(NULL, o, 1, 0.5), TG_EINVAL, "tg_lr_step_new");
    ck_assert_double_eq(tg_optimizer_lr(o), 0.1);
    /* Huge sizes: warmup + t_max overflows int64. */
    tg_lr_schedule *wc = tg_lr_warmup_cosine_new(t, o, 0.5, INT64_MAX,
                                                 INT64_MAX, 0.0);
    if (wc != NULL) {
        double lr = tg_lr_schedule_lr_at(wc, INT64_MAX);
        ck_assert(isfinite(lr));
    }
    tg_lr_schedule *st = tg_lr_step_new(t, o, INT64_MAX, 0.5);
    ck_assert_ptr_nonnull(st);
    ck_assert(isfinite(tg_lr_schedule_lr_at(st, INT64_MAX)));
    tg_lr_schedule *ex = tg_lr_exponential_new(t, o, 2.0);
    ck_assert_ptr_nonnull(ex);
    /* 0.1 * 2^INT64_MAX overflows: the rate must not become infinite. */
    tg_clear_error();
    ck_assert(isnan(tg_lr_schedule_lr_at(ex, -1)));
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_msg(strncmp(tg_last_error(), "tg_lr_schedule_lr_at: ", 22) == 0,
                  "%s", tg_last_error());
    REFUSED_RC(tg_lr_schedule_step(NULL), TG_EINVAL, "tg_lr_schedule_step");
    tg_clear_error();
    ck_assert_int_eq(tg_lr_schedule_epoch(NULL), -1);
    /* A schedule whose tape was reset. */
    tg_tape *u = tg_tape_new();
    tg_lr_schedule *us = tg_lr_step_new(u, o, 2, 0.5);
    ck_assert_ptr_nonnull(us);
    tg_tape_reset(u);
    int64_t m = 4096;
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(tg_full(u, TG_F64, 1, &m, -1.0 - i));
    double before = tg_optimizer_lr(o);
    REFUSED_RC(tg_lr_schedule_step(us), TG_ESTATE, "tg_lr_schedule_step");
    ck_assert_double_eq(tg_optimizer_lr(o), before);
    tg_tape_free(u);
    /* A schedule whose optimizer's tape was reset. */
    tg_tape *v = tg_tape_new();
    tg_params *vp = tg_params_new(v);
    ck_assert_int_eq(tg_params_add(vp, param(v, TG_F64, 1, &n, 2.0)), TG_OK);
    tg_optimizer *vo = tg_sgd_new(v, vp, &so);
    tg_lr_schedule *vs = tg_lr_step_new(t, vo, 2, 0.5);
    ck_assert_ptr_nonnull(vs);
    tg_tape_reset(v);
    REFUSED_RC(tg_lr_schedule_step(vs), TG_ESTATE, "tg_lr_schedule_step");
    tg_tape_free(v);
    tg_tape_free(t);
}
END_TEST

/* ---- checkpoints ---------------------------------------------------------- */

typedef struct ckfx {
    tg_tape *t;
    tg_sequential *net;
    tg_optimizer *opt;
    tg_lr_schedule *sched;
    char dir[64];
    char path[128];
} ckfx;

static void ck_setup(ckfx *f)
{
    tg_rng rng;
    tg_rng_seed(&rng, 9, 9);
    f->t = tg_tape_new();
    f->net = tg_sequential_new(f->t);
    ck_assert_int_eq(tg_sequential_add(f->net, tg_layer_linear_new(f->t,
                                         &rng, TG_F64, 3, 2, true)), TG_OK);
    f->opt = tg_adam_new(f->t, tg_sequential_params(f->net), NULL);
    ck_assert_ptr_nonnull(f->opt);
    f->sched = tg_lr_step_new(f->t, f->opt, 2, 0.5);
    ck_assert_ptr_nonnull(f->sched);
    strcpy(f->dir, "/tmp/tg_hostile_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/ck.npz", f->dir);
}

static void ck_teardown(ckfx *f)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    ck_assert_int_eq(system(cmd), 0);
    tg_tape_free(f->t);
}

static double first_weight(ckfx *f)
{
    return tg_data_f64(tg_layer_param(tg_sequential_at(f->net, 0),
                                      "weight"))[0];
}

START_TEST(checkpoint_hostile_files)
{
    ckfx f;
    ck_setup(&f);
    tg_checkpoint ck = {.model = f.net, .optimizer = f.opt,
                        .schedule = f.sched};
    ck_assert_int_eq(tg_checkpoint_save(f.path, &ck), TG_OK);
    double w0 = first_weight(&f);
    REFUSED_RC(tg_checkpoint_save(NULL, &ck), TG_EINVAL, "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_save("", &ck), TG_EINVAL, "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_save(f.path, NULL), TG_EINVAL,
               "tg_checkpoint_save");
    tg_checkpoint none = {0};
    REFUSED_RC(tg_checkpoint_save(f.path, &none), TG_EINVAL,
               "tg_checkpoint_save");
    tg_checkpoint both = {.model = f.net,
                          .params = tg_sequential_params(f.net)};
    REFUSED_RC(tg_checkpoint_save(f.path, &both), TG_EINVAL,
               "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_load(f.path, &both), TG_EINVAL,
               "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_load(NULL, &ck), TG_EINVAL, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_load(f.path, NULL), TG_EINVAL,
               "tg_checkpoint_load");
    /* A directory, a FIFO, a missing file. */
    REFUSED_RC(tg_checkpoint_load(f.dir, &ck), TG_EIO, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_save(f.dir, &ck), TG_EIO, "tg_checkpoint_save");
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", f.dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    REFUSED_RC(tg_checkpoint_load(fifo, &ck), TG_EIO, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_save(fifo, &ck), TG_EIO, "tg_checkpoint_save");
    char missing[160];
    snprintf(missing, sizeof missing, "%s/nope/ck.npz", f.dir);
    REFUSED_RC(tg_checkpoint_load(missing, &ck), TG_EIO, "tg_checkpoint_load");
    REFUSED_RC(tg_checkpoint_save(missing, &ck), TG_EIO, "tg_checkpoint_save");
    /* Truncated at every length: EFORMAT (or EIO), nothing changed. */
    FILE *fp = fopen(f.path, "rb");
    ck_assert_ptr_nonnull(fp);
    static unsigned char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    ck_assert_uint_gt(len, 100);
    char cut[160];
    snprintf(cut, sizeof cut, "%s/cut.npz", f.dir);
    int64_t epoch = tg_lr_schedule_epoch(f.sched);
    double lr = tg_optimizer_lr(f.opt);
    for (size_t k = 0; k < len; k += (k < 64 ? 1 : 37)) {
        fp = fopen(cut, "wb");
        ck_assert_uint_eq(fwrite(buf, 1, k, fp), k);
        fclose(fp);
        tg_clear_error();
        int rc = tg_checkpoint_load(cut, &ck);
        ck_assert_msg(rc == TG_EFORMAT || rc == TG_EIO, "len %zu: %d %s", k,
                      rc, tg_last_error());
        ck_assert_msg(strncmp(tg_last_error(), "tg_checkpoint_load: ", 20) ==
                      0, "%s", tg_last_error());
    }
    /* Flipped bytes: any status, never a crash; on failure nothing
     * changed. */
    for (size_t k = 0; k < len; k += 7) {
        buf[k] ^= 0xff;
        fp = fopen(cut, "wb");
        ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
        fclose(fp);
        buf[k] ^= 0xff;
        tg_clear_error();
        int rc = tg_checkpoint_load(cut, &ck);
        if (rc != TG_OK) {
            ck_assert_msg(strncmp(tg_last_error(), "tg_checkpoint_load: ",
                                  20) == 0, "%s", tg_last_error());
            ck_assert_double_eq(first_weight(&f), w0);
            ck_assert_int_eq(tg_lr_schedule_epoch(f.sched), epoch);
            ck_assert_double_eq(tg_optimizer_lr(f.opt), lr);
        }
    }
    /* A read-only target is refused (not replaced). */
    char ro[160];
    snprintf(ro, sizeof ro, "%s/ro.npz", f.dir);
    fp = fopen(ro, "wb");
    fclose(fp);
    chmod(ro, 0400);
    if (geteuid() != 0)
        REFUSED_RC(tg_checkpoint_save(ro, &ck), TG_EIO, "tg_checkpoint_save");
    /* Handles of a reset tape: a stale optimizer or schedule beside a live
     * model, a stale parameter list, a stale layer. */
    tg_tape *u = tg_tape_new();
    tg_params *up = tg_params_new(u);
    int64_t n = 2;
    ck_assert_int_eq(tg_params_add(up, param(u, TG_F64, 1, &n, 1.0)), TG_OK);
    tg_optimizer *uo = tg_adam_new(u, up, NULL);
    tg_lr_schedule *us = tg_lr_step_new(u, f.opt, 2, 0.5);
    tg_rng rng;
    tg_rng_seed(&rng, 2, 2);
    tg_layer *ul = tg_layer_linear_new(u, &rng, TG_F64, 2, 2, true);
    ck_assert_ptr_nonnull(uo);
    ck_assert_ptr_nonnull(us);
    tg_tape_reset(u);
    tg_checkpoint so = {.model = f.net, .optimizer = uo};
    REFUSED_RC(tg_checkpoint_save(f.path, &so), TG_ESTATE,
               "tg_checkpoint_save");
    REFUSED_RC(tg_checkpoint_load(f.path, &so), TG_ESTATE,
               "tg_checkpoint_load");
    tg_checkpoint ss = {.model = f.net, .schedule = us};
    REFUSED_RC(tg_checkpoint_load(f.path, &ss), TG_ESTATE,
               "tg_checkpoint_load");
    tg_checkpoint sp = {.params = up};
    REFUSED_RC(tg_checkpoint_save(f.path, &sp), TG_ESTATE,
               "tg_checkpoint_save");
    REFUSED_RC(tg_sequential_add(f.net, ul), TG_ESTATE, "tg_sequential_add");
    ck_assert_int_eq(tg_sequential_count(f.net), 1);
    ck_assert_double_eq(first_weight(&f), w0);
    tg_tape_free(u);
    ck_teardown(&f);
}
END_TEST

START_TEST(checkpoint_mismatch)
{
    ckfx f;
    ck_setup(&f);
    tg_checkpoint ck = {.model = f.net, .optimizer = f.opt,
                        .schedule = f.sched};
    ck_assert_int_eq(tg_checkpoint_save(f.path, &ck), TG_OK);
    /* Another network: a wider layer (shape), f32 (dtype), an extra layer,
     * an SGD optimizer (kind), a parameter list in place of a model. */
    tg_rng rng;
    tg_rng_seed(&rng, 1, 1);
    tg_sequential *wide = tg_sequential_new(f.t);
    tg_sequential_add(wide, tg_layer_linear_new(f.t, &rng, TG_F64, 3, 5,
                                                true));
    tg_checkpoint c1 = {.model = wide};
    REFUSED_RC(tg_checkpoint_load(f.path, &c1), TG_ESHAPE,
               "tg_checkpoint_load");
    tg_sequential *f32 = tg_sequential_new(f.t);
    tg_sequential_add(f32, tg_layer_linear_new(f.t, &rng, TG_F32, 3, 2,
                                               true));
    tg_checkpoint c2 = {.model = f32};
    REFUSED_RC(tg_checkpoint_load(f.path, &c2), TG_EDTYPE,
               "tg_checkpoint_load");
    tg_sequential *more = tg_sequential_new(f.t);
    tg_sequential_add(more, tg_layer_linear_new(f.t, &rng, TG_F64, 3, 2,
                                                true));
    tg_sequential_add(more, tg_layer_linear_new(f.t, &rng, TG_F64, 2, 2,
                                                true));
    tg_checkpoint c3 = {.model = more};
    REFUSED_RC(tg_checkpoint_load(f.path, &c3), TG_ENOTFOUND,
               "tg_checkpoint_load");
    tg_sequential *nobias = tg_sequential_new(f.t);
    tg_sequential_add(nobias, tg_layer_linear_new(f.t, &rng, TG_F64, 3, 2,
                                                  false));
    tg_checkpoint c4 = {.model = nobias};
    REFUSED_RC(tg_checkpoint_load(f.path, &c4), TG_EINVAL,
               "tg_checkpoint_load");
    tg_sgd_options so = tg_sgd_defaults(0.1);
    so.momentum = 0.9;
    tg_optimizer *sgd = tg_sgd_new(f.t, tg_sequential_params(f.net), &so);
    tg_checkpoint c5 = {.model = f.net, .optimizer = sgd};
    tg_clear_error();
    ck_assert_int_lt(tg_checkpoint_load(f.path, &c5), 0);
    ck_assert_msg(strncmp(tg_last_error(), "tg_checkpoint_load: ", 20) == 0,
                  "%s", tg_last_error());
    /* An empty model (0 layers) against the file: extra entries. */
    tg_sequential *empty = tg_sequential_new(f.t);
    tg_checkpoint c6 = {.model = empty};
    REFUSED_RC(tg_checkpoint_load(f.path, &c6), TG_EINVAL,
               "tg_checkpoint_load");
    /* A 0-layer model saves and loads an (almost) empty file. */
    char p2[160];
    snprintf(p2, sizeof p2, "%s/empty.npz", f.dir);
    ck_assert_int_eq(tg_checkpoint_save(p2, &c6), TG_OK);
    ck_assert_int_eq(tg_checkpoint_load(p2, &c6), TG_OK);
    /* A plain npz of something else. */
    int64_t n = 2;
    const tg_tensor *junk = filled(f.t, TG_F64, 1, &n, 1.0);
    const char *name = "0.weight";
    snprintf(p2, sizeof p2, "%s/junk.npz", f.dir);
    ck_assert_int_eq(tg_npz_save(p2, 1, &name, &junk), TG_OK);
    REFUSED_RC(tg_checkpoint_load(p2, &ck), TG_ESHAPE, "tg_checkpoint_load");
    ck_teardown(&f);
}
END_TEST

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
    Suite *s = suite_create("hostile");
    TCase *tc = tg_test_tcase("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv_huge_and_odd_options);
    tcase_add_test(tc, conv_shapes_dtypes_tapes);
    tcase_add_test(tc, pool_huge_and_odd_options);
    tcase_add_test(tc, dropout_hostile);
    tcase_add_test(tc, batch_norm_hostile);
    tcase_add_test(tc, gather_hostile_index_values);
    tcase_add_test(tc, index_lists_hostile);
    tcase_add_test(tc, losses_hostile);
    tcase_add_test(tc, layer_norm_hostile);
    tcase_add_test(tc, attention_hostile);
    tcase_add_test(tc, cells_hostile);
    tcase_add_test(tc, layers_hostile);
    tcase_add_test(tc, sequential_hostile);
    tcase_add_test(tc, sequential_after_reset);
    tcase_add_test(tc, clip_hostile);
    tcase_add_test(tc, schedules_hostile);
    tcase_add_test(tc, checkpoint_hostile_files);
    tcase_add_test(tc, checkpoint_mismatch);
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
