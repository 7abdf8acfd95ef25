/*
 * relu.c — the rectified linear unit, and the model for every op.
 *
 *     relu(x)    = max(x, 0)
 *     relu'(x)   = 1 if x > 0, else 0
 *
 * At the kink x == 0 the derivative is taken as 0, as PyTorch does.
 * relu(NaN) is NaN, relu(-0.0) is -0.0 and relu(-inf) is 0, again as
 * PyTorch; at a NaN input the gradient passes through unchanged (PyTorch
 * zeroes it only where x <= 0, a test NaN fails).
 *
 * An op is three things side by side: a forward that computes the output
 * from the inputs, a backward that turns the gradient of the output into
 * the gradient of each input (the chain rule, one link), and a tg_op
 * struct that names them. A user's own op is written the same way
 * (see examples/custom_op.c).
 */
#include "tapegrad/ops.h"

#include "hot.h"
#include "ops/builtin.h"

/*
 * Forward: y[i] = max(x[i], 0). The output is made on c->tape; tg_apply
 * has already checked that the input exists and will record the call.
 * (TG__HOT only asks the compiler for AVX2 and AVX-512 versions of the
 * loops; see src/internal.h. The maths is unaffected.)
 */
TG__HOT static tg_tensor *relu_forward(tg_op_ctx *c)
{
    const tg_tensor *x = c->in[0];
    tg_tensor *y = tg_empty_like(c->tape, x);
    if (y == NULL)
        return NULL;
    int64_t n = tg_numel(x);
    if (tg_dtype_of(x) == TG_F32) {
        const float *restrict xs = tg_data_f32(x);
        float *restrict ys = tg_mut_f32(y);
        for (int64_t i = 0; i < n; i++)
            ys[i] = xs[i] < 0.0f ? 0.0f : xs[i];   /* keeps NaN */
    } else {
        const double *restrict xs = tg_data_f64(x);
        double *restrict ys = tg_mut_f64(y);
        for (int64_t i = 0; i < n; i++)
            ys[i] = xs[i] < 0.0 ? 0.0 : xs[i];
    }
    return y;
}

/*
 * Backward: by the chain rule, d root/dx[i] = d root/dy[i] * relu'(x[i]),
 * so the gradient flows through where x > 0 and stops where x <= 0. gy holds
 * d root/dy; we write d root/dx into gx[0] (the tape adds it up if x is
 * used more than once).
 *
 * One shortcut, because relu so often feeds a sum or a mean (the seed,
 * losses): their gradient is one value g everywhere, and the tape can hand
 * it over as that number (TG_OP_UNIFORM_GRAD below, tg_grad_uniform). Then
 * d root/dx[i] = x[i] > 0 ? g : 0 reads x alone, not a buffer of g's.
 */
TG__HOT static void relu_grad_f32(int64_t n, const float *restrict xs,
                                  const float *restrict g, float g_all,
                                  float *restrict out)
{
    if (g == NULL) {    /* the same g_all everywhere */
        for (int64_t i = 0; i < n; i++)
            out[i] = xs[i] <= 0.0f ? 0.0f : g_all;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i]; /* read it either way: the loop vectorises */
        out[i] = xs[i] <= 0.0f ? 0.0f : gi;
    }
}

TG__HOT static void relu_grad_f64(int64_t n, const double *restrict xs,
                                  const double *restrict g, double g_all,
                                  double *restrict out)
{
    if (g == NULL) {
        for (int64_t i = 0; i < n; i++)
            out[i] = xs[i] <= 0.0 ? 0.0 : g_all;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double gi = g[i];
        out[i] = xs[i] <= 0.0 ? 0.0 : gi;
    }
}

static int relu_backward(tg_op_ctx *c, const tg_tensor *y,
                         const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const tg_tensor *x = c->in[0];
    double g_all = 0;
    bool uniform = tg_grad_uniform(gy, &g_all);
    if (tg_dtype_of(x) == TG_F32)
        relu_grad_f32(tg_numel(x), tg_data_f32(x),
                      uniform ? NULL : tg_data_f32(gy), (float)g_all,
                      tg_mut_f32(gx[0]));
    else
        relu_grad_f64(tg_numel(x), tg_data_f64(x),
                      uniform ? NULL : tg_data_f64(gy), g_all,
                      tg_mut_f64(gx[0]));
    return TG_OK;
}

/*
 * Which side of the kink output i is on: gradient checks use this to tell
 * a finite difference that straddles x == 0 from a wrong gradient.
 */
static int64_t relu_piece(const tg_op_ctx *c, const tg_tensor *y, int64_t i)
{
    (void)y;
    const tg_tensor *x = c->in[0];
    double v = tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
    return v > 0 ? 1 : v < 0 ? 0 : TG_ON_KINK;
}

/* The op itself: what tg_op_find("relu") returns. */
const tg_op tg__op_relu = {
    .name = "relu",
    .arity = 1,
    .forward = relu_forward,
    .backward = relu_backward,
    .piece = relu_piece,
    .flags = TG_OP_UNIFORM_GRAD,   /* relu_backward asks tg_grad_uniform */
};

/* The C entry point: one input, no params. */
tg_tensor *tg_relu(tg_tape *t, tg_tensor *x)
{
    return tg_apply(t, &tg__op_relu, &x, 1, NULL);
}
