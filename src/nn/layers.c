/*
 * layers.c — the linear layer and the multi-layer perceptron.
 */
#include "tapegrad.h"
#include "tapegrad/nn.h"

#include "tensor/error_internal.h"
#include "nn/nn_internal.h"
#include "nn/params.h"
#include "ops/linear_fused.h"
#include "tensor/handle.h"

#include <math.h>

int tg_linear_layer_init(tg_linear_layer *l, tg_tape *t, tg_params *p,
                         tg_rng *rng, tg_dtype dt, int64_t in, int64_t out,
                         bool bias)
{
    if (l == NULL || rng == NULL)
        return tg_set_error(TG_EINVAL, "tg_linear_layer_init: %s is NULL",
                            l ? "rng" : "layer");
    if (in < 1 || out < 1)
        return tg_set_error(TG_EINVAL, "tg_linear_layer_init: sizes %lld -> "
                            "%lld must be at least 1", (long long)in,
                            (long long)out);
    /* PyTorch's nn.Linear: kaiming_uniform(a = sqrt(5)) for W, which is
     * U(-1/sqrt(in), 1/sqrt(in)), and the same bound for b. */
    /* A failure changes nothing: not *l, not p, not the rng. */
    if (p != NULL && tg__check_handle("tg_linear_layer_init", p,
                                      "parameter list") != TG_OK)
        return tg_last_status();
    double bound = 1.0 / sqrt((double)in);
    int64_t wshape[2] = {out, in};
    tg_rng rng_before = *rng;
    tg_linear_layer made = {
        tg_rand_uniform(t, rng, dt, 2, wshape, -bound, bound), NULL};
    if (bias && made.weight != NULL)
        made.bias = tg_rand_uniform(t, rng, dt, 1, &out, -bound, bound);
    int rc = made.weight == NULL || (bias && made.bias == NULL)
                 ? tg_last_status() : TG_OK;
    int64_t before = tg_params_count(p);
    if (rc == TG_OK && p != NULL) {
        rc = tg_params_add(p, made.weight);
        if (rc == TG_OK && bias)
            rc = tg_params_add(p, made.bias);
    }
    if (rc != TG_OK) {
        tg__params_truncate(p, before);
        *rng = rng_before;
        return tg__error_in("tg_linear_layer_init");
    }
    tg_set_requires_grad(made.weight, true);   /* leaves: cannot fail */
    if (bias)
        tg_set_requires_grad(made.bias, true);
    *l = made;
    return TG_OK;
}

tg_tensor *tg_linear_layer_forward(tg_tape *t, const tg_linear_layer *l,
                                   tg_tensor *x)
{
    if (l == NULL) {
        if (tg_last_status() == TG_OK) /* else keep the earlier failure */
            tg_set_error(TG_EINVAL, "tg_linear_layer_forward: layer is NULL");
        return NULL;
    }
    return tg_linear(t, x, l->weight, l->bias);
}

struct tg_mlp {
    tg__handle h;            /* first: the generation check (handle.h) */
    int n_layers;
    tg_linear_layer *layers;
    tg_activation_fn act;
};

tg_mlp *tg_mlp_new(tg_tape *t, tg_params *p, tg_rng *rng, tg_dtype dt, int n,
                   const int64_t *widths, tg_activation_fn act)
{
    if (widths == NULL || n < 2 || act == NULL) {
        tg_set_error(TG_EINVAL, "tg_mlp_new: needs at least 2 widths and an "
                     "activation");
        return NULL;
    }
    if (t == NULL) { /* named here, not as tg_tape_alloc's failure */
        tg_set_error(TG_EINVAL, "tg_mlp_new: tape is NULL");
        return NULL;
    }
    if (p != NULL && tg__check_handle("tg_mlp_new", p, "parameter list")
                         != TG_OK)
        return NULL;
    /* A failure half-way takes back what was added to p, so that it
     * changes nothing (docs/errors.md). */
    if (rng == NULL) {
        tg_set_error(TG_EINVAL, "tg_mlp_new: rng is NULL");
        return NULL;
    }
    int64_t before = tg_params_count(p);
    tg_rng rng_before = *rng;
    tg_linear_layer *layers = tg_tape_alloc(t, (size_t)(n - 1) * sizeof *layers);
    if (layers == NULL) {
        tg_set_error(TG_ENOMEM, "tg_mlp_new: out of memory");
        return NULL;
    }
    for (int i = 0; i + 1 < n; i++)
        if (tg_linear_layer_init(&layers[i], t, p, rng, dt, widths[i],
                                 widths[i + 1], true) != TG_OK) {
            /* The user called tg_mlp_new: its name first, then the inner
             * cause ("tg_mlp_new: tg_linear_layer_init: ..."). */
            tg__error_in("tg_mlp_new");
            tg__params_truncate(p, before);
            *rng = rng_before;
            return NULL;
        }
    tg_mlp *m = tg__handle_new("tg_mlp_new", t, sizeof *m);
    if (m == NULL) {
        tg__params_truncate(p, before);
        *rng = rng_before;
        return NULL;
    }
    m->n_layers = n - 1;
    m->layers = layers;
    m->act = act;
    return m;
}

tg_tensor *tg_mlp_forward(tg_tape *t, const tg_mlp *m, tg_tensor *x)
{
    /* a NULL m keeps the earlier failure */
    if (tg__check_handle("tg_mlp_forward", m, "network") != TG_OK)
        return NULL;
    for (int i = 0; i < m->n_layers; i++) {
        const tg_linear_layer *l = &m->layers[i];
        /* linear then relu as one op, the relu inside the product's split
         * call (the same values and gradients: ops/linear_fused.h) */
        if (i + 1 < m->n_layers && m->act == tg_relu && t != NULL &&
            tg__linear_fits(x, l->weight, l->bias, false)) {
            x = tg__linear_fused(t, x, l->weight, l->bias, false, true);
            if (x == NULL)
                tg__error_in("tg_mlp_forward");
            continue;
        }
        x = tg_linear_layer_forward(t, l, x);
        if (i + 1 < m->n_layers)
            x = m->act(t, x);
    }
    return x;
}

bool tg__linear_fits(const tg_tensor *x, const tg_tensor *w,
                     const tg_tensor *b, bool flat)
{
    if (x == NULL || w == NULL || tg_ndim(w) != 2 ||
        tg_dtype_of(x) != tg_dtype_of(w) ||
        (b != NULL && (tg_dtype_of(b) != tg_dtype_of(w) || tg_ndim(b) != 1 ||
                       tg_shape(b)[0] != tg_shape(w)[0])))
        return false;
    if (flat)
        return tg_ndim(x) >= 2 &&
               tg_numel(x) == tg_shape(x)[0] * tg_shape(w)[1];
    return tg_ndim(x) >= 1 && tg_shape(x)[tg_ndim(x) - 1] == tg_shape(w)[1];
}

int tg_mlp_layers(const tg_mlp *m)
{
    if (m == NULL || tg__check_handle("tg_mlp_layers", m, "network") != TG_OK)
        return 0;
    return m->n_layers;
}

tg_linear_layer *tg_mlp_layer(const tg_mlp *m, int i)
{
    if (tg__check_handle("tg_mlp_layer", m, "network") != TG_OK)
        return NULL;
    if (i < 0 || i >= m->n_layers) {
        tg_set_error(TG_EINVAL, "tg_mlp_layer: index %d is outside 0..%d", i,
                     tg_mlp_layers(m) - 1);
        return NULL;
    }
    return &m->layers[i];
}
