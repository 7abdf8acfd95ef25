/*
 * params.h — what the constructors that add to a parameter list use to
 * take their additions back when they fail (src/nn/params.c).
 */
#ifndef TG_NN_PARAMS_H
#define TG_NN_PARAMS_H

#include "tapegrad/nn.h"

/* Drop every parameter after the first n (no-op for NULL or n >= count). */
void tg__params_truncate(tg_params *p, int64_t n);

#endif /* TG_NN_PARAMS_H */
