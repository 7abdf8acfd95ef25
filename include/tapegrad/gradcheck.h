/*
 * tapegrad/gradcheck.h — prove a gradient right: compare what backward
 * computes with finite differences, in double precision.
 *
 *     static tg_tensor *f(tg_tape *t, int n, tg_tensor *const *in, void *ud) {
 *         return tg_relu(t, in[0]);               // any function of the inputs
 *     }
 *     tg_tensor *x = tg_linspace(t, TG_F64, -1.5, 2.5, 5);
 *     tg_set_requires_grad(x, true);
 *     tg_gradcheck_report r;
 *     tg_gradcheck(f, NULL, 1, &x, NULL, &r);     // NULL: PyTorch's defaults
 *     if (!r.passed) puts(r.message);             // names the input and element
 *
 * A non-scalar output is reduced to a scalar with a fixed random projection
 * (sum(out * w), w drawn from a seeded generator, |w| in [0.5, 1.5)), so
 * every output element takes part; a one-element output is used as it is.
 * For each element of each input, the gradient backward computed is
 * compared with a finite difference of that scalar in double precision,
 * taken over the steps actually stored (so f32 rounding of x+h does not
 * bias it). The inputs are moved in place, one element at a time, and put
 * back exactly; each evaluation runs on a scratch tape reset before the
 * next, so memory does not grow with the number of elements.
 *
 * Kinks. Where a finite-difference step straddles a non-smooth point of
 * some op (relu at 0, a max tie, abs at 0: ops declare these with
 * tg_op.piece), the element is reported as ambiguous, with the reason, not
 * counted as a failure and not silently passed. The evaluations are
 * recorded, and for every op with a piece function, every output element's
 * piece is read at x-h, x and x+h (and x-2h, x+2h for Richardson). The
 * element is ambiguous when some output element's piece is not the same at
 * all of them ("relu (tape entry 0) output element 5 changes piece between
 * x-h and x", "... is on a kink at x"), or when the function recorded a
 * different list of ops at some point ("the function took a different
 * path at x+h ..."). An output element that is TG_ON_KINK at every point
 * was not moved by the step, so it does not make the element ambiguous:
 * relu(x) with x[1] == 0 leaves x[0]'s check alone. This comparison runs
 * for every element, not only failing ones, since a step across a kink can
 * also agree by luck; it costs less than the evaluations themselves.
 *
 * Gradients: each input's gradient (tg_grad) is left holding the analytic
 * d y / d input that was checked, replacing what it held before (PyTorch's
 * gradcheck leaves .grad alone: save it first if you need it); the
 * gradients of other leaves fn uses are left as they were.
 *
 * fn must build its output on the tape it is given (ops on other tapes
 * are not seen by the kink check) and be deterministic. Testing with it:
 * docs/testing-gradients.md, and tapegrad/check.h for Check suites.
 */
#ifndef TAPEGRAD_GRADCHECK_H
#define TAPEGRAD_GRADCHECK_H

#include "tape.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Build the function's output on t from the n inputs. */
typedef tg_tensor *(*tg_gradcheck_fn)(tg_tape *t, int n,
                                      tg_tensor *const *inputs,
                                      void *userdata);

typedef enum tg_gradcheck_method {
    TG_GRADCHECK_CENTRAL = 0,    /* (f(x+h) - f(x-h)) / 2h, error O(h^2) */
    TG_GRADCHECK_RICHARDSON = 1  /* 4-point Richardson extrapolation, O(h^4) */
} tg_gradcheck_method;

/* Start from tg_gradcheck_defaults() and change what you need: eps 0 is
 * an error, not "the default". */
typedef struct tg_gradcheck_options {
    double eps;                  /* step h, > 0 */
    double atol;                 /* pass if |a - n| <= atol + rtol * |n| */
    double rtol;
    tg_gradcheck_method method;
    bool allow_f32;              /* check f32 inputs anyway (loose: use an
                                    eps near 1e-3 and tolerances near 1e-2) */
    uint64_t seed;               /* for the output projection */
} tg_gradcheck_options;

/* PyTorch's gradcheck defaults: eps 1e-6, atol 1e-5, rtol 1e-3, central,
 * f32 refused, a fixed seed. */
TG_API tg_gradcheck_options tg_gradcheck_defaults(void);

/*
 * The verdict. Every element is either compared (and then passes or fails)
 * or ambiguous; n_checked counts both. The worst element is the compared
 * one furthest outside, or least inside, its tolerance (largest
 * |a - n| / (atol + rtol |n|)); worst_input is -1 when no element was
 * compared. On an error return, passed is false and message holds the
 * error.
 */
typedef struct tg_gradcheck_report {
    bool passed;                 /* no element failed (n_failed == 0) */
    int64_t n_checked;           /* elements examined, ambiguous included */
    int64_t n_failed;            /* elements outside tolerance */
    int64_t n_ambiguous;         /* elements whose step straddles a kink */
    int worst_input;             /* the worst element: which input ... */
    int64_t worst_index;         /* ... which flat index ... */
    double analytic;             /* ... backward's value ... */
    double numeric;              /* ... the finite difference ... */
    double abs_error;            /* ... |analytic - numeric| ... */
    double rel_error;            /* ... relative to |numeric| */
    char message[1024];          /* a readable summary naming all of that
                                    ("input 1 element 7 (1,3): analytic ...,
                                    numeric ..."), and the first ambiguous
                                    element's reason */
} tg_gradcheck_report;

/*
 * Check d fn / d inputs[i] for every input at every element. The inputs
 * are leaves (they may be on any tape; their values are perturbed and
 * restored, their gradients overwritten with d output / d input, their
 * requires_grad flags restored); opt may be NULL for the defaults. Other
 * leaves fn uses (weights it reads through userdata) keep their
 * gradients: they sit out the check's backward pass.
 * Returns TG_OK once the check ran (the verdict is report->passed), or a
 * negative status: TG_EINVAL for NULL arguments, n < 1, an input made by a
 * recorded op, bad options, or an eps too small to change some input in
 * its dtype; TG_EDTYPE for f32 inputs unless opt->allow_f32; TG_ENUMERIC
 * for a non-finite input value; TG_ENOMEM; or the status of the error fn
 * hit (the message says at which input, element and point). Inputs are
 * left as they were on every error.
 */
TG_API int tg_gradcheck(tg_gradcheck_fn fn, void *userdata,
                        int n, tg_tensor *const *inputs,
                        const tg_gradcheck_options *opt,
                        tg_gradcheck_report *report);

/*
 * Second order (PyTorch's gradgradcheck): check the derivatives of fn's
 * gradient. For a fixed random w (from opt->seed), the gradient of
 * <w, fn(inputs)> with respect to each input k, recorded by tg_vjp with
 * create_graph, is checked by tg_gradcheck as a function of the inputs:
 * element by element, kink-aware, with the same options. First, fn's
 * plain backward runs twice on one recording (tg_zero_grad between): a
 * backward that adds into its gradient slot instead of writing it gives a
 * different second answer, and fails the check. The report is the worst
 * over all k; its message says which gradient, which input and element,
 * and that input's value. When an element is off, each op fn records is
 * also checked alone, at the values fn gave it, and the message names the
 * first that fails ("(op NAME fails the same check on its own ...)"),
 * usually the op whose backward_ops is wrong. Every op fn uses needs
 * backward_ops. At most 64 inputs. Returns as tg_gradcheck does.
 */
TG_API int tg_gradgradcheck(tg_gradcheck_fn fn, void *userdata, int n,
                            tg_tensor *const *inputs,
                            const tg_gradcheck_options *opt,
                            tg_gradcheck_report *report);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_GRADCHECK_H */
