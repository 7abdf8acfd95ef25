/*
 * test_audit.c — regression tests for the bugs the session-6 audit found
 * (a differential sweep against PyTorch 1.13 and hostile inputs over the
 * CNN and sequence APIs). Each test states what went wrong before its fix
 * and fails without it; the expected values are PyTorch's, worked out by
 * hand in the comments so that they need no fixture.
 */
#include "tg_test.h"

#include <float.h>
#include <stdint.h>

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                    : tg_data_f64(x)[i];
}

/* ---- max_pool2d: a dilated window that holds padding only ------------ */

/* x (2, 1, 1, 3): two planes of one row. Kernel (2, 1), padding (1, 0),
 * dilation (2, 1): the one output row reads rows -1 and 1 of x, both
 * padding, so every window is empty. PyTorch gives -inf there (and its
 * backward then writes outside the input: its own bug). The window's
 * argmax was -1, so plane 1 read plane 0's last element (3 instead of
 * -inf), plane 0 read the element before x, and backward added the
 * gradient there: a heap write outside gx. Now: -inf, no gradient. */
START_TEST(max_pool_window_of_padding_only)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    int64_t xs[4] = {2, 1, 1, 3};
    double xv[6] = {1, 2, 3, 4, 5, 6};
    tg_tensor *x = tg_test_leaf(t, dt, 4, xs, xv);
    tg_pool2d_options o = tg_pool2d_defaults(2, 1);
    o.stride[0] = 1;
    o.padding[0] = 1;
    o.dilation[0] = 2;
    tg_tensor *y = tg_max_pool2d(t, x, &o);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_ndim(y), 4);
    ck_assert_int_eq(tg_shape(y)[2], 1);
    ck_assert_int_eq(tg_shape(y)[3], 3);
    for (int64_t i = 0; i < 6; i++)
        ck_assert_msg(isinf(at(y, i)) && at(y, i) < 0, "y[%lld] = %g, "
                      "PyTorch -inf", (long long)i, at(y, i));
    /* sum(y * 0) would be NaN (-inf * 0); the gradient is what counts:
     * backward with an upstream 1 per output, as y.backward(ones). */
    tg_tensor *gy = tg_ones(t, dt, 4, tg_shape(y));
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, gy))), TG_OK);
    tg_tensor *g = tg_grad(x);
    for (int64_t i = 0; g != NULL && i < 6; i++)
        ck_assert_msg(at(g, i) == 0.0, "gx[%lld] = %g", (long long)i,
                      at(g, i));
    tg_tape_free(t);
}
END_TEST

/* The neighbour case that must keep working: a 3-D x (1, 2, 3) =
 * [[1, 2, 3], [4, 5, 6]], kernel (2, 2), padding (1, 1), dilation (2, 1),
 * stride 1. Output row 0 reads rows -1 and 1 (row 1 only), output row 1
 * rows 0 and 2 (row 0 only): no window is empty. Column j reads columns
 * j-1 and j, so y = [[4, 5, 6, 6], [1, 2, 3, 3]], and the last column of
 * each row wins twice. The recorded derivative (create_graph) runs
 * through the same plan. */
START_TEST(max_pool_dilated_rows_keep_working)
{
    tg_tape *t = tg_tape_new();
    int64_t xs[3] = {1, 2, 3};
    double xv[6] = {1, 2, 3, 4, 5, 6};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 3, xs, xv);
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    o.stride[0] = o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    o.dilation[0] = 2;
    tg_tensor *y = tg_max_pool2d(t, x, &o);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_shape(y)[1], 2);
    ck_assert_int_eq(tg_shape(y)[2], 4);
    const double want[8] = {4, 5, 6, 6, 1, 2, 3, 3};
    for (int i = 0; i < 8; i++)
        ck_assert_close(at(y, i), want[i], 0, 0);
    tg_tensor *gx = NULL, *root = tg_sum(t, y);
    tg_vjp_options vo = tg_vjp_defaults();
    vo.create_graph = true;
    ck_assert_int_eq(tg_vjp(t, 1, &root, NULL, 1, &x, &gx, &vo), TG_OK);
    const double wg[6] = {1, 1, 2, 1, 1, 2};
    for (int i = 0; i < 6; i++)
        ck_assert_close(at(gx, i), wg[i], 0, 0);
    tg_tape_free(t);
}
END_TEST

/* ---- nll_loss / cross_entropy_ex: an ignored row holding inf or NaN --- */

/* PyTorch skips a row whose label is ignore_index; tapegrad multiplied its
 * pick by a weight 0, and 0 * -inf is NaN: the loss was NaN. logp
 * [[-0.5, -1], [-inf, NaN], [-2, -0.25]] with labels {0, 7, 1} and
 * ignore_index 7: loss = (0.5 + 0.25) / 2 = 0.375, d/d logp = -1/2 at
 * (0, 0) and (2, 1), 0 elsewhere (the ignored row too). */
START_TEST(nll_loss_skips_nonfinite_ignored_row)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    int64_t s[2] = {3, 2};
    double v[6] = {-0.5, -1, -INFINITY, NAN, -2, -0.25};
    tg_tensor *lp = tg_test_leaf(t, dt, 2, s, v);
    const int64_t lab[3] = {0, 7, 1};
    tg_tensor *y = tg_nll_loss(t, lp, lab, 7);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_close(tg_item(y), 0.375, 0, 0);
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    const double wg[6] = {-0.5, 0, 0, 0, 0, -0.5};
    for (int i = 0; i < 6; i++)
        ck_assert_msg(at(tg_grad(lp), i) == wg[i], "g[%d] = %g, PyTorch %g",
                      i, at(tg_grad(lp), i), wg[i]);
    tg_tape_free(t);
}
END_TEST

/* cross_entropy_ex with label smoothing 0.2 over logits [[0, ln 3],
 * [-inf, -inf]] (the second row all -inf: its log_softmax is NaN) and
 * labels {1, -100}: only row 0 counts. Its logp = [ln(1/4), ln(3/4)],
 * so loss = 0.8 (-ln 3/4) + 0.2 / 2 (-ln 1/4 - ln 3/4). The smoothing term
 * summed the ignored row times 0 (NaN); the nll term too. */
START_TEST(cross_entropy_ex_skips_nonfinite_ignored_row)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    int64_t s[2] = {2, 2};
    double v[4] = {0, log(3.0), -INFINITY, -INFINITY};
    tg_tensor *x = tg_test_leaf(t, dt, 2, s, v);
    const int64_t lab[2] = {1, -100};
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = 0.2;
    tg_tensor *y = tg_cross_entropy_ex(t, x, lab, &o);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    double want = -0.8 * log(0.75) - 0.1 * (log(0.25) + log(0.75));
    ck_assert_close(tg_item(y), want, dt == TG_F32 ? 1e-6 : 1e-14, 0);
    /* d/dx[0] = softmax - target, target = 0.8 onehot + 0.2 / 2:
     * (1/4 - 0.1, 3/4 - 0.9). */
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    ck_assert_close(at(tg_grad(x), 0), 0.15, 1e-6, 1e-7);
    ck_assert_close(at(tg_grad(x), 1), -0.15, 1e-6, 1e-7);
    tg_tape_free(t);
}
END_TEST

/* ---- cross_entropy: the loss of a confident right answer ------------- */

/* Logits (28.23, -56.69, -42.74, 48.29) with label 3 (the max): the loss
 * is log(1 + e^(28.23 - 48.29) + ...) ~ 1.9e-9. It was lse - x[label],
 * two numbers near 48.29 that agree in 9 digits, so only 6 or 7 digits of
 * the loss were right (PyTorch's log_softmax form keeps them all); now
 * (max - x[label]) + log(s), exact for the max. */
START_TEST(cross_entropy_keeps_digits_of_small_loss)
{
    tg_tape *t = tg_tape_new();
    int64_t s[2] = {1, 4};
    double v[4] = {28.23, -56.69, -42.74, 48.29};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 2, s, v);
    const int64_t lab[1] = {3};
    tg_tensor *y = tg_cross_entropy(t, x, lab);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    /* PyTorch's -log_softmax: (x[label] - max) = 0, minus log(s) with s
     * the sum of exp(x - max) (s rounds to 1 + 1.9e-9 in double, which
     * log1p of the small terms would beat, but PyTorch does not). */
    double s_ = 1.0 + exp(28.23 - 48.29) + exp(-56.69 - 48.29) +
                exp(-42.74 - 48.29);
    ck_assert_close(tg_item(y), log(s_), 1e-12, 0);
    tg_tape_free(t);
}
END_TEST

/* ---- lr schedules: a warmup that decays to 0 ------------------------- */

/* LinearLR(start 0.1, end 0.0, 3 iters) as PyTorch: the rate goes 0.1,
 * 0.0667, 0.0333, then 0 for good. (0.1 + (0 - 0.1) * 3 / 3) rounds to
 * -1.4e-17, which tg_optimizer_set_lr refused: the third step failed and
 * the rate stayed at 0.0333. */
START_TEST(warmup_to_zero)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    int64_t one = 1;
    ck_assert_int_eq(tg_params_add(p, tg_zeros(t, TG_F64, 1, &one)), TG_OK);
    tg_sgd_options so = tg_sgd_defaults(1.0);
    tg_optimizer *o = tg_sgd_new(t, p, &so);
    tg_lr_schedule *s = tg_lr_warmup_new(t, o, 0.1, 0.0, 3);
    ck_assert_msg(s != NULL, "%s", tg_last_error());
    const double want[6] = {0.1, 0.2 / 3, 0.1 / 3, 0, 0, 0};
    for (int e = 0; e < 6; e++) {
        ck_assert_close(tg_optimizer_lr(o), want[e], 1e-14, 1e-18);
        ck_assert_close(tg_lr_schedule_lr_at(s, e), want[e], 1e-14, 1e-18);
        ck_assert_msg(tg_lr_schedule_step(s) == TG_OK, "epoch %d: %s", e,
                      tg_last_error());
    }
    tg_tape_free(t);
}
END_TEST

/* ---- GRU and LSTM cells: one batch size, as PyTorch ----------------- */

/* x (2, 3) with h (4,) broadcast to a (2, 4) answer, h of batch 1 or 5
 * likewise, and a 3-D x went through; PyTorch's cells refuse all of them
 * ("Input batch size 2 doesn't match hidden0 batch size 4"). Each is now
 * TG_ESHAPE naming the call, and records nothing. */
START_TEST(cells_refuse_mismatched_batch)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    ck_assert_int_eq(tg_rng_seed(&rng, 1, 0), TG_OK);
    tg_gru_cell g;
    tg_lstm_cell l;
    ck_assert_int_eq(tg_gru_cell_init(&g, t, NULL, &rng, TG_F64, 3, 4), TG_OK);
    ck_assert_int_eq(tg_lstm_cell_init(&l, t, NULL, &rng, TG_F64, 3, 4),
                     TG_OK);
    int64_t x2[2] = {2, 3}, x3[3] = {1, 2, 3}, h1[1] = {4}, h2[2] = {2, 4},
            h5[2] = {5, 4}, hb1[2] = {1, 4}, h3[3] = {1, 2, 4}, x1[1] = {3};
    tg_tensor *x = tg_ones(t, TG_F64, 2, x2), *xv = tg_ones(t, TG_F64, 1, x1);
    tg_tensor *hv = tg_ones(t, TG_F64, 1, h1), *h = tg_ones(t, TG_F64, 2, h2);
    tg_tensor *bad[3] = {hv, tg_ones(t, TG_F64, 2, h5),
                         tg_ones(t, TG_F64, 2, hb1)};
    tg_tensor *x3d = tg_ones(t, TG_F64, 3, x3), *h3d = tg_ones(t, TG_F64, 3, h3);
    int64_t size = tg_tape_size(t);
    for (int i = 0; i < 3; i++) {
        ck_assert_null_status(tg_gru_cell_forward(t, &g, x, bad[i]),
                              TG_ESHAPE, "tg_gru_cell_forward: h (");
        tg_tensor *cs = h;
        ck_assert_null_status(tg_lstm_cell_forward(t, &l, x, bad[i], h, &cs),
                              TG_ESHAPE, "tg_lstm_cell_forward: h (");
        ck_assert_ptr_null(cs);
        ck_assert_null_status(tg_lstm_cell_forward(t, &l, x, h, bad[i], &cs),
                              TG_ESHAPE, "tg_lstm_cell_forward: c (");
    }
    ck_assert_null_status(tg_gru_cell_forward(t, &g, xv, h), TG_ESHAPE,
                          "does not match x (3,)");
    ck_assert_null_status(tg_gru_cell_forward(t, &g, x3d, h3d), TG_ESHAPE,
                          "tg_gru_cell_forward: x (1,2,3) must be (B, I) or "
                          "(I,)");
    ck_assert_int_eq(tg_tape_size(t), size);
    /* The shapes PyTorch takes still work: batched and unbatched. */
    ck_assert_ptr_nonnull(tg_gru_cell_forward(t, &g, x, h));
    ck_assert_ptr_nonnull(tg_gru_cell_forward(t, &g, xv, hv));
    tg_tensor *cs = NULL;
    ck_assert_ptr_nonnull(tg_lstm_cell_forward(t, &l, xv, hv, hv, &cs));
    ck_assert_int_eq(tg_ndim(cs), 1);
    tg_tape_free(t);
}
END_TEST

/* ---- MHA: an in-projection bias of the wrong length ------------------ */

/* b_in of 13 values for E = 4 was cut into thirds [0:4], [4:8], [8:12]
 * and the 13th ignored; one of 1 value failed inside tg_slice with a
 * message about slices. PyTorch checks in_proj_bias's shape; so now does
 * tg_mha_forward. */
START_TEST(mha_checks_in_proj_bias)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    ck_assert_int_eq(tg_rng_seed(&rng, 1, 0), TG_OK);
    tg_mha m;
    ck_assert_int_eq(tg_mha_init(&m, t, NULL, &rng, TG_F64, 4, 2), TG_OK);
    int64_t xs[3] = {2, 3, 4}, n13 = 13, n1 = 1, col[2] = {12, 1};
    tg_tensor *x = tg_ones(t, TG_F64, 3, xs);
    tg_tensor *bads[3] = {tg_zeros(t, TG_F64, 1, &n13),
                          tg_zeros(t, TG_F64, 1, &n1),
                          tg_zeros(t, TG_F64, 2, col)};
    tg_tensor *good = m.b_in;
    for (int i = 0; i < 3; i++) {
        m.b_in = bads[i];
        int64_t size = tg_tape_size(t);
        ck_assert_null_status(tg_mha_forward(t, &m, x, false), TG_ESHAPE,
                              "tg_mha_forward: the layer's in-projection "
                              "bias (");
        ck_assert_message("must be (12,), 3E for E = 4");
        ck_assert_int_eq(tg_tape_size(t), size);
    }
    m.b_in = good;
    ck_assert_ptr_nonnull(tg_mha_forward(t, &m, x, false));
    m.b_in = NULL;
    ck_assert_ptr_nonnull(tg_mha_forward(t, &m, x, true));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tg_test_tcase("audit");
    tcase_add_loop_test(tc, max_pool_window_of_padding_only, 0, 2);
    tcase_add_test(tc, max_pool_dilated_rows_keep_working);
    tcase_add_loop_test(tc, nll_loss_skips_nonfinite_ignored_row, 0, 2);
    tcase_add_loop_test(tc, cross_entropy_ex_skips_nonfinite_ignored_row, 0,
                        2);
    tcase_add_test(tc, cross_entropy_keeps_digits_of_small_loss);
    tcase_add_test(tc, warmup_to_zero);
    tcase_add_test(tc, cells_refuse_mismatched_batch);
    tcase_add_test(tc, mha_checks_in_proj_bias);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
