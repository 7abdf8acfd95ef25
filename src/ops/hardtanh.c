/*
 * hardtanh.c — clamping to [min_val, max_val].
 *
 *     hardtanh(x)    = min_val if x < min_val, max_val if x > max_val, else x
 *     hardtanh'(x)   = 1 if min_val < x < max_val, else 0
 *
 * At the corners x == min_val and x == max_val the derivative is 0, as
 * PyTorch; at NaN the value is NaN and the derivative 0, as PyTorch's
 * vectorised kernel. min_val == max_val is allowed (a constant, gradient
 * 0); min_val > max_val or a NaN bound is TG_EINVAL; infinite bounds are
 * fine. PyTorch's defaults are -1 and 1. f32 uses the bounds rounded to
 * float. The loops come from unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

typedef struct hardtanh_params {
    double min_val, max_val;
} hardtanh_params;

static int hardtanh_check(const hardtanh_params *p)
{
    if (isnan(p->min_val) || isnan(p->max_val))
        return tg_set_error(TG_EINVAL, "tg_hardtanh: bounds are %g and %g; "
                            "they must not be NaN", p->min_val, p->max_val);
    if (p->min_val > p->max_val)
        return tg_set_error(TG_EINVAL, "tg_hardtanh: min_val %g is greater "
                            "than max_val %g", p->min_val, p->max_val);
    return TG_OK;
}

static inline float hardtanh_f32(float x, const hardtanh_params *p)
{
    float lo = (float)p->min_val, hi = (float)p->max_val;
    return x < lo ? lo : x > hi ? hi : x;
}

static inline double hardtanh_f64(double x, const hardtanh_params *p)
{
    double lo = p->min_val, hi = p->max_val;
    return x < lo ? lo : x > hi ? hi : x;
}

static inline float hardtanh_grad_f32(float x, float y, float gy,
                                      const hardtanh_params *p)
{
    (void)y;
    float lo = (float)p->min_val, hi = (float)p->max_val;
    return x > lo && x < hi ? gy : 0.0f;
}

static inline double hardtanh_grad_f64(double x, double y, double gy,
                                       const hardtanh_params *p)
{
    (void)y;
    double lo = p->min_val, hi = p->max_val;
    return x > lo && x < hi ? gy : 0.0;
}

/* 0 below min_val, 1 between, 2 above max_val; the corners are kinks. */
static inline int64_t hardtanh_piece_at(double x, const hardtanh_params *p,
                                        tg_dtype dt)
{
    double lo = tg__param_as(p->min_val, dt);
    double hi = tg__param_as(p->max_val, dt);
    return x < lo ? 0 : x > hi ? 2 : x > lo && x < hi ? 1 : TG_ON_KINK;
}

TG__UNARY_OP(hardtanh, hardtanh_params, hardtanh_check)
TG__UNARY_PIECE(hardtanh, hardtanh_params)

const tg_op tg__op_hardtanh = {
    .name = "hardtanh",
    .arity = 1,
    .params_size = sizeof(hardtanh_params),
    .forward = hardtanh_forward,
    .backward = hardtanh_backward,
    .piece = hardtanh_piece,
};

tg_tensor *tg_hardtanh(tg_tape *t, tg_tensor *x, double min_val,
                       double max_val)
{
    hardtanh_params p = {min_val, max_val};
    return tg_apply(t, &tg__op_hardtanh, &x, 1, &p);
}
