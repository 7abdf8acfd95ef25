/*
 * tg_unary.h — checks shared by the suites of the unary elementwise ops
 * (test_ops_unary.c, test_ops_activations.c), against the PyTorch fixtures
 * of tests/fixtures/unary_fixture.h.
 *
 * A suite maps each op name of its fixtures to a tg_unary_fn that calls the
 * op with the case's options, then runs these checks on every case.
 */
#ifndef TG_UNARY_H
#define TG_UNARY_H

#include "../fixtures/unary_fixture.h"

/* The most points a case may have. */
#define TG_UNARY_MAX_POINTS 256

/* Call the op under test on x with options p (as in unary_case.p). */
typedef tg_tensor *(*tg_unary_fn)(tg_tape *t, tg_tensor *x, const double *p);

/* An op's name and its caller. */
typedef struct tg_unary_entry {
    const char *op;
    tg_unary_fn fn;
} tg_unary_entry;

/* The caller of c's op in a table of n entries; fails the test if absent. */
tg_unary_fn tg_unary_find(const tg_unary_entry *table, int n,
                          const unary_case *c);

/* The number of f64 cases among cases[0..n-1], and the k-th of them
 * (gradient checks run in f64), for loop tests over them. */
int tg_unary_count_f64(const unary_case *cases, int n);
const unary_case *tg_unary_nth_f64(const unary_case *cases, int n, int k);

/* Values at every point within a few ulps of PyTorch's (see the fixture's
 * scales), NaN where PyTorch has NaN, infinities equal. */
void tg_unary_check_forward(const unary_case *c, tg_unary_fn f);

/* d sum(y) / dx, through tg_backward, against PyTorch's autograd. */
void tg_unary_check_gradient(const unary_case *c, tg_unary_fn f);

/* d sum(y * w) / dx for varied upstream weights w: the op multiplies the
 * upstream gradient in, gx = w * d. */
void tg_unary_check_chain(const unary_case *c, tg_unary_fn f);

/*
 * tg_gradcheck (PyTorch's tolerances, f64) at every point of an f64 case
 * that is finite, |x| <= 50, and where want_point(x) holds (NULL: all).
 * Returns the number of ambiguous elements (steps across a kink).
 */
int64_t tg_unary_gradcheck(const unary_case *c, tg_unary_fn f,
                           bool (*want_point)(const unary_case *c, double x));

/* The tolerance of a dtype: rtol in ulps of the scale, as tests use it. */
double tg_unary_rtol(tg_dtype dt);

#endif /* TG_UNARY_H */
