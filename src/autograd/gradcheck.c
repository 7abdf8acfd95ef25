/*
 * gradcheck.c — prove a gradient right by comparing it with finite
 * differences, and tell a wrong gradient from a step that crossed a kink.
 *
 * The check runs in four steps:
 *
 * 1. Reduce. fn's output is projected to a scalar, y = sum(out * w), by a
 *    private op (gradcheck_project.c); w is drawn from a counter-based
 *    generator seeded by the options, so every evaluation sees the same
 *    weights and every output element takes part. A one-element output gets w = 1.
 *    The projection's output is f64 whatever out's dtype, so the reduction
 *    itself adds no f32 rounding to the finite differences.
 * 2. Analytic. fn runs once on the base tape with the inputs requiring
 *    grad, and tg_backward(y) leaves d y / d input in each input's grad.
 * 3. Numeric. For every element of every input, fn runs again with that
 *    element moved to x-h and x+h (and x-2h, x+2h for Richardson), each on
 *    a scratch tape that is reset before the next evaluation, so memory
 *    stays flat. The element is put back to its exact original value
 *    after every evaluation, error or not. The difference quotient uses
 *    the steps actually taken (the perturbed values as stored, minus each
 *    other), not the nominal h, so f32 rounding of x+h does not bias it.
 * 4. Kinks. Scratch evaluations are recorded (inputs require grad, the
 *    tape has grad enabled), so each is a list of entries like the base
 *    tape's. Right after each evaluation, while the inputs hold that
 *    point's values, we read tg_op.piece for every output element of every
 *    non-smooth op. The element is ambiguous when the entry lists differ
 *    (fn took another path) or when some op output's piece is not the
 *    same at all points x-2h .. x+2h; a piece that is TG_ON_KINK at every
 *    point means the step did not move that op's input, so it does not
 *    count. This is done for every element, not only for failing ones,
 *    because a step across a kink can also agree by luck, and that must
 *    not read as a pass. It is cheap: recording stores a few pointers per
 *    op call, and the piece walk reads each non-smooth output once per
 *    point, less work than the evaluation itself.
 */
#include "tapegrad/gradcheck.h"

#include "autograd/entry.h"
#include "autograd/gradcheck_state.h"
#include "tensor/alloc.h"
#include "tensor/element.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

tg_gradcheck_options tg_gradcheck_defaults(void)
{
    return (tg_gradcheck_options){
        .eps = 1e-6,
        .atol = 1e-5,
        .rtol = 1e-3,
        .method = TG_GRADCHECK_CENTRAL,
        .allow_f32 = false,
        .seed = 0x7467726164636b31u, /* "tgradck1" */
    };
}

/* ---- Checking the arguments. */

static int check_options(const tg_gradcheck_options *o)
{
    if (!(isfinite(o->eps) && o->eps > 0))
        return tg_set_error(TG_EINVAL, "tg_gradcheck: eps is %g; it must be "
                            "finite and > 0 (start from "
                            "tg_gradcheck_defaults())", o->eps);
    if (!(isfinite(o->atol) && o->atol >= 0) ||
        !(isfinite(o->rtol) && o->rtol >= 0))
        return tg_set_error(TG_EINVAL, "tg_gradcheck: atol %g and rtol %g "
                            "must be finite and >= 0", o->atol, o->rtol);
    if (o->method != TG_GRADCHECK_CENTRAL &&
        o->method != TG_GRADCHECK_RICHARDSON)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: unknown method %d",
                            (int)o->method);
    return TG_OK;
}

static int check_input(const tg_gradcheck_options *o, tg_tensor *x, int i)
{
    char fn[64];
    snprintf(fn, sizeof fn, "tg_gradcheck: input %d", i);
    int rc = tg__check_read(fn, x);
    if (rc != TG_OK)
        return rc;
    if (x->creator >= 0)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: input %d was made by a "
                            "recorded op; inputs must be leaves", i);
    if (x->dtype == TG_F32 && !o->allow_f32)
        return tg_set_error(TG_EDTYPE, "tg_gradcheck: input %d is f32; finite "
                            "differences need f64 (f32 rounding swamps a step "
                            "of %g); set options.allow_f32 to check it anyway, "
                            "loosely", i, o->eps);
    return TG_OK;
}

static int check_args(tg_gradcheck_fn fn, tg_tensor *const *inputs, int n,
                      const tg_gradcheck_options *o,
                      const tg_gradcheck_report *report)
{
    if (fn == NULL)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: fn is NULL");
    if (report == NULL)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: report is NULL");
    if (inputs == NULL)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: inputs is NULL");
    if (n < 1)
        return tg_set_error(TG_EINVAL, "tg_gradcheck: n is %d; it must be at "
                            "least 1", n);
    int rc = check_options(o);
    for (int i = 0; i < n && rc == TG_OK; i++)
        rc = check_input(o, inputs[i], i);
    return rc;
}

/* ---- Evaluating the function. */

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

/*
 * The analytic gradients: fn at x on the base tape, then backward. Each
 * input's old gradient is zeroed first, so it ends up holding exactly
 * d y / d input (zeros, or no gradient at all, if y does not depend on it).
 */
static int analytic(tg__gc *ck)
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
 * Evaluate fn with element j of input i moved to x + offset * h, on the
 * point's scratch tape, and note the value, the path and the pieces. The
 * element is restored to orig before returning, whatever happened.
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

/* Check every element of input i. */
static int check_input_elements(tg__gc *ck, int i)
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

/* ---- Setting up, running and tidying up. */

/* Make the tapes, and let the inputs require grad so ops get recorded. */
static int setup(tg__gc *ck)
{
    ck->base = tg_tape_new();
    if (ck->base == NULL)
        return tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory");
    ck->n_pts = ck->o.method == TG_GRADCHECK_RICHARDSON ? 4 : 2;
    static const int central[] = {-1, 1}, richardson[] = {-2, -1, 1, 2};
    for (int q = 0; q < ck->n_pts; q++) {
        ck->pts[q].offset = ck->n_pts == 2 ? central[q] : richardson[q];
        ck->pts[q].tape = tg_tape_new();
        if (ck->pts[q].tape == NULL)
            return tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory");
    }
    /* Not in the base tape's arena: fn may reset the tape it is given. */
    ck->had_grad = tg__malloc((size_t)ck->n * sizeof *ck->had_grad);
    if (ck->had_grad == NULL)
        return tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory");
    for (int i = 0; i < ck->n; i++)
        ck->had_grad[i] = ck->in[i]->requires_grad;
    for (int i = 0; i < ck->n; i++)
        ck->in[i]->requires_grad = true;
    return TG_OK;
}

/* Give the inputs back their requires_grad flags and free the tapes. */
static void teardown(tg__gc *ck)
{
    if (ck->had_grad != NULL)
        for (int i = ck->n - 1; i >= 0; i--)
            ck->in[i]->requires_grad = ck->had_grad[i];
    tg__free(ck->had_grad);
    ck->had_grad = NULL;
    for (int q = 0; q < ck->n_pts; q++)
        tg_tape_free(ck->pts[q].tape);
    tg_tape_free(ck->base);
}

/* The report's summary sentence. */
static void summarise(const tg__gc *ck)
{
    tg_gradcheck_report *r = ck->r;
    char worst[400] = "", idx[96];
    size_t n = sizeof r->message;
    if (r->worst_input >= 0)
        snprintf(worst, sizeof worst, "; worst: input %d element %lld %s: "
                 "analytic %.17g, numeric %.17g (abs error %.3g, rel error "
                 "%.3g)", r->worst_input, (long long)r->worst_index,
                 tg__gc_index_str(ck->in[r->worst_input], r->worst_index, idx,
                           sizeof idx),
                 r->analytic, r->numeric, r->abs_error, r->rel_error);
    int len;
    if (r->passed)
        len = snprintf(r->message, n, "gradcheck passed: %lld elements "
                       "checked, %lld ambiguous%s", (long long)r->n_checked,
                       (long long)r->n_ambiguous, worst);
    else
        len = snprintf(r->message, n, "gradcheck failed: %lld of %lld "
                       "elements outside atol %g + rtol %g * |numeric|, %lld "
                       "ambiguous%s", (long long)r->n_failed,
                       (long long)r->n_checked, ck->o.atol, ck->o.rtol,
                       (long long)r->n_ambiguous, worst);
    if (ck->have_ambiguous && len >= 0 && (size_t)len < n)
        snprintf(r->message + len, n - (size_t)len, "; ambiguous: %s",
                 ck->ambiguous);
}

static int run(tg__gc *ck)
{
    int rc = setup(ck);
    if (rc == TG_OK)
        rc = analytic(ck);
    for (int i = 0; i < ck->n && rc == TG_OK; i++)
        rc = check_input_elements(ck, i);
    return rc;
}

int tg_gradcheck(tg_gradcheck_fn fn, void *userdata, int n,
                 tg_tensor *const *inputs, const tg_gradcheck_options *opt,
                 tg_gradcheck_report *report)
{
    tg_gradcheck_options o = opt != NULL ? *opt : tg_gradcheck_defaults();
    int rc = check_args(fn, inputs, n, &o, report);
    if (report == NULL)
        return rc;
    memset(report, 0, sizeof *report);
    report->worst_input = -1;
    if (rc == TG_OK) {
        tg__gc ck = {.fn = fn, .userdata = userdata, .in = inputs, .n = n,
                    .o = o, .r = report};
        rc = run(&ck);
        teardown(&ck);
        ck.have_ambiguous = report->n_ambiguous > 0;
        report->passed = rc == TG_OK && report->n_failed == 0;
        if (rc == TG_OK)
            summarise(&ck);
    }
    if (rc != TG_OK) {
        report->passed = false;
        snprintf(report->message, sizeof report->message, "%s",
                 tg_last_error());
    }
    return rc;
}
