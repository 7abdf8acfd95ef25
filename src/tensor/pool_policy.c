/*
 * pool_policy.c — what the thread pool (pool.c) measures and decides,
 * apart from how it runs its threads. Nothing here touches a thread.
 *
 * How small a part may be, and whether to split at all, is measured on
 * the machine, not fixed: tg_set_num_threads(n > 1) times the hand-off to
 * the workers (pool.c's calibrate) and one element of a streaming loop
 * (element_ns), which set the elementwise part size
 * (tg__elementwise_part); and each split call is judged afterwards by the
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
#include <time.h>

/* The elementwise part size and what the last calibration measured. */
_Atomic int64_t tg__elementwise_part_value = (int64_t)1 << 16;
static _Atomic double handoff_ns_measured, element_ns_measured;
static _Atomic int64_t fallbacks;

void tg__pool_calibration(double *handoff_ns, double *element_ns)
{
    *handoff_ns = atomic_load(&handoff_ns_measured);
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

/* The time of one element of y = 1.5 x + 0.5 over f32 data in the cache:
 * the cheapest elementwise loop there is (best of 5 runs of 64K). */
static double element_ns(void)
{
    enum { N = 4096, REPEAT = 16 };
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
static double handoff_est_ns;         /* the current hand-off estimate */

/* The elementwise part for the hand-off estimate: the power of two
 * (2^10 to 2^20) whose elements cost at least one hand-off. */
static void set_part(void)
{
    int64_t part = (int64_t)1 << 10;
    while (part < ((int64_t)1 << 20) &&
           (double)part * element_cost_ns < handoff_est_ns)
        part *= 2;
    atomic_store_explicit(&tg__elementwise_part_value, part,
                          memory_order_relaxed);
    atomic_store(&handoff_ns_measured, handoff_est_ns);
}

/*
 * A hand-off seen in a split call (from posting to a worker's first
 * claim; or the caller's own time, a lower bound, when no worker came):
 * the estimate follows a lower value at once and a higher one slowly
 * (1/64 of the way per call), so one descheduled worker does not move
 * it far but a machine that stays loaded raises the part size.
 */
void tg__pool_observe_handoff(int64_t ns)
{
    double d = (double)ns - handoff_est_ns;
    handoff_est_ns += d < 0 ? d : d / 64;
    set_part();
}

/* The end of a calibration: the best hand-off the pool timed, the element
 * cost measured here, and the elementwise part set from both. */
void tg__pool_calibrated(int64_t best_handoff_ns)
{
    element_cost_ns = element_ns();
    handoff_est_ns = (double)best_handoff_ns;
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
void tg__pool_judge(int parts, int ran, int64_t own, int64_t total,
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
