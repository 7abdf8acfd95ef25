/*
 * leaky_relu.c — the leaky rectified linear unit.
 *
 *     leaky_relu(x)    = x if x > 0, else slope * x
 *     leaky_relu'(x)   = 1 if x > 0, else slope
 *
 * At the kink x == 0 the derivative is slope, as PyTorch (its test is
 * x > 0); NaN also gets slope. Any finite slope works, negative too, as in
 * PyTorch (PyTorch's default is 0.01); a NaN or infinite slope is
 * TG_EINVAL. f32 uses the slope rounded to float. The loops come from
 * unary.h.
 */
#include "tapegrad/ops.h"
#include "unary.h"

typedef struct leaky_relu_params {
    double slope;
} leaky_relu_params;

static int leaky_relu_check(const leaky_relu_params *p)
{
    if (!isfinite(p->slope))
        return tg_set_error(TG_EINVAL, "tg_leaky_relu: slope is %g; it must "
                            "be finite", p->slope);
    return TG_OK;
}

/* The slope is read before the choice, so the loop can become a blend. */
static inline float leaky_relu_f32(float x, const leaky_relu_params *p)
{
    float slope = (float)p->slope;
    return x > 0.0f ? x : x * slope;
}

static inline double leaky_relu_f64(double x, const leaky_relu_params *p)
{
    double slope = p->slope;
    return x > 0.0 ? x : x * slope;
}

static inline float leaky_relu_grad_f32(float x, float y, float gy,
                                        const leaky_relu_params *p)
{
    (void)y;
    float slope = (float)p->slope;
    return x > 0.0f ? gy : gy * slope;
}

static inline double leaky_relu_grad_f64(double x, double y, double gy,
                                         const leaky_relu_params *p)
{
    (void)y;
    double slope = p->slope;
    return x > 0.0 ? gy : gy * slope;
}

/* 1 right of the kink at 0, 0 left of it. */
static inline int64_t leaky_relu_piece_at(double x,
                                          const leaky_relu_params *p,
                                          tg_dtype dt)
{
    (void)p, (void)dt;
    return x > 0 ? 1 : x < 0 ? 0 : TG_ON_KINK;
}

TG__UNARY_OP(leaky_relu, leaky_relu_params, leaky_relu_check)
TG__UNARY_PIECE(leaky_relu, leaky_relu_params)

const tg_op tg__op_leaky_relu = {
    .name = "leaky_relu",
    .arity = 1,
    .params_size = sizeof(leaky_relu_params),
    .forward = leaky_relu_forward,
    .backward = leaky_relu_backward,
    .piece = leaky_relu_piece,
};

tg_tensor *tg_leaky_relu(tg_tape *t, tg_tensor *x, double slope)
{
    leaky_relu_params p = {slope};
    return tg_apply(t, &tg__op_leaky_relu, &x, 1, &p);
}
