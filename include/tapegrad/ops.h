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
TG_API tg_tensor *tg_relu(tg_tape *t, tg_tensor *x);

/* The other activations: the result has x's shape. Where PyTorch's formula
 * gives NaN at +-inf (inf * 0) although the function has a limit, they give
 * the limit. Options that make no sense are TG_EINVAL, naming the op and
 * the value. */

/* leaky_relu(x) = x if x > 0 else slope * x;  d/dx = 1 if x > 0 else slope
 * (slope at x == 0, as PyTorch). slope: any finite value (PyTorch's
 * default 0.01); NaN or inf is TG_EINVAL. */
TG_API tg_tensor *tg_leaky_relu(tg_tape *t, tg_tensor *x, double slope);

/* elu(x) = x if x > 0 else alpha (e^x - 1);  d/dx = 1 if x > 0 else
 * alpha e^x (alpha at x == 0, as PyTorch). alpha: any finite value
 * (PyTorch's default 1); NaN or inf is TG_EINVAL. */
TG_API tg_tensor *tg_elu(tg_tape *t, tg_tensor *x, double alpha);

/* selu(x) = scale * elu(x, alpha) with alpha = 1.6732632423543772,
 * scale = 1.0507009873554805;  d/dx = scale if x > 0 else
 * scale alpha e^x (scale alpha at x == 0). */
TG_API tg_tensor *tg_selu(tg_tape *t, tg_tensor *x);

/* gelu(x) = x Phi(x), Phi the standard normal CDF (the exact, erf form);
 * d/dx = Phi(x) + x phi(x), phi its density. gelu(-inf) = -0.0. In f32,
 * Phi and phi are computed in float arithmetic (vectorised): Phi within 7
 * ulps and phi within 2.2 ulps of the exact values, so gelu within about 8
 * ulps wherever Phi(x) is a normal float (x above -13); f64 uses libm.
 * When the call is recorded (grad enabled and x requires grad), an f32
 * forward also keeps gelu'(x) on t, 4 bytes per element, so that backward
 * is one multiply per element (the same bits as evaluating gelu' there).
 * Errors: TG_ENOMEM naming tg_gelu if that memory cannot be had. */
TG_API tg_tensor *tg_gelu(tg_tape *t, tg_tensor *x);

/* gelu_tanh(x) = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)
 * (PyTorch's gelu(approximate='tanh'));  d/dx = (1 + tanh u) / 2 +
 * x (1 - tanh^2 u) u' / 2, u' = sqrt(2/pi) (1 + 0.134145 x^2). */
TG_API tg_tensor *tg_gelu_tanh(tg_tape *t, tg_tensor *x);

/* silu(x) = x sigmoid(x) (swish);  d/dx = s (1 + x (1 - s)), s = sigmoid(x).
 * silu(-inf) = -0.0. */
TG_API tg_tensor *tg_silu(tg_tape *t, tg_tensor *x);

/* softplus(x) = log(1 + e^(beta x)) / beta, or x where beta x > threshold;
 * d/dx = sigmoid(beta x), or 1 above the threshold. PyTorch's defaults are
 * beta 1, threshold 20; the switch is a (tiny) discontinuity, a kink for
 * gradient checks. Never overflows, whatever the threshold. beta must be
 * finite and nonzero (negative allowed, as PyTorch), threshold not NaN:
 * TG_EINVAL otherwise. */
TG_API tg_tensor *tg_softplus(tg_tape *t, tg_tensor *x, double beta,
                              double threshold);

/* mish(x) = x tanh(softplus(x));  d/dx = t + x s (1 - t^2),
 * t = tanh(softplus(x)), s = sigmoid(x). mish(-inf) = -0.0. */
TG_API tg_tensor *tg_mish(tg_tape *t, tg_tensor *x);

/* hardtanh(x) = min(max(x, min_val), max_val);  d/dx = 1 if min_val < x <
 * max_val else 0 (0 at the corners and at NaN, as PyTorch). PyTorch's
 * defaults are -1 and 1. min_val > max_val or a NaN bound is TG_EINVAL;
 * min_val == max_val and infinite bounds are allowed. */
TG_API tg_tensor *tg_hardtanh(tg_tape *t, tg_tensor *x, double min_val,
                              double max_val);

/* relu6(x) = min(max(x, 0), 6);  d/dx = 1 if 0 < x < 6 else 0 (0 at the
 * corners and at NaN, as PyTorch). */
TG_API tg_tensor *tg_relu6(tg_tape *t, tg_tensor *x);

/* hardsigmoid(x) = min(max(x + 3, 0), 6) / 6;  d/dx = 1/6 if -3 < x < 3
 * else 0 (0 at the corners and at NaN, as PyTorch). The f32 gradient is
 * gy * (1.0f / 6.0f), bit for bit PyTorch's; the f64 gradient is gy / 6,
 * correctly rounded, where PyTorch 1.13 multiplies by the float constant
 * 0.1666666716337204 (so the two differ by about 3e-8 relative in f64). */
TG_API tg_tensor *tg_hardsigmoid(tg_tape *t, tg_tensor *x);

/* hardswish(x) = x min(max(x + 3, 0), 6) / 6;  d/dx = 0 if x < -3, 1 if
 * x >= 3, else x/3 + 1/2 (so -1/2 at -3 and 1 at 3, as PyTorch's
 * vectorised kernel). hardswish(-inf) = -0.0. The value is x * (r / 6),
 * not PyTorch's x * r / 6, so it cannot overflow near the largest float
 * (the two can differ in the last bit). */
TG_API tg_tensor *tg_hardswish(tg_tape *t, tg_tensor *x);

/* softsign(x) = x / (1 + |x|);  d/dx = 1 / (1 + |x|)^2. softsign(+-inf)
 * = +-1. */
TG_API tg_tensor *tg_softsign(tg_tape *t, tg_tensor *x);

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
TG_API tg_tensor *tg_add(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* sub(a, b) = a - b;  d/da = 1, d/db = -1. */
TG_API tg_tensor *tg_sub(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* mul(a, b) = a * b;  d/da = b, d/db = a. */
TG_API tg_tensor *tg_mul(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* div(a, b) = a / b;  d/da = 1 / b, d/db = -a / b^2 (computed as -(a/b)/b).
 * Division by zero follows IEEE: +-inf, or NaN for 0 / 0. */
TG_API tg_tensor *tg_div(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* maximum(a, b) = a if a > b else b;  d/da = 1 if a > b, 0 if a < b, 1/2
 * on a tie (PyTorch's even split; gradient checks see ties as kinks), d/db
 * the mirror image. NaN in either gives NaN (and both the whole gradient);
 * maximum(-0.0, +0.0) = +0.0 on either side (IEEE 754-2019). */
TG_API tg_tensor *tg_maximum(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* minimum(a, b) = a if a < b else b;  d/da = 1 if a < b, 0 if a > b, 1/2
 * on a tie, d/db the mirror image. NaN as maximum; minimum(-0.0, +0.0) =
 * -0.0 on either side. */
TG_API tg_tensor *tg_minimum(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* pow(x, p) = x^p for a constant p;  d/dx = p * x^(p-1), and 0 for p == 0.
 * Same shape as x. As PyTorch: p = 2, 3, -1, -2 are products and
 * quotients, 0.5 and -0.5 are sqrt(x) and 1/sqrt(x) (so pow(-0.0, 0.5) =
 * -0.0, pow(-inf, 0.5) = NaN), other p the C library's pow; for f32 p is
 * rounded to f32. The gradient is g * (p * x^(p-1)) literally: +-inf at
 * x == 0 for p < 1 (except p == 0), NaN for x < 0 and fractional p. */
TG_API tg_tensor *tg_pow(tg_tape *t, tg_tensor *x, double exponent);

/* pow_tensor(a, b) = a^b elementwise, broadcasting;  d/da = b * a^(b-1)
 * (0 where b == 0), d/db = a^b * log(a) (0 where a == 0 and b >= 0; NaN
 * for a < 0), as PyTorch. Values from the C library's pow: 0^0 = 1,
 * (-2)^0.5 = NaN, 1^NaN = 1. */
TG_API tg_tensor *tg_pow_tensor(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* add_scalar(x, c) = x + c;  d/dx = 1. Same shape as x; c is rounded to
 * x's dtype. A shorthand for tg_add(t, x, tg_scalar(t, dtype of x, c)).
 * Errors: NULL x propagates, TG_EINVAL for a NULL tape, TG_ENOMEM. */
TG_API tg_tensor *tg_add_scalar(tg_tape *t, tg_tensor *x, double c);

/* mul_scalar(x, c) = c * x;  d/dx = c. Same shape as x; c is rounded to
 * x's dtype. A shorthand for tg_mul with a scalar tensor; errors as
 * tg_add_scalar. */
TG_API tg_tensor *tg_mul_scalar(tg_tape *t, tg_tensor *x, double c);

/* Unary math ops: the result has x's shape; no errors of their own beyond a
 * NULL or stale x. f32 is computed in float (expf, logf, tanhf...). */

/* neg(x) = -x;  d/dx = -1. neg(0) = -0.0. */
TG_API tg_tensor *tg_neg(tg_tape *t, tg_tensor *x);

/* exp(x) = e^x;  d/dx = e^x (= y). Overflows to inf past 88.7 (f32) or
 * 709.8 (f64); exp(-inf) = 0. */
TG_API tg_tensor *tg_exp(tg_tape *t, tg_tensor *x);

/* log(x) = ln x;  d/dx = 1/x. log(0) = -inf with gradient inf (-inf at
 * -0.0); log(x < 0) = NaN, its gradient still gy/x, as PyTorch. */
TG_API tg_tensor *tg_log(tg_tape *t, tg_tensor *x);

/* sqrt(x) = x^(1/2);  d/dx = 1 / (2 sqrt(x)) (= 1/(2y)). At 0 the
 * gradient is inf (-inf at -0.0, as sqrt(-0.0) = -0.0); sqrt(x < 0) = NaN
 * with a NaN gradient. */
TG_API tg_tensor *tg_sqrt(tg_tape *t, tg_tensor *x);

/* abs(x) = |x|;  d/dx = sign(x), 0 at x == 0 and at NaN (as PyTorch).
 * Non-smooth at 0. */
TG_API tg_tensor *tg_abs(tg_tape *t, tg_tensor *x);

/* tanh(x);  d/dx = 1 - tanh(x)^2 (= 1 - y^2). tanh(+-inf) = +-1. */
TG_API tg_tensor *tg_tanh(tg_tape *t, tg_tensor *x);

/* sigmoid(x) = 1 / (1 + e^-x);  d/dx = y (1 - y). 0 and 1 at -inf and
 * inf, never NaN for a non-NaN x. */
TG_API tg_tensor *tg_sigmoid(tg_tape *t, tg_tensor *x);

/* erf(x) = 2/sqrt(pi) * integral_0^x e^(-t^2) dt, the error function;
 * d/dx = 2/sqrt(pi) e^(-x^2). erf(+-inf) = +-1 with gradient 0 (as
 * torch.erf). The standard normal CDF is Phi(x) = (1 + erf(x/sqrt 2))/2. */
TG_API tg_tensor *tg_erf(tg_tape *t, tg_tensor *x);

/* ---- Comparisons and selection ---------------------------------------- */

/*
 * Comparisons give masks: gt(a, b)[i] = 1 if a[i] > b[i] else 0, and
 * likewise ge (>=), lt (<), le (<=), eq (==), ne (!=). a and b broadcast
 * as the binary ops above; the mask has their dtype and holds 1.0 and 0.0
 * (PyTorch returns a bool tensor; a float mask multiplies straight into
 * arithmetic, e.g. relu'(x) * g = tg_mul(t, tg_gt_scalar(t, x, 0), g)).
 * NaN compares as IEEE 754: false, except ne, so ne(NaN, NaN) = 1; -0.0
 * equals +0.0.
 * No gradient: nothing is recorded, so the mask never requires grad and
 * backward sends nothing back through it (its derivative is 0 wherever it
 * exists, as PyTorch's bool output carries none).
 * The _scalar forms compare with the constant c, rounded to x's dtype
 * (as PyTorch's x > c does for a float tensor).
 * Errors: as the binary ops (TG_ESHAPE "tg_gt: shapes (3,4) and (5,) do
 * not broadcast", TG_EDTYPE for f32 with f64); TG_EINVAL for a NULL tape.
 */
TG_API tg_tensor *tg_gt(tg_tape *t, tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_ge(tg_tape *t, tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_lt(tg_tape *t, tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_le(tg_tape *t, tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_eq(tg_tape *t, tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_ne(tg_tape *t, tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_gt_scalar(tg_tape *t, tg_tensor *x, double c);
TG_API tg_tensor *tg_ge_scalar(tg_tape *t, tg_tensor *x, double c);
TG_API tg_tensor *tg_lt_scalar(tg_tape *t, tg_tensor *x, double c);
TG_API tg_tensor *tg_le_scalar(tg_tape *t, tg_tensor *x, double c);
TG_API tg_tensor *tg_eq_scalar(tg_tape *t, tg_tensor *x, double c);
TG_API tg_tensor *tg_ne_scalar(tg_tape *t, tg_tensor *x, double c);

/* where(cond, a, b) = a where cond != 0, else b (torch.where);  d/da = 1
 * where cond != 0 else 0, d/db the other way round, each summed over the
 * dims it was broadcast along; cond gets no gradient (0). cond is a mask
 * of a's and b's dtype, e.g. from tg_gt: any nonzero value counts as true,
 * NaN included (as PyTorch's bool(NaN)); -0.0 is false. The three
 * broadcast together by NumPy's rules: cond (3,1), a (4,), b () give
 * (3,4). A zero cond is a kink for gradient checks (nudging it picks a).
 * Errors: TG_ESHAPE "tg_where: shapes cond (3,4), a (5,) and b () do not
 * broadcast"; TG_EDTYPE when the three dtypes are not all the same. */
TG_API tg_tensor *tg_where(tg_tape *t, tg_tensor *cond, tg_tensor *a,
                           tg_tensor *b);

/* clamp(x, min, max) = min(max(x, min), max) (torch.clamp);  d/dx = 1 if
 * min <= x <= max, else 0: 1 at the bounds themselves, as PyTorch (unlike
 * tg_hardtanh, which gives 0 there; gradient checks see the bounds as
 * kinks). Same shape as x. NaN stays NaN with gradient 0. min > max is
 * allowed, as PyTorch: every element becomes max, gradient 0. Pass
 * -INFINITY or INFINITY to clamp on one side only. For f32 the bounds are
 * rounded to float. Errors: TG_EINVAL for a NaN bound ("tg_clamp: bounds
 * are nan and 1; they must not be NaN"). */
TG_API tg_tensor *tg_clamp(tg_tape *t, tg_tensor *x, double min, double max);

/* cast(x, dtype) = x converted to dtype, TG_F32 or TG_F64 (x.float(),
 * x.double());  d/dx = the upstream gradient converted back to x's dtype.
 * Same shape as x. f32 to f64 is exact; f64 to f32 rounds to nearest and
 * gives +-inf beyond float's range. Casting to x's own dtype is a copy.
 * This is the way to mix dtypes, which every other op refuses.
 * Errors: TG_EDTYPE for an unknown dtype ("tg_cast: unknown dtype 7"). */
TG_API tg_tensor *tg_cast(tg_tape *t, tg_tensor *x, tg_dtype dtype);

/* detach(x) = a copy of x's values with no history: a leaf that does not
 * require grad, so no gradient reaches x through it (x.detach(), which in
 * PyTorch shares x's memory; here it is a copy on t). Not recorded.
 * Errors: NULL x propagates; TG_EINVAL for a NULL tape; TG_ENOMEM. */
TG_API tg_tensor *tg_detach(tg_tape *t, tg_tensor *x);

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
TG_API tg_tensor *tg_sum(tg_tape *t, tg_tensor *x);
TG_API tg_tensor *tg_sum_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);
/*
 * x summed over the dimensions along which like's shape broadcasts to x's
 * (NumPy's rules), shaped like like: the gradient of a broadcast, written
 * with ops (sum_axis and reshape, so it is recorded and differentiable).
 * x itself when the shapes are equal. TG_ESHAPE if like's shape does not
 * broadcast to x's.
 */
TG_API tg_tensor *tg_sum_to(tg_tape *t, tg_tensor *x, const tg_tensor *like);

/* mean(x) = sum(x) / n;  d/dx[i] = 1/n (n: elements reduced together). */
TG_API tg_tensor *tg_mean(tg_tape *t, tg_tensor *x);
TG_API tg_tensor *tg_mean_axis(tg_tape *t, tg_tensor *x, int axis,
                               bool keepdim);

/* max(x) = x[a], a the position of the largest;  d/dx[i] = 1 if i == a
 * else 0. NaN beats every number. On ties, as PyTorch: tg_max (torch.max(x),
 * torch.amax) splits the gradient evenly among the tied elements;
 * tg_max_axis (torch.max(x, dim).values) gives it all to the first. */
TG_API tg_tensor *tg_max(tg_tape *t, tg_tensor *x);
TG_API tg_tensor *tg_max_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* min(x) = x[a], a the position of the smallest;  d/dx[i] = 1 if i == a
 * else 0. NaN and ties as tg_max and tg_max_axis. */
TG_API tg_tensor *tg_min(tg_tape *t, tg_tensor *x);
TG_API tg_tensor *tg_min_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* logsumexp(x) = log(sum(exp(x)));  d/dx[i] = exp(x[i] - logsumexp(x)),
 * the softmax. Stable: shifted by the max, so large inputs do not
 * overflow. All -inf gives -inf, a +inf gives +inf, as PyTorch. */
TG_API tg_tensor *tg_logsumexp(tg_tape *t, tg_tensor *x);
TG_API tg_tensor *tg_logsumexp_axis(tg_tape *t, tg_tensor *x, int axis,
                                    bool keepdim);

/* argmax(x, axis)[j] = the position of the largest value of lane j along
 * axis (torch.argmax(x, dim, keepdim)); argmin the smallest. As PyTorch:
 * the first position on ties, and the first NaN when a lane holds one
 * (for argmin too). The positions are whole numbers in x's dtype (PyTorch
 * gives int64). No gradient: nothing is recorded, so the result never
 * requires grad. Shape and axis as the other _axis reductions.
 * Errors: TG_EINVAL for an axis out of range, or an f32 x with more than
 * 2^24 values along the axis (positions would round; cast to f64). */
TG_API tg_tensor *tg_argmax(tg_tape *t, tg_tensor *x, int axis, bool keepdim);
TG_API tg_tensor *tg_argmin(tg_tape *t, tg_tensor *x, int axis, bool keepdim);

/* ---- Shape and linear algebra ----------------------------------------- */

/*
 * These ops move values or multiply matrices; each result owns its values
 * (a copy, never a view of the input). Dims may count from the end as in
 * PyTorch (-1 is the last).
 */

/* reshape(x, shape): x's values in the same row-major order, read with the
 * ndim sizes in shape, one of which may be -1 (inferred);  d/dx = the
 * upstream gradient reshaped to x's shape.
 * Errors: TG_EINVAL for a NULL shape, ndim outside 0..TG_MAX_DIMS, a size 0
 * or below -1, or two -1s; TG_ESHAPE when the element counts differ
 * ("tg_reshape: cannot reshape (2,3) (6 elements) into (4,2)"). */
TG_API tg_tensor *tg_reshape(tg_tape *t, tg_tensor *x, int ndim,
                             const int64_t *shape);

/* transpose(x)[j][i] = x[i][j] for a matrix (m,n) -> (n,m);  d/dx = the
 * upstream gradient transposed back.
 * Errors: TG_ESHAPE unless x is 2-D. */
TG_API tg_tensor *tg_transpose(tg_tape *t, tg_tensor *x);

/* permute(x, dims): y's dim d is x's dim dims[d], so (2,3,4) with dims
 * {2,0,1} gives (4,2,3);  d/dx = the upstream gradient permuted by the
 * inverse of dims. ndim must be x's number of dims.
 * Errors: TG_EINVAL for a NULL dims, a count other than x's ndim, or dims
 * that are not a permutation of x's. */
TG_API tg_tensor *tg_permute(tg_tape *t, tg_tensor *x, int ndim,
                             const int *dims);

/* matmul(a, b) = a @ b with torch.matmul's rules: (m,k) @ (k,n) -> (m,n);
 * a 1-D a is a row (1,k) and a 1-D b a column (k,1), that 1 dropped from
 * the result, so (k,) @ (k,) is the dot product, shape (); the dims before
 * the last two are batch dims, which broadcast as NumPy's (up to
 * TG_MAX_DIMS): (2,1,3,4) @ (5,4,6) -> (2,5,3,6), (3,4) @ (2,4,5) ->
 * (2,3,5), (2,3,4) @ (4,) -> (2,3).
 * d/da = G @ b^T, d/db = a^T @ G per matrix (G the upstream gradient),
 * summed over the batch dims that input was broadcast along.
 * Errors: TG_ESHAPE for a scalar (shape ()) operand, inner sizes that
 * differ ("tg_matmul: shapes (2,3) and (4,5) do not multiply: a has 3
 * columns, b has 4 rows") or batch dims that do not broadcast ("tg_matmul:
 * shapes (2,3,4) and (3,4,5): batch dims (2,) and (3,) do not broadcast").
 */
TG_API tg_tensor *tg_matmul(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* concat(xs[0], ..., xs[n-1]) along axis: the inputs end to end, so (2,3)
 * and (2,5) along axis 1 give (2,8);  d/dxs[i] = the part of the upstream
 * gradient that xs[i] filled. All inputs have the same ndim (at least 1)
 * and the same sizes except along axis.
 * Errors: TG_EINVAL for n < 1, a NULL xs or an axis out of range;
 * TG_ESHAPE for shapes that differ outside axis, or scalar inputs. */
TG_API tg_tensor *tg_concat(tg_tape *t, int n, tg_tensor *const *xs, int axis);

/* slice(x, axis, start, stop, step) = x[..., start:stop:step, ...] along
 * axis, with Python's rules: negative start and stop count from the end,
 * out-of-range ones are clamped (stop INT64_MAX: to the end; with a
 * negative step, stop INT64_MIN: to the front), a negative step walks
 * backwards. Same as torch.narrow / x[:, a:b] for step 1 (PyTorch refuses
 * negative steps; NumPy takes them). A copy, not a view.
 * d/dx = the upstream gradient scattered into zeros at the chosen
 * positions; its derivative with ops makes it differentiable again.
 * Errors: TG_EINVAL for an axis out of range or step 0 (or INT64_MIN);
 * TG_ESHAPE for a scalar x, or a slice that chooses no element
 * ("tg_slice: [3:1:1] along axis 0 of x (4,2) chooses no elements"). */
TG_API tg_tensor *tg_slice(tg_tape *t, tg_tensor *x, int axis, int64_t start,
                           int64_t stop, int64_t step);

/* ---- Classification and losses ---------------------------------------- */

/* softmax(x)[i] = exp(x[i]) / sum_k exp(x[k]) along axis (the others index
 * independent lanes);  d/dx[i] = y[i] * (g[i] - sum_k g[k] y[k]), with y
 * the output and g the upstream gradient. Same shape as x. Stable: shifted
 * by each lane's max, so large inputs do not overflow; -inf entries get 0;
 * a lane of all -inf, or holding +inf or NaN, is NaN (as PyTorch).
 * Errors: TG_EINVAL for an axis out of range. */
TG_API tg_tensor *tg_softmax(tg_tape *t, tg_tensor *x, int axis);

/* log_softmax(x)[i] = x[i] - log(sum_k exp(x[k])) along axis;
 * d/dx[i] = g[i] - exp(y[i]) * sum_k g[k]. Same shape as x. Never forms the
 * softmax, so it stays finite where softmax underflows to 0 (use it, not
 * log(softmax), for log-probabilities). Edge cases and errors as
 * tg_softmax. */
TG_API tg_tensor *tg_log_softmax(tg_tape *t, tg_tensor *x, int axis);

/* cross_entropy(x, labels) = mean_i [log(sum_k exp(x[i][k])) - x[i][labels[i]]]
 * for logits x (N,C) and N class labels in 0..C-1, as PyTorch's
 * F.cross_entropy with mean reduction;
 * d/dx[i][k] = (softmax(x[i])[k] - [k == labels[i]]) / N. Shape (). Fused and
 * stable (logits of 1e4 are fine). The labels are copied at the call, so
 * the array need not outlive it.
 * Errors: TG_ESHAPE unless x is 2-D; TG_EINVAL for NULL labels or a label
 * out of range ("tg_cross_entropy: label 7 in row 2 is outside 0..4"). */
TG_API tg_tensor *tg_cross_entropy(tg_tape *t, tg_tensor *logits,
                                   const int64_t *labels);

/* mse_loss(a, b) = mean((a - b)^2);  d/da = 2 (a - b) / n, d/db = -d/da.
 * Shape (). a and b must have the same shape (no broadcasting).
 * Errors: TG_ESHAPE for shapes that differ. */
TG_API tg_tensor *tg_mse_loss(tg_tape *t, tg_tensor *a, tg_tensor *b);

/* ---- Layers ------------------------------------------------------------ */

/*
 * linear(x, W, b) = x W^T + b, a fully connected layer in one op.
 * x: (..., in), W: (out, in), b: (out,) or NULL for none; result (..., out).
 * d/dx = gy W;  d/dW = gy^T x (summed over the batch);  d/db = sum of gy.
 * Errors: TG_ESHAPE naming the shapes when they do not fit.
 */
TG_API tg_tensor *tg_linear(tg_tape *t, tg_tensor *x, tg_tensor *w,
                            tg_tensor *b);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_OPS_H */
