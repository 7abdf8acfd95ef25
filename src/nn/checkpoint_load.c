/*
 * checkpoint_load.c — tg_checkpoint_load: read a .npz file written by
 * tg_checkpoint_save (the layout is in checkpoint.c), check every array
 * against the model, the optimizer and the schedule (names, shapes,
 * dtypes, counts and options they would accept), and only then copy it
 * all in, so that a refused file changes nothing.
 */
#include "checkpoint.h"
#include "schedule.h"
#include "tapegrad/npy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const fn_load = "tg_checkpoint_load";

/* The array called name (formatted), or NULL and TG_ENOTFOUND naming it. */
static tg_tensor *need(const tg_npz *z, const char *path, const char *what,
                       const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->names[i], name) == 0)
            return z->arrays[i];
    tg_set_error(TG_ENOTFOUND, "%s: '%s' has no array '%s' (%s)", fn_load,
                 path, name, what);
    return NULL;
}

/* TG_OK if a (from the file, called name) has x's shape and dtype. */
static int same_kind(const char *path, const char *name, const tg_tensor *a,
                     const tg_tensor *x)
{
    char sa[96], sx[96];
    bool shape_ok = tg_ndim(a) == tg_ndim(x);
    for (int d = 0; shape_ok && d < tg_ndim(x); d++)
        shape_ok = tg_shape(a)[d] == tg_shape(x)[d];
    if (!shape_ok)
        return tg_set_error(TG_ESHAPE, "%s: '%s' holds '%s' of shape %s, but "
                            "the model's is %s", fn_load, path, name,
                            tg_shape_str(a, sa, sizeof sa),
                            tg_shape_str(x, sx, sizeof sx));
    if (tg_dtype_of(a) != tg_dtype_of(x))
        return tg_set_error(TG_EDTYPE, "%s: '%s' holds '%s' as %s, but the "
                            "model's is %s", fn_load, path, name,
                            tg_dtype_name(tg_dtype_of(a)),
                            tg_dtype_name(tg_dtype_of(x)));
    return TG_OK;
}

/* A scalar array holding a whole number in 0..max, or -1 (and an error). */
static int64_t whole(const char *path, const char *name, const tg_tensor *a,
                     double max)
{
    double v = tg_numel(a) == 1 ? tg_item(a) : NAN;
    if (!(v >= 0.0 && v <= max && v == floor(v))) {
        tg_set_error(TG_EFORMAT, "%s: '%s' holds '%s' = %g, not a count in "
                     "0..%g", fn_load, path, name, v, max);
        return -1;
    }
    return (int64_t)v;
}

static bool prefixed(const char *name, const char *prefix)
{
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

static int check_model(const char *path, const tg_checkpoint *c,
                       const tg_npz *z)
{
    char buf[32];
    int n = tg__ckpt_model_count(c);
    for (int i = 0; i < n; i++) {
        const char *name;
        tg_tensor *x = tg__ckpt_model_at(c, i, &name, buf, sizeof buf);
        if (x == NULL)
            return tg_last_status();
        tg_tensor *a = need(z, path, "the model has it", "%s", name);
        if (a == NULL)
            return TG_ENOTFOUND;
        int rc = same_kind(path, name, a, x);
        if (rc != TG_OK)
            return rc;
    }
    /* Every other array must belong to an optimizer or a schedule. */
    for (int k = 0; k < z->n; k++) {
        const char *zn = z->names[k];
        if (prefixed(zn, "optimizer.") || prefixed(zn, "schedule."))
            continue;
        bool found = false;
        for (int i = 0; !found && i < n; i++) {
            const char *name;
            tg__ckpt_model_at(c, i, &name, buf, sizeof buf);
            found = strcmp(name, zn) == 0;
        }
        if (!found)
            return tg_set_error(TG_EINVAL, "%s: '%s' holds '%s', which the "
                                "model does not have", fn_load, path, zn);
    }
    return TG_OK;
}

static const char *const kind_names[] = {"SGD", "Adam", "AdamW"};

/* The options in v must be what the optimizer's _new would accept. */
static bool options_ok(opt_kind kind, const double *v)
{
    for (int i = 0; i < CKPT_N_OPTIONS; i++)
        if (!(v[i] >= 0.0) || isinf(v[i]))
            return false;
    if (kind == OPT_SGD)
        return v[4] == 0.0 || v[4] == 1.0;
    return v[1] < 1.0 && v[2] < 1.0;
}

static int check_optimizer(const char *path, const tg_optimizer *o,
                           const tg_npz *z, double *options, int64_t *counts)
{
    tg_tensor *k = need(z, path, "the optimizer's kind", "optimizer.kind");
    if (k == NULL)
        return TG_ENOTFOUND;
    int64_t kind = whole(path, "optimizer.kind", k, 2);
    if (kind < 0)
        return TG_EFORMAT;
    if (kind != (int64_t)o->kind)
        return tg_set_error(TG_EINVAL, "%s: '%s' holds the state of %s, but "
                            "the optimizer is %s", fn_load, path,
                            kind_names[kind], kind_names[o->kind]);
    tg_tensor *v = need(z, path, "the optimizer's options",
                        "optimizer.options");
    if (v == NULL)
        return TG_ENOTFOUND;
    if (tg_ndim(v) != 1 || tg_numel(v) != CKPT_N_OPTIONS ||
        tg_dtype_of(v) != TG_F64)
        return tg_set_error(TG_EFORMAT, "%s: '%s' holds 'optimizer.options' "
                            "that are not %d f64 values", fn_load, path,
                            CKPT_N_OPTIONS);
    memcpy(options, tg_data_f64(v), CKPT_N_OPTIONS * sizeof *options);
    if (!options_ok(o->kind, options))
        return tg_set_error(TG_EFORMAT, "%s: '%s' holds options that %s "
                            "refuses", fn_load, path, kind_names[o->kind]);
    if (o->kind == OPT_SGD && o->n > 0 &&
        (options[1] > 0) != (o->state1[0] != NULL))
        return tg_set_error(TG_EINVAL, "%s: '%s' holds SGD %s momentum, but "
                            "the optimizer was made %s it", fn_load, path,
                            options[1] > 0 ? "with" : "without",
                            options[1] > 0 ? "without" : "with");
    for (int64_t i = 0; i < o->n; i++) {
        char name[64];
        snprintf(name, sizeof name, "optimizer.%lld.step", (long long)i);
        tg_tensor *s = need(z, path, "the optimizer has that parameter",
                            "%s", name);
        if (s == NULL)
            return TG_ENOTFOUND;
        if ((counts[i] = whole(path, name, s, 9007199254740992.0)) < 0)
            return TG_EFORMAT;
        for (int j = 0; j < 2; j++) {
            const tg_tensor *x = tg__ckpt_state_of(o, i, j);
            if (x == NULL)
                continue;
            snprintf(name, sizeof name, "optimizer.%lld.%s", (long long)i,
                     tg__ckpt_state_name(o, j));
            tg_tensor *a = need(z, path, "the optimizer has it", "%s", name);
            if (a == NULL)
                return TG_ENOTFOUND;
            int rc = same_kind(path, name, a, x);
            if (rc != TG_OK)
                return rc;
        }
    }
    char name[64];
    snprintf(name, sizeof name, "optimizer.%lld.step", (long long)o->n);
    for (int k2 = 0; k2 < z->n; k2++)
        if (strcmp(z->names[k2], name) == 0)
            return tg_set_error(TG_EINVAL, "%s: '%s' holds optimizer state "
                                "for more than the optimizer's %lld "
                                "parameters", fn_load, path,
                                (long long)o->n);
    return TG_OK;
}

static int check_schedule(const char *path, const tg_lr_schedule *s,
                          const tg_npz *z, double *base_lr, int64_t *epoch)
{
    tg_tensor *k = need(z, path, "the schedule's kind", "schedule.kind");
    tg_tensor *b = k ? need(z, path, "the schedule's base rate",
                            "schedule.base_lr") : NULL;
    tg_tensor *e = b ? need(z, path, "the schedule's epoch",
                            "schedule.epoch") : NULL;
    if (e == NULL)
        return TG_ENOTFOUND;
    int64_t kind = whole(path, "schedule.kind", k, SCHED_WARMUP_COSINE);
    if (kind < 0)
        return TG_EFORMAT;
    if (kind != (int64_t)s->kind)
        return tg_set_error(TG_EINVAL, "%s: '%s' holds a schedule of another "
                            "kind (%lld, this one is %d)", fn_load, path,
                            (long long)kind, (int)s->kind);
    *base_lr = tg_numel(b) == 1 ? tg_item(b) : NAN;
    if (!(*base_lr >= 0.0) || isinf(*base_lr))
        return tg_set_error(TG_EFORMAT, "%s: '%s' holds a base rate %g",
                            fn_load, path, *base_lr);
    *epoch = whole(path, "schedule.epoch", e, 9007199254740992.0);
    return *epoch < 0 ? TG_EFORMAT : TG_OK;
}

static void copy_into(tg_tensor *dst, const tg_tensor *src)
{
    size_t n = (size_t)tg_numel(dst);
    if (tg_dtype_of(dst) == TG_F32)
        memcpy(tg_mut_f32(dst), tg_data_f32(src), n * sizeof(float));
    else
        memcpy(tg_mut_f64(dst), tg_data_f64(src), n * sizeof(double));
}

static void restore_options(tg_optimizer *o, const double *v)
{
    if (o->kind == OPT_SGD)
        o->sgd = (tg_sgd_options){v[0], v[1], v[2], v[3], v[4] != 0.0};
    else
        o->adam = (tg_adam_options){v[0], v[1], v[2], v[3], v[4]};
}

/* Everything is checked: now write it all. */
static void apply(const tg_checkpoint *c, const tg_npz *z,
                  const double *options, const int64_t *counts,
                  double base_lr, int64_t epoch)
{
    char buf[32];
    for (int i = 0; i < tg__ckpt_model_count(c); i++) {
        const char *name;
        tg_tensor *x = tg__ckpt_model_at(c, i, &name, buf, sizeof buf);
        copy_into(x, tg_npz_get(z, name));
    }
    tg_optimizer *o = c->optimizer;
    if (o != NULL) {
        restore_options(o, options);
        for (int64_t i = 0; i < o->n; i++) {
            o->count[i] = counts[i];
            for (int j = 0; j < 2; j++) {
                char name[64];
                if (tg__ckpt_state_of(o, i, j) == NULL)
                    continue;
                snprintf(name, sizeof name, "optimizer.%lld.%s",
                         (long long)i, tg__ckpt_state_name(o, j));
                copy_into(tg__ckpt_state_of(o, i, j), tg_npz_get(z, name));
            }
        }
    }
    if (c->schedule != NULL) {
        c->schedule->base_lr = base_lr;
        c->schedule->epoch = epoch;
    }
}

int tg_checkpoint_load(const char *path, const tg_checkpoint *c)
{
    int rc = tg__ckpt_check_args(fn_load, path, c);
    if (rc != TG_OK)
        return rc;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return tg_last_status();
    const tg_npz *z = tg_npz_load(t, path);
    double options[CKPT_N_OPTIONS] = {0}, base_lr = 0.0;
    int64_t epoch = 0;
    const tg_optimizer *o = c->optimizer;
    int64_t *counts = o != NULL
        ? tg_tape_alloc(t, (size_t)(o->n + 1) * sizeof *counts) : NULL;
    if (z == NULL || (o != NULL && counts == NULL)) {
        char why[512];
        snprintf(why, sizeof why, "%s", tg_last_error());
        rc = tg_set_error(tg_last_status(), "%s: %s", fn_load, why);
    } else {
        rc = check_model(path, c, z);
        if (rc == TG_OK && o != NULL)
            rc = check_optimizer(path, o, z, options, counts);
        if (rc == TG_OK && c->schedule != NULL)
            rc = check_schedule(path, c->schedule, z, &base_lr, &epoch);
        if (rc == TG_OK)
            apply(c, z, options, counts, base_lr, epoch);
    }
    tg_tape_free(t);
    return rc;
}
