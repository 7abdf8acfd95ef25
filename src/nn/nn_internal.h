/*
 * nn_internal.h — what the files of src/nn share beyond the public headers.
 */
#ifndef TG_NN_INTERNAL_H
#define TG_NN_INTERNAL_H

#include <stdbool.h>

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

#endif /* TG_NN_INTERNAL_H */
