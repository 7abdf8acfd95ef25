/*
 * grad_buffer.c — a tensor's gradient buffer: made the first time
 * backward reaches the tensor, and made to read as what its state says
 * (tg_grad, the data accessors).
 *
 * x->grad_state says what the buffer holds (enum tg__grad_state): only a
 * LIVE buffer holds a gradient; a STALE one reads as zeros without having
 * been written, so that tg_zero_grad costs no pass over memory. A uniform
 * gradient (tg_grad_fill) is one number standing for every element,
 * written out here only when something reads the elements.
 */
#include "tapegrad/tensor.h"

#include "hot.h"
#include "tensor/grad_buffer.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

tg_tensor *tg__grad_buffer(tg_tensor *x)
{
    if (x->grad == NULL) {
        x->grad = tg__tensor_place("tg_backward", x->tape, x->dtype, x->ndim,
                                   x->shape, x->numel);
        x->grad_state = TG__GRAD_STALE;
        if (x->grad != NULL)
            x->grad->grad_of = x;
    }
    return x->grad;
}

/* Write v into all n elements: a loop the compiler vectorises. */
TG__HOT static void fill_f32(float *restrict d, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = v;
}

TG__HOT static void fill_f64(double *restrict d, int64_t n, double v)
{
    for (int64_t i = 0; i < n; i++)
        d[i] = v;
}

void tg__grad_materialize(tg_tensor *g)
{
    if (g == NULL || !g->uniform)
        return;
    if (g->dtype == TG_F32)
        fill_f32(g->data, g->numel, (float)g->uniform_value);
    else
        fill_f64(g->data, g->numel, g->uniform_value);
    g->uniform = false;
}

void tg__grad_prepare(const tg_tensor *g)
{
    tg_tensor *owner = g->grad_of;
    if (owner == NULL)
        return;
    if (owner->grad_state == TG__GRAD_STALE) {
        memset(g->data, 0, (size_t)g->numel * tg_dtype_size(g->dtype));
        ((tg_tensor *)g)->uniform = false;
        owner->grad_state = TG__GRAD_ZERO;
    }
    tg__grad_materialize((tg_tensor *)g);
}

tg_tensor *tg_grad(const tg_tensor *x)
{
    if (tg__check_tensor("tg_grad", x) != TG_OK)
        return NULL;
    if (x->grad != NULL)
        tg__grad_prepare(x->grad); /* the caller will read the elements */
    return x->grad;
}

/*
 * Lazily: the gradient is marked STALE, which reads as zeros (tg_grad and
 * the data accessors write the zeros when someone looks), and which the
 * next backward overwrites instead of adding to. A training loop that
 * zeroes and then runs backward never writes the zeros at all: that saves
 * a pass over every parameter's gradient per step.
 */
int tg_zero_grad(tg_tensor *x)
{
    if (x == NULL) /* a no-op, as free(NULL) */
        return TG_OK;
    /* A stale x's gradient pointer leads into memory the tape has since
     * handed to new tensors: report it rather than zero theirs. */
    int rc = tg__check_tensor("tg_zero_grad", x);
    if (rc != TG_OK || x->grad == NULL)
        return rc;
    x->grad->uniform = false;
    x->grad_state = TG__GRAD_STALE;
    return TG_OK;
}
