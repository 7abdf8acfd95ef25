/*
 * test_bad_input_losses.c — what callers get wrong in the options of the
 * losses (tapegrad/index.h): tg_cross_entropy_ex's and tg_nll_loss_ex's
 * reduction and class weights, label smoothing given to nll_loss, which
 * has none, and tg_bce_with_logits_ex's reduction and weight. Each row gives its status and a message
 * naming the call, records nothing on the tape when refused, and leaks
 * nothing (tests/support/tg_bad_input.h). The last rows are calls that
 * must work: NULL options, and the extremes of the options.
 */
#include "tg_bad_input.h"

/* Which loss a row calls on a34 (3,4, f32) with labels 0, 1, 2. */
enum { CE, NLL };

/* The loss `which` with options o (NULL for the defaults); a refused call
 * records nothing. The tensors o points at are made before this. */
static int loss(fx *f, int which, const tg_cross_entropy_options *o)
{
    static const int64_t labels[3] = {0, 1, 2};
    int64_t before = tg_tape_size(f->t);
    tg_tensor *y = which == CE ? tg_cross_entropy_ex(f->t, f->a34, labels, o)
                               : tg_nll_loss_ex(f->t, f->a34, labels, o);
    return ptr_unchanged(f, before, y);
}

/* The loss with the default options but a reduction of r. */
static int reduction(fx *f, int which, int r)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.reduction = (tg_reduction)r;
    return loss(f, which, &o);
}

/* The loss with class weights of dtype dt and shape (n,) (n > 0) or
 * (3, 4) (n == 0), all 1. */
static int weighted(fx *f, int which, tg_dtype dt, int64_t n)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = n > 0 ? tg_ones(f->t, dt, 1, &n) : tg_ones(f->t, dt, 2, s34);
    if (o.weight == NULL)
        return ptr(o.weight);
    return loss(f, which, &o);
}

/* nll_loss_ex with a label smoothing of e. */
static int nll_smoothing(fx *f, double e)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.label_smoothing = e;
    return loss(f, NLL, &o);
}

/* Class weights made on another tape and freed by its reset. */
static int stale_weight(fx *f, int which)
{
    tg_tape *u = tg_tape_new();
    if (u == NULL)
        return ptr(u);
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = tg_ones(u, TG_F32, 1, (int64_t[]){4});
    tg_tape_reset(u);
    int rc = loss(f, which, &o);
    tg_tape_free(u);
    return rc;
}

/* A NULL tape, with options that are otherwise right. */
static int null_tape(int which)
{
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return ptr(t);
    tg_tensor *x = tg_ones(t, TG_F32, 2, s34);
    tg_tensor *y = which == CE
                       ? tg_cross_entropy_ex(NULL, x, (int64_t[]){0, 1, 2},
                                             NULL)
                       : tg_nll_loss_ex(NULL, x, (int64_t[]){0, 1, 2}, NULL);
    int rc = ptr(y);
    tg_tape_free(t);
    return rc;
}

/* Options that work: weights of 0 on some classes, every reduction, the
 * loss of reduction none of shape (3,). */
static int extremes(fx *f, int which)
{
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.weight = tg_from_data(f->t, TG_F32, 1, (int64_t[]){4},
                            (const float[]){0, 2, 1, 0});
    o.reduction = TG_REDUCE_NONE;
    o.label_smoothing = which == CE ? 1.0 : 0.0;
    static const int64_t labels[3] = {0, 1, 2};
    tg_tensor *y = which == CE ? tg_cross_entropy_ex(f->t, f->a34, labels, &o)
                               : tg_nll_loss_ex(f->t, f->a34, labels, &o);
    if (y == NULL)
        return ptr(y);
    return expect(tg_ndim(y) == 1 && tg_shape(y)[0] == 3,
                  "reduction none gives one loss per row");
}

/* bce_with_logits_ex of a34 against itself with a weight of shape
 * (n,) (n > 0) or (3, 4) f64 (n == 0), or with reduction r (no weight). */
static int bce(fx *f, int64_t n, int r)
{
    tg_bce_with_logits_options o = tg_bce_with_logits_defaults();
    o.reduction = (tg_reduction)r;
    if (n > 0)
        o.weight = tg_ones(f->t, TG_F32, 1, &n);
    else if (n == 0)
        o.weight = tg_ones(f->t, TG_F64, 2, s34);
    int64_t before = tg_tape_size(f->t);
    return ptr_unchanged(f, before, tg_bce_with_logits_ex(
                                        f->t, f->a34, f->a34, NULL, &o));
}

#define ROWS(X)                                                              \
    /* The reduction: one of the three. */                                  \
    X(ce_reduction_unknown, TG_EINVAL, "tg_cross_entropy_ex: reduction is " \
      "7; it must be TG_REDUCE_MEAN, TG_REDUCE_SUM or TG_REDUCE_NONE",       \
      reduction(f, CE, 7))                                                   \
    X(ce_reduction_negative, TG_EINVAL, "tg_cross_entropy_ex: reduction is " \
      "-1", reduction(f, CE, -1))                                            \
    X(nll_reduction_unknown, TG_EINVAL, "tg_nll_loss_ex: reduction is 3; "  \
      "it must be", reduction(f, NLL, 3))                                    \
    /* Class weights: (C,) of the input's dtype, alive. */                  \
    X(ce_weight_too_long, TG_ESHAPE, "tg_cross_entropy_ex: weight has "     \
      "shape (5,); it must be (4,), one per class of input (3,4)",           \
      weighted(f, CE, TG_F32, 5))                                            \
    X(ce_weight_2d, TG_ESHAPE, "tg_cross_entropy_ex: weight has shape "     \
      "(3,4); it must be (4,)", weighted(f, CE, TG_F32, 0))                  \
    X(nll_weight_too_short, TG_ESHAPE, "tg_nll_loss_ex: weight has shape "  \
      "(3,); it must be (4,)", weighted(f, NLL, TG_F32, 3))                  \
    X(ce_weight_f64, TG_EDTYPE, "tg_cross_entropy_ex: weight is f64; it "   \
      "must be the input's dtype, f32", weighted(f, CE, TG_F64, 4))          \
    X(nll_weight_f64, TG_EDTYPE, "tg_nll_loss_ex: weight is f64",            \
      weighted(f, NLL, TG_F64, 4))                                           \
    X(ce_weight_stale, TG_ESTATE, "tg_cross_entropy_ex: tensor was freed "  \
      "by a reset", stale_weight(f, CE))                                     \
    X(nll_weight_stale, TG_ESTATE, "tg_nll_loss_ex: tensor was freed by a " \
      "reset", stale_weight(f, NLL))                                         \
    /* nll_loss has no label smoothing (F.nll_loss has none). */             \
    X(nll_smoothing, TG_EINVAL, "tg_nll_loss_ex: label_smoothing is 0.1; "  \
      "nll_loss has none, it must be 0", nll_smoothing(f, 0.1))              \
    X(nll_smoothing_nan, TG_EINVAL, "tg_nll_loss_ex: label_smoothing is "   \
      "nan", nll_smoothing(f, NAN))                                          \
    X(nll_smoothing_minus_zero, TG_OK, "", nll_smoothing(f, -0.0))           \
    /* What tg_nll_loss refuses, tg_nll_loss_ex refuses naming itself. */   \
    X(nll_tape_null, TG_EINVAL, "tg_nll_loss_ex: tape is NULL",              \
      null_tape(NLL))                                                        \
    X(ce_tape_null, TG_EINVAL, "tg_cross_entropy_ex: tape is NULL",          \
      null_tape(CE))                                                         \
    X(nll_label_outside, TG_EINVAL, "tg_nll_loss_ex: label 4 in row 0 is "  \
      "outside 0..3", ptr(tg_nll_loss_ex(f->t, f->a34,                       \
                                         (int64_t[]){4, 0, 0}, NULL)))       \
    X(nll_not_2d, TG_ESHAPE, "tg_nll_loss_ex: input has shape (5,)",         \
      ptr(tg_nll_loss_ex(f->t, f->b5, (int64_t[]){0}, NULL)))                \
    /* bce_with_logits_ex: a weight that broadcasts, of x's dtype. */       \
    X(bce_weight_shape, TG_ESHAPE, "tg_bce_with_logits_ex: weight (5,) "    \
      "does not broadcast to logits (3,4)", bce(f, 5, TG_REDUCE_MEAN))       \
    X(bce_weight_f64, TG_EDTYPE, "tg_bce_with_logits_ex: weight is f64; it "\
      "must be the logits' dtype, f32", bce(f, 0, TG_REDUCE_SUM))            \
    X(bce_reduction_unknown, TG_EINVAL, "tg_bce_with_logits_ex: reduction " \
      "is 5; it must be", bce(f, -1, 5))                                     \
    X(bce_weight_broadcast, TG_OK, "", bce(f, 4, TG_REDUCE_NONE))            \
    X(bce_weight_one, TG_OK, "", bce(f, 1, TG_REDUCE_SUM))                   \
    X(bce_null_options_named, TG_ESHAPE, "tg_bce_with_logits_ex: logits "   \
      "(3,4) and target (5,)", ptr(tg_bce_with_logits_ex(                    \
                                   f->t, f->a34, f->b5, NULL, NULL)))        \
    /* Calls that work. */                                                  \
    X(nll_null_options, TG_OK, "", loss(f, NLL, NULL))                       \
    X(ce_extremes, TG_OK, "", extremes(f, CE))                               \
    X(nll_extremes, TG_OK, "", extremes(f, NLL))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_losses", rows, N_ROWS);
}
