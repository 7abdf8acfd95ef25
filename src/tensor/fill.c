/*
 * fill.c — tensors made from a rule rather than from data: one value
 * everywhere (tg_full, tg_ones), a range with a step (tg_arange), and the
 * identity matrix (tg_eye). They are leaves, made as tg_zeros is.
 */
#include "tapegrad/tensor.h"

#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <string.h>

/* Every element of x set to v (rounded to x's dtype). */
static void fill_all(tg_tensor *x, double v)
{
    if (x->dtype == TG_F32) {
        float *d = x->data, f = (float)v;
        for (int64_t i = 0; i < x->numel; i++)
            d[i] = f;
    } else {
        double *d = x->data;
        for (int64_t i = 0; i < x->numel; i++)
            d[i] = v;
    }
}

tg_tensor *tg_full(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape,
                   double value)
{
    tg_tensor *x = tg__tensor_new("tg_full", t, dt, ndim, shape);
    if (x != NULL)
        fill_all(x, value);
    return x;
}

tg_tensor *tg_ones(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape)
{
    tg_tensor *x = tg__tensor_new("tg_ones", t, dt, ndim, shape);
    if (x != NULL)
        fill_all(x, 1.0);
    return x;
}

/*
 * torch.arange's count: ceil((end - start) / step), in double. Value i is
 * start + step * i computed in double and rounded once to dt, as NumPy
 * does: independent of i's neighbours, so of how the loop is cut.
 */
tg_tensor *tg_arange(tg_tape *t, tg_dtype dt, double start, double end,
                     double step)
{
    if (!isfinite(start) || !isfinite(end) || !isfinite(step)) {
        tg_set_error(TG_EINVAL, "tg_arange: start %g, end %g and step %g "
                     "must be finite", start, end, step);
        return NULL;
    }
    if (step == 0) {
        tg_set_error(TG_EINVAL, "tg_arange: step is 0; it must be nonzero");
        return NULL;
    }
    double count = ceil((end - start) / step);
    if (!(count >= 1)) {
        tg_set_error(TG_EINVAL, "tg_arange: start %g, end %g, step %g give "
                     "no values (a step of the wrong sign, or start == end; "
                     "tensors have at least one element)", start, end, step);
        return NULL;
    }
    if (count > 9007199254740992.0) { /* 2^53: i * step stops being exact */
        tg_set_error(TG_EINVAL, "tg_arange: start %g, end %g, step %g give "
                     "%g values; at most 2^53", start, end, step, count);
        return NULL;
    }
    int64_t n = (int64_t)count;
    tg_tensor *x = tg__tensor_new("tg_arange", t, dt, 1, &n);
    if (x == NULL)
        return NULL;
    if (dt == TG_F32) {
        float *d = x->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = (float)(start + step * (double)i);
    } else {
        double *d = x->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = start + step * (double)i;
    }
    return x;
}

tg_tensor *tg_eye(tg_tape *t, tg_dtype dt, int64_t n, int64_t m)
{
    if (n < 1 || m < 1) {
        tg_set_error(TG_EINVAL, "tg_eye: sizes %lld and %lld must be at "
                     "least 1", (long long)n, (long long)m);
        return NULL;
    }
    int64_t shape[2] = {n, m};
    tg_tensor *x = tg__tensor_new("tg_eye", t, dt, 2, shape);
    if (x == NULL)
        return NULL;
    memset(x->data, 0, (size_t)x->numel * tg_dtype_size(dt));
    for (int64_t i = 0; i < n && i < m; i++) {
        if (dt == TG_F32)
            ((float *)x->data)[i * m + i] = 1.0f;
        else
            ((double *)x->data)[i * m + i] = 1.0;
    }
    return x;
}
