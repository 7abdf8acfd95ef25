/*
 * gradcheck.c — prove a gradient right by comparing it with finite
 * differences, and tell a wrong gradient from a step that crossed a kink.
 *
 * The check runs in four steps:
 *
 * 1. Reduce. fn's output is projected to a scalar, y = sum(out * w), by a
 *    private op defined below; w is drawn from a counter-based generator
 *    seeded by the options, so every evaluation sees the same weights and
 *    every output element takes part. A one-element output gets w = 1.
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
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- The projection op: y = sum_i x[i] * w[i], a private tg_op. */

typedef struct project_params {
    const double *w;         /* numel(x) weights, on a tape that outlives y */
} project_params;

/* SplitMix64's finaliser: a good 64-bit mix of z. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/*
 * Weight i: a magnitude in [0.5, 1.5) and a random sign, from (seed, i)
 * alone, so every evaluation agrees. Keeping |w| away from 0 keeps every
 * output element visible in y.
 */
static double weight(uint64_t seed, int64_t i)
{
    uint64_t h = mix64(seed ^ mix64((uint64_t)i));
    double w = 0.5 + (double)(h >> 11) * 0x1p-53;
    return (h & 1u) ? -w : w;
}

static double value_at(const tg_tensor *x, int64_t i)
{
    return x->dtype == TG_F32 ? (double)((const float *)x->data)[i]
                              : ((const double *)x->data)[i];
}

static void set_value(tg_tensor *x, int64_t i, double v)
{
    if (x->dtype == TG_F32)
        ((float *)x->data)[i] = (float)v;
    else
        ((double *)x->data)[i] = v;
}

/* s + comp += term, compensated (Neumaier): one step of an exact-ish sum. */
static void add_compensated(double *s, double *comp, double term)
{
    double t = *s + term;
    *comp += fabs(*s) >= fabs(term) ? (*s - t) + term : (term - t) + *s;
    *s = t;
}

/* Forward: the weighted sum in double, output f64 whatever x's dtype. */
static tg_tensor *project_forward(tg_op_ctx *c)
{
    const double *w = ((const project_params *)c->params)->w;
    const tg_tensor *x = c->in[0];
    tg_tensor *y = tg_empty(c->tape, TG_F64, 0, NULL);
    if (y == NULL)
        return NULL;
    double s = 0.0, comp = 0.0;
    if (x->dtype == TG_F32) {
        const float *xs = x->data;
        for (int64_t i = 0; i < x->numel; i++)
            add_compensated(&s, &comp, (double)xs[i] * w[i]);
    } else {
        const double *xs = x->data;
        for (int64_t i = 0; i < x->numel; i++)
            add_compensated(&s, &comp, xs[i] * w[i]);
    }
    *(double *)y->data = s + comp;
    return y;
}

/* Backward: d y / d x[i] = w[i], times the upstream gradient. */
static int project_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const double *w = ((const project_params *)c->params)->w;
    double g = *(const double *)gy->data;
    for (int64_t i = 0; i < gx[0]->numel; i++)
        set_value(gx[0], i, g * w[i]);
    return TG_OK;
}

static const tg_op project_op = {
    .name = "gradcheck_project",
    .arity = 1,
    .params_size = sizeof(project_params),
    .forward = project_forward,
    .backward = project_backward,
};

/* ---- The check's state. */

#define MAX_POINTS 4

/* One evaluation point x + offset * h of the element being checked. */
typedef struct point {
    int offset;              /* -2, -1, 1 or 2 steps */
    tg_tape *tape;           /* scratch, reset before each evaluation */
    double x;                /* the perturbed value, as stored */
    double f;                /* the projected output there */
    int64_t *pieces;         /* on tape: one per non-smooth output element */
    int64_t path_diff;       /* first entry that differs from base, or -1 */
} point;

typedef struct check {
    tg_gradcheck_fn fn;
    void *userdata;
    tg_tensor *const *in;
    int n;
    tg_gradcheck_options o;
    tg_tape *base;           /* the analytic evaluation, at x */
    const double *w;         /* the projection's weights, on base */
    int64_t n_w;
    int64_t *base_pieces;
    int64_t n_pieces;
    bool *had_grad;          /* the inputs' requires_grad, to restore */
    point pts[MAX_POINTS];   /* in increasing offset */
    int n_pts;
    tg_gradcheck_report *r;
    double worst_ratio;      /* error / tolerance of the worst element */
    bool have_ambiguous;
    char ambiguous[512];     /* the first ambiguous element's reason */
} check;

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

/* "x-2h", "x-h", "x", "x+h" or "x+2h". */
static const char *point_label(int offset)
{
    static const char *const labels[] = {"x-2h", "x-h", "x", "x+h", "x+2h"};
    return labels[offset + 2];
}

/* Element j of x as a multi-index, "(1,3)"; "()" for a scalar. */
static char *index_str(const tg_tensor *x, int64_t j, char *buf, size_t n)
{
    int64_t idx[TG_MAX_DIMS];
    for (int d = x->ndim - 1; d >= 0; d--) {
        idx[d] = j % x->shape[d];
        j /= x->shape[d];
    }
    size_t len = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < x->ndim && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? "," : "",
                                (long long)idx[d]);
    if (len < n)
        snprintf(buf + len, n - len, x->ndim == 1 ? ",)" : ")");
    return buf;
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
    int rc = tg__check_tensor(fn, x);
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
static const double *weights(check *ck, tg_tape *t, int64_t n)
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
        w[i] = n == 1 ? 1.0 : weight(ck->o.seed, i);
    if (t == ck->base) {
        ck->w = w;
        ck->n_w = n;
    }
    return w;
}

/* Run fn on t and project its output to a scalar; NULL on failure. */
static tg_tensor *evaluate(check *ck, tg_tape *t)
{
    tg_tensor *out = ck->fn(t, ck->in, ck->n, ck->userdata);
    if (out == NULL ||
        tg__check_tensor("tg_gradcheck: the output", out) != TG_OK)
        return NULL;
    project_params p = {weights(ck, t, out->numel)};
    if (p.w == NULL)
        return NULL;
    return tg_apply(t, &project_op, &out, 1, &p);
}

/* Number of output elements of t's non-smooth ops. */
static int64_t count_pieces(const tg_tape *t)
{
    int64_t n = 0;
    for (int64_t k = 0; k < t->n_entries; k++)
        if (t->entries[k].op->piece != NULL)
            n += t->entries[k].out->numel;
    return n;
}

/*
 * Which piece every output element of every non-smooth op of t lies on,
 * read now, while the inputs hold the values t was evaluated at. NULL
 * (TG_ENOMEM) if the array does not fit.
 */
static int64_t *read_pieces(tg_tape *t, int64_t n_pieces)
{
    if (n_pieces == 0)
        return NULL;
    int64_t *pieces = tg__arena_alloc(&t->arena,
                                      (size_t)n_pieces * sizeof *pieces);
    if (pieces == NULL) {
        tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory");
        return NULL;
    }
    int64_t p = 0;
    for (int64_t k = 0; k < t->n_entries; k++) {
        const tg__entry *e = &t->entries[k];
        if (e->op->piece == NULL)
            continue;
        tg_op_ctx c = {t, e->op, e->in, e->n, e->params, e->saved};
        for (int64_t i = 0; i < e->out->numel; i++)
            pieces[p++] = e->op->piece(&c, e->out, i);
    }
    return pieces;
}

/* The first entry where t's list differs from base's, or -1 if none. */
static int64_t path_difference(const tg_tape *t, const tg_tape *base)
{
    int64_t n = t->n_entries < base->n_entries ? t->n_entries
                                                : base->n_entries;
    for (int64_t k = 0; k < n; k++) {
        const tg__entry *a = &t->entries[k], *b = &base->entries[k];
        if (a->op != b->op || a->n != b->n || !tg__same_shape(a->out, b->out))
            return k;
    }
    return t->n_entries == base->n_entries ? -1 : n;
}

/*
 * The analytic gradients: fn at x on the base tape, then backward. Each
 * input's old gradient is zeroed first, so it ends up holding exactly
 * d y / d input (zeros, or no gradient at all, if y does not depend on it).
 */
static int analytic(check *ck)
{
    for (int i = 0; i < ck->n; i++)
        tg_zero_grad(ck->in[i]);
    tg_tensor *y = evaluate(ck, ck->base);
    if (y == NULL)
        return fn_failed("at the inputs' values");
    ck->n_pieces = count_pieces(ck->base);
    ck->base_pieces = read_pieces(ck->base, ck->n_pieces);
    if (ck->n_pieces > 0 && ck->base_pieces == NULL)
        return TG_ENOMEM;
    if (!y->requires_grad)
        return TG_OK;        /* y does not depend on any input */
    return tg_backward(ck->base, y);
}

/*
 * Evaluate fn with element j of input i moved to x + offset * h, on the
 * point's scratch tape, and note the value, the path and the pieces. The
 * element is restored to orig before returning, whatever happened.
 */
static int evaluate_point(check *ck, int i, int64_t j, double orig, point *pt)
{
    tg_tensor *x = ck->in[i];
    tg_tape_reset(pt->tape);
    set_value(x, j, orig + pt->offset * ck->o.eps);
    pt->x = value_at(x, j);
    int rc = TG_OK;
    tg_tensor *y = evaluate(ck, pt->tape);
    if (y == NULL) {
        char where[128], idx[96];
        snprintf(where, sizeof where, "at input %d element %lld %s, %s", i,
                 (long long)j, index_str(x, j, idx, sizeof idx),
                 point_label(pt->offset));
        rc = fn_failed(where);
    } else {
        pt->f = *(const double *)y->data;
        pt->path_diff = path_difference(pt->tape, ck->base);
        pt->pieces = NULL;
        if (pt->path_diff < 0 && ck->n_pieces > 0) {
            pt->pieces = read_pieces(pt->tape, ck->n_pieces);
            if (pt->pieces == NULL)
                rc = TG_ENOMEM;
        }
    }
    set_value(x, j, orig);
    return rc;
}

/* ---- Classifying an element. */

/* The finite-difference estimate from the points just evaluated. */
static double numeric_estimate(const check *ck)
{
    const point *p = ck->pts;
    if (ck->n_pts == 2)
        return (p[1].f - p[0].f) / (p[1].x - p[0].x);
    double d1 = (p[2].f - p[1].f) / (p[2].x - p[1].x);  /* step h */
    double d2 = (p[3].f - p[0].f) / (p[3].x - p[0].x);  /* step 2h */
    return (4.0 * d1 - d2) / 3.0;
}

/* Explain why pt's tape took another path than the base tape's. */
static void path_reason(const check *ck, const point *pt, char *buf, size_t n)
{
    const tg_tape *t = pt->tape, *b = ck->base;
    int64_t k = pt->path_diff;
    if (k < t->n_entries && k < b->n_entries)
        snprintf(buf, n, "the function took a different path at %s (tape "
                 "entry %lld is %s there, %s at x)", point_label(pt->offset),
                 (long long)k, t->entries[k].op->name,
                 b->entries[k].op->name);
    else
        snprintf(buf, n, "the function took a different path at %s (%lld "
                 "tape entries there, %lld at x)", point_label(pt->offset),
                 (long long)t->n_entries, (long long)b->n_entries);
}

/*
 * Whether element p of the piece arrays changes piece across the points
 * (x-2h .. x+2h, base in the middle); if so, say where into buf.
 */
static bool piece_changes(const check *ck, int64_t p, const tg__entry *e,
                          int64_t k, int64_t i, char *buf, size_t n)
{
    int64_t seq[MAX_POINTS + 1];
    int offs[MAX_POINTS + 1], m = 0;
    for (int q = 0; q < ck->n_pts; q++) {
        if (ck->pts[q].offset > 0 && (m == 0 || offs[m - 1] < 0)) {
            offs[m] = 0;
            seq[m++] = ck->base_pieces[p];
        }
        offs[m] = ck->pts[q].offset;
        seq[m++] = ck->pts[q].pieces[p];
    }
    int a = 1;
    while (a < m && seq[a] == seq[0])
        a++;
    if (a == m)
        return false;
    int kink = seq[a - 1] == TG_ON_KINK ? a - 1 : seq[a] == TG_ON_KINK ? a : -1;
    if (kink >= 0)
        snprintf(buf, n, "%s (tape entry %lld) output element %lld is on a "
                 "kink at %s", e->op->name, (long long)k, (long long)i,
                 point_label(offs[kink]));
    else
        snprintf(buf, n, "%s (tape entry %lld) output element %lld changes "
                 "piece between %s and %s", e->op->name, (long long)k,
                 (long long)i, point_label(offs[a - 1]), point_label(offs[a]));
    return true;
}

/* Whether the element just evaluated is ambiguous, and why (into buf). */
static bool is_ambiguous(const check *ck, char *buf, size_t n)
{
    for (int q = 0; q < ck->n_pts; q++)
        if (ck->pts[q].path_diff >= 0) {
            path_reason(ck, &ck->pts[q], buf, n);
            return true;
        }
    /* The usual case, cheaply: every point's pieces are the base's. */
    size_t bytes = (size_t)ck->n_pieces * sizeof *ck->base_pieces;
    int q = 0;
    while (q < ck->n_pts &&
           (bytes == 0 || memcmp(ck->pts[q].pieces, ck->base_pieces,
                                 bytes) == 0))
        q++;
    if (q == ck->n_pts)
        return false;
    int64_t p = 0;
    for (int64_t k = 0; k < ck->base->n_entries; k++) {
        const tg__entry *e = &ck->base->entries[k];
        if (e->op->piece == NULL)
            continue;
        for (int64_t i = 0; i < e->out->numel; i++, p++)
            if (piece_changes(ck, p, e, k, i, buf, n))
                return true;
    }
    return false;
}

/* How far outside (> 1) or inside (<= 1) the tolerance an element is. */
static double error_ratio(const tg_gradcheck_options *o, double a, double num)
{
    double err = fabs(a - num), tol = o->atol + o->rtol * fabs(num);
    if (isnan(err))
        return INFINITY;
    if (err <= tol)
        return tol > 0 ? err / tol : 0.0;
    return tol > 0 ? err / tol : INFINITY;
}

/* Count element j of input i and keep it if it is the worst so far. */
static void judge(check *ck, int i, int64_t j, double a, double num)
{
    tg_gradcheck_report *r = ck->r;
    double ratio = error_ratio(&ck->o, a, num);
    if (ratio > 1.0)
        r->n_failed++;
    if (r->worst_input >= 0 && !(ratio > ck->worst_ratio))
        return;
    ck->worst_ratio = ratio;
    r->worst_input = i;
    r->worst_index = j;
    r->analytic = a;
    r->numeric = num;
    r->abs_error = fabs(a - num);
    r->rel_error = num != 0 ? r->abs_error / fabs(num)
                 : r->abs_error == 0 ? 0.0 : INFINITY;
}

/* Check every element of input i. */
static int check_input_elements(check *ck, int i)
{
    tg_tensor *x = ck->in[i];
    const tg_tensor *g = tg_grad(x);     /* NULL: y does not depend on x */
    for (int64_t j = 0; j < x->numel; j++) {
        double orig = value_at(x, j);
        char idx[96];
        if (!isfinite(orig))
            return tg_set_error(TG_ENUMERIC, "tg_gradcheck: input %d element "
                                "%lld %s is %g; finite differences need "
                                "finite values", i, (long long)j,
                                index_str(x, j, idx, sizeof idx), orig);
        for (int q = 0; q < ck->n_pts; q++) {
            int rc = evaluate_point(ck, i, j, orig, &ck->pts[q]);
            if (rc != TG_OK)
                return rc;
            if (ck->pts[q].x == orig)
                return tg_set_error(TG_EINVAL, "tg_gradcheck: eps %g does "
                                    "not change input %d element %lld %s "
                                    "(%g) in %s; use a larger eps", ck->o.eps,
                                    i, (long long)j,
                                    index_str(x, j, idx, sizeof idx), orig,
                                    tg_dtype_name(x->dtype));
        }
        ck->r->n_checked++;
        char why[400];
        if (is_ambiguous(ck, why, sizeof why)) {
            if (ck->r->n_ambiguous++ == 0)
                snprintf(ck->ambiguous, sizeof ck->ambiguous, "input %d "
                         "element %lld %s: %s", i, (long long)j,
                         index_str(x, j, idx, sizeof idx), why);
            continue;
        }
        judge(ck, i, j, g != NULL ? value_at(g, j) : 0.0,
              numeric_estimate(ck));
    }
    return TG_OK;
}

/* ---- Setting up, running and tidying up. */

/* Make the tapes, and let the inputs require grad so ops get recorded. */
static int setup(check *ck)
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
    ck->had_grad = tg__arena_alloc(&ck->base->arena,
                                   (size_t)ck->n * sizeof *ck->had_grad);
    if (ck->had_grad == NULL)
        return tg_set_error(TG_ENOMEM, "tg_gradcheck: out of memory");
    for (int i = 0; i < ck->n; i++)
        ck->had_grad[i] = ck->in[i]->requires_grad;
    for (int i = 0; i < ck->n; i++)
        ck->in[i]->requires_grad = true;
    return TG_OK;
}

/* Give the inputs back their requires_grad flags and free the tapes. */
static void teardown(check *ck)
{
    if (ck->had_grad != NULL)
        for (int i = ck->n - 1; i >= 0; i--)
            ck->in[i]->requires_grad = ck->had_grad[i];
    for (int q = 0; q < ck->n_pts; q++)
        tg_tape_free(ck->pts[q].tape);
    tg_tape_free(ck->base);
}

/* The report's summary sentence. */
static void summarise(const check *ck)
{
    tg_gradcheck_report *r = ck->r;
    char worst[400] = "", idx[96];
    size_t n = sizeof r->message;
    if (r->worst_input >= 0)
        snprintf(worst, sizeof worst, "; worst: input %d element %lld %s: "
                 "analytic %.17g, numeric %.17g (abs error %.3g, rel error "
                 "%.3g)", r->worst_input, (long long)r->worst_index,
                 index_str(ck->in[r->worst_input], r->worst_index, idx,
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

static int run(check *ck)
{
    int rc = setup(ck);
    if (rc == TG_OK)
        rc = analytic(ck);
    for (int i = 0; i < ck->n && rc == TG_OK; i++)
        rc = check_input_elements(ck, i);
    return rc;
}

int tg_gradcheck(tg_gradcheck_fn fn, void *userdata, tg_tensor *const *inputs,
                 int n, const tg_gradcheck_options *opt,
                 tg_gradcheck_report *report)
{
    tg_gradcheck_options o = opt != NULL ? *opt : tg_gradcheck_defaults();
    int rc = check_args(fn, inputs, n, &o, report);
    if (report == NULL)
        return rc;
    memset(report, 0, sizeof *report);
    report->worst_input = -1;
    if (rc == TG_OK) {
        check ck = {.fn = fn, .userdata = userdata, .in = inputs, .n = n,
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
