/*
 * pool_policy.h — internal: the thread pool's measurements and its
 * adaptive fallback (pool_policy.c), as pool.c uses them. Every call but
 * tg__pool_now_ns is made with pool.c's busy lock held.
 */
#ifndef TG_TENSOR_POOL_POLICY_H
#define TG_TENSOR_POOL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/pool.h"

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tg__pool_now_ns(void);

/* What a split call cost: its time (total ns) beyond its share of the
 * parts' summed work (work ns) over `parts` parts. */
int64_t tg__pool_split_cost(int64_t total, int64_t work, int parts);

/* A split call made for calibration: fn over [0, n) in `parts` parts
 * (part starts at align multiples); returns tg__pool_split_cost of it. */
typedef int64_t (*tg__pool_split_call)(tg__range_fn fn, int64_t n,
                                       int64_t align, int parts);

/* Calibrate (tg_set_num_threads, n > 1): the median cost of 31 calls of
 * a small elementwise job, made with call on `parts` parts, and the cost
 * of one element measured here; sets the part sizes from both. */
void tg__pool_calibrate(tg__pool_split_call call, int parts);

/* The cost seen in a split call: the estimate (and so the part sizes)
 * follows the median of these (tg__pool_after_split reports them). */
void tg__pool_observe_split(int64_t ns);

/* Forget past judgements and the fallback count (tg_set_num_threads). */
void tg__pool_adapt_reset(void);

/* After a split call: the caller ran `ran` of `parts` parts in `own` ns,
 * the call took `total` ns, the parts' own times summed to `work` ns;
 * same_cpu: a worker ran on the caller's CPU. Judges the call (the
 * fallback) and follows the cost of splitting. */
void tg__pool_after_split(int parts, int ran, int64_t own, int64_t total,
                          int64_t work, bool same_cpu);

/* Whether the next split call runs on the caller's thread alone (a
 * stretch of fallback is under way); counts it as a fallback. */
bool tg__pool_falling_back(void);

#endif
