/*
 * bench.c — tapegrad's benchmark program: the workloads of BENCHMARKS.md,
 * timed in-process.
 *
 *     bench                 every workload
 *     bench W1              the workloads named W1 or W1-<variant>
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
 * To add a workload (W2..W4): write its setup, iteration and teardown
 * functions and add a line to the `workloads` table. A setup that cannot
 * run its workload here (no data set) writes why into skip_reason and
 * returns NULL: the workload is reported as skipped, not failed.
 */
#include <tapegrad.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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
 * training set; matrix products are slow under valgrind). W5 is skipped when the bench is built without zlib or the
 * data set (Debian's dataset-fashion-mnist) is not installed.
 */

/* A setup that skips its workload sets this and returns NULL. */
static char skip_reason[600];

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
    if (tg_rng_shuffle(&s->rng, s->order, s->train.n) != TG_OK)
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

#endif /* BENCH_FASHION */

/* ---- the table of workloads */

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
    {"W5", "one epoch of Fashion-MNIST: MLP 784-256-10 ReLU, softmax "
     "cross-entropy, SGD lr 0.1, batch 64, shuffled", "s",
     w5_setup, w5_iter, w5_teardown, true, w5_note},
};
#define N_WORKLOADS ((int)(sizeof workloads / sizeof workloads[0]))

/* ---- timing */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
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
    long peak_rss_kib;       /* of the whole process so far */
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

static void print_header(void)
{
    printf("%-14s %10s %10s %10s %-8s %8s %12s %14s\n", "workload",
           "median", "min", "max", "unit", "samples", "batch",
           "mallocs/iter");
}

static void print_human(const workload *w, const result *r)
{
    char mallocs[48];
    snprintf(mallocs, sizeof mallocs, "%ld, then %.3g", r->mallocs_first,
             r->mallocs_steady);
    char unit[16];
    snprintf(unit, sizeof unit, "%s/iter", w->unit);
    printf("%-14s %10.3f %10.3f %10.3f %-8s %8ld %12ld %14s\n", w->name,
           r->median, r->min, r->max, unit, r->samples, r->batch, mallocs);
    if (r->note[0])
        printf("%-14s %s\n", "", r->note);
}

static void print_json(const workload *w, const result *r, bool first)
{
    printf("%s\n  {\"name\": \"%s\", \"unit\": \"%s/iter\", "
           "\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, "
           "\"samples\": %ld, \"batch\": %ld, \"mallocs_first\": %ld, "
           "\"mallocs_steady\": %.6g, \"peak_rss_kib\": %ld%s%s%s}",
           first ? "" : ",", w->name, w->unit, r->median, r->min, r->max,
           r->samples, r->batch, r->mallocs_first, r->mallocs_steady,
           r->peak_rss_kib, r->note[0] ? ", \"note\": \"" : "", r->note,
           r->note[0] ? "\"" : "");
}

/* ---- main */

/* Whether w is selected by arg: its exact name, or its group ("W1"). */
static bool selects(const char *arg, const workload *w)
{
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
        printf("%-14s %s\n", workloads[i].name, workloads[i].what);
    return 0;
}

/* Run one workload in the chosen mode; -1 on failure, 1 if it was skipped
 * (its setup said why in skip_reason). first: no JSON object was printed
 * before this one. */
static int run_one(const workload *w, const options *o, bool first)
{
    skip_reason[0] = '\0';
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
    if (rc == 0 && w->note != NULL)
        w->note(st, r.note, sizeof r.note);
    w->teardown(st);
    if (rc != 0 || o->smoke || o->iters > 0)
        return rc;
    r.peak_rss_kib = peak_rss_kib();
    if (o->json)
        print_json(w, &r, first);
    else
        print_human(w, &r);
    return 0;
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
    bool first = true;
    for (int k = 0; k < N_WORKLOADS; k++) {
        if (any && !chosen[k])
            continue;
        int rc = run_one(&workloads[k], &o, first);
        if (rc < 0) {
            fprintf(stderr, "bench: %s failed\n", workloads[k].name);
            status = 1;
        } else if (rc == 0) {
            first = false;
        }
        fflush(stdout);
    }
    if (timed && o.json)
        printf("\n]\n");
    else if (timed)
        printf("peak RSS: %ld KiB (getrusage, whole process)\n",
               peak_rss_kib());
    tg_set_allocator(NULL);
    return status;
}
