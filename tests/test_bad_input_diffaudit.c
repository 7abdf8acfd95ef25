/*
 * test_bad_input_diffaudit.c — hostile inputs for the ops the differential
 * suite (diff_second) compares with PyTorch: conv, pooling, the index ops
 * and the losses, given what an independent suite would try after the
 * tables of test_bad_input_conv_pool.c and test_bad_input_index_seq.c:
 * index tensors holding NaN, infinities, fractions and values beyond
 * int64; a label smoothing of NaN; an output whose element count
 * overflows int64; tensors freed by a reset; mixed dtypes in the inputs
 * those tables do not mix; and the extremes that must work (a step of
 * INT64_MAX, -0.0 as an index, a 2^20 pooling window). Each row gives its
 * status and a message naming the call, records nothing on the tape
 * when refused, and leaks nothing (tests/support/tg_bad_input.h).
 *
 * Not here because tapegrad cannot express them: a 0-size batch (PyTorch
 * runs conv2d on (0, C, H, W) and returns (0, O, OH, OW); tapegrad's
 * tensors have no empty dimensions, so tg_empty refuses the input, see
 * test_bad_input_tensor.c) and non-contiguous views (every tapegrad tensor
 * is contiguous; tg_slice copies).
 */
#include "tg_bad_input.h"

/* gather (or scatter_add) of a34 (3,4) along axis 1 with an index (3,4)
 * full of v; a refused call records nothing. */
static int index_of(fx *f, double v, bool scatter)
{
    tg_tensor *idx = tg_full(f->t, TG_F32, 2, s34, v);
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = scatter ? tg_scatter_add(f->t, f->a34, 1, idx, f->a34)
                           : tg_gather(f->t, f->a34, 1, idx);
    return ptr_unchanged(f, before, y);
}

/* -0.0 is the whole number 0, as PyTorch's integer index 0. */
static int gather_minus_zero(fx *f)
{
    tg_tensor *idx = tg_full(f->t, TG_F32, 2, s34, -0.0);
    tg_tensor *y = tg_gather(f->t, f->a34, 1, idx);
    if (y == NULL)
        return ptr(y);
    for (int64_t i = 0; i < 12; i++)
        if (tg_data_f32(y)[i] != tg_data_f32(f->a34)[i / 4 * 4])
            return expect(false, "gather at -0.0 picks column 0");
    return TG_OK;
}

/* cross_entropy_ex on a34 with labels 0, 1, 2 and smoothing e. */
static int smoothing(fx *f, double e)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = e;
    int64_t before = tg_tape_size(f->t);
    return ptr_unchanged(f, before, tg_cross_entropy_ex(
                                        f->t, f->a34, (int64_t[]){0, 1, 2},
                                        &o));
}

/* conv2d of a (1,1,1,1) x with a 1x1 kernel, padding p on both sides: an
 * output of (2p + 1)^2 elements. */
static int conv_padded(fx *f, int64_t p)
{
    int64_t one[4] = {1, 1, 1, 1};
    tg_tensor *x = tg_ones(f->t, TG_F32, 4, one);
    tg_tensor *w = tg_ones(f->t, TG_F32, 4, one);
    tg_set_requires_grad(w, true);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = p;
    int64_t before = tg_tape_size(f->t);
    return ptr_unchanged(f, before, tg_conv2d(f->t, x, w, NULL, &o));
}

/* adaptive_avg_pool2d of a (16,1,1,1) x to 2^30 x 2^30: 2^64 elements. */
static int adaptive_huge(fx *f)
{
    int64_t xs[4] = {16, 1, 1, 1};
    tg_tensor *x = tg_ones(f->t, TG_F32, 4, xs);
    tg_set_requires_grad(x, true);
    int64_t before = tg_tape_size(f->t);
    return ptr_unchanged(f, before, tg_adaptive_avg_pool2d(
                                        f->t, x, (int64_t)1 << 30,
                                        (int64_t)1 << 30));
}

/* A tensor of a tape that was reset since: each op refuses it. */
static int stale(fx *f, int which)
{
    tg_tape *u = tg_tape_new();
    if (u == NULL)
        return ptr(u);
    int64_t s4[4] = {1, 1, 3, 4};
    tg_tensor *old = tg_ones(u, TG_F32, 4, s4);
    tg_tape_reset(u);
    tg_tensor *x = tg_ones(f->t, TG_F32, 4, s4);
    tg_tensor *w = tg_ones(f->t, TG_F32, 4, (int64_t[]){1, 1, 1, 1});
    tg_pool2d_options po = tg_pool2d_defaults(1, 1);
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = NULL;
    switch (which) {
    case 0: y = tg_conv2d(f->t, old, w, NULL, NULL); break;
    case 1: y = tg_max_pool2d(f->t, old, &po); break;
    case 2: y = tg_gather(f->t, x, 1, old); break;
    case 3: y = tg_bce_with_logits(f->t, x, old, NULL); break;
    case 4: y = tg_where(f->t, old, x, x); break;
    default: y = tg_slice(f->t, old, 3, 0, 2, 1); break;
    }
    int rc = ptr_unchanged(f, before, y);
    tg_tape_free(u);
    return rc;
}

/* The ops whose inputs the other tables do not mix: one of f64. */
static int mixed(fx *f, int which)
{
    tg_tensor *d = tg_zeros(f->t, TG_F64, 2, s34);
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = NULL;
    switch (which) {
    case 0: y = tg_gather(f->t, f->a34, 1, d); break;
    case 1: y = tg_scatter_add(f->t, f->a34, 1, tg_zeros(f->t, TG_F32, 2,
                                                        s34), f->d34);
        break;
    case 2: y = tg_where(f->t, d, f->a34, f->a34); break;
    case 3: y = tg_bce_with_logits(f->t, f->a34, d, NULL); break;
    default: {
        int64_t xs[4] = {1, 1, 3, 4}, ws[4] = {2, 1, 1, 1}, bs = 2;
        y = tg_conv2d(f->t, tg_ones(f->t, TG_F32, 4, xs),
                      tg_ones(f->t, TG_F32, 4, ws),
                      tg_ones(f->t, TG_F64, 1, &bs), NULL);
    }
    }
    if (which != 4)
        return ptr_unchanged(f, before, y);
    return ptr(y); /* conv's x and w were made after `before` */
}

/* slice of a34 along axis 1 with a step of INT64_MAX from start: the one
 * element at start. */
static int slice_huge_step(fx *f, int64_t start, int64_t step)
{
    tg_tensor *y = tg_slice(f->t, f->a34, 1, start,
                            step > 0 ? INT64_MAX : INT64_MIN, step);
    if (y == NULL)
        return ptr(y);
    if (tg_ndim(y) != 2 || tg_shape(y)[1] != 1)
        return expect(false, "one column");
    for (int i = 0; i < 3; i++)
        if (tg_data_f32(y)[i] != tg_data_f32(f->a34)[4 * i + start])
            return expect(false, "the column at start");
    return TG_OK;
}

/* A 2^20-tall max/avg window with padding 2^19 over a 1x1 image: one
 * window, which holds the image's one value. */
static int huge_window(fx *f, bool avg)
{
    int64_t s[3] = {1, 1, 1};
    tg_tensor *x = tg_full(f->t, TG_F32, 3, s, 3.0);
    tg_pool2d_options o = tg_pool2d_defaults(1 << 20, 1);
    o.padding[0] = 1 << 19;
    o.count_include_pad = false;
    tg_tensor *y = avg ? tg_avg_pool2d(f->t, x, &o) : tg_max_pool2d(f->t, x, &o);
    if (y == NULL)
        return ptr(y);
    return expect(tg_numel(y) == 1 && tg_data_f32(y)[0] == 3.0f,
                  "one window holding 3");
}

#define ROWS(X)                                                              \
    /* Index tensors: whole numbers in range, nothing else. */             \
    X(gather_index_nan, TG_EINVAL, "tg_gather: index nan at position 0 of " \
      "index (3,4) is not a whole number in 0..3", index_of(f, NAN, false)) \
    X(gather_index_inf, TG_EINVAL, "tg_gather: index inf at position 0",     \
      index_of(f, INFINITY, false))                                          \
    X(gather_index_minus_inf, TG_EINVAL, "tg_gather: index -inf",            \
      index_of(f, -INFINITY, false))                                         \
    X(gather_index_half, TG_EINVAL, "tg_gather: index 0.5 at position 0",    \
      index_of(f, 0.5, false))                                               \
    X(gather_index_beyond_int64, TG_EINVAL, "tg_gather: index 9.3e+18",     \
      index_of(f, 9.3e18, false))                                            \
    X(gather_index_minus_zero, TG_OK, "", gather_minus_zero(f))              \
    X(scatter_add_index_nan, TG_EINVAL, "tg_scatter_add: index nan at "      \
      "position 0", index_of(f, NAN, true))                                  \
    X(scatter_add_index_minus_one, TG_EINVAL, "tg_scatter_add: index -1 at " \
      "position 0", index_of(f, -1, true))                                   \
    /* Label smoothing: a number in [0, 1]. */                              \
    X(ce_smoothing_nan, TG_EINVAL, "tg_cross_entropy_ex: label_smoothing "   \
      "is nan; it must be in [0, 1]", smoothing(f, NAN))                     \
    X(ce_smoothing_inf, TG_EINVAL, "tg_cross_entropy_ex: label_smoothing "   \
      "is inf", smoothing(f, INFINITY))                                      \
    X(ce_smoothing_above_one, TG_EINVAL, "tg_cross_entropy_ex: "             \
      "label_smoothing is 1.5", smoothing(f, 1.5))                           \
    /* An output whose element count overflows int64: refused before any   \
     * allocation. */                                                       \
    X(conv_output_overflows, TG_EINVAL, "tg_conv2d: tg_empty: the shape's "  \
      "element count overflows", conv_padded(f, INT32_MAX))                  \
    X(adaptive_output_overflows, TG_EINVAL, "tg_adaptive_avg_pool2d: "       \
      "tg_empty: the shape's element count overflows", adaptive_huge(f))     \
    /* Tensors freed by a reset of their tape. */                           \
    X(conv_stale_x, TG_ESTATE, "tg_conv2d: tensor was freed by a reset",     \
      stale(f, 0))                                                           \
    X(max_pool_stale_x, TG_ESTATE, "tg_max_pool2d: tensor was freed by a "  \
      "reset", stale(f, 1))                                                  \
    X(gather_stale_index, TG_ESTATE, "tg_gather: tensor was freed by a "    \
      "reset", stale(f, 2))                                                  \
    X(bce_stale_target, TG_ESTATE, "tg_bce_with_logits: tensor was freed "  \
      "by a reset", stale(f, 3))                                             \
    X(where_stale_cond, TG_ESTATE, "tg_where: tensor was freed by a reset", \
      stale(f, 4))                                                           \
    X(slice_stale_x, TG_ESTATE, "tg_slice: tensor was freed by a reset",     \
      stale(f, 5))                                                           \
    /* Mixed dtypes. */                                                     \
    X(gather_index_f64, TG_EDTYPE, "tg_gather: inputs are f32 and f64",      \
      mixed(f, 0))                                                           \
    X(scatter_add_src_f64, TG_EDTYPE, "tg_scatter_add: inputs are f32 and " \
      "f64", mixed(f, 1))                                                    \
    X(where_cond_f64, TG_EDTYPE, "tg_where: inputs are f64 and f32",         \
      mixed(f, 2))                                                           \
    X(bce_target_f64, TG_EDTYPE, "tg_bce_with_logits: logits, target and "  \
      "pos_weight must have one dtype (logits are f32, target f64)",         \
      mixed(f, 3))                                                           \
    X(conv_bias_f64, TG_EDTYPE, "tg_conv2d: inputs are f32 and f64",         \
      mixed(f, 4))                                                           \
    /* Extremes that work. */                                               \
    X(slice_step_int64_max, TG_OK, "", slice_huge_step(f, 2, INT64_MAX))     \
    X(slice_step_minus_int64_max, TG_OK, "",                                 \
      slice_huge_step(f, 3, -INT64_MAX))                                     \
    X(max_pool_window_2_20, TG_OK, "", huge_window(f, false))                \
    X(avg_pool_window_2_20, TG_OK, "", huge_window(f, true))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_diffaudit", rows, N_ROWS);
}
