/*
 * elu.c — the exponential linear unit.
 *
 *     elu(x)    = x if x > 0, else alpha (e^x - 1)
 *     elu'(x)   = 1 if x > 0, else alpha e^x
 *
 * At the kink x == 0 the derivative is alpha (the left one), as PyTorch;
 * the function is smooth there only when alpha == 1. e^x - 1 is computed
 * with expm1, which keeps its relative accuracy for tiny x where PyTorch's
 * exp(x) - 1 cancels (the two agree within PyTorch's own error);
 * elu(-0.0) is therefore -0.0 where PyTorch has 0.0. elu(-inf) = -alpha.
 * At NaN the value and the gradient are NaN, as PyTorch's vectorised
 * kernel. Any finite alpha works (PyTorch's default is 1); NaN or inf is
 * TG_EINVAL. The loops come from
 * tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

typedef struct elu_params {
    double alpha;
} elu_params;

static int elu_check(const elu_params *p)
{
    if (!isfinite(p->alpha))
        return tg_set_error(TG_EINVAL, "tg_elu: alpha is %g; it must be "
                            "finite", p->alpha);
    return TG_OK;
}

static inline float elu_f32(float x, const elu_params *p)
{
    return x > 0.0f ? x : (float)p->alpha * expm1f(x);
}

static inline double elu_f64(double x, const elu_params *p)
{
    return x > 0.0 ? x : p->alpha * expm1(x);
}

static inline float elu_grad_f32(float x, float y, float gy,
                                 const elu_params *p)
{
    (void)y;
    return x > 0.0f ? gy : gy * (float)p->alpha * expf(x);
}

static inline double elu_grad_f64(double x, double y, double gy,
                                  const elu_params *p)
{
    (void)y;
    return x > 0.0 ? gy : gy * p->alpha * exp(x);
}

/* 1 right of the kink at 0, 0 left of it. */
static inline int64_t elu_piece_at(double x)
{
    return x > 0 ? 1 : x < 0 ? 0 : TG_ON_KINK;
}

TG_UNARY_OP_PARAMS(elu, elu_params, elu_check)
TG_UNARY_PIECE(elu)

/* The same derivative with ops: gy where x > 0, else gy alpha e^x, from
 * x: gy (y + alpha) would be the same number but cancels for very
 * negative x (relative error 1e-5 at x = -25 in f64). x is clamped to
 * <= 0 before exp, so that e^x of a large x, which where() discards, is
 * not inf (its derivative would be 0 * inf). */
static int elu_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                            const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    double alpha = ((const elu_params *)c->params)->alpha;
    tg_tensor *one = tg_scalar(t, tg_dtype_of(y), 1);
    tg_tensor *e = tg_exp(t, tg_clamp(t, x, -INFINITY, 0));
    tg_tensor *d = tg_where(t, tg_gt_scalar(t, x, 0), one,
                            tg_mul_scalar(t, e, alpha));
    gx[0] = tg_mul(t, gy, d);
    return tg_made(gx[0]);
}

const tg_op tg__op_elu = {
    .name = "elu",
    .arity = 1,
    .params_size = sizeof(elu_params),
    .forward = elu_forward,
    .backward = elu_backward,
    .backward_ops = elu_backward_ops,
    .piece = elu_piece,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_elu(tg_tape *t, tg_tensor *x, double alpha)
{
    elu_params p = {alpha};
    return tg_apply(t, &tg__op_elu, 1, &x, &p);
}
