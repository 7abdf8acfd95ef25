/*
 * registry.c — finding ops by name, registering new ones, and tg_apply, the
 * one path every op call takes: check inputs, run forward, record.
 */
#include "tapegrad/op.h"

#include "autograd/inspect.h"
#include "ops/builtin.h"
#include "ops/registry.h"
#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define TG__MAX_USER_OPS 256

static const tg_op *const builtin[] = {
#define TG__OP_ADDRESS(name) &tg__op_##name,
    TG__BUILTIN_OPS(TG__OP_ADDRESS)
#undef TG__OP_ADDRESS
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

/*
 * Registered ops: writers take the lock and publish a slot by bumping the
 * count with release order; readers need no lock, they load the count with
 * acquire order and see every slot below it fully written.
 */
static const tg_op *user_ops[TG__MAX_USER_OPS];
static atomic_int n_user_ops;
static pthread_mutex_t register_lock = PTHREAD_MUTEX_INITIALIZER;

int tg_op_count(void)
{
    return N_BUILTIN + atomic_load_explicit(&n_user_ops, memory_order_acquire);
}

const tg_op *tg_op_at(int i)
{
    if (i >= 0 && i < N_BUILTIN)
        return builtin[i];
    if (i >= N_BUILTIN && i < tg_op_count())
        return user_ops[i - N_BUILTIN];
    tg_set_error(TG_EINVAL, "tg_op_at: index %d is outside 0..%d", i,
                 tg_op_count() - 1);
    return NULL;
}

static const tg_op *find(const char *name)
{
    int n = tg_op_count();
    for (int i = 0; i < n; i++) {
        const tg_op *op = i < N_BUILTIN ? builtin[i] : user_ops[i - N_BUILTIN];
        if (strcmp(op->name, name) == 0)
            return op;
    }
    return NULL;
}

const tg_op *tg_op_find(const char *name)
{
    if (name == NULL) {
        tg_set_error(TG_EINVAL, "tg_op_find: name is NULL");
        return NULL;
    }
    const tg_op *op = find(name);
    if (op == NULL)
        tg_set_error(TG_ENOTFOUND, "tg_op_find: no op named \"%s\"", name);
    return op;
}

int tg__check_op(const char *fn, const tg_op *op)
{
    if (op == NULL)
        return tg_set_error(TG_EINVAL, "%s: op is NULL", fn);
    if (op->name == NULL || op->name[0] == '\0')
        return tg_set_error(TG_EINVAL, "%s: op has no name", fn);
    if (op->forward == NULL || op->backward == NULL)
        return tg_set_error(TG_EINVAL, "%s: op \"%s\" needs both a forward "
                            "and a backward function", fn, op->name);
    if (op->arity < -1 || op->arity == 0)
        return tg_set_error(TG_EINVAL, "%s: op \"%s\" has arity %d; it must "
                            "be at least 1, or -1 for any", fn, op->name,
                            op->arity);
    return TG_OK;
}

int tg_op_register(const tg_op *op)
{
    int rc = tg__check_op("tg_op_register", op);
    if (rc != TG_OK)
        return rc;
    pthread_mutex_lock(&register_lock);
    int n = atomic_load_explicit(&n_user_ops, memory_order_relaxed);
    if (find(op->name) != NULL)
        rc = tg_set_error(TG_EEXIST, "tg_op_register: an op named \"%s\" is "
                          "already registered", op->name);
    else if (n == TG__MAX_USER_OPS)
        rc = tg_set_error(TG_ENOMEM, "tg_op_register: the registry is full "
                          "(%d ops)", TG__MAX_USER_OPS);
    else {
        user_ops[n] = op;
        atomic_store_explicit(&n_user_ops, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&register_lock);
    return rc;
}

/* Whether x is usable: the cheap test tg_apply makes on every input. */
static bool usable(const tg_tensor *x)
{
    return x != NULL && x->magic == TG__LIVE &&
           x->generation == x->tape->generation;
}

/*
 * Inputs: the right count, none NULL or stale, all of one dtype. The
 * function name for messages ("tg_relu") is only built on failure: this
 * runs on every op call.
 */
static int check_inputs(const tg_op *op, tg_tensor *const *in, int n)
{
    bool ok = (op->arity < 0 || n == op->arity) && n >= 1 && in != NULL;
    for (int i = 0; ok && i < n; i++)
        ok = usable(in[i]) && in[i]->dtype == in[0]->dtype;
    if (ok)
        return TG_OK;
    char fn[64];
    snprintf(fn, sizeof fn, "tg_%s", op->name);
    if (op->arity >= 0 && n != op->arity)
        return tg_set_error(TG_EINVAL, "%s: takes %d input%s, got %d", fn,
                            op->arity, op->arity == 1 ? "" : "s", n);
    if (n < 1)
        return tg_set_error(TG_EINVAL, "%s: takes at least 1 input, got %d",
                            fn, n);
    if (in == NULL)
        return tg_set_error(TG_EINVAL, "%s: inputs array is NULL", fn);
    for (int i = 0; i < n; i++) {
        int rc = tg__check_tensor(fn, in[i]);
        if (rc != TG_OK)
            return rc;
    }
    for (int i = 1; i < n; i++)
        if (in[i]->dtype != in[0]->dtype)
            return tg_set_error(TG_EDTYPE, "%s: inputs are %s and %s; convert "
                                "one so both have the same dtype", fn,
                                tg_dtype_name(in[0]->dtype),
                                tg_dtype_name(in[i]->dtype));
    return tg_set_error(TG_EINVAL, "%s: bad inputs", fn); /* unreachable */
}

static bool any_requires_grad(tg_tensor *const *in, int n)
{
    for (int i = 0; i < n; i++)
        if (in[i]->requires_grad)
            return true;
    return false;
}

/*
 * What a (user's) forward returned must be a new tensor on t. Recording
 * an input as its own output would turn a leaf into a non-leaf and feed
 * its gradient back into itself; a NULL without an error would leave the
 * caller with a stale or empty message. Both are reported here.
 */
static int check_output(const tg_op *op, tg_tape *t, tg_tensor *const *in,
                        int n, const tg_tensor *out, unsigned long errors)
{
    if (out == NULL) {
        if (tg__error_count() != errors) {
            /* Name the op the caller ran, not a call inside its forward. */
            char fn[64];
            snprintf(fn, sizeof fn, "tg_%s", op->name);
            return tg__error_in(fn);
        }
        return tg_set_error(TG_EINVAL, "tg_%s: forward returned NULL without "
                            "setting an error", op->name);
    }
    for (int i = 0; i < n; i++)
        if (out == in[i])
            return tg_set_error(TG_EINVAL, "tg_%s: forward returned one of "
                                "its inputs; it must return a new tensor "
                                "made on c->tape", op->name);
    if (out->tape != t || out->magic != TG__LIVE)
        return tg_set_error(TG_EINVAL, "tg_%s: forward must return a new "
                            "tensor made on c->tape", op->name);
    return TG_OK;
}

tg_tensor *tg_apply(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n,
                    const void *params)
{
    if (tg__check_op("tg_apply", op) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_%s: tape is NULL", op->name);
        return NULL;
    }
    if (check_inputs(op, in, n) != TG_OK)
        return NULL;
    void *copy = NULL;
    if (op->params_size > 0 && params == NULL) {
        tg_set_error(TG_EINVAL, "tg_%s: params are NULL", op->name);
        return NULL;
    }
    if (op->params_size > 0) {
        copy = tg_tape_alloc(t, op->params_size);
        if (copy == NULL) {
            char fn[64]; /* name the op, not the allocation inside it */
            snprintf(fn, sizeof fn, "tg_%s", op->name);
            tg__error_in(fn);
            return NULL;
        }
        memcpy(copy, params, op->params_size);
    }
    tg_op_ctx c = {t, op, in, n, copy, NULL};
    unsigned long errors = tg__error_count();
    tg_tensor *out = op->forward(&c);
    if (check_output(op, t, in, n, out, errors) != TG_OK)
        return NULL;
    if (t->anomaly && tg__check_finite(t, op, t->n_entries, in, n, out,
                                       "the output") != TG_OK)
        return NULL;
    if (t->grad_enabled && any_requires_grad(in, n) &&
        tg__record(t, op, in, n, out, copy, c.saved) != TG_OK)
        return NULL;
    return out;
}
