/*
 * test_bad_input_index_seq.c — bad input: picking by index, splitting,
 * losses by class; layer norm, attention and recurrent cells
 * (tapegrad/index.h, tapegrad/sequence.h). One row per mistake: the status
 * and the message fragment it must give back. tests/support/tg_bad_input.h
 * says how a row is run and what it must leave behind.
 */
#include "tg_bad_input.h"

/* ---- seq: tapegrad/sequence.h. Each helper also checks that the failed
 * call changed nothing: a34 keeps its values and gets no gradient, and a
 * cell's weights keep theirs. */

static int seq_unchanged(fx *f, int status)
{
    bool same = tg_grad(f->a34) == NULL && tg_value_at(f->a34, 0) == -1.0 &&
                tg_value_at(f->a34, 11) == 1.0;
    return same ? status : expect(false, "the failed call changed a34");
}

static tg_tensor *zeros2(fx *f, int64_t r, int64_t c)
{
    return tg_zeros(f->t, TG_F32, 2, (int64_t[]){r, c});
}

static int sdpa_shapes(fx *f, int64_t lk, int64_t dk, int64_t lv, bool causal)
{
    tg_tensor *k = zeros2(f, lk, dk), *v = zeros2(f, lv, 2);
    return seq_unchanged(f, ptr(tg_scaled_dot_product_attention(f->t, f->a34,
                                                                k, v, causal)));
}

static int gru_hidden_mismatch(fx *f)
{
    tg_rng rng = seeded();
    tg_gru_cell c;
    if (tg_gru_cell_init(&c, f->t, NULL, &rng, TG_F32, 4, 4) != TG_OK)
        return tg_last_status();
    double w0 = tg_value_at(c.w_hh, 0);
    int rc = ptr(tg_gru_cell_forward(f->t, &c, f->a34, zeros2(f, 3, 5)));
    if (tg_value_at(c.w_hh, 0) != w0 || tg_grad(c.w_hh) != NULL)
        return expect(false, "the failed step changed the cell");
    return seq_unchanged(f, rc);
}

static int lstm_state_mismatch(fx *f)
{
    tg_rng rng = seeded();
    tg_lstm_cell c;
    if (tg_lstm_cell_init(&c, f->t, NULL, &rng, TG_F32, 4, 4) != TG_OK)
        return tg_last_status();
    tg_tensor *cs = NULL;
    int rc = ptr(tg_lstm_cell_forward(f->t, &c, f->a34, zeros2(f, 3, 4),
                                      zeros2(f, 3, 6), &cs));
    if (cs != NULL || tg_grad(c.w_ih) != NULL)
        return expect(false, "the failed step set a cell state");
    return seq_unchanged(f, rc);
}

static int gru_input_mismatch(fx *f)
{
    tg_rng rng = seeded();
    tg_gru_cell c;
    if (tg_gru_cell_init(&c, f->t, NULL, &rng, TG_F32, 5, 4) != TG_OK)
        return tg_last_status();
    return seq_unchanged(f, ptr(tg_gru_cell_forward(f->t, &c, f->a34,
                                                    zeros2(f, 3, 4))));
}

static int mha_wrong_width(fx *f)
{
    tg_rng rng = seeded();
    tg_mha m;
    if (tg_mha_init(&m, f->t, NULL, &rng, TG_F32, 6, 2) != TG_OK)
        return tg_last_status();
    return seq_unchanged(f, ptr(tg_mha_forward(f->t, &m, f->a34, true)));
}

/* ---- index.h (index lane): each call leaves the tape as it was. */

/* An index tensor (rows, cols) of dt holding v. */
static tg_tensor *index_tensor(fx *f, tg_dtype dt, int64_t rows, int64_t cols,
                               const double *v)
{
    int64_t shape[2] = {rows, cols};
    tg_tensor *ix = tg_zeros(f->t, dt, 2, shape);
    for (int64_t i = 0; i < rows * cols; i++)
        if (dt == TG_F32)
            tg_mut_f32(ix)[i] = (float)v[i];
        else
            tg_mut_f64(ix)[i] = v[i];
    return ix;
}

static int gather_with(fx *f, tg_dtype dt, int64_t rows, int64_t cols,
                       const double *v)
{
    tg_tensor *ix = index_tensor(f, dt, rows, cols, v);
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_gather(f->t, f->a34, 1, ix));
}
static int gather_out_of_range(fx *f)
{
    return gather_with(f, TG_F32, 3, 1, (const double[]){0, 4, 1});
}
static int gather_negative(fx *f)
{
    return gather_with(f, TG_F32, 3, 1, (const double[]){0, 1, -1});
}
static int gather_fraction(fx *f)
{
    return gather_with(f, TG_F32, 1, 2, (const double[]){1.5, 0});
}
static int gather_too_many_rows(fx *f)
{
    return gather_with(f, TG_F32, 4, 1, (const double[]){0, 0, 0, 0});
}
static int gather_dtype_mix(fx *f)
{
    return gather_with(f, TG_F64, 1, 1, (const double[]){0});
}
static int gather_dims_differ(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_gather(f->t, f->a34, 0, f->b5));
}
static int scatter_add_src_shape(fx *f)
{
    tg_tensor *ix = index_tensor(f, TG_F32, 1, 2, (const double[]){0, 1});
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_scatter_add(f->t, f->a34, 0, ix, f->a34));
}
static int index_select_out_of_range(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_index_select(f->t, f->a34, 1, 2,
                                               (const int64_t[]){0, 4}));
}
static int index_select_negative(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_index_select(f->t, f->a34, 0, 1,
                                               (const int64_t[]){-1}));
}
static int embedding_out_of_range(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_embedding(f->t, f->a34, 3,
                                            (const int64_t[]){0, 2, 3}, -1));
}
static int embedding_negative(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_embedding(f->t, f->a34, 1,
                                            (const int64_t[]){-2}, -1));
}
static int embedding_bad_padding(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_embedding(f->t, f->a34, 1,
                                            (const int64_t[]){0}, 3));
}
static int split_cap(fx *f)
{
    tg_tensor *out[2] = {NULL, NULL};
    int64_t n = tg_tape_size(f->t);
    int rc = tg_split(f->t, f->a34, 1, 1, 2, out);
    if (out[0] != NULL || out[1] != NULL || tg_tape_size(f->t) != n)
        return ROW_WRONG;
    return rc;
}
/* A size beyond any axis is one piece, the whole of x (no overflow). */
static int split_huge_size(fx *f)
{
    tg_tensor *out[1];
    int rc = tg_split(f->t, f->a34, 0, INT64_MAX, 1, out);
    return rc == 1 && tg_shape(out[0])[0] == 3 ? TG_OK : ROW_WRONG;
}
static int nll_label(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_nll_loss(f->t, f->a34,
                                           (const int64_t[]){0, 4, 1}, -100));
}
static int bce_shapes(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_bce_with_logits(f->t, f->a34, f->b5, NULL));
}
static int bce_pos_weight(fx *f)
{
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_bce_with_logits(f->t, f->a34, f->a34,
                                                  f->b5));
}
static int ce_ex_smoothing(fx *f)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = 1.5;
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_cross_entropy_ex(
                                   f->t, f->a34, (const int64_t[]){0, 1, 2},
                                   &o));
}
static int ce_ex_label(fx *f)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = 1;
    int64_t n = tg_tape_size(f->t);
    return ptr_unchanged(f, n, tg_cross_entropy_ex(
                                   f->t, f->a34, (const int64_t[]){1, 7, 1},
                                   &o));
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* seq: layer norm, attention, recurrent cells (tapegrad/sequence.h). */ \
    X(layer_norm_shape_mismatch, TG_ESHAPE, "tg_layer_norm: normalized "     \
      "shape (5,) does not match the last dims of x (3,4)",                  \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 1, (int64_t[]){5},    \
                                         NULL, NULL, 1e-5))))                \
    X(layer_norm_weight_shape, TG_ESHAPE, "tg_layer_norm: weight (5,) must " \
      "have the normalized shape, the last dims of x (3,4)",                 \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 1, (int64_t[]){4},    \
                                         f->b5, NULL, 1e-5))))               \
    X(layer_norm_negative_eps, TG_EINVAL, "tg_layer_norm: eps -1 must be",   \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 1, (int64_t[]){4},    \
                                         NULL, NULL, -1))))                  \
    X(layer_norm_no_dims, TG_EINVAL, "tg_layer_norm: normalized shape of 0", \
      seq_unchanged(f, ptr(tg_layer_norm(f->t, f->a34, 0, NULL, NULL, NULL,  \
                                         1e-5))))                            \
    X(sdpa_head_dims_disagree, TG_ESHAPE, "tg_scaled_dot_product_attention: " \
      "the head dims of q (3,4) and k (3,5) disagree",                       \
      sdpa_shapes(f, 3, 5, 3, false))                                        \
    X(sdpa_causal_not_square, TG_ESHAPE, "a causal mask needs square "       \
      "scores, but q (3,4) and k (2,4) give 3 x 2",                          \
      sdpa_shapes(f, 2, 4, 2, true))                                         \
    X(sdpa_lengths_differ, TG_ESHAPE, "k (3,4) and v (2,2) differ in length", \
      sdpa_shapes(f, 3, 4, 2, false))                                        \
    X(sdpa_dtype_mix, TG_EDTYPE, "tg_scaled_dot_product_attention: inputs "  \
      "are f32 and f64", seq_unchanged(f, ptr(                               \
          tg_scaled_dot_product_attention(f->t, f->a34, f->d34, f->a34,      \
                                          false))))                          \
    X(gru_hidden_mismatch, TG_ESHAPE, "tg_gru_cell_forward: h (3,5) has "    \
      "hidden size 5, but w_hh (12,4) is for hidden size 4",                 \
      gru_hidden_mismatch(f))                                                \
    X(gru_input_mismatch, TG_ESHAPE, "tg_gru_cell_forward: x (3,4) has "     \
      "input size 4, but w_ih (12,5) is for input size 5",                   \
      gru_input_mismatch(f))                                                 \
    X(lstm_state_mismatch, TG_ESHAPE, "tg_lstm_cell_forward: c (3,6) has "   \
      "hidden size 6, but w_hh (16,4) is for hidden size 4",                 \
      lstm_state_mismatch(f))                                                \
    X(gru_null_cell, TG_EINVAL, "tg_gru_cell_forward: cell is NULL",         \
      seq_unchanged(f, ptr(tg_gru_cell_forward(f->t, NULL, f->a34, f->a34)))) \
    X(mha_heads_do_not_divide, TG_EINVAL, "tg_mha_init: embedding size 6 "   \
      "must be a positive multiple of the 4 heads",                          \
      tg_mha_init(&(tg_mha){0}, f->t, NULL, &(tg_rng){0}, TG_F32, 6, 4))     \
    X(mha_wrong_width, TG_ESHAPE, "tg_mha_forward: x (3,4) must be (B, L, "  \
      "6) or (L, 6)", mha_wrong_width(f))                                    \
    /* index.h: picking by index, splitting, losses by class. */            \
    X(gather_out_of_range, TG_EINVAL, "tg_gather: index 4 at position 1 of " \
      "index (3,1) is not a whole number in 0..3 (axis 1 of x (3,4))",       \
      gather_out_of_range(f))                                                \
    X(gather_negative, TG_EINVAL, "tg_gather: index -1 at position 2",       \
      gather_negative(f))                                                    \
    X(gather_fraction, TG_EINVAL, "tg_gather: index 1.5 at position 0",      \
      gather_fraction(f))                                                    \
    X(gather_too_many_rows, TG_ESHAPE, "tg_gather: index (4,1) is larger "   \
      "than x (3,4) in dim 0", gather_too_many_rows(f))                      \
    X(gather_dtype_mix, TG_EDTYPE, "tg_gather: inputs are f32 and f64",      \
      gather_dtype_mix(f))                                                   \
    X(gather_dims_differ, TG_ESHAPE, "tg_gather: index (5,) and x (3,4) "    \
      "have different numbers of dims", gather_dims_differ(f))               \
    X(scatter_add_src_shape, TG_ESHAPE, "tg_scatter_add: index (1,2) and "   \
      "src (3,4) must have the same shape", scatter_add_src_shape(f))        \
    X(index_select_out_of_range, TG_EINVAL, "tg_index_select: index 4 at "   \
      "position 1 is outside 0..3 (axis 1 of x (3,4))",                      \
      index_select_out_of_range(f))                                          \
    X(index_select_negative, TG_EINVAL, "tg_index_select: index -1 at "      \
      "position 0 is outside 0..2", index_select_negative(f))                \
    X(index_select_null_array, TG_EINVAL, "tg_index_select: the index "     \
      "array is NULL",                                                       \
      ptr(tg_index_select(f->t, f->a34, 0, 2, NULL)))                        \
    X(index_select_null_tape, TG_EINVAL, "tg_index_select: tape is NULL",    \
      ptr(tg_index_select(NULL, f->a34, 0, 1, (const int64_t[]){0})))        \
    X(index_select_no_index, TG_EINVAL, "tg_index_select: n is 0; there "   \
      "must be at least one index",                                          \
      ptr(tg_index_select(f->t, f->a34, 0, 0, (const int64_t[]){0})))        \
    X(index_select_bad_axis, TG_EINVAL, "tg_index_select: axis 2 is out of " \
      "range for shape (3,4)",                                               \
      ptr(tg_index_select(f->t, f->a34, 2, 1, (const int64_t[]){0})))        \
    X(embedding_out_of_range, TG_EINVAL, "tg_embedding: index 3 at position "\
      "2 is outside 0..2 (axis 0 of weight (3,4))",                          \
      embedding_out_of_range(f))                                             \
    X(embedding_negative, TG_EINVAL, "tg_embedding: index -2 at position 0", \
      embedding_negative(f))                                                 \
    X(embedding_bad_padding, TG_EINVAL, "tg_embedding: padding_idx 3 is "    \
      "outside -1..2 (-1 for none; weight (3,4))", embedding_bad_padding(f)) \
    X(embedding_not_2d, TG_ESHAPE, "tg_embedding: weight has shape (5,); it "\
      "must be (num_embeddings, dim)",                                       \
      ptr(tg_embedding(f->t, f->b5, 1, (const int64_t[]){0}, -1)))           \
    X(split_size_zero, TG_EINVAL, "tg_split: size is 0; it must be at least "\
      "1", tg_split(f->t, f->a34, 0, 0, 4, (tg_tensor *[4]){0}))             \
    X(split_cap, TG_EINVAL, "tg_split: pieces of 1 along axis 1 of x (3,4) " \
      "are 4, more than out's 2", split_cap(f))                              \
    X(split_huge_size, TG_OK, "", split_huge_size(f))                        \
    X(chunk_zero, TG_EINVAL, "tg_chunk: chunks is 0; it must be at least 1", \
      tg_chunk(f->t, f->a34, 0, 0, (tg_tensor *[1]){0}))                     \
    X(chunk_scalar, TG_ESHAPE, "tg_chunk: x has shape (); a scalar has no "  \
      "axis to split", tg_chunk(f->t, f->s, 0, 2, (tg_tensor *[2]){0}))      \
    X(nll_label, TG_EINVAL, "tg_nll_loss: label 4 in row 1 is outside 0..3 " \
      "(input (3,4))", nll_label(f))                                         \
    X(nll_not_2d, TG_ESHAPE, "tg_nll_loss: input has shape (5,); it must be "\
      "(N,C)", ptr(tg_nll_loss(f->t, f->b5, (const int64_t[]){0}, -100)))    \
    X(bce_shapes, TG_ESHAPE, "tg_bce_with_logits: logits (3,4) and target "  \
      "(5,) must have the same shape", bce_shapes(f))                        \
    X(bce_pos_weight, TG_ESHAPE, "tg_bce_with_logits: pos_weight (5,) does " \
      "not broadcast to logits (3,4)", bce_pos_weight(f))                    \
    X(ce_ex_smoothing, TG_EINVAL, "tg_cross_entropy_ex: label_smoothing is " \
      "1.5; it must be in [0, 1]", ce_ex_smoothing(f))                       \
    X(ce_ex_label, TG_EINVAL, "tg_cross_entropy_ex: label 7 in row 1 is "    \
      "outside 0..3 (input (3,4))", ce_ex_label(f))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_index_seq", rows, N_ROWS);
}
