/*
 * clamp.c — x limited to [min, max], with torch.clamp's gradient.
 *
 *     clamp(x)  = min(max(x, min), max)
 *     clamp'(x) = 1 if min <= x <= max, else 0
 *
 * The bounds themselves count as inside: the gradient is 1 at x == min and
 * x == max, as torch.clamp gives it (hardtanh, the same function, gives 0
 * there). NaN stays NaN, with gradient 0. min > max is allowed, as in
 * PyTorch: every element becomes max, and no gradient flows. A NaN bound
 * is TG_EINVAL (PyTorch would make every element NaN); infinite bounds
 * are fine, so -INFINITY or INFINITY clamps on one side only. f32 uses the
 * bounds rounded to float, as PyTorch does for a float tensor. The loops
 * come from tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

typedef struct clamp_params {
    double min, max;
} clamp_params;

static int clamp_check(const clamp_params *p)
{
    if (isnan(p->min) || isnan(p->max))
        return tg_set_error(TG_EINVAL, "tg_clamp: bounds are %g and %g; "
                            "they must not be NaN", p->min, p->max);
    return TG_OK;
}

/* Forward: testing x < lo then y > hi keeps NaN, and gives hi everywhere
 * when lo > hi. */
static inline float clamp_f32(float x, const clamp_params *p)
{
    float lo = (float)p->min, hi = (float)p->max;
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
}

static inline double clamp_f64(double x, const clamp_params *p)
{
    double y = x < p->min ? p->min : x;
    return y > p->max ? p->max : y;
}

/* Backward: gy where min <= x <= max (so not at NaN), else 0. */
static inline float clamp_grad_f32(float x, float y, float gy,
                                   const clamp_params *p)
{
    (void)y;
    float lo = (float)p->min, hi = (float)p->max;
    return x >= lo && x <= hi ? gy : 0.0f;
}

static inline double clamp_grad_f64(double x, double y, double gy,
                                    const clamp_params *p)
{
    (void)y;
    return x >= p->min && x <= p->max ? gy : 0.0;
}

/* 0 below min, 1 between, 2 above max; the bounds are kinks. With min >
 * max the output is max everywhere: one piece. */
static inline int64_t clamp_piece_at(double x, const clamp_params *p,
                                     tg_dtype dt)
{
    double lo = tg_param_as(p->min, dt), hi = tg_param_as(p->max, dt);
    if (lo > hi)
        return 0;
    if (x == lo || x == hi)
        return TG_ON_KINK;
    return x < lo ? 0 : x > hi ? 2 : 1;
}

TG_UNARY_OP_PARAMS(clamp, clamp_params, clamp_check)
TG_UNARY_PIECE_PARAMS(clamp, clamp_params)

/* The same derivative with ops: gy times the slope, 1 inside [min, max] and
 * 0 outside, constant on each piece, so clamp'' = 0 (almost everywhere). */
static int clamp_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                              const bool *want, tg_tensor **gx)
{
    (void)want;
    gx[0] = tg_mul(c->tape, gy, tg_unary_slope(c, y, &clamp_loops));
    return tg_made(gx[0]);
}

const tg_op tg__op_clamp = {
    .name = "clamp",
    .arity = 1,
    .params_size = sizeof(clamp_params),
    .forward = clamp_forward,
    .backward = clamp_backward,
    .backward_ops = clamp_backward_ops,
    .piece = clamp_piece,
};

tg_tensor *tg_clamp(tg_tape *t, tg_tensor *x, double min, double max)
{
    clamp_params p = {min, max};
    return tg_apply(t, &tg__op_clamp, 1, &x, &p);
}
