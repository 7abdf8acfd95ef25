/*
 * axis_ops.h — what the backward_ops of axis ops and of the selecting ops
 * (max, min, maximum, minimum) share, and the kernels of max and min,
 * which differ only in which end of a lane they select (src/ops/axis_ops.c).
 */
#ifndef TG_OPS_AXIS_OPS_H
#define TG_OPS_AXIS_OPS_H

#include "tapegrad/op.h"

/* g with the reduced axis of c's op put back as size 1 (so that it
 * broadcasts against the input); g itself for whole reductions and
 * keepdim. NULL with the error (naming fn) on failure. */
tg_tensor *tg__with_axis_kept(tg_op_ctx *c, tg_tensor *g, const char *fn);

/* For a selection op (max, min): what its backward gives the input for a
 * gradient of ones, a constant mask of which elements were selected (ties
 * shared as backward shares them). */
tg_tensor *tg__select_mask(tg_op_ctx *c, const tg_tensor *y);

/*
 * The backward_ops of maximum (want_max) and minimum: gy times a constant
 * slope, summed down to each input's shape. The slope is
 * 1 - (the input lost) - (a tie) / 2: 1, 0 or 1/2, and 1 for both at NaN,
 * as backward gives. The slopes are masks (comparisons record nothing),
 * so the second derivative is 0 almost everywhere.
 */
int tg__pick_backward_ops(tg_op_ctx *c, tg_tensor *gy, const bool *want,
                          tg_tensor **gx, bool want_max);

/*
 * max (largest) and min (!largest) over the lanes of c's reduction
 * (src/tensor/axis.c): the forward (y[j] = the selected value of lane
 * j); the backward (gy[j] to the selected element of lane j, split among
 * ties for the whole-tensor ops, whose params are NULL; 0 elsewhere); the
 * piece hook (the arg position within lane i, or TG_ON_KINK on a tie);
 * and the backward_ops (gy times tg__select_mask; fn names the axis call
 * in messages).
 */
tg_tensor *tg__select_forward(tg_op_ctx *c, bool largest);
int tg__select_backward(tg_op_ctx *c, const tg_tensor *gy,
                        tg_tensor *const *gx, bool largest);
int64_t tg__select_piece(const tg_op_ctx *c, int64_t i, bool largest);
int tg__select_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            tg_tensor **gx, const char *fn);

#endif /* TG_OPS_AXIS_OPS_H */
