/*
 * tapegrad/tensor.h — the tensor: a dtype, a shape and contiguous row-major
 * values, owned by the tape it was made on.
 *
 * Ownership: every tensor belongs to a tape. Freeing or resetting the tape
 * frees the tensor; there is no call to free one tensor. Every pointer that
 * a function below returns (the tensor, its shape, its data, its gradient)
 * stays valid until its tape is reset or freed.
 *
 * Shapes: 0 to TG_MAX_DIMS dimensions, each at least 1. Shape () with ndim 0
 * is a scalar holding one value.
 */
#ifndef TAPEGRAD_TENSOR_H
#define TAPEGRAD_TENSOR_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_tape tg_tape;
typedef struct tg_tensor tg_tensor;

/* ---- Creation: each returns a new tensor owned by t, or NULL on error. */

/* Zeros of the given shape. shape may be NULL when ndim is 0. */
TG_API tg_tensor *tg_zeros(tg_tape *t, tg_dtype dt, int ndim,
                           const int64_t *shape);

/* Uninitialised values of the given shape: for an op's forward, which
 * writes every element. */
TG_API tg_tensor *tg_empty(tg_tape *t, tg_dtype dt, int ndim,
                           const int64_t *shape);

/* A new tensor with x's dtype and shape, uninitialised (x may be on
 * another tape). */
TG_API tg_tensor *tg_empty_like(tg_tape *t, const tg_tensor *x);

/* A copy of numel(shape) values read from data, which holds floats for
 * TG_F32 and doubles for TG_F64. The tensor does not keep the pointer. */
TG_API tg_tensor *tg_from_data(tg_tape *t, tg_dtype dt, int ndim,
                               const int64_t *shape, const void *data);

/* A scalar (shape ()) holding v rounded to dt. */
TG_API tg_tensor *tg_scalar(tg_tape *t, tg_dtype dt, double v);

/*
 * steps evenly spaced values from start to end inclusive, shape (steps,).
 * Each value is within one ulp of the exact start + i*(end-start)/(steps-1)
 * for dt, the endpoints are exact, and the result is symmetric
 * (x[i] == -x[steps-1-i]) when start == -end. steps == 1 gives [start].
 * Errors: TG_EINVAL for steps < 1 or a non-finite start or end, or, for
 * TG_F32, a start or end that rounds to infinity in f32 (|v| > FLT_MAX
 * and not within half an ulp of it).
 */
TG_API tg_tensor *tg_linspace(tg_tape *t, tg_dtype dt, double start, double end,
                              int64_t steps);

/* Every element value (rounded to dt) in the given shape, as torch.full;
 * tg_ones is value 1. Errors as tg_zeros, naming the call. */
TG_API tg_tensor *tg_full(tg_tape *t, tg_dtype dt, int ndim,
                          const int64_t *shape, double value);
TG_API tg_tensor *tg_ones(tg_tape *t, tg_dtype dt, int ndim,
                          const int64_t *shape);

/*
 * torch.arange(start, end, step): start, start + step, ... up to but not
 * including end, shape (n,) with n = ceil((end - start) / step) computed
 * in double, PyTorch's count rule (so arange(0, 1, 0.1) has 10 values).
 * Value i is start + step * i computed in double and rounded once to dt,
 * as NumPy; PyTorch's vectorised kernel adds multiples of step to each
 * block's first value, so its values may differ from these in the last
 * place of max(|start|, |end|). A negative step counts down. Errors: TG_EINVAL for a step of 0, a non-finite argument, a range
 * with no values (start == end, or a step of the wrong sign: PyTorch
 * gives an empty tensor, tapegrad has none) or more than 2^53 values.
 */
TG_API tg_tensor *tg_arange(tg_tape *t, tg_dtype dt, double start,
                            double end, double step);

/* The n x m identity (torch.eye(n, m)): 1 where row == column, else 0.
 * Errors: TG_EINVAL for n or m below 1, or as tg_zeros. */
TG_API tg_tensor *tg_eye(tg_tape *t, tg_dtype dt, int64_t n, int64_t m);

/* ---- Gradients. */

/*
 * Ask (on = true) that backward passes compute d root / d x. Only leaves can
 * be switched: TG_EINVAL for a tensor an op recorded on a tape. Returns 0.
 */
TG_API int tg_set_requires_grad(tg_tensor *x, bool on);

/* Whether x takes part in gradients: a leaf asked to, or a recorded op's
 * output. false for NULL. */
TG_API bool tg_requires_grad(const tg_tensor *x);

/*
 * The gradient of the last backward root with respect to x, same shape and
 * dtype as x; NULL until a backward pass reaches x. Leaf gradients add up
 * across backward passes until tg_zero_grad. A leaf's gradient belongs to
 * the leaf's own tape, so parameters on a long-lived tape keep theirs while
 * a per-step tape is reset.
 */
TG_API tg_tensor *tg_grad(const tg_tensor *x);

/* Set x's gradient to zeros. Returns TG_OK (also when x has no gradient
 * yet, or x is NULL: a no-op, as free(NULL)), or TG_ESTATE for a tensor
 * freed by a reset (left alone). Done
 * lazily: the zeros are written when the gradient is next read through
 * tg_grad, tg_data_f32/f64, tg_mut_f32/f64 or tg_item, and never if the
 * next backward overwrites it first (so re-read values through them rather
 * than through a data pointer kept from before). */
TG_API int tg_zero_grad(tg_tensor *x);

/* ---- Accessors. On NULL they return 0, NULL or TG_DTYPE_NONE and set no
 * error: a NULL tensor is the result of an earlier failure, whose status
 * and message are still there. They are the cheap reads and do not check
 * for a tensor freed by a reset of its tape (TG_ESTATE elsewhere): on one
 * they read what the tape's memory holds now, its old fields or those of
 * a newer tensor (docs/errors.md, "Stale tensors are caught"). */

TG_API int tg_ndim(const tg_tensor *x);
TG_API const int64_t *tg_shape(const tg_tensor *x); /* ndim sizes */
TG_API int64_t tg_numel(const tg_tensor *x);         /* product of the sizes */
TG_API tg_dtype tg_dtype_of(const tg_tensor *x); /* TG_DTYPE_NONE for NULL */
TG_API tg_tape *tg_tape_of(const tg_tensor *x);      /* the owning tape */

/* The values, row-major. NULL (and an error) if x is NULL or of the other
 * dtype. The mut_ versions let you write values in place. Each call of a
 * mut_ version counts as a write to x (x's version counter), and
 * tg_backward, tg_vjp and tg_jvp refuse with TG_ESTATE, naming the op and
 * the input, to differentiate an op recorded before a write to one of its
 * inputs or its output, as PyTorch's "modified by an inplace operation":
 * any input counts, since the library does not know which ones an op's
 * backward reads. Record the op again after the write. */
TG_API const float *tg_data_f32(const tg_tensor *x);
TG_API const double *tg_data_f64(const tg_tensor *x);
TG_API float *tg_mut_f32(tg_tensor *x);
TG_API double *tg_mut_f64(tg_tensor *x);

/* The value of a tensor with exactly one element, as a double; NaN (and an
 * error) for NULL or a tensor with more elements. A tensor may hold NaN:
 * where that matters, tell them apart by tg_last_status() after
 * tg_clear_error(). */
TG_API double tg_item(const tg_tensor *x);

/* Give x a name for tg_tape_print, tg_tape_dot and traces (copied, at
 * most 63 bytes kept; any tensor, leaf or not). Returns TG_OK, TG_EINVAL
 * for a NULL name (or a NULL x with no failure pending; with one, its
 * status), TG_ESTATE for a tensor freed by a reset, or TG_ENOMEM. */
TG_API int tg_set_name(tg_tensor *x, const char *name);
/* x's name, or NULL if it has none: a copy owned by x's tape, valid until
 * that tape is reset or freed (renaming x leaves the old copy alone). */
TG_API const char *tg_name(const tg_tensor *x);

/* Write x's shape as "(3,4)", "(5,)" or "()" into buf (always
 * NUL-terminated, truncated to n bytes; "(null)" for a NULL x; nothing
 * written when buf is NULL or n is 0); returns buf. Sets no error. */
TG_API char *tg_shape_str(const tg_tensor *x, char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_TENSOR_H */
