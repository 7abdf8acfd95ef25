/*
 * tg_op_cases.c — the table of tg_op_cases.h: one small call per op, the
 * one list of ops that test_ops_registry.c and test_null_grad.c walk.
 */
#include "tg_op_cases.h"

#include "ops/attention_heads_params.h" /* the op's params, from src/ */

#include <string.h>

static const int64_t labels[4] = {2, 0, 1, 2};

static tg_tensor *b_relu(tg_tape *t, tg_tensor *const *in) { return tg_relu(t, in[0]); }
static tg_tensor *b_selu(tg_tape *t, tg_tensor *const *in) { return tg_selu(t, in[0]); }
static tg_tensor *b_gelu(tg_tape *t, tg_tensor *const *in) { return tg_gelu(t, in[0]); }
static tg_tensor *b_gelu_tanh(tg_tape *t, tg_tensor *const *in) { return tg_gelu_tanh(t, in[0]); }
static tg_tensor *b_silu(tg_tape *t, tg_tensor *const *in) { return tg_silu(t, in[0]); }
static tg_tensor *b_mish(tg_tape *t, tg_tensor *const *in) { return tg_mish(t, in[0]); }
static tg_tensor *b_relu6(tg_tape *t, tg_tensor *const *in) { return tg_relu6(t, in[0]); }
static tg_tensor *b_hardsigmoid(tg_tape *t, tg_tensor *const *in) { return tg_hardsigmoid(t, in[0]); }
static tg_tensor *b_hardswish(tg_tape *t, tg_tensor *const *in) { return tg_hardswish(t, in[0]); }
static tg_tensor *b_softsign(tg_tape *t, tg_tensor *const *in) { return tg_softsign(t, in[0]); }
static tg_tensor *b_neg(tg_tape *t, tg_tensor *const *in) { return tg_neg(t, in[0]); }
static tg_tensor *b_exp(tg_tape *t, tg_tensor *const *in) { return tg_exp(t, in[0]); }
static tg_tensor *b_log(tg_tape *t, tg_tensor *const *in) { return tg_log(t, in[0]); }
static tg_tensor *b_sqrt(tg_tape *t, tg_tensor *const *in) { return tg_sqrt(t, in[0]); }
static tg_tensor *b_abs(tg_tape *t, tg_tensor *const *in) { return tg_abs(t, in[0]); }
static tg_tensor *b_tanh(tg_tape *t, tg_tensor *const *in) { return tg_tanh(t, in[0]); }
static tg_tensor *b_sigmoid(tg_tape *t, tg_tensor *const *in) { return tg_sigmoid(t, in[0]); }
static tg_tensor *b_erf(tg_tape *t, tg_tensor *const *in) { return tg_erf(t, in[0]); }
static tg_tensor *b_sum(tg_tape *t, tg_tensor *const *in) { return tg_sum(t, in[0]); }
static tg_tensor *b_mean(tg_tape *t, tg_tensor *const *in) { return tg_mean(t, in[0]); }
static tg_tensor *b_max(tg_tape *t, tg_tensor *const *in) { return tg_max(t, in[0]); }
static tg_tensor *b_min(tg_tape *t, tg_tensor *const *in) { return tg_min(t, in[0]); }
static tg_tensor *b_logsumexp(tg_tape *t, tg_tensor *const *in) { return tg_logsumexp(t, in[0]); }
static tg_tensor *b_transpose(tg_tape *t, tg_tensor *const *in) { return tg_transpose(t, in[0]); }
static tg_tensor *b_add(tg_tape *t, tg_tensor *const *in) { return tg_add(t, in[0], in[1]); }
static tg_tensor *b_sub(tg_tape *t, tg_tensor *const *in) { return tg_sub(t, in[0], in[1]); }
static tg_tensor *b_mul(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], in[1]); }
static tg_tensor *b_div(tg_tape *t, tg_tensor *const *in) { return tg_div(t, in[0], in[1]); }
static tg_tensor *b_maximum(tg_tape *t, tg_tensor *const *in) { return tg_maximum(t, in[0], in[1]); }
static tg_tensor *b_minimum(tg_tape *t, tg_tensor *const *in) { return tg_minimum(t, in[0], in[1]); }
static tg_tensor *b_pow_tensor(tg_tape *t, tg_tensor *const *in) { return tg_pow_tensor(t, in[0], in[1]); }
static tg_tensor *b_matmul(tg_tape *t, tg_tensor *const *in) { return tg_matmul(t, in[0], in[1]); }
static tg_tensor *b_mse_loss(tg_tape *t, tg_tensor *const *in) { return tg_mse_loss(t, in[0], in[1]); }
static tg_tensor *b_leaky_relu(tg_tape *t, tg_tensor *const *in) { return tg_leaky_relu(t, in[0], 0.1); }
static tg_tensor *b_elu(tg_tape *t, tg_tensor *const *in) { return tg_elu(t, in[0], 0.7); }
static tg_tensor *b_softplus(tg_tape *t, tg_tensor *const *in) { return tg_softplus(t, in[0], 1.5, 20); }
static tg_tensor *b_hardtanh(tg_tape *t, tg_tensor *const *in) { return tg_hardtanh(t, in[0], -0.5, 0.8); }
static tg_tensor *b_pow(tg_tape *t, tg_tensor *const *in) { return tg_pow(t, in[0], 2.5); }
static tg_tensor *b_sum_axis(tg_tape *t, tg_tensor *const *in) { return tg_sum_axis(t, in[0], 1, false); }
static tg_tensor *b_mean_axis(tg_tape *t, tg_tensor *const *in) { return tg_mean_axis(t, in[0], 0, true); }
static tg_tensor *b_max_axis(tg_tape *t, tg_tensor *const *in) { return tg_max_axis(t, in[0], -1, false); }
static tg_tensor *b_min_axis(tg_tape *t, tg_tensor *const *in) { return tg_min_axis(t, in[0], 0, false); }
static tg_tensor *b_logsumexp_axis(tg_tape *t, tg_tensor *const *in) { return tg_logsumexp_axis(t, in[0], 1, true); }
static tg_tensor *b_softmax(tg_tape *t, tg_tensor *const *in) { return tg_softmax(t, in[0], 1); }
static tg_tensor *b_log_softmax(tg_tape *t, tg_tensor *const *in) { return tg_log_softmax(t, in[0], 0); }
static tg_tensor *b_cross_entropy(tg_tape *t, tg_tensor *const *in) { return tg_cross_entropy(t, in[0], labels); }
static tg_tensor *b_concat(tg_tape *t, tg_tensor *const *in) { return tg_concat(t, 2, in, 1); }
static tg_tensor *b_slice(tg_tape *t, tg_tensor *const *in) { return tg_slice(t, in[0], 1, -2, 0, -2); }

/* linear with a bias: x W^T + b (the case has three inputs). */
static tg_tensor *b_linear(tg_tape *t, tg_tensor *const *in) { return tg_linear(t, in[0], in[1], in[2]); }

static tg_tensor *b_reshape(tg_tape *t, tg_tensor *const *in)
{
    int64_t shape[2] = {-1, 2};
    return tg_reshape(t, in[0], 2, shape);
}

static tg_tensor *b_permute(tg_tape *t, tg_tensor *const *in)
{
    int dims[3] = {2, 0, 1};
    return tg_permute(t, in[0], 3, dims);
}

/* The masks and positions are made unrecorded by their public calls
 * (they carry no gradient); through tg_apply the op itself is recorded. */
static tg_tensor *b_cmp(tg_tape *t, const char *op, tg_tensor *const *in)
{
    return tg_apply(t, tg_op_find(op), 2, in, NULL);
}
static tg_tensor *b_gt(tg_tape *t, tg_tensor *const *in) { return b_cmp(t, "gt", in); }
static tg_tensor *b_ge(tg_tape *t, tg_tensor *const *in) { return b_cmp(t, "ge", in); }
static tg_tensor *b_lt(tg_tape *t, tg_tensor *const *in) { return b_cmp(t, "lt", in); }
static tg_tensor *b_le(tg_tape *t, tg_tensor *const *in) { return b_cmp(t, "le", in); }
static tg_tensor *b_eq(tg_tape *t, tg_tensor *const *in) { return b_cmp(t, "eq", in); }
static tg_tensor *b_ne(tg_tape *t, tg_tensor *const *in) { return b_cmp(t, "ne", in); }

/* argmax's params as the op takes them: an axis and keepdim. */
typedef struct axis_params {
    int axis;
    bool keepdim;
} axis_params;
static tg_tensor *b_argmax(tg_tape *t, tg_tensor *const *in)
{
    axis_params p = {1, false};
    return tg_apply(t, tg_op_find("argmax"), 1, in, &p);
}
static tg_tensor *b_argmin(tg_tape *t, tg_tensor *const *in)
{
    axis_params p = {0, true};
    return tg_apply(t, tg_op_find("argmin"), 1, in, &p);
}
static tg_tensor *b_where(tg_tape *t, tg_tensor *const *in) { return tg_where(t, in[0], in[1], in[2]); }
static tg_tensor *b_clamp(tg_tape *t, tg_tensor *const *in) { return tg_clamp(t, in[0], -0.5, 0.8); }
static tg_tensor *b_cast(tg_tape *t, tg_tensor *const *in) { return tg_cast(t, in[0], TG_F64); }

/* Pooling, dropout and batch normalisation (tapegrad/pool.h): windows that
 * overlap and reach into the padding; dropout with a fixed seed, so the
 * mask is the same at every evaluation; batch_norm in training, affine. */
static tg_tensor *b_max_pool2d(tg_tape *t, tg_tensor *const *in)
{
    tg_pool2d_options o = tg_pool2d_defaults(3, 3);
    o.stride[0] = o.stride[1] = 2;
    o.padding[0] = o.padding[1] = 1;
    return tg_max_pool2d(t, in[0], &o);
}
/* w6: relu then max pooling as one op; overlapping padded windows (the
 * general path; tests/test_pool_relu.c checks the 2x2 path against
 * tg_max_pool2d(tg_relu(x))). */
static tg_tensor *b_relu_max_pool2d(tg_tape *t, tg_tensor *const *in)
{
    tg_pool2d_options o = tg_pool2d_defaults(3, 3);
    o.stride[0] = o.stride[1] = 2;
    o.padding[0] = o.padding[1] = 1;
    return tg_relu_max_pool2d(t, in[0], &o);
}
static tg_tensor *b_avg_pool2d(tg_tape *t, tg_tensor *const *in)
{
    tg_pool2d_options o = tg_pool2d_defaults(3, 2);
    o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    return tg_avg_pool2d(t, in[0], &o);
}
static tg_tensor *b_adaptive_avg_pool2d(tg_tape *t, tg_tensor *const *in) { return tg_adaptive_avg_pool2d(t, in[0], 3, 4); }
static tg_tensor *b_dropout(tg_tape *t, tg_tensor *const *in)
{
    tg_rng rng;
    tg_rng_seed(&rng, 2024, 1);
    return tg_dropout(t, in[0], 0.3, &rng, true);
}
/* weight and bias first, so that the two may be one tensor (alias). */
static tg_tensor *b_batch_norm(tg_tape *t, tg_tensor *const *in) { return tg_batch_norm(t, in[2], NULL, NULL, in[0], in[1], true, 0.1, 1e-5); }
/* conv: 3-d case shapes (a, b, c) become (a, b, 2, c / 2) for conv2d. */
static tg_tensor *conv_four(tg_tape *t, tg_tensor *x)
{
    const int64_t *s = tg_shape(x);
    int64_t v[4] = {s[0], s[1], 2, s[2] / 2};
    return tg_reshape(t, x, 4, v);
}
static tg_tensor *b_conv2d(tg_tape *t, tg_tensor *const *in)
{
    tg_conv_options o = tg_conv_defaults();
    o.stride[1] = 2, o.padding[0] = 1;
    return tg_conv2d(t, conv_four(t, in[0]), conv_four(t, in[1]),
                     in[2], &o);
}
static tg_tensor *b_conv1d(tg_tape *t, tg_tensor *const *in)
{
    tg_conv_options o = tg_conv_defaults();
    o.stride[0] = 2, o.padding[0] = 1;
    return tg_conv1d(t, in[0], in[1], in[2], &o);
}
/* The gradient ops' params as conv.c keeps them: the options, then the
 * spatial size of x (input_grad) or of the kernel (weight_grad). */
typedef struct conv_params {
    int64_t stride[2], padding[2], dilation[2], groups;
    int64_t size[2];
} conv_params;
static tg_tensor *conv_grad_op(tg_tape *t, const char *name, tg_tensor *a,
                               tg_tensor *b, int64_t pad, int64_t s0,
                               int64_t s1)
{
    conv_params p = {{1, 1}, {pad, pad}, {1, 1}, 1, {s0, s1}};
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, tg_op_find(name), 2, in, &p);
}
/* gy (N, O, 2, 2) and w (O, C, 2, 2) to x (N, C, 3, 3). */
static tg_tensor *b_conv2d_input_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv2d_input_grad", conv_four(t, in[0]),
                        conv_four(t, in[1]), 0, 3, 3);
}
/* x (N, C, 2, 4) and gy (N, O, 2, 4) to a 3x3 kernel, padding 1. */
static tg_tensor *b_conv2d_weight_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv2d_weight_grad", conv_four(t, in[0]),
                        conv_four(t, in[1]), 1, 3, 3);
}
static tg_tensor *b_conv1d_input_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv1d_input_grad", in[0], in[1], 0, 5, 5);
}
static tg_tensor *b_conv1d_weight_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv1d_weight_grad", in[0], in[1], 1, 3, 3);
}
/* conv's bias gradient as one op (session 7, lane conv): gy (2, 3, 4)
 * summed to (3,). */
static tg_tensor *b_conv_bias_grad(tg_tape *t, tg_tensor *const *in)
{
    return tg_apply(t, tg_op_find("conv_bias_grad"), 1, in, NULL);
}

/* gather and scatter_add: a fixed (3,2) index in x's dtype, repeats
 * included, values in 0..1 so that any x of 3 rows and 2 or more columns
 * fits it. */
static tg_tensor *index32(tg_tape *t, const tg_tensor *like)
{
    static const double v[6] = {1, 1, 0, 1, 0, 0};
    tg_tensor *ix = tg_empty(t, tg_dtype_of(like), 2, (const int64_t[]){3, 2});
    for (int i = 0; ix != NULL && i < 6; i++) {
        if (tg_dtype_of(ix) == TG_F32)
            tg_mut_f32(ix)[i] = (float)v[i];
        else
            tg_mut_f64(ix)[i] = v[i];
    }
    return ix;
}
static tg_tensor *b_gather(tg_tape *t, tg_tensor *const *in) { return tg_gather(t, in[0], 1, index32(t, in[0])); }
static tg_tensor *b_scatter_add(tg_tape *t, tg_tensor *const *in) { return tg_scatter_add(t, in[0], -1, index32(t, in[0]), in[1]); }

/* Broadcasting shapes where the op broadcasts, so that gradients summed
 * down to an input's shape are exercised too. */
/* seq: layer norm over the last dim with weight and bias; attention,
 * causal, over 2 batches of 4 positions. */
static const int64_t ln_shape[1] = {4};
static tg_tensor *b_layer_norm(tg_tape *t, tg_tensor *const *in) { return tg_layer_norm(t, in[0], 1, ln_shape, in[1], in[2], 1e-5); }
static tg_tensor *b_sdpa(tg_tape *t, tg_tensor *const *in) { return tg_scaled_dot_product_attention(t, in[0], in[1], in[2], true); }
/* attention_heads, the middle of multi-head attention (src/nn/mha.c calls
 * it; it has no public entry point), found by name: qkv (2 sequences of
 * 2, E = 4: 48 elements, under test_null_grad.c's 64), 2 causal heads. The
 * params struct is the op's own (src/ops/attention_heads_params.h). */
static tg_tensor *b_attention_heads(tg_tape *t, tg_tensor *const *in)
{
    tg__heads_params p = {2, true};
    return tg_apply(t, tg_op_find("attention_heads"), 1, in, &p);
}

/* ---- Second calls for the second rows of the table. */

/* An f64 index of (3, 2) with values up to 3 (repeats included, so that
 * scatter-adds add up), for an x of (3, 4) in f64. */
static tg_tensor *index_of(tg_tape *t, int64_t rows, int64_t cols,
                           const double *v)
{
    int64_t shape[2] = {rows, cols};
    return tg_from_data(t, TG_F64, 2, shape, v);
}
static tg_tensor *b_gather_wide(tg_tape *t, tg_tensor *const *in)
{
    static const double ix[6] = {3, 3, 0, 1, 2, 1};
    return tg_gather(t, in[0], 1, index_of(t, 3, 2, ix));
}
static tg_tensor *b_scatter_add_wide(tg_tape *t, tg_tensor *const *in)
{
    static const double ix[6] = {0, 0, 3, 1, 2, 1};
    return tg_scatter_add(t, in[0], -1, index_of(t, 3, 2, ix), in[1]);
}
static tg_tensor *b_batch_norm_x_first(tg_tape *t, tg_tensor *const *in) { return tg_batch_norm(t, in[0], NULL, NULL, in[1], in[2], true, 0.1, 1e-5); }

/* ---- What the derivative checks differentiate where an op's output
 * carries no gradient (tg_op_case.differentiable). */

/* A mask carries no gradient, so each comparison is checked inside a
 * product: d/da of a * (a OP b) is the mask, b gets nothing. The mask
 * comes from the public call, which records nothing. */
static tg_tensor *g_gt(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_gt(t, in[0], in[1])); }
static tg_tensor *g_ge(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_ge(t, in[0], in[1])); }
static tg_tensor *g_lt(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_lt(t, in[0], in[1])); }
static tg_tensor *g_le(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_le(t, in[0], in[1])); }
static tg_tensor *g_eq(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_eq(t, in[0], in[1])); }
static tg_tensor *g_ne(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_ne(t, in[0], in[1])); }

/* argmax and argmin carry no gradient either: checked beside a sum. */
static tg_tensor *g_argmax(tg_tape *t, tg_tensor *const *in) { return tg_add(t, in[0], tg_argmax(t, in[0], 1, true)); }
static tg_tensor *g_argmin(tg_tape *t, tg_tensor *const *in) { return tg_add(t, in[0], tg_argmin(t, in[0], 0, false)); }

/* where chooses by a mask made from its first input, so that both
 * branches get gradient (random inputs are never 0, which as the
 * condition itself would always choose the first). */
static tg_tensor *g_where(tg_tape *t, tg_tensor *const *in)
{
    tg_tensor *zero = tg_scalar(t, TG_F64, 0);
    return tg_where(t, tg_gt(t, in[0], zero), in[1], in[2]);
}

const tg_op_case tg_op_cases[] = {
    {"relu", b_relu, 1, {{3, 4}}, false, {{0}}, NULL},
    {"gt", b_gt, 2, {{3, 4}, {4}}, false, {{3, 4}, {3, 4}}, g_gt},
    {"ge", b_ge, 2, {{3, 4}, {4}}, false, {{3, 4}, {3, 4}}, g_ge},
    {"lt", b_lt, 2, {{3, 1}, {3, 4}}, false, {{3, 4}, {3, 4}}, g_lt},
    {"le", b_le, 2, {{3, 4}, {3, 4}}, false, {{3, 4}, {3, 4}}, g_le},
    {"eq", b_eq, 2, {{3, 4}, {4}}, false, {{3, 4}, {3, 4}}, g_eq},
    {"ne", b_ne, 2, {{3, 4}, {4}}, false, {{3, 4}, {3, 4}}, g_ne},
    {"where", b_where, 3, {{3, 1}, {3, 4}, {4}}, false, {{3, 4}, {3, 4}},
     g_where},
    {"clamp", b_clamp, 1, {{3, 4}}, false, {{0}}, NULL},
    {"cast", b_cast, 1, {{3, 4}}, false, {{0}}, NULL},
    {"argmax", b_argmax, 1, {{3, 4}}, false, {{0}}, g_argmax},
    {"argmin", b_argmin, 1, {{3, 4}}, false, {{0}}, g_argmin},
    {"leaky_relu", b_leaky_relu, 1, {{3, 4}}, false, {{0}}, NULL},
    {"elu", b_elu, 1, {{3, 4}}, false, {{0}}, NULL},
    {"selu", b_selu, 1, {{3, 4}}, false, {{0}}, NULL},
    {"gelu", b_gelu, 1, {{3, 4}}, false, {{0}}, NULL},
    {"gelu_tanh", b_gelu_tanh, 1, {{3, 4}}, false, {{0}}, NULL},
    {"silu", b_silu, 1, {{3, 4}}, false, {{0}}, NULL},
    {"softplus", b_softplus, 1, {{3, 4}}, false, {{0}}, NULL},
    {"mish", b_mish, 1, {{3, 4}}, false, {{0}}, NULL},
    {"hardtanh", b_hardtanh, 1, {{3, 4}}, false, {{0}}, NULL},
    {"relu6", b_relu6, 1, {{3, 4}}, false, {{0}}, NULL},
    {"hardsigmoid", b_hardsigmoid, 1, {{3, 4}}, false, {{0}}, NULL},
    {"hardswish", b_hardswish, 1, {{3, 4}}, false, {{0}}, NULL},
    {"softsign", b_softsign, 1, {{3, 4}}, false, {{0}}, NULL},
    {"add", b_add, 2, {{3, 4}, {4}}, false, {{3, 4}, {3, 4}}, NULL},
    {"sub", b_sub, 2, {{3, 1}, {1, 4}}, false, {{3, 4}, {3, 4}}, NULL},
    {"mul", b_mul, 2, {{2, 3, 4}, {3, 1}}, false, {{3, 4}, {3, 4}}, NULL},
    {"div", b_div, 2, {{3, 4}, {4}}, true, {{3, 4}, {3, 4}}, NULL},
    {"maximum", b_maximum, 2, {{3, 4}, {4}}, false, {{3, 4}, {3, 4}}, NULL},
    {"minimum", b_minimum, 2, {{3, 1}, {3, 4}}, false, {{3, 4}, {3, 4}}, NULL},
    {"pow", b_pow, 1, {{3, 4}}, true, {{0}}, NULL},
    {"pow_tensor", b_pow_tensor, 2, {{3, 4}, {4}}, true, {{3, 4}, {3, 4}},
     NULL},
    {"neg", b_neg, 1, {{3, 4}}, false, {{0}}, NULL},
    {"exp", b_exp, 1, {{3, 4}}, false, {{0}}, NULL},
    {"log", b_log, 1, {{3, 4}}, true, {{0}}, NULL},
    {"sqrt", b_sqrt, 1, {{3, 4}}, true, {{0}}, NULL},
    {"abs", b_abs, 1, {{3, 4}}, false, {{0}}, NULL},
    {"tanh", b_tanh, 1, {{3, 4}}, false, {{0}}, NULL},
    {"sigmoid", b_sigmoid, 1, {{3, 4}}, false, {{0}}, NULL},
    {"erf", b_erf, 1, {{3, 4}}, false, {{0}}, NULL},
    {"sum", b_sum, 1, {{3, 4}}, false, {{0}}, NULL},
    {"sum_axis", b_sum_axis, 1, {{3, 4}}, false, {{0}}, NULL},
    {"mean", b_mean, 1, {{3, 4}}, false, {{0}}, NULL},
    {"mean_axis", b_mean_axis, 1, {{3, 4}}, false, {{0}}, NULL},
    {"max", b_max, 1, {{3, 4}}, false, {{0}}, NULL},
    {"max_axis", b_max_axis, 1, {{3, 4}}, false, {{0}}, NULL},
    {"min", b_min, 1, {{3, 4}}, false, {{0}}, NULL},
    {"min_axis", b_min_axis, 1, {{3, 4}}, false, {{0}}, NULL},
    {"logsumexp", b_logsumexp, 1, {{3, 4}}, false, {{0}}, NULL},
    {"logsumexp_axis", b_logsumexp_axis, 1, {{3, 4}}, false, {{0}}, NULL},
    {"reshape", b_reshape, 1, {{3, 4}}, false, {{0}}, NULL},
    {"transpose", b_transpose, 1, {{3, 4}}, false, {{0}}, NULL},
    {"permute", b_permute, 1, {{2, 3, 4}}, false, {{0}}, NULL},
    {"matmul", b_matmul, 2, {{2, 3, 4}, {4, 5}}, false, {{3, 3}, {3, 3}},
     NULL},
    {"concat", b_concat, 2, {{3, 2}, {3, 4}}, false, {{3, 2}, {3, 2}}, NULL},
    {"slice", b_slice, 1, {{3, 5}}, false, {{0}}, NULL},
    {"softmax", b_softmax, 1, {{3, 4}}, false, {{0}}, NULL},
    {"log_softmax", b_log_softmax, 1, {{3, 4}}, false, {{0}}, NULL},
    {"cross_entropy", b_cross_entropy, 1, {{4, 3}}, false, {{0}}, NULL},
    {"mse_loss", b_mse_loss, 2, {{3, 4}, {3, 4}}, false, {{3, 4}, {3, 4}},
     NULL},
    {"linear", b_linear, 3, {{2, 5}, {3, 5}, {3}}, false,
     {{3, 3}, {3, 3}, {3}}, NULL},
    {"layer_norm", b_layer_norm, 3, {{3, 4}, {4}, {4}}, false,
     {{4}, {4}, {4}}, NULL},
    {"scaled_dot_product_attention", b_sdpa, 3,
     {{2, 4, 3}, {2, 4, 3}, {2, 4, 2}}, false, {{2, 4, 3}, {2, 4, 3}, {2, 4, 2}},
     NULL},
    {"attention_heads", b_attention_heads, 1, {{2, 2, 12}}, false, {{0}},
     NULL},
    {"max_pool2d", b_max_pool2d, 1, {{2, 5, 5}}, false, {{0}}, NULL},
    {"relu_max_pool2d", b_relu_max_pool2d, 1, {{2, 5, 5}}, false, {{0}}, NULL},
    {"avg_pool2d", b_avg_pool2d, 1, {{2, 5, 6}}, false, {{0}}, NULL},
    {"adaptive_avg_pool2d", b_adaptive_avg_pool2d, 1, {{2, 4, 7}}, false, {{0}},
     NULL},
    {"dropout", b_dropout, 1, {{3, 4}}, false, {{0}}, NULL},
    {"batch_norm", b_batch_norm, 3, {{3}, {3}, {4, 3, 2}}, false,
     {{3}, {3}, {4, 3, 2}}, NULL},
    {"conv2d", b_conv2d, 3, {{2, 2, 8}, {3, 2, 4}, {3}}, false,
     {{2, 2, 8}, {2, 2, 8}, {2}}, NULL},
    {"conv1d", b_conv1d, 3, {{2, 2, 7}, {3, 2, 3}, {3}}, false,
     {{2, 2, 3}, {2, 2, 3}, {2}}, NULL},
    {"conv2d_input_grad", b_conv2d_input_grad, 2, {{2, 3, 4}, {3, 2, 4}},
     false, {{2, 2, 4}, {2, 2, 4}}, NULL},
    {"conv2d_weight_grad", b_conv2d_weight_grad, 2, {{2, 2, 8}, {2, 3, 8}},
     false, {{2, 2, 8}, {2, 2, 8}}, NULL},
    {"conv1d_input_grad", b_conv1d_input_grad, 2, {{2, 3, 3}, {3, 2, 3}},
     false, {{2, 2, 3}, {2, 2, 3}}, NULL},
    {"conv1d_weight_grad", b_conv1d_weight_grad, 2, {{2, 2, 7}, {2, 3, 7}},
     false, {{2, 2, 7}, {2, 2, 7}}, NULL},
    {"conv_bias_grad", b_conv_bias_grad, 1, {{2, 3, 4}}, false, {{0}}, NULL},
    {"gather", b_gather, 1, {{3, 4}}, false, {{0}}, NULL},
    {"scatter_add", b_scatter_add, 2, {{3, 4}, {3, 2}}, false,
     {{3, 2}, {3, 2}}, NULL},
    /* Second rows: the same ops at other shapes or with another call,
     * so that the registry's checks reach what each op's first row does
     * not (tg_op_case_find gives the first row). */
    {"ge", b_ge, 2, {{3, 4}, {3, 1}}, false, {{3, 4}, {3, 4}}, g_ge},
    {"lt", b_lt, 2, {{3, 4}, {3, 4}}, false, {{3, 4}, {3, 4}}, g_lt},
    /* against a 0-d scalar */
    {"le", b_le, 2, {{3, 4}, {0}}, false, {{3, 4}, {3, 4}}, g_le},
    {"div", b_div, 2, {{3, 4}, {3, 4}}, true, {{3, 4}, {3, 4}}, NULL},
    {"minimum", b_minimum, 2, {{3, 4}, {3, 4}}, false, {{3, 4}, {3, 4}},
     NULL},
    /* matrix times matrix, unbatched */
    {"matmul", b_matmul, 2, {{3, 4}, {4, 5}}, false, {{3, 3}, {3, 3}}, NULL},
    /* a step of -2 over 7 columns */
    {"slice", b_slice, 1, {{3, 7}}, false, {{0}}, NULL},
    /* an f64 index reaching every column of (3, 4), repeats included */
    {"gather", b_gather_wide, 1, {{3, 4}}, false, {{0}}, NULL},
    {"scatter_add", b_scatter_add_wide, 2, {{3, 4}, {3, 2}}, false,
     {{3, 2}, {3, 2}}, NULL},
    /* batch norm with x first (and weight and bias after it) */
    {"batch_norm", b_batch_norm_x_first, 3, {{4, 3, 2}, {3}, {3}}, false,
     {{3}, {3}, {3}}, NULL},
};
const int tg_op_n_cases = (int)(sizeof tg_op_cases / sizeof tg_op_cases[0]);

const tg_op_case *tg_op_case_find(const char *name)
{
    for (int i = 0; i < tg_op_n_cases; i++)
        if (strcmp(tg_op_cases[i].name, name) == 0)
            return &tg_op_cases[i];
    return NULL;
}

int tg_op_case_ndim(const int64_t *shape)
{
    int d = 0;
    while (d < 3 && shape[d] > 0)
        d++;
    return d;
}

tg_tensor *tg_op_case_input(tg_tape *t, const tg_op_case *c,
                            const int64_t (*shapes)[3], int k, tg_dtype dt,
                            uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, (uint64_t)k + 1);
    const int64_t *shape = shapes[k];
    int nd = tg_op_case_ndim(shape);
    return c->positive ? tg_rand_uniform(t, &rng, dt, nd, shape, 0.5, 2.0)
                       : tg_rand_normal(t, &rng, dt, nd, shape, 0.0, 1.0);
}
