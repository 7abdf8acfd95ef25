/*
 * gradcheck_eval.c — where tg_gradcheck runs the user's function: once on
 * the base tape for the analytic gradients (step 2 in gradcheck.c), then
 * at the points around every element of every input for the finite
 * differences (step 3), noting each point's path and pieces for the kink
 * test (step 4, in gradcheck_classify.c). fn's failures are reported
 * with where they happened.
 */
#include "autograd/entry.h"
#include "autograd/gradcheck_state.h"
#include "tensor/alloc.h"
#include "tensor/element.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"

#include <math.h>
#include <stdio.h>

/*
 * fn returned NULL (or the projection failed): keep its message and
 * status, saying where it happened.
 */
static int fn_failed(const char *where)
{
    int status = tg_last_status();
    if (status == TG_OK)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: the function returned "
                            "NULL %s without setting an error", where);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    return tg_set_error(status, "tg_gradcheck: the function failed %s: %s",
                        where, msg);
}

/*
 * The projection's n weights: made once on the base tape by the first
 * evaluation, and made again on t only if fn's output changes size (a
 * different path, which will be reported). One element gets weight 1.
 */
static const double *weights(tg__gc *ck, tg_tape *t, int64_t n)
{
    if (ck->w != NULL && ck->n_w == n)
        return ck->w;
    double *w = NULL;
    if ((uint64_t)n <= SIZE_MAX / sizeof *w)
        w = tg__arena_alloc(&t->arena, (size_t)n * sizeof *w);
    if (w == NULL) {
        tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory for %lld "
                     "projection weights", (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        w[i] = n == 1 ? 1.0 : tg__gc_weight(ck->o.seed, i);
    if (t == ck->base) {
        ck->w = w;
        ck->n_w = n;
    }
    return w;
}

/* Run fn on t and project its output to a scalar; NULL on failure. */
static tg_tensor *evaluate(tg__gc *ck, tg_tape *t)
{
    tg_tensor *out = ck->fn(t, ck->n, ck->in, ck->userdata);
    if (out == NULL ||
        tg__check_tensor("tg_gradcheck: the output", out) != TG_OK)
        return NULL;
    const double *w = weights(ck, t, out->numel);
    if (w == NULL)
        return NULL;
    return tg__gc_project(t, out, w);
}

/* Whether x is one of the inputs being checked. */
static bool is_input(const tg__gc *ck, const tg_tensor *x)
{
    for (int i = 0; i < ck->n; i++)
        if (ck->in[i] == x)
            return true;
    return false;
}

/*
 * Backward from y on the base tape, leaving alone the gradients of leaves
 * fn used that are not inputs (weights it reads through its userdata):
 * they leave the graph for this pass (requires_grad off, which backward
 * allows at any time, docs/errors.md) and come back after it.
 */
static int backward_inputs_only(tg__gc *ck, tg_tensor *y)
{
    tg_tape *t = ck->base;
    int64_t cap = 0;
    for (int64_t k = 0; k < t->n_entries; k++)
        cap += t->entries[k].n;
    tg_tensor **off = cap ? tg_tape_alloc(t, (size_t)cap * sizeof *off) : NULL;
    if (cap && off == NULL)
        return tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory");
    int64_t n_off = 0;
    for (int64_t k = 0; k < t->n_entries; k++)
        for (int i = 0; i < t->entries[k].n; i++) {
            tg_tensor *x = t->entries[k].in[i];
            if (x->creator < 0 && x->requires_grad && x->grad_of == NULL &&
                !is_input(ck, x)) {
                x->requires_grad = false;
                off[n_off++] = x;
            }
        }
    int rc = tg_backward(t, y);
    for (int64_t m = 0; m < n_off; m++)
        off[m]->requires_grad = true;
    return rc;
}

/* Step 2 (tg__gc_analytic, described in gradcheck_state.h). */
int tg__gc_analytic(tg__gc *ck)
{
    for (int i = 0; i < ck->n; i++)
        tg_zero_grad(ck->in[i]);
    tg_tensor *y = evaluate(ck, ck->base);
    if (y == NULL)
        return fn_failed("at the inputs' values");
    ck->n_pieces = tg__gc_count_pieces(ck->base);
    ck->base_pieces = tg__gc_read_pieces(ck->base, ck->n_pieces);
    if (ck->n_pieces > 0 && ck->base_pieces == NULL)
        return TG_ENOMEM;
    if (!y->requires_grad)
        return TG_OK;        /* y does not depend on any input */
    return backward_inputs_only(ck, y);
}

/*
 * Step 3 for one point: evaluate fn with element j of input i moved to
 * x + offset * h, on the point's scratch tape, and note the value, the
 * path and the pieces. The element is restored to orig before returning,
 * whatever happened.
 */
static int evaluate_point(tg__gc *ck, int i, int64_t j, double orig,
                          tg__gc_point *pt)
{
    tg_tensor *x = ck->in[i];
    tg_tape_reset(pt->tape);
    tg__set(x, j, orig + pt->offset * ck->o.eps);
    pt->x = tg__get(x, j);
    int rc = TG_OK;
    tg_tensor *y = evaluate(ck, pt->tape);
    if (y == NULL) {
        char where[128], idx[96];
        snprintf(where, sizeof where, "at input %d element %lld %s, %s", i,
                 (long long)j, tg__gc_index_str(x, j, idx, sizeof idx),
                 tg__gc_point_label(pt->offset));
        rc = fn_failed(where);
    } else {
        pt->f = *(const double *)y->data;
        pt->path_diff = tg__gc_path_difference(pt->tape, ck->base);
        pt->pieces = NULL;
        if (pt->path_diff < 0 && ck->n_pieces > 0) {
            pt->pieces = tg__gc_read_pieces(pt->tape, ck->n_pieces);
            if (pt->pieces == NULL)
                rc = TG_ENOMEM;
        }
    }
    tg__set(x, j, orig);
    return rc;
}

/* Steps 3 and 4 for input i (gradcheck_state.h). */
int tg__gc_check_input_elements(tg__gc *ck, int i)
{
    tg_tensor *x = ck->in[i];
    const tg_tensor *g = tg_grad(x);     /* NULL: y does not depend on x */
    for (int64_t j = 0; j < x->numel; j++) {
        double orig = tg__get(x, j);
        char idx[96];
        if (!isfinite(orig))
            return tg_set_error(TG_ENUMERIC, "tg_gradcheck: input %d element "
                                "%lld %s is %g; finite differences need "
                                "finite values", i, (long long)j,
                                tg__gc_index_str(x, j, idx, sizeof idx), orig);
        for (int q = 0; q < ck->n_pts; q++) {
            int rc = evaluate_point(ck, i, j, orig, &ck->pts[q]);
            if (rc != TG_OK)
                return rc;
            if (ck->pts[q].x == orig)
                return tg_set_error(TG_EINVAL, "tg_gradcheck: eps %g does "
                                    "not change input %d element %lld %s "
                                    "(%g) in %s; use a larger eps", ck->o.eps,
                                    i, (long long)j,
                                    tg__gc_index_str(x, j, idx, sizeof idx),
                                    orig, tg_dtype_name(x->dtype));
        }
        ck->r->n_checked++;
        char why[400];
        if (tg__gc_is_ambiguous(ck, why, sizeof why)) {
            if (ck->r->n_ambiguous++ == 0)
                snprintf(ck->ambiguous, sizeof ck->ambiguous, "input %d "
                         "element %lld %s: %s", i, (long long)j,
                         tg__gc_index_str(x, j, idx, sizeof idx), why);
            continue;
        }
        tg__gc_judge(ck, i, j, g != NULL ? tg__get(g, j) : 0.0,
              tg__gc_numeric_estimate(ck));
    }
    return TG_OK;
}
