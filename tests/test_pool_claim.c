/*
 * test_pool_claim.c — rows claimed while the parts run
 * (tg__parallel_claim, src/tensor/pool_claim.c; session 9, lane balance).
 *
 * What it must never do: hand a row out twice or never (every case
 * counts each row's claims), call fn more than once per thread's share,
 * or keep a fast thread idle while a slow one still holds rows (a share
 * whose owner is stuck is taken from its back). CI runs it under
 * ThreadSanitizer (step tsan). That the conv kernels which claim give the
 * same bits on any thread count is checked where they are
 * (test_conv_implicit.c, test_conv_fused.c); here one more kernel-free
 * check: rows written by a claimed loop are the same on 1 to 4 threads.
 */
#include "tg_test.h"
#include "tensor/pool.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

enum { N_MAX = 5000 };

typedef struct tally {
    _Atomic unsigned char hits[N_MAX];
    _Atomic int calls;   /* fn's calls: one per thread taking part */
    _Atomic int chunks;  /* claims that returned rows */
    int64_t chunk;       /* the chunk asked for */
    _Atomic int bad;     /* a claim longer than chunk, or empty */
} tally;

static void count(void *ctx, tg__claimer *me)
{
    tally *t = ctx;
    atomic_fetch_add_explicit(&t->calls, 1, memory_order_relaxed);
    for (int64_t b, e; tg__claim_next(me, &b, &e);) {
        if (e <= b || e - b > t->chunk)
            atomic_fetch_add_explicit(&t->bad, 1, memory_order_relaxed);
        for (int64_t i = b; i < e; i++)
            atomic_fetch_add_explicit(&t->hits[i], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->chunks, 1, memory_order_relaxed);
    }
    /* Asked again after the end: still nothing. */
    int64_t b = -1, e = -1;
    if (tg__claim_next(me, &b, &e))
        atomic_fetch_add_explicit(&t->bad, 1, memory_order_relaxed);
}

static void claim_and_check(tally *t, int64_t n, int64_t chunk,
                            int64_t min_part)
{
    memset(t, 0, sizeof *t);
    t->chunk = chunk < 1 ? 1 : chunk;
    tg__parallel_claim(n, chunk, min_part, count, t);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++)
        wrong += atomic_load(&t->hits[i]) != 1;
    ck_assert_msg(wrong == 0, "n %lld, chunk %lld, min_part %lld, %d "
                  "threads: %lld rows not claimed exactly once",
                  (long long)n, (long long)chunk, (long long)min_part,
                  tg_num_threads(), (long long)wrong);
    ck_assert_int_eq(atomic_load(&t->bad), 0);
    ck_assert_int_eq(atomic_load(&t->chunks),
                     n > 0 ? (int)((n + t->chunk - 1) / t->chunk) : 0);
    int calls = atomic_load(&t->calls);
    ck_assert_int_le(calls, tg_num_threads());
    ck_assert_int_ge(calls, n > 0 ? 1 : 0);
    /* At most two min_part rows: one call, on the caller. */
    if (n > 0 && n < 2 * (min_part < 1 ? 1 : min_part))
        ck_assert_int_eq(calls, 1);
}

static bool threaded(void)
{
    if (tg_set_num_threads(2) == TG_OK)
        return true;
    ck_assert_int_eq(tg_num_threads(), 1);
    return false;
}

/* Many sizes, chunks and part sizes on 1 to 4 threads. */
START_TEST(every_row_claimed_once)
{
    int most = threaded() ? 4 : 1;
    static tally t;
    static const int64_t chunks[] = {0, 1, 3, 16, 64, 5000};
    static const int64_t mins[] = {0, 1, 7, 100, 2500};
    for (int threads = 1; threads <= most; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        for (int call = 0; call < 600; call++) {
            int64_t n = call % 7 == 0 ? call / 7 % 3 : 1 + call * 37 % N_MAX;
            claim_and_check(&t, n, chunks[call % 6], mins[call / 6 % 5]);
        }
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* The owner of share 0 is stuck on its first row until the last row of
 * its share is done, which only another thread (taking from the back)
 * can do. With a bounded wait (1 s), so that a call the pool ran on one
 * thread ends: then nobody else ran, and the call says nothing (the
 * busy-core fallback runs the call after a slow one inline: the stuck
 * caller's part looks like a late worker to it). A worker that ran its own share but did not take the stuck
 * one's is the failure. */
typedef struct stuck {
    int64_t n;
    _Atomic bool last_done;
    _Atomic int others_rows; /* rows done by threads not owning share 0 */
    _Atomic bool timed_out;
} stuck;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_for_thief(void *ctx, tg__claimer *me)
{
    stuck *st = ctx;
    for (int64_t b, e; tg__claim_next(me, &b, &e);) {
        if (me->own == 0 && b == 0) {
            int64_t until = now_ms() + 1000;
            while (!atomic_load(&st->last_done))
                if (now_ms() > until) {
                    atomic_store(&st->timed_out, true);
                    break;
                }
        }
        if (me->own != 0)
            atomic_fetch_add(&st->others_rows, 1);
        if (e == st->n / 2) /* share 0's last row (2 shares) */
            atomic_store(&st->last_done, true);
    }
}

START_TEST(a_stuck_share_is_taken_from_its_back)
{
    if (!threaded())
        return;
    int decided = 0;
    for (int call = 0; call < 20 && decided < 5; call++) {
        stuck st = {.n = 16};
        tg__parallel_claim(st.n, 1, 1, wait_for_thief, &st);
        if (atomic_load(&st.others_rows) == 0)
            continue; /* ran on one thread: says nothing */
        decided++;
        ck_assert_msg(!atomic_load(&st.timed_out), "call %d: the worker "
                      "ran %d rows but did not take the stuck share's last",
                      call, atomic_load(&st.others_rows));
        ck_assert_int_ge(atomic_load(&st.others_rows), 9);
    }
    ck_assert_int_gt(decided, 0);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* Rows of a claimed loop that write row-dependent values: the same bits
 * on 1 to 4 threads (the kernels' promise, without a kernel). */
static void square_rows(void *ctx, tg__claimer *me)
{
    float *y = ctx;
    for (int64_t b, e; tg__claim_next(me, &b, &e);)
        for (int64_t i = b; i < e; i++) {
            float v = (float)i * 0.37f;
            for (int k = 0; k < 8; k++)
                v = v * 0.999f + 0.5f / (1.0f + v);
            y[i] = v;
        }
}

START_TEST(same_rows_on_any_thread_count)
{
    int most = threaded() ? 4 : 1;
    static float one[N_MAX], many[N_MAX];
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    tg__parallel_claim(N_MAX, 5, 1, square_rows, one);
    for (int threads = 2; threads <= most; threads++) {
        ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
        for (int call = 0; call < 50; call++) {
            memset(many, 0, sizeof many);
            tg__parallel_claim(N_MAX, 1 + call % 9, 1, square_rows, many);
            ck_assert_int_eq(memcmp(one, many, sizeof one), 0);
        }
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool_claim");
    TCase *tc = tg_test_tcase("claim");
    tcase_add_test(tc, every_row_claimed_once);
    tcase_add_test(tc, a_stuck_share_is_taken_from_its_back);
    tcase_add_test(tc, same_rows_on_any_thread_count);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
