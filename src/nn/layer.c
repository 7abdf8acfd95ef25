/*
 * layer.c — the layer interface (named parameters and buffers, a
 * train/eval flag) and the built-in layers: linear, activation, flatten.
 */
#include "tapegrad.h"
#include "tapegrad/sequential.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"
#include "tensor/handle.h"

#include <stddef.h>
#include <stdio.h>
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

/* ---- linear ------------------------------------------------------------ */

static tg_tensor *linear_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    tg_linear_layer *lin = l->state;
    return tg_linear(t, x, lin->weight, lin->bias);
}

static const tg_layer_class linear_class = {"linear", linear_forward, NULL};

tg_layer *tg_layer_linear_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                              int64_t in, int64_t out, bool bias)
{
    if (t == NULL) {
        tg__nn_null_arg("tg_layer_linear_new", "tape");
        return NULL;
    }
    /* A failure leaves rng where it was and names this call. */
    tg_rng saved;
    if (rng != NULL)
        saved = *rng;
    tg_linear_layer *lin = tg_tape_alloc(t, sizeof *lin);
    tg_layer *l = NULL;
    if (lin != NULL &&
        tg_linear_layer_init(lin, t, NULL, rng, dt, in, out, bias) == TG_OK)
        l = tg_layer_new(t, &linear_class, lin);
    if (l == NULL || tg_layer_add_param(l, "weight", lin->weight) != TG_OK ||
        (bias && tg_layer_add_param(l, "bias", lin->bias) != TG_OK)) {
        if (rng != NULL)
            *rng = saved;
        tg__error_in("tg_layer_linear_new");
        return NULL;
    }
    return l;
}

/* ---- activations --------------------------------------------------------- */

typedef struct op_layer {
    const tg_op *op;
    const void *params;
    tg_activation_fn fn;
} op_layer;

static tg_tensor *op_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const op_layer *a = l->state;
    if (a->fn != NULL)
        return a->fn(t, x);
    return tg_apply(t, a->op, 1, &x, a->params);
}

static tg_layer *op_layer_new(const char *fn, tg_tape *t, const tg_op *op,
                              const void *params, tg_activation_fn f,
                              const char *kind)
{
    if (t == NULL) {
        tg__nn_null_arg(fn, "tape");
        return NULL;
    }
    if (op != NULL && op->arity != 1) {
        tg_set_error(TG_EINVAL, "%s: op '%s' takes %d inputs; a layer's op "
                     "takes one", fn, op->name, op->arity);
        return NULL;
    }
    if (op != NULL && op->params_size > 0 && params == NULL) {
        tg_set_error(TG_EINVAL, "%s: op '%s' needs its params (%zu bytes)",
                     fn, op->name, op->params_size);
        return NULL;
    }
    /* The class (for its kind), the state and copies of the params and
     * of the kind, on t. */
    size_t psize = op != NULL ? op->params_size : 0;
    size_t kind_len = strlen(kind) + 1;
    struct block {
        tg_layer_class cls;
        op_layer a;
    } *b = tg_tape_alloc(t, sizeof *b);
    void *pcopy = psize > 0 ? tg_tape_alloc(t, psize) : NULL;
    char *kcopy = tg_tape_alloc(t, kind_len);
    if (b == NULL || kcopy == NULL || (psize > 0 && pcopy == NULL)) {
        tg__error_in(fn);
        return NULL;
    }
    if (pcopy != NULL && params != NULL)
        memcpy(pcopy, params, psize);
    memcpy(kcopy, kind, kind_len);
    b->cls = (tg_layer_class){kcopy, op_forward, NULL};
    b->a = (op_layer){op, pcopy, f};
    tg_layer *l = tg_layer_new(t, &b->cls, &b->a);
    if (l == NULL)
        tg__error_in(fn);
    return l;
}

bool tg__layer_is_relu(const tg_layer *l)
{
    const op_layer *a = l->cls->forward == op_forward ? l->state : NULL;
    return a != NULL && a->op == tg_op_find("relu") && a->fn == NULL;
}

tg_layer *tg_layer_activation_new(tg_tape *t, const char *op_name)
{
    if (op_name == NULL) {
        tg__nn_null_arg("tg_layer_activation_new", "op name");
        return NULL;
    }
    const tg_op *op = tg_op_find(op_name);
    if (op == NULL) {
        tg_set_error(TG_ENOTFOUND, "tg_layer_activation_new: no op called "
                     "'%s' is registered", op_name);
        return NULL;
    }
    return op_layer_new("tg_layer_activation_new", t, op, NULL, NULL,
                        op->name);
}

tg_layer *tg_layer_op_new(tg_tape *t, const tg_op *op, const void *params)
{
    if (op == NULL) {
        tg__nn_null_arg("tg_layer_op_new", "op");
        return NULL;
    }
    return op_layer_new("tg_layer_op_new", t, op, params, NULL, op->name);
}

tg_layer *tg_layer_fn_new(tg_tape *t, tg_activation_fn fn, const char *kind)
{
    if (fn == NULL) {
        tg__nn_null_arg("tg_layer_fn_new", "function");
        return NULL;
    }
    return op_layer_new("tg_layer_fn_new", t, NULL, NULL, fn,
                        kind != NULL ? kind : "function");
}

/* ---- flatten ------------------------------------------------------------- */

static tg_tensor *flatten_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    int start = *(const int *)l->state;
    int nd = tg_ndim(x);
    if (start > nd || (start == nd && nd > 0)) {
        char s[96];
        tg_set_error(TG_ESHAPE, "tg_layer_flatten: start_dim %d, but the "
                     "input %s has %d dimensions", start,
                     tg_shape_str(x, s, sizeof s), nd);
        return NULL;
    }
    int64_t shape[TG_MAX_DIMS];
    for (int i = 0; i < start; i++)
        shape[i] = tg_shape(x)[i];
    int64_t rest = 1;
    for (int i = start; i < nd; i++)
        rest *= tg_shape(x)[i];
    shape[start] = rest;
    return tg_reshape(t, x, start + 1, shape);
}

static const tg_layer_class flatten_class = {"flatten", flatten_forward,
                                             NULL};

tg_layer *tg_layer_flatten_new(tg_tape *t, int start_dim)
{
    if (start_dim < 0 || start_dim >= TG_MAX_DIMS) {
        tg_set_error(TG_EINVAL, "tg_layer_flatten_new: start_dim %d is "
                     "outside 0..%d", start_dim, TG_MAX_DIMS - 1);
        return NULL;
    }
    if (t == NULL) {
        tg__nn_null_arg("tg_layer_flatten_new", "tape");
        return NULL;
    }
    int *s = tg_tape_alloc(t, sizeof *s);
    tg_layer *l = NULL;
    if (s != NULL) {
        *s = start_dim;
        l = tg_layer_new(t, &flatten_class, s);
    }
    if (l == NULL)
        tg__error_in("tg_layer_flatten_new");
    return l;
}
