/*
 * tape.c — the tape: an arena that owns tensors, and a list of the op calls
 * made on them, in the order they ran.
 *
 * That order is the whole trick of reverse-mode autodiff. An op can only
 * run after the ops that made its inputs, so the list is already sorted so
 * that every tensor's producer comes before its consumers (a topological
 * order). Walking it backwards therefore reaches each tensor only after
 * every consumer has handed back its share of the gradient: see backward.c.
 */
#include "tapegrad/op.h"
#include "tapegrad/tape.h"

#include "autograd/call_checks.h"
#include "autograd/entry.h"
#include "autograd/inspect.h"
#include "tensor/alloc.h"
#include "tensor/arena.h"
#include "tensor/error_internal.h"
#include "tensor/handle.h"
#include "tensor/tensor_check.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>
#include <string.h>

tg_tape *tg_tape_new(void)
{
    tg_tape *t = tg__malloc(sizeof *t);
    if (t == NULL) {
        tg_set_error(TG_ENOMEM, "tg_tape_new: out of memory");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->grad_enabled = true;
    return t;
}

/*
 * Reset marks every tensor and handle dead (so a stale pointer is reported, not
 * silently read), then rewinds the arena and the entry list. The memory
 * stays with the tape for the next step.
 */
void tg_tape_reset(tg_tape *t)
{
    if (t == NULL)
        return;
    for (tg_tensor *x = t->tensors; x != NULL; x = x->next)
        x->magic = TG__DEAD;
    for (tg__handle *h = t->handles; h != NULL; h = h->next)
        h->magic = TG__DEAD;
    t->tensors = NULL;
    t->handles = NULL;
    t->n_entries = 0;
    t->generation++;
    tg__arena_reset(&t->arena);
}

void tg_tape_free(tg_tape *t)
{
    if (t == NULL)
        return;
    tg__arena_free(&t->arena);
    tg__free(t->entries);
    tg__free(t);
}

void tg_tape_set_grad_enabled(tg_tape *t, bool on)
{
    if (t != NULL)
        t->grad_enabled = on;
}

bool tg_tape_grad_enabled(const tg_tape *t)
{
    return t != NULL && t->grad_enabled;
}

int64_t tg_tape_size(const tg_tape *t)
{
    return t ? t->n_entries : 0;
}

size_t tg_tape_bytes_reserved(const tg_tape *t)
{
    if (t == NULL)
        return 0;
    return t->arena.reserved + (size_t)t->cap_entries * sizeof(tg__entry);
}

void *tg_tape_alloc(tg_tape *t, size_t size)
{
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_tape_alloc: tape is NULL");
        return NULL;
    }
    void *p = tg__arena_alloc(&t->arena, size);
    if (p == NULL)
        tg_set_error(TG_ENOMEM, "tg_tape_alloc: out of memory for %zu bytes",
                     size);
    return p;
}

/*
 * Every op call comes through here: check the call, run the op's forward,
 * and record the call on the tape if backward may need it (an input wants
 * a gradient and grad is enabled).
 */
tg_tensor *tg_apply(tg_tape *t, const tg_op *op, int n, tg_tensor *const *in,
                    const void *params)
{
    void *copy;
    if (tg__check_call(t, op, in, n) != TG_OK ||
        tg__copy_params(t, op, params, &copy) != TG_OK)
        return NULL;
    for (int i = 0; i < n; i++)   /* a kept gradient reads as it should */
        if (in[i]->grad_of != NULL)
            tg__grad_prepare(in[i]);
    tg_op_ctx c = {t, op, in, n, copy, NULL};
    unsigned long errors = tg__error_count();
    const tg_tensor *before = t->tensors;
    tg_tensor *out = op->forward(&c);
    if (tg__check_output(&c, out, errors, before) != TG_OK)
        return NULL;
    if (t->grad_enabled && tg__any_requires_grad(in, n) &&
        tg__record(t, op, in, n, out, copy, c.saved) != TG_OK)
        return NULL;
    return out;
}

/*
 * Append one entry: which op ran, on what, producing what. The inputs
 * array and params are copied into the arena, so the caller's may go away.
 * The output is marked as made by this entry: it is no longer a leaf.
 */
int tg__record(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n,
               tg_tensor *out, const void *params, void *saved)
{
    if (t->n_entries == t->cap_entries) {
        int64_t cap = t->cap_entries ? t->cap_entries * 2 : 64;
        tg__entry *e = tg__realloc(t->entries, (size_t)cap * sizeof *e);
        if (e == NULL)
            return tg_set_error(TG_ENOMEM, "tg_%s: out of memory recording "
                                "the op on the tape", op->name);
        t->entries = e;
        t->cap_entries = cap;
    }
    tg_tensor **ins = tg__arena_alloc(&t->arena, (size_t)n * (sizeof *ins +
                                                             2 * sizeof(uint32_t))
                                                 + sizeof(uint32_t));
    if (ins == NULL)
        return tg_set_error(TG_ENOMEM, "tg_%s: out of memory recording the "
                            "op on the tape", op->name);
    memcpy(ins, in, (size_t)n * sizeof *ins);
    t->entries[t->n_entries] = (tg__entry){op, ins, n, out, params, saved};
    uint32_t *gens = tg__entry_gens(&t->entries[t->n_entries]);
    uint32_t *versions = tg__entry_versions(&t->entries[t->n_entries]);
    for (int i = 0; i < n; i++) {
        gens[i] = in[i]->generation;
        versions[i] = in[i]->version;
    }
    versions[n] = out->version;
    out->creator = t->n_entries++;
    out->requires_grad = true;
    return TG_OK;
}

int tg__entry_report_stale(const tg__entry *e, const char *fn)
{
    for (int i = 0; i < e->n; i++) {
        /* Every input, not only those that get a gradient: the op's
         * backward reads them all, and one may live on another tape that
         * was reset since (its memory now holding other tensors). */
        if (e->in[i]->generation != tg__entry_gens(e)[i])
            return tg_set_error(TG_ESTATE, "%s: tensor was freed by a reset "
                                "of its tape (input %d of %s)", fn, i,
                                e->op->name);
        if (tg__check_tensor(fn, e->in[i]) != TG_OK)
            return TG_ESTATE;
    }
    for (int i = 0; i <= e->n; i++) {
        const tg_tensor *x = i < e->n ? e->in[i] : e->out;
        if (x->version == tg__entry_versions(e)[i])
            continue;
        char d[160], which[32];
        tg__describe(x, d, sizeof d);
        if (i < e->n)
            snprintf(which, sizeof which, "input %d", i);
        else
            snprintf(which, sizeof which, "the output");
        return tg_set_error(TG_ESTATE, "%s: %s of %s (%s) was modified in "
                            "place (tg_mut_*) after %s was recorded; its "
                            "gradient would be wrong", fn, which,
                            e->op->name, d, e->op->name);
    }
    return tg_set_error(TG_ESTATE, "%s: an input of %s was freed", fn,
                        e->op->name); /* not reached */
}
