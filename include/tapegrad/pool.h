/*
 * tapegrad/pool.h — pooling, dropout and batch normalisation: the layers of
 * a convolutional network that are not convolutions, as PyTorch computes
 * them (torch.nn.functional.max_pool2d, avg_pool2d, adaptive_avg_pool2d,
 * dropout and batch_norm).
 *
 *     int64_t shape[4] = {8, 3, 32, 32}, ch = 3;
 *     tg_rng rng;
 *     tg_rng_seed(&rng, 42, 54);
 *     tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, shape, 0.0, 1.0);
 *     tg_tensor *run_mean = tg_zeros(t, TG_F32, 1, &ch);
 *     tg_tensor *run_var = tg_ones(t, TG_F32, 1, &ch);
 *     tg_pool2d_options o = tg_pool2d_defaults(2, 2);   // 2x2, stride 2
 *     tg_tensor *h = tg_max_pool2d(t, x, &o);           // (8,3,32,32) -> (8,3,16,16)
 *     h = tg_dropout(t, h, 0.25, &rng, true);           // the mask from rng
 *     h = tg_batch_norm(t, h, run_mean, run_var, NULL, NULL, true, 0.1, 1e-5);
 *     h = tg_adaptive_avg_pool2d(t, h, 1, 1);           // (8,3,1,1)
 *     if (h == NULL || tg_shape(h)[2] != 1)
 *         return 1;
 *
 * The pooling ops take (N, C, H, W) or, like PyTorch, one image (C, H, W),
 * and pool over the last two dimensions. Each op returns a new tensor owned
 * by the tape it is given (tg_dropout in eval: x itself), is recorded on
 * that tape, and is differentiable twice (its derivative is written with ops too, see
 * docs/adding-an-op.md). Errors never abort: NULL is returned and
 * tg_last_error() names the call and the shapes.
 */
#ifndef TAPEGRAD_POOL_H
#define TAPEGRAD_POOL_H

#include "random.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A pooling window, as PyTorch's arguments (height first, then width).
 * Only floor mode (PyTorch's ceil_mode=False) is computed: the output
 * height is floor((H + 2 padding - dilation (kernel - 1) - 1) / stride) + 1.
 */
typedef struct tg_pool2d_options {
    int64_t kernel[2];      /* window size, >= 1 */
    int64_t stride[2];      /* step between windows, >= 1 (defaults: kernel) */
    int64_t padding[2];     /* implicit padding on both sides, 0..kernel/2 */
    int64_t dilation[2];    /* max pooling only: spacing of the window's
                               elements, >= 1 (avg pooling needs 1) */
    bool count_include_pad; /* avg pooling only: divide by the whole window,
                               padding included (PyTorch's default, true),
                               or by the elements inside x (false) */
} tg_pool2d_options;

/* PyTorch's defaults for a kh x kw window: stride = kernel, no padding,
 * dilation 1, count_include_pad true. */
TG_API tg_pool2d_options tg_pool2d_defaults(int64_t kh, int64_t kw);

/*
 * Max pooling: y[n,c,i,j] = the largest x[n,c,h,w] over the window at
 * (i stride - padding, j stride - padding) (padding is -inf), and
 * d y / d x = 1 at that position, 0 elsewhere. Ties go to the first
 * maximum of the window in row-major order, and a NaN in the window wins
 * (the last one), as in PyTorch. A dilated window can fall on padding
 * only (x 1 high, kernel 2, padding 1, dilation 2 reads rows -1 and 1):
 * its output is -inf and it passes no gradient, as PyTorch's. o NULL is
 * an error (there is no default kernel). The output is (N, C, OH, OW), or (C, OH, OW) for a 3-D x.
 * Errors: TG_ESHAPE for x not 3-D or 4-D or an output size below 1;
 * TG_EINVAL for a kernel, stride or dilation below 1 or above 2^20, or a
 * padding outside 0..kernel/2; TG_ENOMEM. Gradient checks see a tie in a window as a kink.
 */
TG_API tg_tensor *tg_max_pool2d(tg_tape *t, tg_tensor *x,
                                const tg_pool2d_options *o);

/*
 * tg_max_pool2d(t, tg_relu(t, x), o) as one op: the same output and the
 * same gradient, bit for bit (ties, NaN and -0.0 included), in one pass
 * over x forward and one write of x's gradient backward, without relu's
 * full-size output and gradient. The "ReLU, max pool" pair of a
 * convolutional network, where x is a convolution's output, the largest
 * tensor of the step; tg_sequential_forward runs a relu activation layer
 * followed by a max pool layer this way. Shapes and errors as
 * tg_max_pool2d, naming tg_relu_max_pool2d; gradient checks also see a
 * maximum of 0 from a 0 of x as a kink.
 */
TG_API tg_tensor *tg_relu_max_pool2d(tg_tape *t, tg_tensor *x,
                                     const tg_pool2d_options *o);

/*
 * Average pooling: y[n,c,i,j] = the sum of x over the window, divided by
 * the window's size with padding (count_include_pad true) or by the
 * number of its elements inside x (false); d y / d x = 1 / divisor at each
 * element of the window. Shapes and errors as tg_max_pool2d; a dilation
 * other than 1 is TG_EINVAL (PyTorch's avg_pool2d has none).
 */
TG_API tg_tensor *tg_avg_pool2d(tg_tape *t, tg_tensor *x,
                                const tg_pool2d_options *o);

/*
 * Adaptive average pooling to an oh x ow output: output row i averages
 * input rows floor(i H / oh) .. ceil((i + 1) H / oh) - 1 (PyTorch's
 * formula; windows may overlap and differ in size), and likewise columns.
 * Any oh, ow >= 1 (larger than H, W too: rows are then repeated).
 * Errors: TG_ESHAPE for x not 3-D or 4-D; TG_EINVAL for oh or ow outside
 * 1..2^30; TG_ENOMEM.
 */
TG_API tg_tensor *tg_adaptive_avg_pool2d(tg_tape *t, tg_tensor *x,
                                         int64_t oh, int64_t ow);

/*
 * Dropout: in training, y = x * mask / (1 - p) where mask[i] is 0 with
 * probability p: element i (row-major) is kept when the i-th draw of
 * tg_rng_uniform(rng) is >= p. One draw is taken from rng per element, so
 * a fixed seed gives the same mask on every platform; rng is advanced only
 * on success. d y / d x = mask / (1 - p). With training false, x itself
 * is returned (the identity, nothing drawn). Any shape.
 * Errors: TG_EINVAL for p outside [0, 1) or NaN, or a NULL rng in
 * training; TG_ESTATE for an unseeded rng; TG_ENOMEM.
 */
TG_API tg_tensor *tg_dropout(tg_tape *t, tg_tensor *x, double p, tg_rng *rng,
                             bool training);

/*
 * Batch normalisation over channel dimension 1 of x, which is (N, C),
 * (N, C, L) or (N, C, H, W): per channel,
 * y = (x - mean) / sqrt(var + eps) * weight + bias.
 * In training, mean and var are the batch's (over every dimension but 1;
 * var biased, divided by the count m), and, when running_mean and
 * running_var are given, they are updated in place as PyTorch does:
 * running_mean = (1 - momentum) running_mean + momentum mean, and
 * running_var = (1 - momentum) running_var + momentum var m / (m - 1)
 * (the unbiased variance). In eval mode (training false) the running
 * statistics are used instead, and must be given. weight and bias (shape
 * (C)) are optional: NULL means 1 and 0. The running statistics carry no
 * gradient; x, weight and bias do.
 * Errors: TG_ESHAPE for x not 2-D to 4-D, for weight, bias or a running
 * statistic not of shape (C), or for one value per channel in training
 * (m = 1: its variance is undefined); TG_EINVAL for only one of the running
 * statistics, none in eval mode, eps not > 0, or momentum outside [0, 1];
 * TG_EDTYPE for mixed dtypes; TG_ENOMEM. On failure the running
 * statistics are left as they were.
 */
TG_API tg_tensor *tg_batch_norm(tg_tape *t, tg_tensor *x,
                                tg_tensor *running_mean,
                                tg_tensor *running_var, tg_tensor *weight,
                                tg_tensor *bias, bool training,
                                double momentum, double eps);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_POOL_H */
