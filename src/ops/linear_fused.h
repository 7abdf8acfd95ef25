/*
 * linear_fused.h — linear with the layers around it run inside its matrix
 * product (src/ops/linear.c), for tg_sequential_forward and tg_mlp_forward.
 */
#ifndef TG_OPS_LINEAR_FUSED_H
#define TG_OPS_LINEAR_FUSED_H

#include "tapegrad/tensor.h"

#include <stdbool.h>

/*
 * tg_linear(t, x', w, b) where x' is tg_flatten-from-axis-1 of x when flat
 * (x is (N, ...) with numel / N = w's columns; y is (N, out)), else x; then
 * tg_relu of that when relu. One recorded op, with the same values and
 * gradients, bit for bit, as those ops (first order and, through its
 * backward_ops, every order); neither the flattened x nor the product
 * before the relu is made. Errors as tg_linear's (the caller checks the
 * shapes first, so that a mismatch is reported by the unfused ops).
 */
tg_tensor *tg__linear_fused(tg_tape *t, tg_tensor *x, tg_tensor *w,
                            tg_tensor *b, bool flat, bool relu);

#endif /* TG_OPS_LINEAR_FUSED_H */
