/*
 * norm.c — layer norm as a layer (torch.nn.LayerNorm): a weight of ones
 * and a bias of zeros of the normalized shape, around tg_layer_norm.
 */
#include "tapegrad.h"
#include "tapegrad/sequence.h"

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
    for (int d = 0; d < ndim; d++)
        l->shape[d] = shape[d];
    l->ndim = ndim;
    l->eps = 1e-5;
    l->weight = tg_ones(t, dt, ndim, shape);
    l->bias = tg_zeros(t, dt, ndim, shape);
    if (l->weight == NULL || l->bias == NULL)
        return tg_last_status();
    tg_set_requires_grad(l->weight, true);
    tg_set_requires_grad(l->bias, true);
    int rc = p ? tg_params_add(p, l->weight) : TG_OK;
    return rc == TG_OK && p ? tg_params_add(p, l->bias) : rc;
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
