/*
 * w_conv.c — "conv": LeNet-5's two convolutions at W6's shapes, forward and
 * backward, and their GFLOP/s against the matrix multiply's.
 */
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- conv: LeNet-5's two convolutions (W6's shapes), forward + backward */

/*
 * The two convolutions of BENCHMARKS.md's W6 at its batch of 64, f32:
 * conv1 1->6 5x5 padding 2 on (64,1,28,28) (x needs no gradient: it is the
 * image), conv2 6->16 5x5 on (64,6,14,14) (x needs one: it is a layer's
 * output). One iteration is both forwards and their backwards by
 * tg_backward (the road training takes), seeded with fixed gradients r1,
 * r2 at y1, y2 by conv_seed below: the gradient of sum(y1 r1) + sum(y2 r2)
 * without timing that loss's mul, sum and their gradients. The note gives the
 * convolutions' GFLOP/s (2 multiply-adds per weight tap per output element,
 * per pass: forward, weight gradient and, for conv2, input gradient)
 * against the matrix multiply's at W4's layer-1 shape, 64x784 @ 784x256,
 * timed in the same run: the target is at least 50%. The smoke run
 * (an untimed test, run under valgrind too) takes a batch of 8 and times
 * the note's figures once, not best of 5: the same code in a fraction of
 * the time.
 */
#define CONV_BATCH 64
#define CONV_SMOKE_BATCH 8

typedef struct conv_state {
    tg_tape *model, *step;
    tg_tensor *x1, *w1, *b1, *r1, *x2, *w2, *b2, *r2;
    tg_tensor *ma, *mb;         /* the matmul of the note */
    int64_t batch;              /* CONV_BATCH, or CONV_SMOKE_BATCH */
    bool smoke;
} conv_state;

void conv_teardown(void *state)
{
    conv_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    free(s);
}

static tg_tensor *conv_param(tg_tape *t, tg_rng *rng, int nd,
                             const int64_t *shape, bool grad)
{
    tg_tensor *x = tg_rand_normal(t, rng, TG_F32, nd, shape, 0.0, 0.2);
    if (grad && x != NULL)
        tg_set_requires_grad(x, true);
    return x;
}

void *conv_setup(bool smoke)
{
    conv_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->model = tg_tape_new()) ||
        !(s->step = tg_tape_new())) {
        conv_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    s->smoke = smoke;
    s->batch = smoke ? CONV_SMOKE_BATCH : CONV_BATCH;
    int64_t nb = s->batch;
    tg_rng rng;
    tg_rng_seed(&rng, 6, 0);
    int64_t x1[4] = {nb, 1, 28, 28}, w1[4] = {6, 1, 5, 5}, b1 = 6;
    int64_t y1[4] = {nb, 6, 28, 28};
    int64_t x2[4] = {nb, 6, 14, 14}, w2[4] = {16, 6, 5, 5}, b2 = 16;
    int64_t y2[4] = {nb, 16, 10, 10};
    int64_t ma[2] = {64, 784}, mb[2] = {784, 256};
    tg_tape *m = s->model;
    s->x1 = conv_param(m, &rng, 4, x1, false);
    s->w1 = conv_param(m, &rng, 4, w1, true);
    s->b1 = conv_param(m, &rng, 1, &b1, true);
    s->r1 = conv_param(m, &rng, 4, y1, false);
    s->x2 = conv_param(m, &rng, 4, x2, true);
    s->w2 = conv_param(m, &rng, 4, w2, true);
    s->b2 = conv_param(m, &rng, 1, &b2, true);
    s->r2 = conv_param(m, &rng, 4, y2, false);
    s->ma = conv_param(m, &rng, 2, ma, false);
    s->mb = conv_param(m, &rng, 2, mb, false);
    if (s->mb == NULL) {
        fail("making the convolutions' inputs");
        conv_teardown(s);
        return NULL;
    }
    return s;
}

/*
 * conv_seed(y1, y2): a scalar root (0) whose backward hands y1 and y2 the
 * fixed gradients r1 and r2 (its params), as PyTorch's
 * torch.autograd.backward((y1, y2), (r1, r2)) does: one copy of each.
 */
typedef struct conv_seed_params {
    const tg_tensor *r[2];
} conv_seed_params;

static tg_tensor *conv_seed_forward(tg_op_ctx *c)
{
    return tg_zeros(c->tape, tg_dtype_of(c->in[0]), 0, NULL);
}

static int conv_seed_backward(tg_op_ctx *c, const tg_tensor *y,
                              const tg_tensor *gy, tg_tensor *const *gx)
{
    const conv_seed_params *p = c->params;
    (void)y, (void)gy;
    for (int i = 0; i < 2; i++)
        if (gx[i] != NULL)
            memcpy(tg_mut_f32(gx[i]), tg_data_f32(p->r[i]),
                   (size_t)tg_numel(gx[i]) * sizeof(float));
    return 0;
}

static const tg_op conv_seed = {
    .name = "bench_conv_seed", .arity = 2,
    .params_size = sizeof(conv_seed_params),
    .forward = conv_seed_forward, .backward = conv_seed_backward};

int conv_iter(void *state, bool verify)
{
    conv_state *s = state;
    tg_tape *t = s->step;
    tg_conv_options o1 = tg_conv_defaults(), o2 = tg_conv_defaults();
    o1.padding[0] = o1.padding[1] = 2;
    tg_tensor *ys[2] = {tg_conv2d(t, s->x1, s->w1, s->b1, &o1),
                        tg_conv2d(t, s->x2, s->w2, s->b2, &o2)};
    conv_seed_params sp = {{s->r1, s->r2}};
    tg_tensor *root = ys[0] != NULL && ys[1] != NULL
                          ? tg_apply(t, &conv_seed, 2, ys, &sp)
                          : NULL;
    tg_zero_grad(s->w1), tg_zero_grad(s->b1), tg_zero_grad(s->x2);
    tg_zero_grad(s->w2), tg_zero_grad(s->b2);
    int rc = tg_backward(t, root) == TG_OK ? 0 : fail("tg_backward(conv)");
    /* d/d b2[o] is the sum of r2[:, o]: check the first. */
    if (rc == 0 && verify) {
        double want = 0;
        const float *r = tg_data_f32(s->r2);
        for (int64_t n = 0; n < s->batch; n++)
            for (int64_t i = 0; i < 100; i++)
                want += r[n * 1600 + i];
        double got = tg_data_f32(tg_grad(s->b2))[0];
        if (!(fabs(got - want) <= 1e-3 * (1 + fabs(want))))
            rc = wrong("conv: d/d b2[0] = %g, expected %g", got, want);
    }
    sink = rc == 0 ? tg_data_f32(tg_grad(s->w1))[0] : 0;
    tg_tape_reset(t);
    return rc;
}

/* Multiply-adds of one pass of each convolution, times 2 for FLOPs. */
static double conv_flops(const conv_state *s)
{
    double nb = (double)s->batch;
    double c1 = 2.0 * nb * 6 * 28 * 28 * (1 * 5 * 5);
    double c2 = 2.0 * nb * 16 * 10 * 10 * (6 * 5 * 5);
    return 2 * c1 + 3 * c2; /* conv1: forward, dW; conv2: also dX */
}

/* Seconds per call of fn over about 0.3 s, best of 5 rounds (in the smoke
 * run, one call). */
static double conv_time(conv_state *s, bool matmul)
{
    double best = INFINITY, span = s->smoke ? 0 : 0.06;
    for (int round = 0; round < (s->smoke ? 1 : 5); round++) {
        int reps = 0;
        double t0 = now_seconds(), t1 = t0;
        while (reps == 0 || t1 - t0 < span) {
            if (matmul) {
                sink = tg_data_f32(tg_matmul(s->step, s->ma, s->mb))[0];
                tg_tape_reset(s->step);
            } else if (conv_iter(s, false) != 0)
                return NAN;
            reps++;
            t1 = now_seconds();
        }
        double per = (t1 - t0) / reps;
        best = per < best ? per : best;
    }
    return best;
}

void conv_note(void *state, char *buf, size_t n)
{
    conv_state *s = state;
    double conv = conv_flops(s) / conv_time(s, false) * 1e-9;
    double mm = 2.0 * 64 * 784 * 256 / conv_time(s, true) * 1e-9;
    snprintf(buf, n, "%.1f GFLOP/s, %.0f%% of the gemm's %.1f GFLOP/s "
             "(64x784 @ 784x256)", conv, 100 * conv / mm, mm);
}
