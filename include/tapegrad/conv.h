/*
 * tapegrad/conv.h — convolutions over 1 and 2 spatial dims (included by
 * tapegrad.h).
 *
 * Layout as PyTorch's: x is (N, C, H, W) for tg_conv2d and (N, C, L) for
 * tg_conv1d; the weight is (O, C / groups, kH, kW) or (O, C / groups, kL);
 * the bias, optional, is (O,). With the options of tg_conv_options:
 *
 *   y[n, o, i, j] = bias[o] + sum over c in o's group, p, q of
 *                   w[o, c', p, q] x_pad[n, c, i sH + p dH, j sW + q dW]
 *
 * where x_pad is x with padding zeros on each side, and o's group is the
 * block of C / groups input channels with index o / (O / groups). The
 * output is (N, O, OH, OW) with OH = (H + 2 pH - dH (kH - 1) - 1) / sH + 1
 * (rounded down; OW likewise). The gradient with respect to x is the
 * transposed convolution of d root / dy with w, with respect to w the
 * correlation of x with d root / dy, with respect to the bias the sum of
 * d root / dy over N, OH and OW. Each of those is recorded as an op that is
 * linear in each of its inputs, so gradients of gradients work to any
 * order (tg_vjp with create_graph, tg_hvp). Both calls return a new tensor
 * owned by the tape t, or NULL with tg_last_error() naming the call and
 * the shapes; a NULL input keeps its failure.
 *
 * LeNet-5's first layer on a batch of 64 Fashion-MNIST images (t a tape):
 *
 *     int64_t xs[4] = {64, 1, 28, 28}, ws[4] = {6, 1, 5, 5}, bs = 6;
 *     tg_tensor *x = tg_zeros(t, TG_F32, 4, xs);
 *     tg_tensor *w = tg_zeros(t, TG_F32, 4, ws);
 *     tg_tensor *b = tg_zeros(t, TG_F32, 1, &bs);
 *     tg_conv_options o = tg_conv_defaults();
 *     o.padding[0] = o.padding[1] = 2;            // keeps 28x28 for 5x5
 *     tg_tensor *y = tg_conv2d(t, x, w, b, &o);   // (64,6,28,28)
 *     printf("%lld channels of %lldx%lld\n", (long long)tg_shape(y)[1],
 *            (long long)tg_shape(y)[2], (long long)tg_shape(y)[3]);
 *
 * (examples/conv2d.c is a complete program, compiled by meson.)
 */
#ifndef TAPEGRAD_CONV_H
#define TAPEGRAD_CONV_H

#include "base.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The options of a convolution, per spatial dim ([0] is H, [1] is W;
 * tg_conv1d reads [0] only): stride >= 1, padding >= 0 (zeros on both
 * sides), dilation >= 1 (the spacing of the kernel's taps), and groups >= 1,
 * which must divide both the input and the output channels. Start from
 * tg_conv_defaults() and change what differs: a zeroed struct has stride 0
 * and is refused.
 */
typedef struct tg_conv_options {
    int64_t stride[2];
    int64_t padding[2];
    int64_t dilation[2];
    int64_t groups;
} tg_conv_options;

/* PyTorch's defaults: stride 1, padding 0, dilation 1, groups 1. */
TG_API tg_conv_options tg_conv_defaults(void);

/*
 * conv2d(x, w, bias) as above: x (N, C, H, W), w (O, C / groups, kH, kW),
 * bias (O,) or NULL; opt NULL for the defaults. f32 or f64, all one dtype.
 * Gradients for x, w and bias; smooth (linear in each), so no kinks.
 * Errors: TG_EINVAL for a stride or dilation below 1, a negative padding,
 * groups below 1, or any of them above INT32_MAX ("tg_conv2d: stride
 * (0,1) must be at least 1"),
 * TG_ESHAPE for wrong ranks, channels groups does not divide, a weight
 * whose input channels do not match x's, a bias that is not (O,), or a
 * kernel larger than the padded input ("tg_conv2d: x (1,1,4,4) with
 * padding (0,0) is 4x4, smaller than the 5x5 kernel of weight (6,1,5,5)
 * at dilation (1,1)"); TG_EDTYPE for mixed dtypes. A NULL input
 * propagates.
 */
TG_API tg_tensor *tg_conv2d(tg_tape *t, tg_tensor *x, tg_tensor *w,
                            tg_tensor *bias, const tg_conv_options *opt);

/*
 * conv1d(x, w, bias): the same over one spatial dim, x (N, C, L),
 * w (O, C / groups, kL), bias (O,) or NULL, output (N, O, OL); reads
 * stride[0], padding[0] and dilation[0] of opt. Errors as tg_conv2d's,
 * naming tg_conv1d.
 */
TG_API tg_tensor *tg_conv1d(tg_tape *t, tg_tensor *x, tg_tensor *w,
                            tg_tensor *bias, const tg_conv_options *opt);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_CONV_H */
