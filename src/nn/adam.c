/*
 * adam.c — Adam and AdamW, by torch.optim.Adam's and AdamW's rules:
 *
 *     AdamW only:  p = p * (1 - lr * weight_decay)
 *     Adam only:   g = g + weight_decay * p
 *     m = beta1 * m + (1 - beta1) * g
 *     v = beta2 * v + (1 - beta2) * g^2
 *     p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * t counts each parameter's updates from 1; the bias corrections are computed in double once
 * per step, as PyTorch does in Python.
 */
#include "optimizer.h"
#include "tapegrad/elementwise.h"

#include <math.h>

/* clang contracts a * b + c into a fused multiply-add where the target
 * has one (the AVX-512 clone): keep the roundings written below. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* The rounding of every operation is PyTorch's: its "add with alpha"
 * (g + wd * p, m * b1 + (1 - b1) * g) is one fused multiply-add, the other
 * products and sums round separately, and the coefficients (1 - beta,
 * the bias corrections, 1 - lr * wd) are computed in double before being
 * rounded to T. */
#define ADAM_UPDATE(T, SQRT, FMA, p, g, m, v, n, o, steps)                    \
    do {                                                                      \
        const tg_adam_options *a = &(o)->adam;                                \
        double t = (double)(steps);                                           \
        const T b1 = (T)a->beta1, b2 = (T)a->beta2, eps = (T)a->eps;          \
        const T w1 = (T)(1.0 - a->beta1), w2 = (T)(1.0 - a->beta2);           \
        const T decay = (T)(1.0 - a->lr * a->weight_decay);                   \
        const T wd = (o)->kind == OPT_ADAM ? (T)a->weight_decay : (T)0;       \
        const T step = (T)(a->lr / (1.0 - pow(a->beta1, t)));                 \
        const T root2 = (T)sqrt(1.0 - pow(a->beta2, t));                      \
        const bool decoupled = (o)->kind == OPT_ADAMW;                        \
        for (int64_t i = 0; i < (n); i++) {                                   \
            if (decoupled)                                                    \
                (p)[i] *= decay;                                              \
            T gi = wd != 0 ? FMA((p)[i], wd, (g)[i]) : (g)[i];                \
            (m)[i] = FMA(gi, w1, (m)[i] * b1);                                \
            (v)[i] = FMA(w2 * gi, gi, (v)[i] * b2);                           \
            (p)[i] -= step * (m)[i] / (SQRT((v)[i]) / root2 + eps);           \
        }                                                                     \
    } while (0)

/* One parameter's update, run in parts over its elements. */
typedef struct adam_job {
    const tg_optimizer *o;
    void *p, *m, *v;
    const void *g;
    int64_t steps;
} adam_job;

/* Cloned for x86-64-v3 and -v4 (TG__HOT_FMA); static, because clang 14 makes
 * no dispatcher for an external clone that its own file never calls. */
TG__HOT_FMA static void adam_part_f32(void *job, int64_t begin, int64_t end)
{
    const adam_job *j = job;
    float *restrict p = (float *)j->p + begin;
    const float *restrict g = (const float *)j->g + begin;
    float *restrict m = (float *)j->m + begin;
    float *restrict v = (float *)j->v + begin;
    ADAM_UPDATE(float, sqrtf, fmaf, p, g, m, v, end - begin, j->o, j->steps);
}

TG__HOT_FMA static void adam_part_f64(void *job, int64_t begin, int64_t end)
{
    const adam_job *j = job;
    double *restrict p = (double *)j->p + begin;
    const double *restrict g = (const double *)j->g + begin;
    double *restrict m = (double *)j->m + begin;
    double *restrict v = (double *)j->v + begin;
    ADAM_UPDATE(double, sqrt, fma, p, g, m, v, end - begin, j->o, j->steps);
}

/* Each parameter's update split across the thread pool when it is large
 * (tg_parallel_range): every element's update is its own, so the result
 * does not depend on the thread count. */
int tg__adam_step(tg_optimizer *o)
{
    for (int64_t k = 0; k < o->n; k++) {
        tg_tensor *x = o->params[k], *grad = tg_grad(x);
        if (grad == NULL)
            continue;
        adam_job j = {o, NULL, NULL, NULL, NULL, ++o->count[k]};
        if (tg_dtype_of(x) == TG_F32) {
            j.p = tg_mut_f32(x);
            j.g = tg_data_f32(grad);
            j.m = tg_mut_f32(o->state1[k]);
            j.v = tg_mut_f32(o->state2[k]);
        } else {
            j.p = tg_mut_f64(x);
            j.g = tg_data_f64(grad);
            j.m = tg_mut_f64(o->state1[k]);
            j.v = tg_mut_f64(o->state2[k]);
        }
        int rc = tg_parallel_range(tg_numel(x), tg_dtype_of(x) == TG_F32
                                   ? adam_part_f32 : adam_part_f64, &j);
        if (rc != TG_OK)
            return rc;
    }
    return TG_OK;
}
