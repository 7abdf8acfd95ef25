/*
 * conv_geom.h — the options and checked sizes of the convolution ops
 * (conv_geom.c), for conv.c.
 */
#ifndef TG_OPS_CONV_GEOM_H
#define TG_OPS_CONV_GEOM_H

#include "ops/conv_kernel.h"

#include "tapegrad/ops.h"

/* The options as the ops keep them, per spatial dim; size is x's spatial
 * size for input_grad, the kernel's for weight_grad, unused by conv. */
typedef struct tg__conv_params {
    int64_t stride[2], padding[2], dilation[2], groups;
    int64_t size[2];
} tg__conv_params;

/* The three ops each convolution is made of (conv.c explains why). */
enum tg__conv_kind {
    TG__CONV_FWD,         /* y = conv(x, w) */
    TG__CONV_INPUT_GRAD,  /* gx from (gy, w) */
    TG__CONV_WEIGHT_GRAD  /* gw from (x, gy) */
};

/* The geometry of op kind k with nsp spatial dims (1 or 2) on inputs in
 * (x and w for conv, gy and w for input_grad, x and gy for weight_grad),
 * checked: TG_OK, or an error status with tg_last_error naming the
 * tensors, their shapes and the option at fault. */
int tg__conv_geom_of(int nsp, enum tg__conv_kind k, const tg__conv_params *p,
                     tg_tensor *const *in, tg__conv_geom *g);

#endif /* TG_OPS_CONV_GEOM_H */
