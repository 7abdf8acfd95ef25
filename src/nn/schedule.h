/*
 * schedule.h — a learning-rate schedule's fields, shared by schedule.c and
 * the checkpoint files (checkpoint_save.c and checkpoint_load.c save and
 * restore the epoch).
 */
#ifndef TG_NN_SCHEDULE_H
#define TG_NN_SCHEDULE_H

#include "tapegrad/train.h"
#include "tensor/handle.h"

typedef enum {
    SCHED_STEP,
    SCHED_EXPONENTIAL,
    SCHED_COSINE,
    SCHED_WARMUP,
    SCHED_WARMUP_COSINE
} sched_kind;

struct tg_lr_schedule {
    tg__handle h;            /* first: the generation check (handle.h) */
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

/* TG_OK if s is a live schedule whose optimizer is live too; else the
 * NULL or TG_ESTATE error of handle.h, naming fn. */
int tg__schedule_check(const char *fn, const tg_lr_schedule *s);

#endif /* TG_NN_SCHEDULE_H */
