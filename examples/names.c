/*
 * names.c — a character-level transformer learns to make up words
 * (Karpathy's makemore, BENCHMARKS.md's W7).
 *
 * Data: the words of Debian's wamerican list (/usr/share/dict/
 * american-english) that match ^[a-z]+$, joined with '.' into one text of
 * 27 symbols. A training example is 16 consecutive characters and the 16
 * that follow each, from a random start; batch 32.
 * Model: a pre-norm GPT, 2 blocks of [layer norm, causal self-attention
 * with 4 heads, residual, layer norm, MLP 64-256-64 with GELU, residual]
 * over token and position embeddings of 64, a final layer norm and a
 * linear layer to the 27 logits; about 105k parameters, initialised as
 * PyTorch initialises its modules; softmax cross-entropy; AdamW lr 3e-3,
 * weight decay 0.01; f32. --gru trains a GRU of about the same size
 * (embedding 64, hidden 152) instead.
 *
 * It prints a progress line while it trains, the loss on a fixed
 * evaluation set (the 1024 windows starting at floor(k (len - 17) / 1024),
 * the same as bench/torch_models.py's, so the two are comparable; --eval N
 * takes N windows spread the same way, for a quicker look) before
 * training, after 1000 steps and at the end, and then 20 new words (not in
 * the list) sampled with a temperature from a seeded RNG.
 * The model is examples/names_model.c, shared with bench/bench.c's W7.
 */
#include "names_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { N_SAMPLES = 20, MAX_TRIES = 2000, MAX_WORD = 40 };

typedef struct options {
    const char *words;
    long long steps;
    long long eval;      /* windows in the evaluation set */
    double temperature;
    uint64_t seed;
    bool gru;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: names [--steps N] [--gru] [--temperature T] [--seed S]\n"
            "             [--eval N] [--words FILE]\n\n"
            "Trains a small GPT (or with --gru a GRU) on the words of a word "
            "list,\nprints the evaluation loss, then 20 new words it makes "
            "up.\n\n"
            "  --steps N        training steps of 32 windows (default 5000)\n"
            "  --gru            a GRU of about the same size instead of the "
            "GPT\n"
            "  --temperature T  sampling temperature, > 0 (default 1; lower "
            "is safer)\n"
            "  --seed S         seed of the weights, the batches and the "
            "samples (default 7)\n"
            "  --eval N         windows in the evaluation set (default %d, "
            "as\n"
            "                   bench/torch_models.py; fewer for a quicker, "
            "rougher loss)\n"
            "  --words FILE     the word list (default %s,\n"
            "                   from: apt-get install %s)\n",
            NAMES_EVAL, NAMES_WORDS, NAMES_PACKAGE);
}

static int parse_value(const char *a, const char *s, options *o)
{
    char *end;
    errno = 0;
    if (!strcmp(a, "--words")) {
        o->words = s;
        return 0;
    }
    if (!strcmp(a, "--temperature")) {
        o->temperature = strtod(s, &end);
        if (errno || end == s || *end || !(o->temperature > 0 &&
                                           o->temperature <= 100)) {
            fprintf(stderr, "names: --temperature expects a number above 0 "
                    "and at most 100, not \"%s\"\n", s);
            return -1;
        }
        return 0;
    }
    /* The whole numbers: --seed, --steps and --eval, each with its range. */
    bool seed = !strcmp(a, "--seed"), eval = !strcmp(a, "--eval");
    if (!seed && !eval && strcmp(a, "--steps")) {
        fprintf(stderr, "names: unknown option \"%s\" (see --help)\n", a);
        return -1;
    }
    long long lo = seed ? 0 : 1,
              hi = seed ? 4294967295LL : eval ? 1000000 : 100000000;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "names: %s expects a whole number from %lld to %lld, "
                "not \"%s\"\n", a, lo, hi, s);
        return -1;
    }
    if (seed)
        o->seed = (uint64_t)v;
    else if (eval)
        o->eval = v;
    else
        o->steps = v;
    return 0;
}

/* 0 to go on, 1 after --help, -1 after a message. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){NULL, 5000, NAMES_EVAL, 1.0, 7, false};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(argv[i], "--gru")) {
            o->gru = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "names: unknown or incomplete option \"%s\" (see "
                    "--help)\n", argv[i]);
            return -1;
        }
        if (parse_value(argv[i], argv[i + 1], o) != 0)
            return -1;
        i++;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int report_eval(names_model *m, tg_tape *t, const names_text *x,
                       long long step, const options *o)
{
    double loss;
    int rc = names_model_eval(m, t, x, o->eval, &loss);
    if (rc == TG_OK)
        printf("step %lld/%lld: evaluation loss %.4f\n", step, o->steps,
               loss);
    fflush(stdout);
    return rc;
}

/* Train o->steps steps, with a progress line (in place on a terminal, a
 * line every 500 steps otherwise) and the evaluation loss at 0, 1000 and
 * the end. */
static int train(names_model *m, tg_tape *step, const names_text *x,
                 const options *o)
{
    tg_rng rng;
    tg_rng_seed(&rng, o->seed, 8);
    int64_t starts[NAMES_BATCH], in[NAMES_BATCH * NAMES_CONTEXT],
        target[NAMES_BATCH * NAMES_CONTEXT];
    bool tty = isatty(STDOUT_FILENO);
    double t0 = now_seconds(), shown = t0, recent = 0;
    int recent_n = 0, shown_len = 0;
    int rc = report_eval(m, step, x, 0, o);
    for (long long s = 1; s <= o->steps && rc == TG_OK; s++) {
        for (int k = 0; k < NAMES_BATCH; k++)
            starts[k] = (int64_t)tg_rng_bounded(
                &rng, (uint64_t)(x->n - NAMES_CONTEXT - 1));
        names_windows(x, NAMES_BATCH, starts, in, target);
        double loss;
        rc = names_model_step(m, step, NAMES_BATCH, in, target, &loss);
        if (rc != TG_OK)
            break;
        recent += loss, recent_n++;
        double now = now_seconds();
        if ((tty && now - shown > 0.25) || (!tty && s % 500 == 0)) {
            double per = (now - t0) / (double)s;
            shown_len = printf("%sstep %lld/%lld  loss %.4f (mean of the last "
                               "%d batches)  %.1f ms/step  ETA %.0f s%s",
                               tty ? "\r" : "", s, o->steps,
                               recent / recent_n, recent_n, 1e3 * per,
                               per * (double)(o->steps - s),
                               tty ? " " : "\n");
            fflush(stdout);
            shown = now, recent = 0, recent_n = 0;
        }
        if (s == 1000 || s == o->steps) {
            if (tty && shown_len > 0)
                printf("\r%*s\r", shown_len, "");
            shown_len = 0;
            rc = report_eval(m, step, x, s, o);
        }
    }
    if (rc == TG_OK)
        printf("%.1f s, %.2f ms per step\n", now_seconds() - t0,
               1e3 * (now_seconds() - t0) / (double)o->steps);
    return rc;
}

/* One word: tokens drawn from softmax(logits / T) of the last position,
 * the context being the last 16 tokens, from '.' until the next '.'.
 * Returns its length (0 for an empty word), or -1 on failure. */
static int sample_word(names_model *m, tg_tape *t, tg_rng *rng, double temp,
                       char *word)
{
    int64_t ctx[MAX_WORD + 1] = {0};
    int n = 1, len = 0;
    while (len < MAX_WORD) {
        int64_t c = n < NAMES_CONTEXT ? n : NAMES_CONTEXT;
        tg_tensor *lg = names_model_logits(t, m, 1, c, ctx + n - c);
        if (lg == NULL)
            return -1;
        const float *z = tg_data_f32(lg) + (c - 1) * NAMES_VOCAB;
        double p[NAMES_VOCAB], zmax = z[0], sum = 0;
        for (int k = 1; k < NAMES_VOCAB; k++)
            zmax = z[k] > zmax ? z[k] : zmax;
        for (int k = 0; k < NAMES_VOCAB; k++)
            sum += p[k] = exp((z[k] - zmax) / temp);
        tg_tape_reset(t);
        double u = tg_rng_uniform(rng) * sum;
        int k = 0;
        while (k < NAMES_VOCAB - 1 && u >= p[k])
            u -= p[k++];
        if (k == 0)
            break;
        word[len++] = (char)('a' + k - 1);
        ctx[n++] = k;
    }
    word[len] = '\0';
    return len;
}

/* N_SAMPLES words not in the list (at most MAX_TRIES draws). */
static int sample_words(names_model *m, tg_tape *t, const names_text *x,
                        const options *o)
{
    tg_rng rng;
    tg_rng_seed(&rng, o->seed, 9);
    tg_tape_set_grad_enabled(t, false);
    char word[MAX_WORD + 1];
    int found = 0, tries = 0;
    printf("%d new words (temperature %g):\n", N_SAMPLES, o->temperature);
    while (found < N_SAMPLES && tries++ < MAX_TRIES) {
        int len = sample_word(m, t, &rng, o->temperature, word);
        if (len < 0)
            return tg_last_status();
        if (len > 0 && !names_text_has(x, word)) {
            printf("%s\n", word);
            found++;
        }
    }
    if (found < N_SAMPLES)
        printf("(only %d of %d draws were new words; try a higher "
               "temperature)\n", found, MAX_TRIES);
    return TG_OK;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    names_text text;
    if (names_text_load(&text, o.words) != TG_OK) {
        fprintf(stderr, "names: %s\n", tg_last_error());
        return 1;
    }
    printf("%lld words, %lld characters; %s\n", (long long)text.n_words,
           (long long)text.n, o.gru ? "GRU (embedding 64, hidden 152)"
           : "GPT (2 blocks, 4 heads, embedding 64)");
    names_model m = {0};
    tg_tape *step = tg_tape_new();
    rc = step ? names_model_new(&m, o.gru, o.seed) : tg_last_status();
    if (rc == TG_OK) {
        printf("%lld parameters, AdamW lr 3e-3 weight decay 0.01, batch %d "
               "x %d characters, evaluation on %lld windows\n",
               (long long)tg_params_numel(m.params), NAMES_BATCH,
               NAMES_CONTEXT, o.eval);
        rc = train(&m, step, &text, &o);
    }
    if (rc == TG_OK)
        rc = sample_words(&m, step, &text, &o);
    if (rc != TG_OK)
        fprintf(stderr, "names: %s\n", tg_last_error());
    names_model_free(&m);
    tg_tape_free(step);
    names_text_free(&text);
    return rc == TG_OK ? 0 : 1;
}
