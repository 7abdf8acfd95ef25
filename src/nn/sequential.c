/*
 * sequential.c — layers run in order, with state-dict names
 * ("0.weight", "conv1.bias") for checkpoints.
 */
#include "tapegrad.h"
#include "tapegrad/sequential.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"
#include "ops/linear_fused.h"
#include "tensor/handle.h"

#include <stdio.h>
#include <string.h>

/* One layer and its name; full[] caches "NAME.entry" for its parameters
 * then its buffers, rebuilt when the layer gains entries. */
typedef struct slot {
    tg_layer *layer;
    const char *name;
    const char **full;
    int n_full;
} slot;

struct tg_sequential {
    tg__handle h;        /* first: the generation check (handle.h) */
    tg_tape *tape;
    slot *slots;
    int n, cap;
    bool training;
    tg_params *params;
};

static int null_arg(const char *fn, const char *what)
{
    if (tg_last_status() != TG_OK)
        return tg_last_status();
    return tg_set_error(TG_EINVAL, "%s: %s is NULL", fn, what);
}

tg_sequential *tg_sequential_new(tg_tape *t)
{
    if (t == NULL) {
        null_arg("tg_sequential_new", "tape");
        return NULL;
    }
    tg_sequential *s = tg__handle_new("tg_sequential_new", t, sizeof *s);
    tg_params *p = s ? tg_params_new(t) : NULL;
    if (s == NULL || p == NULL) {
        tg__error_in("tg_sequential_new");
        return NULL;
    }
    s->tape = t;
    s->training = true;
    s->params = p;
    return s;
}

/* Each call below checks s and its layers before reading them. */
int tg__sequential_check(const char *fn, const tg_sequential *s)
{
    int rc = tg__check_handle(fn, s, "container");
    for (int i = 0; rc == TG_OK && i < s->n; i++)
        if (tg__layer_check(fn, s->slots[i].layer) != TG_OK)
            rc = tg_set_error(TG_ESTATE, "%s: layer %d ('%s') was freed by "
                              "a reset of its tape", fn, i, s->slots[i].name);
    return rc;
}

/* The index of the layer called name, or of layer l, or -1. */
static int find_name(const tg_sequential *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->slots[i].name, name) == 0)
            return i;
    return -1;
}

static int find_layer(const tg_sequential *s, const tg_layer *l)
{
    for (int i = 0; i < s->n; i++)
        if (s->slots[i].layer == l)
            return i;
    return -1;
}

static int add(const char *fn, tg_sequential *s, const char *name,
               tg_layer *l)
{
    int rc = tg__sequential_check(fn, s);
    if (rc == TG_OK)
        rc = tg__layer_check(fn, l);
    if (rc != TG_OK)
        return rc;
    char index[24];
    if (name == NULL) {
        snprintf(index, sizeof index, "%d", s->n);
        name = index;
    } else if (!tg__nn_name_ok(name)) {
        return tg_set_error(TG_EINVAL, "%s: name '%s' must be non-empty and "
                            "without '.'", fn, name);
    }
    int at = find_layer(s, l);
    if (at >= 0)
        return tg_set_error(TG_EINVAL, "%s: the layer is already in the "
                            "container, as '%s'", fn, s->slots[at].name);
    if (find_name(s, name) >= 0)
        return tg_set_error(TG_EINVAL, "%s: the container already has a "
                            "layer called '%s'", fn, name);
    size_t len = strlen(name) + 1;
    char *copy = tg_tape_alloc(s->tape, len);
    if (copy == NULL)
        return tg__error_in(fn);
    memcpy(copy, name, len);
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        slot *slots = tg_tape_alloc(s->tape, (size_t)cap * sizeof *slots);
        if (slots == NULL)
            return tg__error_in(fn);
        if (s->n > 0)
            memcpy(slots, s->slots, (size_t)s->n * sizeof *slots);
        s->slots = slots;
        s->cap = cap;
    }
    rc = tg_layer_set_training(l, s->training);
    if (rc != TG_OK)
        return tg__error_in(fn);
    s->slots[s->n++] = (slot){l, copy, NULL, 0};
    return TG_OK;
}

int tg_sequential_add(tg_sequential *s, tg_layer *l)
{
    return add("tg_sequential_add", s, NULL, l);
}

int tg_sequential_add_named(tg_sequential *s, const char *name, tg_layer *l)
{
    if (name == NULL)
        return null_arg("tg_sequential_add_named", "name");
    return add("tg_sequential_add_named", s, name, l);
}

/*
 * Layers i.. as one tg__linear_fused op when they are "flatten from axis
 * 1, linear", "linear, relu" or all three and x fits them: the same values
 * and gradients without the flatten's copy and the relu's pass, which
 * would run on this thread alone between two split calls (LeNet-5's
 * 64x400 copy forward and back, its 64x120 and 64x84 relus). Returns how
 * many layers it ran: 0 when the layers are not such a run.
 */
static int linear_run(tg_tape *t, const tg_sequential *s, int i,
                      tg_tensor **x)
{
    int at = i;
    bool flat = at + 1 < s->n &&
                tg__layer_flatten_start(s->slots[at].layer) == 1;
    at += flat;
    const tg_linear_layer *lin = tg__layer_linear(s->slots[at].layer);
    bool relu = at + 1 < s->n && tg__layer_is_relu(s->slots[at + 1].layer);
    if (lin == NULL || !(flat || relu) || t == NULL ||
        !tg__linear_fits(*x, lin->weight, lin->bias, flat))
        return 0;
    *x = tg__linear_fused(t, *x, lin->weight, lin->bias, flat, relu);
    if (*x == NULL) /* named as the linear layer's own failure */
        tg__error_in("tg_layer_forward");
    return at - i + 1 + relu;
}

tg_tensor *tg_sequential_forward(tg_tape *t, tg_sequential *s, tg_tensor *x)
{
    if (tg__sequential_check("tg_sequential_forward", s) != TG_OK)
        return NULL;
    if (x == NULL) {
        null_arg("tg_sequential_forward", "input");
        return NULL;
    }
    for (int i = 0; i < s->n && x != NULL; i++) {
        /* A relu layer then a max pool layer: one op, the same values
         * and gradients with less memory traffic (tg_relu_max_pool2d). */
        const tg_pool2d_options *pool =
            i + 1 < s->n ? tg__layer_max_pool_options(s->slots[i + 1].layer)
                         : NULL;
        if (pool != NULL && tg__layer_is_relu(s->slots[i].layer)) {
            x = tg_relu_max_pool2d(t, x, pool);
            if (x == NULL) /* named as the pool layer's own failure */
                tg__error_in("tg_layer_forward");
            i++;
            continue;
        }
        int ran = linear_run(t, s, i, &x);
        if (ran > 0) {
            i += ran - 1;
            continue;
        }
        x = tg_layer_forward(t, s->slots[i].layer, x);
    }
    if (x == NULL)
        tg__error_in("tg_sequential_forward");
    return x;
}

int tg_sequential_set_training(tg_sequential *s, bool training)
{
    int rc = tg__sequential_check("tg_sequential_set_training", s);
    if (rc != TG_OK)
        return rc;
    s->training = training;
    for (int i = 0; i < s->n; i++) {
        rc = tg_layer_set_training(s->slots[i].layer, training);
        if (rc != TG_OK)
            return tg__error_in("tg_sequential_set_training");
    }
    return TG_OK;
}

int tg_sequential_count(const tg_sequential *s)
{
    if (s == NULL)
        return 0;
    return tg__sequential_check("tg_sequential_count", s) == TG_OK ? s->n : 0;
}

static bool index_ok(const char *fn, const tg_sequential *s, int i)
{
    if (tg__sequential_check(fn, s) != TG_OK)
        return false;
    if (i < 0 || i >= s->n) {
        tg_set_error(TG_EINVAL, "%s: index %d is outside 0..%d (%d layers)",
                     fn, i, s->n - 1, s->n);
        return false;
    }
    return true;
}

tg_layer *tg_sequential_at(const tg_sequential *s, int i)
{
    return index_ok("tg_sequential_at", s, i) ? s->slots[i].layer : NULL;
}

const char *tg_sequential_name(const tg_sequential *s, int i)
{
    return index_ok("tg_sequential_name", s, i) ? s->slots[i].name : NULL;
}

static bool listed(const tg_params *p, const tg_tensor *x)
{
    for (int64_t i = 0; i < tg_params_count(p); i++)
        if (tg_params_at(p, i) == x)
            return true;
    return false;
}

tg_params *tg_sequential_params(tg_sequential *s)
{
    if (tg__sequential_check("tg_sequential_params", s) != TG_OK)
        return NULL;
    /* Append the parameters not listed yet: those of layers added since
     * the last call, or that a layer gained since. */
    for (int i = 0; i < s->n; i++) {
        const tg_layer *l = s->slots[i].layer;
        for (int j = 0; j < l->n_params; j++)
            if (!listed(s->params, l->params[j]) &&
                tg_params_add(s->params, l->params[j]) != TG_OK) {
                tg__error_in("tg_sequential_params");
                return NULL;
            }
    }
    return s->params;
}

int tg_sequential_state_count(const tg_sequential *s)
{
    if (s == NULL ||
        tg__sequential_check("tg_sequential_state_count", s) != TG_OK)
        return 0;
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->slots[i].layer->n_params + s->slots[i].layer->n_buffers;
    return n;
}

/* "NAME.entry" for every entry of slot k, made again if the layer has
 * gained entries since. */
static int full_names(const char *fn, tg_tape *t, slot *k)
{
    const tg_layer *l = k->layer;
    int n = l->n_params + l->n_buffers;
    if (k->full != NULL && k->n_full == n)
        return TG_OK;
    const char **full = tg_tape_alloc(t, (size_t)(n + 1) * sizeof *full);
    if (full == NULL)
        return tg__error_in(fn);
    for (int j = 0; j < n; j++) {
        const char *e = j < l->n_params ? l->param_names[j]
                                        : l->buffer_names[j - l->n_params];
        size_t len = strlen(k->name) + 1 + strlen(e) + 1;
        char *c = tg_tape_alloc(t, len);
        if (c == NULL)
            return tg__error_in(fn);
        snprintf(c, len, "%s.%s", k->name, e);
        full[j] = c;
    }
    k->full = full;
    k->n_full = n;
    return TG_OK;
}

tg_tensor *tg_sequential_state_at(const tg_sequential *s, int i,
                                  const char **name)
{
    if (tg__sequential_check("tg_sequential_state_at", s) != TG_OK)
        return NULL;
    int total = tg_sequential_state_count(s);
    if (i < 0 || i >= total) {
        tg_set_error(TG_EINVAL, "tg_sequential_state_at: index %d is outside "
                     "0..%d (%d entries)", i, total - 1, total);
        return NULL;
    }
    for (int k = 0;; k++) {
        const tg_layer *l = s->slots[k].layer;
        int n = l->n_params + l->n_buffers;
        if (i >= n) {
            i -= n;
            continue;
        }
        if (name != NULL) {
            if (full_names("tg_sequential_state_at", s->tape,
                           &s->slots[k]) != TG_OK)
                return NULL;
            *name = s->slots[k].full[i];
        }
        return i < l->n_params ? l->params[i] : l->buffers[i - l->n_params];
    }
}
