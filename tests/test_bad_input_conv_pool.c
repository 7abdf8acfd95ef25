/*
 * test_bad_input_conv_pool.c — bad input: pooling, dropout, batch norm and
 * convolutions (tapegrad/pool.h, tapegrad/conv.h). One row per mistake: the
 * status and the message fragment it must give back.
 * tests/support/tg_bad_input.h says how a row is run and what it must leave
 * behind.
 */
#include "tg_bad_input.h"

/* conv: x (f32, requiring grad) and w of the given shapes and w's dtype,
 * through tg_conv2d (nsp 2) or tg_conv1d; a refused call records nothing. */
static int conv_call(fx *f, int nsp, int nd, const int64_t *xs,
                     const int64_t *ws, tg_dtype wdt, tg_conv_options o)
{
    tg_tensor *x = tg_zeros(f->t, TG_F32, nd, xs);
    tg_tensor *w = tg_zeros(f->t, wdt, nd, ws);
    tg_set_requires_grad(x, true);
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = nsp == 2 ? tg_conv2d(f->t, x, w, NULL, &o)
                            : tg_conv1d(f->t, x, w, NULL, &o);
    ck_assert_int_eq(tg_tape_size(f->t), before);
    return ptr(y);
}

static int conv_opts(fx *f, int which)
{
    tg_conv_options o = tg_conv_defaults();
    if (which == 0)
        o.stride[0] = 0;
    else if (which == 1)
        o.dilation[0] = 0;
    else
        o.padding[1] = -1;
    return conv_call(f, 2, 4, (int64_t[]){1, 2, 5, 5}, (int64_t[]){3, 2, 3, 3},
                     TG_F32, o);
}

/* ---- Pooling, dropout, batch norm (tapegrad/pool.h). */

static const int64_t s134[] = {1, 3, 4}, s14[] = {1, 4}, n4[] = {4};

static int pool_with(fx *f, int kind, tg_pool2d_options o)
{
    tg_tensor *x = tg_ones(f->t, TG_F32, 3, s134);
    return ptr(kind == 0 ? tg_max_pool2d(f->t, x, &o) : tg_avg_pool2d(f->t, x, &o));
}

static int pool_kernel(fx *f, int kind, int64_t kh, int64_t kw, int64_t ph,
                       int64_t dh)
{
    tg_pool2d_options o = tg_pool2d_defaults(kh, kw);
    o.padding[0] = ph;
    o.dilation[0] = dh;
    return pool_with(f, kind, o);
}

/* relu_max_pool2d of x, a (1,3,4) f32 tensor requiring grad, with options
 * o (NULL: none) or of x NULL (nullx); a refused call records nothing. */
static int relu_pool_refused(fx *f, const tg_pool2d_options *o, bool nullx)
{
    tg_tensor *x = tg_ones(f->t, TG_F32, 3, s134);
    tg_set_requires_grad(x, true);
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = tg_relu_max_pool2d(f->t, nullx ? NULL : x, o);
    ck_assert_int_eq(tg_tape_size(f->t), before);
    return ptr(y);
}

static int relu_pool_kernel(fx *f, int64_t kh, int64_t kw, int64_t sh,
                            int64_t ph, int64_t dh)
{
    tg_pool2d_options o = tg_pool2d_defaults(kh, kw);
    o.stride[0] = sh;
    o.padding[0] = ph;
    o.dilation[0] = dh;
    return relu_pool_refused(f, &o, false);
}

/* A refused dropout leaves the caller's generator where it was. */
static int dropout_refused(fx *f, double p, bool seed)
{
    tg_rng rng = {0};
    if (seed)
        rng = seeded();
    tg_rng before = rng;
    int rc = ptr(tg_dropout(f->t, f->a34, p, &rng, true));
    if (rng.state != before.state || rng.inc != before.inc)
        return expect(false, "the generator is untouched");
    return rc;
}

/* A refused batch_norm leaves the running statistics as they were. */
static int bn_refused(fx *f, tg_tensor *x, tg_tensor *w, int64_t ch,
                      tg_dtype dt, bool training, double eps)
{
    tg_tensor *rm = tg_full(f->t, dt, 1, &ch, 0.5);
    tg_tensor *rv = tg_full(f->t, dt, 1, &ch, 2.0);
    int rc = ptr(tg_batch_norm(f->t, x, rm, rv, w, NULL, training, 0.1, eps));
    for (int64_t k = 0; k < ch; k++)
        if (tg_value_at(rm, k) != 0.5 || tg_value_at(rv, k) != 2.0)
            return expect(false, "the running statistics are untouched");
    return rc;
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Pooling, dropout, batch norm. */                                    \
    X(max_pool2d_of_matrix, TG_ESHAPE, "tg_max_pool2d: x has shape (3,4); "  \
      "it must be (N, C, H, W) or (C, H, W)",                                \
      ptr(tg_max_pool2d(f->t, f->a34, &(tg_pool2d_options){{2, 2}, {2, 2},   \
                                                           {0, 0}, {1, 1},   \
                                                           true})))          \
    X(max_pool2d_null_options, TG_EINVAL, "tg_max_pool2d: the options are "  \
      "NULL", ptr(tg_max_pool2d(f->t, f->a34, NULL)))                        \
    X(max_pool2d_zero_kernel, TG_EINVAL, "tg_max_pool2d: kernel (0, 2)",     \
      pool_kernel(f, 0, 0, 2, 0, 1))                                         \
    X(max_pool2d_big_padding, TG_EINVAL, "tg_max_pool2d: padding (2, 0) "    \
      "with kernel (3, 3)", pool_kernel(f, 0, 3, 3, 2, 1))                   \
    X(max_pool2d_window_too_big, TG_ESHAPE, "tg_max_pool2d: x has shape "    \
      "(1,3,4), kernel (2, 5)", pool_kernel(f, 0, 2, 5, 0, 1))               \
    X(max_pool2d_dilated_too_big, TG_ESHAPE, "dilation (3, 1); the window "  \
      "does not fit", pool_kernel(f, 0, 2, 2, 0, 3))                         \
    X(avg_pool2d_dilation, TG_EINVAL, "tg_avg_pool2d: dilation (2, 1); "     \
      "average pooling has none", pool_kernel(f, 1, 1, 1, 0, 2))             \
    /* relu_max_pool2d (pool_relu.c): max_pool2d's checks, its name. */  \
    X(relu_max_pool2d_of_matrix, TG_ESHAPE, "tg_relu_max_pool2d: x has "     \
      "shape (3,4); it must be (N, C, H, W) or (C, H, W)",                   \
      ptr(tg_relu_max_pool2d(f->t, f->a34,                                   \
                             &(tg_pool2d_options){{2, 2}, {2, 2}, {0, 0},    \
                                                  {1, 1}, true})))           \
    X(relu_max_pool2d_null_options, TG_EINVAL, "tg_relu_max_pool2d: the "    \
      "options are NULL", relu_pool_refused(f, NULL, false))                 \
    X(relu_max_pool2d_null_x, TG_EINVAL, "tg_relu_max_pool2d: tensor is "   \
      "NULL", relu_pool_refused(f, &(tg_pool2d_options){{2, 2}, {2, 2}, {0, 0},      \
                                                {1, 1}, true}, true))        \
    X(relu_max_pool2d_zero_kernel, TG_EINVAL, "tg_relu_max_pool2d: kernel "  \
      "(0, 2)", relu_pool_kernel(f, 0, 2, 1, 0, 1))                          \
    X(relu_max_pool2d_zero_stride, TG_EINVAL, "tg_relu_max_pool2d: kernel "  \
      "(2, 2), stride (0, 2)", relu_pool_kernel(f, 2, 2, 0, 0, 1))                          \
    X(relu_max_pool2d_big_padding, TG_EINVAL, "tg_relu_max_pool2d: padding " \
      "(2, 0) with kernel (3, 3)", relu_pool_kernel(f, 3, 3, 3, 2, 1))       \
    X(relu_max_pool2d_huge_dilation, TG_EINVAL, "tg_relu_max_pool2d: "       \
      "kernel (1, 1), stride (1, 1), dilation (2097152, 1); each must be "   \
      "between 1 and 2^20", relu_pool_kernel(f, 1, 1, 1, 0, 1 << 21))     \
    X(relu_max_pool2d_window_too_big, TG_ESHAPE, "tg_relu_max_pool2d: x has " \
      "shape (1,3,4), kernel (2, 5)", relu_pool_kernel(f, 2, 5, 2, 0, 1))    \
    X(relu_max_pool2d_dilated_too_big, TG_ESHAPE, "tg_relu_max_pool2d: x "   \
      "has shape (1,3,4), kernel (2, 2), padding (0, 0), dilation (3, 1); "  \
      "the window does not fit", relu_pool_kernel(f, 2, 2, 2, 0, 3))                         \
    X(adaptive_zero_output, TG_EINVAL, "tg_adaptive_avg_pool2d: output size " \
      "(0, 2) for x of shape (1,3,4)",                                       \
      ptr(tg_adaptive_avg_pool2d(f->t, tg_ones(f->t, TG_F32, 3, s134), 0, 2))) \
    X(adaptive_huge_output, TG_EINVAL, "tg_adaptive_avg_pool2d: output "    \
      "size (1, 4611686018427387904)",                                       \
      ptr(tg_adaptive_avg_pool2d(f->t, tg_ones(f->t, TG_F32, 3, s134), 1,    \
                                 (int64_t)1 << 62)))                         \
    X(adaptive_of_vector, TG_ESHAPE, "tg_adaptive_avg_pool2d: x has shape "  \
      "(5,)", ptr(tg_adaptive_avg_pool2d(f->t, f->b5, 1, 1)))                \
    X(dropout_p_one, TG_EINVAL, "tg_dropout: p is 1; it must be in [0, 1)",  \
      dropout_refused(f, 1.0, true))                                         \
    X(dropout_p_negative, TG_EINVAL, "tg_dropout: p is -0.1",                \
      dropout_refused(f, -0.1, true))                                        \
    X(dropout_p_nan, TG_EINVAL, "tg_dropout: p is nan",                      \
      dropout_refused(f, NAN, true))                                         \
    X(dropout_unseeded, TG_ESTATE, "tg_dropout: rng was never seeded",       \
      dropout_refused(f, 0.5, false))                                        \
    X(dropout_null_rng, TG_EINVAL, "tg_dropout: rng is NULL",                \
      ptr(tg_dropout(f->t, f->a34, 0.5, NULL, true)))                        \
    X(batch_norm_one_per_channel, TG_ESHAPE, "tg_batch_norm: x has shape "   \
      "(1,4), one value per channel",                                        \
      bn_refused(f, tg_ones(f->t, TG_F32, 2, s14), NULL, 4, TG_F32, true,    \
                 1e-5))                                                      \
    X(batch_norm_weight_shape, TG_ESHAPE, "tg_batch_norm: weight has shape " \
      "(5,) for x of shape (3,4); it must be (4)",                           \
      bn_refused(f, f->a34, f->b5, 4, TG_F32, true, 1e-5))                   \
    X(batch_norm_running_shape, TG_ESHAPE, "tg_batch_norm: running_mean has " \
      "shape (3,) for x of shape (3,4)",                                     \
      bn_refused(f, f->a34, NULL, 3, TG_F32, true, 1e-5))                    \
    X(batch_norm_dtype_mix, TG_EDTYPE, "tg_batch_norm: inputs are f32 and "  \
      "f64", bn_refused(f, f->a34, NULL, 4, TG_F64, true, 1e-5))             \
    X(batch_norm_zero_eps, TG_EINVAL, "tg_batch_norm: eps 0 and momentum "   \
      "0.1", bn_refused(f, f->a34, NULL, 4, TG_F32, false, 0.0))             \
    X(batch_norm_of_vector, TG_ESHAPE, "tg_batch_norm: x has shape (5,)",    \
      ptr(tg_batch_norm(f->t, f->b5, NULL, NULL, NULL, NULL, true, 0.1,      \
                        1e-5)))                                              \
    X(batch_norm_one_running, TG_EINVAL, "tg_batch_norm: running_mean is "   \
      "given and running_var NULL",                                          \
      ptr(tg_batch_norm(f->t, f->a34, tg_zeros(f->t, TG_F32, 1, n4), NULL,   \
                        NULL, NULL, true, 0.1, 1e-5)))                       \
    X(batch_norm_eval_without_running, TG_EINVAL, "tg_batch_norm: eval mode " \
      "(training false) needs running_mean and running_var",                 \
      ptr(tg_batch_norm(f->t, f->a34, NULL, NULL, NULL, NULL, false, 0.1,    \
                        1e-5)))                                              \
    /* Convolutions. */                                                     \
    X(conv_kernel_too_big, TG_ESHAPE, "tg_conv2d: x (1,1,4,4) with padding " \
      "(0,0) is 4x4, smaller than the 5x5 kernel of weight (6,1,5,5) at "    \
      "dilation (1,1)", conv_call(f, 2, 4, (int64_t[]){1, 1, 4, 4},          \
                                  (int64_t[]){6, 1, 5, 5}, TG_F32,           \
                                  tg_conv_defaults()))                       \
    X(conv_stride_zero, TG_EINVAL, "tg_conv2d: stride (0,1) must be at "     \
      "least 1", conv_opts(f, 0))                                            \
    X(conv_dilation_zero, TG_EINVAL, "tg_conv2d: dilation (0,1) must be at " \
      "least 1", conv_opts(f, 1))                                            \
    X(conv_negative_padding, TG_EINVAL, "tg_conv2d: padding (0,-1) must not " \
      "be negative", conv_opts(f, 2))                                        \
    X(conv_groups_divide, TG_ESHAPE, "tg_conv2d: x (1,4,5,5) has 4 "         \
      "channels, which groups 3 does not divide",                            \
      conv_call(f, 2, 4, (int64_t[]){1, 4, 5, 5}, (int64_t[]){6, 2, 3, 3},   \
                TG_F32, (tg_conv_options){{1, 1}, {0, 0}, {1, 1}, 3}))       \
    X(conv_groups_outputs, TG_ESHAPE, "tg_conv1d: weight (5,2,3) has 5 "     \
      "output channels, which groups 2 does not divide",                     \
      conv_call(f, 1, 3, (int64_t[]){1, 4, 5}, (int64_t[]){5, 2, 3},         \
                TG_F32, (tg_conv_options){{1, 1}, {0, 0}, {1, 1}, 2}))       \
    X(conv_channel_mismatch, TG_ESHAPE, "tg_conv2d: weight (6,2,3,3) takes " \
      "2 input channels per group, but x (1,3,5,5) has 3 channels in 1 "     \
      "group(s)", conv_call(f, 2, 4, (int64_t[]){1, 3, 5, 5},                \
                            (int64_t[]){6, 2, 3, 3}, TG_F32,                 \
                            tg_conv_defaults()))                             \
    X(conv_wrong_rank, TG_ESHAPE, "tg_conv2d: x (3,4) must have 4 dims "     \
      "(N, C, H, W)", ptr(tg_conv2d(f->t, f->a34, f->a34, NULL, NULL)))      \
    X(conv1d_weight_rank, TG_ESHAPE, "tg_conv1d: weight (3,4) must have 3 "  \
      "dims (O, C / groups, kL)",                                            \
      ptr(tg_conv1d(f->t, tg_zeros(f->t, TG_F32, 3, (int64_t[]){1, 3, 5}),  \
                    f->a34, NULL, NULL)))                                    \
    X(conv_dtype_mix, TG_EDTYPE, "tg_conv2d: inputs are f32 and f64",        \
      conv_call(f, 2, 4, (int64_t[]){1, 2, 5, 5}, (int64_t[]){3, 2, 3, 3},   \
                TG_F64, tg_conv_defaults()))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_conv_pool", rows, N_ROWS);
}
