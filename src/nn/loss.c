/*
 * loss.c — losses composed from ops: the hinge loss of micrograd's demo
 * and the L2 penalty. (mse_loss and cross_entropy are fused ops of their
 * own, in src/ops/.) Composing means no gradient is written here: each op
 * in the chain brings its own.
 */
#include "tapegrad.h"
#include "tapegrad/nn.h"

#include "tensor/error_internal.h"
#include "tensor/handle.h"

static bool same_shape(const tg_tensor *a, const tg_tensor *b)
{
    if (tg_ndim(a) != tg_ndim(b))
        return false;
    for (int i = 0; i < tg_ndim(a); i++)
        if (tg_shape(a)[i] != tg_shape(b)[i])
            return false;
    return true;
}

/* mean(relu(1 - y * s)): zero once every sample is beyond the margin. */
tg_tensor *tg_hinge_loss(tg_tape *t, tg_tensor *scores, tg_tensor *labels)
{
    if (scores != NULL && labels != NULL && !same_shape(scores, labels)) {
        char a[96], b[96];
        tg_set_error(TG_ESHAPE, "tg_hinge_loss: scores %s and labels %s must "
                     "have the same shape", tg_shape_str(scores, a, sizeof a),
                     tg_shape_str(labels, b, sizeof b));
        return NULL;
    }
    tg_tensor *margin = tg_add_scalar(t, tg_mul_scalar(t, tg_mul(t, labels,
                                                                  scores),
                                                      -1.0), 1.0);
    tg_tensor *loss = tg_mean(t, tg_relu(t, margin));
    /* A failure inside (not a NULL argument's kept error) names this call. */
    if (loss == NULL && scores != NULL && labels != NULL)
        tg__error_in("tg_hinge_loss");
    return loss;
}

/* alpha * (sum(p0^2) + sum(p1^2) + ...). */
tg_tensor *tg_l2_penalty(tg_tape *t, const tg_params *p, double alpha)
{
    /* A NULL handle usually comes from a call that failed: keep its error
     * (the NULL-propagation contract), else say what was NULL. */
    if (tg__check_handle("tg_l2_penalty", p, "parameter list") != TG_OK)
        return NULL;
    if (tg_params_count(p) == 0) {   /* no dtype to give the zero */
        tg_set_error(TG_EINVAL, "tg_l2_penalty: the parameter list is empty "
                     "(the penalty would have no dtype); skip the call");
        return NULL;
    }
    tg_tensor *total = NULL;
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        tg_tensor *x = tg_params_at(p, i);
        tg_tensor *s = tg_sum(t, tg_mul(t, x, x));
        total = total ? tg_add(t, total, s) : s;
    }
    tg_tensor *penalty = tg_mul_scalar(t, total, alpha);
    if (penalty == NULL)
        tg__error_in("tg_l2_penalty");
    return penalty;
}
