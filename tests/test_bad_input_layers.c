/*
 * test_bad_input_layers.c — bad input: the layers of tapegrad/sequential.h
 * (the sequential container, layers by name, the convolutional layers) and
 * those of tapegrad/sequence.h (embedding, GRU/LSTM, multi-head attention,
 * layer norm). One row per mistake: the status and the message fragment it
 * must give back. tests/support/tg_bad_input.h says how a row is run and
 * what it must leave behind.
 */
#include "tg_bad_input.h"
#include "tg_bad_input_nets.h"

/* ---- The sequential container and its generic layers. */

static int seq_add_twice(fx *f)
{
    tg_sequential *s = tg_sequential_new(f->t);
    tg_layer *l = tg_layer_flatten_new(f->t, 1);
    int rc = tg_sequential_add(s, l);
    if (rc != TG_OK)
        return rc;
    rc = tg_sequential_add(s, l);
    if (tg_sequential_count(s) != 1)
        return expect(false, "a refused add left the container as it was");
    return rc;
}

static int seq_add_name(fx *f, const char *name)
{
    tg_sequential *s = tg_sequential_new(f->t);
    int rc = tg_sequential_add_named(s, "fc", tg_layer_flatten_new(f->t, 1));
    return rc != TG_OK ? rc : tg_sequential_add_named(
        s, name, tg_layer_flatten_new(f->t, 1));
}

static int seq_wrong_input(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return ptr(tg_sequential_forward(f->t, s, f->a34));   /* 4, not 6 */
}

static int layer_param_twice(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_linear_new(f->t, &rng, TG_F32, 2, 2, true);
    return tg_layer_add_param(l, "bias", f->b5);
}

static int layer_op_binary(fx *f)
{
    return ptr(tg_layer_op_new(f->t, tg_op_find("add"), NULL));
}

static int layer_flatten_too_far(fx *f)
{
    return ptr(tg_layer_forward(f->t, tg_layer_flatten_new(f->t, 2),
                                f->a34));
}

static int layer_linear_zero(fx *f)
{
    tg_rng rng = seeded();
    return ptr(tg_layer_linear_new(f->t, &rng, TG_F32, 0, 3, true));
}

/* ---- cnn: the convolutional layers (sequential.h). */

/* A refused conv2d layer draws nothing from rng. */
static int cnn_conv_refused(fx *f, int64_t in, int64_t stride,
                            int64_t groups)
{
    tg_rng rng = seeded(), before = rng;
    tg_conv_options o = tg_conv_defaults();
    o.stride[1] = stride;
    o.groups = groups;
    int rc = ptr(tg_layer_conv2d_new(f->t, &rng, TG_F32, in, 4, 3, 3, &o,
                                     true));
    /* Field by field: the struct has padding. */
    if (rng.state != before.state || rng.inc != before.inc ||
        rng.has_spare != before.has_spare)
        return expect(false, "a refused conv2d layer drew nothing");
    return rc;
}

/* A 5x5 kernel on the 3x4 image of a (1,1,3,4) input, padding 1. */
static int cnn_conv_kernel_too_big(fx *f)
{
    tg_rng rng = seeded();
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 0;
    tg_layer *l = tg_layer_conv2d_new(f->t, &rng, TG_F32, 1, 2, 5, 5, &o,
                                      true);
    tg_tensor *x = tg_reshape(f->t, f->a34, 4, (int64_t[]){1, 1, 3, 4});
    return ptr(tg_layer_forward(f->t, l, x));
}

static int cnn_pool_refused(fx *f, int which)
{
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    if (which == 0)
        o.stride[0] = 0;
    else if (which == 1)
        o.padding[1] = 2;
    else
        o.dilation[0] = 2;
    return ptr(which == 2 ? tg_layer_avg_pool2d_new(f->t, &o)
                          : tg_layer_max_pool2d_new(f->t, &o));
}

/* Batch norm over one value per channel in training: refused, and the
 * running statistics and the count are as they were. */
static int cnn_bn_one_value(fx *f)
{
    tg_layer *l = tg_layer_batch_norm_new(f->t, TG_F64, 4, 1e-5, 0.1, true);
    tg_tensor *x = tg_reshape(f->t, f->d34, 2, (int64_t[]){1, 12});
    x = tg_reshape(f->t, tg_slice(f->t, x, 1, 0, 4, 1), 2,
                   (int64_t[]){1, 4});
    int rc = ptr(tg_layer_forward(f->t, l, x));
    if (tg_data_f64(tg_layer_buffer(l, "running_mean"))[0] != 0.0 ||
        tg_data_f64(tg_layer_buffer(l, "running_var"))[0] != 1.0 ||
        tg_item(tg_layer_buffer(l, "num_batches_tracked")) != 0.0)
        return expect(false, "a refused batch norm left its statistics");
    return rc;
}

/* ---- seqlayers: the sequence layers of tapegrad/sequence.h ------------ */

/* An embedding layer of 3 rows of 2 run on the ids v (n of them). */
static int seq_embedding_ids(fx *f, int n, const double *v)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, -1);
    int64_t shape[] = {n};
    tg_tensor *ids = tg_from_data(f->t, TG_F64, 1, shape, v);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, ids));
}

static int seq_embedding_rank(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, -1);
    tg_tensor *ids = tg_zeros(f->t, TG_F32, 8, nine);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, ids));
}

/* A GRU (gru) or LSTM layer of input 4, hidden 3, on a34 (an unbatched
 * (T=3, 4)) or on x, with the states h0 and c0. */
static int seq_rnn(fx *f, bool lstm, tg_tensor *x, tg_tensor *h0,
                   tg_tensor *c0)
{
    tg_rng rng = seeded();
    tg_layer *l = lstm ? tg_layer_lstm_new(f->t, &rng, TG_F32, 4, 3)
                       : tg_layer_gru_new(f->t, &rng, TG_F32, 4, 3);
    tg_tensor *hn = f->s, *cn = f->s;
    int64_t size = tg_tape_size(f->t);
    int rc = ptr_unchanged(f, size, tg_layer_rnn_forward(
        f->t, l, x ? x : f->a34, h0, c0, &hn, lstm ? &cn : NULL));
    if (rc != TG_OK && (hn != NULL || (lstm && cn != NULL)))
        return expect(false, "h_n and c_n are NULL after an error");
    return rc;
}

static int seq_gru_hidden_mismatch(fx *f)
{
    return seq_rnn(f, false, NULL, f->b5, NULL);   /* h0 (5,), hidden 3 */
}

static int seq_lstm_cell_state_mismatch(fx *f)
{
    tg_tensor *h0 = tg_zeros(f->t, TG_F32, 1, n3);
    return seq_rnn(f, true, NULL, h0, f->b5);
}

static int seq_gru_batched_h0_rows(fx *f)
{
    int64_t xs[] = {2, 5, 4}, hs[] = {1, 3, 3};
    return seq_rnn(f, false, tg_zeros(f->t, TG_F32, 3, xs),
                   tg_zeros(f->t, TG_F32, 3, hs), NULL);
}

static int seq_rnn_state_dtype(fx *f)
{
    return seq_rnn(f, false, NULL, tg_zeros(f->t, TG_F64, 1, n3), NULL);
}

static int seq_gru_given_c0(fx *f)
{
    return seq_rnn(f, false, NULL, NULL, f->b5);
}

static int seq_rnn_rank(fx *f)
{
    return seq_rnn(f, true, f->b5, NULL, NULL);
}

static int seq_rnn_input_size(fx *f)
{
    int64_t xs[] = {2, 5, 6};
    return seq_rnn(f, true, tg_zeros(f->t, TG_F32, 3, xs), NULL, NULL);
}

static int seq_rnn_dtype(fx *f)
{
    return seq_rnn(f, false, f->d34, NULL, NULL);
}

static int seq_rnn_not_recurrent(fx *f)
{
    return ptr(tg_layer_rnn_forward(f->t, tg_layer_flatten_new(f->t, 0),
                                    f->a34, NULL, NULL, NULL, NULL));
}

static int seq_mha_width(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_mha_new(f->t, &rng, TG_F32, 6, 2, true);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, f->a34));
}

static int seq_layer_norm_shape(fx *f)
{
    tg_layer *l = tg_layer_layer_norm_new(f->t, TG_F32, 1, (int64_t[]){5},
                                          1e-5);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, f->a34));
}

static int seq_new_null_rng(fx *f)
{
    return ptr(tg_layer_gru_new(f->t, NULL, TG_F32, 4, 3));
}

static int seq_new_bad_sizes(fx *f, int which)
{
    tg_rng rng = seeded();
    switch (which) {
    case 0:
        return ptr(tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, 3));
    case 1:
        return ptr(tg_layer_lstm_new(f->t, &rng, TG_F32, 4, 0));
    case 2:
        return ptr(tg_layer_mha_new(f->t, &rng, TG_F32, 6, 4, false));
    default:
        return ptr(tg_layer_layer_norm_new(f->t, TG_F32, 1, n3, -1.0));
    }
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* The sequential container and its generic layers. */                   \
    X(seq_add_twice, TG_EINVAL, "tg_sequential_add: the layer is already "  \
      "in the container, as '0'", seq_add_twice(f))                          \
    X(seq_name_with_dot, TG_EINVAL, "tg_sequential_add_named: name 'a.b' "   \
      "must be non-empty and without '.'", seq_add_name(f, "a.b"))           \
    X(seq_name_repeated, TG_EINVAL, "already has a layer called 'fc'",       \
      seq_add_name(f, "fc"))                                                 \
    X(seq_wrong_input, TG_ESHAPE, "tg_linear: ", seq_wrong_input(f))         \
    X(seq_null_input, TG_EINVAL, "tg_sequential_forward: input is NULL",     \
      ptr(tg_sequential_forward(f->t, tg_sequential_new(f->t), NULL)))       \
    X(layer_null_input, TG_EINVAL, "tg_layer_forward: input is NULL",        \
      ptr(tg_layer_forward(f->t, tg_layer_flatten_new(f->t, 0), NULL)))      \
    X(layer_param_twice, TG_EINVAL, "tg_layer_add_param: the layer already " \
      "has an entry called 'bias'", layer_param_twice(f))                    \
    X(layer_activation_unknown, TG_ENOTFOUND, "tg_layer_activation_new: no " \
      "op called 'nonesuch'", ptr(tg_layer_activation_new(f->t,             \
                                                          "nonesuch")))      \
    X(layer_op_binary, TG_EINVAL, "tg_layer_op_new: op 'add' takes 2 "       \
      "inputs", layer_op_binary(f))                                          \
    X(layer_flatten_too_far, TG_ESHAPE, "tg_layer_flatten: start_dim 2, but" \
      " the input (3,4) has 2 dimensions", layer_flatten_too_far(f))         \
    X(layer_flatten_negative, TG_EINVAL, "tg_layer_flatten_new: start_dim "  \
      "-1", ptr(tg_layer_flatten_new(f->t, -1)))                             \
    X(layer_linear_zero, TG_EINVAL, "tg_layer_linear_new: "                  \
      "tg_linear_layer_init: sizes 0 -> 3", layer_linear_zero(f)) \
    /* seqlayers: the sequence layers */                                     \
    X(seq_embedding_out_of_range, TG_EINVAL, "tg_layer_forward: embedding "  \
      "layer: id 3 at position 1 of ids (2,) is not a whole number in 0..2 " \
      "(weight (3,2))", seq_embedding_ids(f, 2, (const double[]){0, 3}))    \
    X(seq_embedding_negative, TG_EINVAL, "tg_layer_forward: embedding "      \
      "layer: id -1 at position 0", seq_embedding_ids(f, 1,                  \
                                                      (const double[]){-1})) \
    X(seq_embedding_fraction, TG_EINVAL, "tg_layer_forward: embedding "      \
      "layer: id 1.5 at position 2", seq_embedding_ids(f, 3,                 \
                                          (const double[]){0, 1, 1.5}))      \
    X(seq_embedding_rank, TG_ESHAPE, "tg_layer_forward: embedding layer: "   \
      "ids (1,1,1,1,1,1,1,1) have 8 dims; at most 7", seq_embedding_rank(f)) \
    X(seq_gru_hidden_mismatch, TG_ESHAPE, "tg_layer_rnn_forward: h0 f32 "    \
      "(5,) is not (1, 3) or (3,) for an unbatched x f32: the gru layer's "  \
      "weight_hh_l0 (9,3) has hidden size 3", seq_gru_hidden_mismatch(f))   \
    X(seq_lstm_cell_state_mismatch, TG_ESHAPE, "tg_layer_rnn_forward: c0 "   \
      "f32 (5,) is not (1, 3) or (3,) for an unbatched x f32: the lstm "     \
      "layer's weight_hh_l0 (12,3)", seq_lstm_cell_state_mismatch(f))       \
    X(seq_gru_batched_h0_rows, TG_ESHAPE, "tg_layer_rnn_forward: h0 f32 "    \
      "(1,3,3) is not (1, 2, 3) or (2, 3) f32", seq_gru_batched_h0_rows(f))  \
    X(seq_rnn_state_dtype, TG_EDTYPE, "tg_layer_rnn_forward: h0 f64 (3,) "   \
      "is not (1, 3) or (3,) for an unbatched x f32", seq_rnn_state_dtype(f))\
    X(seq_gru_given_c0, TG_EINVAL, "tg_layer_rnn_forward: a GRU layer has "  \
      "no cell state", seq_gru_given_c0(f))                                  \
    X(seq_rnn_rank, TG_ESHAPE, "tg_layer_rnn_forward: x f32 (5,) must be "   \
      "(N, T, 4) or (T, 4) with T <= 2147483647", seq_rnn_rank(f))           \
    X(seq_rnn_input_size, TG_ESHAPE, "tg_layer_rnn_forward: x f32 (2,5,6) "  \
      "must be (N, T, 4)", seq_rnn_input_size(f))                            \
    X(seq_rnn_dtype, TG_EDTYPE, "tg_layer_rnn_forward: x f64 (3,4) must be " \
      "(N, T, 4) or (T, 4) with T <= 2147483647, and f32 as the gru layer's "\
      "weight_ih_l0 (9,4)", seq_rnn_dtype(f))                                \
    X(seq_rnn_not_recurrent, TG_EINVAL, "tg_layer_rnn_forward: the layer is "\
      "a flatten layer, not a GRU or LSTM layer", seq_rnn_not_recurrent(f))  \
    X(seq_mha_width, TG_ESHAPE, "tg_mha_forward: x (3,4) must be (B, L, 6) " \
      "or (L, 6)", seq_mha_width(f))                                         \
    X(seq_layer_norm_shape, TG_ESHAPE, "tg_layer_norm: normalized shape "    \
      "(5,) does not match the last dims of x (3,4)", seq_layer_norm_shape(f))\
    X(seq_new_null_rng, TG_EINVAL, "tg_layer_gru_new: tg_gru_cell_init: rng "\
      "is NULL", seq_new_null_rng(f))                                        \
    X(seq_embedding_new_padding, TG_EINVAL, "tg_layer_embedding_new: 3 "     \
      "embeddings of dim 2 with padding_idx 3", seq_new_bad_sizes(f, 0))     \
    X(seq_lstm_new_hidden_zero, TG_EINVAL, "tg_layer_lstm_new: "             \
      "tg_lstm_cell_init: input size 4 and hidden size 0 must be at least 1",\
      seq_new_bad_sizes(f, 1))                                               \
    X(seq_mha_new_heads, TG_EINVAL, "tg_layer_mha_new: tg_mha_init: "        \
      "embedding size 6 must be a positive multiple of the 4 heads",         \
      seq_new_bad_sizes(f, 2))                                               \
    X(seq_layer_norm_new_eps, TG_EINVAL, "tg_layer_layer_norm_new: eps -1 "  \
      "must be finite and at least 0", seq_new_bad_sizes(f, 3))              \
    /* cnn: the convolutional layers (sequential.h). */                     \
    X(cnn_conv_stride_zero, TG_EINVAL, "tg_layer_conv2d_new: stride (1, 0)" \
      , cnn_conv_refused(f, 4, 0, 1))                                        \
    X(cnn_conv_groups, TG_EINVAL, "tg_layer_conv2d_new: groups 3 must be "  \
      "at least 1 and divide the channels 4 -> 4", cnn_conv_refused(f, 4, 1, \
                                                                    3))      \
    X(cnn_conv_zero_channels, TG_EINVAL, "tg_layer_conv2d_new: channels 0 " \
      "-> 4", cnn_conv_refused(f, 0, 1, 1))                                  \
    X(cnn_conv_kernel_too_big, TG_ESHAPE, "tg_conv2d: ",                     \
      cnn_conv_kernel_too_big(f))                                            \
    X(cnn_pool_null, TG_EINVAL, "tg_layer_max_pool2d_new: options are NULL" \
      , ptr(tg_layer_max_pool2d_new(f->t, NULL)))                            \
    X(cnn_pool_stride_zero, TG_EINVAL, "tg_layer_max_pool2d_new: kernel "    \
      "(2, 2), stride (0, 2)", cnn_pool_refused(f, 0))                       \
    X(cnn_pool_padding, TG_EINVAL, "padding (0, 2) in 0..kernel/2",          \
      cnn_pool_refused(f, 1))                                                \
    X(cnn_avg_pool_dilation, TG_EINVAL, "tg_layer_avg_pool2d_new: dilation " \
      "(2, 1)", cnn_pool_refused(f, 2))                                      \
    X(cnn_adaptive_zero, TG_EINVAL, "tg_layer_adaptive_avg_pool2d_new: "     \
      "output size 0x1", ptr(tg_layer_adaptive_avg_pool2d_new(f->t, 0, 1)))  \
    X(cnn_dropout_p_one, TG_EINVAL, "tg_layer_dropout_new: p = 1 is outside"\
      " [0, 1)", ptr(tg_layer_dropout_new(f->t, 1.0, 1, 0)))                 \
    X(cnn_dropout_p_nan, TG_EINVAL, "tg_layer_dropout_new: p = nan",         \
      ptr(tg_layer_dropout_new(f->t, NAN, 1, 0)))                            \
    X(cnn_bn_eps, TG_EINVAL, "tg_layer_batch_norm_new: channels 3 must be "  \
      "at least 1, eps 0 above 0", ptr(tg_layer_batch_norm_new(              \
          f->t, TG_F32, 3, 0.0, 0.1, true)))                                 \
    X(cnn_bn_one_value, TG_ESHAPE, "tg_batch_norm: ", cnn_bn_one_value(f))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_layers", rows, N_ROWS);
}
