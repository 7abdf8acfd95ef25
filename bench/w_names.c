/*
 * w_names.c — W7: one training step of the names GPT
 * (examples/names_model.c).
 */
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void w7_teardown(void *state)
{
    w7_state *s = state;
    if (s == NULL)
        return;
    names_model_free(&s->model);
    names_text_free(&s->text);
    tg_tape_free(s->step);
    free(s);
}

void *w7_setup(bool smoke)
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

int w7_iter(void *state, bool verify)
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

void w7_note(void *state, char *buf, size_t n)
{
    const w7_state *s = state;
    snprintf(buf, n, "training loss %.3f at step 1, %.3f at step %ld",
             s->first, s->loss, s->steps);
}

#else

void *w7_setup(bool smoke)
{
    (void)smoke;
    snprintf(skip_reason, sizeof skip_reason, "the bench was built without "
             "the examples, whose names_model.c W7 runs");
    return NULL;
}

int w7_iter(void *state, bool verify)
{
    (void)state, (void)verify;
    return -1;
}

void w7_teardown(void *state)
{
    (void)state;
}

void w7_note(void *state, char *buf, size_t n)
{
    (void)state, (void)buf, (void)n;
}

#endif /* BENCH_NAMES */
