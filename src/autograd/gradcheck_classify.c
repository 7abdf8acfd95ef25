/*
 * gradcheck_classify.c — what tg_gradcheck makes of one element once its
 * points are evaluated: the finite-difference estimate, whether a path
 * change or a kink makes it ambiguous (step 4 in gradcheck.c), and how far
 * outside the tolerance it lies. Also how messages name points and
 * elements.
 */
#include "autograd/entry.h"
#include "autograd/gradcheck_state.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "x-2h", "x-h", "x", "x+h" or "x+2h". */
const char *tg__gc_point_label(int offset)
{
    static const char *const labels[] = {"x-2h", "x-h", "x", "x+h", "x+2h"};
    return labels[offset + 2];
}

/* Element j of x as a multi-index, "(1,3)"; "()" for a scalar. */
char *tg__gc_index_str(const tg_tensor *x, int64_t j, char *buf, size_t n)
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

/* Number of output elements of t's non-smooth ops. */
int64_t tg__gc_count_pieces(const tg_tape *t)
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
int64_t *tg__gc_read_pieces(tg_tape *t, int64_t n_pieces)
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
int64_t tg__gc_path_difference(const tg_tape *t, const tg_tape *base)
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

/* The finite-difference estimate from the points just evaluated. */
double tg__gc_numeric_estimate(const tg__gc *ck)
{
    const tg__gc_point *p = ck->pts;
    if (ck->n_pts == 2)
        return (p[1].f - p[0].f) / (p[1].x - p[0].x);
    double d1 = (p[2].f - p[1].f) / (p[2].x - p[1].x);  /* step h */
    double d2 = (p[3].f - p[0].f) / (p[3].x - p[0].x);  /* step 2h */
    return (4.0 * d1 - d2) / 3.0;
}

/* Explain why pt's tape took another path than the base tape's. */
static void path_reason(const tg__gc *ck, const tg__gc_point *pt, char *buf,
                        size_t n)
{
    const tg_tape *t = pt->tape, *b = ck->base;
    int64_t k = pt->path_diff;
    if (k < t->n_entries && k < b->n_entries)
        snprintf(buf, n, "the function took a different path at %s (tape "
                 "entry %lld is %s there, %s at x)",
                 tg__gc_point_label(pt->offset), (long long)k,
                 t->entries[k].op->name, b->entries[k].op->name);
    else
        snprintf(buf, n, "the function took a different path at %s (%lld "
                 "tape entries there, %lld at x)",
                 tg__gc_point_label(pt->offset), (long long)t->n_entries,
                 (long long)b->n_entries);
}

/*
 * Whether element p of the piece arrays changes piece across the points
 * (x-2h .. x+2h, base in the middle); if so, say where into buf.
 */
static bool piece_changes(const tg__gc *ck, int64_t p, const tg__entry *e,
                          int64_t k, int64_t i, char *buf, size_t n)
{
    int64_t seq[TG__GC_POINTS + 1];
    int offs[TG__GC_POINTS + 1], m = 0;
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
                 tg__gc_point_label(offs[kink]));
    else
        snprintf(buf, n, "%s (tape entry %lld) output element %lld changes "
                 "piece between %s and %s", e->op->name, (long long)k,
                 (long long)i, tg__gc_point_label(offs[a - 1]),
                 tg__gc_point_label(offs[a]));
    return true;
}

/* Whether the element just evaluated is ambiguous, and why (into buf). */
bool tg__gc_is_ambiguous(const tg__gc *ck, char *buf, size_t n)
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
void tg__gc_judge(tg__gc *ck, int i, int64_t j, double a, double num)
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
