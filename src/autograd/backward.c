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
 */
#include "tapegrad/op.h"
#include "tapegrad/tape.h"

#include "autograd/inspect.h"
#include "tensor/error_internal.h"
#include "tensor/grad_buffer.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>
#include <string.h>

/*
 * A uniform gradient (see tg_grad_fill) is one number standing for every
 * element. Two of them add up to one; otherwise the number is written out
 * (or added to every element) where the elements are needed.
 */
static double round_to(tg_dtype dt, double v)
{
    return dt == TG_F32 ? (double)(float)v : v;
}

/* Every element of dst += v. */
static void add_value_into(tg_tensor *dst, double v)
{
    if (dst->dtype == TG_F32) {
        float *restrict d = dst->data;
        float f = (float)v;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += f;
    } else {
        double *restrict d = dst->data;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += v;
    }
}

/* dst += src, elementwise; same shape and dtype. Either may be uniform. */
static void add_into(tg_tensor *dst, const tg_tensor *src)
{
    if (dst->uniform && src->uniform) {
        dst->uniform_value = round_to(dst->dtype, dst->uniform_value +
                                                  src->uniform_value);
        return;
    }
    tg__grad_materialize(dst);
    if (src->uniform) {
        add_value_into(dst, src->uniform_value);
        return;
    }
    if (dst->dtype == TG_F32) {
        float *restrict d = dst->data;
        const float *restrict s = src->data;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += s[i];
    } else {
        double *restrict d = dst->data;
        const double *restrict s = src->data;
        for (int64_t i = 0; i < dst->numel; i++)
            d[i] += s[i];
    }
}

/*
 * Choose where the op writes input x's gradient. If x's gradient holds no
 * value yet (zero or stale) the op can overwrite it directly, which saves a
 * pass over memory; otherwise, or when another slot of the same call
 * already writes it (as in mul(x, x)), the op writes a scratch tensor that
 * is added in afterwards.
 */
static tg_tensor *gradient_slot(tg_tape *t, tg_tensor *x, bool *direct)
{
    tg_tensor *g = tg__grad_buffer(x);
    if (g == NULL)
        return NULL;
    *direct = x->grad_state != TG__GRAD_LIVE;
    if (*direct) {
        x->grad_state = TG__GRAD_LIVE; /* a second slot gets scratch */
        g->uniform = false;            /* the op writes it afresh */
        return g;
    }
    tg_tensor *scratch = tg_empty(t, x->dtype, x->ndim, x->shape);
    if (scratch != NULL)
        scratch->grad_of = x; /* a gradient too: it may be kept uniform */
    return scratch;
}

/* Anomaly mode: every gradient the op produced must be finite. */
static int check_gradients(const tg_tape *t, int64_t k, const tg__entry *e,
                           tg_tensor *const *slot)
{
    for (int i = 0; i < e->n; i++) {
        char what[48];
        snprintf(what, sizeof what, "the gradient of input %d", i);
        if (slot[i] != NULL &&
            tg__check_finite(t, e->op, k, e->in, e->n, slot[i], what) != TG_OK)
            return TG_ENUMERIC;
    }
    return TG_OK;
}

/* Run entry k's backward and add what it produced into its inputs. */
static int backward_entry(tg_tape *t, int64_t k, const tg__entry *e)
{
    tg_tensor *slot_buf[8], **slot = slot_buf;
    bool direct_buf[8], *direct = direct_buf;
    if (e->n > 8) {
        slot = tg__arena_alloc(&t->arena, (size_t)e->n * sizeof *slot);
        direct = tg__arena_alloc(&t->arena, (size_t)e->n * sizeof *direct);
        if (slot == NULL || direct == NULL)
            return tg_set_error(TG_ENOMEM, "tg_backward: out of memory");
    }
    for (int i = 0; i < e->n; i++) {
        tg_tensor *x = e->in[i];
        slot[i] = NULL;
        direct[i] = false;
        /* Every input, not only those that get a gradient: the op's
         * backward reads them all, and one may live on another tape that
         * was reset since (its memory now holding other tensors). */
        if (x->generation != tg__entry_gens(e)[i])
            return tg_set_error(TG_ESTATE, "tg_backward: tensor was freed by "
                                "a reset of its tape (input %d of %s)", i,
                                e->op->name);
        if (tg__check_tensor("tg_backward", x) != TG_OK)
            return TG_ESTATE;
        if (!x->requires_grad)
            continue;
        slot[i] = gradient_slot(t, x, &direct[i]);
        if (slot[i] == NULL)
            return tg_set_error(TG_ENOMEM, "tg_backward: out of memory for "
                                "the gradient of %s's input %d",
                                e->op->name, i);
    }
    if (t->trace != NULL)
        tg__trace_entry(t, k, e, NULL);
    if (!(e->op->flags & TG_OP_UNIFORM_GRAD))
        tg__grad_materialize(e->out->grad); /* the op reads its elements */
    tg_op_ctx c = {t, e->op, e->in, e->n, e->params, e->saved};
    unsigned long errors = tg__error_count();
    int rc = e->op->backward(&c, e->out, e->out->grad, slot);
    if (rc != TG_OK && (rc > 0 || tg__error_count() == errors))
        /* A (user's) backward failed without saying why, or returned
         * something that is not a status: say which op it was. */
        return tg_set_error(rc < 0 ? rc : TG_EINVAL, "tg_backward: the "
                            "backward of %s failed (%s) without setting an "
                            "error", e->op->name, tg_strerror(rc));
    if (rc == TG_OK && t->anomaly)
        rc = check_gradients(t, k, e, slot);
    if (rc != TG_OK)
        return rc;
    if (t->trace != NULL)
        tg__trace_entry(t, k, e, slot);
    for (int i = 0; i < e->n; i++)
        if (slot[i] != NULL && !direct[i])
            add_into(e->in[i]->grad, slot[i]);
    return TG_OK;
}

/* d root / d root = 1, added to whatever a leaf root already holds. */
static int seed(tg_tensor *root)
{
    tg_tensor *g = tg__grad_buffer(root);
    if (g == NULL)
        return tg_set_error(TG_ENOMEM, "tg_backward: out of memory");
    tg__grad_materialize(g);
    double before = root->grad_state == TG__GRAD_LIVE ? tg_item(g) : 0.0;
    if (g->dtype == TG_F32)
        *(float *)g->data = (float)(before + 1.0);
    else
        *(double *)g->data = before + 1.0;
    root->grad_state = TG__GRAD_LIVE;
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

int tg_backward(tg_tape *t, tg_tensor *root)
{
    int rc = check_root(t, root);
    if (rc != TG_OK)
        return rc;
    /* Intermediate gradients start from zero on every pass. */
    for (int64_t k = 0; k < t->n_entries; k++) {
        tg_tensor *out = t->entries[k].out;
        out->grad_state = TG__GRAD_STALE;
        if (out->grad != NULL)
            out->grad->uniform = false;
    }
    rc = seed(root);
    for (int64_t k = root->creator; k >= 0 && rc == TG_OK; k--) {
        const tg__entry *e = &t->entries[k];
        if (e->out->grad_state == TG__GRAD_LIVE)
            rc = backward_entry(t, k, e);
    }
    return rc;
}

int tg_grad_fill(tg_tensor *gx, double value)
{
    int rc = tg__check_tensor("tg_grad_fill", gx);
    if (rc != TG_OK)
        return rc;
    gx->uniform_value = round_to(gx->dtype, value);
    gx->uniform = true;
    if (gx->grad_of == NULL) /* not a gradient buffer: write it out now */
        tg__grad_materialize(gx);
    return TG_OK;
}

bool tg_grad_uniform(const tg_tensor *gy, double *value)
{
    if (gy == NULL || !gy->uniform)
        return false;
    if (value != NULL)
        *value = gy->uniform_value;
    return true;
}
