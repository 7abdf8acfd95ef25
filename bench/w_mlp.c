/*
 * w_mlp.c — the small multilayer perceptrons: W3 (micrograd's moons demo),
 * W4 (one training step of an MLP 784-256-10) and W8 (a Hessian-vector
 * product through W4's MLP, and its plain gradient).
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- W3: micrograd's moons demo */

/*
 * BENCHMARKS.md's W3: the 100 two-moons points of micrograd's demo
 * (tests/fixtures/moons100.csv, made with sklearn's make_moons(100,
 * noise=0.1) formula), MLP 2-16-16-1 with ReLU initialised as micrograd
 * does (weights uniform(-1, 1), biases 0), max-margin loss
 * mean(relu(1 - y * score)) + 1e-4 * sum(p^2), full-batch SGD with
 * lr = 1 - 0.9 k / 100 for k = 0..99. f32, as every workload unless said.
 * One iteration is the whole run of 100 steps from the same initial
 * weights (restored at its start); the note gives the final accuracy.
 */
#define W3_POINTS 100
#define W3_STEPS 100

#ifndef BENCH_MOONS_CSV
#define BENCH_MOONS_CSV "tests/fixtures/moons100.csv"
#endif

typedef struct w3_state {
    tg_tape *model, *step;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
    tg_tensor *x, *y;           /* (100, 2) and (100, 1), on model */
    float *init;                /* every parameter's first values, in order */
    double accuracy;            /* after the last complete run */
} w3_state;

void w3_teardown(void *state)
{
    w3_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    free(s->init);
    free(s);
}

/* Rows "x1,x2,label" after a header line, into xs (n x 2) and ys. */
static int w3_read(const char *path, float *xs, float *ys)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "bench: W3: cannot open %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    char line[256];
    int n = fgets(line, sizeof line, f) ? 0 : -1;
    while (n >= 0 && n < W3_POINTS && fgets(line, sizeof line, f) != NULL)
        n = sscanf(line, "%f,%f,%f", &xs[2 * n], &xs[2 * n + 1], &ys[n]) == 3
            ? n + 1 : -1;
    fclose(f);
    if (n != W3_POINTS) {
        fprintf(stderr, "bench: W3: %s does not hold %d rows x1,x2,label\n",
                path, W3_POINTS);
        return -1;
    }
    return 0;
}

/* The network with micrograd's initialisation, saved for every run. */
static int w3_model(w3_state *s)
{
    tg_rng rng;
    tg_rng_seed(&rng, 1337, 1);
    int64_t widths[] = {2, 16, 16, 1};
    tg_sgd_options sgd = tg_sgd_defaults(1.0);
    s->params = tg_params_new(s->model);
    s->net = tg_mlp_new(s->model, s->params, &rng, TG_F32, 4, widths, tg_relu);
    s->opt = s->net ? tg_sgd_new(s->model, s->params, &sgd) : NULL;
    if (s->opt == NULL)
        return fail("making the MLP and its optimizer");
    s->init = malloc((size_t)tg_params_numel(s->params) * sizeof *s->init);
    if (s->init == NULL)
        return fail("malloc");
    float *v = s->init;
    for (int i = 0; i < tg_mlp_layers(s->net); i++) {
        tg_linear_layer *l = tg_mlp_layer(s->net, i);
        for (int64_t j = 0; j < tg_numel(l->weight); j++)
            *v++ = (float)(2.0 * tg_rng_uniform(&rng) - 1.0);
        for (int64_t j = 0; j < tg_numel(l->bias); j++)
            *v++ = 0.0f;
    }
    return 0;
}

void *w3_setup(bool smoke)
{
    (void)smoke;
    w3_state *s = calloc(1, sizeof *s);
    float xs[2 * W3_POINTS], ys[W3_POINTS];
    if (s == NULL || !(s->model = tg_tape_new()) ||
        !(s->step = tg_tape_new()) || w3_model(s) != 0 ||
        w3_read(BENCH_MOONS_CSV, xs, ys) != 0) {
        w3_teardown(s);
        return NULL;
    }
    int64_t xshape[2] = {W3_POINTS, 2}, yshape[2] = {W3_POINTS, 1};
    s->x = tg_from_data(s->model, TG_F32, 2, xshape, xs);
    s->y = tg_from_data(s->model, TG_F32, 2, yshape, ys);
    if (s->y == NULL) {
        fail("tg_from_data");
        w3_teardown(s);
        return NULL;
    }
    return s;
}

/* Every parameter back to the saved initial values. */
static void w3_restore(w3_state *s)
{
    const float *v = s->init;
    for (int64_t i = 0; i < tg_params_count(s->params); i++) {
        tg_tensor *p = tg_params_at(s->params, i);
        memcpy(tg_mut_f32(p), v, (size_t)tg_numel(p) * sizeof *v);
        v += tg_numel(p);
    }
}

/* One SGD step k; *correct counts the points classified right before it. */
static int w3_step(w3_state *s, int k, int *correct)
{
    tg_tensor *score = tg_mlp_forward(s->step, s->net, s->x);
    tg_tensor *loss = tg_add(s->step, tg_hinge_loss(s->step, score, s->y),
                             tg_l2_penalty(s->step, s->params, 1e-4));
    tg_params_zero_grad(s->params);
    if (tg_backward(s->step, loss) != TG_OK)
        return fail("tg_backward(hinge + l2)");
    const float *sc = tg_data_f32(score), *y = tg_data_f32(s->y);
    *correct = 0;
    for (int i = 0; i < W3_POINTS; i++)
        *correct += (sc[i] > 0) == (y[i] > 0);
    tg_optimizer_set_lr(s->opt, 1.0 - 0.9 * k / W3_STEPS);
    return tg_optimizer_step(s->opt) == TG_OK ? 0 : fail("tg_optimizer_step");
}

/*
 * 100 steps from the initial weights. The accuracy reported is the one
 * micrograd's demo prints at its last step (scores before that step's
 * update). A verified run must separate the moons: at least 95% (this
 * data reaches 100%).
 */
int w3_iter(void *state, bool verify)
{
    w3_state *s = state;
    w3_restore(s);
    int correct = 0;
    for (int k = 0; k < W3_STEPS; k++) {
        int rc = w3_step(s, k, &correct);
        tg_tape_reset(s->step);
        if (rc != 0)
            return rc;
    }
    s->accuracy = (double)correct / W3_POINTS;
    if (verify && s->accuracy < 0.95)
        return wrong("W3: accuracy %.0f%% after %d steps, expected at least "
                     "95%%", 100 * s->accuracy, W3_STEPS);
    return 0;
}

void w3_note(void *state, char *buf, size_t n)
{
    const w3_state *s = state;
    snprintf(buf, n, "accuracy %.0f%% after %d steps", 100 * s->accuracy,
             W3_STEPS);
}

/* ---- W4: one training step of an MLP 784-256-10 */

/*
 * BENCHMARKS.md's W4: MLP 784-256-10 with ReLU (torch.nn.Linear's
 * initialisation, seed 4), softmax cross-entropy, SGD lr 0.1, one batch of
 * 64 synthetic inputs (standard normal) with random labels, made once on
 * the model's tape. One iteration is one step: zero the gradients,
 * forward, backward, update. Verified iterations check that the loss is
 * finite and that the steps since the last check did not raise it (they
 * all train on the same batch).
 */
#define W4_BATCH 64

typedef struct w4_state {
    tg_tape *model, *step;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
    tg_tensor *x;
    int64_t labels[W4_BATCH];
    double last_loss;           /* NaN before the first step */
} w4_state;

void w4_teardown(void *state)
{
    w4_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    free(s);
}

void *w4_setup(bool smoke)
{
    (void)smoke;
    w4_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->model = tg_tape_new()) ||
        !(s->step = tg_tape_new())) {
        w4_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 4, 0);
    int64_t widths[] = {784, 256, 10}, shape[2] = {W4_BATCH, 784};
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    s->params = tg_params_new(s->model);
    s->net = tg_mlp_new(s->model, s->params, &rng, TG_F32, 3, widths, tg_relu);
    s->opt = s->net ? tg_sgd_new(s->model, s->params, &sgd) : NULL;
    s->x = tg_rand_normal(s->model, &rng, TG_F32, 2, shape, 0.0, 1.0);
    if (s->opt == NULL || s->x == NULL) {
        fail("making the MLP, its optimizer and its inputs");
        w4_teardown(s);
        return NULL;
    }
    for (int i = 0; i < W4_BATCH; i++)
        s->labels[i] = (int64_t)tg_rng_bounded(&rng, 10);
    s->last_loss = NAN;
    return s;
}

int w4_iter(void *state, bool verify)
{
    w4_state *s = state;
    tg_tensor *loss = tg_cross_entropy(s->step,
                                       tg_mlp_forward(s->step, s->net, s->x),
                                       s->labels);
    tg_params_zero_grad(s->params);
    int rc = tg_backward(s->step, loss) == TG_OK ? 0
             : fail("tg_backward(cross_entropy(mlp(x)))");
    double v = rc == 0 ? tg_item(loss) : NAN;
    if (rc == 0 && verify && !(isfinite(v) && !(v > s->last_loss + 1e-3)))
        rc = wrong("W4: loss %g after a step from %g on the same batch", v,
                   s->last_loss);
    if (rc == 0 && tg_optimizer_step(s->opt) != TG_OK)
        rc = fail("tg_optimizer_step");
    s->last_loss = v;
    sink = (float)v;
    tg_tape_reset(s->step);
    return rc;
}

/* ---- W8: a Hessian-vector product of the W4 network with tanh */

/*
 * BENCHMARKS.md's W8: W4's MLP 784-256-10 with tanh instead of ReLU (so
 * that the Hessian is not mostly zero), initialised the same way (seed 8),
 * softmax cross-entropy on one batch of 64 standard-normal inputs with
 * random labels. One iteration of W8 is one HVP: forward, the gradient
 * with a recorded backward, its dot with a fixed random direction v (one
 * tensor per parameter), and the gradient of that dot (tg_hvp, no
 * create_graph). W8-grad is the plain gradient of the same loss (forward
 * and tg_backward), the denominator of BENCHMARKS.md's ratio. Verified
 * iterations check that every element of H v is finite and not all zero.
 */
#define W8_BATCH 64
#define W8_PARAMS 4   /* two layers, weight and bias */

typedef struct w8_state {
    tg_tape *model, *step;
    tg_params *params;
    tg_mlp *net;
    tg_tensor *x;
    tg_tensor *w[W8_PARAMS], *v[W8_PARAMS];
    int64_t labels[W8_BATCH];
} w8_state;

void w8_teardown(void *state)
{
    w8_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    free(s);
}

void *w8_setup(bool smoke)
{
    (void)smoke;
    w8_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->model = tg_tape_new()) ||
        !(s->step = tg_tape_new())) {
        w8_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 8, 0);
    int64_t widths[] = {784, 256, 10}, shape[2] = {W8_BATCH, 784};
    s->params = tg_params_new(s->model);
    s->net = tg_mlp_new(s->model, s->params, &rng, TG_F32, 3, widths, tg_tanh);
    s->x = tg_rand_normal(s->model, &rng, TG_F32, 2, shape, 0.0, 1.0);
    if (s->net == NULL || s->x == NULL ||
        tg_params_count(s->params) != W8_PARAMS) {
        fail("making the MLP and its inputs");
        w8_teardown(s);
        return NULL;
    }
    for (int i = 0; i < W8_PARAMS; i++) {
        s->w[i] = tg_params_at(s->params, i);
        s->v[i] = tg_rand_normal(s->model, &rng, TG_F32, tg_ndim(s->w[i]),
                                 tg_shape(s->w[i]), 0.0, 1.0);
        if (s->v[i] == NULL) {
            fail("tg_rand_normal");
            w8_teardown(s);
            return NULL;
        }
    }
    for (int i = 0; i < W8_BATCH; i++)
        s->labels[i] = (int64_t)tg_rng_bounded(&rng, 10);
    return s;
}

static tg_tensor *w8_loss(w8_state *s)
{
    return tg_cross_entropy(s->step, tg_mlp_forward(s->step, s->net, s->x),
                            s->labels);
}

int w8_iter(void *state, bool verify)
{
    w8_state *s = state;
    tg_tensor *hv[W8_PARAMS];
    int rc = tg_hvp(s->step, w8_loss(s), W8_PARAMS, s->w, s->v, hv, NULL) ==
                     TG_OK
                 ? 0
                 : fail("tg_hvp(cross_entropy(mlp(x)))");
    bool nonzero = false;
    for (int i = 0; rc == 0 && verify && i < W8_PARAMS; i++) {
        const float *h = tg_data_f32(hv[i]);
        for (int64_t k = 0; rc == 0 && k < tg_numel(hv[i]); k++) {
            if (!isfinite(h[k]))
                rc = wrong("W8: H v of parameter %d element %lld is %g", i,
                           (long long)k, (double)h[k]);
            nonzero = nonzero || h[k] != 0;
        }
    }
    if (rc == 0 && verify && !nonzero)
        rc = wrong("W8: H v is zero everywhere");
    if (rc == 0)
        sink = tg_data_f32(hv[0])[0];
    tg_tape_reset(s->step);
    return rc;
}

int w8_grad_iter(void *state, bool verify)
{
    w8_state *s = state;
    tg_params_zero_grad(s->params);
    tg_tensor *loss = w8_loss(s);
    int rc = tg_backward(s->step, loss) == TG_OK
                 ? 0
                 : fail("tg_backward(cross_entropy(mlp(x)))");
    double v = rc == 0 ? tg_item(loss) : NAN;
    if (rc == 0 && verify && !isfinite(v))
        rc = wrong("W8-grad: loss %g", v);
    sink = (float)v;
    tg_tape_reset(s->step);
    return rc;
}
