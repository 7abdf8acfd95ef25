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

#include <dirent.h>
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

/* A scenario: run on tape t, clean up after itself (except t), and return
 * TG_OK with right results, or the status it failed with. */
typedef int (*scenario_fn)(tg_tape *t);

typedef enum mode { STICKY, ONCE } mode;

/*
 * Fail allocations 1, 2, ... of fn in turn, checking the contract after
 * each; returns how many failures were injected (runs that reached their
 * k-th allocation).
 */
static long fail_each_allocation(const char *name, scenario_fn fn, mode m)
{
    long injected = 0, absorbed = 0;
    for (long k = 1;; k++) {
        tg_tape *t = tg_tape_new();
        ck_assert_ptr_nonnull(t);
        tg_clear_error();
        long before = tg_test_allocation_calls();
        if (m == STICKY)
            tg_test_fail_after(k);
        else
            tg_test_fail_once(k);
        int rc = fn(t);
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
        ck_assert_msg(fn(t) == TG_OK, "%s: the clean run after failing "
                      "allocation %ld failed: %s", name, k, tg_last_error());
        tg_tape_free(t);
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
 * Here the tape is warmed up by a clean run and reset (it keeps one block
 * big enough for the whole scenario), then filled so that only part of the
 * block is left, and every allocation from then on fails. Sweeping the
 * fill level across the block makes each tensor the scenario creates, in
 * turn, the one that finds no memory. Returns the number of distinct
 * failure messages seen (distinct places that ran out of memory).
 */
static long fail_at_each_fill_level(const char *name, scenario_fn fn)
{
    enum { MAX_SITES = 64 };
    static char sites[MAX_SITES][160];
    long n_sites = 0, failed = 0, levels = 0;
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(fn(t) == TG_OK, "%s: warm-up run failed: %s", name,
                  tg_last_error());
    for (size_t fill = 0;; fill += 1024) {
        tg_tape_reset(t);
        size_t reserved = tg_tape_bytes_reserved(t);
        if (fill > 0 && (tg_tape_alloc(t, fill) == NULL ||
                         tg_tape_bytes_reserved(t) != reserved))
            break;               /* the block is full */
        tg_clear_error();
        tg_test_fail_after(1);
        int rc = fn(t);
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
        ck_assert_msg(fn(t) == TG_OK, "%s: the clean run after fill %zu "
                      "failed: %s", name, fill, tg_last_error());
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
    rc = tg_write_json(in_dir("relu.json"), 3,
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
    if (_i < 2)
        ck_assert_int_gt(fail_each_allocation("seed", seed,
                                              _i ? ONCE : STICKY), 0);
    else
        ck_assert_int_gt(fail_at_each_fill_level("seed", seed), 0);
    remove_dir();
}
END_TEST

/* ---- (d) A gradient check of f(x, w) = sum(tanh(x * w) + x) * 0.5. */

static tg_tensor *gc_fn(tg_tape *t, tg_tensor *const *in, int n, void *ud)
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
    int rc = tg_gradcheck(gc_fn, NULL, in, 2, NULL, &r);
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
    ck_assert_int_gt(fail_each_allocation("gradcheck", gradcheck,
                                          _i ? ONCE : STICKY), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tg_test_tcase("seed");
    tcase_add_loop_test(tc, seed_with_json, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradcheck");
    tcase_add_loop_test(tc, gradcheck_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
