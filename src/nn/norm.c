/*
 * norm.c — layer norm as a layer (torch.nn.LayerNorm): a weight of ones
 * and a bias of zeros of the normalized shape, around tg_layer_norm.
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"
#include "nn/params.h"
#include "tensor/error_internal.h"
#include "tensor/handle.h"

int tg_layer_norm_layer_init(tg_layer_norm_layer *l, tg_tape *t, tg_params *p,
                             tg_dtype dt, int ndim, const int64_t *shape)
{
    if (l == NULL || shape == NULL)
        return tg_set_error(TG_EINVAL, "tg_layer_norm_layer_init: %s is NULL",
                            l ? "shape" : "layer");
    if (ndim < 1 || ndim > TG_MAX_DIMS)
        return tg_set_error(TG_EINVAL, "tg_layer_norm_layer_init: %d dims; "
                            "it needs 1 to %d", ndim, TG_MAX_DIMS);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 1)
            return tg_set_error(TG_EINVAL, "tg_layer_norm_layer_init: size "
                                "%lld of dim %d must be at least 1",
                                (long long)shape[d], d);
    if (p != NULL && tg__check_handle("tg_layer_norm_layer_init", p,
                                      "parameter list") != TG_OK)
        return tg_last_status();
    /* Made aside: a failure leaves l and p as they were. */
    tg_layer_norm_layer made = {.ndim = ndim, .eps = 1e-5};
    for (int d = 0; d < ndim; d++)
        made.shape[d] = shape[d];
    int64_t n0 = tg_params_count(p);
    made.weight = tg_ones(t, dt, ndim, shape);
    made.bias = made.weight ? tg_zeros(t, dt, ndim, shape) : NULL;
    int rc = made.bias ? tg_set_requires_grad(made.weight, true)
                       : tg_last_status();
    if (rc == TG_OK)
        rc = tg_set_requires_grad(made.bias, true);
    if (rc == TG_OK && p != NULL)
        rc = tg_params_add(p, made.weight);
    if (rc == TG_OK && p != NULL)
        rc = tg_params_add(p, made.bias);
    if (rc != TG_OK) {
        tg__params_truncate(p, n0);
        return tg__error_in("tg_layer_norm_layer_init");
    }
    *l = made;
    return TG_OK;
}

tg_tensor *tg_layer_norm_layer_forward(tg_tape *t, const tg_layer_norm_layer *l,
                                       tg_tensor *x)
{
    if (l == NULL) {
        tg_set_error(TG_EINVAL, "tg_layer_norm_layer_forward: layer is NULL");
        return NULL;
    }
    return tg_layer_norm(t, x, l->ndim, l->shape, l->weight, l->bias, l->eps);
}
