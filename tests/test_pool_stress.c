/*
 * test_pool_stress.c — the thread pool's hand-off (src/tensor/pool.c)
 * under many tiny split calls: posting a job, claiming its parts and
 * finishing it, so that what a hand-off can get wrong shows: a part run
 * twice or never, a worker late for one job claiming a part of the next,
 * a worker asleep when a job is posted and never woken, a caller returning
 * before the last part is done. Written to review a lock-free hand-off
 * (branch s7-pool: a ticket word instead of pool.lock; it passed, under
 * ThreadSanitizer too, but measured no faster, so pool.c keeps its lock);
 * it holds any future hand-off to the same. CI runs it under
 * ThreadSanitizer (step tsan).
 *
 * Every case checks each element of every call written exactly once, and
 * runs thousands of calls so that the interleavings vary.
 */
#include "tg_test.h"
#include "tensor/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

enum { N_MAX = 4096 };

/* One call's record: how often each element was written, and parts run. */
typedef struct tally {
    _Atomic unsigned char hits[N_MAX];
    _Atomic int parts;
} tally;

static void count(void *ctx, int64_t begin, int64_t end)
{
    tally *t = ctx;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add_explicit(&t->hits[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->parts, 1, memory_order_relaxed);
}

/* Runs fn over [0, n) split with min_part 1, then checks the tally. */
static void split_and_check(tally *t, int64_t n, tg__range_fn fn, int call)
{
    memset(t, 0, sizeof *t);
    tg__parallel_for_split(n, 1, 1, fn, t);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++)
        wrong += atomic_load(&t->hits[i]) != 1;
    ck_assert_msg(wrong == 0, "call %d, n %lld, %d threads: %lld elements "
                  "not written exactly once", call, (long long)n,
                  tg_num_threads(), (long long)wrong);
    ck_assert_int_ge(atomic_load(&t->parts), 1);
    ck_assert_int_le(atomic_load(&t->parts), tg_num_threads());
}

static bool threaded(void)
{
    if (tg_set_num_threads(2) == TG_OK)
        return true;
    ck_assert_int_eq(tg_num_threads(), 1);
    return false;
}

/* Thousands of tiny calls back to back at 2..8 threads: the workers are
 * spinning, so a late one meets the next job's ticket. */
START_TEST(tiny_calls_back_to_back)
{
    int most = threaded() ? 8 : 1;
    static tally t;
    for (int threads = 2; threads <= most; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        for (int call = 0; call < 3000; call++)
            split_and_check(&t, 2 + call % 61, count, call);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* Calls with pauses longer than the spin window between some of them, so
 * that workers go to sleep on the condition variable and must be woken:
 * a lost wake-up would leave the caller doing every part (still correct)
 * or, in the done direction, hang the test (its timeout fails it). */
START_TEST(calls_after_the_workers_sleep)
{
    if (!threaded())
        return;
    static tally t;
    for (int call = 0; call < 200; call++) {
        if (call % 10 == 0) {
            struct timespec pause = {0, 300000}; /* 300 us > the spin */
            nanosleep(&pause, NULL);
        }
        split_and_check(&t, N_MAX, count, call);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* A part that makes split calls of its own: those run inline, whole (the
 * outer call holds the workers), and every element of both is written
 * once. */
static tally inner[8];

static void nesting(void *ctx, int64_t begin, int64_t end)
{
    count(ctx, begin, end);
    for (int64_t i = begin; i < end && i < 8; i++) {
        memset(&inner[i], 0, sizeof inner[i]);
        tg__parallel_for_split(100, 1, 1, count, &inner[i]);
    }
}

START_TEST(nested_calls_in_every_part)
{
    int most = threaded() ? 4 : 1;
    static tally t;
    for (int threads = 1; threads <= most; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        for (int call = 0; call < 500; call++) {
            split_and_check(&t, 8, nesting, call);
            for (int i = 0; i < 8; i++) {
                /* Inline (one part) when the outer call holds the
                 * workers; split when the outer call itself ran inline
                 * (the busy-core fallback lets go of them first). */
                ck_assert_int_ge(atomic_load(&inner[i].parts), 1);
                ck_assert_int_le(atomic_load(&inner[i].parts), threads);
                for (int k = 0; k < 100; k++)
                    ck_assert_int_eq(atomic_load(&inner[i].hits[k]), 1);
            }
        }
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* The thread count changes between calls (workers stopped, joined and
 * started again each time, with a calibration): no call is lost. */
START_TEST(thread_count_changes_between_calls)
{
    int most = threaded() ? 8 : 1;
    static tally t;
    for (int call = 0; call < 400; call++) {
        if (call % 20 == 0)
            ck_assert_int_eq(tg_set_num_threads(1 + call / 20 % most),
                             TG_OK);
        split_and_check(&t, 1 + call % N_MAX, count, call);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* Several callers at once: one owns the workers, the others run inline. */
static void *caller_main(void *arg)
{
    tally *t = arg;
    for (int call = 0; call < 1000; call++) {
        memset(t, 0, sizeof *t);
        tg__parallel_for_split(64 + call % 64, 1, 1, count, t);
        for (int i = 0; i < 64 + call % 64; i++)
            if (atomic_load(&t->hits[i]) != 1)
                return t; /* failure: the main thread reports it */
    }
    return NULL;
}

START_TEST(concurrent_callers_stress)
{
    int threads = threaded() ? 3 : 1;
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    static tally t[3];
    pthread_t callers[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&callers[i], NULL, caller_main,
                                        &t[i]), 0);
    for (int i = 0; i < 3; i++) {
        void *failed = NULL;
        pthread_join(callers[i], &failed);
        ck_assert_msg(failed == NULL, "caller %d: an element not written "
                      "exactly once", i);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool_stress");
    TCase *tc = tg_test_tcase("handoff");
    tcase_add_test(tc, tiny_calls_back_to_back);
    tcase_add_test(tc, calls_after_the_workers_sleep);
    tcase_add_test(tc, nested_calls_in_every_part);
    tcase_add_test(tc, thread_count_changes_between_calls);
    tcase_add_test(tc, concurrent_callers_stress);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
