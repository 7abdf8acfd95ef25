/*
 * permute.h — moving dims around (src/tensor/permute.c).
 */
#ifndef TG_TENSOR_PERMUTE_H
#define TG_TENSOR_PERMUTE_H

#include "tapegrad/tensor.h"

/*
 * y = x with its dims reordered: y's dim d is x's dim perm[d], so y must
 * have shape (x.shape[perm[0]], x.shape[perm[1]], ...) and x's dtype.
 * perm is a permutation of 0..ndim-1 (checked by the caller). Transposes
 * and permutes, forward and backward, all copy through this one routine.
 */
void tg__permute_copy(const tg_tensor *x, const int *perm, tg_tensor *y);

#endif /* TG_TENSOR_PERMUTE_H */
