/*
 * tapegrad/gradcheck.h — prove a gradient right: compare what backward
 * computes with finite differences, in double precision.
 *
 *     static tg_tensor *f(tg_tape *t, tg_tensor *const *in, int n, void *ud) {
 *         return tg_relu(t, in[0]);               // any function of the inputs
 *     }
 *     tg_gradcheck_report r;
 *     tg_gradcheck(f, NULL, &x, 1, NULL, &r);     // NULL: PyTorch's defaults
 *     if (!r.passed) puts(r.message);             // names the input and element
 *
 * A non-scalar output is reduced to a scalar with a fixed random projection
 * (sum(out * w), w drawn from a seeded generator), so every output element
 * takes part. Where a finite-difference step straddles a non-smooth point of
 * some op (relu at 0, a max tie, abs at 0: ops declare these with
 * tg_op.piece), the element is reported as ambiguous, with the reason, not
 * counted as a failure and not silently passed.
 */
#ifndef TAPEGRAD_GRADCHECK_H
#define TAPEGRAD_GRADCHECK_H

#include "tape.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Build the function's output on t from the n inputs. */
typedef tg_tensor *(*tg_gradcheck_fn)(tg_tape *t, tg_tensor *const *inputs,
                                      int n, void *userdata);

typedef enum tg_gradcheck_method {
    TG_GRADCHECK_CENTRAL = 0,    /* (f(x+h) - f(x-h)) / 2h, error O(h^2) */
    TG_GRADCHECK_RICHARDSON = 1  /* 4-point Richardson extrapolation, O(h^4) */
} tg_gradcheck_method;

typedef struct tg_gradcheck_options {
    double eps;                  /* step h */
    double atol;                 /* pass if |a - n| <= atol + rtol * |n| */
    double rtol;
    tg_gradcheck_method method;
    bool allow_f32;              /* check f32 inputs anyway (loose) */
    uint64_t seed;               /* for the output projection */
} tg_gradcheck_options;

/* PyTorch's gradcheck defaults: eps 1e-6, atol 1e-5, rtol 1e-3, central. */
tg_gradcheck_options tg_gradcheck_defaults(void);

typedef struct tg_gradcheck_report {
    bool passed;                 /* no element failed */
    int64_t n_checked;           /* elements compared */
    int64_t n_failed;            /* elements outside tolerance */
    int64_t n_ambiguous;         /* elements whose step straddles a kink */
    int worst_input;             /* the worst element: which input ... */
    int64_t worst_index;         /* ... which flat index ... */
    double analytic;             /* ... backward's value ... */
    double numeric;              /* ... the finite difference ... */
    double abs_error;            /* ... |analytic - numeric| ... */
    double rel_error;            /* ... relative to |numeric| */
    char message[1024];          /* a readable summary naming all of that,
                                    and the first ambiguous element's reason */
} tg_gradcheck_report;

/*
 * Check d fn / d inputs[i] for every input at every element. The inputs
 * are leaves (they may be on any tape; their values are perturbed and
 * restored, their gradients overwritten); opt may be NULL for the
 * defaults. Returns TG_OK once the check ran (the verdict is
 * report->passed), or a negative status: TG_EINVAL for NULL arguments,
 * TG_EDTYPE for f32 inputs unless opt->allow_f32, or the error fn hit.
 */
int tg_gradcheck(tg_gradcheck_fn fn, void *userdata, tg_tensor *const *inputs,
                 int n, const tg_gradcheck_options *opt,
                 tg_gradcheck_report *report);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_GRADCHECK_H */
