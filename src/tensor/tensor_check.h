/*
 * tensor_check.h — the checks entry points run on the tensors and shapes
 * they are given (src/tensor/tensor.c).
 */
#ifndef TG_TENSOR_TENSOR_CHECK_H
#define TG_TENSOR_TENSOR_CHECK_H

#include "tapegrad/tensor.h"

#include "tensor/grad_buffer.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

/*
 * Check that x can be used by the call named fn: not NULL, alive and from
 * its tape's current generation. On failure sets the error and returns its
 * status. A NULL usually carries an earlier failure (the call that should
 * have made x failed), so for NULL the earlier message and status are kept
 * and returned, and only without one is "fn: tensor is NULL" reported.
 * Inline, with the report out of line: every entry point runs it.
 */
int tg__check_tensor_report(const char *fn, const tg_tensor *x);
static inline int tg__check_tensor(const char *fn, const tg_tensor *x)
{
    if (x != NULL && x->magic == TG__LIVE &&
        x->generation == x->tape->generation)
        return TG_OK;
    return tg__check_tensor_report(fn, x);
}

/*
 * tg__check_tensor for a call that reads x's elements. A gradient buffer
 * kept by the caller (g = tg_grad(x)) may hold what is not yet written
 * out (zeros after tg_zero_grad, one value for all elements after a
 * backward): it is written out first, so that g reads the same through
 * every call (tg__grad_prepare). Any other tensor costs one test.
 */
static inline int tg__check_read(const char *fn, const tg_tensor *x)
{
    int rc = tg__check_tensor(fn, x);
    if (rc == TG_OK && x->grad_of != NULL)
        tg__grad_prepare(x);
    return rc;
}

/* Bytes per element (tg_dtype_size, inline for the constructors). */
static inline size_t tg__dtype_size(tg_dtype dt)
{
    return dt == TG_F32 ? sizeof(float) : dt == TG_F64 ? sizeof(double) : 0;
}

/* Check ndim and shape and compute numel; TG_EINVAL naming fn on failure. */
int tg__check_shape(const char *fn, int ndim, const int64_t *shape,
                    size_t elem_size, int64_t *numel);

/* Whether two tensors have the same shape. */
bool tg__same_shape(const tg_tensor *a, const tg_tensor *b);

/*
 * A tensor header and its values, in one allocation from t's arena, for a
 * shape already checked (numel is its element count). NULL, with
 * TG_ENOMEM naming fn, when there is no memory (src/tensor/create.c).
 */
tg_tensor *tg__tensor_place(const char *fn, tg_tape *t, tg_dtype dt,
                            int ndim, const int64_t *shape, int64_t numel);

/* A new tensor of a caller's shape on t: the tape, the dtype and the shape
 * checked first, every error naming fn (src/tensor/create.c). */
tg_tensor *tg__tensor_new(const char *fn, tg_tape *t, tg_dtype dt, int ndim,
                          const int64_t *shape);

/* The one check of a dimension count and its array (shape, dims) for every
 * call that takes them: ndim in 0..TG_MAX_DIMS, sizes non-NULL when ndim
 * > 0 (what names them). TG_EINVAL naming fn on failure. */
int tg__check_ndim(const char *fn, int ndim, const void *sizes,
                   const char *what);

#endif /* TG_TENSOR_TENSOR_CHECK_H */
