/*
 * unary.h — the loops of a unary elementwise op, written once.
 *
 * relu.c spells its loops out and is the model to read first. The other
 * unary ops differ from it only in the maths of one element, so each op
 * file writes just that, as small static inline functions, and
 * TG__UNARY_OP writes the loops around them:
 *
 *     static inline float  NAME_f32(float x, const P *p)            y = f(x)
 *     static inline double NAME_f64(double x, const P *p)
 *     static inline float  NAME_grad_f32(float x, float y, float gy,
 *                                        const P *p)       gx = gy * f'(x)
 *     static inline double NAME_grad_f64(double x, double y, double gy,
 *                                        const P *p)
 *     TG__UNARY_OP(NAME, P, CHECK)
 *
 * P is the op's params struct (void when it has none, and p is then NULL)
 * and CHECK(p) returns TG_OK or sets the error for bad options
 * (tg__unary_no_check for ops without options). The grad functions get x,
 * y = f(x) and gy = d root/dy, so f' can use whichever is cheaper (tanh'
 * uses y). The functions are called by name, never through a pointer, so
 * the compiler inlines them into the loops and vectorises what it can.
 *
 * Non-smooth ops also write NAME_piece_at(double x, const P *p, tg_dtype dt)
 * and TG__UNARY_PIECE(NAME, P) to make NAME_piece (see tg_piece_fn).
 */
#ifndef TG_OPS_UNARY_H
#define TG_OPS_UNARY_H

#include "ops/builtin.h"
#include "tensor/pool.h"
#include "tensor/tensor_struct.h"

#include <math.h>

/* For ops without options. */
static inline int tg__unary_no_check(const void *p)
{
    (void)p;
    return TG_OK;
}

/*
 * x clamped to [-1e10, 1e10], NaN kept. Products such as x * sigmoid(x)
 * tend to a limit at infinity but evaluate to inf * 0 = NaN there; beyond
 * 1e10 the factor that tends to 0 is already exactly 0 in both dtypes, so
 * using the clamped x gives the limit and changes no finite result.
 */
static inline float tg__tame_f32(float x)
{
    return x > 1e10f ? 1e10f : x < -1e10f ? -1e10f : x;
}

static inline double tg__tame_f64(double x)
{
    return x > 1e10 ? 1e10 : x < -1e10 ? -1e10 : x;
}

/* An option as the dtype sees it: f32 ops use it rounded to float. */
static inline double tg__param_as(double v, tg_dtype dt)
{
    return dt == TG_F32 ? (double)(float)v : v;
}

/* What the parts of a unary op's loops read and write (tg__parallel_for
 * runs them, on several threads when the tensor is large). */
typedef struct tg__unary_job {
    const void *x, *y, *g;  /* the input, the output, d root/dy */
    void *out;              /* what the loop writes: y, or d root/dx */
    const void *p;          /* the op's params */
} tg__unary_job;

/* A part of the forward loop, elements [b, e), for element type T. */
#define TG__UNARY_FORWARD_PART(name, P, T, sfx)                              \
    static void name##_forward_##sfx(void *job, int64_t b, int64_t e)        \
    {                                                                        \
        const tg__unary_job *j = job;                                        \
        const T *restrict xs = j->x;                                         \
        T *restrict ys = j->out;                                             \
        const P *p = j->p;                                                   \
        for (int64_t i = b; i < e; i++)                                      \
            ys[i] = name##_##sfx(xs[i], p);                                  \
    }

/* A part of the backward loop. */
#define TG__UNARY_BACKWARD_PART(name, P, T, sfx)                             \
    static void name##_backward_##sfx(void *job, int64_t b, int64_t e)       \
    {                                                                        \
        const tg__unary_job *j = job;                                        \
        const T *restrict xs = j->x, *restrict ys = j->y;                    \
        const T *restrict g = j->g;                                          \
        T *restrict out = j->out;                                            \
        const P *p = j->p;                                                   \
        for (int64_t i = b; i < e; i++)                                      \
            out[i] = name##_grad_##sfx(xs[i], ys[i], g[i], p);               \
    }

#define TG__UNARY_OP(name, P, check)                                         \
    TG__UNARY_FORWARD_PART(name, P, float, f32)                              \
    TG__UNARY_FORWARD_PART(name, P, double, f64)                             \
    TG__UNARY_BACKWARD_PART(name, P, float, f32)                             \
    TG__UNARY_BACKWARD_PART(name, P, double, f64)                            \
                                                                             \
    static tg_tensor *name##_forward(tg_op_ctx *c)                           \
    {                                                                        \
        if (check((const P *)c->params) != TG_OK)                            \
            return NULL;                                                     \
        const tg_tensor *x = c->in[0];                                       \
        tg_tensor *y = tg_empty_like(c->tape, x);                            \
        if (y == NULL)                                                       \
            return NULL;                                                     \
        tg__unary_job j = {x->data, NULL, NULL, y->data, c->params};         \
        tg__parallel_for(x->numel, 16, TG__ELEMENTWISE_PART,                 \
                         x->dtype == TG_F32 ? name##_forward_f32             \
                                            : name##_forward_f64, &j);       \
        return y;                                                            \
    }                                                                        \
                                                                             \
    static int name##_backward(tg_op_ctx *c, const tg_tensor *y,             \
                               const tg_tensor *gy, tg_tensor *const *gx)    \
    {                                                                        \
        const tg_tensor *x = c->in[0];                                       \
        if (gx[0] == NULL)                                                   \
            return TG_OK;                                                    \
        tg__unary_job j = {x->data, y->data, gy->data, gx[0]->data,          \
                           c->params};                                       \
        tg__parallel_for(x->numel, 16, TG__ELEMENTWISE_PART,                 \
                         x->dtype == TG_F32 ? name##_backward_f32            \
                                            : name##_backward_f64, &j);      \
        return TG_OK;                                                        \
    }

#define TG__UNARY_PIECE(name, P)                                             \
    static int64_t name##_piece(const tg_op_ctx *c, const tg_tensor *y,      \
                                int64_t i)                                   \
    {                                                                        \
        (void)y;                                                             \
        const tg_tensor *x = c->in[0];                                       \
        tg_dtype dt = tg_dtype_of(x);                                        \
        double v = dt == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];     \
        return name##_piece_at(v, (const P *)c->params, dt);                 \
    }

#endif /* TG_OPS_UNARY_H */
