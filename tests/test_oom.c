/*
 * test_oom.c — whole scenarios under allocation failure.
 *
 * Each scenario is run again and again on a fresh tape, failing its 1st,
 * 2nd, ... k-th allocation in turn, until it runs without reaching the
 * k-th. Every run must either succeed with the right results or fail with
 * TG_ENOMEM, reported both by the return value and by tg_last_status()
 * and tg_last_error(); after a failure the tape is reset and must run the
 * scenario cleanly, and once everything is freed nothing may be left
 * allocated. Two modes: "sticky" fails the k-th allocation and every one
 * after it (memory has run out), "once" fails the k-th alone (a transient
 * failure; recovery code that allocates again gets to run). The number of
 * injected failures is printed per scenario as a TAP comment.
 *
 * tests/test_errors.c holds the smallest case (the seed without writing).
 */
#include "tg_test.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/train.h"
#include "tapegrad/vjp.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A scenario's own check found wrong results (not a tapegrad status). */
#define WRONG 1000

/* Where scenarios write files: a fresh folder per test. */
static char dir[256];

static const char *in_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Entries in dir other than . and .. */
static int dir_entries(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void make_dir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/tg_test_oom.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    ck_assert_int_eq(dir_entries(), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}

static int wrong(const char *what)
{
    return tg_set_error(WRONG, "scenario check failed: %s", what);
}

/*
 * A scenario: run on tape t, clean up after itself (except t), and return
 * TG_OK with right results, or the status it failed with. prepare (may be
 * NULL) makes long-lived state before each run, outside the failure
 * window, and release frees it after the run and the clean run.
 */
typedef struct scenario {
    const char *name;
    int (*run)(tg_tape *t);
    void (*prepare)(void);
    void (*release)(void);
} scenario;

static void prepare(const scenario *sc)
{
    if (sc->prepare != NULL)
        sc->prepare();
}

static void release(const scenario *sc)
{
    if (sc->release != NULL)
        sc->release();
}

typedef enum mode { STICKY, ONCE } mode;

/*
 * Fail allocations 1, 2, ... of fn in turn, checking the contract after
 * each; returns how many failures were injected (runs that reached their
 * k-th allocation).
 */
static long fail_each_allocation(const scenario *sc, mode m)
{
    const char *name = sc->name;
    long injected = 0, absorbed = 0;
    for (long k = 1;; k++) {
        tg_tape *t = tg_tape_new();
        ck_assert_ptr_nonnull(t);
        prepare(sc);
        tg_clear_error();
        long before = tg_test_allocation_calls();
        if (m == STICKY)
            tg_test_fail_after(k);
        else
            tg_test_fail_once(k);
        int rc = sc->run(t);
        tg_test_fail_after(-1);
        bool reached = tg_test_allocation_calls() - before >= k;
        ck_assert_msg(rc == TG_OK || rc == TG_ENOMEM, "%s: failing allocation "
                      "%ld gave %d (%s): %s", name, k, rc, tg_strerror(rc),
                      tg_last_error());
        if (rc == TG_ENOMEM) {
            ck_assert_msg(tg_last_status() == TG_ENOMEM && strstr(
                          tg_last_error(), "out of memory") != NULL,
                          "%s: failing allocation %ld: last error %d \"%s\"",
                          name, k, tg_last_status(), tg_last_error());
            ck_assert_msg(reached, "%s: TG_ENOMEM with no failed allocation",
                          name);
        } else if (reached) {
            absorbed++;          /* the failure was recovered from */
        }
        /* The tape still works after a reset. */
        tg_tape_reset(t);
        tg_clear_error();
        ck_assert_msg(sc->run(t) == TG_OK, "%s: the clean run after failing "
                      "allocation %ld failed: %s", name, k, tg_last_error());
        tg_tape_free(t);
        release(sc);
        ck_assert_msg(tg_test_live_allocations() == 0, "%s: %ld allocation(s) "
                      "leaked after failing allocation %ld", name,
                      tg_test_live_allocations(), k);
        if (!reached)
            break;
        injected++;
        ck_assert_msg(k < 100000, "%s: never ran clean", name);
    }
    printf("# %s (%s): %ld injected allocation failures, %ld of them "
           "recovered from\n", name, m == STICKY ? "sticky" : "once",
           injected, absorbed);
    fflush(stdout);
    return injected;
}

/*
 * The tape's arena takes memory in large blocks, so on a fresh tape only a
 * few allocations fail above: most tensors fit in a block already there.
 * Here the tape is warmed up by a clean run and reset (it keeps a block
 * big enough for the whole scenario), then filled so that only part of the
 * block is left, and every allocation from then on fails. Sweeping the
 * fill level across the part of the block the scenario uses, in about 64
 * steps, makes each tensor the scenario creates, in turn, the one that
 * finds no memory (for scenarios whose work fits in one block, as these
 * do). Returns the number of distinct failure messages seen (distinct
 * places that ran out of memory).
 */

/* Bytes of t's arena a clean run of sc takes: between two 1-byte probes. */
static size_t bytes_used(const scenario *sc, tg_tape *t)
{
    tg_tape_reset(t);
    uintptr_t p0 = (uintptr_t)tg_tape_alloc(t, 1);
    ck_assert_msg(sc->run(t) == TG_OK, "%s: %s", sc->name, tg_last_error());
    uintptr_t p1 = (uintptr_t)tg_tape_alloc(t, 1);
    tg_tape_reset(t);
    return p1 > p0 ? (size_t)(p1 - p0) : 0;
}

/* The largest allocation t's blocks can hold without a new block. */
static size_t largest_fill(tg_tape *t)
{
    size_t reserved = tg_tape_bytes_reserved(t), lo = 0, hi = reserved;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        tg_tape_reset(t);
        tg_test_fail_after(1);   /* a probe that needs a new block fails */
        void *p = tg_tape_alloc(t, mid);
        tg_test_fail_after(-1);
        if (p != NULL)
            lo = mid;
        else
            hi = mid - 1;
    }
    tg_tape_reset(t);
    ck_assert_uint_eq(tg_tape_bytes_reserved(t), reserved);
    return lo;
}

static long fail_at_each_fill_level(const scenario *sc)
{
    const char *name = sc->name;
    enum { MAX_SITES = 64 };
    static char sites[MAX_SITES][160];
    long n_sites = 0, failed = 0, levels = 0;
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_nonnull(t);
    prepare(sc);
    ck_assert_msg(sc->run(t) == TG_OK, "%s: warm-up run failed: %s", name,
                  tg_last_error());
    release(sc);
    prepare(sc);
    size_t used = bytes_used(sc, t), top = largest_fill(t);
    release(sc);
    size_t step = (used / 64 + 63) / 64 * 64;
    step = step < 64 ? 64 : step;
    size_t start = top > used + step ? top - used - step : 0;
    for (size_t fill = start; fill <= top; fill += step) {
        prepare(sc);
        tg_tape_reset(t);
        size_t reserved = tg_tape_bytes_reserved(t);
        if (fill > 0 && (tg_tape_alloc(t, fill) == NULL ||
                         tg_tape_bytes_reserved(t) != reserved)) {
            release(sc);
            break;               /* the block is full */
        }
        tg_clear_error();
        tg_test_fail_after(1);
        int rc = sc->run(t);
        tg_test_fail_after(-1);
        ck_assert_msg(rc == TG_OK || rc == TG_ENOMEM, "%s: fill %zu gave %d "
                      "(%s): %s", name, fill, rc, tg_strerror(rc),
                      tg_last_error());
        if (rc == TG_ENOMEM) {
            ck_assert_msg(tg_last_status() == TG_ENOMEM && strstr(
                          tg_last_error(), "out of memory") != NULL,
                          "%s: fill %zu: last error %d \"%s\"", name, fill,
                          tg_last_status(), tg_last_error());
            failed++;
            long i = 0;
            while (i < n_sites && strcmp(sites[i], tg_last_error()) != 0)
                i++;
            if (i == n_sites && n_sites < MAX_SITES)
                snprintf(sites[n_sites++], sizeof sites[0], "%s",
                         tg_last_error());
        }
        tg_tape_reset(t);
        ck_assert_msg(sc->run(t) == TG_OK, "%s: the clean run after fill %zu "
                      "failed: %s", name, fill, tg_last_error());
        release(sc);
        levels++;
    }
    tg_tape_free(t);
    ck_assert_msg(tg_test_live_allocations() == 0, "%s: %ld allocation(s) "
                  "leaked", name, tg_test_live_allocations());
    printf("# %s (fill levels): %ld of %ld runs hit an injected failure, "
           "at %ld distinct places\n", name, failed, levels, n_sites);
    for (long i = 0; i < n_sites; i++)
        printf("#   %s\n", sites[i]);
    fflush(stdout);
    return n_sites;
}

/* ---- (a) The seed, end to end: relu on [-2, 2], its gradient, relu.json. */

static int seed(tg_tape *t)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -2.0, 2.0, 1000);
    int rc = tg_set_requires_grad(x, true);
    if (rc != TG_OK)
        return rc;
    tg_tensor *y = tg_relu(t, x);
    rc = tg_backward(t, tg_sum(t, y));
    if (rc != TG_OK)
        return rc;
    const tg_tensor *cols[] = {x, y, tg_grad(x)};
    rc = tg_json_write(in_dir("relu.json"), 3,
                       (const char *[]){"x", "y", "yp"}, cols);
    if (rc != TG_OK) {
        /* A failed write leaves no file, not even a temporary one. */
        return dir_entries() == 0 ? rc : wrong("a failed write left a file");
    }
    const float *g = tg_data_f32(tg_grad(x));
    bool ok = g[0] == 0.0f && g[499] == 0.0f && g[500] == 1.0f &&
              g[999] == 1.0f && tg_data_f32(y)[999] == 2.0f;
    unlink(in_dir("relu.json"));
    return ok ? TG_OK : wrong("relu's gradient");
}

START_TEST(seed_with_json)
{
    make_dir();
    static const scenario sc = {"seed", seed, NULL, NULL};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
    remove_dir();
}
END_TEST

/* ---- (d) A gradient check of f(x, w) = sum(tanh(x * w) + x) * 0.5. */

static tg_tensor *gc_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_tensor *h = tg_add(t, tg_tanh(t, tg_mul(t, in[0], in[1])), in[0]);
    return tg_mul_scalar(t, tg_sum_axis(t, h, 0, false), 0.5);
}

static int gradcheck(tg_tape *t)
{
    double xv[6] = {0.3, -1.2, 0.7, 2.0, -0.4, 0.05}, wv[3] = {1.5, -0.5, 2};
    tg_tensor *in[2] = {tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, xv),
                        tg_from_data(t, TG_F64, 1, (int64_t[]){3}, wv)};
    if (in[0] == NULL || in[1] == NULL)
        return tg_last_status();
    tg_set_requires_grad(in[0], true);
    tg_gradcheck_report r;
    int rc = tg_gradcheck(gc_fn, NULL, 2, in, NULL, &r);
    /* On every error the inputs are left as they were. */
    if (memcmp(tg_data_f64(in[0]), xv, sizeof xv) != 0 ||
        memcmp(tg_data_f64(in[1]), wv, sizeof wv) != 0 ||
        !tg_requires_grad(in[0]) || tg_requires_grad(in[1]))
        return wrong("gradcheck changed its inputs");
    if (rc != TG_OK)
        return rc;
    if (!r.passed || r.n_checked != 9)
        return wrong(r.message);
    return TG_OK;
}

START_TEST(gradcheck_under_oom)
{
    /* gradcheck evaluates on scratch tapes of its own, so filling t
     * would change nothing: the two modes on a fresh tape only. */
    static const scenario sc = {"gradcheck", gradcheck, NULL, NULL};
    ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
}
END_TEST

/* ---- (e) The comparison, selection and conversion ops, and tensors made
 * from a rule, forward and backward: where's broadcast gradient takes
 * scratch memory in backward. */

static int select_ops(tg_tape *t)
{
    double xv[6] = {-1, 0.2, 2, 0.3, -0.7, 0.1}, bv[3] = {0, 0.5, -1};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, xv);
    tg_tensor *b = tg_from_data(t, TG_F64, 1, (int64_t[]){3}, bv);
    if (x == NULL || b == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(b, true);
    tg_tensor *w = tg_where(t, tg_gt(t, x, b), x, b);
    tg_tensor *c = tg_clamp(t, w, -0.5, 0.5);
    tg_tensor *back = tg_cast(t, tg_cast(t, c, TG_F32), TG_F64);
    tg_tensor *y = tg_mul(t, back, tg_detach(t, x));
    y = tg_add(t, y, tg_argmax(t, x, 1, true));
    y = tg_add(t, y, tg_argmin(t, tg_eye(t, TG_F64, 2, 3), 0, false));
    y = tg_mul(t, y, tg_ones(t, TG_F64, 1, (int64_t[]){3}));
    y = tg_add(t, y, tg_arange(t, TG_F64, 0, 3, 1));
    y = tg_add(t, y, tg_full(t, TG_F64, 0, NULL, 0.5));
    y = tg_add(t, y, tg_le_scalar(t, x, 0));
    int rc = tg_backward(t, tg_sum(t, y));
    if (rc != TG_OK)
        return rc;
    const double *gx = tg_data_f64(tg_grad(x)), *gb = tg_data_f64(tg_grad(b));
    /* d/dx: x where x > b and the clamp passes (not 2 > 0.5); d/db: x
     * where x <= b, summed down the column. */
    bool ok = gx[0] == 0 && gx[1] == 0 && gx[2] == 0 &&
              gx[3] == (double)0.3f && gx[4] == 0 && gx[5] == (double)0.1f &&
              gb[0] == -1 && fabs(gb[1] + 0.5) < 1e-7 && gb[2] == 0;
    return ok ? TG_OK : wrong("gradients through where, clamp and cast");
}

START_TEST(select_ops_under_oom)
{
    static const scenario sc = {"comparisons, where, clamp, cast, argmax, "
                                "fills", select_ops, NULL, NULL};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

/* ---- (f) seq: layer norm and attention, multi-head attention, and a
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
    if (_i % 3 < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i % 3 ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
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
    if (_i % 3 < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i % 3 ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST
/* ---- end seqlayers ---------------------------------------------------- */

/* ---- (f) Pooling, dropout and batch norm (tapegrad/pool.h), forward,
 * backward and a recorded gradient: a refused batch_norm leaves its running
 * statistics as they were, a successful one moves them; in training the
 * gradient of x sums to 0 over each channel. */

static int pool_ops(tg_tape *t)
{
    int64_t shape[4] = {2, 2, 4, 4}, ch = 2;
    tg_rng rng;
    tg_rng_seed(&rng, 4, 4);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 4, shape, 1, 2);
    tg_tensor *rm = tg_zeros(t, TG_F64, 1, &ch), *rv = tg_ones(t, TG_F64, 1, &ch);
    tg_tensor *w = tg_full(t, TG_F64, 1, &ch, 1.5);
    if (x == NULL || rm == NULL || rv == NULL || w == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_tensor *h = tg_batch_norm(t, x, rm, rv, w, NULL, true, 0.1, 1e-5);
    bool moved = tg_value_at(rm, 0) != 0 || tg_value_at(rv, 0) != 1;
    if (h == NULL)
        return moved ? wrong("running statistics moved by a failed call")
                     : tg_last_status();
    if (!moved)
        return wrong("running statistics not updated");
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    tg_tensor *y = tg_max_pool2d(t, h, &o);
    y = tg_dropout(t, y, 0.25, &rng, true);
    o.stride[0] = o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    y = tg_adaptive_avg_pool2d(t, tg_avg_pool2d(t, y, &o), 2, 1);
    y = tg_mul(t, y, y);
    tg_tensor *g;
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    tg_tensor *root = tg_sum(t, y), *one = tg_scalar(t, TG_F64, 1);
    if (root == NULL || one == NULL)
        return tg_last_status();
    int rc = tg_vjp(t, 1, &root, &one, 1, &x, &g, &vo);
    if (rc != TG_OK)
        return rc;
    rc = tg_backward(t, tg_sum(t, tg_mul(t, g, g)));
    if (rc != TG_OK)
        return rc;
    for (int c = 0; c < 2; c++) {
        double s = 0;
        for (int n = 0; n < 2; n++)
            for (int e = 0; e < 16; e++)
                s += tg_value_at(g, (n * 2 + c) * 16 + e);
        if (fabs(s) > 1e-9)
            return wrong("batch_norm's gradient sums to 0 per channel");
    }
    return tg_grad(w) != NULL ? TG_OK : wrong("weight has a gradient");
}

START_TEST(pool_ops_under_oom)
{
    static const scenario sc = {"pooling, dropout, batch norm", pool_ops,
                                NULL, NULL};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

/* ---- conv1d and conv2d, forward, backward and a gradient of the
 * gradient: the im2col scratch comes from the tape in each. */

static tg_tensor *conv_fill(tg_tape *t, int nd, const int64_t *shape, double a)
{
    tg_tensor *x = tg_zeros(t, TG_F64, nd, shape);
    for (int64_t i = 0; x != NULL && i < tg_numel(x); i++)
        tg_mut_f64(x)[i] = a * (double)((i * 7) % 5 - 2);
    if (x != NULL)
        tg_set_requires_grad(x, true);
    return x;
}

static int conv_ops(tg_tape *t)
{
    tg_tensor *x = conv_fill(t, 4, (int64_t[]){2, 2, 4, 4}, 0.5);
    tg_tensor *w = conv_fill(t, 4, (int64_t[]){3, 2, 3, 3}, 0.25);
    tg_tensor *b = conv_fill(t, 1, (int64_t[]){3}, 1);
    tg_tensor *x1 = conv_fill(t, 3, (int64_t[]){1, 2, 6}, 0.5);
    tg_tensor *w1 = conv_fill(t, 3, (int64_t[]){2, 1, 2}, 1);
    if (x == NULL || w == NULL || b == NULL || x1 == NULL || w1 == NULL)
        return tg_last_status();
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 1;
    tg_tensor *y = tg_sum(t, tg_tanh(t, tg_conv2d(t, x, w, b, &o)));
    o = tg_conv_defaults();
    o.groups = 2, o.stride[0] = 2;
    y = tg_add(t, y, tg_sum(t, tg_conv1d(t, x1, w1, NULL, &o)));
    /* d y / d w, recorded, and the gradient of its sum: second order. */
    tg_tensor *g = NULL;
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    int rc = tg_vjp(t, 1, &y, NULL, 1, &w, &g, &vo);
    if (rc != TG_OK)
        return rc;
    if ((rc = tg_backward(t, tg_sum(t, tg_mul(t, g, g)))) != TG_OK)
        return rc;
    /* tanh' > 0 and x has nonzero entries, so d/dx is not all zero. */
    const double *gx = tg_data_f64(tg_grad(x));
    for (int64_t i = 0; gx != NULL && i < tg_numel(x); i++)
        if (gx[i] != 0)
            return TG_OK;
    return wrong("conv: the second-order gradient of x is all zero");
}

START_TEST(conv_ops_under_oom)
{
    static const scenario sc = {"conv1d and conv2d, to second order",
                                conv_ops, NULL, NULL};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

/* ---- (f) Gradients as tensors: tg_vjp (with and without create_graph,
 * and differentiating the recorded gradient again), tg_jvp, tg_hvp on
 * f(x, w) = sum(tanh(x * w)), x (2, 3), w (3,), f64; and tg_gradgradcheck.
 * A failure must change no tensor's gradient: x's stays 1 (from a plain
 * backward of sum(x) before), w's stays absent. */

static const double px[6] = {0.3, -1.2, 0.7, 2.0, -0.4, 0.05};
static const double pw[3] = {1.5, -0.5, 0.8};

/* 1 - tanh^2 and tanh of element i's product. */
static double sech2(int i, double *th)
{
    *th = tanh(px[i] * pw[i % 3]);
    return 1 - *th * *th;
}

static bool close_to(const tg_tensor *g, int64_t i, double want)
{
    return fabs(tg_value_at(g, i) - want) <= 1e-12 * (1 + fabs(want));
}

/* The status of a call, or WRONG if it touched a gradient. */
static int untouched(tg_tensor *x, tg_tensor *w, int rc)
{
    const tg_tensor *gx = tg_grad(x);
    bool same = gx != NULL && tg_grad(w) == NULL;
    for (int i = 0; same && i < 6; i++)
        same = tg_data_f64(gx)[i] == 1.0;
    return same ? rc : wrong("a product changed a tensor's gradient");
}

static int products(tg_tape *t)
{
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, px);
    tg_tensor *w = tg_from_data(t, TG_F64, 1, (int64_t[]){3}, pw);
    if (x == NULL || w == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    int rc = tg_backward(t, tg_sum(t, x));
    if (rc != TG_OK)
        return rc;
    tg_tensor *in[2] = {x, w}, *g[2], *dg[2], *gg[2], *jv, *hv[2];
    tg_tensor *f = tg_sum(t, tg_tanh(t, tg_mul(t, x, w)));
    if (f == NULL)
        return tg_last_status();
    /* First order, nothing recorded. */
    if ((rc = untouched(x, w, tg_vjp(t, 1, &f, NULL, 2, in, g, NULL))))
        return rc;
    /* Recorded, then differentiated again: d/dx of sum(d f / dx). */
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    if ((rc = untouched(x, w, tg_vjp(t, 1, &f, NULL, 2, in, dg, &o))))
        return rc;
    tg_tensor *s = tg_sum(t, dg[0]);
    o.unused = TG_UNUSED_ZEROS;
    if (s == NULL)
        return tg_last_status();
    if ((rc = untouched(x, w, tg_vjp(t, 1, &s, NULL, 2, in, gg, &o))))
        return rc;
    /* J v and H v along v = (ones for x, zeros for w). */
    tg_tensor *v[2] = {tg_ones(t, TG_F64, 2, (int64_t[]){2, 3}),
                       tg_zeros(t, TG_F64, 1, (int64_t[]){3})};
    if (v[0] == NULL || v[1] == NULL)
        return tg_last_status();
    if ((rc = untouched(x, w, tg_jvp(t, 1, &f, 2, in, v, &jv, NULL))))
        return rc;
    if ((rc = untouched(x, w, tg_hvp(t, f, 2, in, v, hv, NULL))))
        return rc;
    double jvp = 0, hw[3] = {0, 0, 0};
    bool ok = true;
    for (int i = 0; i < 6; i++) {
        double th, d = sech2(i, &th), wj = pw[i % 3];
        ok = ok && close_to(g[0], i, wj * d) && close_to(dg[0], i, wj * d) &&
             close_to(gg[0], i, wj * wj * -2 * th * d) &&
             close_to(hv[0], i, wj * wj * -2 * th * d);
        jvp += wj * d;
        hw[i % 3] += d + wj * -2 * th * d * px[i];
    }
    for (int j = 0; j < 3; j++)
        ok = ok && close_to(hv[1], j, hw[j]);
    ok = ok && close_to(jv, 0, jvp);
    return ok ? TG_OK : wrong("vjp, jvp or hvp values");
}

START_TEST(products_under_oom)
{
    static const scenario sc = {"tg_vjp (create_graph off and on, and "
                                "again), tg_jvp, tg_hvp", products, NULL,
                                NULL};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

static tg_tensor *ggc_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_mul(t, in[0], in[1]));
}

static int gradgradcheck(tg_tape *t)
{
    tg_tensor *in[2] = {tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, px),
                        tg_from_data(t, TG_F64, 1, (int64_t[]){3}, pw)};
    if (in[0] == NULL || in[1] == NULL)
        return tg_last_status();
    tg_set_requires_grad(in[0], true);
    tg_gradcheck_report r;
    int rc = tg_gradgradcheck(ggc_fn, NULL, 2, in, NULL, &r);
    if (memcmp(tg_data_f64(in[0]), px, sizeof px) != 0 ||
        memcmp(tg_data_f64(in[1]), pw, sizeof pw) != 0 ||
        !tg_requires_grad(in[0]) || tg_requires_grad(in[1]))
        return wrong("gradgradcheck changed its inputs");
    if (rc != TG_OK)
        return rc;
    return r.passed && r.n_checked > 0 ? TG_OK : wrong(r.message);
}

START_TEST(gradgradcheck_under_oom)
{
    /* Scratch tapes of its own, as tg_gradcheck: fresh-tape modes only. */
    static const scenario sc = {"gradgradcheck", gradgradcheck, NULL, NULL};
    ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
}
END_TEST

/* ---- (f) index.h: gather, scatter_add, index_select, embedding, chunk
 * and the losses that pick by class, forward, backward and the recorded
 * derivative (tg_vjp with create_graph, which runs gather's and
 * scatter_add's backward_ops). */

static int index_ops(tg_tape *t)
{
    double xv[6] = {-1, 0.2, 2, 0.3, -0.7, 0.1}, iv[2] = {0, 1};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, xv);
    tg_tensor *ix = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 1}, iv);
    if (x == NULL || ix == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_tensor *p[3];
    int rc = tg_chunk(t, x, 1, 3, p);
    if (rc < 0)
        return rc;
    tg_tensor *g = tg_gather(t, x, 1, ix);
    tg_tensor *y = tg_sum(t, tg_embedding(t, x, 3, (const int64_t[]){1, 0, 1},
                                          0));
    y = tg_add(t, y, tg_sum(t, tg_index_select(t, x, 1, 2,
                                               (const int64_t[]){2, 2})));
    y = tg_add(t, y, tg_sum(t, tg_scatter_add(t, x, 1, ix, g)));
    y = tg_add(t, y, tg_sum(t, p[2]));
    y = tg_add(t, y, tg_nll_loss(t, x, (const int64_t[]){2, 0}, -100));
    tg_cross_entropy_options o = {.ignore_index = 1, .label_smoothing = 0.1};
    tg_tensor *other = tg_add(t, tg_cross_entropy_ex(t, x, (const int64_t[]){
                                                         1, 0}, &o),
                              tg_bce_with_logits(t, x, tg_detach(t, x), NULL));
    y = tg_add(t, y, tg_mul_scalar(t, other, 0.0));
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    tg_tensor *gx;
    if ((rc = tg_vjp(t, 1, &y, NULL, 1, &x, &gx, &vo)) != TG_OK)
        return rc;
    if ((rc = tg_backward(t, tg_sum(t, tg_mul(t, gx, x)))) != TG_OK)
        return rc;
    /* d/dx: 2 on row 1 (embedding picks it twice; row 0 is padding), 2
     * and 1 on column 2 (index_select, chunk), 1 everywhere and 1 more at
     * the gathered (0,0) and (1,1) (scatter_add's dst and src), -1/2 at
     * the labels (0,2) and (1,0). */
    static const double want[6] = {2, 1, 3.5, 2.5, 4, 6};
    const double *d = tg_data_f64(gx);
    for (int i = 0; i < 6; i++)
        if (d[i] != want[i])
            return wrong("gradients through the index ops");
    return TG_OK;
}

START_TEST(index_ops_under_oom)
{
    static const scenario sc = {"gather, scatter_add, index_select, "
                                "embedding, chunk, losses", index_ops, NULL,
                                NULL};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

/* ---- (b) A training step of a small MLP, and (c) saving and loading it. */

typedef enum loss_kind { CROSS_ENTROPY_ADAM, HINGE_SGD } loss_kind;

/* The network, its parameters and optimizer, on a tape of their own. */
typedef struct mlp_state {
    tg_tape *ptape;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
    loss_kind kind;
    int steps;                   /* successful steps so far */
    unsigned char before[4096];  /* the parameters as built */
    size_t n_before;
} mlp_state;

/* The parameters' values, one after the other, into buf. */
static size_t params_bytes(const tg_params *p, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        const tg_tensor *x = tg_params_at(p, i);
        size_t len = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
        ck_assert_uint_le(n + len, cap);
        memcpy(buf + n, tg_dtype_of(x) == TG_F32
                            ? (const void *)tg_data_f32(x)
                            : (const void *)tg_data_f64(x), len);
        n += len;
    }
    return n;
}

static int mlp_build(mlp_state *m, loss_kind kind)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->ptape = tg_tape_new();
    if (m->ptape == NULL)
        return tg_last_status();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 5);
    bool ce = kind == CROSS_ENTROPY_ADAM;
    int64_t widths[] = {4, 8, ce ? 3 : 1};
    m->params = tg_params_new(m->ptape);
    m->net = tg_mlp_new(m->ptape, m->params, &rng, ce ? TG_F32 : TG_F64, 3,
                        widths, tg_relu);
    if (m->net == NULL)
        return tg_last_status();
    if (ce) {
        m->opt = tg_adam_new(m->ptape, m->params, NULL);
    } else {
        tg_sgd_options o = tg_sgd_defaults(0.1);
        o.momentum = 0.9;
        m->opt = tg_sgd_new(m->ptape, m->params, &o);
    }
    if (m->opt == NULL)
        return tg_last_status();
    m->n_before = params_bytes(m->params, m->before, sizeof m->before);
    return TG_OK;
}

/* One step: zero the gradients, the loss on a fixed batch of 6, backward,
 * the optimizer's update. */
static int mlp_step(tg_tape *t, mlp_state *m)
{
    static const double xv[24] = {0.5, -1, 2, 0.1, -0.3, 0.8, -1.5, 1,
                                  1.2, 0.4, -0.7, -2, 0, 0.9, 0.3, -0.6,
                                  -1.1, -0.2, 0.6, 1.7, 0.25, -0.9, 1.4, 0.05};
    static const int64_t labels[6] = {0, 2, 1, 1, 0, 2};
    static const double signs[6] = {1, -1, -1, 1, 1, -1};
    bool ce = m->kind == CROSS_ENTROPY_ADAM;
    tg_dtype dt = ce ? TG_F32 : TG_F64;
    tg_tensor *x = tg_empty(t, dt, 2, (int64_t[]){6, 4});
    tg_tensor *y = tg_empty(t, dt, 2, (int64_t[]){6, 1});
    if (x == NULL || y == NULL)
        return tg_last_status();
    for (int i = 0; i < 24; i++) {
        if (ce)
            tg_mut_f32(x)[i] = (float)xv[i];
        else
            tg_mut_f64(x)[i] = xv[i];
    }
    for (int i = 0; i < 6 && !ce; i++)
        tg_mut_f64(y)[i] = signs[i];
    tg_params_zero_grad(m->params);
    tg_tensor *out = tg_mlp_forward(t, m->net, x), *loss;
    if (ce)
        loss = tg_cross_entropy(t, out, labels);
    else
        loss = tg_add(t, tg_hinge_loss(t, out, y),
                      tg_l2_penalty(t, m->params, 1e-4));
    int rc = tg_backward(t, loss);
    if (rc == TG_OK)
        rc = tg_optimizer_step(m->opt);
    return rc;
}

/* What a successful step must give, bit for bit, set by the first. */
typedef struct reference {
    bool set;
    size_t n;
    unsigned char bytes[4096];
} reference;

/*
 * After a step that returned rc: a failed step left the parameters as they
 * were; a successful one changed them and, if it was the network's first,
 * gave the same bits as every other first step.
 */
static int mlp_check(mlp_state *m, int rc, reference *ref)
{
    unsigned char now[4096];
    size_t n = params_bytes(m->params, now, sizeof now);
    bool same = n == m->n_before && memcmp(now, m->before, n) == 0;
    if (rc != TG_OK)
        return same ? rc : wrong("a failed step changed the parameters");
    if (same)
        return wrong("the step did not change the parameters");
    memcpy(m->before, now, n);
    if (m->steps++ > 0)
        return TG_OK;            /* a later step: nothing to compare with */
    if (!ref->set) {
        ref->set = true;
        ref->n = n;
        memcpy(ref->bytes, now, n);
    }
    return n == ref->n && memcmp(now, ref->bytes, n) == 0
               ? TG_OK : wrong("the step's result differs from a clean run's");
}

/* The whole thing inside the failure window: build, step, free. */
static reference whole_ref[2];
static loss_kind whole_kind;

static int mlp_whole(tg_tape *t)
{
    mlp_state m;
    int rc = mlp_build(&m, whole_kind);
    if (rc == TG_OK)
        rc = mlp_check(&m, mlp_step(t, &m), &whole_ref[whole_kind]);
    tg_tape_free(m.ptape);
    return rc;
}

/* Only the step inside the window: the network is built beforehand. */
static mlp_state built;
static reference step_ref[2];

static void build_network(void)
{
    ck_assert_int_eq(mlp_build(&built, built.kind), TG_OK);
}

static void free_network(void)
{
    tg_tape_free(built.ptape);
    built.ptape = NULL;
}

static int mlp_only_step(tg_tape *t)
{
    return mlp_check(&built, mlp_step(t, &built), &step_ref[built.kind]);
}

START_TEST(mlp_training_step)
{
    loss_kind kind = _i % 2 ? HINGE_SGD : CROSS_ENTROPY_ADAM;
    const char *names[2][2] = {{"mlp build+step (cross-entropy, Adam, f32)",
                                "mlp step (cross-entropy, Adam, f32)"},
                               {"mlp build+step (hinge + L2, SGD, f64)",
                                "mlp step (hinge + L2, SGD, f64)"}};
    whole_kind = kind;
    built.kind = kind;
    scenario whole = {names[kind][0], mlp_whole, NULL, NULL};
    scenario step = {names[kind][1], mlp_only_step, build_network,
                     free_network};
    switch (_i / 2) {
    case 0:
        ck_assert_int_gt(fail_each_allocation(&whole, STICKY), 0);
        ck_assert_int_gt(fail_each_allocation(&whole, ONCE), 0);
        break;
    case 1:
        ck_assert_int_gt(fail_each_allocation(&step, STICKY), 0);
        ck_assert_int_gt(fail_each_allocation(&step, ONCE), 0);
        break;
    default:
        ck_assert_int_gt(fail_at_each_fill_level(&step), 0);
    }
}
END_TEST

/* Save the network as .npz and one tensor as .npy, load both back. */
static int tensors_equal(const tg_tensor *a, const tg_tensor *b)
{
    if (a == NULL || b == NULL)
        return tg_last_status();
    size_t n = (size_t)tg_numel(a) * tg_dtype_size(tg_dtype_of(a));
    bool same = tg_dtype_of(a) == tg_dtype_of(b) &&
                tg_ndim(a) == tg_ndim(b) && tg_numel(a) == tg_numel(b) &&
                memcmp(tg_shape(a), tg_shape(b),
                       (size_t)tg_ndim(a) * sizeof(int64_t)) == 0 &&
                memcmp(tg_dtype_of(a) == TG_F32 ? (const void *)tg_data_f32(a)
                                                : (const void *)tg_data_f64(a),
                       tg_dtype_of(b) == TG_F32 ? (const void *)tg_data_f32(b)
                                                : (const void *)tg_data_f64(b),
                       n) == 0;
    return same ? TG_OK : wrong("a loaded tensor differs from the saved one");
}

static int save_and_load(tg_tape *t)
{
    static const char *const names[] = {"w0", "b0", "w1", "b1"};
    const tg_tensor *arrays[4];
    for (int i = 0; i < 4; i++)
        arrays[i] = tg_params_at(built.params, i);
    int files = 0, rc = tg_npz_save(in_dir("model.npz"), 4, names, arrays);
    if (rc == TG_OK)
        files++;
    if (rc == TG_OK)
        rc = tg_npy_save(in_dir("w0.npy"), arrays[0]);
    if (rc == TG_OK)
        files++;
    /* A failed save leaves neither the file nor a temporary one. */
    if (dir_entries() != files)
        rc = wrong("a failed save left a file behind");
    const tg_npz *z = rc == TG_OK ? tg_npz_load(t, in_dir("model.npz")) : NULL;
    if (rc == TG_OK && z == NULL)
        rc = tg_last_status();
    if (rc == TG_OK && z->n != 4)
        rc = wrong("the archive holds 4 arrays");
    for (int i = 0; i < 4 && rc == TG_OK; i++)
        rc = tensors_equal(tg_npz_get(z, names[i]), arrays[i]);
    if (rc == TG_OK)
        rc = tensors_equal(tg_npz_load_entry(t, in_dir("model.npz"), "b1"),
                           arrays[3]);
    if (rc == TG_OK)
        rc = tensors_equal(tg_npy_load(t, in_dir("w0.npy")), arrays[0]);
    unlink(in_dir("model.npz"));
    unlink(in_dir("w0.npy"));
    return rc;
}

START_TEST(model_save_and_load)
{
    make_dir();
    built.kind = CROSS_ENTROPY_ADAM;
    scenario sc = {"save and load a model (.npz, .npy)", save_and_load,
                   build_network, free_network};
    /* The writers allocate outside the tape first: no fill levels. */
    ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    remove_dir();
}
END_TEST

/* ---- Layers, a schedule and a checkpoint (tapegrad/train.h). ---------------- */

/* flatten, linear 6 -> 5, tanh, linear 5 -> 3 ("head") on t; NULL on a
 * failure, whose status is the last one. */
static tg_sequential *oom_net(tg_tape *t, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 0);
    tg_sequential *s = tg_sequential_new(t);
    if (tg_sequential_add(s, tg_layer_flatten_new(t, 1)) != TG_OK ||
        tg_sequential_add(s, tg_layer_linear_new(t, &rng, TG_F32, 6, 5,
                                                 true)) != TG_OK ||
        tg_sequential_add(s, tg_layer_activation_new(t, "tanh")) != TG_OK ||
        tg_sequential_add_named(s, "head", tg_layer_linear_new(
            t, &rng, TG_F32, 5, 3, true)) != TG_OK)
        return NULL;
    return tg_sequential_count(s) == 4 ? s : NULL;
}

/* Every array of a's state dict equals b's, byte for byte. */
static bool same_state(const tg_sequential *a, const tg_sequential *b)
{
    for (int i = 0; i < tg_sequential_state_count(a); i++) {
        const tg_tensor *x = tg_sequential_state_at(a, i, NULL);
        const tg_tensor *y = tg_sequential_state_at(b, i, NULL);
        if (memcmp(tg_data_f32(x), tg_data_f32(y),
                   (size_t)tg_numel(x) * sizeof(float)) != 0)
            return false;
    }
    return true;
}

static int train_and_checkpoint(tg_tape *t)
{
    tg_sequential *net = oom_net(t, 1);
    tg_params *p = tg_sequential_params(net);
    tg_optimizer *opt = tg_adam_new(t, p, NULL);
    tg_lr_schedule *sched = tg_lr_cosine_new(t, opt, 4, 0.0);
    if (sched == NULL)
        return tg_last_status();
    if (tg_params_count(p) != 4 || tg_sequential_state_count(net) != 4)
        return wrong("the container lists its 4 parameters");
    tg_rng rng;
    tg_rng_seed(&rng, 9, 0);
    int64_t shape[] = {4, 2, 3};
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 3, shape, -1.0, 1.0);
    tg_tensor *y = tg_sequential_forward(t, net, x);
    int rc = tg_backward(t, tg_mean(t, tg_mul(t, y, y)));
    if (rc == TG_OK)
        rc = tg_params_clip_grad_norm(p, 0.1, 2.0, NULL);
    if (rc == TG_OK)
        rc = tg_optimizer_step(opt);
    if (rc == TG_OK)
        rc = tg_lr_schedule_step(sched);
    if (rc != TG_OK)
        return rc;
    tg_checkpoint ck = {net, NULL, opt, sched};
    rc = tg_checkpoint_save(in_dir("ck.npz"), &ck);
    if (rc != TG_OK)
        return dir_entries() == 0 ? rc : wrong("a failed save left a file");
    /* Into a fresh model: a failed load changes nothing. */
    tg_sequential *fresh = oom_net(t, 2);
    tg_sequential *copy = oom_net(t, 2);
    tg_optimizer *opt2 = tg_adam_new(t, tg_sequential_params(fresh), NULL);
    tg_lr_schedule *sched2 = tg_lr_cosine_new(t, opt2, 4, 0.0);
    if (sched2 == NULL || copy == NULL) {
        unlink(in_dir("ck.npz"));
        return tg_last_status();
    }
    tg_checkpoint ck2 = {fresh, NULL, opt2, sched2};
    rc = tg_checkpoint_load(in_dir("ck.npz"), &ck2);
    unlink(in_dir("ck.npz"));
    if (rc != TG_OK) {
        if (!same_state(fresh, copy) || tg_lr_schedule_epoch(sched2) != 0 ||
            tg_optimizer_lr(opt2) != 1e-3)
            return wrong("a failed load changed the model");
        return rc;
    }
    if (!same_state(fresh, net) || tg_lr_schedule_epoch(sched2) != 1 ||
        tg_optimizer_lr(opt2) != tg_optimizer_lr(opt))
        return wrong("the loaded model equals the saved one");
    return TG_OK;
}

START_TEST(train_checkpoint_under_oom)
{
    make_dir();
    scenario sc = {"layers, schedule, clip, checkpoint save and load",
                   train_and_checkpoint, NULL, NULL};
    /* The writers allocate outside the tape: no fill levels. */
    ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    remove_dir();
}
END_TEST

/* ---- (f) Every constructor of nn.h: a failure changes nothing. --------
 * Leaves made beforehand (on a tape of their own, outside the failure
 * window) are added to a list on the failing tape, then a network, a layer
 * and each optimizer are made over it. After each failure: the list holds
 * what it held, the tensor not added still does not require grad, the rng
 * is where it was, and the parameters' values are as they were. */

enum { N_LEAVES = 20 };
static tg_tape *ctor_tape;
static tg_tensor *ctor_leaves[N_LEAVES];

static void ctor_prepare(void)
{
    ctor_tape = tg_tape_new();
    ck_assert_ptr_nonnull(ctor_tape);
    for (int i = 0; i < N_LEAVES; i++) {
        ctor_leaves[i] = tg_scalar(ctor_tape, TG_F64, 1.0 + i);
        ck_assert_ptr_nonnull(ctor_leaves[i]);
    }
}

static void ctor_release(void)
{
    tg_tape_free(ctor_tape);
    ctor_tape = NULL;
}

static tg_tensor *ctor_act(tg_tape *t, tg_tensor *x) { return tg_tanh(t, x); }

/* The state checks after constructor rc: count as before, rng unmoved. */
static int ctor_unchanged(int rc, const tg_params *p, int64_t count,
                          const tg_rng *rng, const tg_rng *rng_before)
{
    if (rc == TG_OK)
        return TG_OK;
    char why[256];
    snprintf(why, sizeof why, "%s", tg_last_error());
    if (tg_params_count(p) != count)
        return wrong("a failed constructor changed the parameter list");
    if (rng != NULL && (rng->state != rng_before->state ||
                        rng->inc != rng_before->inc ||
                        rng->has_spare != rng_before->has_spare))
        return wrong("a failed constructor moved the rng");
    for (int i = 0; i < N_LEAVES; i++)
        if (tg_item(ctor_leaves[i]) != 1.0 + i)
            return wrong("a failed constructor changed a parameter");
    return tg_set_error(rc, "%s", why);
}

static int constructors(tg_tape *t)
{
    tg_params *p = tg_params_new(t);
    if (p == NULL)
        return tg_last_status();
    for (int i = 0; i < N_LEAVES; i++) {     /* the list grows past 16 */
        int rc = tg_params_add(p, ctor_leaves[i]);
        if (rc != TG_OK && tg_requires_grad(ctor_leaves[i]))
            return wrong("a failed tg_params_add left requires_grad on");
        if ((rc = ctor_unchanged(rc, p, i, NULL, NULL)) != TG_OK)
            return rc;
    }
    tg_rng rng, before;
    tg_rng_seed(&rng, 7, 0);
    before = rng;
    int64_t widths[3] = {3, 4, 2};
    tg_mlp *m = tg_mlp_new(t, p, &rng, TG_F64, 3, widths, ctor_act);
    int rc = ctor_unchanged(m ? TG_OK : tg_last_status(), p, N_LEAVES, &rng,
                            &before);
    if (rc != TG_OK)
        return rc;
    tg_linear_layer l;
    before = rng;
    rc = ctor_unchanged(tg_linear_layer_init(&l, t, p, &rng, TG_F64, 2, 3,
                                             true),
                        p, N_LEAVES + 4, &rng, &before);
    if (rc != TG_OK)
        return rc;
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    sgd.momentum = 0.9;
    tg_optimizer *o[3] = {tg_sgd_new(t, p, &sgd), NULL, NULL};
    if (o[0] != NULL)
        o[1] = tg_adam_new(t, p, NULL);
    if (o[1] != NULL)
        o[2] = tg_adamw_new(t, p, NULL);
    rc = ctor_unchanged(o[2] ? TG_OK : tg_last_status(), p, N_LEAVES + 6,
                        NULL, NULL);
    if (rc != TG_OK)
        return rc;
    if (tg_params_count(p) != N_LEAVES + 6 || tg_mlp_layers(m) != 2)
        return wrong("the constructors made the wrong things");
    for (int i = 0; i < N_LEAVES; i++)   /* for the next run */
        tg_set_requires_grad(ctor_leaves[i], false);
    return TG_OK;
}

START_TEST(constructors_under_oom)
{
    static const scenario sc = {"nn constructors", constructors,
                                ctor_prepare, ctor_release};
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

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
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level(&sc), 0);
}
END_TEST

/* ---- cnn: the convolutional layers (sequential.h). ------------------------ */

/* conv2d, batch norm, relu, max pool, avg pool, adaptive avg pool,
 * flatten, dropout, linear on t; NULL on a failure. */
static tg_sequential *cnn_net(tg_tape *t, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 0);
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    tg_pool2d_options one = tg_pool2d_defaults(1, 1);
    tg_layer *l[] = {
        tg_layer_conv2d_new(t, &rng, TG_F32, 1, 3, 3, 3, NULL, true),
        tg_layer_batch_norm_new(t, TG_F32, 3, 1e-5, 0.1, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_max_pool2d_new(t, &two),
        tg_layer_avg_pool2d_new(t, &one),
        tg_layer_adaptive_avg_pool2d_new(t, 1, 1),
        tg_layer_flatten_new(t, 1),
        tg_layer_dropout_new(t, 0.5, seed, 1),
        tg_layer_linear_new(t, &rng, TG_F32, 3, 2, true)};
    tg_sequential *s = tg_sequential_new(t);
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (tg_sequential_add(s, l[i]) != TG_OK)
            return NULL;
    return s;
}

static int cnn_train_and_checkpoint(tg_tape *t)
{
    tg_sequential *net = cnn_net(t, 1);
    tg_optimizer *opt = tg_sgd_new(t, tg_sequential_params(net),
                                   &(tg_sgd_options){0.1, 0.9, 0, 0, false});
    if (opt == NULL)
        return tg_last_status();
    if (tg_sequential_state_count(net) != 10)
        return wrong("the CNN lists its 10 state entries");
    tg_rng rng;
    tg_rng_seed(&rng, 9, 0);
    int64_t shape[] = {3, 1, 6, 6};
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 4, shape, -1.0, 1.0);
    tg_tensor *y = tg_sequential_forward(t, net, x);
    int rc = tg_backward(t, tg_mean(t, tg_mul(t, y, y)));
    if (rc == TG_OK)
        rc = tg_optimizer_step(opt);
    if (rc == TG_OK)
        rc = tg_sequential_set_training(net, false);
    if (rc == TG_OK && tg_sequential_forward(t, net, x) == NULL)
        rc = tg_last_status();
    if (rc != TG_OK)
        return rc;
    tg_checkpoint ck = {net, NULL, opt, NULL};
    rc = tg_checkpoint_save(in_dir("cnn.npz"), &ck);
    if (rc != TG_OK)
        return dir_entries() == 0 ? rc : wrong("a failed save left a file");
    tg_sequential *fresh = cnn_net(t, 2);
    tg_optimizer *opt2 = fresh == NULL ? NULL : tg_sgd_new(
        t, tg_sequential_params(fresh), &(tg_sgd_options){0.1, 0.9, 0, 0,
                                                           false});
    if (opt2 == NULL) {
        unlink(in_dir("cnn.npz"));
        return tg_last_status();
    }
    rc = tg_checkpoint_load(in_dir("cnn.npz"), &(tg_checkpoint){fresh, NULL,
                                                                opt2, NULL});
    unlink(in_dir("cnn.npz"));
    if (rc != TG_OK)
        return rc;
    for (int i = 0; i < tg_sequential_state_count(net); i++) {
        const tg_tensor *a = tg_sequential_state_at(net, i, NULL);
        const tg_tensor *b = tg_sequential_state_at(fresh, i, NULL);
        size_t n = (size_t)tg_numel(a) * tg_dtype_size(tg_dtype_of(a));
        if (memcmp(tg_dtype_of(a) == TG_F32 ? (const void *)tg_data_f32(a)
                   : (const void *)tg_data_f64(a), tg_dtype_of(b) == TG_F32
                   ? (const void *)tg_data_f32(b)
                   : (const void *)tg_data_f64(b), n) != 0)
            return wrong("the loaded CNN equals the saved one");
    }
    return TG_OK;
}

START_TEST(cnn_layers_under_oom)
{
    make_dir();
    scenario sc = {"cnn layers: conv2d, batch norm, pooling, dropout; "
                   "checkpoint", cnn_train_and_checkpoint, NULL, NULL};
    ck_assert_int_gt(fail_each_allocation(&sc, _i ? ONCE : STICKY), 0);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tg_test_tcase("seed");
    tcase_add_loop_test(tc, seed_with_json, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("mlp");
    tcase_add_loop_test(tc, mlp_training_step, 0, 6);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("save_load");
    tcase_add_loop_test(tc, model_save_and_load, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradcheck");
    tcase_add_loop_test(tc, gradcheck_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("train");
    tcase_add_loop_test(tc, train_checkpoint_under_oom, 0, 2);
    tcase_add_loop_test(tc, cnn_layers_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("select");
    tcase_add_loop_test(tc, select_ops_under_oom, 0, 3);
    tcase_add_loop_test(tc, conv_ops_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("seq");
    tcase_add_loop_test(tc, seq_ops_under_oom, 0, 9);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("seq_layers");
    tcase_add_loop_test(tc, seq_layers_under_oom, 0, 9);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("pool");
    tcase_add_loop_test(tc, pool_ops_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("products");
    tcase_add_loop_test(tc, products_under_oom, 0, 3);
    tcase_add_loop_test(tc, gradgradcheck_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("index");
    tcase_add_loop_test(tc, index_ops_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("constructors");
    tcase_add_loop_test(tc, constructors_under_oom, 0, 3);
    tcase_add_loop_test(tc, seq_constructors_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
