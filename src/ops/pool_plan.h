/*
 * pool_plan.h — what the three pooling ops of pool2d.c share: the plan of
 * one call (its windows, and for max pooling the argmax of each), the
 * linear map P it defines from x to y, and P or its transpose as an op
 * (pool2d_linear), for the derivatives written with ops.
 */
#ifndef TG_OPS_POOL_PLAN_H
#define TG_OPS_POOL_PLAN_H

#include "tapegrad/pool.h"

enum tg__pool_kind { TG__POOL_MAX, TG__POOL_AVG, TG__POOL_ADAPTIVE };

typedef struct tg__pool_params {
    int kind;                /* an enum tg__pool_kind */
    tg_pool2d_options o;     /* MAX, AVG */
    int64_t out[2];          /* ADAPTIVE */
    bool relu;               /* MAX of relu(x): relu_max_pool2d (pool_relu.c) */
} tg__pool_params;

/* The linear map P of one call: planes of H x W pooled to OH x OW. */
typedef struct tg__pool_plan {
    int kind;
    int ndim;                /* 3 or 4 */
    int64_t lead[2];         /* the sizes before H, W (N, C or C) */
    int64_t planes, h, w, oh, ow;
    int64_t k[2], s[2], p[2], d[2];
    bool include_pad;
    int64_t *arg;            /* MAX: per output element, the position in
                                its plane (h * W + w) of its maximum */
    uint8_t *code;           /* MAX 2x2 at stride 2 (pool_max2x2.c), instead
                                of arg: per output element, which of its
                                window's four it is (0 1 / 2 3) */
} tg__pool_plan;

/* MAX: output element o's argmax, as a position in its plane. */
static inline int64_t tg__pool_arg(const tg__pool_plan *pl, int64_t o)
{
    if (pl->code == NULL)
        return pl->arg[o];
    int64_t i = o % (pl->oh * pl->ow) / pl->ow, j = o % pl->ow;
    return (2 * i + pl->code[o] / 2) * pl->w + 2 * j + pl->code[o] % 2;
}

/* "tg_max_pool2d", "tg_avg_pool2d" or "tg_adaptive_avg_pool2d". */
const char *tg__pool_call_name(int kind);

/* The plan for x and the params (arg left NULL), or an error naming the
 * call and the shapes. */
int tg__pool_make_plan(const tg_tensor *x, const tg__pool_params *pp,
                       tg__pool_plan *pl);

/* An empty tensor of the pooled (or, pooled false, the input's) shape. */
tg_tensor *tg__pool_empty_out(tg_tape *t, const tg__pool_plan *pl,
                              tg_dtype dt, bool pooled);

/* y = P x (pooled) or y = P^T x (not pooled: x has the pooled shape). */
void tg__pool_apply(const tg__pool_plan *pl, const tg_tensor *x, tg_tensor *y,
                    bool pooled);

/* MAX: each window's argmax into pl->arg (PyTorch's rule). */
void tg__pool_find_argmax(tg__pool_plan *pl, const tg_tensor *x);

/* P x or P^T x as a recorded op on t: its derivative is the other one.
 * The plan must live as long as t's recording (tape memory of t). */
tg_tensor *tg__pool_linear(tg_tape *t, const tg__pool_plan *plan,
                           tg_tensor *x, bool transpose);

/* ---- pool_max2x2.c: the 2x2, stride 2 fast path of max pooling ---- */

/* MAX with 2x2 windows at stride 2, no padding, no dilation. */
bool tg__pool_is_max2x2(const tg__pool_plan *pl);

/* y = P x and pl->code (allocated by the caller, one byte per output);
 * relu: y = P relu(x), with the codes of relu(x) (relu_max_pool2d). */
void tg__pool_max2x2_forward(const tg__pool_plan *pl, const tg_tensor *x,
                             tg_tensor *y, bool relu);

/* tg__pool_apply for a plan with codes. */
void tg__pool_max2x2_apply(const tg__pool_plan *pl, const tg_tensor *x,
                           tg_tensor *y, bool pooled);

/* relu_max_pool2d's backward: gx = P^T gy where y (its output) is > 0 or
 * NaN, 0 elsewhere; every element of gx written. */
void tg__pool_max2x2_relu_grad(const tg__pool_plan *pl, const tg_tensor *gy,
                               const tg_tensor *y, tg_tensor *gx);

/* The gradient-check piece of max pooling's output o (value best) over x,
 * for max_pool2d (relu false) and relu_max_pool2d (relu true): the
 * argmax's position, or TG_ON_KINK where another element of the window
 * equals the maximum (a tie). Where y does not depend on x — a window of
 * padding only (-inf), or with relu a window below 0 (y = 0) — the one
 * piece h * w, past every position; with relu a 0 of x there is relu's
 * kink. */
int64_t tg__pool_max_piece(const tg__pool_plan *pl, const tg_tensor *x,
                           double best, int64_t o, bool relu);

#endif /* TG_OPS_POOL_PLAN_H */
