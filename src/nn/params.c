/*
 * params.c — an ordered list of parameters, owned by a tape.
 */
#include "tapegrad.h"
#include "tapegrad/nn.h"

#include "tensor/error_internal.h"

#include <stdio.h>
#include <string.h>

struct tg_params {
    tg_tape *tape;
    tg_tensor **items;
    int64_t n, cap;
};

tg_params *tg_params_new(tg_tape *t)
{
    if (t == NULL) { /* named here, not as tg_tape_alloc's failure */
        tg_set_error(TG_EINVAL, "tg_params_new: tape is NULL");
        return NULL;
    }
    tg_params *p = tg_tape_alloc(t, sizeof *p);
    if (p == NULL) {
        tg__error_in("tg_params_new");
        return NULL;
    }
    *p = (tg_params){t, NULL, 0, 0};
    return p;
}

/* The list lives in the tape's arena: growing it abandons the old array
 * there, which the tape frees with everything else. */
int tg_params_add(tg_params *p, tg_tensor *x)
{
    /* A NULL list or tensor usually comes from a call that failed: keep
     * its error (the NULL-propagation contract). */
    if (p == NULL || x == NULL)
        return tg_last_status() != TG_OK
                   ? tg_last_status()
                   : tg_set_error(TG_EINVAL, "tg_params_add: %s is NULL",
                                  p ? "tensor" : "parameter list");
    int rc = tg_set_requires_grad(x, true);
    if (rc != TG_OK)
        return tg__error_in("tg_params_add");
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 16;
        tg_tensor **items = tg_tape_alloc(p->tape, (size_t)cap * sizeof *items);
        if (items == NULL)
            return tg__error_in("tg_params_add");
        if (p->n > 0)
            memcpy(items, p->items, (size_t)p->n * sizeof *items);
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n++] = x;
    return TG_OK;
}

int64_t tg_params_count(const tg_params *p)
{
    return p ? p->n : 0;
}

/* The i-th parameter. An empty list has no valid index: saying so beats
 * a range such as "0..-1". A NULL list keeps the error of the call that
 * failed to make it, as tg_params_add. */
tg_tensor *tg_params_at(const tg_params *p, int64_t i)
{
    if (p == NULL) {
        if (tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "tg_params_at: parameter list is NULL");
        return NULL;
    }
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
    for (int64_t i = 0; i < tg_params_count(p); i++)
        total += tg_numel(p->items[i]);
    return total;
}

int tg_params_zero_grad(tg_params *p)
{
    if (p == NULL)   /* keep the error of the tg_params_new that failed */
        return tg_last_status() != TG_OK
                   ? tg_last_status()
                   : tg_set_error(TG_EINVAL, "tg_params_zero_grad: "
                                  "parameter list is NULL");
    for (int64_t i = 0; i < tg_params_count(p); i++) {
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
