/*
 * pow.c — a tensor raised to a constant power.
 *
 *     pow(x, p)      = x^p
 *     d pow / d x    = p * x^(p-1),   and 0 for p == 0
 *
 * Computed as PyTorch does, value for value: the powers 2, 3, -1 and -2
 * are products and quotients (x*x, x*x*x, 1/x, 1/(x*x)), 0.5 and -0.5 are
 * sqrt(x) and 1/sqrt(x), and every other p goes to the C library's pow.
 * That makes pow(-0.0, 0.5) = -0.0 and pow(-inf, 0.5) = NaN (sqrt's
 * answers) where C's pow would say +0.0 and +inf. For f32 the exponent is
 * rounded to f32 first, as PyTorch does, and the power taken in double.
 *
 * The gradient is PyTorch's formula applied literally: g * (p * x^(p-1)),
 * with x^(p-1) computed by the same rules. So at x == 0 it is 0 for p > 1,
 * g*p for p == 1, and +-inf for p < 1 (the slope of sqrt at 0 is
 * infinite); p == 0 gives exactly 0, even where x is inf or NaN.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"

#include <math.h>

typedef struct pow_params {
    double exponent;
} pow_params;

/* y = x^p by the rules above, for one element type. */
#define POW_LOOP(name, T, SQRT)                                              \
    static void name(const T *restrict x, T *restrict y, int64_t n,         \
                     double p)                                               \
    {                                                                        \
        T pt = (T)p;                                                         \
        if (p == 2)                                                          \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = x[i] * x[i];                                          \
        else if (p == 3)                                                     \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = x[i] * x[i] * x[i];                                   \
        else if (p == -1)                                                    \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = 1 / x[i];                                             \
        else if (p == -2)                                                    \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = 1 / (x[i] * x[i]);                                    \
        else if (p == 0.5)                                                   \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = SQRT(x[i]);                                           \
        else if (p == -0.5)                                                  \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = 1 / SQRT(x[i]);                                       \
        else                                                                 \
            for (int64_t i = 0; i < n; i++)                                  \
                y[i] = (T)pow(x[i], pt);                                     \
    }
POW_LOOP(pow_f32, float, sqrtf)
POW_LOOP(pow_f64, double, sqrt)

/* Forward: same shape as x. */
static tg_tensor *pow_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    const pow_params *prm = c->params;
    tg_tensor *y = tg_empty_like(c->tape, x);
    if (y == NULL)
        return NULL;
    if (tg_dtype_of(x) == TG_F32)
        pow_f32(tg_data_f32(x), tg_mut_f32(y), tg_numel(x), prm->exponent);
    else
        pow_f64(tg_data_f64(x), tg_mut_f64(y), tg_numel(x), prm->exponent);
    return y;
}

/* gx = g * (p * x^(p-1)): the power goes into gx first, then the product
 * is taken in place. */
#define POW_GRAD(name, T, POWER)                                             \
    static void name(const T *restrict x, const T *restrict g,              \
                     T *restrict gx, int64_t n, double p)                    \
    {                                                                        \
        if (p == 0) {                                                        \
            for (int64_t i = 0; i < n; i++)                                  \
                gx[i] = 0;                                                   \
            return;                                                          \
        }                                                                    \
        POWER(x, gx, n, p - 1);                                              \
        T pt = (T)p;                                                         \
        for (int64_t i = 0; i < n; i++)                                      \
            gx[i] = g[i] * (pt * gx[i]);                                     \
    }
POW_GRAD(pow_grad_f32, float, pow_f32)
POW_GRAD(pow_grad_f64, double, pow_f64)

static int pow_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                        tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* x needs no gradient: nothing to compute */
        return TG_OK;
    const tg_tensor *x = c->in[0];
    const pow_params *prm = c->params;
    if (tg_dtype_of(x) == TG_F32)
        pow_grad_f32(tg_data_f32(x), tg_data_f32(gy), tg_mut_f32(gx[0]),
                     tg_numel(x), prm->exponent);
    else
        pow_grad_f64(tg_data_f64(x), tg_data_f64(gy), tg_mut_f64(gx[0]),
                     tg_numel(x), prm->exponent);
    return TG_OK;
}

/* The same derivative with ops: gy * p * x^(p - 1); for p == 0 exactly 0,
 * as backward gives. */
static int pow_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    double p = ((const pow_params *)c->params)->exponent;
    if (p == 0)
        gx[0] = tg_zeros(t, tg_dtype_of(x), tg_ndim(x), tg_shape(x));
    else
        gx[0] = tg_mul(t, gy, tg_mul_scalar(t, tg_pow(t, x, p - 1), p));
    return tg_made(gx[0]);
}

const tg_op tg__op_pow = {
    .name = "pow",
    .arity = 1,
    .params_size = sizeof(pow_params),
    .forward = pow_forward,
    .backward = pow_backward,
    .backward_ops = pow_backward_ops,
};

tg_tensor *tg_pow(tg_tape *t, tg_tensor *x, double exponent)
{
    pow_params prm = {exponent};
    return tg_apply(t, &tg__op_pow, 1, &x, &prm);
}
