/*
 * tapegrad/check.h — one-line gradient assertions for Check test suites.
 *
 *     #include <check.h>
 *     #include <tapegrad.h>
 *     #include <tapegrad/check.h>
 *
 *     static tg_tensor *f(tg_tape *t, int n, tg_tensor *const *in, void *ud) {
 *         return tg_relu(t, in[0]);
 *     }
 *     START_TEST(relu_gradient) {
 *         tg_tape *t = tg_tape_new();
 *         tg_tensor *x = tg_linspace(t, TG_F64, -1.5, 2.5, 5);  // an f64 leaf
 *         tg_set_requires_grad(x, true);
 *         tg_ck_assert_gradients(f, NULL, 1, &x);
 *         tg_tape_free(t);
 *     }
 *     END_TEST
 *
 * The assertion fails (ck_assert_msg) when tg_gradcheck returns an error
 * or reports a failed element, with the report's message: the input, the
 * element (flat and as a multi-index), the analytic and numeric values and
 * the error. Ambiguous elements (a step across a kink) do not fail it;
 * tg_gradcheck's report counts them. See docs/testing-gradients.md.
 *
 * Header-only, needing only Check and tapegrad.h. tapegrad.h does not
 * include it, so the library itself never needs Check.
 */
#ifndef TAPEGRAD_CHECK_H
#define TAPEGRAD_CHECK_H

#include <check.h>   /* Check's header: angle brackets, never this file */

#include "../tapegrad.h"

/* Check d fn / d inputs[0..n-1] with PyTorch's default tolerances. */
#define tg_ck_assert_gradients(fn, userdata, n, inputs)                      \
    tg_ck_assert_gradients_opt(fn, userdata, n, inputs, NULL)

/* The same with options (a const tg_gradcheck_options *, NULL: defaults). */
#define tg_ck_assert_gradients_opt(fn, userdata, n, inputs, opt)             \
    do {                                                                     \
        tg_gradcheck_report tg_ck__report;                                   \
        int tg_ck__rc = tg_gradcheck((fn), (userdata), (n), (inputs), (opt), \
                                     &tg_ck__report);                        \
        ck_assert_msg(tg_ck__rc == TG_OK && tg_ck__report.passed,            \
                      "tg_gradcheck(%s) %s: %s", #fn,                        \
                      tg_ck__rc == TG_OK ? "failed" : "could not run",       \
                      tg_ck__rc == TG_OK ? tg_ck__report.message             \
                                         : tg_last_error());                 \
    } while (0)

/* Check fn's second derivatives (tg_gradgradcheck), default tolerances. */
#define tg_ck_assert_second_gradients(fn, userdata, n, inputs)               \
    do {                                                                     \
        tg_gradcheck_report tg_ck__report;                                   \
        int tg_ck__rc = tg_gradgradcheck((fn), (userdata), (n), (inputs),    \
                                         NULL, &tg_ck__report);              \
        ck_assert_msg(tg_ck__rc == TG_OK && tg_ck__report.passed,            \
                      "tg_gradgradcheck(%s) %s: %s", #fn,                    \
                      tg_ck__rc == TG_OK ? "failed" : "could not run",       \
                      tg_ck__rc == TG_OK ? tg_ck__report.message             \
                                         : tg_last_error());                 \
    } while (0)

#endif /* TAPEGRAD_CHECK_H */
