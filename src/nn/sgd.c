/*
 * sgd.c — stochastic gradient descent, by torch.optim.SGD's rule:
 *
 *     d = grad + weight_decay * p
 *     buf = d                                     (first step)
 *     buf = momentum * buf + (1 - dampening) * d  (later steps)
 *     d = nesterov ? d + momentum * buf : buf     (when momentum > 0)
 *     p = p - lr * d
 */
#include "optimizer.h"

#include <math.h>

/* The rule for one dtype T, rounded as PyTorch rounds it: each "add with
 * alpha" (g + wd * p, buf * mom + (1 - dampening) * d, d + mom * buf,
 * p - lr * d) is one fused multiply-add; 1 - dampening is computed in
 * double. */
#define SGD_UPDATE(T, FMA, p, g, buf, n, o, first)                            \
    do {                                                                      \
        const T lr = (T)(o)->sgd.lr, wd = (T)(o)->sgd.weight_decay;           \
        const T mom = (T)(o)->sgd.momentum;                                   \
        const T keep = (T)(1.0 - (o)->sgd.dampening);                         \
        for (int64_t i = 0; i < (n); i++) {                                   \
            T d = wd != 0 ? FMA((p)[i], wd, (g)[i]) : (g)[i];                 \
            if ((buf) != NULL) {                                              \
                (buf)[i] = (first) ? d : FMA(d, keep, (buf)[i] * mom);        \
                d = (o)->sgd.nesterov ? FMA((buf)[i], mom, d) : (buf)[i];     \
            }                                                                 \
            (p)[i] = FMA(d, -lr, (p)[i]);                                     \
        }                                                                     \
    } while (0)

/* Cloned for x86-64-v3 and -v4 (TG__HOT_FMA); static, because clang 14 makes
 * no dispatcher for an external clone that its own file never calls. */
TG__HOT_FMA static int sgd_step(tg_optimizer *o)
{
    for (int64_t k = 0; k < o->n; k++) {
        tg_tensor *x = o->params[k], *grad = tg_grad(x);
        if (grad == NULL)
            continue;
        int64_t n = tg_numel(x);
        bool first = o->count[k]++ == 0;
        if (tg_dtype_of(x) == TG_F32) {
            float *restrict p = tg_mut_f32(x);
            const float *restrict g = tg_data_f32(grad);
            float *restrict buf = o->state1[k] ? tg_mut_f32(o->state1[k]) : NULL;
            SGD_UPDATE(float, fmaf, p, g, buf, n, o, first);
        } else {
            double *restrict p = tg_mut_f64(x);
            const double *restrict g = tg_data_f64(grad);
            double *restrict buf = o->state1[k] ? tg_mut_f64(o->state1[k]) : NULL;
            SGD_UPDATE(double, fma, p, g, buf, n, o, first);
        }
    }
    return TG_OK;
}

int tg__sgd_step(tg_optimizer *o)
{
    return sgd_step(o);
}
