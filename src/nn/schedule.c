/*
 * schedule.c — learning-rate schedules over tg_optimizer_set_lr, each the
 * closed form of a torch.optim.lr_scheduler class (see train.h).
 */
#include "tapegrad.h"
#include "tapegrad/train.h"
#include "schedule.h"
#include "nn/optimizer.h"
#include "tensor/error_internal.h"

#include <math.h>

/* lr at epoch e for schedule kinds without a warmup part. */
static double plain_lr(const tg_lr_schedule *s, int64_t e)
{
    switch (s->kind) {
    case SCHED_STEP:
        return s->base_lr * pow(s->gamma, (double)(e / s->step_size));
    case SCHED_EXPONENTIAL:
        return s->base_lr * pow(s->gamma, (double)e);
    case SCHED_COSINE:
        return s->eta_min + (s->base_lr - s->eta_min) *
               (1.0 + cos(3.14159265358979323846 * (double)e / (double)s->t_max)) / 2.0;
    case SCHED_WARMUP: {
        /* From iters on, end itself: start + (end - start) k / iters
         * rounds, and for end 0 (a decay to zero) it gave -1.4e-17 (0.1,
         * 0, 3 iters), a rate tg_optimizer_set_lr refuses, so the step
         * failed. Before that the factor stays above end. */
        if (e >= s->iters)
            return s->base_lr * s->end;
        return s->base_lr * (s->start + (s->end - s->start) * (double)e /
                             (double)s->iters);
    }
    case SCHED_WARMUP_COSINE:
        break;
    }
    return NAN;
}

int tg__schedule_check(const char *fn, const tg_lr_schedule *s)
{
    int rc = tg__check_handle(fn, s, "schedule");
    return rc != TG_OK ? rc : tg__optimizer_check(fn, s->opt);
}

double tg_lr_schedule_lr_at(const tg_lr_schedule *s, int64_t e)
{
    if (s != NULL && tg__check_handle("tg_lr_schedule_lr_at", s, "schedule")
                         != TG_OK)
        return NAN;
    if (s == NULL || e < 0) {
        if (s != NULL || tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "tg_lr_schedule_lr_at: %s", s == NULL
                         ? "schedule is NULL" : "epoch must be >= 0");
        return NAN;
    }
    if (s->kind != SCHED_WARMUP_COSINE)
        return plain_lr(s, e);
    tg_lr_schedule part = *s;
    if (e < s->iters) {
        part.kind = SCHED_WARMUP;
        return plain_lr(&part, e);
    }
    part.kind = SCHED_COSINE;
    return plain_lr(&part, e - s->iters);
}

static bool finite_nonneg(double v) { return v >= 0.0 && !isinf(v); }

/* Check the optimizer, make the schedule and set the epoch-0 rate. */
static tg_lr_schedule *make(const char *fn, tg_tape *t, tg_optimizer *o,
                            tg_lr_schedule proto)
{
    if (t == NULL || o == NULL) {
        if (o != NULL || tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "%s: %s is NULL", fn,
                         t == NULL ? "tape" : "optimizer");
        return NULL;
    }
    if (tg__optimizer_check(fn, o) != TG_OK)
        return NULL;
    tg_lr_schedule *s = tg__handle_new(fn, t, sizeof *s);
    if (s == NULL)
        return NULL;
    proto.h = s->h;
    proto.opt = o;
    proto.base_lr = tg_optimizer_lr(o);
    proto.epoch = 0;
    *s = proto;
    if (tg_optimizer_set_lr(o, tg_lr_schedule_lr_at(s, 0)) != TG_OK) {
        tg__error_in(fn);
        return NULL;
    }
    return s;
}

static tg_lr_schedule *bad(const char *fn, const char *what, double v)
{
    tg_set_error(TG_EINVAL, "%s: %s %g is out of range", fn, what, v);
    return NULL;
}

tg_lr_schedule *tg_lr_step_new(tg_tape *t, tg_optimizer *o,
                               int64_t step_size, double gamma)
{
    const char *fn = "tg_lr_step_new";
    if (step_size < 1)
        return bad(fn, "step_size (>= 1)", (double)step_size);
    if (!finite_nonneg(gamma))
        return bad(fn, "gamma (finite, >= 0)", gamma);
    return make(fn, t, o, (tg_lr_schedule){.kind = SCHED_STEP,
                .step_size = step_size, .gamma = gamma});
}

tg_lr_schedule *tg_lr_exponential_new(tg_tape *t, tg_optimizer *o,
                                      double gamma)
{
    const char *fn = "tg_lr_exponential_new";
    if (!finite_nonneg(gamma) || gamma == 0.0)
        return bad(fn, "gamma (finite, > 0)", gamma);
    return make(fn, t, o, (tg_lr_schedule){.kind = SCHED_EXPONENTIAL,
                .gamma = gamma});
}

tg_lr_schedule *tg_lr_cosine_new(tg_tape *t, tg_optimizer *o, int64_t t_max,
                                 double eta_min)
{
    const char *fn = "tg_lr_cosine_new";
    if (t_max < 1)
        return bad(fn, "t_max (>= 1)", (double)t_max);
    if (!finite_nonneg(eta_min))
        return bad(fn, "eta_min (finite, >= 0)", eta_min);
    return make(fn, t, o, (tg_lr_schedule){.kind = SCHED_COSINE,
                .t_max = t_max, .eta_min = eta_min});
}

static const char *check_warmup(double start, double end, int64_t iters,
                                double *v)
{
    if (!(start > 0.0 && start <= 1.0))
        return *v = start, "start_factor (in (0, 1])";
    if (!(end >= 0.0 && end <= 1.0))
        return *v = end, "end_factor (in [0, 1])";
    if (iters < 1)
        return *v = (double)iters, "iters (>= 1)";
    return NULL;
}

tg_lr_schedule *tg_lr_warmup_new(tg_tape *t, tg_optimizer *o,
                                 double start_factor, double end_factor,
                                 int64_t iters)
{
    const char *fn = "tg_lr_warmup_new", *why;
    double v;
    if ((why = check_warmup(start_factor, end_factor, iters, &v)) != NULL)
        return bad(fn, why, v);
    return make(fn, t, o, (tg_lr_schedule){.kind = SCHED_WARMUP,
                .start = start_factor, .end = end_factor, .iters = iters});
}

tg_lr_schedule *tg_lr_warmup_cosine_new(tg_tape *t, tg_optimizer *o,
                                        double start_factor, int64_t warmup,
                                        int64_t t_max, double eta_min)
{
    const char *fn = "tg_lr_warmup_cosine_new", *why;
    double v;
    if ((why = check_warmup(start_factor, 1.0, warmup, &v)) != NULL)
        return bad(fn, why[0] == 'i' ? "warmup (>= 1)" : why, v);
    if (t_max < 1)
        return bad(fn, "t_max (>= 1)", (double)t_max);
    if (!finite_nonneg(eta_min))
        return bad(fn, "eta_min (finite, >= 0)", eta_min);
    return make(fn, t, o, (tg_lr_schedule){.kind = SCHED_WARMUP_COSINE,
                .start = start_factor, .end = 1.0, .iters = warmup,
                .t_max = t_max, .eta_min = eta_min});
}

int tg_lr_schedule_step(tg_lr_schedule *s)
{
    int rc = tg__schedule_check("tg_lr_schedule_step", s);
    if (rc != TG_OK)
        return rc;
    rc = tg_optimizer_set_lr(s->opt, tg_lr_schedule_lr_at(s, s->epoch + 1));
    if (rc != TG_OK)
        return tg__error_in("tg_lr_schedule_step");
    s->epoch++;
    return TG_OK;
}

int64_t tg_lr_schedule_epoch(const tg_lr_schedule *s)
{
    if (s == NULL) {
        if (tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "tg_lr_schedule_epoch: schedule is NULL");
        return -1;
    }
    if (tg__check_handle("tg_lr_schedule_epoch", s, "schedule") != TG_OK)
        return -1;
    return s->epoch;
}
