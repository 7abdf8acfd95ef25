/*
 * layer.c — the layer interface: a layer is a class (its forward and
 * train/eval switch) with a state, named parameters and buffers, and a
 * train/eval flag. The built-in layers: layer_basic.c (linear,
 * activation, flatten) and layer_cnn.c (convolution, pooling, dropout,
 * batch norm).
 */
#include "tapegrad.h"
#include "tapegrad/sequential.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"
#include "tensor/handle.h"

#include <stddef.h>
#include <string.h>

int tg__nn_null_arg(const char *fn, const char *what)
{
    if (tg_last_status() != TG_OK)
        return tg_last_status();
    return tg_set_error(TG_EINVAL, "%s: %s is NULL", fn, what);
}

/* A copy of s on t. */
static char *tape_strdup(tg_tape *t, const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = tg_tape_alloc(t, n);
    if (c != NULL)
        memcpy(c, s, n);
    return c;
}

/* A name a state-dict key can hold: non-empty, no '.'. */
bool tg__nn_name_ok(const char *name)
{
    return name != NULL && name[0] != '\0' && strchr(name, '.') == NULL;
}

/* Each layer sits behind a hidden tg__handle (tensor/handle.h), so a layer
 * used after a reset of its tape is caught as every handle is, while
 * struct tg_layer, whose fields users read, keeps its layout. */
typedef struct layer_block {
    tg__handle h;
    tg_layer l;
} layer_block;

int tg__layer_check(const char *fn, const tg_layer *l)
{
    if (l == NULL)
        return tg__nn_null_arg(fn, "layer");
    const layer_block *b = (const layer_block *)(const void *)
        ((const char *)l - offsetof(layer_block, l));
    return tg__check_handle(fn, &b->h, "layer");
}

tg_layer *tg_layer_new(tg_tape *t, const tg_layer_class *cls, void *state)
{
    if (t == NULL || cls == NULL || cls->forward == NULL) {
        tg__nn_null_arg("tg_layer_new", t == NULL ? "tape" : cls == NULL
                 ? "class" : "class's forward");
        return NULL;
    }
    layer_block *b = tg__handle_new("tg_layer_new", t, sizeof *b);
    if (b == NULL)
        return NULL;
    b->l = (tg_layer){.cls = cls, .state = state, .training = true, .tape = t};
    return &b->l;
}

tg_layer *tg__layer_with_params(tg_tape *t, const tg_layer_class *cls,
                                void *state, int n, const char *const *names,
                                tg_tensor *const *params)
{
    tg_layer *l = tg_layer_new(t, cls, state);
    for (int i = 0; l != NULL && i < n; i++)
        if (tg_layer_add_param(l, names[i], params[i]) != TG_OK)
            return NULL;
    return l;
}

static int find(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

/* Append (name, x) to one of l's two lists, growing it on l's tape. */
static int add_entry(const char *fn, tg_layer *l, const char *name,
                     tg_tensor *x, bool param)
{
    int rc = tg__layer_check(fn, l);
    if (rc != TG_OK)
        return rc;
    if (x == NULL)
        return tg__nn_null_arg(fn, "tensor");
    if (!tg__nn_name_ok(name))
        return tg_set_error(TG_EINVAL, "%s: name '%s' must be non-empty and "
                            "without '.'", fn, name ? name : "(null)");
    if (find(l->param_names, l->n_params, name) >= 0 ||
        find(l->buffer_names, l->n_buffers, name) >= 0)
        return tg_set_error(TG_EINVAL, "%s: the layer already has an entry "
                            "called '%s'", fn, name);
    for (int i = 0; i < l->n_params + l->n_buffers; i++) {
        bool p = i < l->n_params;
        if ((p ? l->params[i] : l->buffers[i - l->n_params]) == x)
            return tg_set_error(TG_EINVAL, "%s: the tensor is already the "
                                "layer's %s '%s'", fn, p ? "parameter"
                                : "buffer", p ? l->param_names[i]
                                : l->buffer_names[i - l->n_params]);
    }
    const char ***names = param ? &l->param_names : &l->buffer_names;
    tg_tensor ***items = param ? &l->params : &l->buffers;
    int *n = param ? &l->n_params : &l->n_buffers;
    int *cap = param ? &l->cap_params : &l->cap_buffers;
    char *copy = tape_strdup(l->tape, name);
    if (copy == NULL)
        return tg__error_in(fn);
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 4;
        const char **nn = tg_tape_alloc(l->tape, (size_t)c * sizeof *nn);
        tg_tensor **ni = tg_tape_alloc(l->tape, (size_t)c * sizeof *ni);
        if (nn == NULL || ni == NULL)
            return tg__error_in(fn);
        if (*n > 0) {
            memcpy(nn, *names, (size_t)*n * sizeof *nn);
            memcpy(ni, *items, (size_t)*n * sizeof *ni);
        }
        *names = nn;
        *items = ni;
        *cap = c;
    }
    if (param) {
        int rc = tg_set_requires_grad(x, true);
        if (rc != TG_OK)
            return rc;
    }
    (*names)[*n] = copy;
    (*items)[*n] = x;
    (*n)++;
    return TG_OK;
}

int tg_layer_add_param(tg_layer *l, const char *name, tg_tensor *x)
{
    return add_entry("tg_layer_add_param", l, name, x, true);
}

int tg_layer_add_buffer(tg_layer *l, const char *name, tg_tensor *x)
{
    return add_entry("tg_layer_add_buffer", l, name, x, false);
}

static tg_tensor *get_entry(const char *fn, const tg_layer *l,
                            const char *name, bool param)
{
    if (tg__layer_check(fn, l) != TG_OK)
        return NULL;
    if (name == NULL) {
        tg__nn_null_arg(fn, "name");
        return NULL;
    }
    int i = param ? find(l->param_names, l->n_params, name)
                  : find(l->buffer_names, l->n_buffers, name);
    if (i < 0) {
        tg_set_error(TG_ENOTFOUND, "%s: the %s layer has no %s called '%s'",
                     fn, l->cls->kind ? l->cls->kind : "user", param
                     ? "parameter" : "buffer", name);
        return NULL;
    }
    return param ? l->params[i] : l->buffers[i];
}

tg_tensor *tg_layer_param(const tg_layer *l, const char *name)
{
    return get_entry("tg_layer_param", l, name, true);
}

tg_tensor *tg_layer_buffer(const tg_layer *l, const char *name)
{
    return get_entry("tg_layer_buffer", l, name, false);
}

tg_tensor *tg_layer_forward(tg_tape *t, tg_layer *l, tg_tensor *x)
{
    /* A layer's forward never sees a NULL input: a NULL here comes from
     * a failed call (its error is kept) or is named. */
    if (tg__layer_check("tg_layer_forward", l) != TG_OK)
        return NULL;
    if (x == NULL) {
        tg__nn_null_arg("tg_layer_forward", "input");
        return NULL;
    }
    unsigned long errors = tg__error_count();
    tg_tensor *y = l->cls->forward(l, t, x);
    if (y == NULL && tg__error_count() != errors)
        tg__error_in("tg_layer_forward"); /* name the user's call first */
    else if (y == NULL) /* a user's forward that failed silently: never
                           leave a stale error (or none) behind a NULL */
        tg_set_error(TG_EINVAL, "tg_layer_forward: the forward of a '%s' "
                     "layer returned NULL without an error",
                     l->cls->kind ? l->cls->kind : "(unnamed)");
    return y;
}

int tg_layer_set_training(tg_layer *l, bool training)
{
    int rc = tg__layer_check("tg_layer_set_training", l);
    if (rc != TG_OK || l->cls->set_training == NULL) {
        if (rc == TG_OK)
            l->training = training;
        return rc;
    }
    bool was = l->training;
    l->training = training;
    unsigned long errors = tg__error_count();
    rc = l->cls->set_training(l, training);
    if (rc != TG_OK) {
        l->training = was; /* a refused switch changes nothing */
        if (tg__error_count() != errors)
            tg__error_in("tg_layer_set_training");
        else /* refused without a message: say which layer */
            tg_set_error(rc, "tg_layer_set_training: the set_training of a "
                         "'%s' layer returned %d (%s) without an error",
                         l->cls->kind ? l->cls->kind : "(unnamed)", rc,
                         tg_strerror(rc));
    }
    return rc;
}
