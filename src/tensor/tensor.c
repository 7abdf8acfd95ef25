/*
 * tensor.c — making tensors on a tape, checking them, reading them.
 */
#include "tapegrad/tensor.h"

#include "hot.h"
#include "tensor/grad_buffer.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t tg_dtype_size(tg_dtype dt)
{
    return dt == TG_F32 ? sizeof(float) : dt == TG_F64 ? sizeof(double) : 0;
}

const char *tg_dtype_name(tg_dtype dt)
{
    return dt == TG_F32 ? "f32" : dt == TG_F64 ? "f64" : "?";
}

int tg__check_shape(const char *fn, int ndim, const int64_t *shape,
                    size_t elem_size, int64_t *numel)
{
    if (ndim < 0 || ndim > TG_MAX_DIMS)
        return tg_set_error(TG_EINVAL, "%s: ndim %d is outside 0..%d", fn,
                            ndim, TG_MAX_DIMS);
    if (ndim > 0 && shape == NULL)
        return tg_set_error(TG_EINVAL, "%s: shape is NULL for ndim %d", fn,
                            ndim);
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

int tg__check_tensor(const char *fn, const tg_tensor *x)
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

/*
 * A tensor header and its values, in one allocation from t's arena, for a
 * shape already checked (numel is its element count). NULL, with
 * TG_ENOMEM naming fn, when there is no memory.
 */
static tg_tensor *tensor_place(const char *fn, tg_tape *t, tg_dtype dt,
                               int ndim, const int64_t *shape, int64_t numel)
{
    size_t head = (sizeof(tg_tensor) + TG__ALIGN - 1) & ~(size_t)(TG__ALIGN - 1);
    size_t bytes = (size_t)numel * tg_dtype_size(dt);
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
static tg_tensor *tensor_new(const char *fn, tg_tape *t, tg_dtype dt,
                             int ndim, const int64_t *shape)
{
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    size_t esize = tg_dtype_size(dt);
    if (esize == 0) {
        tg_set_error(TG_EDTYPE, "%s: unknown dtype %d", fn, (int)dt);
        return NULL;
    }
    int64_t numel;
    if (tg__check_shape(fn, ndim, shape, esize, &numel) != TG_OK)
        return NULL;
    return tensor_place(fn, t, dt, ndim, shape, numel);
}

tg_tensor *tg_empty(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape)
{
    return tensor_new("tg_empty", t, dt, ndim, shape);
}

tg_tensor *tg_empty_like(tg_tape *t, const tg_tensor *x)
{
    if (tg__check_tensor("tg_empty_like", x) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "tg_empty_like: tape is NULL");
        return NULL;
    }
    return tensor_place("tg_empty_like", t, x->dtype, x->ndim, x->shape,
                        x->numel); /* x's shape was checked when it was made */
}

tg_tensor *tg_zeros(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape)
{
    tg_tensor *x = tensor_new("tg_zeros", t, dt, ndim, shape);
    if (x != NULL)
        memset(x->data, 0, (size_t)x->numel * tg_dtype_size(dt));
    return x;
}

tg_tensor *tg_from_data(tg_tape *t, tg_dtype dt, int ndim,
                        const int64_t *shape, const void *data)
{
    if (data == NULL) {
        tg_set_error(TG_EINVAL, "tg_from_data: data is NULL");
        return NULL;
    }
    tg_tensor *x = tensor_new("tg_from_data", t, dt, ndim, shape);
    if (x != NULL)
        memcpy(x->data, data, (size_t)x->numel * tg_dtype_size(dt));
    return x;
}

tg_tensor *tg_scalar(tg_tape *t, tg_dtype dt, double v)
{
    tg_tensor *x = tensor_new("tg_scalar", t, dt, 0, NULL);
    if (x == NULL)
        return NULL;
    if (dt == TG_F32)
        *(float *)x->data = (float)v;
    else
        *(double *)x->data = v;
    return x;
}

tg_tensor *tg__grad_buffer(tg_tensor *x)
{
    if (x->grad == NULL) {
        x->grad = tensor_place("tg_backward", x->tape, x->dtype, x->ndim,
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

/*
 * A gradient buffer is about to be read (or written) element by element
 * through the public API: make its elements what its state says. A
 * STALE gradient (an earlier pass's, or one tg_zero_grad cleared without
 * writing) reads as zeros, so they are written now; a uniform one is
 * written out. Any other tensor is left alone.
 */
static void grad_prepare(const tg_tensor *g)
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

bool tg__same_shape(const tg_tensor *a, const tg_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

/* ---- gradients */

int tg_set_requires_grad(tg_tensor *x, bool on)
{
    int rc = tg__check_tensor("tg_set_requires_grad", x);
    if (rc != TG_OK)
        return rc;
    if (x->creator >= 0)
        return tg_set_error(TG_EINVAL,
                            "tg_set_requires_grad: only leaf tensors can be "
                            "switched; this one was made by a recorded op");
    x->requires_grad = on;
    return TG_OK;
}

bool tg_requires_grad(const tg_tensor *x)
{
    return x != NULL && x->requires_grad;
}

tg_tensor *tg_grad(const tg_tensor *x)
{
    if (tg__check_tensor("tg_grad", x) != TG_OK)
        return NULL;
    if (x->grad != NULL)
        grad_prepare(x->grad); /* the caller will read the elements */
    return x->grad;
}

/*
 * Lazily: the gradient is marked STALE, which reads as zeros (tg_grad and
 * the data accessors write the zeros when someone looks), and which the
 * next backward overwrites instead of adding to. A training loop that
 * zeroes and then runs backward never writes the zeros at all: that saves
 * a pass over every parameter's gradient per step.
 */
void tg_zero_grad(tg_tensor *x)
{
    /* A stale x's gradient pointer leads into memory the tape has since
     * handed to new tensors: report it rather than zero theirs. */
    if (x == NULL || tg__check_tensor("tg_zero_grad", x) != TG_OK ||
        x->grad == NULL)
        return;
    x->grad->uniform = false;
    x->grad_state = TG__GRAD_STALE;
}

/* ---- accessors */

int tg_ndim(const tg_tensor *x) { return x ? x->ndim : 0; }
const int64_t *tg_shape(const tg_tensor *x) { return x ? x->shape : NULL; }
int64_t tg_numel(const tg_tensor *x) { return x ? x->numel : 0; }
tg_dtype tg_dtype_of(const tg_tensor *x) { return x ? x->dtype : TG_F32; }
tg_tape *tg_tape_of(const tg_tensor *x) { return x ? x->tape : NULL; }

static void *data_as(const char *fn, const tg_tensor *x, tg_dtype dt)
{
    if (tg__check_tensor(fn, x) != TG_OK)
        return NULL;
    if (x->dtype != dt) {
        tg_set_error(TG_EDTYPE, "%s: tensor is %s", fn,
                     tg_dtype_name(x->dtype));
        return NULL;
    }
    grad_prepare(x);
    return x->data;
}

const float *tg_data_f32(const tg_tensor *x) { return data_as("tg_data_f32", x, TG_F32); }
const double *tg_data_f64(const tg_tensor *x) { return data_as("tg_data_f64", x, TG_F64); }
float *tg_mut_f32(tg_tensor *x) { return data_as("tg_mut_f32", x, TG_F32); }
double *tg_mut_f64(tg_tensor *x) { return data_as("tg_mut_f64", x, TG_F64); }

double tg_item(const tg_tensor *x)
{
    if (tg__check_tensor("tg_item", x) != TG_OK)
        return NAN;
    grad_prepare(x);
    if (x->numel != 1) {
        char s[128];
        tg_set_error(TG_ESHAPE, "tg_item: shape %s has %lld elements, not 1",
                     tg_shape_str(x, s, sizeof s), (long long)x->numel);
        return NAN;
    }
    return x->dtype == TG_F32 ? (double)*(const float *)x->data
                              : *(const double *)x->data;
}

char *tg_shape_str(const tg_tensor *x, char *buf, size_t n)
{
    if (buf == NULL || n == 0)
        return buf;
    if (x == NULL) {
        snprintf(buf, n, "(null)");
        return buf;
    }
    size_t len = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < x->ndim && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "",
                                (long long)x->shape[i]);
    if (len < n)
        snprintf(buf + len, n - len, x->ndim == 1 ? ",)" : ")");
    return buf;
}
