/*
 * params.c — an ordered list of parameters, owned by a tape.
 */
#include "tapegrad.h"
#include "tapegrad/nn.h"

#include "tensor/error_internal.h"
#include "nn/params.h"
#include "tensor/handle.h"
#include "tensor/tensor_check.h"

#include <stdio.h>
#include <string.h>

struct tg_params {
    tg__handle h;            /* first: the generation check (handle.h) */
    tg_tensor **items;
    int64_t n, cap;
};

#define LIST "parameter list"

tg_params *tg_params_new(tg_tape *t)
{
    if (t == NULL) { /* named here, not as tg_tape_alloc's failure */
        tg_set_error(TG_EINVAL, "tg_params_new: tape is NULL");
        return NULL;
    }
    return tg__handle_new("tg_params_new", t, sizeof(tg_params));
}

/* Copy the message of a failed inner call and report it under fn. */
static int rename_error(const char *fn, int rc)
{
    char why[256];
    snprintf(why, sizeof why, "%s", tg_last_error());
    return tg_set_error(rc, "%s: %s", fn, why);
}

/* The list lives in the tape's arena: growing it abandons the old array
 * there, which the tape frees with everything else. */
int tg_params_add(tg_params *p, tg_tensor *x)
{
    /* A NULL list or tensor usually comes from a call that failed: keep
     * its error (the NULL-propagation contract). Everything that can fail
     * comes before the list or x changes, so a failure changes nothing
     * (docs/errors.md). */
    int rc = tg__check_handle("tg_params_add", p, LIST);
    if (rc == TG_OK)
        rc = tg__check_tensor("tg_params_add", x);
    if (rc != TG_OK)
        return rc;
    for (int64_t i = 0; i < p->n; i++)
        if (p->items[i] == x)   /* torch.optim refuses it as well */
            return tg_set_error(TG_EINVAL, "tg_params_add: the tensor is "
                                "already parameter %lld", (long long)i);
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 16;
        tg_tensor **items = tg_tape_alloc(p->h.tape,
                                          (size_t)cap * sizeof *items);
        if (items == NULL)
            return rename_error("tg_params_add", TG_ENOMEM);
        if (p->n > 0)
            memcpy(items, p->items, (size_t)p->n * sizeof *items);
        p->items = items;
        p->cap = cap;
    }
    rc = tg_set_requires_grad(x, true);
    if (rc != TG_OK)
        return rename_error("tg_params_add", rc);
    p->items[p->n++] = x;
    return TG_OK;
}

void tg__params_truncate(tg_params *p, int64_t n)
{
    if (p != NULL && n >= 0 && n < p->n)
        p->n = n;
}

/* 0 for NULL (no error: the failure that made it is pending) and, with
 * TG_ESTATE, for a list freed by a reset. */
int64_t tg_params_count(const tg_params *p)
{
    if (p == NULL || tg__check_handle("tg_params_count", p, LIST) != TG_OK)
        return 0;
    return p->n;
}

/* The i-th parameter. An empty list has no valid index: saying so beats
 * a range such as "0..-1". A NULL list keeps the error of the call that
 * failed to make it, as tg_params_add. */
tg_tensor *tg_params_at(const tg_params *p, int64_t i)
{
    if (tg__check_handle("tg_params_at", p, LIST) != TG_OK)
        return NULL;
    if (p->n == 0) {
        tg_set_error(TG_EINVAL, "tg_params_at: index %lld, but the parameter "
                     "list is empty", (long long)i);
        return NULL;
    }
    if (i < 0 || i >= p->n) {
        tg_set_error(TG_EINVAL, "tg_params_at: index %lld is outside 0..%lld",
                     (long long)i, (long long)(p->n - 1));
        return NULL;
    }
    return p->items[i];
}

int64_t tg_params_numel(const tg_params *p)
{
    int64_t total = 0;
    if (p == NULL || tg__check_handle("tg_params_numel", p, LIST) != TG_OK)
        return 0;
    for (int64_t i = 0; i < p->n; i++)
        total += tg_numel(p->items[i]);
    return total;
}

int tg_params_zero_grad(tg_params *p)
{
    /* a NULL p keeps the error of the tg_params_new that failed */
    int rc0 = tg__check_handle("tg_params_zero_grad", p, LIST);
    if (rc0 != TG_OK)
        return rc0;
    for (int64_t i = 0; i < p->n; i++) {
        int rc = tg_zero_grad(p->items[i]);
        if (rc != TG_OK) {
            char why[256];   /* tg_last_error's buffer is rewritten below */
            snprintf(why, sizeof why, "%s", tg_last_error());
            return tg_set_error(rc, "tg_params_zero_grad: parameter %lld: "
                                "%s", (long long)i, why);
        }
    }
    return TG_OK;
}
