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

/*
 * Binary ops broadcast by NumPy's rules: align the shapes at the last
 * dimension; sizes must be equal or one of them 1 (missing leading dims
 * count as 1); the result takes the larger. (3,4) op (4,) is (3,4);
 * (2,1,3) op (4,1) is (2,4,3); () op (2,3) is (2,3). An input's gradient
 * is summed over the dimensions it was broadcast along, so it has the
 * input's shape. Errors: NULL for a NULL input (the earlier message is
 * kept), TG_ESHAPE "tg_add: shapes (3,4) and (5,) do not broadcast",
 * TG_EDTYPE for an f32 with an f64, TG_ENOMEM.
 */

/* add(a, b) = a + b;  d/da = 1, d/db = 1. */
tg_tensor *tg_add(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* sub(a, b) = a - b;  d/da = 1, d/db = -1. */
tg_tensor *tg_sub(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* mul(a, b) = a * b;  d/da = b, d/db = a. */
tg_tensor *tg_mul(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* div(a, b) = a / b;  d/da = 1 / b, d/db = -a / b^2 (computed as -(a/b)/b).
 * Division by zero follows IEEE: +-inf, or NaN for 0 / 0. */
tg_tensor *tg_div(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* maximum(a, b) = a if a > b else b;  d/da = 1 if a > b, 0 if a < b, 1/2
 * on a tie (PyTorch's even split; gradient checks see ties as kinks), d/db
 * the mirror image. NaN in either gives NaN (and both the whole gradient);
 * maximum(-0.0, +0.0) = +0.0 on either side (IEEE 754-2019). */
tg_tensor *tg_maximum(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* minimum(a, b) = a if a < b else b;  d/da = 1 if a < b, 0 if a > b, 1/2
 * on a tie, d/db the mirror image. NaN as maximum; minimum(-0.0, +0.0) =
 * -0.0 on either side. */
tg_tensor *tg_minimum(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* pow(x, p) = x^p for a constant p;  d/dx = p * x^(p-1), and 0 for p == 0.
 * Same shape as x. As PyTorch: p = 2, 3, -1, -2 are products and
 * quotients, 0.5 and -0.5 are sqrt(x) and 1/sqrt(x) (so pow(-0.0, 0.5) =
 * -0.0, pow(-inf, 0.5) = NaN), other p the C library's pow; for f32 p is
 * rounded to f32. The gradient is g * (p * x^(p-1)) literally: +-inf at
 * x == 0 for p < 1 (except p == 0), NaN for x < 0 and fractional p. */
tg_tensor *tg_pow(tg_tape *t, tg_tensor *x, double exponent);

/* pow_tensor(a, b) = a^b elementwise, broadcasting;  d/da = b * a^(b-1)
 * (0 where b == 0), d/db = a^b * log(a) (0 where a == 0 and b >= 0; NaN
 * for a < 0), as PyTorch. Values from the C library's pow: 0^0 = 1,
 * (-2)^0.5 = NaN, 1^NaN = 1. */
tg_tensor *tg_pow_tensor(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* add_scalar(x, c) = x + c;  d/dx = 1. Same shape as x; c is rounded to
 * x's dtype. A shorthand for tg_add(t, x, tg_scalar(t, dtype of x, c)).
 * Errors: NULL x propagates, TG_EINVAL for a NULL tape, TG_ENOMEM. */
tg_tensor *tg_add_scalar(tg_tape *t, tg_tensor *x, double c);

/* mul_scalar(x, c) = c * x;  d/dx = c. Same shape as x; c is rounded to
 * x's dtype. A shorthand for tg_mul with a scalar tensor; errors as
 * tg_add_scalar. */
tg_tensor *tg_mul_scalar(tg_tape *t, tg_tensor *x, double c);

/* Unary math ops: the result has x's shape; no errors of their own beyond a
 * NULL or stale x. f32 is computed in float (expf, logf, tanhf...). */

/* neg(x) = -x;  d/dx = -1. neg(0) = -0.0. */
tg_tensor *tg_neg(tg_tape *t, tg_tensor *x);

/* exp(x) = e^x;  d/dx = e^x (= y). Overflows to inf past 88.7 (f32) or
 * 709.8 (f64); exp(-inf) = 0. */
tg_tensor *tg_exp(tg_tape *t, tg_tensor *x);

/* log(x) = ln x;  d/dx = 1/x. log(0) = -inf with gradient inf (-inf at
 * -0.0); log(x < 0) = NaN, its gradient still gy/x, as PyTorch. */
tg_tensor *tg_log(tg_tape *t, tg_tensor *x);

/* sqrt(x) = x^(1/2);  d/dx = 1 / (2 sqrt(x)) (= 1/(2y)). At 0 the
 * gradient is inf (-inf at -0.0, as sqrt(-0.0) = -0.0); sqrt(x < 0) = NaN
 * with a NaN gradient. */
tg_tensor *tg_sqrt(tg_tape *t, tg_tensor *x);

/* abs(x) = |x|;  d/dx = sign(x), 0 at x == 0 and at NaN (as PyTorch).
 * Non-smooth at 0. */
tg_tensor *tg_abs(tg_tape *t, tg_tensor *x);

/* tanh(x);  d/dx = 1 - tanh(x)^2 (= 1 - y^2). tanh(+-inf) = +-1. */
tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x);

/* sigmoid(x) = 1 / (1 + e^-x);  d/dx = y (1 - y). 0 and 1 at -inf and
 * inf, never NaN for a non-NaN x. */
tg_tensor *tg_sigmoid(tg_tape *t, tg_tensor *x);

/* ---- Reductions ----------------------------------------------------- */

/*
 * Each reduction comes in two forms: tg_NAME(t, x) reduces every element to
 * a scalar (shape ()), and tg_NAME_axis(t, x, axis, keepdim) reduces along
 * one axis, which is removed from the shape, or kept with size 1 when
 * keepdim is true: (2,3,4) along axis 1 gives (2,4), or (2,1,4). axis may
 * count from the end as in PyTorch (-1 is the last); a scalar accepts 0 and
 * -1. All accumulate in double, so f32 results are rounded once.
 * Errors: TG_EINVAL for an axis out of range ("tg_sum_axis: axis 3 is out
 * of range for shape (2,3)").
 */

/* sum(x) = x[0] + x[1] + ...;  d/dx[i] = 1. */
tg_tensor *tg_sum(tg_tape *t, tg_tensor *x);
tg_tensor *tg_sum_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* mean(x) = sum(x) / n;  d/dx[i] = 1/n (n: elements reduced together). */
tg_tensor *tg_mean(tg_tape *t, tg_tensor *x);
tg_tensor *tg_mean_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* max(x) = x[a], a the position of the largest;  d/dx[i] = 1 if i == a
 * else 0. NaN beats every number. On ties, as PyTorch: tg_max (torch.max(x),
 * torch.amax) splits the gradient evenly among the tied elements;
 * tg_max_axis (torch.max(x, dim).values) gives it all to the first. */
tg_tensor *tg_max(tg_tape *t, tg_tensor *x);
tg_tensor *tg_max_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* min(x) = x[a], a the position of the smallest;  d/dx[i] = 1 if i == a
 * else 0. NaN and ties as tg_max and tg_max_axis. */
tg_tensor *tg_min(tg_tape *t, tg_tensor *x);
tg_tensor *tg_min_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* logsumexp(x) = log(sum(exp(x)));  d/dx[i] = exp(x[i] - logsumexp(x)),
 * the softmax. Stable: shifted by the max, so large inputs do not
 * overflow. All -inf gives -inf, a +inf gives +inf, as PyTorch. */
tg_tensor *tg_logsumexp(tg_tape *t, tg_tensor *x);
tg_tensor *tg_logsumexp_axis(tg_tape *t, tg_tensor *x, int axis,
                             bool keepdim);

/* ---- Shape and linear algebra ----------------------------------------- */

/* ---- Classification and losses ---------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_OPS_H */
