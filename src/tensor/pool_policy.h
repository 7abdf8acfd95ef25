/*
 * pool_policy.h — internal: the thread pool's measurements and its
 * adaptive fallback (pool_policy.c), as pool.c uses them. Every call but
 * tg__pool_now_ns is made with pool.c's busy lock held.
 */
#ifndef TG_TENSOR_POOL_POLICY_H
#define TG_TENSOR_POOL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tg__pool_now_ns(void);

/* A calibration's result: the median cost of a split call (its time
 * beyond its share of the work) timed by the pool; measures the element
 * cost and sets the part sizes from both. */
void tg__pool_calibrated(int64_t split_ns);

/* The cost seen in a split call: the estimate (and so the part sizes)
 * follows the median of these. */
void tg__pool_observe_split(int64_t ns);

/* Forget past judgements and the fallback count (tg_set_num_threads). */
void tg__pool_adapt_reset(void);

/* After a split call: the caller ran `ran` of `parts` parts in `own` ns,
 * the call took `total` ns and ended at `now`; same_cpu: a worker ran on
 * the caller's CPU. */
void tg__pool_judge(int parts, int ran, int64_t own, int64_t total,
                    bool same_cpu, int64_t now);

/* Whether the next split call runs on the caller's thread alone (a
 * stretch of fallback is under way); counts it as a fallback. */
bool tg__pool_falling_back(void);

#endif
