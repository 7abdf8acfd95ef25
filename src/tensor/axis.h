/*
 * axis.h — a tensor seen around one of its axes, as lanes
 * (src/tensor/axis.c): what reductions, softmax and concat share.
 *
 * Reductions, softmax and concat see a tensor around one axis as
 * (outer, n, inner): outer blocks of n slices of inner contiguous values.
 * A lane is the n values x[o, :, i]; lane j = o * inner + i starts at
 * o * n * inner + i and steps by inner. Reducing lane j gives output
 * element j, so a reduction's output is already in lane order. Values are
 * read and written as double through tg__get and tg__set (element.h).
 */
#ifndef TG_TENSOR_AXIS_H
#define TG_TENSOR_AXIS_H

#include "tapegrad/op.h"

typedef struct tg__lanes {
    int64_t outer, n, inner;
} tg__lanes;

/* The params of every op that takes one axis (sum_axis, softmax, concat). */
typedef struct tg__axis_params {
    int axis;                /* may count from the end: -1 is the last */
    bool keepdim;            /* reductions: keep the axis with size 1 */
} tg__axis_params;

/* Where lane j starts in the data; its element k is at base + k * inner. */
static inline int64_t tg__lane_base(const tg__lanes *l, int64_t j)
{
    return (j / l->inner) * l->n * l->inner + j % l->inner;
}

/*
 * Turn axis (negative counts from the end, as PyTorch; a scalar accepts 0
 * and -1) into 0..ndim-1 in *out. TG_EINVAL naming fn and x's shape when
 * it is out of range.
 */
int tg__axis_resolve(const char *fn, const tg_tensor *x, int axis, int *out);

/* x's lanes around a resolved axis; and one lane of all its elements. */
tg__lanes tg__lanes_around(const tg_tensor *x, int axis);
tg__lanes tg__lanes_all(const tg_tensor *x);

/* x's shape without the resolved axis (or with it as 1 if keepdim) into
 * shape; returns the number of dims. */
int tg__reduced_shape(const tg_tensor *x, int axis, bool keepdim,
                      int64_t *shape);

/*
 * For a reduction op: its lanes and its (uninitialised) output. c->params
 * is a tg__axis_params for the _axis ops and NULL for those that reduce
 * every element to a scalar. NULL, with TG_EINVAL for a bad axis, or
 * TG_ENOMEM. tg__reduction_lanes gives backward the same lanes.
 */
tg_tensor *tg__reduction_begin(tg_op_ctx *c, tg__lanes *l);
tg__lanes tg__reduction_lanes(const tg_op_ctx *c);

/* Lane j summed in double, pairwise (error grows with log n). */
double tg__lane_sum(const tg_tensor *x, const tg__lanes *l, int64_t j);

/*
 * The position in lane j of its largest (want_max) or smallest value: the
 * first one, and the first NaN if there is one (NaN wins, as PyTorch).
 * *ties counts the elements equal to it (NaNs, for a NaN).
 */
int64_t tg__lane_arg(const tg_tensor *x, const tg__lanes *l, int64_t j,
                     bool want_max, int64_t *ties);

/* The largest value of lane j, or NaN if it holds one (one pass). */
double tg__lane_max(const tg_tensor *x, const tg__lanes *l, int64_t j);

/*
 * The gradient of lane j's max (want_max) or min, given g, the upstream
 * gradient of that one value: written into lane j of gx, which is zero
 * except at the extreme. split_ties shares g evenly among all elements
 * equal to it (PyTorch's max() and amax); otherwise the first one gets all
 * of g (PyTorch's max(dim)).
 */
void tg__lane_select_grad(tg_tensor *gx, const tg_tensor *x,
                          const tg__lanes *l, int64_t j, bool want_max,
                          bool split_ties, double g);

/* log(sum(exp(lane j))), shifted by the lane's max so it cannot overflow;
 * an infinite max shifts by 0 instead (all -inf gives -inf). */
double tg__lane_logsumexp(const tg_tensor *x, const tg__lanes *l, int64_t j);

/*
 * Lane j's largest value m (NaN if it holds one) and s = sum(exp(v - m)),
 * computed as PyTorch's softmax does: no special case for an infinite m,
 * so a lane of all -inf, or holding +inf, gives NaN downstream as there.
 */
void tg__lane_softmax_stats(const tg_tensor *x, const tg__lanes *l,
                            int64_t j, double *m, double *s);

/* Set every element of lane j to v. */
void tg__lane_fill(tg_tensor *x, const tg__lanes *l, int64_t j, double v);

#endif /* TG_TENSOR_AXIS_H */
