/*
 * w_relu.c — W1 (relu on 1000 values and its gradient, one tape or a fresh
 * tape each step), W2 (the same at 2^24 values) and W2-memcpy, its floor.
 */
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void *w1_setup(bool smoke)
{
    (void)smoke;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        fail("tg_tape_new");
    return t;
}

int w1_iter(void *state, bool verify)
{
    tg_tape *t = state;
    int rc = w1_step(t, verify);
    tg_tape_reset(t);
    return rc;
}

void w1_teardown(void *state)
{
    tg_tape_free(state);
}

/* The variant: a new tape for every step, freed at the end of it. */
void *w1_fresh_setup(bool smoke)
{
    (void)smoke;
    return &n_malloc; /* no state; anything but NULL */
}

int w1_fresh_iter(void *state, bool verify)
{
    (void)state;
    tg_tape *t = tg_tape_new();
    if (t == NULL)
        return fail("tg_tape_new");
    int rc = w1_step(t, verify);
    tg_tape_free(t);
    return rc;
}

void w1_fresh_teardown(void *state)
{
    (void)state;
}



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

void w2_teardown(void *state)
{
    w2_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->data);
    free(s);
}

void *w2_setup(bool smoke)
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

int w2_iter(void *state, bool verify)
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


void w2_note(void *state, char *buf, size_t n)
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

void memcpy_teardown(void *state)
{
    memcpy_state *s = state;
    if (s == NULL)
        return;
    free(s->src);
    free(s->dst);
    free(s);
}

void *memcpy_setup(bool smoke)
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

int memcpy_iter(void *state, bool verify)
{
    memcpy_state *s = state;
    memcpy(s->dst, s->src, s->n * sizeof *s->src);
    sink = s->dst[s->n - 1];
    if (verify && memcmp(s->dst, s->src, s->n * sizeof *s->src) != 0)
        return wrong("memcpy copied something else");
    return 0;
}
