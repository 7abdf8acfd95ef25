/*
 * hardswish.c — a piecewise swish (Howard et al., 2019, MobileNetV3).
 *
 *     hardswish(x)    = x min(max(x + 3, 0), 6) / 6
 *     hardswish'(x)   = 0 if x < -3, 1 if x >= 3, else x / 3 + 1/2
 *
 * The function is continuous but its derivative jumps at -3 (from 0 to
 * -1/2) and at 3 (from 3/2 to 1). At those kinks the derivative is -1/2
 * and 1, and at NaN it is NaN: the conventions of PyTorch's vectorised
 * kernel, which real tensors use (its scalar kernel, used for the last few
 * elements of a tensor, gives 3/2 at 3 and passes the gradient at NaN).
 * The value is x * (r / 6) rather than PyTorch's x * r / 6, so it cannot
 * overflow for x near the largest float (PyTorch gives inf at 3e38 in
 * f32); hardswish(-inf) is -0.0 where PyTorch has NaN (-inf * 0). The loops
 * come from tapegrad/elementwise.h.
 */
#include <tapegrad.h>
#include <tapegrad/elementwise.h>

#include <math.h>

/* x r / 6 with r = min(max(x + 3, 0), 6); r == 0 gives -0.0 (x <= -3). */
static inline float hardswish_f32(float x)
{
    float r = x + 3.0f;
    r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
    return r == 0.0f ? -0.0f : x * (r / 6.0f);
}

static inline double hardswish_f64(double x)
{
    double r = x + 3.0;
    r = r < 0.0 ? 0.0 : r > 6.0 ? 6.0 : r;
    return r == 0.0 ? -0.0 : x * (r / 6.0);
}

static inline float hardswish_grad_f32(float x, float y, float gy)
{
    (void)y;
    return x < -3.0f ? 0.0f : x >= 3.0f ? gy : gy * (x / 3.0f + 0.5f);
}

static inline double hardswish_grad_f64(double x, double y, double gy)
{
    (void)y;
    return x < -3.0 ? 0.0 : x >= 3.0 ? gy : gy * (x / 3.0 + 0.5);
}

/* 0 below -3, 1 between, 2 above 3; -3 and 3 are kinks. */
static inline int64_t hardswish_piece_at(double x)
{
    
    return x < -3 ? 0 : x > 3 ? 2 : x > -3 && x < 3 ? 1 : TG_ON_KINK;
}

TG_UNARY_OP(hardswish)
TG_UNARY_PIECE(hardswish)

/* The same derivative with ops: 0 below -3, 1 from 3, x / 3 + 1/2
 * between. */
static int hardswish_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                  const bool *want, tg_tensor **gx)
{
    (void)want;
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0];
    tg_dtype dt = tg_dtype_of(x);
    tg_tensor *mid = tg_add_scalar(t, tg_mul_scalar(t, x, 1.0 / 3), 0.5);
    tg_tensor *upper = tg_where(t, tg_ge_scalar(t, x, 3), tg_scalar(t, dt, 1),
                                mid);
    tg_tensor *d = tg_where(t, tg_lt_scalar(t, x, -3), tg_scalar(t, dt, 0),
                            upper);
    gx[0] = tg_mul(t, gy, d);
    (void)y;
    return tg_made(gx[0]);
}

const tg_op tg__op_hardswish = {
    .name = "hardswish",
    .arity = 1,
    .forward = hardswish_forward,
    .backward = hardswish_backward,
    .backward_ops = hardswish_backward_ops,
    .piece = hardswish_piece,
    .flags = TG_OP_UNIFORM_GRAD,
};

tg_tensor *tg_hardswish(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_hardswish, 1, &x, NULL);
}
