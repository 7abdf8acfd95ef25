/*
 * checkpoint_save.c — tg_checkpoint_save: collect the model's arrays, the
 * optimizer's options and state and the schedule's position under their
 * names (the layout is in checkpoint.c) and write them as one .npz file.
 */
#include "checkpoint.h"
#include "schedule.h"
#include "tapegrad/npy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct entries {
    tg_tape *t;
    int n, cap;
    const char **names;
    const tg_tensor **arrays;
} entries;

static int push(entries *e, const tg_tensor *x, const char *fmt, ...)
{
    if (x == NULL)
        return tg_last_status();
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 32;
        const char **names = tg_tape_alloc(e->t, (size_t)cap * sizeof *names);
        const tg_tensor **arrays = tg_tape_alloc(e->t, (size_t)cap *
                                                 sizeof *arrays);
        if (names == NULL || arrays == NULL)
            return TG_ENOMEM;
        if (e->n > 0) {
            memcpy(names, e->names, (size_t)e->n * sizeof *names);
            memcpy(arrays, e->arrays, (size_t)e->n * sizeof *arrays);
        }
        e->names = names;
        e->arrays = arrays;
        e->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t len = strlen(buf) + 1;
    char *name = tg_tape_alloc(e->t, len);
    if (name == NULL)
        return TG_ENOMEM;
    memcpy(name, buf, len);
    e->names[e->n] = name;
    e->arrays[e->n++] = x;
    return TG_OK;
}

static void options_of(const tg_optimizer *o, double *v)
{
    if (o->kind == OPT_SGD) {
        const tg_sgd_options *s = &o->sgd;
        double w[CKPT_N_OPTIONS] = {s->lr, s->momentum, s->dampening,
                               s->weight_decay, s->nesterov ? 1.0 : 0.0};
        memcpy(v, w, sizeof w);
    } else {
        const tg_adam_options *a = &o->adam;
        double w[CKPT_N_OPTIONS] = {a->lr, a->beta1, a->beta2, a->eps,
                               a->weight_decay};
        memcpy(v, w, sizeof w);
    }
}

static int collect(entries *e, const tg_checkpoint *c)
{
    int rc = TG_OK;
    char buf[32];
    for (int i = 0; rc == TG_OK && i < tg__ckpt_model_count(c); i++) {
        const char *name;
        tg_tensor *x = tg__ckpt_model_at(c, i, &name, buf, sizeof buf);
        rc = x == NULL ? tg_last_status() : push(e, x, "%s", name);
    }
    const tg_optimizer *o = c->optimizer;
    if (o != NULL && rc == TG_OK) {
        double v[CKPT_N_OPTIONS];
        int64_t n_opt = CKPT_N_OPTIONS;
        options_of(o, v);
        rc = push(e, tg_scalar(e->t, TG_F64, (double)o->kind),
                  "optimizer.kind");
        if (rc == TG_OK)
            rc = push(e, tg_from_data(e->t, TG_F64, 1, &n_opt, v),
                      "optimizer.options");
        for (int64_t i = 0; rc == TG_OK && i < o->n; i++) {
            rc = push(e, tg_scalar(e->t, TG_F64, (double)o->count[i]),
                      "optimizer.%lld.step", (long long)i);
            for (int j = 0; rc == TG_OK && j < 2; j++)
                if (tg__ckpt_state_of(o, i, j) != NULL)
                    rc = push(e, tg__ckpt_state_of(o, i, j),
                              "optimizer.%lld.%s", (long long)i,
                              tg__ckpt_state_name(o, j));
        }
    }
    const tg_lr_schedule *s = c->schedule;
    if (s != NULL && rc == TG_OK) {
        rc = push(e, tg_scalar(e->t, TG_F64, (double)s->kind),
                  "schedule.kind");
        if (rc == TG_OK)
            rc = push(e, tg_scalar(e->t, TG_F64, s->base_lr),
                      "schedule.base_lr");
        if (rc == TG_OK)
            rc = push(e, tg_scalar(e->t, TG_F64, (double)s->epoch),
                      "schedule.epoch");
    }
    return rc;
}

int tg_checkpoint_save(const char *path, const tg_checkpoint *c)
{
    int rc = tg__ckpt_check_args("tg_checkpoint_save", path, c);
    if (rc != TG_OK)
        return rc;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return tg_last_status();
    entries e = {.t = t};
    rc = collect(&e, c);
    if (rc == TG_OK)
        rc = tg_npz_save(path, e.n, e.names, e.arrays);
    if (rc != TG_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", tg_last_error());
        rc = tg_set_error(rc, "tg_checkpoint_save: %s", why);
    }
    tg_tape_free(t);
    return rc;
}

