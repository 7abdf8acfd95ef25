/*
 * nn_internal.h — what the files of src/nn share beyond the public headers.
 */
#ifndef TG_NN_INTERNAL_H
#define TG_NN_INTERNAL_H

#include <stdbool.h>

/* A name a state-dict key can hold: non-empty, without '.'. */
bool tg__nn_name_ok(const char *name);

#endif /* TG_NN_INTERNAL_H */
