/*
 * bce_with_logits.c — binary cross-entropy on logits, stable.
 *
 *     l_i  = (1 - y_i) x_i + w_i softplus(-x_i)       w_i = 1 + (pw - 1) y_i
 *          = w_i softplus(x_i) - pw y_i x_i           (softplus(-x) = softplus(x) - x)
 *     loss = mean_i v_i l_i   (or the sum, or each v_i l_i: the reduction)
 *     d loss / d x_i
 *          = v_i ((1 + (pw - 1) y_i) (sigmoid(x_i) - 1) + 1 - y_i) / n
 *
 * The two forms of l_i are equal, but in floating point each is accurate
 * on one side of 0 only: for a logit x << 0 with target 0 (a sure and
 * right "no", the commonest case of a multi-label model) the first is
 * x + (-x + tiny), and its gradient 1 - sigmoid(-x), which cancel to 0 in
 * f32 below x = -17 (PyTorch gives e^x); the second gives softplus(x) and
 * sigmoid(x), accurate. For x > 0 the roles swap. So each element takes
 * the form of its side (tg_where; -inf takes the first, as PyTorch's
 * max-shifted form gives NaN there).
 *
 * F.binary_cross_entropy_with_logits with pos_weight pw (1 without one),
 * weight v (1 without one) and the mean reduction (tg_bce_with_logits_ex:
 * any). softplus(-x) = log(1 + e^-x) never overflows (tg_softplus;
 * beyond its threshold of 30 it is -x, exact to rounding in f64), so
 * logits of +-1e4 give finite losses, as PyTorch's max-shifted form does.
 * Written with ops, so the gradient in x, y and pos_weight and the
 * recorded derivative are theirs.
 */
#include "tapegrad/index.h"
#include "tapegrad/ops.h"

#include "tensor/error_internal.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <string.h>

/* Whether pw's shape broadcasts to x's without changing it. */
static bool broadcasts_to(const tg_tensor *pw, const tg_tensor *x)
{
    if (pw->ndim > x->ndim)
        return false;
    for (int d = 1; d <= pw->ndim; d++) {
        int64_t a = pw->shape[pw->ndim - d], b = x->shape[x->ndim - d];
        if (a != 1 && a != b)
            return false;
    }
    return true;
}

/* The options checked, naming fn: the reduction one of the three, the
 * weight a live tensor of x's dtype that broadcasts to x. TG_OK or the
 * status. */
static int check_options(const char *fn, const tg_tensor *x,
                         const tg_bce_with_logits_options *o)
{
    char xs[128], ws[128];
    if (o->reduction != TG_REDUCE_MEAN && o->reduction != TG_REDUCE_SUM &&
        o->reduction != TG_REDUCE_NONE)
        return tg_set_error(TG_EINVAL, "%s: reduction is %d; it must be "
                            "TG_REDUCE_MEAN, TG_REDUCE_SUM or TG_REDUCE_NONE",
                            fn, (int)o->reduction);
    if (o->weight == NULL)
        return TG_OK;
    if (tg__check_tensor(fn, o->weight) != TG_OK)
        return tg_last_status();
    if (!broadcasts_to(o->weight, x))
        return tg_set_error(TG_ESHAPE, "%s: weight %s does not broadcast to "
                            "logits %s", fn,
                            tg_shape_str(o->weight, ws, sizeof ws),
                            tg_shape_str(x, xs, sizeof xs));
    if (tg_dtype_of(o->weight) != tg_dtype_of(x))
        return tg_set_error(TG_EDTYPE, "%s: weight is %s; it must be the "
                            "logits' dtype, %s", fn,
                            tg_dtype_name(tg_dtype_of(o->weight)),
                            tg_dtype_name(tg_dtype_of(x)));
    return TG_OK;
}

tg_bce_with_logits_options tg_bce_with_logits_defaults(void)
{
    return (tg_bce_with_logits_options){.reduction = TG_REDUCE_MEAN,
                                        .weight = NULL};
}

static tg_tensor *bce(const char *fn, tg_tape *t, tg_tensor *x,
                      tg_tensor *target, tg_tensor *pos_weight,
                      const tg_bce_with_logits_options *opt);

tg_tensor *tg_bce_with_logits(tg_tape *t, tg_tensor *x, tg_tensor *target,
                              tg_tensor *pos_weight)
{
    return bce("tg_bce_with_logits", t, x, target, pos_weight, NULL);
}

tg_tensor *tg_bce_with_logits_ex(tg_tape *t, tg_tensor *x, tg_tensor *target,
                                 tg_tensor *pos_weight,
                                 const tg_bce_with_logits_options *opt)
{
    return bce("tg_bce_with_logits_ex", t, x, target, pos_weight, opt);
}

/* Both, naming fn in their errors; NULL opt is the defaults. */
static tg_tensor *bce(const char *fn, tg_tape *t, tg_tensor *x,
                      tg_tensor *target, tg_tensor *pos_weight,
                      const tg_bce_with_logits_options *opt)
{
    tg_bce_with_logits_options o =
        opt ? *opt : tg_bce_with_logits_defaults();
    char xs[128], ys[128];
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    if (tg__check_tensor(fn, x) != TG_OK ||
        tg__check_tensor(fn, target) != TG_OK ||
        (pos_weight != NULL && tg__check_tensor(fn, pos_weight) != TG_OK))
        return NULL;
    if (!tg__same_shape(x, target)) { /* shapes formatted only on failure */
        tg_set_error(TG_ESHAPE, "%s: logits %s and target %s must have the "
                     "same shape", fn, tg_shape_str(x, xs, sizeof xs),
                     tg_shape_str(target, ys, sizeof ys));
        return NULL;
    }
    if (pos_weight != NULL && !broadcasts_to(pos_weight, x)) {
        tg_set_error(TG_ESHAPE, "%s: pos_weight %s does not broadcast to "
                     "logits %s", fn, tg_shape_str(pos_weight, ys, sizeof ys),
                     tg_shape_str(x, xs, sizeof xs));
        return NULL;
    }
    if (tg_dtype_of(target) != tg_dtype_of(x) ||
        (pos_weight != NULL && tg_dtype_of(pos_weight) != tg_dtype_of(x))) {
        tg_set_error(TG_EDTYPE, "%s: logits, target and pos_weight must have "
                     "one dtype (logits are %s, target %s%s%s)", fn,
                     tg_dtype_of(x) == TG_F32 ? "f32" : "f64",
                     tg_dtype_of(target) == TG_F32 ? "f32" : "f64",
                     pos_weight ? ", pos_weight " : "", pos_weight == NULL ? ""
                     : tg_dtype_of(pos_weight) == TG_F32 ? "f32" : "f64");
        return NULL;
    }
    if (check_options(fn, x, &o) != TG_OK)
        return NULL;
    /* w = 1 + (pw - 1) y and pw y (1 and y without pos_weight) */
    tg_tensor *w = NULL, *pwy = target;
    if (pos_weight != NULL) {
        w = tg_add_scalar(t, tg_mul(t, tg_add_scalar(t, pos_weight, -1.0),
                                    target), 1.0);
        pwy = tg_mul(t, pos_weight, target);
    }
    /* x >= 0 (and -inf): (1 - y) x + w softplus(-x) */
    tg_tensor *sp = tg_softplus(t, tg_neg(t, x), 1.0, 30.0);
    tg_tensor *pos = tg_add(t, tg_mul(t, tg_add_scalar(t, tg_neg(t, target),
                                                       1.0), x),
                            w != NULL ? tg_mul(t, w, sp) : sp);
    /* x < 0: w softplus(x) - pw y x */
    tg_tensor *spx = tg_softplus(t, x, 1.0, 30.0);
    tg_tensor *neg = tg_sub(t, w != NULL ? tg_mul(t, w, spx) : spx,
                            tg_mul(t, pwy, x));
    tg_tensor *side = tg_mul(t, tg_lt_scalar(t, x, 0.0),
                             tg_gt_scalar(t, x, -INFINITY));
    tg_tensor *each = tg_where(t, side, neg, pos);
    if (o.weight != NULL) /* v l, v a constant copy: no gradient to it
                             (tg_detach only reads its argument) */
        each = tg_mul(t, each, tg_detach(t, (tg_tensor *)o.weight));
    tg_tensor *loss = o.reduction == TG_REDUCE_MEAN ? tg_mean(t, each)
                      : o.reduction == TG_REDUCE_SUM ? tg_sum(t, each)
                                                     : each;
    if (loss == NULL)
        tg__error_in(fn); /* out of memory in an op on the way */
    return loss;
}
