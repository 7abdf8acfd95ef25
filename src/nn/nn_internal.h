/*
 * nn_internal.h — what the files of src/nn share beyond the public headers.
 */
#ifndef TG_NN_INTERNAL_H
#define TG_NN_INTERNAL_H

#include "tapegrad/pool.h"
#include "tapegrad/sequential.h"

#include <stdbool.h>

/* A NULL handle usually comes from a call that failed: keep its error
 * (the NULL-propagation contract) and return its status, else set
 * TG_EINVAL "fn: what is NULL". */
int tg__nn_null_arg(const char *fn, const char *what);

/* A new layer of cls with state (tg_layer_new), given its n parameters
 * under their state-dict names; NULL with the error if any step fails. */
tg_layer *tg__layer_with_params(tg_tape *t, const tg_layer_class *cls,
                                void *state, int n, const char *const *names,
                                tg_tensor *const *params);

/* A name a state-dict key can hold: non-empty, without '.'. */
bool tg__nn_name_ok(const char *name);

/* TG_OK for a live layer made by tg_layer_new; a NULL one keeps a pending
 * failure (else "fn: layer is NULL"), one whose tape was reset since is
 * TG_ESTATE "fn: layer was freed by a reset of its tape". */
struct tg_layer;
int tg__layer_check(const char *fn, const struct tg_layer *l);

/* TG_OK if s is live and so is every layer in it (a layer may live on
 * another tape, reset since); else the error, naming fn. */
struct tg_sequential;
int tg__sequential_check(const char *fn, const struct tg_sequential *s);

/* For tg_sequential_forward's "relu, max pool" pair (tg_relu_max_pool2d):
 * whether l is tg_layer_activation_new(t, "relu") (layer_basic.c), and the
 * options of a tg_layer_max_pool2d_new layer, or NULL for any other
 * layer (layer_cnn.c). */
bool tg__layer_is_relu(const struct tg_layer *l);
const tg_pool2d_options *tg__layer_max_pool_options(const struct tg_layer *l);

/* For its "flatten, linear, relu" runs (tg__linear_fused): the parameters
 * of a tg_layer_linear_new layer, else NULL; the start_dim of a
 * tg_layer_flatten_new layer, else -1 (layer_basic.c). */
struct tg_linear_layer;
const struct tg_linear_layer *tg__layer_linear(const struct tg_layer *l);
int tg__layer_flatten_start(const struct tg_layer *l);

/* Whether tg__linear_fused(t, x, w, b, flat, relu) takes x as it is: the
 * dtypes agree and x's rows (flattened from axis 1 when flat) have w's
 * columns. Else the caller runs the unfused layers, so that a mismatch
 * is reported as they report it (layers.c). */
bool tg__linear_fits(const tg_tensor *x, const tg_tensor *w,
                     const tg_tensor *b, bool flat);

#endif /* TG_NN_INTERNAL_H */
