/*
 * create.c — making tensors on a tape, and checking them.
 *
 * A tensor is a header (struct tg_tensor: dtype, shape, flags) and its
 * values, contiguous and row-major, placed together in the tape's arena.
 * Nothing is freed one tensor at a time: resetting or freeing the tape
 * frees them all, and marks each header dead so a pointer kept past that
 * is caught by tg__check_tensor instead of read.
 */
#include "tapegrad/tensor.h"

#include "tensor/arena.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

int tg__check_ndim(const char *fn, int ndim, const void *sizes,
                   const char *what)
{
    if (ndim < 0 || ndim > TG_MAX_DIMS)
        return tg_set_error(TG_EINVAL, "%s: ndim %d is outside 0..%d", fn,
                            ndim, TG_MAX_DIMS);
    if (ndim > 0 && sizes == NULL)
        return tg_set_error(TG_EINVAL, "%s: %s is NULL for ndim %d", fn,
                            what, ndim);
    return TG_OK;
}

int tg__check_shape(const char *fn, int ndim, const int64_t *shape,
                    size_t elem_size, int64_t *numel)
{
    if (tg__check_ndim(fn, ndim, shape, "shape") != TG_OK)
        return TG_EINVAL;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return tg_set_error(TG_EINVAL,
                                "%s: dimension %d has size %lld; sizes must "
                                "be at least 1", fn, i, (long long)shape[i]);
        if (n > INT64_MAX / shape[i] ||
            (uint64_t)(n * shape[i]) > SIZE_MAX / elem_size)
            return tg_set_error(TG_EINVAL,
                                "%s: the shape's element count overflows", fn);
        n *= shape[i];
    }
    *numel = n;
    return TG_OK;
}

int tg__check_tensor_report(const char *fn, const tg_tensor *x)
{
    if (x == NULL) {
        if (tg_last_status() != TG_OK)
            return tg_last_status();
        return tg_set_error(TG_EINVAL, "%s: tensor is NULL", fn);
    }
    if (x->magic != TG__LIVE || x->generation != x->tape->generation)
        return tg_set_error(TG_ESTATE,
                            "%s: tensor was freed by a reset of its tape", fn);
    return TG_OK;
}

/* One allocation from t's arena for the header and the values. */
tg_tensor *tg__tensor_place(const char *fn, tg_tape *t, tg_dtype dt,
                               int ndim, const int64_t *shape, int64_t numel)
{
    size_t head = (sizeof(tg_tensor) + TG__ALIGN - 1) & ~(size_t)(TG__ALIGN - 1);
    size_t bytes = (size_t)numel * tg__dtype_size(dt);
    if (bytes > SIZE_MAX - head) {
        tg_set_error(TG_ENOMEM, "%s: %lld elements do not fit in memory", fn,
                     (long long)numel);
        return NULL;
    }
    unsigned char *mem = tg__arena_alloc(&t->arena, head + bytes);
    if (mem == NULL) {
        tg_set_error(TG_ENOMEM, "%s: out of memory for %lld elements", fn,
                     (long long)numel);
        return NULL;
    }
    /* Field by field: a compound literal would zero all 192 bytes first
     * (gcc emits `rep stos`, a tenth of W1's time). A new field of
     * tg_tensor needs its line here. */
    tg_tensor *x = (tg_tensor *)mem;
    x->magic = TG__LIVE;
    x->generation = t->generation;
    x->version = 0;
    x->tape = t;
    x->next = t->tensors;
    x->data = mem + head;
    x->grad = NULL;
    x->numel = numel;
    for (int i = 0; i < TG_MAX_DIMS; i++)
        x->shape[i] = i < ndim ? shape[i] : 0;
    x->ndim = ndim;
    x->dtype = dt;
    x->requires_grad = false;
    x->grad_state = TG__GRAD_STALE;
    x->uniform = false;
    x->uniform_value = 0;
    x->grad_of = NULL;
    x->creator = -1;
    x->name = NULL;
    t->tensors = x;
    return x;
}

/* The same for a shape given by the caller: checked first. */
tg_tensor *tg__tensor_new(const char *fn, tg_tape *t, tg_dtype dt, int ndim,
                          const int64_t *shape)
{
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    size_t esize = tg__dtype_size(dt);
    if (esize == 0) {
        tg_set_error(TG_EDTYPE, "%s: unknown dtype %d", fn, (int)dt);
        return NULL;
    }
    int64_t numel;
    if (tg__check_shape(fn, ndim, shape, esize, &numel) != TG_OK)
        return NULL;
    return tg__tensor_place(fn, t, dt, ndim, shape, numel);
}

tg_tensor *tg_empty(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape)
{
    return tg__tensor_new("tg_empty", t, dt, ndim, shape);
}

tg_tensor *tg_empty_like(tg_tape *t, const tg_tensor *x)
{
    if (tg__check_tensor("tg_empty_like", x) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_empty_like: tape is NULL");
        return NULL;
    }
    return tg__tensor_place("tg_empty_like", t, x->dtype, x->ndim, x->shape,
                        x->numel); /* x's shape was checked when it was made */
}

tg_tensor *tg_zeros(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape)
{
    tg_tensor *x = tg__tensor_new("tg_zeros", t, dt, ndim, shape);
    if (x != NULL)
        memset(x->data, 0, (size_t)x->numel * tg__dtype_size(dt));
    return x;
}

tg_tensor *tg_from_data(tg_tape *t, tg_dtype dt, int ndim,
                        const int64_t *shape, const void *data)
{
    if (data == NULL) {
        tg_set_error(TG_EINVAL, "tg_from_data: data is NULL");
        return NULL;
    }
    tg_tensor *x = tg__tensor_new("tg_from_data", t, dt, ndim, shape);
    if (x != NULL)
        memcpy(x->data, data, (size_t)x->numel * tg__dtype_size(dt));
    return x;
}

tg_tensor *tg_scalar(tg_tape *t, tg_dtype dt, double v)
{
    tg_tensor *x = tg__tensor_new("tg_scalar", t, dt, 0, NULL);
    if (x == NULL)
        return NULL;
    if (dt == TG_F32)
        *(float *)x->data = (float)v;
    else
        *(double *)x->data = v;
    return x;
}
