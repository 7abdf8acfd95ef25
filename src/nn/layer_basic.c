/*
 * layer_basic.c — the basic built-in layers, each a tg_layer_class over
 * the interface of layer.c: linear (weight and bias parameters),
 * activation (an op or a function applied elementwise) and flatten.
 */
#include "tapegrad.h"
#include "tapegrad/sequential.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"

#include <stddef.h>
#include <string.h>

/* ---- linear ------------------------------------------------------------ */

static tg_tensor *linear_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    tg_linear_layer *lin = l->state;
    return tg_linear(t, x, lin->weight, lin->bias);
}

static const tg_layer_class linear_class = {"linear", linear_forward, NULL};

const tg_linear_layer *tg__layer_linear(const tg_layer *l)
{
    return l->cls == &linear_class ? l->state : NULL;
}

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

int tg__layer_flatten_start(const tg_layer *l)
{
    return l->cls == &flatten_class ? *(const int *)l->state : -1;
}

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
