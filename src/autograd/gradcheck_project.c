/*
 * gradcheck_project.c — the op that reduces fn's output to the scalar
 * tg_gradcheck differentiates: y = sum_i out[i] * w[i], a private tg_op.
 * See step 1 in gradcheck.c.
 */
#include "tapegrad/op.h"

#include "autograd/gradcheck_state.h"
#include "tensor/element.h"

#include <math.h>

typedef struct project_params {
    const double *w;         /* numel(x) weights, on a tape that outlives y */
} project_params;

/* SplitMix64's finaliser: a good 64-bit mix of z. */
static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/*
 * Weight i: a magnitude in [0.5, 1.5) and a random sign, from (seed, i)
 * alone, so every evaluation agrees. Keeping |w| away from 0 keeps every
 * output element visible in y.
 */
double tg__gc_weight(uint64_t seed, int64_t i)
{
    uint64_t h = mix64(seed ^ mix64((uint64_t)i));
    double w = 0.5 + (double)(h >> 11) * 0x1p-53;
    return (h & 1u) ? -w : w;
}

/* s + comp += term, compensated (Neumaier): one step of an exact-ish sum. */
static void add_compensated(double *s, double *comp, double term)
{
    double t = *s + term;
    *comp += fabs(*s) >= fabs(term) ? (*s - t) + term : (term - t) + *s;
    *s = t;
}

/* Forward: the weighted sum in double, output f64 whatever x's dtype. */
static tg_tensor *project_forward(tg_op_ctx *c)
{
    const double *w = ((const project_params *)c->params)->w;
    const tg_tensor *x = c->in[0];
    tg_tensor *y = tg_empty(c->tape, TG_F64, 0, NULL);
    if (y == NULL)
        return NULL;
    double s = 0.0, comp = 0.0;
    if (x->dtype == TG_F32) {
        const float *xs = x->data;
        for (int64_t i = 0; i < x->numel; i++)
            add_compensated(&s, &comp, (double)xs[i] * w[i]);
    } else {
        const double *xs = x->data;
        for (int64_t i = 0; i < x->numel; i++)
            add_compensated(&s, &comp, xs[i] * w[i]);
    }
    *(double *)y->data = s + comp;
    return y;
}

/* Backward: d y / d x[i] = w[i], times the upstream gradient. */
static int project_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const double *w = ((const project_params *)c->params)->w;
    double g = *(const double *)gy->data;
    for (int64_t i = 0; i < gx[0]->numel; i++)
        tg__set(gx[0], i, g * w[i]);
    return TG_OK;
}

static const tg_op project_op = {
    .name = "gradcheck_project",
    .arity = 1,
    .params_size = sizeof(project_params),
    .forward = project_forward,
    .backward = project_backward,
};

tg_tensor *tg__gc_project(tg_tape *t, tg_tensor *out, const double *w)
{
    project_params p = {w};
    return tg_apply(t, &project_op, 1, &out, &p);
}
