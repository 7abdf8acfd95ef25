/*
 * element.h — one element of a tensor read or written as a double,
 * whatever its dtype: for the loops that are not worth a copy per dtype.
 */
#ifndef TG_TENSOR_ELEMENT_H
#define TG_TENSOR_ELEMENT_H

#include "tensor/tensor_struct.h"

static inline double tg__get(const tg_tensor *x, int64_t i)
{
    return x->dtype == TG_F32 ? (double)((const float *)x->data)[i]
                              : ((const double *)x->data)[i];
}

static inline void tg__set(tg_tensor *x, int64_t i, double v)
{
    if (x->dtype == TG_F32)
        ((float *)x->data)[i] = (float)v;
    else
        ((double *)x->data)[i] = v;
}

#endif /* TG_TENSOR_ELEMENT_H */
