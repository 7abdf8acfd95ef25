/*
 * split.c — split and chunk: consecutive slices along one axis.
 *
 *     split(x, axis, size)   = x[..., 0:size], x[..., size:2 size], ...
 *     chunk(x, axis, chunks) = split(x, axis, ceil(n / chunks))
 *
 * as torch.split with one size and torch.chunk (which may give fewer than
 * chunks pieces: 5 rows in 4 chunks are 2, 2 and 1). Each piece is a
 * tg_slice, so its gradient and recorded derivative are slice's.
 */
#include "tapegrad/index.h"
#include "tapegrad/ops.h"

#include "tensor/axis.h"
#include "tensor/tensor_check.h"

/* Slices of size along axis into out[0..count-1]; count or a status. */
static int pieces(const char *fn, tg_tape *t, tg_tensor *x, int axis,
                  int64_t size, int cap, tg_tensor **out)
{
    char s[128];
    if (t == NULL)
        return tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
    if (tg__check_tensor(fn, x) != TG_OK)
        return tg_last_status();
    if (x->ndim == 0)
        return tg_set_error(TG_ESHAPE, "%s: x has shape (); a scalar has no "
                            "axis to split", fn);
    if (tg__axis_resolve(fn, x, axis, &axis) != TG_OK)
        return tg_last_status();
    if (out == NULL)
        return tg_set_error(TG_EINVAL, "%s: out is NULL", fn);
    int64_t n = x->shape[axis], count = n / size + (n % size != 0);
    if (count > cap)
        return tg_set_error(TG_EINVAL, "%s: pieces of %lld along axis %d of x "
                            "%s are %lld, more than out's %d", fn,
                            (long long)size, axis,
                            tg_shape_str(x, s, sizeof s), (long long)count,
                            cap);
    for (int64_t k = 0; k < count; k++) {
        out[k] = tg_slice(t, x, axis, k * size, (k + 1) * size, 1);
        if (out[k] == NULL) {
            int rc = tg_last_status();
            for (int64_t j = 0; j <= k; j++)
                out[j] = NULL;
            return rc;
        }
    }
    return (int)count;
}

int tg_split(tg_tape *t, tg_tensor *x, int axis, int64_t size, int cap,
             tg_tensor **out)
{
    if (size < 1)
        return tg_set_error(TG_EINVAL, "tg_split: size is %lld; it must be "
                            "at least 1", (long long)size);
    return pieces("tg_split", t, x, axis, size, cap, out);
}

int tg_chunk(tg_tape *t, tg_tensor *x, int axis, int chunks, tg_tensor **out)
{
    if (chunks < 1)
        return tg_set_error(TG_EINVAL, "tg_chunk: chunks is %d; it must be at "
                            "least 1", chunks);
    if (tg__check_tensor("tg_chunk", x) != TG_OK)
        return tg_last_status();
    int a = 0;
    if (x->ndim > 0 && tg__axis_resolve("tg_chunk", x, axis, &a) != TG_OK)
        return tg_last_status();
    int64_t n = x->ndim > 0 ? x->shape[a] : 1;
    return pieces("tg_chunk", t, x, axis, (n + chunks - 1) / chunks, chunks,
                  out);
}
