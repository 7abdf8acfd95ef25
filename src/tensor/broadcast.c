/*
 * broadcast.c — NumPy broadcasting for elementwise binary ops: the result
 * shape, the forward, and the input elements an output element came from.
 * The walk is broadcast_plan.c's; the gradient sums broadcast_grad.c's.
 */
#include "tensor/broadcast.h"
#include "tensor/broadcast_plan.h"
#include "tensor/element.h"

int tg__broadcast_shape(const char *fn, const tg_tensor *a,
                        const tg_tensor *b, int *ndim, int64_t *shape)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < n; d++) {
        int da = d - (n - a->ndim), db = d - (n - b->ndim);
        int64_t sa = da >= 0 ? a->shape[da] : 1;
        int64_t sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char s1[128], s2[128];
            return tg_set_error(TG_ESHAPE, "%s: shapes %s and %s do not "
                                "broadcast", fn,
                                tg_shape_str(a, s1, sizeof s1),
                                tg_shape_str(b, s2, sizeof s2));
        }
        shape[d] = sa == 1 ? sb : sa;
    }
    *ndim = n;
    return TG_OK;
}

tg_tensor *tg__broadcast_binary(tg_tape *t, const char *fn,
                                const tg_tensor *a, const tg_tensor *b,
                                const tg__row_fn row[2], const void *p)
{
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    if (tg__broadcast_shape(fn, a, b, &ndim, shape) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty(t, a->dtype, ndim, shape);
    if (y == NULL)
        return NULL;
    const tg_tensor *ab[2] = {a, b};
    tg__plan pl;
    tg__plan_init(&pl, ndim, shape, 2, ab);
    const void *x[4] = {a->data, b->data, NULL, NULL};
    tg__plan_run(&pl, tg_dtype_size(a->dtype), y->data, x, row[a->dtype], p);
    return y;
}

/* The flat index into x of element i of the (ndim, shape) tensor that x
 * broadcasts to. */
static int64_t broadcast_index(const tg_tensor *x, int ndim,
                               const int64_t *shape, int64_t i)
{
    int64_t stride[TG_MAX_DIMS], at = 0;
    tg__plan_strides(x, ndim, stride);
    for (int d = ndim - 1; d >= 0; d--) {
        at += (i % shape[d]) * stride[d];
        i /= shape[d];
    }
    return at;
}

void tg__binary_values(const tg_tensor *a, const tg_tensor *b,
                       const tg_tensor *y, int64_t i, double *va, double *vb)
{
    *va = tg__get(a, broadcast_index(a, y->ndim, y->shape, i));
    *vb = tg__get(b, broadcast_index(b, y->ndim, y->shape, i));
}
