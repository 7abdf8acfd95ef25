/*
 * pool_policy.c — what the thread pool (pool.c) measures and decides,
 * apart from how it runs its threads. Nothing here touches a thread.
 *
 * How small a part may be, and whether to split at all, is measured on
 * the machine, not fixed: tg_set_num_threads(n > 1) times what a split
 * call costs beyond its work (tg__pool_calibrate, with calls that pool.c
 * makes for it; then every split call, tg__pool_after_split) and one
 * element of a streaming loop (element_ns), which
 * set the least time a part must take (twice that cost) and from it the
 * elementwise part size (tg__elementwise_part); and each split call is
 * judged afterwards by the
 * time it gained or lost against the caller doing it alone (judge). When
 * the losses outweigh the recent gains (the other core is busy, so a
 * worker descheduled while holding a part made the caller wait), or a
 * worker ran on the caller's own CPU, the next calls run on the caller's
 * thread alone for a stretch of time: 1 ms at first, twice as long after
 * each further stretch, up to 256 ms; then the pool tries again. So a
 * busy core costs a probe now and then, not every call.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* clock_gettime, as in pool.c */
#endif
#include "tensor/pool_policy.h"

#include "tensor/pool.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* The elementwise part size, the least time of a part, one element's. */
_Atomic int64_t tg__elementwise_part_value = (int64_t)1 << 16;
static _Atomic double part_ns_now, element_ns_measured;
static _Atomic int64_t fallbacks;

void tg__pool_calibration(double *part_ns, double *element_ns)
{
    *part_ns = atomic_load(&part_ns_now);
    *element_ns = atomic_load(&element_ns_measured);
}

int64_t tg__pool_fallbacks(void)
{
    return atomic_load_explicit(&fallbacks, memory_order_relaxed);
}

int64_t tg__pool_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The time of one element of y = 1.5 x + 0.5 over f32 data in the
 * level-2 cache, where an op usually finds what the op before it wrote:
 * the cheapest elementwise loop there is (best of 5 runs of 128K; 512 KiB
 * in all, more than a level-1 cache: 0.33 ns on the Xeon of
 * bench/RESULTS.md. Over 4096 elements, in the level-1 cache, it measured
 * 0.08 ns, half of what W4's relu and SGD update take per element, which
 * made parts too large for W5's gather to be split). */
static double element_ns(void)
{
    enum { N = 1 << 16, REPEAT = 2 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)i;
    int64_t best = INT64_MAX;
    for (int run = 0; run < 5; run++) {
        int64_t t0 = tg__pool_now_ns();
        for (int r = 0; r < REPEAT; r++) {
            float *volatile out = y; /* each repeat stores again */
            for (int i = 0; i < N; i++)
                out[i] = 1.5f * x[i] + 0.5f;
        }
        int64_t t = tg__pool_now_ns() - t0;
        best = t < best ? t : best;
    }
    return (double)(best > 0 ? best : 1) / (N * REPEAT);
}

static double element_cost_ns = 1.0; /* what element_ns measured */
static double split_cost_ns;          /* the current estimate */

/*
 * A part must take at least PART_COSTS split costs. Cut in two, a call of
 * work w takes about w / 2 + the cost, so parts of exactly one cost gain
 * nothing; two make the smallest split call gain at least one cost.
 * (Measured on W4, 2 threads, Xeon: splitting calls of 2.6-5.7 us gained
 * -1.5 to +0.4 us each, with a cost of 1.3-2.3 us.)
 */
#define PART_COSTS 2

/* The elementwise part for the estimate: the power of two (2^10 to 2^20)
 * whose elements take at least a part's least time. */
static void set_part(void)
{
    double part_ns = PART_COSTS * split_cost_ns;
    int64_t part = (int64_t)1 << 10;
    while (part < ((int64_t)1 << 20) && (double)part * element_cost_ns < part_ns)
        part *= 2;
    atomic_store_explicit(&tg__elementwise_part_value, part,
                          memory_order_relaxed);
    atomic_store(&part_ns_now, part_ns);
}

/*
 * The cost seen in a split call (its time beyond its share of the work),
 * in a call that a worker took part in from another CPU: the estimate
 * moves 1/32 of itself towards each one, up or down, so it settles where
 * half the calls cost more and half less (their median), and one call
 * whose worker came late moves it by 3%, as one that happened to be quick
 * does. It stays between COST_LEAST_NS (a multiplicative step could not
 * leave 0) and COST_MOST_NS, a little above what W4's calls settle at on
 * the Xeon (1.5-2.4 us). A call that costs more found its worker asleep
 * or descheduled: that is judge's business (it runs the next calls on
 * one thread), not the price of splitting. W6's calls, with serial
 * stretches long enough for the worker to fall asleep, took the estimate
 * to a 10 us cap and its parts to 64K elements, which stopped splits
 * that paid and made W6-2threads 12% slower. And a part size that
 * stopped every split would stop the estimate from ever coming down.
 */
#define COST_LEAST_NS 100.0
#define COST_MOST_NS 3000.0

void tg__pool_observe_split(int64_t ns)
{
    double step = split_cost_ns / 32;
    split_cost_ns += (double)ns > split_cost_ns ? step : -step;
    if (split_cost_ns < COST_LEAST_NS)
        split_cost_ns = COST_LEAST_NS;
    if (split_cost_ns > COST_MOST_NS)
        split_cost_ns = COST_MOST_NS;
    set_part();
}

/* What a split call cost: its time beyond its share of the work. */
int64_t tg__pool_split_cost(int64_t total, int64_t work, int parts)
{
    return total - work / parts;
}

/* ---- calibration */

/*
 * A real split call for calibration: y = 1.5 x + 0.5 over CAL_N floats
 * of x that the caller has just written, as an op's output is written
 * just before the next op reads it; each worker's part then comes from
 * the caller's cache, which an empty hand-off does not pay for.
 */
enum { CAL_N = 1 << 14 };
static float cal_x[CAL_N], cal_y[CAL_N];

static void cal_part(void *ctx, int64_t begin, int64_t end)
{
    (void)ctx;
    for (int64_t i = begin; i < end; i++)
        cal_y[i] = 1.5f * cal_x[i] + 0.5f;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Measure what a split call costs beyond its work: the median of 31 calls
 * of cal_part on one part per thread, after a first one that may find the
 * workers asleep. (The best round trip of an empty job, which set the
 * part size before, is a fraction of it: 0.4 us against about 2 us on
 * the Xeon of bench/RESULTS.md, where W4's 16K-element relu, split on
 * that estimate, became slower.) Then the element cost, and the part
 * sizes from both; tg__pool_observe_split follows the cost from there
 * as the machine's load changes.
 */
void tg__pool_calibrate(tg__pool_split_call call, int parts)
{
    enum { ROUNDS = 31 };
    int64_t cost[ROUNDS];
    for (int i = -1; i < ROUNDS; i++) {
        for (int j = 0; j < CAL_N; j++)
            cal_x[j] = (float)(j ^ i);
        int64_t ns = call(cal_part, CAL_N, 16, parts);
        if (i >= 0)
            cost[i] = ns;
    }
    qsort(cost, ROUNDS, sizeof *cost, cmp_i64);
    element_cost_ns = element_ns();
    split_cost_ns = (double)cost[ROUNDS / 2];
    if (split_cost_ns < COST_LEAST_NS)
        split_cost_ns = COST_LEAST_NS;
    if (split_cost_ns > COST_MOST_NS)
        split_cost_ns = COST_MOST_NS;
    atomic_store(&element_ns_measured, element_cost_ns);
    set_part();
}

/* ---- the adaptive fallback (its callers hold pool.c's busy) */

/*
 * Each split call is judged by what it gained: the time the caller alone
 * would have taken (its own time per part, times the parts) less the time
 * the call took. The gains are summed, up to CREDIT_MOST_NS banked; when
 * the sum falls below -LOSS_MOST_NS (the workers cost more than they
 * saved), calls run on the caller's thread alone for a stretch of time.
 * Judging by time, not by counting late calls: a worker that comes a
 * little late to a small call (the caller did every part) costs next to
 * nothing and no longer counts like one that, descheduled while holding
 * a part, made the caller wait a scheduler slice; and W5's thousands of
 * small calls a second do not each pay for a probe.
 *
 * A stretch (of time, not of calls: a probe that finds the other core
 * busy costs up to a scheduler slice, milliseconds, whatever the size of
 * the call) starts at 1 ms and doubles with each further stretch, up to
 * 256 ms: on a machine whose other core stays busy, a probe every 256 ms
 * costs about 1%. It goes back to 1 ms once the calls have banked
 * CREDIT_MOST_NS again. A worker on the caller's CPU (same_cpu) starts a
 * stretch at once: it can only take turns with the caller.
 */
#define FALLBACK_FIRST_NS 1000000
#define FALLBACK_MOST_NS 256000000
#define CREDIT_MOST_NS 1000000
#define LOSS_MOST_NS 100000

static struct {
    int64_t credit_ns;   /* the gains of recent split calls, summed */
    int64_t until_ns;    /* run on the caller's thread until then (0: no) */
    int64_t window_ns;   /* how long the next stretch is */
} adapt = {0, 0, FALLBACK_FIRST_NS};

void tg__pool_adapt_reset(void)
{
    atomic_store_explicit(&fallbacks, 0, memory_order_relaxed);
    adapt.credit_ns = 0;
    adapt.until_ns = 0;
    adapt.window_ns = FALLBACK_FIRST_NS;
}

/*
 * After a split call: the caller ran `ran` of `parts` parts in own ns
 * (from posting the job), and the call took total ns; now is its end.
 */
static void judge(int parts, int ran, int64_t own, int64_t total,
                  bool same_cpu, int64_t now)
{
    int64_t alone = (int64_t)((double)own / ran * parts);
    adapt.credit_ns += alone - total;
    if (adapt.credit_ns >= CREDIT_MOST_NS) {
        adapt.credit_ns = CREDIT_MOST_NS;
        adapt.window_ns = FALLBACK_FIRST_NS;
    }
    if (!same_cpu && adapt.credit_ns >= -LOSS_MOST_NS)
        return;
    adapt.credit_ns = 0;
    adapt.until_ns = now + adapt.window_ns;
    if (adapt.window_ns < FALLBACK_MOST_NS)
        adapt.window_ns *= 2;
}

/* Whether this call is in a stretch on the caller's thread (and count it
 * as a fallback); the caller holds busy. */
bool tg__pool_falling_back(void)
{
    if (adapt.until_ns == 0)
        return false;
    if (tg__pool_now_ns() >= adapt.until_ns) { /* the stretch is over: try again */
        adapt.until_ns = 0;
        return false;
    }
    atomic_fetch_add_explicit(&fallbacks, 1, memory_order_relaxed);
    return true;
}

/* After a split call: judge it, and follow its cost if a worker helped
 * from another CPU (a call the caller did alone, or shared with a worker
 * on its own CPU, says nothing about the price of splitting). */
void tg__pool_after_split(int parts, int ran, int64_t own, int64_t total,
                          int64_t work, bool same_cpu)
{
    judge(parts, ran, own, total, same_cpu, tg__pool_now_ns());
    if (ran < parts && !same_cpu)
        tg__pool_observe_split(tg__pool_split_cost(total, work, parts));
}
