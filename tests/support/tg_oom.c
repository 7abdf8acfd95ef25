/*
 * tg_oom.c — the allocation-failure sweeps of tg_oom.h: on a fresh tape,
 * failing each allocation in turn (sticky or once), and on a warmed-up
 * tape filled to each level.
 */
#include "tg_oom.h"

#include <dirent.h>

/* Where scenarios write files: a fresh folder per test. */
static char dir[256];

const char *in_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

int dir_entries(void)
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

void make_dir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/tg_test_oom.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void remove_dir(void)
{
    ck_assert_int_eq(dir_entries(), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}

int wrong(const char *what)
{
    return tg_set_error(WRONG, "scenario check failed: %s", what);
}

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

void oom_sweep(const scenario *sc, mode m)
{
    if (m == FILL_LEVELS)
        ck_assert_int_gt(fail_at_each_fill_level(sc), 0);
    else
        ck_assert_int_gt(fail_each_allocation(sc, m), 0);
}
