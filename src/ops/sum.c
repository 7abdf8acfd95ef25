/*
 * sum.c — the sum of all elements (sum), or along one axis (sum_axis).
 *
 *     sum(x)          = x[0] + x[1] + ... + x[n-1]
 *     d sum / d x[i]  = 1
 *
 * So the gradient of every element is the upstream gradient itself: the
 * scalar d root / d sum, at x's shape. Nothing is multiplied by a tensor
 * of ones, and the value is not even copied unless needed (see
 * sum_backward). Along an axis
 * the same holds lane by lane (see src/tensor/axis.c): every element of a
 * lane gets the upstream gradient of the lane's sum.
 */
#include "tapegrad/ops.h"

#include "hot.h"
#include "ops/builtin.h"
#include "tensor/axis.h"
#include "tensor/element.h"

/*
 * f32 sums accumulate in double, in 32 partial sums (element i goes to
 * sum i mod 32) added up pairwise at the end. Independent sums let the
 * additions overlap instead of each waiting for the last one (four chains
 * of AVX-512 vectors, eight of AVX2); and the result does not depend on
 * the vector width the loop was compiled for.
 *
 * Converting every float to double costs more than the additions, so
 * the main loop first adds four floats 32 apart in float, (a + b) + (c + d),
 * and converts that: a quarter of the conversions, twice the speed. Each
 * such group is off by at most two float roundings of its own partial
 * sums, so the whole sum is within 2^-23 * sum |x[i]| of exact (plus
 * n * 2^-53 from the double additions): tighter than a float pairwise sum
 * (PyTorch's, log n roundings) and independent of n.
 */
#define SUM_LANES 32

TG__HOT static double sum_f32(const float *restrict x, int64_t n)
{
    double acc[SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + 4 * SUM_LANES <= n; i += 4 * SUM_LANES)
        for (int k = 0; k < SUM_LANES; k++) {
            const float *q = x + i + k;
            acc[k] += (double)((q[0] + q[SUM_LANES]) +
                               (q[2 * SUM_LANES] + q[3 * SUM_LANES]));
        }
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int k = 0; k < SUM_LANES; k++)
            acc[k] += x[i + k];
    for (int k = 0; i < n; i++, k++)
        acc[k] += x[i];
    /* Pairwise, in steps the compiler unrolls: 32 -> 16 -> 8 -> 4 -> 1. */
    for (int k = 0; k < 16; k++)
        acc[k] += acc[k + 16];
    for (int k = 0; k < 8; k++)
        acc[k] += acc[k + 8];
    for (int k = 0; k < 4; k++)
        acc[k] += acc[k + 4];
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

/* f64 sums are pairwise: error grows with log n rather than n. */
static double sum_f64(const double *restrict x, int64_t n)
{
    if (n <= 64) {
        double s0 = 0, s1 = 0;
        int64_t i = 0;
        for (; i + 2 <= n; i += 2) {
            s0 += x[i];
            s1 += x[i + 1];
        }
        if (i < n)
            s0 += x[i];
        return s0 + s1;
    }
    int64_t half = n / 2;
    return sum_f64(x, half) + sum_f64(x + half, n - half);
}

static tg_tensor *sum_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    tg_tensor *y = tg_empty(c->tape, tg_dtype_of(x), 0, NULL);
    if (y == NULL)
        return NULL;
    if (tg_dtype_of(x) == TG_F32)
        *tg_mut_f32(y) = (float)sum_f32(tg_data_f32(x), tg_numel(x));
    else
        *tg_mut_f64(y) = sum_f64(tg_data_f64(x), tg_numel(x));
    return y;
}

/*
 * Every element of x gets the one upstream value. tg_grad_fill lets the
 * tape keep it as that one number: an op before this one that declares
 * TG_OP_UNIFORM_GRAD (relu) reads the number instead of a buffer of
 * copies, and the copies are written out only for ops that need them.
 */
static int sum_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                        tg_tensor *const *gx)
{
    (void)c, (void)y;
    return tg_grad_fill(gx[0], tg_item(gy));
}

/* Along an axis: y[j] = the sum of lane j, pairwise in double. */
static tg_tensor *sum_axis_forward(tg_op_ctx *c)
{
    tg__lanes l;
    tg_tensor *y = tg__reduction_begin(c, &l);
    if (y == NULL)
        return NULL;
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__set(y, j, tg__lane_sum(c->in[0], &l, j));
    return y;
}

/* Every element of lane j gets gy[j]. */
static int sum_axis_backward(tg_op_ctx *c, const tg_tensor *y,
                             const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    tg__lanes l = tg__reduction_lanes(c);
    for (int64_t j = 0; j < l.outer * l.inner; j++)
        tg__lane_fill(gx[0], &l, j, tg__get(gy, j));
    return TG_OK;
}

const tg_op tg__op_sum = {
    .name = "sum",
    .arity = 1,
    .forward = sum_forward,
    .backward = sum_backward,
};

tg_tensor *tg_sum(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_sum, &x, 1, NULL);
}

const tg_op tg__op_sum_axis = {
    .name = "sum_axis",
    .arity = 1,
    .params_size = sizeof(tg__axis_params),
    .forward = sum_axis_forward,
    .backward = sum_axis_backward,
};

tg_tensor *tg_sum_axis(tg_tape *t, tg_tensor *x, int axis, bool keepdim)
{
    tg__axis_params p = {axis, keepdim};
    return tg_apply(t, &tg__op_sum_axis, &x, 1, &p);
}
