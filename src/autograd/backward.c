/*
 * backward.c — reverse-mode differentiation: the chain rule, replayed.
 *
 * For a scalar root, backward computes d root / d x for every tensor x the
 * root depends on. It seeds d root / d root = 1 and walks the tape from the
 * root's entry back to the first. When it reaches the entry that made
 * `out`, every later entry that read `out` has already added its share to
 * out's gradient (the chain rule sums over all paths from x to the root),
 * so that gradient is complete. The op's backward turns it into gradients
 * of the op's inputs, which are added into theirs. An entry whose output
 * got no gradient is one the root does not depend on, and is skipped.
 *
 * Where gradients are kept and how they add up is grad.c's business; the
 * trace and anomaly checks are inspect.c's.
 */
#include "tapegrad/tape.h"

#include "autograd/entry.h"
#include "autograd/grad.h"
#include "autograd/inspect.h"
#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

/*
 * An input of entry e made by an op recorded on another tape: backward
 * walks only t, so it could not hand that op's inputs their share, and
 * their gradients would be missing without a word. Refused instead
 * (TG_ESTATE naming the op and the input), unless the input needs no
 * gradient. Out of line: only called for an input of another tape.
 */
static int foreign_input(const tg__entry *e, int i)
{
    char d[160];
    tg__describe(e->in[i], d, sizeof d);
    return tg_set_error(TG_ESTATE, "tg_backward: input %d of %s (%s) was "
                        "made by an op recorded on another tape, which "
                        "backward cannot follow: record the whole graph on "
                        "one tape, or tg_detach the input", i, e->op->name,
                        d);
}

static inline int check_foreign(const tg_tape *t, const tg__entry *e)
{
    for (int i = 0; i < e->n; i++) {
        const tg_tensor *x = e->in[i];
        if (x->tape != t && x->creator >= 0 && x->requires_grad)
            return foreign_input(e, i);
    }
    return TG_OK;
}

/*
 * One link of the chain rule: entry k's op turns gy = d root / d out into
 * gx[i] = d root / d in[i] for each input that wants a gradient (gx[i] is
 * NULL for the others), and the tape adds those into the inputs' gradients.
 */
static int backward_entry(tg_tape *t, int64_t k, const tg__entry *e)
{
    tg__slots gx; /* where each input's gradient is written */
    int rc = tg__entry_check_inputs(e, "tg_backward");
    if (rc == TG_OK)
        rc = check_foreign(t, e);
    if (rc == TG_OK)
        rc = tg__grad_slots(t, e, &gx);
    if (rc != TG_OK)
        return rc;
    tg__trace_entry(t, k, e, NULL);
    tg_op_ctx c = {t, e->op, e->in, e->n, e->params, e->saved};
    const tg_tensor *gy = tg__grad_of_output(e);
    unsigned long errors = tg__error_count();
    rc = e->op->backward(&c, e->out, gy, gx.gx);
    if (rc != TG_OK)
        return tg__backward_failed(e->op, rc, errors);
    rc = tg__check_gradients(t, k, e, gx.gx); /* anomaly mode */
    if (rc != TG_OK)
        return rc;
    tg__trace_entry(t, k, e, gx.gx);
    tg__grad_accumulate(e, &gx);
    return TG_OK;
}

static int check_root(tg_tape *t, const tg_tensor *root)
{
    if (t == NULL)
        return tg_set_error(TG_EINVAL, "tg_backward: tape is NULL");
    int rc = tg__check_tensor("tg_backward", root);
    if (rc != TG_OK)
        return rc;
    if (root->tape != t)
        return tg_set_error(TG_ESTATE, "tg_backward: root belongs to another "
                            "tape");
    if (root->numel != 1) {
        char s[128];
        return tg_set_error(TG_ESHAPE, "tg_backward: root has shape %s; it "
                            "must have exactly one element (reduce it with "
                            "tg_sum first)", tg_shape_str(root, s, sizeof s));
    }
    if (!root->requires_grad)
        return tg_set_error(TG_ESTATE, "tg_backward: root does not require "
                            "grad: no input of it requires grad, or the tape "
                            "had grad disabled");
    return TG_OK;
}

/* Seed with 1, then the chain rule in reverse tape order. */
int tg_backward(tg_tape *t, tg_tensor *root)
{
    int rc = check_root(t, root);
    if (rc != TG_OK)
        return rc;
    tg__grad_begin_pass(t); /* intermediate gradients start from zero */
    rc = tg__grad_seed(root); /* d root / d root = 1 */
    for (int64_t k = root->creator; k >= 0 && rc == TG_OK; k--) {
        tg__entry e = t->entries[k]; /* a copy: a backward may record ops,
                                        which can move the entries */
        if (tg__grad_reached(e.out)) /* else the root does not depend on it */
            rc = backward_entry(t, k, &e);
    }
    return rc;
}
