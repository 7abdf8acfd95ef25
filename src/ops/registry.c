/*
 * registry.c — finding ops by name, and registering new ones.
 */
#include "tapegrad/op.h"

#include "autograd/call_checks.h"
#include "ops/builtin.h"
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
