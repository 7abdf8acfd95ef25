/*
 * builtin.h — the list of built-in ops. Each op file defines
 * `const tg_op tg__op_<name>`; adding an op means adding its name here.
 */
#ifndef TG_BUILTIN_H
#define TG_BUILTIN_H

#include "tapegrad/op.h"

/* One line per op, grouped as in include/tapegrad/ops.h. */
#define TG__BUILTIN_OPS(X) \
    TG__OPS_ACTIVATION(X)  \
    TG__OPS_ELEMENTWISE(X) \
    TG__OPS_SELECTION(X)   \
    TG__OPS_REDUCTION(X)   \
    TG__OPS_SHAPE(X)       \
    TG__OPS_LOSS(X)        \
    TG__OPS_LAYER(X)       \
    TG__OPS_POOL(X)        \
    TG__OPS_CONV(X)        \
    TG__OPS_INDEX(X)

#define TG__OPS_ACTIVATION(X) \
    X(relu)                   \
    X(leaky_relu)             \
    X(elu)                    \
    X(selu)                   \
    X(gelu)                   \
    X(gelu_tanh)              \
    X(silu)                   \
    X(softplus)               \
    X(mish)                   \
    X(hardtanh)               \
    X(relu6)                  \
    X(hardsigmoid)            \
    X(hardswish)              \
    X(softsign)

#define TG__OPS_ELEMENTWISE(X) \
    X(add)                     \
    X(sub)                     \
    X(mul)                     \
    X(div)                     \
    X(maximum)                 \
    X(minimum)                 \
    X(pow)                     \
    X(pow_tensor)              \
    X(neg)                     \
    X(exp)                     \
    X(log)                     \
    X(sqrt)                    \
    X(abs)                     \
    X(tanh)                    \
    X(sigmoid)                 \
    X(erf)

/* Comparisons giving masks, selecting by them, clamping, converting. */
#define TG__OPS_SELECTION(X) \
    X(gt)                    \
    X(ge)                    \
    X(lt)                    \
    X(le)                    \
    X(eq)                    \
    X(ne)                    \
    X(where)                 \
    X(clamp)                 \
    X(cast)

#define TG__OPS_REDUCTION(X) \
    X(sum)                   \
    X(sum_axis)              \
    X(mean)                  \
    X(mean_axis)             \
    X(max)                   \
    X(max_axis)              \
    X(min)                   \
    X(min_axis)              \
    X(logsumexp)             \
    X(logsumexp_axis)        \
    X(argmax)                \
    X(argmin)

#define TG__OPS_SHAPE(X) \
    X(reshape)           \
    X(transpose)         \
    X(permute)           \
    X(matmul)            \
    X(concat)            \
    X(slice)

#define TG__OPS_LOSS(X) \
    X(softmax)          \
    X(log_softmax)      \
    X(cross_entropy)    \
    X(mse_loss)

/* Layers fused into one op for speed. */
#define TG__OPS_LAYER(X) \
    X(linear)              \
    TG__OPS_SEQUENCE(X)

/* Sequence models (tapegrad/sequence.h). */
#define TG__OPS_SEQUENCE(X) \
    X(layer_norm)           \
    X(scaled_dot_product_attention) \
    X(attention_heads)

/* Pooling, dropout and normalisation (tapegrad/pool.h). */
#define TG__OPS_POOL(X)     \
    X(max_pool2d)           \
    X(relu_max_pool2d)      \
    X(avg_pool2d)           \
    X(adaptive_avg_pool2d)  \
    X(dropout)              \
    X(batch_norm)

/* Convolutions, and the ops their gradients are made of (src/ops/conv.c;
 * conv_bias_grad: src/ops/conv_bias.c). */
#define TG__OPS_CONV(X)       \
    X(conv1d)                 \
    X(conv2d)                 \
    X(conv1d_input_grad)      \
    X(conv2d_input_grad)      \
    X(conv1d_weight_grad)     \
    X(conv2d_weight_grad)     \
    X(conv_bias_grad)

/* Picking by index (include/tapegrad/index.h): each the other's derivative. */
#define TG__OPS_INDEX(X) \
    X(gather)            \
    X(scatter_add)

#define TG__DECLARE_OP(name) extern const tg_op tg__op_##name;
TG__BUILTIN_OPS(TG__DECLARE_OP)
#undef TG__DECLARE_OP

/* For backward_ops: x itself when it already has the shape (a recorded
 * reshape copies the values), else tg_reshape(t, x, ndim, shape). The
 * walk never writes into a gradient, so sharing one is safe. */
tg_tensor *tg__reshape_if_needed(tg_tape *t, tg_tensor *x, int ndim,
                                 const int64_t *shape);

#endif /* TG_BUILTIN_H */
