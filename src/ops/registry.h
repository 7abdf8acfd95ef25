/*
 * registry.h — checking an op struct before it is applied or registered
 * (src/ops/registry.c).
 */
#ifndef TG_OPS_REGISTRY_H
#define TG_OPS_REGISTRY_H

#include "tapegrad/op.h"

/* TG_EINVAL naming fn and the problem unless op is usable: not NULL, a
 * name, a forward and a backward, an arity of -1 or at least 1. */
int tg__check_op(const char *fn, const tg_op *op);

#endif /* TG_OPS_REGISTRY_H */
