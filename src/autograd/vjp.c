/*
 * vjp.c — gradients as tensors (tg_vjp, tapegrad/vjp.h).
 *
 * The same walk as backward.c: seed the outputs, visit the entries from
 * the last back to the first, turn each output's gradient into its
 * inputs' with one link of the chain rule, add up what reaches a tensor
 * by several paths. Two things differ. Each gradient is a tensor kept in
 * a table of this walk (g[k] for the output of entry k), not in the
 * tensors' own gradient buffers, which stay untouched. And each link is
 * computed by the op's backward_ops, with ops on the tape: with
 * create_graph the walk is itself recorded, and its results can be
 * differentiated again.
 */
#include "tapegrad/ops.h"
#include "tapegrad/vjp.h"

#include "autograd/entry.h"
#include "autograd/grad.h"
#include "tensor/arena.h"
#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

typedef struct walk {
    tg_tape *t;
    int64_t n_entries;       /* the entries there were when the walk began;
                                the walk's own ops append more */
    tg_tensor **g;           /* g[k]: the gradient of entry k's output */
    bool *needed;            /* entry k leads back to a requested input */
    int n_in;
    tg_tensor *const *inputs;
    tg_tensor **g_in;        /* the gradients of requested inputs that are
                                not outputs of t's entries (leaves) */
    bool create_graph;
} walk;

tg_vjp_options tg_vjp_defaults(void)
{
    return (tg_vjp_options){false, TG_UNUSED_ERROR};
}

static int input_index(const walk *w, const tg_tensor *x)
{
    for (int i = 0; i < w->n_in; i++)
        if (w->inputs[i] == x)
            return i;
    return -1;
}

/* Whether x is made by an entry of this walk's tape that it visits. */
static bool made_here(const walk *w, const tg_tensor *x)
{
    return x->tape == w->t && x->creator >= 0 && x->creator < w->n_entries;
}

/* Where x's gradient is kept, or NULL if no requested input needs it. */
static tg_tensor **cell(walk *w, const tg_tensor *x)
{
    if (made_here(w, x))
        return &w->g[x->creator];
    int i = input_index(w, x);
    return i >= 0 ? &w->g_in[i] : NULL;
}

/* Whether the gradient of x leads to a requested input. */
static bool wanted(const walk *w, const tg_tensor *x)
{
    return input_index(w, x) >= 0 ||
           (made_here(w, x) && w->needed[x->creator]);
}

/* An entry is needed when one of its inputs is wanted: entries come after
 * the ones that made their inputs, so one forward sweep decides all. */
static void mark_needed(walk *w)
{
    for (int64_t k = 0; k < w->n_entries; k++) {
        const tg__entry *e = &w->t->entries[k];
        w->needed[k] = false;
        for (int i = 0; i < e->n && !w->needed[k]; i++)
            w->needed[k] = wanted(w, e->in[i]);
    }
}

/* *c += g, with ops (recorded when the walk records). */
static int accumulate(walk *w, tg_tensor **c, tg_tensor *g)
{
    if (*c == NULL) {
        *c = g;
        return TG_OK;
    }
    tg_tensor *sum = tg_add(w->t, *c, g);
    if (sum == NULL)
        return tg__error_in("tg_vjp");
    *c = sum;
    return TG_OK;
}

/* Without create_graph, an op without backward_ops can still take its
 * first-order step: its fast backward, writing fresh tensors. */
static int fast_link(walk *w, tg_op_ctx *c, const tg__entry *e,
                     const bool *want, tg_tensor **gx)
{
    for (int i = 0; i < e->n; i++) {
        if (!want[i])
            continue;
        const tg_tensor *x = e->in[i];
        gx[i] = tg_empty(w->t, x->dtype, x->ndim, x->shape);
        if (gx[i] == NULL)
            return tg__error_in("tg_vjp");
    }
    return e->op->backward(c, e->out, w->g[e->out->creator], gx);
}

/* What an op's link returned must be a gradient of each input's shape. */
static int check_link(const tg__entry *e, int i, const tg_tensor *g)
{
    const tg_tensor *x = e->in[i];
    if (tg__check_tensor("tg_vjp", g) != TG_OK)
        return tg_last_status();
    if (g->dtype == x->dtype && tg__same_shape(g, x))
        return TG_OK;
    char a[96], b[96];
    return tg_set_error(TG_EINVAL, "tg_vjp: the backward_ops of %s gave "
                        "input %d a gradient of shape %s %s; the input is "
                        "%s %s", e->op->name, i, tg_shape_str(g, a, sizeof a),
                        tg_dtype_name(g->dtype), tg_shape_str(x, b, sizeof b),
                        tg_dtype_name(x->dtype));
}

/* One link of the chain rule, as in backward.c, made of ops. */
static int link(walk *w, const tg__entry *e)
{
    bool want_few[TG__FEW_INPUTS], *want = want_few;
    tg_tensor *gx_few[TG__FEW_INPUTS], **gx = gx_few;
    if (e->n > TG__FEW_INPUTS) {
        want = tg__arena_alloc(&w->t->arena, (size_t)e->n * sizeof *want);
        gx = tg__arena_alloc(&w->t->arena, (size_t)e->n * sizeof *gx);
        if (want == NULL || gx == NULL)
            return tg_set_error(TG_ENOMEM, "tg_vjp: out of memory");
    }
    for (int i = 0; i < e->n; i++) {
        want[i] = wanted(w, e->in[i]);
        gx[i] = NULL;
    }
    tg_op_ctx c = {w->t, e->op, e->in, e->n, e->params, e->saved};
    unsigned long errors = tg__error_count();
    int rc;
    if (e->op->backward_ops != NULL)
        rc = e->op->backward_ops(&c, e->out, w->g[e->out->creator], want, gx);
    else if (w->create_graph)
        return tg_set_error(TG_EINVAL, "tg_vjp: %s has no derivative written "
                            "with ops (backward_ops), so its gradient "
                            "cannot be recorded for create_graph",
                            e->op->name);
    else
        rc = fast_link(w, &c, e, want, gx);
    if (rc != TG_OK) {
        if (rc < 0 && tg__error_count() != errors)
            return tg__error_in("tg_vjp");
        return tg_set_error(rc < 0 ? rc : TG_EINVAL, "tg_vjp: the backward "
                            "of %s failed (%s) without setting an error",
                            e->op->name, tg_strerror(rc));
    }
    for (int i = 0; i < e->n && rc == TG_OK; i++) {
        if (!want[i] || gx[i] == NULL)
            continue;
        rc = check_link(e, i, gx[i]);
        tg_tensor **to = cell(w, e->in[i]);
        if (rc == TG_OK && to != NULL)
            rc = accumulate(w, to, gx[i]);
    }
    return rc;
}

/* d out_j gets grad_outputs[j], or 1 for a one-element output. */
static int seed(walk *w, int j, tg_tensor *out, tg_tensor *go)
{
    char a[96], b[96];
    if (go == NULL) {
        if (out->numel != 1)
            return tg_set_error(TG_EINVAL, "tg_vjp: output %d has shape %s; "
                                "give its grad_output (only a one-element "
                                "output may have none)", j,
                                tg_shape_str(out, a, sizeof a));
        go = tg_scalar(w->t, out->dtype, 1.0);
        if (go == NULL)
            return tg__error_in("tg_vjp");
        if (out->ndim > 0 &&
            (go = tg_reshape(w->t, go, out->ndim, out->shape)) == NULL)
            return tg__error_in("tg_vjp");
    } else if (tg__check_read("tg_vjp", go) != TG_OK) {
        return tg_last_status();
    } else if (go->dtype != out->dtype) {
        return tg_set_error(TG_EDTYPE, "tg_vjp: grad_output %d is %s; output "
                            "%d is %s", j, tg_dtype_name(go->dtype), j,
                            tg_dtype_name(out->dtype));
    } else if (!tg__same_shape(go, out)) {
        return tg_set_error(TG_ESHAPE, "tg_vjp: grad_output %d has shape %s; "
                            "output %d has %s", j,
                            tg_shape_str(go, a, sizeof a), j,
                            tg_shape_str(out, b, sizeof b));
    }
    return accumulate(w, &w->g[out->creator], go);
}

static int check_call(tg_tape *t, int n_out, tg_tensor *const *outputs,
                      int n_in, tg_tensor *const *inputs, tg_tensor **grads,
                      const tg_vjp_options *o)
{
    if (t == NULL || outputs == NULL || inputs == NULL || grads == NULL)
        return tg_set_error(TG_EINVAL, "tg_vjp: %s is NULL",
                            t == NULL ? "tape" : outputs == NULL ? "outputs"
                            : inputs == NULL ? "inputs" : "grads");
    if (n_out < 1 || n_in < 1)
        return tg_set_error(TG_EINVAL, "tg_vjp: %d outputs and %d inputs; "
                            "there must be at least one of each", n_out,
                            n_in);
    if (o->create_graph && !t->grad_enabled)
        return tg_set_error(TG_EINVAL, "tg_vjp: create_graph on a tape with "
                            "grad disabled (tg_tape_set_grad_enabled)");
    if ((unsigned)o->unused > TG_UNUSED_ZEROS)
        return tg_set_error(TG_EINVAL, "tg_vjp: unknown unused option %d",
                            (int)o->unused);
    for (int j = 0; j < n_out; j++) {
        int rc = tg__check_tensor("tg_vjp", outputs[j]);
        if (rc != TG_OK)
            return rc;
        if (outputs[j]->tape != t || outputs[j]->creator < 0)
            return tg_set_error(TG_ESTATE, "tg_vjp: output %d %s", j,
                                outputs[j]->tape != t
                                    ? "belongs to another tape"
                                    : "has no history: nothing it was made "
                                      "from requires grad");
    }
    for (int i = 0; i < n_in; i++) {
        int rc = tg__check_tensor("tg_vjp", inputs[i]);
        if (rc != TG_OK)
            return rc;
        if (!inputs[i]->requires_grad)
            return tg_set_error(TG_EINVAL, "tg_vjp: input %d does not "
                                "require grad", i);
    }
    return TG_OK;
}

/* The walk's tables, on t. */
static int walk_begin(walk *w, tg_tape *t, int n_in, tg_tensor *const *in,
                      bool create_graph)
{
    *w = (walk){t, t->n_entries, NULL, NULL, n_in, in, NULL, create_graph};
    size_t n = (size_t)(w->n_entries > 0 ? w->n_entries : 1);
    w->g = tg__arena_alloc(&t->arena, n * sizeof *w->g);
    w->needed = tg__arena_alloc(&t->arena, n * sizeof *w->needed);
    w->g_in = tg__arena_alloc(&t->arena, (size_t)n_in * sizeof *w->g_in);
    if (w->g == NULL || w->needed == NULL || w->g_in == NULL)
        return tg_set_error(TG_ENOMEM, "tg_vjp: out of memory");
    memset(w->g, 0, n * sizeof *w->g);
    memset(w->g_in, 0, (size_t)n_in * sizeof *w->g_in);
    mark_needed(w);
    return TG_OK;
}

/* grads[i] from the walk's table, or what opt says for an unused input;
 * all found first and written at once, so that grads may be the caller's
 * inputs (or outputs) array itself. */
static int collect(walk *w, tg_tensor **grads, tg_unused unused)
{
    tg_tensor **found = tg__arena_alloc(&w->t->arena,
                                        (size_t)w->n_in * sizeof *found);
    if (found == NULL)
        return tg_set_error(TG_ENOMEM, "tg_vjp: out of memory");
    for (int i = 0; i < w->n_in; i++) {
        const tg_tensor *x = w->inputs[i];
        found[i] = *cell(w, x);
        if (found[i] != NULL || unused == TG_UNUSED_NULL)
            continue;
        if (unused == TG_UNUSED_ERROR)
            return tg_set_error(TG_EINVAL, "tg_vjp: input %d is not used by "
                                "the outputs (unused = TG_UNUSED_NULL or "
                                "TG_UNUSED_ZEROS allows it)", i);
        found[i] = tg_zeros(w->t, x->dtype, x->ndim, x->shape);
        if (found[i] == NULL)
            return tg__error_in("tg_vjp");
    }
    memcpy(grads, found, (size_t)w->n_in * sizeof *grads);
    return TG_OK;
}

int tg_vjp(tg_tape *t, int n_out, tg_tensor *const *outputs,
           tg_tensor *const *grad_outputs, int n_in, tg_tensor *const *inputs,
           tg_tensor **grads, const tg_vjp_options *opt)
{
    tg_vjp_options o = opt != NULL ? *opt : tg_vjp_defaults();
    /* grads is written last: it may be the caller's outputs or inputs
     * array (a loop over derivative orders reuses one). */
    int rc = check_call(t, n_out, outputs, n_in, inputs, grads, &o);
    if (rc != TG_OK) {
        if (grads != NULL && n_in > 0)
            memset(grads, 0, (size_t)n_in * sizeof *grads);
        return rc;
    }
    bool recording = t->grad_enabled;
    t->grad_enabled = o.create_graph; /* record the walk, or nothing */
    walk w;
    rc = walk_begin(&w, t, n_in, inputs, o.create_graph);
    int64_t start = -1;
    for (int j = 0; j < n_out && rc == TG_OK; j++) {
        rc = seed(&w, j, outputs[j], grad_outputs ? grad_outputs[j] : NULL);
        if (outputs[j]->creator > start)
            start = outputs[j]->creator;
    }
    for (int64_t k = start; k >= 0 && rc == TG_OK; k--) {
        if (!w.needed[k] || w.g[k] == NULL)
            continue;
        /* A copy: the walk's ops append entries, which may move them. */
        tg__entry e = t->entries[k];
        rc = tg__entry_check_inputs(&e, "tg_vjp");
        if (rc == TG_OK)
            rc = link(&w, &e);
    }
    if (rc == TG_OK)
        rc = collect(&w, grads, o.unused);
    t->grad_enabled = recording;
    if (rc != TG_OK)
        memset(grads, 0, (size_t)n_in * sizeof *grads);
    return rc;
}
