/*
 * gradgradcheck.c — second-order gradient checks (tg_gradgradcheck).
 *
 * The gradient of fn, recorded with tg_vjp's create_graph, is itself a
 * function of the inputs: G_k(x) = d <w, fn(x)> / d inputs[k] for a fixed
 * random w. tg_gradcheck checks G_k like any function, by finite
 * differences of G_k against the backward of G_k, element by element and
 * kink-aware: that checks every second derivative the gradient uses. Before
 * that, fn's plain backward runs twice on one recording: a backward that
 * adds into its gradient slot instead of writing it gives a different
 * second answer, which a first-order check cannot see.
 *
 * When an element is off, each op fn records is checked the same way on
 * its own, at the values it was recorded with, and the first that fails
 * is named in the report: usually the op whose backward_ops is wrong.
 */
#include <tapegrad.h>

#include "autograd/entry.h"
#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"

#include <stdio.h>
#include <string.h>

typedef struct second {
    tg_gradcheck_fn fn;
    void *userdata;
    int wrt;                 /* G_k: the gradient of this input */
    uint64_t seed;           /* for w */
} second;

/* A fixed w like y: the same on every call for the same seed. */
static tg_tensor *weights_like(tg_tape *t, const tg_tensor *y, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 17);
    return tg_rand_normal(t, &rng, tg_dtype_of(y), tg_ndim(y), tg_shape(y),
                          0.0, 1.0);
}

static tg_tensor *gradient_of_fn(tg_tape *t, int n, tg_tensor *const *in,
                                 void *ud)
{
    const second *s = ud;
    tg_tensor *y = s->fn(t, n, in, s->userdata), *g[64];
    if (y == NULL)
        return NULL;
    tg_tensor *w = weights_like(t, y, s->seed);
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    o.unused = TG_UNUSED_ZEROS;
    if (tg_vjp(t, 1, &y, &w, n, in, g, &o) != TG_OK)
        return NULL;
    return g[s->wrt];
}

/* One recorded op alone, on fresh leaves holding its recorded inputs. */
typedef struct alone {
    const tg__entry *e;
} alone;

static tg_tensor *op_alone(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    const alone *a = ud;
    return tg_apply(t, a->e->op, n, in, a->e->params);
}

/* Whether the second-order check of entry e alone fails (an error counts
 * as not failing: the name would then be a guess). */
static bool fails_alone(const tg__entry *e, uint64_t seed,
                        const tg_gradcheck_options *o)
{
    if (e->n > 64 || e->op->backward_ops == NULL)
        return false;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return false;
    tg_tensor *leaves[64];
    bool ok = true;
    for (int i = 0; i < e->n && ok; i++)
        ok = (leaves[i] = tg_detach(t, e->in[i])) != NULL;
    alone a = {e};
    second s = {op_alone, &a, 0, seed};
    bool failed = false;
    for (int k = 0; ok && !failed && k < e->n; k++) {
        tg_gradcheck_report r;
        s.wrt = k;
        ok = tg_gradcheck(gradient_of_fn, &s, e->n, leaves, o, &r) == TG_OK;
        failed = ok && !r.passed;
    }
    tg_tape_free(t);
    return failed;
}

/* The name of the first op fn records that fails the check alone, or
 * NULL. */
static const char *culprit(const second *s, int n, tg_tensor *const *in,
                           const tg_gradcheck_options *o)
{
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return NULL;
    bool was[64];
    for (int i = 0; i < n; i++) {
        was[i] = tg_requires_grad(in[i]);
        tg_set_requires_grad(in[i], true);
    }
    const char *name = NULL;
    if (s->fn(t, n, in, s->userdata) != NULL)
        for (int64_t j = 0; j < t->n_entries && name == NULL; j++)
            if (fails_alone(&t->entries[j], s->seed, o))
                name = t->entries[j].op->name;
    for (int i = 0; i < n; i++)
        tg_set_requires_grad(in[i], was[i]);
    tg_tape_free(t);
    return name;
}

/* fn's backward twice on one recording: the same gradients, bit for bit. */
static int backward_twice(const second *s, int n, tg_tensor *const *in,
                          tg_gradcheck_report *r)
{
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return tg_last_status();
    /* Copies of the inputs, so that the caller's gradients stay as they
     * were (their values are what fn sees). */
    tg_tensor *leaves[64];
    int rc = TG_OK;
    for (int i = 0; i < n && rc == TG_OK; i++)
        if ((leaves[i] = tg_detach(t, in[i])) == NULL ||
            (rc = tg_set_requires_grad(leaves[i], true)) != TG_OK)
            rc = tg_last_status();
    in = leaves;
    tg_tensor *y = NULL, *first = NULL, *root = NULL;
    if (rc == TG_OK)
        y = s->fn(t, n, in, s->userdata);
    if (rc == TG_OK && y == NULL)
        rc = tg_last_status();
    if (rc == TG_OK) {
        root = tg_sum(t, tg_mul(t, y, weights_like(t, y, s->seed)));
        rc = root == NULL ? tg_last_status() : TG_OK;
    }
    for (int i = 0; i < n && rc == TG_OK; i++) {
        for (int k = 0; k < n; k++)
            tg_zero_grad(in[k]);
        if ((rc = tg_backward(t, root)) != TG_OK)
            break;
        first = tg_grad(in[i]) == NULL ? NULL
                                       : tg_empty_like(t, tg_grad(in[i]));
        if (first != NULL)
            memcpy(tg_dtype_of(first) == TG_F32 ? (void *)tg_mut_f32(first)
                                                : (void *)tg_mut_f64(first),
                   tg_dtype_of(first) == TG_F32
                       ? (const void *)tg_data_f32(tg_grad(in[i]))
                       : (const void *)tg_data_f64(tg_grad(in[i])),
                   (size_t)tg_numel(first) * tg_dtype_size(tg_dtype_of(first)));
        for (int k = 0; k < n; k++)
            tg_zero_grad(in[k]);
        if ((rc = tg_backward(t, root)) != TG_OK || first == NULL)
            break;
        for (int64_t e = 0; e < tg_numel(first); e++) {
            double a = tg_value_at(first, e), b = tg_value_at(tg_grad(in[i]), e);
            if (a == b || (a != a && b != b))
                continue;
            r->passed = false;
            r->n_failed = 1;
            r->worst_input = i;
            r->worst_index = e;
            r->analytic = b;
            r->numeric = a;
            snprintf(r->message, sizeof r->message, "backward gives input %d "
                     "element %lld %.17g on a first pass and %.17g on a "
                     "second, after tg_zero_grad: some op's backward adds "
                     "into its gradient slot instead of writing it", i,
                     (long long)e, a, b);
            break;
        }
        if (!r->passed)
            break;
    }
    tg_tape_free(t);
    return rc;
}

int tg_gradgradcheck(tg_gradcheck_fn fn, void *userdata, int n,
                     tg_tensor *const *inputs,
                     const tg_gradcheck_options *opt,
                     tg_gradcheck_report *report)
{
    if (fn == NULL || inputs == NULL || report == NULL || n < 1 || n > 64)
        return tg_set_error(TG_EINVAL, "tg_gradgradcheck: %s",
                            fn == NULL ? "fn is NULL"
                            : inputs == NULL ? "inputs is NULL"
                            : report == NULL ? "report is NULL"
                                             : "n must be 1..64");
    tg_gradcheck_options o = opt != NULL ? *opt : tg_gradcheck_defaults();
    memset(report, 0, sizeof *report);
    report->passed = true;
    report->worst_input = -1;
    second s = {fn, userdata, 0, o.seed ^ 0x9e3779b97f4a7c15u};
    int rc = backward_twice(&s, n, inputs, report);
    if (rc != TG_OK)
        return tg__error_in("tg_gradgradcheck");
    if (!report->passed)
        return TG_OK;
    double worst = -1;
    for (int k = 0; k < n; k++) {
        tg_gradcheck_report r;
        s.wrt = k;
        rc = tg_gradcheck(gradient_of_fn, &s, n, inputs, &o, &r);
        if (rc != TG_OK)
            return tg__error_in("tg_gradgradcheck");
        report->n_checked += r.n_checked;
        report->n_failed += r.n_failed;
        report->n_ambiguous += r.n_ambiguous;
        double tol = o.atol + o.rtol * (r.numeric < 0 ? -r.numeric : r.numeric);
        double badness = r.worst_input < 0 ? -1 : r.abs_error / tol;
        if (badness <= worst)
            continue;
        worst = badness;
        *report = (tg_gradcheck_report){
            report->n_failed == 0, report->n_checked, report->n_failed,
            report->n_ambiguous, r.worst_input, r.worst_index, r.analytic,
            r.numeric, r.abs_error, r.rel_error, ""};
        snprintf(report->message, sizeof report->message,
                 "second order, d/d input %d of the gradient of input %d at "
                 "value %.17g: %.900s", r.worst_input, k,
                 tg_value_at(inputs[r.worst_input], r.worst_index),
                 r.message);
    }
    report->passed = report->n_failed == 0;
    if (!report->passed) {
        const char *op = culprit(&s, n, inputs, &o);
        size_t len = strlen(report->message);
        if (op != NULL && len + 80 < sizeof report->message)
            snprintf(report->message + len, sizeof report->message - len,
                     " (op %s fails the same check on its own, at the "
                     "values fn gave it)", op);
    }
    return TG_OK;
}
