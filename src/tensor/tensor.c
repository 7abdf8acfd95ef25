/*
 * tensor.c — reading tensors: dtypes, shapes, values, requires_grad.
 * (Making them is create.c.)
 */
#include "tapegrad/op.h"
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

/* ---- accessors */

int tg_ndim(const tg_tensor *x) { return x ? x->ndim : 0; }
const int64_t *tg_shape(const tg_tensor *x) { return x ? x->shape : NULL; }
int64_t tg_numel(const tg_tensor *x) { return x ? x->numel : 0; }
tg_dtype tg_dtype_of(const tg_tensor *x)
{
    return x ? x->dtype : TG_DTYPE_NONE;
}
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
    tg__grad_prepare(x);
    return x->data;
}

const float *tg_data_f32(const tg_tensor *x) { return data_as("tg_data_f32", x, TG_F32); }
const double *tg_data_f64(const tg_tensor *x) { return data_as("tg_data_f64", x, TG_F64); }
/* A writable pointer counts as a write: recorded entries that read x see
 * that it changed (the version counter, tensor_struct.h). */
static void *mut_as(const char *fn, tg_tensor *x, tg_dtype dt)
{
    void *p = data_as(fn, x, dt);
    if (p != NULL)
        x->version++;
    return p;
}

float *tg_mut_f32(tg_tensor *x) { return mut_as("tg_mut_f32", x, TG_F32); }
double *tg_mut_f64(tg_tensor *x) { return mut_as("tg_mut_f64", x, TG_F64); }

double tg_item(const tg_tensor *x)
{
    if (tg__check_tensor("tg_item", x) != TG_OK)
        return NAN;
    tg__grad_prepare(x);
    if (x->numel != 1) {
        char s[128];
        tg_set_error(TG_ESHAPE, "tg_item: shape %s has %lld elements, not 1",
                     tg_shape_str(x, s, sizeof s), (long long)x->numel);
        return NAN;
    }
    return x->dtype == TG_F32 ? (double)*(const float *)x->data
                              : *(const double *)x->data;
}

double tg_value_at(const tg_tensor *x, int64_t i)
{
    if (tg__check_read("tg_value_at", x) != TG_OK)
        return NAN;
    if (i < 0 || i >= x->numel) {
        tg_set_error(TG_EINVAL, "tg_value_at: index %lld is outside 0..%lld",
                     (long long)i, (long long)x->numel - 1);
        return NAN;
    }
    tg__grad_prepare(x);
    return x->dtype == TG_F32 ? (double)((const float *)x->data)[i]
                              : ((const double *)x->data)[i];
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
