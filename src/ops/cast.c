/*
 * cast.c — converting between f32 and f64 (cast), and leaving the graph
 * (detach).
 *
 *     cast(x, dt)  = x rounded to dt
 *     d/dx         = the upstream gradient, converted back to x's dtype
 *
 * Widening f32 to f64 is exact; narrowing rounds to nearest, and values
 * beyond float's range become +-inf, as C and PyTorch's x.float() do. The
 * gradient takes the way back: an f64 gradient reaching an f32 input is
 * rounded once. Casting to x's own dtype is a copy with gradient 1.
 *
 * detach(x) is a copy of x's values that no op made: a leaf that does not
 * require grad, so nothing reaches x through it (PyTorch's x.detach(),
 * which shares memory; here the values are copied).
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

typedef struct cast_params {
    tg_dtype dtype;
} cast_params;

/* dst[i] = src[i] for n elements, converting between the dtypes. */
static void convert(void *dst, tg_dtype to, const void *src, tg_dtype from,
                    int64_t n)
{
    if (to == from) {
        memcpy(dst, src, (size_t)n * tg_dtype_size(to));
    } else if (to == TG_F64) {
        const float *s = src;
        double *d = dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = (double)s[i];
    } else {
        const double *s = src;
        float *d = dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = (float)s[i];
    }
}

static tg_tensor *cast_forward(tg_op_ctx *c)
{
    const cast_params *p = c->params;
    const tg_tensor *x = c->in[0];
    if (tg_dtype_size(p->dtype) == 0) {
        tg_set_error(TG_EDTYPE, "tg_cast: unknown dtype %d", (int)p->dtype);
        return NULL;
    }
    tg_tensor *y = tg_empty(c->tape, p->dtype, x->ndim, x->shape);
    if (y == NULL)
        return NULL;
    convert(y->data, y->dtype, x->data, x->dtype, x->numel);
    return y;
}

static int cast_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        convert(gx[0]->data, gx[0]->dtype, gy->data, gy->dtype, gy->numel);
    return TG_OK;
}

/* The same with ops: the gradient cast back to the input's dtype (a copy
 * when the dtypes match), so its own derivative is again a cast. */
static int cast_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    gx[0] = tg_cast(c->tape, gy, tg_dtype_of(c->in[0]));
    return tg_made(gx[0]);
}

const tg_op tg__op_cast = {
    .name = "cast",
    .arity = 1,
    .params_size = sizeof(cast_params),
    .forward = cast_forward,
    .backward = cast_backward,
    .backward_ops = cast_backward_ops,
};

tg_tensor *tg_cast(tg_tape *t, tg_tensor *x, tg_dtype dtype)
{
    cast_params p = {dtype};
    return tg_apply(t, &tg__op_cast, 1, &x, &p);
}

tg_tensor *tg_detach(tg_tape *t, tg_tensor *x)
{
    if (tg__check_read("tg_detach", x) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_detach: tape is NULL");
        return NULL;
    }
    tg_tensor *y = tg__tensor_place("tg_detach", t, x->dtype, x->ndim,
                                    x->shape, x->numel);
    if (y != NULL)
        memcpy(y->data, x->data, (size_t)x->numel * tg_dtype_size(x->dtype));
    return y;
}
