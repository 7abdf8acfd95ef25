/*
 * tapegrad/elementwise.h — the loops of an elementwise op, written once.
 *
 * A unary elementwise op computes every output element from the input
 * element at the same place, y[i] = f(x[i]), and its gradient the same
 * way, gx[i] = f'(x[i]) * gy[i]. So an op file needs only the maths of one
 * element; this header writes the loops around it, for both dtypes, split
 * across threads for large tensors, vectorised by the compiler. The
 * built-in ops (src/ops/relu.c is the model) and your own are written the
 * same way:
 *
 *     #include <tapegrad.h>
 *     #include <tapegrad/elementwise.h>
 *
 *     static inline float square_f32(float x) { return x * x; }
 *     static inline double square_f64(double x) { return x * x; }
 *     static inline float square_grad_f32(float x, float y, float gy)
 *     {
 *         (void)y;
 *         return 2 * x * gy;
 *     }
 *     static inline double square_grad_f64(double x, double y, double gy)
 *     {
 *         (void)y;
 *         return 2 * x * gy;
 *     }
 *     TG_UNARY_OP(square) // defines square_forward and square_backward
 *
 *     static const tg_op square = {
 *         .name = "square", .arity = 1,
 *         .forward = square_forward, .backward = square_backward,
 *         .flags = TG_OP_UNIFORM_GRAD,
 *     };
 *
 *     int main(void)
 *     {
 *         tg_tape *t = tg_tape_new();
 *         tg_tensor *x = tg_linspace(t, TG_F64, -1.0, 1.0, 3);
 *         tg_set_requires_grad(x, true);
 *         tg_backward(t, tg_sum(t, tg_apply(t, &square, 1, &x, NULL)));
 *         int ok = tg_data_f64(tg_grad(x))[0] == -2.0; // 2x at x = -1
 *         tg_tape_free(t);
 *         return ok ? 0 : 1;
 *     }
 *
 * The grad functions get x, y = f(x) and gy = d root / dy, so f' can use
 * whichever is cheaper (tanh' = 1 - y^2 uses y). They are called by name,
 * never through a pointer, so the compiler inlines them into the loops.
 * The backward that TG_UNARY_OP writes skips an input that needs no
 * gradient (gx[0] NULL), and reads a gradient that is one value everywhere
 * (tg_grad_uniform) as that value: give the op's struct
 * .flags = TG_OP_UNIFORM_GRAD.
 *
 * An op with options writes the same functions with a params pointer last,
 * `square_f32(float x, const P *p)` and so on, and a check of the options,
 * `int CHECK(const P *p)` (TG_OK, or tg_set_error naming the op), and
 * writes TG_UNARY_OP_PARAMS(name, P, CHECK).
 *
 * Ops that are not smooth everywhere say which piece each element is on
 * (see tg_piece_fn in op.h) with `int64_t name_piece_at(double x)` and
 * TG_UNARY_PIECE(name), which defines name_piece; or, with options,
 * `int64_t name_piece_at(double x, const P *p, tg_dtype dt)` and
 * TG_UNARY_PIECE_PARAMS(name, P).
 *
 * Compiled with TG_KERNEL_CLONES defined (the library defines it for its
 * own ops), the loops are also compiled for AVX-512 and AVX2 and the best
 * one for the machine is picked at load time.
 */
#ifndef TAPEGRAD_ELEMENTWISE_H
#define TAPEGRAD_ELEMENTWISE_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What a part of an elementwise loop reads and writes: arrays of the op's
 * dtype, indexed alike. gy is NULL when the gradient is one value
 * everywhere, gy_value.
 */
typedef struct tg_unary_job {
    const void *x;          /* the input */
    const void *y;          /* the output (backward only) */
    const void *gy;         /* d root / dy, or NULL: gy_value everywhere */
    double gy_value;
    void *out;              /* what the loop writes: y, or d root / dx */
    const void *params;     /* the op's options, or NULL */
} tg_unary_job;

/* A part of a loop: elements [begin, end) of job. */
typedef void (*tg_range_fn)(void *job, int64_t begin, int64_t end);

/*
 * The loops of one op, indexed by dtype (0 for TG_F32, 1 for TG_F64):
 * forward writes y from x; backward writes d root / dx from x, y and gy;
 * backward_uniform does the same with gy one value, gy_value.
 */
typedef struct tg_unary_loops {
    tg_range_fn forward[2];
    tg_range_fn backward[2];
    tg_range_fn backward_uniform[2];
} tg_unary_loops;

/*
 * The forward TG_UNARY_OP writes: a new tensor like c->in[0] on c->tape,
 * filled by loops->forward in parts (on several threads for a large
 * tensor). NULL with TG_ENOMEM, or TG_EINVAL for a NULL argument.
 */
TG_API tg_tensor *tg_unary_forward(tg_op_ctx *c, const tg_unary_loops *loops);

/*
 * The backward TG_UNARY_OP writes: gx[0] from x, y and gy by
 * loops->backward (or backward_uniform when tg_grad_uniform(gy) says gy
 * is one value). Nothing to do, and TG_OK, when gx[0] is NULL.
 */
TG_API int tg_unary_backward(tg_op_ctx *c, const tg_tensor *y,
                             const tg_tensor *gy, tg_tensor *const *gx,
                             const tg_unary_loops *loops);

/*
 * f'(x) for every element of c->in[0], as a new tensor on c->tape with no
 * history, computed by the op's own gradient loop with gy = 1 (y is the
 * op's output). For the backward_ops of an op that is piecewise linear
 * (relu, hardtanh, abs ...): its slope is constant on each piece, so
 * gx = gy * slope is exact to every order. NULL with TG_ENOMEM or
 * TG_EINVAL for a NULL argument.
 */
TG_API tg_tensor *tg_unary_slope(tg_op_ctx *c, const tg_tensor *y,
                                 const tg_unary_loops *loops);

/*
 * fn(job, begin, end) over consecutive parts that cover [0, n), on up to
 * tg_num_threads() threads (the caller's among them); returns when all
 * parts are done. A part of the cheapest elementwise loop never takes
 * less than twice what splitting costs (measured by tg_set_num_threads,
 * then in every split call), and every part but the last starts at a
 * multiple of 16, so a small n is one call on the calling thread. For loops
 * outside an op, such as an optimizer's update. fn must write disjoint
 * memory for disjoint ranges, and what an element gets must not depend on
 * where the range is cut: then results are the same, bit for bit, for any
 * thread count. A call made from inside a part runs on its own thread.
 * TG_OK; TG_EINVAL (nothing run) for n < 0 or a NULL fn.
 */
TG_API int tg_parallel_range(int64_t n, tg_range_fn fn, void *job);

/* For ops without options: TG_OK. */
static inline int tg_unary_no_check(const void *p)
{
    (void)p;
    return TG_OK;
}

/*
 * An option as the dtype sees it: f32 ops compute with it rounded to
 * float, so piece functions compare with the same rounded value.
 */
static inline double tg_param_as(double v, tg_dtype dt)
{
    return dt == TG_F32 ? (double)(float)v : v;
}

/*
 * x clamped to [-1e10, 1e10], NaN kept. Products such as x * sigmoid(x)
 * tend to a limit at infinity but evaluate to inf * 0 = NaN there; beyond
 * 1e10 the factor that tends to 0 is already exactly 0 in both dtypes, so
 * using the clamped x gives the limit and changes no finite result.
 */
static inline float tg_tame_f32(float x)
{
    return x > 1e10f ? 1e10f : x < -1e10f ? -1e10f : x;
}

static inline double tg_tame_f64(double x)
{
    return x > 1e10 ? 1e10 : x < -1e10 ? -1e10 : x;
}

/* ---- the macros; what follows is plumbing, not maths */

/* TG_KERNEL: clone a loop for AVX-512 and AVX2 (GCC, clang >= 14, x86-64
 * ELF). Not under ThreadSanitizer, whose runtime is not yet set up when the
 * loader runs the clones' resolvers. */
#define TG__KERNEL_CLONE 0
#if defined(TG_KERNEL_CLONES) && defined(__x86_64__) && defined(__ELF__) && \
    (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 6)
#undef TG__KERNEL_CLONE
#define TG__KERNEL_CLONE 1
#endif
#if defined(__SANITIZE_THREAD__)
#undef TG__KERNEL_CLONE
#define TG__KERNEL_CLONE 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#undef TG__KERNEL_CLONE
#define TG__KERNEL_CLONE 0
#endif
#endif
#if TG__KERNEL_CLONE
#define TG_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG_KERNEL
#endif

/* The three loops for one element type T, calling F, G (element kernels
 * taking params last) on elements [b, e). */
#define TG__UNARY_PARTS(name, P, T, sfx, F, G)                               \
    TG_KERNEL static void name##_forward_##sfx(void *job, int64_t b,         \
                                               int64_t e)                    \
    {                                                                        \
        const tg_unary_job *j = (const tg_unary_job *)job;                   \
        const T *restrict xs = (const T *)j->x;                              \
        T *restrict ys = (T *)j->out;                                        \
        const P *p = (const P *)j->params;                                   \
        for (int64_t i = b; i < e; i++)                                      \
            ys[i] = F(xs[i], p);                                             \
    }                                                                        \
    TG_KERNEL static void name##_backward_##sfx(void *job, int64_t b,        \
                                                int64_t e)                   \
    {                                                                        \
        const tg_unary_job *j = (const tg_unary_job *)job;                   \
        const T *restrict xs = (const T *)j->x;                              \
        const T *restrict ys = (const T *)j->y;                              \
        const T *restrict gy = (const T *)j->gy;                             \
        T *restrict gx = (T *)j->out;                                        \
        const P *p = (const P *)j->params;                                   \
        for (int64_t i = b; i < e; i++)                                      \
            gx[i] = G(xs[i], ys[i], gy[i], p);                               \
    }                                                                        \
    TG_KERNEL static void name##_backward_uniform_##sfx(void *job,           \
                                                        int64_t b, int64_t e) \
    {                                                                        \
        const tg_unary_job *j = (const tg_unary_job *)job;                   \
        const T *restrict xs = (const T *)j->x;                              \
        const T *restrict ys = (const T *)j->y;                              \
        const T g = (T)j->gy_value;                                          \
        T *restrict gx = (T *)j->out;                                        \
        const P *p = (const P *)j->params;                                   \
        for (int64_t i = b; i < e; i++)                                      \
            gx[i] = G(xs[i], ys[i], g, p);                                   \
    }

/* forward and backward from the parts, and the table that joins them. */
#define TG__UNARY_ENTRY(name, P, check, F32, F64, G32, G64)                  \
    TG__UNARY_PARTS(name, P, float, f32, F32, G32)                           \
    TG__UNARY_PARTS(name, P, double, f64, F64, G64)                          \
    static const tg_unary_loops name##_loops = {                             \
        {name##_forward_f32, name##_forward_f64},                            \
        {name##_backward_f32, name##_backward_f64},                          \
        {name##_backward_uniform_f32, name##_backward_uniform_f64},          \
    };                                                                       \
    static tg_tensor *name##_forward(tg_op_ctx *c)                           \
    {                                                                        \
        if (check((const P *)c->params) != TG_OK)                            \
            return NULL;                                                     \
        return tg_unary_forward(c, &name##_loops);                           \
    }                                                                        \
    static int name##_backward(tg_op_ctx *c, const tg_tensor *y,             \
                               const tg_tensor *gy, tg_tensor *const *gx)    \
    {                                                                        \
        return tg_unary_backward(c, y, gy, gx, &name##_loops);               \
    }

/* Defines static name_forward and name_backward for an op with options. */
#define TG_UNARY_OP_PARAMS(name, P, check)                                   \
    TG__UNARY_ENTRY(name, P, check, name##_f32, name##_f64,                  \
                    name##_grad_f32, name##_grad_f64)

/* Defines static name_forward and name_backward for an op without. */
#define TG_UNARY_OP(name)                                                    \
    static inline float name##_pf32(float x, const void *p)                  \
    {                                                                        \
        (void)p;                                                             \
        return name##_f32(x);                                                \
    }                                                                        \
    static inline double name##_pf64(double x, const void *p)                \
    {                                                                        \
        (void)p;                                                             \
        return name##_f64(x);                                                \
    }                                                                        \
    static inline float name##_pgrad_f32(float x, float y, float gy,         \
                                         const void *p)                      \
    {                                                                        \
        (void)p;                                                             \
        return name##_grad_f32(x, y, gy);                                    \
    }                                                                        \
    static inline double name##_pgrad_f64(double x, double y, double gy,     \
                                          const void *p)                     \
    {                                                                        \
        (void)p;                                                             \
        return name##_grad_f64(x, y, gy);                                    \
    }                                                                        \
    TG__UNARY_ENTRY(name, void, tg_unary_no_check, name##_pf32,              \
                    name##_pf64, name##_pgrad_f32, name##_pgrad_f64)

/* Defines static name_piece (a tg_piece_fn) from name_piece_at. */
#define TG_UNARY_PIECE_PARAMS(name, P)                                       \
    static int64_t name##_piece(const tg_op_ctx *c, const tg_tensor *y,      \
                                int64_t i)                                   \
    {                                                                        \
        (void)y;                                                             \
        return name##_piece_at(tg_value_at(c->in[0], i),                     \
                               (const P *)c->params, tg_dtype_of(c->in[0])); \
    }

#define TG_UNARY_PIECE(name)                                                 \
    static int64_t name##_piece(const tg_op_ctx *c, const tg_tensor *y,      \
                                int64_t i)                                   \
    {                                                                        \
        (void)y;                                                             \
        return name##_piece_at(tg_value_at(c->in[0], i));                    \
    }

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_ELEMENTWISE_H */
