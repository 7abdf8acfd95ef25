/*
 * tapegrad/ops.h — the built-in ops, callable from C.
 *
 * Every op takes the tape first and returns a new tensor owned by that tape,
 * or NULL on error (tg_last_error() says why). A NULL input is itself an
 * error that propagates: the result is NULL and the message of the first
 * failure is kept, so a whole expression can be checked once at the end.
 * When the tape has grad enabled and an input requires grad, the call is
 * recorded for tg_backward. All ops work on TG_F32 and TG_F64; inputs of
 * different dtypes are a TG_EDTYPE error, never a silent cast.
 */
#ifndef TAPEGRAD_OPS_H
#define TAPEGRAD_OPS_H

#include "tape.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Activations ---------------------------------------------------- */

/* relu(x) = max(x, 0);  d/dx = 0 if x <= 0 else 1 (0 at x == 0, as PyTorch).
 * Same shape as x. relu(NaN) = NaN (gradient passes), relu(-0.0) = -0.0,
 * relu(-inf) = 0. */
tg_tensor *tg_relu(tg_tape *t, tg_tensor *x);

/* ---- Elementwise arithmetic and math --------------------------------- */

/* ---- Reductions ----------------------------------------------------- */

/* sum(x) = x[0] + x[1] + ...;  d/dx[i] = 1. Shape (). f32 inputs are
 * accumulated in double and rounded once. */
tg_tensor *tg_sum(tg_tape *t, tg_tensor *x);

/* ---- Shape and linear algebra ----------------------------------------- */

/* ---- Classification and losses ---------------------------------------- */

/* ---- Layers ------------------------------------------------------------ */

/*
 * linear(x, W, b) = x W^T + b, a fully connected layer in one op.
 * x: (..., in), W: (out, in), b: (out,) or NULL for none; result (..., out).
 * d/dx = gy W;  d/dW = gy^T x (summed over the batch);  d/db = sum of gy.
 * Errors: TG_ESHAPE naming the shapes when they do not fit.
 */
tg_tensor *tg_linear(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *b);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_OPS_H */
