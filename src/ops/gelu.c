/*
 * gelu.c — the Gaussian error linear unit, exact form (Hendrycks and
 * Gimpel, 2016).
 *
 *     gelu(x)    = x Phi(x),  Phi(x) = (1 + erf(x / sqrt 2)) / 2
 *     gelu'(x)   = Phi(x) + x phi(x),  phi(x) = e^(-x^2/2) / sqrt(2 pi)
 *
 * Phi is computed as erfc(-x / sqrt 2) / 2, which equals PyTorch's
 * (1 + erf(x / sqrt 2)) / 2 but does not cancel for x < 0: gelu(-10) is
 * -7.6e-23 rather than PyTorch's 0, within PyTorch's own error. At the
 * infinities PyTorch's formula gives inf * 0 = NaN; here gelu(-inf) is -0.0
 * (as gelu of any x so negative that Phi underflows), and gelu' is 1 at
 * inf and 0 at -inf, the limits. tg_gelu_tanh is the tanh approximation.
 * The loops come from
 * tapegrad/elementwise.h.
 *
 * In f32, Phi and phi are computed in float, 16 lanes at a time, by
 * tg__vphif (src/vec_math.h: one exp, one division and one polynomial for
 * both; Phi within 7 ulps and phi within 2.2 of the exact values). libm's
 * erfcf and expf, a call per element, cost 30% of a training step of the
 * names GPT; the double version that replaced them (8 lanes) still 22%.
 *
 * Saving the derivative: in f32, when the call is recorded for a backward
 * pass, the forward also writes gelu'(x) into a buffer on the tape (Phi
 * and phi are already at hand there: one multiply-add more per element),
 * and the backward is then gx = gy * gelu'(x), a pass over memory instead
 * of a second evaluation of Phi and phi. It gives the same bits as
 * computing gelu' in the backward (the same float operations, in the same
 * order), and cut the GELU backward from 9% of a names GPT training step
 * to 1% (bench/RESULTS.md, session 6). Without a recording (no gradient
 * wanted, or grad disabled) nothing is saved, and a backward reached some
 * other way without the buffer computes gelu' as before.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

#include "vec_math.h"

#define SQRT1_2 0.70710678118654752440        /* 1 / sqrt 2 */
#define INV_SQRT_2PI 0.39894228040143267794   /* 1 / sqrt(2 pi) */

/* x Phi(x); where Phi(x) is 0, -0.0 (x * 0, and the limit at -inf). */
static inline float gelu_f32(float x)
{
    float pdf, cdf = tg__vphif(x, &pdf);
    return cdf == 0.0f ? -0.0f : x * cdf;
}

static inline double gelu_f64(double x)
{
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    return cdf == 0.0 ? -0.0 : x * cdf;
}

/*
 * Phi(x) + x phi(x), with x tamed so that x phi(x) is 0, not NaN, at +-inf
 * (phi is already exactly 0 from |x| = 14.5).
 */
static inline float gelu_grad_f32(float x, float y, float gy)
{
    (void)y;
    float pdf, cdf = tg__vphif(x, &pdf);
    return gy * (cdf + tg_tame_f32(x) * pdf);
}

static inline double gelu_grad_f64(double x, double y, double gy)
{
    (void)y;
    double cdf = 0.5 * erfc(-x * SQRT1_2);
    double xt = tg_tame_f64(x);
    double pdf = exp(-0.5 * xt * xt) * INV_SQRT_2PI;
    return gy * (cdf + xt * pdf);
}

TG_UNARY_OP(gelu)

/* ---- f32 with the derivative saved (see the top of the file). */

typedef struct gelu_job {
    const float *x;
    float *y, *d;       /* forward: gelu(x) and gelu'(x) */
    const float *gy;    /* backward: gy, or NULL for g everywhere */
    float g;
    float *gx;
} gelu_job;

/* y = gelu(x) and d = gelu'(x), for elements [b, e). */
TG_KERNEL static void gelu_save_part(void *job, int64_t b, int64_t e)
{
    const gelu_job *j = job;
    const float *restrict x = j->x;
    float *restrict y = j->y, *restrict d = j->d;
    for (int64_t i = b; i < e; i++) {
        float pdf, cdf = tg__vphif(x[i], &pdf);
        y[i] = cdf == 0.0f ? -0.0f : x[i] * cdf;
        d[i] = cdf + tg_tame_f32(x[i]) * pdf;
    }
}

/* gx = gy * d (or g * d), for elements [b, e). */
TG_KERNEL static void gelu_saved_grad_part(void *job, int64_t b, int64_t e)
{
    const gelu_job *j = job;
    const float *restrict d = j->d, *restrict gy = j->gy;
    float *restrict gx = j->gx;
    if (gy == NULL)
        for (int64_t i = b; i < e; i++)
            gx[i] = j->g * d[i];
    else
        for (int64_t i = b; i < e; i++)
            gx[i] = gy[i] * d[i];
}

/* Whether tg_apply will record this call, so that backward may run. */
static bool will_record(const tg_op_ctx *c)
{
    return tg_tape_grad_enabled(c->tape) && tg_requires_grad(c->in[0]);
}

static tg_tensor *gelu_forward_saving(tg_op_ctx *c)
{
    tg_tensor *x = c->in[0];
    if (tg_dtype_of(x) != TG_F32 || !will_record(c))
        return gelu_forward(c);
    tg_tensor *y = tg_empty_like(c->tape, x);
    if (y == NULL)
        return NULL;
    size_t bytes = (size_t)tg_numel(x) * sizeof(float);
    float *d = tg_tape_alloc(c->tape, bytes);
    if (d == NULL) {
        tg_set_error(TG_ENOMEM, "tg_gelu: out of memory for the saved "
                     "derivative (%zu bytes)", bytes);
        return NULL;
    }
    gelu_job j = {.x = tg_data_f32(x), .y = tg_mut_f32(y), .d = d};
    if (tg_parallel_range(tg_numel(x), gelu_save_part, &j) != TG_OK)
        return NULL;
    c->saved = d;
    return y;
}

static int gelu_backward_saved(tg_op_ctx *c, const tg_tensor *y,
                               const tg_tensor *gy, tg_tensor *const *gx)
{
    if (c->saved == NULL || gx[0] == NULL)
        return gelu_backward(c, y, gy, gx);
    double g = 0;
    gelu_job j = {.d = c->saved, .gx = tg_mut_f32(gx[0])};
    if (tg_grad_uniform(gy, &g))
        j.g = (float)g; /* one value everywhere: gy's elements not written */
    else
        j.gy = tg_data_f32(gy);
    return tg_parallel_range(tg_numel(y), gelu_saved_grad_part, &j);
}

/*
 * The same derivative with ops, for gradients of gradients:
 * gy (Phi(x) + x phi(x)), with Phi written exactly with the public erf op,
 * Phi(x) = (1 + erf(x / sqrt 2)) / 2 (PyTorch's form; it differs from the
 * fast backward's erfc form by rounding only, ~1e-16 absolute), and
 * phi(x) = e^(-x^2/2) / sqrt(2 pi). At x = +-inf, x phi(x) is inf * 0 =
 * NaN here, where the fast backward gives the limits 1 and 0.
 */
static int gelu_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                             const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg_tensor *cdf = tg_mul_scalar(
        t, tg_add_scalar(t, tg_erf(t, tg_mul_scalar(t, x, SQRT1_2)), 1), 0.5);
    tg_tensor *pdf = tg_mul_scalar(
        t, tg_exp(t, tg_mul_scalar(t, tg_mul(t, x, x), -0.5)), INV_SQRT_2PI);
    gx[0] = tg_mul(t, gy, tg_add(t, cdf, tg_mul(t, x, pdf)));
    return tg_made(gx[0]);
}

const tg_op tg__op_gelu = {
    .name = "gelu",
    .arity = 1,
    .forward = gelu_forward_saving,
    .backward = gelu_backward_saved,
    .backward_ops = gelu_backward_ops,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_gelu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_gelu, 1, &x, NULL);
}
