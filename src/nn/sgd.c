/*
 * sgd.c — stochastic gradient descent, by torch.optim.SGD's rule:
 *
 *     d = grad + weight_decay * p
 *     buf = d                                     (first step)
 *     buf = momentum * buf + (1 - dampening) * d  (later steps)
 *     d = nesterov ? d + momentum * buf : buf     (when momentum > 0)
 *     p = p - lr * d
 */
#include "optimizer.h"

#include "tapegrad/elementwise.h"
#include "tensor/gemm_split.h"
#include "tensor/pool.h"

#include <math.h>

/* The rule for one dtype T, rounded as PyTorch rounds it: each "add with
 * alpha" (g + wd * p, buf * mom + (1 - dampening) * d, d + mom * buf,
 * p - lr * d) is one fused multiply-add; 1 - dampening is computed in
 * double. WD, BUF, FIRST and NEST say whether there is weight decay, a
 * momentum buffer, whether this is its first step, and Nesterov. */
#define SGD_LOOP(T, FMA, p, g, buf, n, o, WD, BUF, FIRST, NEST)               \
    do {                                                                      \
        const T lr = (T)(o)->sgd.lr, wd = (T)(o)->sgd.weight_decay;           \
        const T mom = (T)(o)->sgd.momentum;                                   \
        const T keep = (T)(1.0 - (o)->sgd.dampening);                         \
        for (int64_t i = 0; i < (n); i++) {                                   \
            T d = (WD) ? FMA((p)[i], wd, (g)[i]) : (g)[i];                    \
            if (BUF) {                                                        \
                (buf)[i] = (FIRST) ? d : FMA(d, keep, (buf)[i] * mom);        \
                d = (NEST) ? FMA((buf)[i], mom, d) : (buf)[i];                \
            }                                                                 \
            (p)[i] = FMA(d, -lr, (p)[i]);                                     \
        }                                                                     \
    } while (0)

/* The loop with the choices that stay the same for a whole training run
 * written as constants, so each case is a loop of its own without tests
 * inside, which the compiler vectorises (with the tests inside, GCC 12
 * left momentum, W6's case, scalar). The first momentum step, once per
 * run, takes the general loop. */
#define SGD_UPDATE(T, FMA, p, g, buf, n, o, first)                            \
    do {                                                                      \
        bool wd_ = (o)->sgd.weight_decay != 0, nest_ = (o)->sgd.nesterov;     \
        if ((buf) == NULL && !wd_)                                            \
            SGD_LOOP(T, FMA, p, g, buf, n, o, false, false, false, false);    \
        else if ((buf) == NULL)                                               \
            SGD_LOOP(T, FMA, p, g, buf, n, o, true, false, false, false);     \
        else if ((first))                                                     \
            SGD_LOOP(T, FMA, p, g, buf, n, o, wd_, true, true, nest_);        \
        else if (!wd_ && !nest_)                                              \
            SGD_LOOP(T, FMA, p, g, buf, n, o, false, true, false, false);     \
        else if (!wd_)                                                        \
            SGD_LOOP(T, FMA, p, g, buf, n, o, false, true, false, true);      \
        else if (!nest_)                                                      \
            SGD_LOOP(T, FMA, p, g, buf, n, o, true, true, false, false);      \
        else                                                                  \
            SGD_LOOP(T, FMA, p, g, buf, n, o, true, true, false, true);       \
    } while (0)

/* One parameter's update, run in parts over its elements. */
typedef struct sgd_job {
    const tg_optimizer *o;
    const tg_tensor *x; /* the parameter */
    void *p, *buf;
    const void *g;
    bool first;
} sgd_job;

/* Cloned for x86-64-v3 and -v4 (TG__HOT_FMA); static, because clang 14 makes
 * no dispatcher for an external clone that its own file never calls. */
TG__HOT_FMA static void sgd_part_f32(void *job, int64_t begin, int64_t end)
{
    const sgd_job *j = job;
    float *restrict p = (float *)j->p + begin;
    const float *restrict g = (const float *)j->g + begin;
    float *restrict buf = j->buf ? (float *)j->buf + begin : NULL;
    SGD_UPDATE(float, fmaf, p, g, buf, end - begin, j->o, j->first);
}

TG__HOT_FMA static void sgd_part_f64(void *job, int64_t begin, int64_t end)
{
    const sgd_job *j = job;
    double *restrict p = (double *)j->p + begin;
    const double *restrict g = (const double *)j->g + begin;
    double *restrict buf = j->buf ? (double *)j->buf + begin : NULL;
    SGD_UPDATE(double, fma, p, g, buf, end - begin, j->o, j->first);
}

/*
 * The parameters' updates as one split call (W6's ten tensors, 61,706
 * floats, the largest 48,000, are each too small to be worth a hand-off
 * of their own). Part i of P updates piece i of every parameter, not the
 * i-th stretch of all of them end to end: a linear layer's weight
 * gradient (rows = outputs) was computed by gemm_split.c in blocks of
 * rows, one per thread, and cutting its rows at the same places
 * (tg__gemm_block_start) gives each thread the block it wrote, still in
 * its own cache. Cut end to end, W6's halves met at row 70 of fc1's
 * weight (not at row 64, where its gradient's blocks meet), and the
 * worker's half took 60 us a step against the caller's 38; cut by pieces, the
 * halves take 49 and 43 us and the call 51 us instead of 65 (the lane
 * sgd in bench/RESULTS.md, session 9). Every element's update
 * is its own, so the result does not depend on the cut or on the thread
 * count. Up to BATCH parameters per call, so the job lives on the stack
 * (no allocator calls).
 */
enum { BATCH = 64 };

typedef struct sgd_batch {
    int n, parts;
    int64_t numel[BATCH];
    int64_t rows[BATCH]; /* > 0: cut as gemm_split cuts this many rows */
    sgd_job job[BATCH];
    bool f32[BATCH];
} sgd_batch;

/* Where piece i of parameter k starts: a matrix's rows cut where
 * gemm_split.c cut them (tg__gemm_block_start), anything else in units
 * of 16 elements shared out as the pool shares out a range. */
static int64_t piece_start(const sgd_batch *b, int k, int i)
{
    int64_t n = b->numel[k];
    if (i >= b->parts)
        return n;
    if (b->rows[k] > 0)
        return tg__gemm_block_start(b->rows[k], b->parts, i) *
               (n / b->rows[k]);
    int64_t units = (n + 15) / 16;
    int64_t at = units * i / b->parts * 16;
    return at < n ? at : n;
}

/* Parts [begin, end) of the b->parts: their pieces of every parameter. */
static void batch_part(void *job, int64_t begin, int64_t end)
{
    const sgd_batch *b = job;
    for (int64_t i = begin; i < end; i++)
        for (int k = 0; k < b->n; k++) {
            int64_t lo = piece_start(b, k, (int)i);
            int64_t hi = piece_start(b, k, (int)i + 1);
            if (lo < hi)
                (b->f32[k] ? sgd_part_f32 : sgd_part_f64)(
                    (void *)&b->job[k], lo, hi);
        }
}

/* A parameter's rows, cut as a matrix's when it is at least 2-D (its
 * first axis the rows) with a block of gemm's rows per part; else 0. */
static int64_t cut_rows(const tg_tensor *x, int parts)
{
    if (tg_ndim(x) >= 2 && tg_shape(x)[0] >= tg__gemm_split_rows() * parts)
        return tg_shape(x)[0];
    return 0;
}

/* Run the batch's updates: split in parts of at least an elementwise
 * part's length (TG__ELEMENTWISE_PART) in all. */
static void run_batch(sgd_batch *b, int64_t total)
{
    int64_t most = total / TG__ELEMENTWISE_PART;
    int threads = tg_num_threads();
    b->parts = most < threads ? (int)(most > 1 ? most : 1) : threads;
    for (int k = 0; k < b->n; k++)
        b->rows[k] = cut_rows(b->job[k].x, b->parts);
    if (b->parts == 1)
        batch_part(b, 0, 1);
    else
        tg__parallel_for_split(b->parts, 1, 1, batch_part, b);
}

int tg__sgd_step(tg_optimizer *o)
{
    sgd_batch b;
    b.n = 0;
    int64_t total = 0;
    for (int64_t k = 0; k < o->n; k++) {
        tg_tensor *x = o->params[k], *grad = tg_grad(x);
        if (grad != NULL) {
            bool f32 = tg_dtype_of(x) == TG_F32;
            sgd_job j = {o, x,
                         f32 ? (void *)tg_mut_f32(x) : (void *)tg_mut_f64(x),
                         NULL, f32 ? (const void *)tg_data_f32(grad)
                                   : (const void *)tg_data_f64(grad),
                         o->count[k]++ == 0};
            if (o->state1[k] != NULL)
                j.buf = f32 ? (void *)tg_mut_f32(o->state1[k])
                            : (void *)tg_mut_f64(o->state1[k]);
            b.job[b.n] = j;
            b.f32[b.n] = f32;
            b.numel[b.n] = tg_numel(x);
            total += b.numel[b.n];
            b.n++;
        }
        if (b.n == BATCH || (k == o->n - 1 && b.n > 0)) {
            run_batch(&b, total);
            b.n = 0;
            total = 0;
        }
    }
    return TG_OK;
}
