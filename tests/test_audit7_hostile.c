/*
 * test_audit7_hostile.c — hostile nn and IO inputs the session-7 audit
 * added (test_hostile.c has the earlier ones):
 *
 * - layers of a user's own class that misbehave inside tg_sequential: a
 *   forward that returns NULL without an error, one that fails with one, a
 *   set_training that fails: NULL or a negative status, and a message that
 *   names the user's call, never a stale error or TG_OK;
 * - checkpoints that parse but hold nonsense: every entry of a saved
 *   checkpoint (model, SGD or Adam state, schedule) replaced in turn by
 *   NaN, +-inf, -1, 0.5, 1e300, a wrong shape or a wrong dtype: the load
 *   either succeeds (the values are legal) or fails naming
 *   tg_checkpoint_load and changes nothing; after a success, a training
 *   step and a schedule step still return a status.
 * Every test runs under the counting allocator (tg_test_tcase): nothing
 * may leak on any of these paths.
 */
#include "tg_test.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/sequential.h"
#include "tapegrad/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A status below TG_OK and a message starting "call: ". */
static void assert_failed(int rc, const char *call)
{
    ck_assert_msg(rc < 0, "%s: status %d (%s)", call, rc, tg_last_error());
    ck_assert_msg(strncmp(tg_last_error(), call, strlen(call)) == 0 &&
                      tg_last_error()[strlen(call)] == ':',
                  "message \"%s\" does not start with %s", tg_last_error(),
                  call);
}

/* ---- layers of one's own class ---------------------------------------- */

static tg_tensor *silent_null(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    (void)l, (void)t, (void)x;
    return NULL; /* no error set: a bug in the user's layer */
}

static tg_tensor *failing(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    (void)l;
    return tg_reshape(t, x, 1, (const int64_t[]){7}); /* wrong size */
}

static int refuse_training(tg_layer *l, bool training)
{
    (void)l, (void)training;
    return TG_EINVAL; /* without an error message */
}

static tg_tensor *identity(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    (void)l, (void)t;
    return x;
}

START_TEST(odd_layers_in_a_sequential)
{
    static const tg_layer_class silent = {"silent", silent_null, NULL};
    static const tg_layer_class fails = {"fails", failing, NULL};
    static const tg_layer_class stubborn = {"stubborn", identity,
                                            refuse_training};
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 7);
    int64_t shape[2] = {2, 3};
    tg_tensor *x = tg_ones(t, TG_F64, 2, shape);

    /* A forward that returns NULL and sets nothing, after an earlier
     * success left no error: the caller must still see a failure. */
    tg_sequential *s = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_linear_new(t, &rng, TG_F64,
                                                              3, 3, true)),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_new(t, &silent, NULL)),
                     TG_OK);
    tg_clear_error();
    ck_assert_ptr_null(tg_sequential_forward(t, s, x));
    assert_failed(tg_last_status(), "tg_sequential_forward");
    ck_assert_msg(strstr(tg_last_error(), "silent") != NULL, "%s",
                  tg_last_error());
    tg_clear_error();
    ck_assert_ptr_null(tg_layer_forward(t, tg_sequential_at(s, 1), x));
    assert_failed(tg_last_status(), "tg_layer_forward");

    /* A forward failing with an error of its own: named as the user's
     * call, the op's message kept. */
    tg_sequential *f = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add(f, tg_layer_new(t, &fails, NULL)),
                     TG_OK);
    ck_assert_ptr_null(tg_sequential_forward(t, f, x));
    assert_failed(tg_last_status(), "tg_sequential_forward");
    ck_assert_msg(strstr(tg_last_error(), "tg_reshape") != NULL, "%s",
                  tg_last_error());

    /* set_training failing without a message: directly, and when a
     * sequential in eval mode takes the layer (and sets its mode). */
    tg_layer *st = tg_layer_new(t, &stubborn, NULL);
    tg_clear_error();
    int rc = tg_layer_set_training(st, false);
    assert_failed(rc, "tg_layer_set_training");
    ck_assert_msg(strstr(tg_last_error(), "stubborn") != NULL, "%s",
                  tg_last_error());
    ck_assert(st->training);
    tg_sequential *g = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_set_training(g, false), TG_OK);
    tg_clear_error();
    assert_failed(tg_sequential_add(g, st), "tg_sequential_add");
    ck_assert_int_eq(tg_sequential_count(g), 0);
    tg_tape_free(t);
}
END_TEST

/* ---- checkpoints holding nonsense --------------------------------------- */

typedef struct net {
    tg_tape *t;
    tg_sequential *seq;
    tg_optimizer *opt;
    tg_lr_schedule *sched;
} net;

/* A small trained model with an optimizer (adam or SGD with momentum)
 * and a schedule: two steps, so that every state entry is written. */
static void make(net *n, bool adam)
{
    tg_rng rng;
    tg_rng_seed(&rng, 3, 3);
    n->t = tg_tape_new();
    n->seq = tg_sequential_new(n->t);
    ck_assert_int_eq(tg_sequential_add(n->seq, tg_layer_linear_new(
                         n->t, &rng, TG_F64, 3, 2, true)), TG_OK);
    tg_params *p = tg_sequential_params(n->seq);
    if (adam) {
        n->opt = tg_adam_new(n->t, p, NULL);
    } else {
        tg_sgd_options o = tg_sgd_defaults(0.1);
        o.momentum = 0.9;
        n->opt = tg_sgd_new(n->t, p, &o);
    }
    ck_assert_ptr_nonnull(n->opt);
    n->sched = tg_lr_warmup_cosine_new(n->t, n->opt, 0.5, 2, 5, 0.01);
    ck_assert_ptr_nonnull(n->sched);
    for (int k = 0; k < 2; k++) {
        tg_tape *s = tg_tape_new();
        int64_t shape[2] = {4, 3};
        tg_tensor *x = tg_full(s, TG_F64, 2, shape, 0.5 + k);
        tg_tensor *loss = tg_sum(s, tg_mul(s, tg_sequential_forward(s, n->seq,
                                                                    x),
                                           tg_sequential_forward(s, n->seq,
                                                                 x)));
        ck_assert_int_eq(tg_backward(s, loss), TG_OK);
        ck_assert_int_eq(tg_optimizer_step(n->opt), TG_OK);
        ck_assert_int_eq(tg_lr_schedule_step(n->sched), TG_OK);
        tg_params_zero_grad(p);
        tg_tape_free(s);
    }
}

/* Everything a load may change, as one number per entry. */
static double fingerprint(const net *n)
{
    double h = tg_optimizer_lr(n->opt) + 7.0 * (double)
               tg_lr_schedule_epoch(n->sched);
    for (int i = 0; i < tg_sequential_state_count(n->seq); i++) {
        tg_tensor *x = tg_sequential_state_at(n->seq, i, NULL);
        for (int64_t k = 0; k < tg_numel(x); k++)
            h = h * 1.000001 + tg_data_f64(x)[k];
    }
    return h;
}

/* The archive at path with entry `victim` replaced by r, written to out. */
static void rewrite(const char *path, const char *out, int victim,
                    tg_tensor *r)
{
    tg_tape *t = tg_tape_new();
    const tg_npz *z = tg_npz_load(t, path);
    ck_assert_ptr_nonnull(z);
    const char *names[64];
    const tg_tensor *xs[64];
    ck_assert_int_le(z->n, 64);
    for (int i = 0; i < z->n; i++) {
        names[i] = z->names[i];
        xs[i] = i == victim ? r : z->arrays[i];
    }
    ck_assert_int_eq(tg_npz_save(out, z->n, names, xs), TG_OK);
    tg_tape_free(t);
}

static void sweep(bool adam)
{
    net n;
    make(&n, adam);
    char dir[] = "/tmp/tg_audit7_XXXXXX", path[96], bad[96];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ck.npz", dir);
    snprintf(bad, sizeof bad, "%s/bad.npz", dir);
    tg_checkpoint ck = {.model = n.seq, .optimizer = n.opt,
                        .schedule = n.sched};
    ck_assert_int_eq(tg_checkpoint_save(path, &ck), TG_OK);
    tg_tape *names_t = tg_tape_new();
    const tg_npz *z = tg_npz_load(names_t, path);
    ck_assert_ptr_nonnull(z);
    static const double values[] = {NAN, INFINITY, -INFINITY, -1.0, 0.5,
                                    1e300, 2.0, 0.0};
    int n_values = (int)(sizeof values / sizeof values[0]);
    int loaded = 0, refused = 0;
    for (int e = 0; e < z->n; e++) {
        const tg_tensor *orig = z->arrays[e];
        for (int v = 0; v < n_values + 2; v++) {
            tg_tape *u = tg_tape_new();
            tg_tensor *r;
            if (v < n_values) {     /* the same shape, one value */
                r = tg_full(u, TG_F64, tg_ndim(orig), tg_shape(orig),
                            values[v]);
            } else if (v == n_values) { /* another shape */
                int64_t s = tg_numel(orig) + 1;
                r = tg_full(u, TG_F64, 1, &s, 1.0);
            } else {                /* another dtype */
                r = tg_full(u, TG_F32, tg_ndim(orig), tg_shape(orig), 1.0);
            }
            rewrite(path, bad, e, r);
            tg_tape_free(u);
            double before = fingerprint(&n);
            tg_clear_error();
            int rc = tg_checkpoint_load(bad, &ck);
            if (rc != TG_OK) {
                refused++;
                assert_failed(rc, "tg_checkpoint_load");
                ck_assert_msg(fingerprint(&n) == before ||
                                  (isnan(before) && isnan(fingerprint(&n))),
                              "%s = %g: refused, but the model changed",
                              z->names[e], values[v % n_values]);
                continue;
            }
            loaded++;
            /* accepted: training goes on without a crash; the rate it
             * gives must be a rate (never NaN or negative) */
            tg_clear_error();
            rc = tg_optimizer_step(n.opt);
            ck_assert_msg(rc <= TG_OK, "%d", rc);
            rc = tg_lr_schedule_step(n.sched);
            ck_assert_msg(rc <= TG_OK, "%d", rc);
            double lr = tg_optimizer_lr(n.opt);
            ck_assert_msg(lr >= 0 && !isinf(lr), "%s = %g loaded: the rate "
                          "is now %g", z->names[e], values[v % n_values], lr);
            ck_assert_int_eq(tg_checkpoint_load(path, &ck), TG_OK);
        }
    }
    printf("# %s: %d entries, %d loads refused, %d accepted\n",
           adam ? "adam" : "sgd", z->n, refused, loaded);
    ck_assert_int_gt(refused, 0);
    ck_assert_int_gt(loaded, 0);
    tg_tape_free(names_t);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    tg_tape_free(n.t);
}

START_TEST(checkpoint_entries_holding_nonsense_sgd) { sweep(false); }
END_TEST

START_TEST(checkpoint_entries_holding_nonsense_adam) { sweep(true); }
END_TEST

int main(void)
{
    Suite *s = suite_create("audit7_hostile");
    TCase *tc = tg_test_tcase("audit7_hostile");
    tcase_add_test(tc, odd_layers_in_a_sequential);
    tcase_add_test(tc, checkpoint_entries_holding_nonsense_sgd);
    tcase_add_test(tc, checkpoint_entries_holding_nonsense_adam);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
