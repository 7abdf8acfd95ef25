/*
 * index_select.c — index_select and embedding, both a gather.
 *
 *     index_select(x, axis, index)[..., k, ...] = x[..., index[k], ...]
 *     embedding(weight, indices)[k, :]          = weight[indices[k], :]
 *
 * The caller gives the indices as an int64_t array (tensors hold f32 or
 * f64 only). Each call checks them itself, so that its errors name it,
 * then spreads them into an index tensor of the output's shape and runs
 * tg_gather: the gradient is gather's, a scatter-add, and the recorded
 * derivative is too. embedding's padding_idx rows are detached with
 * tg_where, so they pass their values and no gradient, as PyTorch's.
 */
#include "tapegrad/index.h"
#include "tapegrad/ops.h"

#include "tensor/axis.h"
#include "tensor/element.h"
#include "tensor/tensor_check.h"

/* TG_OK if index[0..n-1] are all in 0..size-1; else the error naming fn. */
static int check_indices(const char *fn, const char *xname,
                         const tg_tensor *x, int axis, int64_t n,
                         const int64_t *index)
{
    char s[128];
    if (n < 1)
        return tg_set_error(TG_EINVAL, "%s: n is %lld; there must be at least "
                            "one index", fn, (long long)n);
    if (index == NULL)
        return tg_set_error(TG_EINVAL, "%s: the index array is NULL", fn);
    int64_t size = x->shape[axis];
    for (int64_t k = 0; k < n; k++)
        if (index[k] < 0 || index[k] >= size)
            return tg_set_error(TG_EINVAL, "%s: index %lld at position %lld "
                                "is outside 0..%lld (axis %d of %s %s)", fn,
                                (long long)index[k], (long long)k,
                                (long long)(size - 1), axis, xname,
                                tg_shape_str(x, s, sizeof s));
    return TG_OK;
}

/* The gather index: x's shape with axis of size n, index[k] along it. */
static tg_tensor *spread(tg_tape *t, const tg_tensor *x, int axis, int64_t n,
                         const int64_t *index)
{
    int64_t shape[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = d == axis ? n : x->shape[d];
    tg_tensor *ix = tg_empty(t, x->dtype, x->ndim, shape);
    if (ix == NULL)
        return NULL;
    tg__lanes l = tg__lanes_around(ix, axis);
    for (int64_t o = 0, e = 0; o < l.outer; o++)
        for (int64_t k = 0; k < n; k++)
            for (int64_t i = 0; i < l.inner; i++)
                tg__set(ix, e++, (double)index[k]);
    return ix;
}

tg_tensor *tg_index_select(tg_tape *t, tg_tensor *x, int axis, int64_t n,
                           const int64_t *index)
{
    const char *fn = "tg_index_select";
    char s[128];
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    if (tg__check_tensor(fn, x) != TG_OK)
        return NULL;
    if (x->ndim == 0) {
        tg_set_error(TG_ESHAPE, "%s: x has shape %s; a scalar has no axis to "
                     "index", fn, tg_shape_str(x, s, sizeof s));
        return NULL;
    }
    if (tg__axis_resolve(fn, x, axis, &axis) != TG_OK ||
        check_indices(fn, "x", x, axis, n, index) != TG_OK)
        return NULL;
    return tg_gather(t, x, axis, spread(t, x, axis, n, index));
}

tg_tensor *tg_embedding(tg_tape *t, tg_tensor *weight, int64_t n,
                        const int64_t *indices, int64_t padding_idx)
{
    const char *fn = "tg_embedding";
    char s[128];
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    if (tg__check_tensor(fn, weight) != TG_OK)
        return NULL;
    if (weight->ndim != 2) {
        tg_set_error(TG_ESHAPE, "%s: weight has shape %s; it must be "
                     "(num_embeddings, dim)", fn,
                     tg_shape_str(weight, s, sizeof s));
        return NULL;
    }
    if (padding_idx < -1 || padding_idx >= weight->shape[0]) {
        tg_set_error(TG_EINVAL, "%s: padding_idx %lld is outside -1..%lld "
                     "(-1 for none; weight %s)", fn, (long long)padding_idx,
                     (long long)(weight->shape[0] - 1),
                     tg_shape_str(weight, s, sizeof s));
        return NULL;
    }
    if (check_indices(fn, "weight", weight, 0, n, indices) != TG_OK)
        return NULL;
    tg_tensor *rows = tg_gather(t, weight, 0, spread(t, weight, 0, n, indices));
    bool padded = false;
    for (int64_t k = 0; k < n && padding_idx >= 0; k++)
        padded |= indices[k] == padding_idx;
    if (!padded || rows == NULL)
        return rows;
    int64_t mshape[2] = {n, 1};
    tg_tensor *mask = tg_empty(t, weight->dtype, 2, mshape);
    if (mask == NULL)
        return NULL;
    for (int64_t k = 0; k < n; k++)
        tg__set(mask, k, indices[k] == padding_idx);
    return tg_where(t, mask, tg_detach(t, rows), rows);
}
