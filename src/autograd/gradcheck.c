/*
 * gradcheck.c — prove a gradient right by comparing it with finite
 * differences, and tell a wrong gradient from a step that crossed a kink.
 * This file checks the arguments, sets up, runs the steps below and
 * writes the report; gradcheck_eval.c runs fn (steps 2 and 3),
 * gradcheck_project.c is step 1's op, gradcheck_classify.c step 4 and
 * the verdict on each element.
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

#include "autograd/gradcheck_state.h"
#include "tensor/alloc.h"
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
        rc = tg__gc_analytic(ck);
    for (int i = 0; i < ck->n && rc == TG_OK; i++)
        rc = tg__gc_check_input_elements(ck, i);
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
