/*
 * test_loss_options.c — the reductions and weights of the losses
 * (tg_cross_entropy_ex, tg_nll_loss_ex, tg_bce_with_logits_ex;
 * tapegrad/index.h): values
 * worked out by hand, the cases where every row is ignored, the defaults
 * giving the very bits they gave before the options existed, the weight
 * staying a constant, and f64 gradient checks of first and second order
 * (the second through the ops' recorded derivatives, backward_ops).
 * PyTorch's own answers for random cases are in test_diff_torch.c
 * (fixtures/diff, families lossopt and second).
 */
#include "tg_test.h"

#include <math.h>

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Element i of x (f32 or f64), as a double; NaN for a NULL x. */
static double at(const tg_tensor *x, int64_t i)
{
    if (x == NULL)
        return NAN;
    return tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                    : tg_data_f64(x)[i];
}

/* logp (3,3) = -1..-9 row by row (nll_loss does not ask that rows be
 * log-probabilities), labels 0, 2 and an ignored row, class weights
 * 2, 1, 0.5: row losses 2 * 1 and 0.5 * 6 and 0, so
 *     none [2, 3, 0], sum 5, mean 5 / (2 + 0.5) = 2,
 * and d mean / d logp = -2/2.5 at (0,0), -0.5/2.5 at (1,2), 0 elsewhere. */
START_TEST(nll_loss_ex_by_hand)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    static const double lv[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    static const int64_t labels[3] = {0, 2, -100};
    tg_tensor *logp = tg_test_leaf(t, dt, 2, (int64_t[]){3, 3}, lv);
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = tg_test_tensor(t, dt, 1, (int64_t[]){3},
                              (const double[]){2, 1, 0.5});
    o.reduction = TG_REDUCE_NONE;
    tg_tensor *none = tg_nll_loss_ex(t, logp, labels, &o);
    ck_assert_ptr_nonnull(none);
    ck_assert_int_eq(tg_ndim(none), 1);
    ck_assert_int_eq(tg_shape(none)[0], 3);
    static const double want_none[3] = {2, 3, 0};
    for (int64_t i = 0; i < 3; i++)
        ck_assert_close(at(none, i), want_none[i], 1e-6, 0);
    o.reduction = TG_REDUCE_SUM;
    ck_assert_close(tg_item(tg_nll_loss_ex(t, logp, labels, &o)), 5, 1e-6, 0);
    o.reduction = TG_REDUCE_MEAN;
    tg_tensor *mean = tg_nll_loss_ex(t, logp, labels, &o);
    ck_assert_close(tg_item(mean), 2, 1e-6, 0);
    ck_assert_int_eq(tg_backward(t, mean), TG_OK);
    for (int64_t k = 0; k < 9; k++) {
        double want = k == 0 ? -0.8 : k == 5 ? -0.2 : 0.0;
        ck_assert_close(at(tg_grad(logp), k), want, 1e-6, 0);
    }
    tg_tape_free(t);
}
END_TEST

/* Logits of 0 (every class 1/4: logp = -ln 4), labels 1 and 3, class
 * weights c = 1, 2, 3, 4 (sum S = 10), smoothing e = 1/2: row i's loss is
 *     ((1 - e) c[y_i] + (e / C) S) ln 4  =  2.25 ln 4 and 3.25 ln 4,
 * their sum 5.5 ln 4, the mean that over D = c[1] + c[3] = 6, and
 *     d mean / d x[i][k] = ((1 - e) c[y_i] (1/4 - [k == y_i])
 *                           + (e / C) (S / 4 - c[k])) / D. */
START_TEST(cross_entropy_weighted_smoothed_by_hand)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    static const double c[4] = {1, 2, 3, 4};
    static const int64_t labels[2] = {1, 3};
    double ln4 = log(4.0), e = 0.5, tol = _i ? 1e-6 : 1e-14;
    tg_tensor *x = tg_test_leaf(t, dt, 2, (int64_t[]){2, 4},
                                (const double[8]){0});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = tg_test_tensor(t, dt, 1, (int64_t[]){4}, c);
    o.label_smoothing = e;
    o.reduction = TG_REDUCE_NONE;
    tg_tensor *none = tg_cross_entropy_ex(t, x, labels, &o);
    ck_assert_ptr_nonnull(none);
    ck_assert_close(at(none, 0), 2.25 * ln4, tol, 0);
    ck_assert_close(at(none, 1), 3.25 * ln4, tol, 0);
    o.reduction = TG_REDUCE_SUM;
    ck_assert_close(tg_item(tg_cross_entropy_ex(t, x, labels, &o)),
                    5.5 * ln4, tol, 0);
    o.reduction = TG_REDUCE_MEAN;
    tg_tensor *mean = tg_cross_entropy_ex(t, x, labels, &o);
    ck_assert_close(tg_item(mean), 5.5 * ln4 / 6, tol, 0);
    ck_assert_int_eq(tg_backward(t, mean), TG_OK);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            double cy = c[labels[i]];
            double want = ((1 - e) * cy * (0.25 - (k == labels[i])) +
                           e / 4 * (10.0 / 4 - c[k])) / 6;
            ck_assert_close(at(tg_grad(x), i * 4 + k), want, tol, 1e-7);
        }
    tg_tape_free(t);
}
END_TEST

/* Every row ignored: the mean is NaN (PyTorch's 0/0) with gradient 0, the
 * sum 0, none all 0; for both losses, with and without weights. */
START_TEST(every_row_ignored)
{
    tg_tape *t = tg_tape_new();
    static const int64_t labels[3] = {1, 1, 1};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 2, (int64_t[]){3, 2},
                                (const double[]){1, 2, 3, 4, 5, 6});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = 1;
    o.label_smoothing = (_i & 1) ? 0.0 : 0.3;
    o.weight = (_i & 2) ? tg_test_tensor(t, TG_F64, 1, (int64_t[]){2},
                                         (const double[]){0.5, 3})
                        : NULL;
    tg_tensor *(*fn)(tg_tape *, tg_tensor *, const int64_t *,
                     const tg_cross_entropy_options *) =
        (_i & 1) ? tg_nll_loss_ex : tg_cross_entropy_ex;
    tg_tensor *mean = fn(t, x, labels, &o);
    ck_assert(isnan(tg_item(mean)));
    ck_assert_int_eq(tg_backward(t, mean), TG_OK);
    for (int64_t k = 0; k < 6; k++)
        ck_assert(at(tg_grad(x), k) == 0.0);
    o.reduction = TG_REDUCE_SUM;
    ck_assert(tg_item(fn(t, x, labels, &o)) == 0.0);
    o.reduction = TG_REDUCE_NONE;
    tg_tensor *none = fn(t, x, labels, &o);
    for (int64_t i = 0; i < 3; i++)
        ck_assert(at(none, i) == 0.0);
    tg_tape_free(t);
}
END_TEST

/* Options that change nothing give the bits they gave before: weights of
 * 1 are no weights; NULL options are tg_nll_loss; the sum without weights
 * is the count of kept rows times the mean (to rounding). */
START_TEST(neutral_options_same_bits)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 9, 1);
    tg_tensor *x = tg_rand_normal(t, &rng, dt, 2, (int64_t[]){5, 4}, 0, 2);
    static const int64_t labels[5] = {3, 0, 2, 0, 1};
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = 0; /* two rows ignored */
    o.label_smoothing = 0.25;
    double plain = tg_item(tg_cross_entropy_ex(t, x, labels, &o));
    o.weight = tg_ones(t, dt, 1, (int64_t[]){4});
    ck_assert(tg_item(tg_cross_entropy_ex(t, x, labels, &o)) == plain);
    o.reduction = TG_REDUCE_SUM;
    ck_assert_close(tg_item(tg_cross_entropy_ex(t, x, labels, &o)),
                    3 * plain, _i ? 1e-6 : 1e-14, 0);
    o = tg_cross_entropy_defaults();
    tg_tensor *logp = tg_log_softmax(t, x, 1);
    double nll = tg_item(tg_nll_loss(t, logp, labels, -100));
    ck_assert(tg_item(tg_nll_loss_ex(t, logp, labels, NULL)) == nll);
    o.weight = tg_ones(t, dt, 1, (int64_t[]){4});
    ck_assert(tg_item(tg_nll_loss_ex(t, logp, labels, &o)) == nll);
    tg_tape_free(t);
}
END_TEST

/* The weight is a constant (as PyTorch's): a weight that requires grad
 * gets none, and its values are read when the loss is made. */
START_TEST(weight_is_a_constant)
{
    tg_tape *t = tg_tape_new();
    static const int64_t labels[2] = {0, 1};
    tg_tensor *x = tg_test_leaf(t, TG_F64, 2, (int64_t[]){2, 2},
                                (const double[]){0, 0, 0, 0});
    tg_tensor *w = tg_test_leaf(t, TG_F64, 1, (int64_t[]){2},
                                (const double[]){1, 3});
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = w;
    o.reduction = TG_REDUCE_SUM;
    o.label_smoothing = 0.5;
    tg_tensor *y = tg_cross_entropy_ex(t, x, labels, &o);
    tg_mut_f64(w)[1] = 100; /* too late to matter */
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    ck_assert_ptr_null(tg_grad(w));
    /* d/dx[0][0] = 0.5 (1/2 - 1) + 0.25 (4/2 - 1) = 0 with c = 1, 3 */
    ck_assert_close(at(tg_grad(x), 0), 0.0, 0, 1e-15);
    ck_assert_close(at(tg_grad(x), 1), 0.0, 0, 1e-15);
    tg_tape_free(t);
}
END_TEST

/* bce_with_logits_ex at logits of 0: every element's loss is ln 2 (for
 * any target), times the weight v = 1, 3 broadcast along the rows: none
 * [ln 2, 3 ln 2; ln 2, 3 ln 2], sum 8 ln 2, mean 2 ln 2 (over the 4
 * elements, not the sum of v), and d mean / d x = v (1/2 - y) / 4; the
 * weight gets no gradient, as PyTorch's. */
START_TEST(bce_with_logits_ex_by_hand)
{
    tg_dtype dt = _i ? TG_F32 : TG_F64;
    tg_tape *t = tg_tape_new();
    static const double yv[4] = {0, 1, 1, 0}, v[2] = {1, 3};
    double ln2 = log(2.0), tol = _i ? 1e-6 : 1e-14;
    tg_tensor *x = tg_test_leaf(t, dt, 2, (int64_t[]){2, 2},
                                (const double[4]){0});
    tg_tensor *y = tg_test_tensor(t, dt, 2, (int64_t[]){2, 2}, yv);
    tg_tensor *w = tg_test_leaf(t, dt, 1, (int64_t[]){2}, v);
    tg_bce_with_logits_options o = tg_bce_with_logits_defaults();
    o.weight = w;
    o.reduction = TG_REDUCE_NONE;
    tg_tensor *none = tg_bce_with_logits_ex(t, x, y, NULL, &o);
    ck_assert_ptr_nonnull(none);
    ck_assert_int_eq(tg_ndim(none), 2);
    for (int64_t k = 0; k < 4; k++)
        ck_assert_close(at(none, k), v[k % 2] * ln2, tol, 0);
    o.reduction = TG_REDUCE_SUM;
    ck_assert_close(tg_item(tg_bce_with_logits_ex(t, x, y, NULL, &o)),
                    8 * ln2, tol, 0);
    o.reduction = TG_REDUCE_MEAN;
    tg_tensor *mean = tg_bce_with_logits_ex(t, x, y, NULL, &o);
    ck_assert_close(tg_item(mean), 2 * ln2, tol, 0);
    ck_assert_int_eq(tg_backward(t, mean), TG_OK);
    for (int64_t k = 0; k < 4; k++)
        ck_assert_close(at(tg_grad(x), k), v[k % 2] * (0.5 - yv[k]) / 4,
                        tol, 0);
    ck_assert_ptr_null(tg_grad(w));
    /* NULL options are tg_bce_with_logits, to the bit */
    ck_assert(tg_item(tg_bce_with_logits_ex(t, x, y, w, NULL)) ==
              tg_item(tg_bce_with_logits(t, x, y, w)));
    tg_tape_free(t);
}
END_TEST

/* ---- f64 gradient checks, first and second order -------------------- */

typedef struct loss_case {
    const char *name;
    bool nll;            /* tg_nll_loss_ex (of log_softmax(x)) */
    int64_t ignore_index;
    double smoothing;
    tg_reduction reduction;
    bool weight;
} loss_case;

static const loss_case loss_cases[] = {
    {"nll mean weighted", true, 2, 0.0, TG_REDUCE_MEAN, true},
    {"nll sum", true, -100, 0.0, TG_REDUCE_SUM, false},
    {"nll none weighted", true, 0, 0.0, TG_REDUCE_NONE, true},
    {"ce mean weighted smoothed", false, 2, 0.3, TG_REDUCE_MEAN, true},
    {"ce sum weighted", false, -100, 0.0, TG_REDUCE_SUM, true},
    {"ce sum smoothed", false, 0, 0.7, TG_REDUCE_SUM, false},
    {"ce none weighted smoothed", false, 1, 0.1, TG_REDUCE_NONE, true},
    {"ce none", false, -100, 0.0, TG_REDUCE_NONE, false},
};

static const int64_t grad_labels[4] = {0, 2, 1, 3};

static tg_tensor *loss_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    const loss_case *c = ud;
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = c->ignore_index;
    o.label_smoothing = c->smoothing;
    o.reduction = c->reduction;
    if (c->weight)
        o.weight = tg_from_data(t, TG_F64, 1, (int64_t[]){4},
                                (const double[]){0.5, 2, 1.25, 3});
    return c->nll ? tg_nll_loss_ex(t, tg_log_softmax(t, in[0], 1),
                                   grad_labels, &o)
                  : tg_cross_entropy_ex(t, in[0], grad_labels, &o);
}

/* bce_with_logits_ex of x, sigmoid(y) with pos_weight exp(p), a weight
 * (4,) and the reduction in ud; gradients to x, y and p. */
static tg_tensor *bce_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    tg_bce_with_logits_options o = tg_bce_with_logits_defaults();
    o.reduction = *(const tg_reduction *)ud;
    o.weight = tg_from_data(t, TG_F64, 1, (int64_t[]){4},
                            (const double[]){0.5, 2, 1.25, 3});
    return tg_bce_with_logits_ex(t, in[0], tg_sigmoid(t, in[1]),
                                 tg_exp(t, in[2]), &o);
}

START_TEST(bce_options_pass_gradient_checks)
{
    static const tg_reduction reductions[3] = {TG_REDUCE_MEAN, TG_REDUCE_SUM,
                                               TG_REDUCE_NONE};
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 57 + (uint64_t)_i, 1);
    int64_t s34[2] = {3, 4}, s4[1] = {4};
    tg_tensor *in[3] = {
        tg_rand_normal(t, &rng, TG_F64, 2, s34, 0, 1),
        tg_rand_normal(t, &rng, TG_F64, 2, s34, 0, 1),
        tg_rand_normal(t, &rng, TG_F64, 1, s4, 0, 1)};
    for (int k = 0; k < 3; k++)
        tg_set_requires_grad(in[k], true);
    tg_gradcheck_report r;
    void *ud = (void *)&reductions[_i];
    ck_assert_int_eq(tg_gradcheck(bce_fn, ud, 3, in, NULL, &r), TG_OK);
    ck_assert_msg(r.passed && r.n_checked > 0, "%s", r.message);
    ck_assert_int_eq(tg_gradgradcheck(bce_fn, ud, 3, in, NULL, &r), TG_OK);
    ck_assert_msg(r.passed && r.n_checked > 0, "second order: %s",
                  r.message);
    tg_tape_free(t);
}
END_TEST

START_TEST(options_pass_gradient_checks)
{
    const loss_case *c = &loss_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 31 + (uint64_t)_i, 1);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F64, 2, (int64_t[]){4, 4}, 0, 1);
    tg_set_requires_grad(x, true);
    tg_gradcheck_report r;
    ck_assert_msg(tg_gradcheck(loss_fn, (void *)c, 1, &x, NULL, &r) == TG_OK,
                  "%s: %s", c->name, tg_last_error());
    ck_assert_msg(r.passed && r.n_checked > 0, "%s: %s", c->name, r.message);
    ck_assert_msg(tg_gradgradcheck(loss_fn, (void *)c, 1, &x, NULL, &r) ==
                      TG_OK,
                  "%s: %s", c->name, tg_last_error());
    ck_assert_msg(r.passed && r.n_checked > 0, "%s second order: %s",
                  c->name, r.message);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss_options");
    TCase *tc = tg_test_tcase("loss_options");
    tcase_add_loop_test(tc, nll_loss_ex_by_hand, 0, 2);
    tcase_add_loop_test(tc, cross_entropy_weighted_smoothed_by_hand, 0, 2);
    tcase_add_loop_test(tc, every_row_ignored, 0, 4);
    tcase_add_loop_test(tc, neutral_options_same_bits, 0, 2);
    tcase_add_test(tc, weight_is_a_constant);
    tcase_add_loop_test(tc, options_pass_gradient_checks, 0,
                        N_OF(loss_cases));
    tcase_add_loop_test(tc, bce_with_logits_ex_by_hand, 0, 2);
    tcase_add_loop_test(tc, bce_options_pass_gradient_checks, 0, 3);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
