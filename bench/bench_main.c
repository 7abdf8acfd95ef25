/*
 * bench_main.c — tapegrad's benchmark program: the workloads of
 * BENCHMARKS.md, timed in-process. This file is the driver (options,
 * timing, statistics, output); the workloads live one family a file
 * (w_*.c, declared in bench.h).
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
 * To add a workload: write its setup, iteration and teardown functions in
 * its family's w_*.c (or a new one, listed in meson.build), declare them in
 * bench.h and add a line to the `workloads` table below. A setup that cannot
 * run its workload here (no data set) writes why into skip_reason and
 * returns NULL: the workload is reported as skipped, not failed.
 */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ---- the counting allocator */

long n_malloc;

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
int fail(const char *what)
{
    fprintf(stderr, "bench: %s failed: %s\n", what, tg_last_error());
    return -1;
}

/* Report a wrong result; returns -1. */
int wrong(const char *fmt, ...)
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
volatile float sink;

/* A setup that skips its workload sets this and returns NULL. */
char skip_reason[600];

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

double now_seconds(void)
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

int cmp_double(const void *a, const void *b)
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
