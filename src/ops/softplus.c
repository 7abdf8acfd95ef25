/*
 * softplus.c — a smooth relu, with PyTorch's options beta and threshold.
 *
 *     softplus(x)    = log(1 + e^(beta x)) / beta,  or x where beta x > threshold
 *     softplus'(x)   = sigmoid(beta x),             or 1 where beta x > threshold
 *
 * Above the threshold PyTorch switches to the identity, which the
 * function approaches there to within e^-threshold / beta: a tiny jump, so
 * piece marks beta x == threshold as a kink for gradient checks. Below it,
 * log(1 + e^z) is computed as max(z, 0) + log1p(e^-|z|), which cannot
 * overflow: with a large threshold PyTorch's log1p(exp(z)) gives inf past
 * z = 88.7 (f32) or 709.8 (f64), and its gradient z / (z + 1) NaN, where
 * here the values stay x and 1. beta x is rounded to the dtype before the
 * comparison, as PyTorch. beta must be finite and nonzero (negative beta is
 * allowed, as in PyTorch: a smooth min(x, 0)), threshold not NaN; PyTorch's
 * defaults are 1 and 20. At beta x == threshold exactly the derivative
 * is sigmoid's, as PyTorch, and so is the second derivative, where
 * PyTorch's double backward (which switches at beta x < threshold) gives
 * 0. The loops come from tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

typedef struct softplus_params {
    double beta, threshold;
} softplus_params;

static int softplus_check(const softplus_params *p)
{
    if (!isfinite(p->beta) || p->beta == 0)
        return tg_set_error(TG_EINVAL, "tg_softplus: beta is %g; it must be "
                            "finite and nonzero", p->beta);
    if (isnan(p->threshold))
        return tg_set_error(TG_EINVAL, "tg_softplus: threshold is nan");
    return TG_OK;
}

static inline float softplus_f32(float x, const softplus_params *p)
{
    float beta = (float)p->beta, z = x * beta;
    float sp = (z > 0.0f ? z : 0.0f) + log1pf(expf(-fabsf(z)));
    return z > (float)p->threshold ? x : sp / beta;
}

static inline double softplus_f64(double x, const softplus_params *p)
{
    double z = x * p->beta;
    double sp = (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
    return z > p->threshold ? x : sp / p->beta;
}

static inline float softplus_grad_f32(float x, float y, float gy,
                                      const softplus_params *p)
{
    (void)y;
    float z = x * (float)p->beta;
    return z > (float)p->threshold ? gy : gy / (1.0f + expf(-z));
}

static inline double softplus_grad_f64(double x, double y, double gy,
                                       const softplus_params *p)
{
    (void)y;
    double z = x * p->beta;
    return z > p->threshold ? gy : gy / (1.0 + exp(-z));
}

/* 1 on the identity above the threshold, 0 below, the switch a kink. */
static inline int64_t softplus_piece_at(double x, const softplus_params *p,
                                        tg_dtype dt)
{
    double z = dt == TG_F32 ? (double)((float)x * (float)p->beta)
                            : x * p->beta;
    double threshold = tg_param_as(p->threshold, dt);
    return z > threshold ? 1 : z < threshold ? 0 : TG_ON_KINK;
}

TG_UNARY_OP_PARAMS(softplus, softplus_params, softplus_check)
TG_UNARY_PIECE_PARAMS(softplus, softplus_params)

/* The same derivative with ops: gy sigmoid(beta x), or gy where beta x is
 * past the threshold (there softplus is x). */
static int softplus_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                 const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    const softplus_params *p = c->params;
    tg_tensor *z = tg_mul_scalar(t, c->in[0], p->beta);
    tg_tensor *d = tg_where(t, tg_gt_scalar(t, z, p->threshold),
                            tg_scalar(t, tg_dtype_of(gy), 1), tg_sigmoid(t, z));
    gx[0] = tg_mul(t, gy, d);
    return tg_made(gx[0]);
}

const tg_op tg__op_softplus = {
    .name = "softplus",
    .arity = 1,
    .params_size = sizeof(softplus_params),
    .forward = softplus_forward,
    .backward = softplus_backward,
    .backward_ops = softplus_backward_ops,
    .piece = softplus_piece,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_softplus(tg_tape *t, tg_tensor *x, double beta, double threshold)
{
    softplus_params p = {beta, threshold};
    return tg_apply(t, &tg__op_softplus, 1, &x, &p);
}
