/*
 * bench.c — tapegrad's benchmark program: the workloads of BENCHMARKS.md,
 * timed in-process.
 *
 *     bench                 every workload
 *     bench W1              the workloads named W1 or W1-<variant>
 *     bench =W1             W1 alone
 *     bench --list          their names and what they do
 *     bench --json W1       the results as JSON on stdout
 *     bench --smoke         a few untimed iterations of each, checking the
 *                           results and the malloc counts (a unit test)
 *     bench --iters N W1    exactly N untimed iterations, for profilers
 *
 * Method. Each workload runs a warm-up, then a batch size is chosen so that
 * one timed batch lasts at least about a millisecond (clock_gettime's
 * resolution and call cost then vanish), then batches are timed until the
 * time budget is spent. Every sample is one batch's time divided by its
 * iterations; the report gives the median, the minimum and the maximum.
 *
 * All tapegrad memory goes through a counting allocator (tg_set_allocator),
 * so the report also says how many allocator calls the first iteration
 * made and how many a steady-state iteration makes (the goal: none, as the
 * tape keeps its memory across tg_tape_reset).
 *
 * To add a workload: write its setup, iteration and teardown
 * functions and add a line to the `workloads` table. A setup that cannot
 * run its workload here (no data set) writes why into skip_reason and
 * returns NULL: the workload is reported as skipped, not failed.
 */
#define _GNU_SOURCE /* pthread_setaffinity_np, for the busy-core variants */
#include <tapegrad.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- the counting allocator */

static long n_malloc;

static void *counting_malloc(void *ud, size_t size)
{
    (void)ud;
    n_malloc++;
    return malloc(size);
}

/* realloc counts as an allocation call: it may move the block. */
static void *counting_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    n_malloc++;
    return realloc(ptr, size);
}

static void counting_free(void *ud, void *ptr)
{
    (void)ud;
    free(ptr);
}

/* ---- failures */

/* Report a failed call with tapegrad's message; returns -1 for `return`. */
static int fail(const char *what)
{
    fprintf(stderr, "bench: %s failed: %s\n", what, tg_last_error());
    return -1;
}

/* Report a wrong result; returns -1. */
static int wrong(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: wrong result: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

/* Written by every iteration so that no read can be optimised away. */
static volatile float sink;

/* ---- W1: the seed, relu on linspace(-2, 2, 1000) and its gradient */

#define W1_N 1000

/*
 * One W1 step on tape t: x = linspace(-2, 2, 1000) requiring grad,
 * s = sum(relu(x)), backward, read x's gradient. With verify, also check
 * every value against what it must be.
 */
static int w1_step(tg_tape *t, bool verify)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -2.0, 2.0, W1_N);
    if (tg_set_requires_grad(x, true) != TG_OK)
        return fail("tg_linspace");
    tg_tensor *s = tg_sum(t, tg_relu(t, x));
    if (tg_backward(t, s) != TG_OK)
        return fail("tg_backward(tg_sum(tg_relu(x)))");
    const float *g = tg_data_f32(tg_grad(x));
    if (g == NULL)
        return fail("tg_grad(x)");
    sink = g[W1_N - 1];
    if (!verify)
        return 0;
    const float *xs = tg_data_f32(x);
    double want = 0;
    for (int i = 0; i < W1_N; i++) {
        float gi = xs[i] > 0 ? 1.0f : 0.0f;
        if (g[i] != gi)
            return wrong("W1: grad[%d] = %g at x = %g, expected %g", i,
                         (double)g[i], (double)xs[i], (double)gi);
        want += xs[i] > 0 ? xs[i] : 0;
    }
    if (fabs(tg_item(s) - want) > 1e-6 * want)
        return wrong("W1: sum(relu(x)) = %.9g, expected %.9g", tg_item(s),
                     want);
    return 0;
}

/* The intended use: one tape, reset after every step. */
static void *w1_setup(bool smoke)
{
    (void)smoke;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        fail("tg_tape_new");
    return t;
}

static int w1_iter(void *state, bool verify)
{
    tg_tape *t = state;
    int rc = w1_step(t, verify);
    tg_tape_reset(t);
    return rc;
}

static void w1_teardown(void *state)
{
    tg_tape_free(state);
}

/* The variant: a new tape for every step, freed at the end of it. */
static void *w1_fresh_setup(bool smoke)
{
    (void)smoke;
    return &n_malloc; /* no state; anything but NULL */
}

static int w1_fresh_iter(void *state, bool verify)
{
    (void)state;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return fail("tg_tape_new");
    int rc = w1_step(t, verify);
    tg_tape_free(t);
    return rc;
}

static void w1_fresh_teardown(void *state)
{
    (void)state;
}

/* A setup that skips its workload sets this and returns NULL. */
static char skip_reason[600];

/* ---- W2: the seed at 2^24 elements, against one memcpy of its size */

/*
 * x holds 2^24 values from a normal distribution, drawn once, as a leaf on
 * a long-lived tape. One iteration: y = relu(x), s = sum(y), backward,
 * zero x's gradient, reset the step tape. The physical floor is about two
 * copies of x's size (forward writes y from x, backward writes the
 * gradient from x), so W2 is reported beside W2-memcpy: one memcpy of the
 * same 64 MiB, timed the same way in the same run. The smoke run uses
 * 2^12 elements.
 */
#define W2_N ((int64_t)1 << 24)

typedef struct w2_state {
    tg_tape *data, *step;
    tg_tensor *x;
} w2_state;

static void w2_teardown(void *state)
{
    w2_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->data);
    free(s);
}

static void *w2_setup(bool smoke)
{
    w2_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->data = tg_tape_new()) ||
        !(s->step = tg_tape_new())) {
        w2_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 2, 0);
    int64_t n = smoke ? 4096 : W2_N;
    s->x = tg_rand_normal(s->data, &rng, TG_F32, 1, &n, 0.0, 1.0);
    if (tg_set_requires_grad(s->x, true) != TG_OK) {
        fail("tg_rand_normal");
        w2_teardown(s);
        return NULL;
    }
    return s;
}

/* With verify: the sum against a double sum, the gradient exactly. */
static int w2_check(const tg_tensor *x, const tg_tensor *sum)
{
    const float *xs = tg_data_f32(x), *g = tg_data_f32(tg_grad(x));
    if (g == NULL)
        return fail("tg_grad(x)");
    double want = 0;
    for (int64_t i = 0; i < tg_numel(x); i++) {
        if (g[i] != (xs[i] > 0 ? 1.0f : 0.0f))
            return wrong("W2: grad[%lld] = %g at x = %g", (long long)i,
                         (double)g[i], (double)xs[i]);
        want += xs[i] > 0 ? xs[i] : 0;
    }
    if (fabs(tg_item(sum) - want) > 1e-6 * want)
        return wrong("W2: sum(relu(x)) = %.9g, expected %.9g", tg_item(sum),
                     want);
    return 0;
}

static int w2_iter(void *state, bool verify)
{
    w2_state *s = state;
    tg_tensor *sum = tg_sum(s->step, tg_relu(s->step, s->x));
    int rc = tg_backward(s->step, sum) == TG_OK ? 0
             : fail("tg_backward(tg_sum(tg_relu(x)))");
    if (rc == 0 && verify)
        rc = w2_check(s->x, sum);
    tg_zero_grad(s->x);
    tg_tape_reset(s->step);
    return rc;
}

/*
 * W2 as a multiple of one memcpy of x's bytes, measured in pairs: on a
 * shared machine memory bandwidth comes and goes, and a W2 iteration and
 * a memcpy timed back to back get nearly the same share of it, so the
 * ratio of a pair is steadier than the ratio of two separate medians.
 */
#define W2_PAIRS 15

static double now_seconds(void);
static int cmp_double(const void *a, const void *b);

static void w2_note(void *state, char *buf, size_t n)
{
    w2_state *s = state;
    size_t bytes = (size_t)tg_numel(s->x) * sizeof(float);
    unsigned char *src = malloc(bytes), *dst = malloc(bytes);
    double ratio[W2_PAIRS];
    int k = 0;
    if (src != NULL && dst != NULL) {
        memset(src, 1, bytes);
        memset(dst, 2, bytes);
        for (; k < W2_PAIRS; k++) {
            double t0 = now_seconds();
            if (w2_iter(s, false) != 0)
                break;
            double t1 = now_seconds();
            memcpy(dst, src, bytes);
            sink = dst[bytes - 1];
            ratio[k] = (t1 - t0) / (now_seconds() - t1);
        }
    }
    free(src);
    free(dst);
    if (k < W2_PAIRS) {
        snprintf(buf, n, "no paired memcpy ratio (out of memory)");
        return;
    }
    qsort(ratio, W2_PAIRS, sizeof *ratio, cmp_double);
    snprintf(buf, n, "paired with one memcpy of its 64 MiB: median %.2fx, "
             "min %.2fx over %d pairs", ratio[W2_PAIRS / 2], ratio[0],
             W2_PAIRS);
}

/* The floor probe: memcpy of 4 * 2^24 bytes between two buffers that are
 * already mapped (the warm-up touches them). */
typedef struct memcpy_state {
    float *src, *dst;
    size_t n;
} memcpy_state;

static void memcpy_teardown(void *state)
{
    memcpy_state *s = state;
    if (s == NULL)
        return;
    free(s->src);
    free(s->dst);
    free(s);
}

static void *memcpy_setup(bool smoke)
{
    memcpy_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->n = smoke ? 4096 : (size_t)W2_N;
    s->src = malloc(s->n * sizeof *s->src);
    s->dst = malloc(s->n * sizeof *s->dst);
    if (s->src == NULL || s->dst == NULL) {
        memcpy_teardown(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++)
        s->src[i] = (float)i;
    memset(s->dst, 0, s->n * sizeof *s->dst);
    return s;
}

static int memcpy_iter(void *state, bool verify)
{
    memcpy_state *s = state;
    memcpy(s->dst, s->src, s->n * sizeof *s->src);
    sink = s->dst[s->n - 1];
    if (verify && memcmp(s->dst, s->src, s->n * sizeof *s->src) != 0)
        return wrong("memcpy copied something else");
    return 0;
}

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

static void w3_teardown(void *state)
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

static void *w3_setup(bool smoke)
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
static int w3_iter(void *state, bool verify)
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

static void w3_note(void *state, char *buf, size_t n)
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

static void w4_teardown(void *state)
{
    w4_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    free(s);
}

static void *w4_setup(bool smoke)
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

static int w4_iter(void *state, bool verify)
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

static void w8_teardown(void *state)
{
    w8_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    free(s);
}

static void *w8_setup(bool smoke)
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

static int w8_iter(void *state, bool verify)
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

static int w8_grad_iter(void *state, bool verify)
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

/* ---- W5: one epoch of Fashion-MNIST */

/*
 * BENCHMARKS.md's W5 recipe: MLP 784-256-10 with ReLU (initialised as
 * torch.nn.Linear, seed 1), softmax cross-entropy, SGD lr 0.1, batches of
 * 64 reshuffled every epoch from a fixed seed, f32, pixels in [0, 1]. One
 * iteration is one epoch over the 60,000 training images. The verified
 * iterations (untimed) and the fifth epoch also measure the test accuracy
 * on the 10,000 test images; the note reports it.
 *
 * The smoke run trains on the first 64 images of the test split and tests
 * on the next 64 (only t10k is read, so that valgrind need not inflate the
 * training set; matrix products are slow under valgrind). W5 is skipped
 * when the bench is built without zlib or the data set (Debian's
 * dataset-fashion-mnist) is not installed.
 */

#ifdef BENCH_FASHION
#include "fashion_data.h"

#define W5_BATCH 64
#define W5_SMOKE_N 64

typedef struct w5_state {
    tg_tape *data, *model, *step;
    fashion_set train, test;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
    int64_t *order;
    int64_t labels[W5_BATCH];
    tg_rng rng;
    int epochs;                /* done so far */
    double accuracy;           /* test accuracy after `tested` epochs */
    int tested;
    double accuracy5;          /* after the fifth epoch; NaN before it */
    double loss;               /* test loss after `tested` epochs */
    bool smoke;
} w5_state;

static void w5_teardown(void *state)
{
    w5_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    tg_tape_free(s->data);
    free(s->order);
    free(s);
}

/* The data: both splits, or two slices of the test split for smoke. */
static int w5_load(w5_state *s, bool smoke)
{
    const char *dir = FASHION_DEFAULT_DIR;
    int rc = fashion_load(s->data, dir, "t10k", &s->test);
    if (rc == TG_OK && !smoke)
        rc = fashion_load(s->data, dir, "train", &s->train);
    if (rc == TG_OK && smoke) {
        s->train = s->test;
        s->train.n = W5_SMOKE_N;
        s->test.images += W5_SMOKE_N * FASHION_PIXELS;
        s->test.labels += W5_SMOKE_N;
        s->test.n = W5_SMOKE_N;
    }
    return rc;
}

static void *w5_setup(bool smoke)
{
    w5_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->data = tg_tape_new()) ||
        !(s->model = tg_tape_new()) || !(s->step = tg_tape_new())) {
        w5_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    int rc = w5_load(s, smoke);
    if (rc != TG_OK) {
        if (rc == TG_ENOTFOUND)
            snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        else
            fail("fashion_load");
        w5_teardown(s);
        return NULL;
    }
    tg_rng init;
    tg_rng_seed(&init, 1, 1);
    tg_rng_seed(&s->rng, 1, 2);
    int64_t widths[] = {FASHION_PIXELS, 256, FASHION_CLASSES};
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    s->params = tg_params_new(s->model);
    s->net = tg_mlp_new(s->model, s->params, &init, TG_F32, 3, widths,
                        tg_relu);
    s->opt = s->net ? tg_sgd_new(s->model, s->params, &sgd) : NULL;
    s->order = malloc((size_t)s->train.n * sizeof *s->order);
    if (s->opt == NULL || s->order == NULL) {
        fail(s->opt ? "malloc" : "making the MLP and its optimizer");
        w5_teardown(s);
        return NULL;
    }
    for (int64_t i = 0; i < s->train.n; i++)
        s->order[i] = i;
    s->accuracy5 = NAN;
    s->loss = log(FASHION_CLASSES); /* what a uniform guess scores */
    s->smoke = smoke;
    return s;
}

/* One SGD step on the samples idx[0..b). */
static int w5_step(w5_state *s, const int64_t *idx, int64_t b)
{
    int64_t shape[2] = {b, FASHION_PIXELS};
    tg_tensor *x = tg_empty(s->step, TG_F32, 2, shape);
    if (x == NULL)
        return fail("tg_empty");
    fashion_gather(&s->train, idx, b, tg_mut_f32(x), s->labels);
    tg_tensor *loss = tg_cross_entropy(s->step,
                                       tg_mlp_forward(s->step, s->net, x),
                                       s->labels);
    tg_params_zero_grad(s->params);
    if (tg_backward(s->step, loss) != TG_OK)
        return fail("tg_backward(cross_entropy(mlp(x)))");
    if (!isfinite(tg_item(loss)))
        return wrong("W5: the loss is %g", tg_item(loss));
    sink = (float)tg_item(loss);
    return tg_optimizer_step(s->opt) == TG_OK ? 0 : fail("tg_optimizer_step");
}

/*
 * Whether the test after a verified epoch shows learning: at least 70%
 * accuracy on the whole set (about 81% is usual after one epoch); for the
 * smoke run, whose one step an epoch teaches little, a test loss below the
 * previous one (below ln 10, a uniform guess, the first time).
 */
static int w5_check(const w5_state *s, double loss)
{
    if (!s->smoke && !(s->accuracy >= 0.70))
        return wrong("W5: test accuracy %.2f%% after %d epochs, expected at "
                     "least 70%%", 100 * s->accuracy, s->epochs);
    if (s->smoke && !(loss < s->loss))
        return wrong("W5: test loss %.4f after %d epochs, not below %.4f",
                     loss, s->epochs, s->loss);
    return 0;
}

/* One epoch; after the fifth and in verified iterations, test. */
static int w5_iter(void *state, bool verify)
{
    w5_state *s = state;
    if (tg_rng_shuffle(&s->rng, s->train.n, s->order) != TG_OK)
        return fail("tg_rng_shuffle");
    for (int64_t i = 0; i < s->train.n; i += W5_BATCH) {
        int64_t b = s->train.n - i < W5_BATCH ? s->train.n - i : W5_BATCH;
        int rc = w5_step(s, s->order + i, b);
        tg_tape_reset(s->step);
        if (rc != 0)
            return rc;
    }
    if (++s->epochs != 5 && !verify)
        return 0;
    double loss;
    if (fashion_evaluate(s->step, s->net, &s->test, &loss, &s->accuracy))
        return fail("fashion_evaluate");
    if (verify && w5_check(s, loss) != 0)
        return -1;
    s->loss = loss;
    s->tested = s->epochs;
    if (s->epochs == 5)
        s->accuracy5 = s->accuracy;
    return 0;
}

static void w5_note(void *state, char *buf, size_t n)
{
    const w5_state *s = state;
    int k = isnan(s->accuracy5) ? 0
            : snprintf(buf, n, "test accuracy %.2f%% after 5 epochs, ",
                       100 * s->accuracy5);
    snprintf(buf + k, n - (size_t)k, "%.2f%% after %d", 100 * s->accuracy,
             s->tested);
}


/* ---- W6: one epoch of LeNet-5 on Fashion-MNIST */

/*
 * BENCHMARKS.md's W6 recipe, as examples/fashion_cnn.c and
 * bench/torch_models.py run it: LeNet-5 (conv 1->6 5x5 pad 2, ReLU, max
 * pool 2, conv 6->16 5x5, ReLU, max pool 2, linear 400-120-84-10 with
 * ReLU), PyTorch's default initialisation (seed 6), softmax cross-entropy,
 * SGD lr 0.05 momentum 0.9, batches of 64 reshuffled every epoch, f32. One
 * iteration is the training loop of one epoch over the 60,000 images; the
 * verified iterations (untimed) also test on the 10,000 test images (at
 * least 75% after an epoch; the note reports it). The smoke run uses W5's
 * slices of the test split and asks for a falling test loss.
 */
typedef struct w6_state {
    w5_state d;                /* the data, order, labels, tapes */
    tg_sequential *net;
    tg_params *params;
    tg_optimizer *opt;
} w6_state;

static void w6_teardown(void *state)
{
    w6_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->d.step);
    tg_tape_free(s->d.model);
    tg_tape_free(s->d.data);
    free(s->d.order);
    free(s);
}

static tg_sequential *w6_lenet(tg_tape *t, tg_rng *rng)
{
    tg_sequential *net = tg_sequential_new(t);
    tg_conv_options pad2 = tg_conv_defaults();
    pad2.padding[0] = pad2.padding[1] = 2;
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    tg_layer *l[] = {
        tg_layer_conv2d_new(t, rng, TG_F32, 1, 6, 5, 5, &pad2, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_max_pool2d_new(t, &two),
        tg_layer_conv2d_new(t, rng, TG_F32, 6, 16, 5, 5, NULL, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_max_pool2d_new(t, &two),
        tg_layer_flatten_new(t, 1),
        tg_layer_linear_new(t, rng, TG_F32, 400, 120, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_linear_new(t, rng, TG_F32, 120, 84, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_linear_new(t, rng, TG_F32, 84, 10, true)};
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (tg_sequential_add(net, l[i]) != TG_OK)
            return NULL;
    return net;
}

static void *w6_setup(bool smoke)
{
    w6_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->d.data = tg_tape_new()) ||
        !(s->d.model = tg_tape_new()) || !(s->d.step = tg_tape_new())) {
        w6_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    int rc = w5_load(&s->d, smoke);
    if (rc != TG_OK) {
        if (rc == TG_ENOTFOUND)
            snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        else
            fail("fashion_load");
        w6_teardown(s);
        return NULL;
    }
    tg_rng init;
    tg_rng_seed(&init, 6, 1);
    tg_rng_seed(&s->d.rng, 6, 2);
    tg_sgd_options sgd = tg_sgd_defaults(0.05);
    sgd.momentum = 0.9;
    s->net = w6_lenet(s->d.model, &init);
    s->params = s->net ? tg_sequential_params(s->net) : NULL;
    s->opt = s->params ? tg_sgd_new(s->d.model, s->params, &sgd) : NULL;
    s->d.order = malloc((size_t)s->d.train.n * sizeof *s->d.order);
    if (s->opt == NULL || s->d.order == NULL) {
        fail(s->opt ? "malloc" : "making LeNet-5 and its optimizer");
        w6_teardown(s);
        return NULL;
    }
    for (int64_t i = 0; i < s->d.train.n; i++)
        s->d.order[i] = i;
    s->d.accuracy5 = NAN;
    s->d.loss = log(FASHION_CLASSES);
    s->d.smoke = smoke;
    return s;
}

static int w6_step(w6_state *s, const int64_t *idx, int64_t b)
{
    int64_t shape[4] = {b, 1, 28, 28};
    tg_tensor *x = tg_empty(s->d.step, TG_F32, 4, shape);
    if (x == NULL)
        return fail("tg_empty");
    fashion_gather(&s->d.train, idx, b, tg_mut_f32(x), s->d.labels);
    tg_tensor *loss = tg_cross_entropy(
        s->d.step, tg_sequential_forward(s->d.step, s->net, x), s->d.labels);
    tg_params_zero_grad(s->params);
    if (tg_backward(s->d.step, loss) != TG_OK)
        return fail("tg_backward(cross_entropy(lenet(x)))");
    if (!isfinite(tg_item(loss)))
        return wrong("W6: the loss is %g", tg_item(loss));
    sink = (float)tg_item(loss);
    return tg_optimizer_step(s->opt) == TG_OK ? 0 : fail("tg_optimizer_step");
}

/* Test loss and accuracy in eval mode, batches of 1000, no gradients. */
static int w6_test(w6_state *s, double *loss)
{
    tg_tape *t = s->d.step;
    const fashion_set *te = &s->d.test;
    double total = 0;
    int64_t correct = 0;
    tg_sequential_set_training(s->net, false);
    tg_tape_set_grad_enabled(t, false);
    int rc = 0;
    for (int64_t i = 0; i < te->n && rc == 0; i += 1000) {
        int64_t b = te->n - i < 1000 ? te->n - i : 1000;
        int64_t shape[4] = {b, 1, 28, 28};
        tg_tensor *logits = tg_sequential_forward(
            t, s->net, tg_from_data(t, TG_F32, 4, shape,
                                    te->images + i * FASHION_PIXELS));
        tg_tensor *l = tg_cross_entropy(t, logits, te->labels + i);
        if (l == NULL)
            rc = fail("testing LeNet-5");
        else {
            total += tg_item(l) * (double)b;
            correct += fashion_correct(logits, te->labels + i, b);
        }
        tg_tape_reset(t);
    }
    tg_tape_set_grad_enabled(t, true);
    tg_sequential_set_training(s->net, true);
    *loss = total / (double)te->n;
    s->d.accuracy = (double)correct / (double)te->n;
    return rc;
}

/* One epoch's training loop; verified iterations then test. */
static int w6_iter(void *state, bool verify)
{
    w6_state *s = state;
    if (tg_rng_shuffle(&s->d.rng, s->d.train.n, s->d.order) != TG_OK)
        return fail("tg_rng_shuffle");
    for (int64_t i = 0; i < s->d.train.n; i += W5_BATCH) {
        int64_t b = s->d.train.n - i < W5_BATCH ? s->d.train.n - i
                                                : W5_BATCH;
        int rc = w6_step(s, s->d.order + i, b);
        tg_tape_reset(s->d.step);
        if (rc != 0)
            return rc;
    }
    s->d.epochs++;
    if (!verify)
        return 0;
    double loss;
    if (w6_test(s, &loss) != 0)
        return -1;
    if (!s->d.smoke && !(s->d.accuracy >= 0.75))
        return wrong("W6: test accuracy %.2f%% after %d epochs, expected at "
                     "least 75%%", 100 * s->d.accuracy, s->d.epochs);
    if (s->d.smoke && !(loss < s->d.loss))
        return wrong("W6: test loss %.4f after %d epochs, not below %.4f",
                     loss, s->d.epochs, s->d.loss);
    s->d.loss = loss;
    s->d.tested = s->d.epochs;
    return 0;
}

static void w6_note(void *state, char *buf, size_t n)
{
    const w6_state *s = state;
    snprintf(buf, n, "test accuracy %.2f%% after %d epoch%s",
             100 * s->d.accuracy, s->d.tested, s->d.tested == 1 ? "" : "s");
}

#else

static void *w5_setup(bool smoke)
{
    (void)smoke;
    snprintf(skip_reason, sizeof skip_reason, "the bench was built without "
             "zlib, which reading the data set needs");
    return NULL;
}

static int w5_iter(void *state, bool verify)
{
    (void)state, (void)verify;
    return -1;
}

static void w5_teardown(void *state)
{
    (void)state;
}

static void w5_note(void *state, char *buf, size_t n)
{
    (void)state, (void)buf, (void)n;
}

static void *w6_setup(bool smoke)
{
    return w5_setup(smoke);
}

static int w6_iter(void *state, bool verify)
{
    return w5_iter(state, verify);
}

static void w6_teardown(void *state)
{
    (void)state;
}

static void w6_note(void *state, char *buf, size_t n)
{
    (void)state, (void)buf, (void)n;
}

#endif /* BENCH_FASHION */

/* ---- W7: one training step of the names GPT */

/*
 * BENCHMARKS.md's W7, as examples/names.c trains it (the model is
 * examples/names_model.c): a pre-norm GPT of 2 blocks, 4 heads, embedding
 * 64, context 16, on batches of 32 random windows of the wamerican word
 * list; one iteration is zero grad, forward, loss, backward and an AdamW
 * update. bench/torch_models.py's W7 class is the same step in PyTorch.
 * Skipped when the word list (Debian's wamerican) is not installed.
 */
#ifdef BENCH_NAMES
#include "names_model.h"

typedef struct w7_state {
    names_text text;
    names_model model;
    tg_tape *step;
    tg_rng rng;
    int64_t in[NAMES_BATCH * NAMES_CONTEXT], target[NAMES_BATCH *
                                                     NAMES_CONTEXT];
    double first, loss;        /* the first and the latest training loss */
    long steps;
} w7_state;

static void w7_teardown(void *state)
{
    w7_state *s = state;
    if (s == NULL)
        return;
    names_model_free(&s->model);
    names_text_free(&s->text);
    tg_tape_free(s->step);
    free(s);
}

static void *w7_setup(bool smoke)
{
    (void)smoke;
    w7_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return fail("calloc"), NULL;
    int rc = names_text_load(&s->text, NULL);
    if (rc != TG_OK) {
        if (rc == TG_ENOTFOUND)
            snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        else
            fail("names_text_load");
        free(s);
        return NULL;
    }
    s->step = tg_tape_new();
    if (s->step == NULL || names_model_new(&s->model, false, 7) != TG_OK) {
        fail("making W7's model");
        w7_teardown(s);
        return NULL;
    }
    tg_rng_seed(&s->rng, 7, 8);
    s->first = NAN;
    return s;
}

static int w7_iter(void *state, bool verify)
{
    w7_state *s = state;
    int64_t starts[NAMES_BATCH];
    for (int k = 0; k < NAMES_BATCH; k++)
        starts[k] = (int64_t)tg_rng_bounded(
            &s->rng, (uint64_t)(s->text.n - NAMES_CONTEXT - 1));
    names_windows(&s->text, NAMES_BATCH, starts, s->in, s->target);
    if (names_model_step(&s->model, s->step, NAMES_BATCH, s->in, s->target,
                         &s->loss) != TG_OK)
        return fail("names_model_step");
    if (s->steps++ == 0)
        s->first = s->loss;
    /* A fresh model scores about ln 27 = 3.30 and learns fast. */
    if (verify && !(s->loss > 0 && s->loss < 4.5))
        return wrong("W7: training loss %g after %ld steps", s->loss,
                     s->steps);
    sink = (float)s->loss;
    return 0;
}

static void w7_note(void *state, char *buf, size_t n)
{
    const w7_state *s = state;
    snprintf(buf, n, "training loss %.3f at step 1, %.3f at step %ld",
             s->first, s->loss, s->steps);
}

#else

static void *w7_setup(bool smoke)
{
    (void)smoke;
    snprintf(skip_reason, sizeof skip_reason, "the bench was built without "
             "the examples, whose names_model.c W7 runs");
    return NULL;
}

static int w7_iter(void *state, bool verify)
{
    (void)state, (void)verify;
    return -1;
}

static void w7_teardown(void *state)
{
    (void)state;
}

static void w7_note(void *state, char *buf, size_t n)
{
    (void)state, (void)buf, (void)n;
}

#endif /* BENCH_NAMES */

/* ---- the same on two threads */

/*
 * A "-2threads" variant runs its workload with tg_set_num_threads(2) (see
 * tapegrad/base.h: large matrix products and elementwise ops are split
 * between the two). A build without threads skips it.
 */
static void *with_two_threads(void *(*setup)(bool smoke), bool smoke)
{
    if (tg_set_num_threads(2) != TG_OK) {
        snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        return NULL;
    }
    void *state = setup(smoke);
    if (state == NULL)
        tg_set_num_threads(1);
    return state;
}

static void *w4_2t_setup(bool smoke)
{
    return with_two_threads(w4_setup, smoke);
}

static void w4_2t_teardown(void *state)
{
    w4_teardown(state);
    tg_set_num_threads(1);
}

/* Its smoke run would only repeat W5's and W4-2threads' (and load the
 * data set once more, slow under valgrind). */
static void *w5_2t_setup(bool smoke)
{
    if (smoke) {
        snprintf(skip_reason, sizeof skip_reason, "W5 and W4-2threads "
                 "cover its code");
        return NULL;
    }
    return with_two_threads(w5_setup, smoke);
}

static void w5_2t_teardown(void *state)
{
    w5_teardown(state);
    tg_set_num_threads(1);
}

/* Its smoke run would only repeat W6's. */
static void *w6_2t_setup(bool smoke)
{
    if (smoke) {
        snprintf(skip_reason, sizeof skip_reason, "W6 and W4-2threads "
                 "cover its code");
        return NULL;
    }
    return with_two_threads(w6_setup, smoke);
}

static void w6_2t_teardown(void *state)
{
    w6_teardown(state);
    tg_set_num_threads(1);
}

/* ---- on two threads with the second core busy */

/*
 * A "-2threads-busy" variant runs its workload like "-2threads" while a
 * background thread spins on the machine's last CPU (pinned there when the
 * system allows it) for the whole run: the case of another program taking
 * one of two cores. Two threads must then not be slower than one
 * (issue 18: at most 1.1x the 1-thread time). The spinner stops in the
 * teardown.
 */
static atomic_bool spin_stop;
static pthread_t spinner;
static bool spinning;
static volatile unsigned long spin_count;

static void *spin_main(void *arg)
{
    (void)arg;
#ifdef __linux__
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 1) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)(cpus - 1), &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
#endif
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        spin_count = spin_count + 1;
    return NULL;
}

static void stop_spinner(void)
{
    if (!spinning)
        return;
    atomic_store(&spin_stop, true);
    pthread_join(spinner, NULL);
    spinning = false;
}

static void *with_busy_core(void *(*setup)(bool smoke), bool smoke)
{
    atomic_store(&spin_stop, false);
    if (pthread_create(&spinner, NULL, spin_main, NULL) != 0) {
        fail("pthread_create (the spinning thread)");
        return NULL;
    }
    spinning = true;
    void *state = with_two_threads(setup, smoke);
    if (state == NULL)
        stop_spinner();
    return state;
}

static void *w4_busy_setup(bool smoke)
{
    return with_busy_core(w4_setup, smoke);
}

static void w4_busy_teardown(void *state)
{
    w4_2t_teardown(state);
    stop_spinner();
}

static void *w5_busy_setup(bool smoke)
{
    if (smoke) {
        snprintf(skip_reason, sizeof skip_reason, "W5 and W4-2threads-busy "
                 "cover its code");
        return NULL;
    }
    return with_busy_core(w5_setup, smoke);
}

static void w5_busy_teardown(void *state)
{
    w5_2t_teardown(state);
    stop_spinner();
}

/* ---- the table of workloads */

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
 * timed in the same run: the target is at least 50%.
 */
#define CONV_BATCH 64

typedef struct conv_state {
    tg_tape *model, *step;
    tg_tensor *x1, *w1, *b1, *r1, *x2, *w2, *b2, *r2;
    tg_tensor *ma, *mb;         /* the matmul of the note */
} conv_state;

static void conv_teardown(void *state)
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

static void *conv_setup(bool smoke)
{
    (void)smoke;
    conv_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->model = tg_tape_new()) ||
        !(s->step = tg_tape_new())) {
        conv_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 6, 0);
    int64_t x1[4] = {CONV_BATCH, 1, 28, 28}, w1[4] = {6, 1, 5, 5}, b1 = 6;
    int64_t y1[4] = {CONV_BATCH, 6, 28, 28};
    int64_t x2[4] = {CONV_BATCH, 6, 14, 14}, w2[4] = {16, 6, 5, 5}, b2 = 16;
    int64_t y2[4] = {CONV_BATCH, 16, 10, 10};
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

static int conv_iter(void *state, bool verify)
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
        for (int64_t n = 0; n < CONV_BATCH; n++)
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
static double conv_flops(void)
{
    double c1 = 2.0 * CONV_BATCH * 6 * 28 * 28 * (1 * 5 * 5);
    double c2 = 2.0 * CONV_BATCH * 16 * 10 * 10 * (6 * 5 * 5);
    return 2 * c1 + 3 * c2; /* conv1: forward, dW; conv2: also dX */
}

/* Seconds per call of fn over about 0.3 s, best of 5 rounds. */
static double conv_time(conv_state *s, bool matmul)
{
    double best = INFINITY;
    for (int round = 0; round < 5; round++) {
        int reps = 0;
        double t0 = now_seconds(), t1 = t0;
        while (t1 - t0 < 0.06) {
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

static void conv_note(void *state, char *buf, size_t n)
{
    conv_state *s = state;
    double conv = conv_flops() / conv_time(s, false) * 1e-9;
    double mm = 2.0 * 64 * 784 * 256 / conv_time(s, true) * 1e-9;
    snprintf(buf, n, "%.1f GFLOP/s, %.0f%% of the gemm's %.1f GFLOP/s "
             "(64x784 @ 784x256)", conv, 100 * conv / mm, mm);
}

typedef struct workload {
    const char *name;        /* "W1", or "W1-variant" */
    const char *what;        /* one line for --list */
    const char *unit;        /* "us", "ms" or "s" per iteration */
    /* Make the state (NULL on failure), run one iteration (0 or -1),
     * release the state. smoke: the untimed test run, sizes may shrink. */
    void *(*setup)(bool smoke);
    int (*iter)(void *state, bool verify);
    void (*teardown)(void *state);
    bool zero_malloc;        /* steady state must not call the allocator */
    /* NULL, or what else to report after the timing (a result such as an
     * accuracy), as a short phrase written into buf. */
    void (*note)(void *state, char *buf, size_t n);
} workload;

static const workload workloads[] = {
    {"W1", "relu on linspace(-2,2,1000) f32, sum, backward, read grad; "
     "one tape, reset each iteration", "us",
     w1_setup, w1_iter, w1_teardown, true, NULL},
    {"W1-fresh-tape", "the same with tg_tape_new/tg_tape_free each "
     "iteration", "us",
     w1_fresh_setup, w1_fresh_iter, w1_fresh_teardown, false, NULL},
    {"W2", "relu on 2^24 normal f32 values (a long-lived leaf), sum, "
     "backward, zero grad", "ms",
     w2_setup, w2_iter, w2_teardown, true, w2_note},
    {"W2-memcpy", "floor probe: one memcpy of 64 MiB (4 * 2^24 bytes)", "ms",
     memcpy_setup, memcpy_iter, memcpy_teardown, true, NULL},
    {"W3", "micrograd's moons demo: MLP 2-16-16-1, hinge + L2, 100 SGD "
     "steps on 100 points", "ms",
     w3_setup, w3_iter, w3_teardown, true, w3_note},
    {"W4", "one training step: MLP 784-256-10 ReLU, cross-entropy, batch "
     "64, SGD lr 0.1", "us",
     w4_setup, w4_iter, w4_teardown, true, NULL},
    {"W4-2threads", "W4 with tg_set_num_threads(2)", "us",
     w4_2t_setup, w4_iter, w4_2t_teardown, true, NULL},
    {"W4-2threads-busy", "W4-2threads while another thread spins on the "
     "last CPU", "us",
     w4_busy_setup, w4_iter, w4_busy_teardown, true, NULL},
    {"W8", "one Hessian-vector product: W4's MLP with tanh, cross-entropy, "
     "batch 64 (tg_hvp)", "us",
     w8_setup, w8_iter, w8_teardown, true, NULL},
    {"W8-grad", "the plain gradient of W8's loss (forward, tg_backward)",
     "us", w8_setup, w8_grad_iter, w8_teardown, true, NULL},
    {"conv", "LeNet-5's conv1 and conv2 (W6 shapes, batch 64, f32), "
     "forward and backward", "ms",
     conv_setup, conv_iter, conv_teardown, true, conv_note},
    {"W5", "one epoch of Fashion-MNIST: MLP 784-256-10 ReLU, softmax "
     "cross-entropy, SGD lr 0.1, batch 64, shuffled", "s",
     w5_setup, w5_iter, w5_teardown, true, w5_note},
    {"W5-2threads", "W5 with tg_set_num_threads(2)", "s",
     w5_2t_setup, w5_iter, w5_2t_teardown, true, w5_note},
    {"W5-2threads-busy", "W5-2threads while another thread spins on the "
     "last CPU", "s",
     w5_busy_setup, w5_iter, w5_busy_teardown, true, w5_note},
    {"W6", "one epoch of LeNet-5 on Fashion-MNIST (the training loop): "
     "SGD lr 0.05 momentum 0.9, batch 64, shuffled", "s",
     w6_setup, w6_iter, w6_teardown, true, w6_note},
    {"W6-2threads", "W6 with tg_set_num_threads(2)", "s",
     w6_2t_setup, w6_iter, w6_2t_teardown, true, w6_note},
    {"W7", "one training step of the names GPT: 2 blocks, 4 heads, embedding "
     "64, batch 32x16 characters, AdamW", "us",
     w7_setup, w7_iter, w7_teardown, true, w7_note},
};
#define N_WORKLOADS ((int)(sizeof workloads / sizeof workloads[0]))

/* ---- timing */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * Peak resident memory per workload. Linux can reset a process's peak
 * (writing 5 to /proc/self/clear_refs) and report it (VmHWM in
 * /proc/self/status), so each workload's figure is its own: the peak from
 * its setup to its teardown, including the program itself (about 2 MiB).
 * Elsewhere the reset fails and getrusage's whole-process peak is given.
 */
static void peak_rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && kib < 0 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) != 1)
            kib = -1;
    if (f != NULL)
        fclose(f);
    struct rusage ru;
    if (kib < 0 && getrusage(RUSAGE_SELF, &ru) == 0)
        kib = ru.ru_maxrss;
    return kib;
}

typedef struct options {
    bool json, smoke;
    double budget;           /* seconds of timed samples per workload */
    long iters;              /* > 0: just run this many, untimed */
} options;

typedef struct result {
    double median, min, max; /* per iteration, in the workload's unit */
    long samples, batch;
    long mallocs_first;      /* allocator calls of the first iteration */
    double mallocs_steady;   /* per iteration over all timed batches */
    long peak_rss_kib;       /* the workload's own peak (see peak_rss_kib) */
    char note[200];          /* the workload's note, or "" */
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run n iterations; -1 if one fails. */
static int run_batch(const workload *w, void *st, long n)
{
    for (long i = 0; i < n; i++)
        if (w->iter(st, false) != 0)
            return -1;
    return 0;
}

/* Double the batch until one batch lasts at least a millisecond. */
static long choose_batch(const workload *w, void *st)
{
    long batch = 1;
    for (;;) {
        double t0 = now_seconds();
        if (run_batch(w, st, batch) != 0)
            return -1;
        if (now_seconds() - t0 >= 1e-3 || batch >= (1L << 30))
            return batch;
        batch *= 2;
    }
}

#define MAX_SAMPLES 4096

/*
 * Time w: a verified first iteration (counting its allocator calls), a
 * warm-up of about a tenth of the budget, then samples until the budget is
 * spent (at least 5, at most MAX_SAMPLES).
 */
static int measure(const workload *w, void *st, const options *o, result *r)
{
    long before = n_malloc;
    if (w->iter(st, true) != 0)
        return -1;
    r->mallocs_first = n_malloc - before;
    double t0 = now_seconds();
    while (now_seconds() - t0 < o->budget / 10)
        if (run_batch(w, st, 1) != 0)
            return -1;
    r->batch = choose_batch(w, st);
    if (r->batch < 0)
        return -1;
    static double sample[MAX_SAMPLES];
    double scale = !strcmp(w->unit, "s") ? 1 : !strcmp(w->unit, "ms") ? 1e3
                                                                      : 1e6;
    long n = 0, iters = 0;
    before = n_malloc;
    double start = now_seconds();
    while (n < MAX_SAMPLES && (n < 5 || now_seconds() - start < o->budget)) {
        double a = now_seconds();
        if (run_batch(w, st, r->batch) != 0)
            return -1;
        sample[n++] = (now_seconds() - a) * scale / (double)r->batch;
        iters += r->batch;
    }
    r->mallocs_steady = (double)(n_malloc - before) / (double)iters;
    qsort(sample, (size_t)n, sizeof *sample, cmp_double);
    r->samples = n;
    r->min = sample[0];
    r->max = sample[n - 1];
    r->median = n % 2 ? sample[n / 2] : (sample[n / 2 - 1] + sample[n / 2]) / 2;
    return w->iter(st, true); /* still right after all that */
}

/*
 * The smoke run: a few verified iterations; steady-state allocator calls
 * must be zero where the workload promises it.
 */
static int smoke(const workload *w, void *st)
{
    for (int i = 0; i < 2; i++)
        if (w->iter(st, true) != 0)
            return -1;
    long before = n_malloc;
    for (int i = 0; i < 3; i++)
        if (w->iter(st, true) != 0)
            return -1;
    long calls = n_malloc - before;
    if (w->zero_malloc && calls != 0) {
        fprintf(stderr, "bench: %s: %ld allocator calls in 3 steady-state "
                "iterations, expected none\n", w->name, calls);
        return -1;
    }
    printf("%s: ok (%ld allocator calls in 3 steady-state iterations)\n",
           w->name, calls);
    return 0;
}

/* ---- output */

/* Which matrix multiply the library runs (tg_matmul_backend): W4 and W5
 * spend most of their time in it. */
static void print_header(void)
{
    printf("gemm: %s\n", tg_matmul_backend());
    printf("%-16s %10s %10s %10s %-8s %8s %12s %14s %9s\n", "workload",
           "median", "min", "max", "unit", "samples", "batch",
           "mallocs/iter", "peak MiB");
}

static void print_human(const workload *w, const result *r)
{
    char mallocs[48];
    snprintf(mallocs, sizeof mallocs, "%ld, then %.3g", r->mallocs_first,
             r->mallocs_steady);
    char unit[16];
    snprintf(unit, sizeof unit, "%s/iter", w->unit);
    printf("%-16s %10.3f %10.3f %10.3f %-8s %8ld %12ld %14s %9.1f\n",
           w->name, r->median, r->min, r->max, unit, r->samples, r->batch,
           mallocs, (double)r->peak_rss_kib / 1024);
    if (r->note[0])
        printf("%-16s %s\n", "", r->note);
}

static void print_json(const workload *w, const result *r, bool first)
{
    printf("%s\n  {\"name\": \"%s\", \"unit\": \"%s/iter\", "
           "\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, "
           "\"samples\": %ld, \"batch\": %ld, \"mallocs_first\": %ld, "
           "\"mallocs_steady\": %.6g, \"peak_rss_kib\": %ld, "
           "\"gemm\": \"%s\"%s%s%s}",
           first ? "" : ",", w->name, w->unit, r->median, r->min, r->max,
           r->samples, r->batch, r->mallocs_first, r->mallocs_steady,
           r->peak_rss_kib, tg_matmul_backend(),
           r->note[0] ? ", \"note\": \"" : "", r->note,
           r->note[0] ? "\"" : "");
}

/* ---- main */

/* Whether w is selected by arg: its exact name, or its group ("W1"). */
static bool selects(const char *arg, const workload *w)
{
    if (arg[0] == '=') /* "=W1": W1 alone, not its variants */
        return strcmp(arg + 1, w->name) == 0;
    size_t n = strlen(arg);
    return strcmp(arg, w->name) == 0 ||
           (strncmp(arg, w->name, n) == 0 && w->name[n] == '-');
}

static int usage(FILE *f)
{
    fprintf(f, "usage: bench [--list] [--json] [--smoke] [--time SECONDS] "
            "[--iters N] [WORKLOAD...]\n");
    return f == stderr ? 2 : 0;
}

static int list(void)
{
    for (int i = 0; i < N_WORKLOADS; i++)
        printf("%-16s %s\n", workloads[i].name, workloads[i].what);
    return 0;
}

/* Run one workload in the chosen mode; -1 on failure, 1 if it was skipped
 * (its setup said why in skip_reason). first: no JSON object was printed
 * before this one. */
static int run_one(const workload *w, const options *o, bool first,
                   result *out)
{
    skip_reason[0] = '\0';
    peak_rss_reset();
    void *st = w->setup(o->smoke);
    if (st == NULL && skip_reason[0]) {
        fprintf(o->json ? stderr : stdout, "%s: skipped: %s\n", w->name,
                skip_reason);
        return 1;
    }
    if (st == NULL)
        return -1;
    result r = {0};
    int rc = o->smoke      ? smoke(w, st)
             : o->iters > 0 ? run_batch(w, st, o->iters)
                            : measure(w, st, o, &r);
    r.peak_rss_kib = peak_rss_kib(); /* before the note's own buffers */
    if (rc == 0 && w->note != NULL)
        w->note(st, r.note, sizeof r.note);
    w->teardown(st);
    if (rc != 0 || o->smoke || o->iters > 0)
        return rc;
    if (o->json)
        print_json(w, &r, first);
    else
        print_human(w, &r);
    *out = r;
    return 0;
}

/* The index of the workload called name, or -1. */
static int workload_index(const char *name)
{
    for (int k = 0; k < N_WORKLOADS; k++)
        if (strcmp(workloads[k].name, name) == 0)
            return k;
    return -1;
}

/* W2 in units of the memcpy floor probe, when both ran. */
static void print_ratios(const result *res, const bool *done)
{
    int a = workload_index("W2"), b = workload_index("W2-memcpy");
    if (a < 0 || b < 0 || !done[a] || !done[b])
        return;
    printf("W2 / one 64 MiB memcpy: %.2fx (medians), %.2fx (minimums)\n",
           res[a].median / res[b].median, res[a].min / res[b].min);
}

/* Each 2-thread variant against its 1-thread run, when both ran: the
 * speed-up (1-thread time over this one; issue 18 asks >= 1.6x) and,
 * with the other core busy, the time over the 1-thread time (<= 1.1x). */
static void print_thread_ratios(const result *res, const bool *done)
{
    static const char *const pairs[][2] = {
        {"W4", "W4-2threads"}, {"W4", "W4-2threads-busy"},
        {"W5", "W5-2threads"}, {"W5", "W5-2threads-busy"},
        {"W6", "W6-2threads"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        int a = workload_index(pairs[i][0]), b = workload_index(pairs[i][1]);
        if (a < 0 || b < 0 || !done[a] || !done[b])
            continue;
        if (strstr(pairs[i][1], "busy"))
            printf("%s / %s: %.2fx (medians), %.2fx (minimums)\n",
                   pairs[i][1], pairs[i][0], res[b].median / res[a].median,
                   res[b].min / res[a].min);
        else
            printf("%s / %s speed-up: %.2fx (medians), %.2fx (minimums)\n",
                   pairs[i][0], pairs[i][1], res[a].median / res[b].median,
                   res[a].min / res[b].min);
    }
}

int main(int argc, char **argv)
{
    options o = {.budget = 1.0};
    bool chosen[N_WORKLOADS] = {false}, any = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--list") == 0)
            return list();
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--smoke") == 0) {
            o.smoke = true;
        } else if (strcmp(a, "--time") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            o.budget = strtod(argv[++i], &end);
            if (errno || *end || !(o.budget > 0 && o.budget < 3600))
                return usage(stderr);
        } else if (strcmp(a, "--iters") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            o.iters = strtol(argv[++i], &end, 10);
            if (errno || *end || o.iters < 1)
                return usage(stderr);
        } else {
            bool found = false;
            for (int k = 0; k < N_WORKLOADS; k++)
                if (selects(a, &workloads[k]))
                    chosen[k] = found = true;
            if (!found) {
                fprintf(stderr, "bench: no workload named %s (see "
                        "--list)\n", a);
                return 2;
            }
            any = true;
        }
    }
    tg_allocator counting = {counting_malloc, counting_realloc,
                             counting_free, NULL};
    if (tg_set_allocator(&counting) != TG_OK) {
        fail("tg_set_allocator");
        return 1;
    }
    bool timed = !o.smoke && o.iters == 0;
    if (timed && o.json)
        printf("[");
    else if (timed)
        print_header();
    int status = 0;
    bool first = true, done[N_WORKLOADS] = {false};
    static result res[N_WORKLOADS];
    for (int k = 0; k < N_WORKLOADS; k++) {
        if (any && !chosen[k])
            continue;
        int rc = run_one(&workloads[k], &o, first, &res[k]);
        if (rc < 0) {
            fprintf(stderr, "bench: %s failed\n", workloads[k].name);
            status = 1;
        } else if (rc == 0) {
            first = false;
            done[k] = timed;
        }
        fflush(stdout);
    }
    if (timed && o.json)
        printf("\n]\n");
    else if (timed) {
        print_ratios(res, done);
        print_thread_ratios(res, done);
    }
    tg_set_allocator(NULL);
    return status;
}
