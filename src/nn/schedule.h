/*
 * schedule.h — a learning-rate schedule's fields, shared by schedule.c and
 * checkpoint.c (which saves and restores the epoch).
 */
#ifndef TG_NN_SCHEDULE_H
#define TG_NN_SCHEDULE_H

#include "tapegrad/train.h"

typedef enum {
    SCHED_STEP,
    SCHED_EXPONENTIAL,
    SCHED_COSINE,
    SCHED_WARMUP,
    SCHED_WARMUP_COSINE
} sched_kind;

struct tg_lr_schedule {
    sched_kind kind;
    tg_optimizer *opt;
    double base_lr;
    int64_t epoch;
    int64_t step_size;       /* step */
    double gamma;            /* step, exponential */
    int64_t t_max;           /* cosine */
    double eta_min;          /* cosine */
    double start, end;       /* warmup factors */
    int64_t iters;           /* warmup length */
};

#endif /* TG_NN_SCHEDULE_H */
