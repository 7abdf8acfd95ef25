/*
 * gradcheck_state.h — what the parts of tg_gradcheck share (tg__gc_ is
 * for gradcheck): the state of a check in progress (gradcheck.c runs it),
 * running fn on it (gradcheck_eval.c), the projection op
 * (gradcheck_project.c), and classifying an element: its numeric
 * estimate, whether it is ambiguous, how far off it is
 * (gradcheck_classify.c).
 */
#ifndef TG_AUTOGRAD_GRADCHECK_STATE_H
#define TG_AUTOGRAD_GRADCHECK_STATE_H

#include <stddef.h>

#include "tapegrad/gradcheck.h"

/* Points per element: x-h, x+h (central) or x-2h .. x+2h (Richardson). */
#define TG__GC_POINTS 4

/* One evaluation point x + offset * h of the element being checked. */
typedef struct tg__gc_point {
    int offset;              /* -2, -1, 1 or 2 steps */
    tg_tape *tape;           /* scratch, reset before each evaluation */
    double x;                /* the perturbed value, as stored */
    double f;                /* the projected output there */
    int64_t *pieces;         /* on tape: one per non-smooth output element */
    int64_t path_diff;       /* first entry that differs from base, or -1 */
} tg__gc_point;

/* A check in progress: its arguments, tapes, points and findings. */
typedef struct tg__gc {
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
    tg__gc_point pts[TG__GC_POINTS]; /* increasing offset */
    int n_pts;
    tg_gradcheck_report *r;
    double worst_ratio;      /* error / tolerance of the worst element */
    bool have_ambiguous;
    char ambiguous[512];     /* the first ambiguous element's reason */
} tg__gc;

/* ---- Running fn (gradcheck_eval.c) */

/*
 * The analytic gradients: fn at x on the base tape, then backward (only
 * into the inputs). Each input's old gradient is zeroed first, so it ends
 * up holding exactly d y / d input (zeros, or no gradient at all, if y
 * does not depend on it). Also reads the base tape's pieces.
 */
int tg__gc_analytic(tg__gc *ck);

/* Check every element of input i: evaluate its points, then count it as
 * ambiguous or judge it (into ck->r). The element is always restored. */
int tg__gc_check_input_elements(tg__gc *ck, int i);

/* ---- Classifying an element (gradcheck_classify.c) */

/* "x-2h", "x-h", "x", "x+h" or "x+2h". */
const char *tg__gc_point_label(int offset);

/* Element j of x as a multi-index, "(1,3)"; "()" for a scalar. */
char *tg__gc_index_str(const tg_tensor *x, int64_t j, char *buf, size_t n);

/* Number of output elements of t's non-smooth ops. */
int64_t tg__gc_count_pieces(const tg_tape *t);

/*
 * Which piece every output element of every non-smooth op of t lies on,
 * read now, while the inputs hold the values t was evaluated at. NULL
 * (TG_ENOMEM) if the array does not fit.
 */
int64_t *tg__gc_read_pieces(tg_tape *t, int64_t n_pieces);

/* The first entry where t's list differs from base's, or -1 if none. */
int64_t tg__gc_path_difference(const tg_tape *t, const tg_tape *base);

/* The finite-difference estimate from the points just evaluated. */
double tg__gc_numeric_estimate(const tg__gc *ck);

/* Whether the element just evaluated is ambiguous, and why (into buf). */
bool tg__gc_is_ambiguous(const tg__gc *ck, char *buf, size_t n);

/* Count element j of input i and keep it if it is the worst so far. */
void tg__gc_judge(tg__gc *ck, int i, int64_t j, double a, double num);

/* ---- The projection y = sum_i out[i] * w[i] (gradcheck_project.c) */

/*
 * Weight i: a magnitude in [0.5, 1.5) and a random sign, from (seed, i)
 * alone, so every evaluation agrees. Keeping |w| away from 0 keeps every
 * output element visible in y.
 */
double tg__gc_weight(uint64_t seed, int64_t i);

/* out projected to a scalar with weights w (numel(out) of them, on a tape
 * that outlives the result), recorded on t as a private op. */
tg_tensor *tg__gc_project(tg_tape *t, tg_tensor *out, const double *w);

#endif /* TG_AUTOGRAD_GRADCHECK_STATE_H */
