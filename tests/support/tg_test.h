/*
 * tg_test.h — what every Check suite of tapegrad shares.
 *
 * - tg_test_tcase(name): a TCase whose every test runs with a counting
 *   allocator installed and fails if anything it allocated is still live
 *   at the end, so each test also proves that nothing leaked. Its timeout
 *   is 60 s, ten times that under valgrind (TG_VALGRIND).
 * - tg_test_set_timeout(tc, seconds): a longer timeout for a TCase, scaled
 *   the same way under valgrind (call it, not tcase_set_timeout, which
 *   would undo the scaling).
 * - tg_test_fail_after(k): make the k-th allocation from now fail (and all
 *   after it, until tg_test_fail_after(-1)); for out-of-memory paths.
 *   tg_test_fail_once(k) fails the k-th alone, so recovery paths that
 *   allocate again are exercised too.
 * - ck_assert_status(got, want, fragment): a status and a message fragment.
 * - ck_assert_close(a, b, rtol, atol): a tolerant float comparison.
 * - tg_test_main(suite): run with TAP output for meson's `protocol: 'tap'`.
 */
#ifndef TG_TEST_H
#define TG_TEST_H

#include <check.h>
#include <math.h>
#include <string.h>

#include "tapegrad.h"

TCase *tg_test_tcase(const char *name);
void tg_test_set_timeout(TCase *tc, double seconds);
int tg_test_main(Suite *s);

/* Allocations made through tapegrad and not yet freed. */
long tg_test_live_allocations(void);
/* Allocation calls (malloc and realloc) since the test began. */
long tg_test_allocation_calls(void);
/* Fail the k-th allocation from now on (1 = the next one); -1: never. */
void tg_test_fail_after(long k);
/* Fail only the k-th allocation from now (the ones after it succeed). */
void tg_test_fail_once(long k);

/*
 * sum(y * w) for fixed weights w (numel(y) doubles, rounded to y's dtype):
 * a scalar root whose backward hands y the upstream gradient w, so a test
 * can compare d sum(y * w) / dx with PyTorch's y.backward(w). NULL (with
 * the error) if y is NULL or memory runs out.
 */
tg_tensor *tg_test_dot(tg_tape *t, tg_tensor *y, const double *w);

/* A tensor of dtype dt and the given shape holding v (numel doubles,
 * rounded to dt), not requiring grad; fails the test if it cannot be
 * made. */
tg_tensor *tg_test_tensor(tg_tape *t, tg_dtype dt, int nd,
                          const int64_t *shape, const double *v);

/* The same, requiring grad: a leaf. */
tg_tensor *tg_test_leaf(tg_tape *t, tg_dtype dt, int nd, const int64_t *shape,
                        const double *v);

/* Whether a and b agree: |a - b| <= atol + rtol * |b|, NaN equal to NaN. */
int tg_test_close(double a, double b, double rtol, double atol);

#define ck_assert_close(a, b, rtol, atol)                                    \
    ck_assert_msg(tg_test_close((a), (b), (rtol), (atol)),                   \
                  "%s = %.17g, expected %.17g", #a, (double)(a), (double)(b))

/* The message of the last error contains fragment. */
#define ck_assert_message(fragment)                                          \
    ck_assert_msg(strstr(tg_last_error(), (fragment)) != NULL,               \
                  "message \"%s\" lacks \"%s\"", tg_last_error(), (fragment))

/* got must equal want and tg_last_error() must contain fragment. */
#define ck_assert_status(got, want, fragment)                                \
    do {                                                                     \
        int tg__got = (got);                                                 \
        ck_assert_msg(tg__got == (want), "%s returned %d (%s), expected %s; " \
                      "last error: %s", #got, tg__got, tg_strerror(tg__got), \
                      #want, tg_last_error());                               \
        ck_assert_message(fragment);                                         \
    } while (0)

/* A pointer-returning call returned NULL with a message fragment. */
#define ck_assert_null_msg(ptr, fragment)                                    \
    do {                                                                     \
        ck_assert_msg((ptr) == NULL, "%s should have failed", #ptr);         \
        ck_assert_message(fragment);                                         \
    } while (0)

/* A pointer-returning call returned NULL, tg_last_status() is want and the
 * message contains fragment. */
#define ck_assert_null_status(ptr, want, fragment)                           \
    do {                                                                     \
        ck_assert_msg((ptr) == NULL, "%s should have failed", #ptr);         \
        ck_assert_msg(tg_last_status() == (want), "%s: status %d (%s), "     \
                      "expected %s; last error: %s", #ptr, tg_last_status(), \
                      tg_strerror(tg_last_status()), #want, tg_last_error()); \
        ck_assert_message(fragment);                                         \
    } while (0)

#endif /* TG_TEST_H */
