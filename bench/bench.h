/*
 * bench.h — what the benchmark's files share: the driver (bench_main.c)
 * times and reports the workloads, each family of which lives in its own
 * file (w_relu.c, w_mlp.c, w_fashion.c, w_names.c, w_conv.c, w_threads.c).
 *
 * A workload is three functions, named in bench_main.c's `workloads`
 * table: setup (make the state; NULL on failure, or NULL with skip_reason
 * set when it cannot run here), iter (one iteration, 0 or -1; with verify,
 * also check the results) and teardown; optionally a note (a short phrase
 * such as an accuracy, reported after the timing).
 */
#ifndef BENCH_H
#define BENCH_H

#include <tapegrad.h>

#include <stdbool.h>
#include <stddef.h>

/* ---- shared by every workload (defined in bench_main.c) */

/* Allocator calls so far: every tapegrad allocation is counted. */
extern long n_malloc;

/* Written by every iteration so that no read can be optimised away. */
extern volatile float sink;

/* A setup that skips its workload writes why here and returns NULL. */
extern char skip_reason[600];

/* Report a failed call with tapegrad's message; returns -1 for `return`. */
int fail(const char *what);

/* Report a wrong result (printf-style); returns -1. */
int wrong(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* CLOCK_MONOTONIC in seconds. */
double now_seconds(void);

/* qsort's comparison of doubles, ascending. */
int cmp_double(const void *a, const void *b);

/* ---- the workloads: setup, iter, teardown[, note] of each */

/* w_relu.c */
void *w1_setup(bool smoke);
int w1_iter(void *state, bool verify);
void w1_teardown(void *state);
void *w1_fresh_setup(bool smoke);
int w1_fresh_iter(void *state, bool verify);
void w1_fresh_teardown(void *state);
void *w2_setup(bool smoke);
int w2_iter(void *state, bool verify);
void w2_teardown(void *state);
void w2_note(void *state, char *buf, size_t n);
void *memcpy_setup(bool smoke);
int memcpy_iter(void *state, bool verify);
void memcpy_teardown(void *state);

/* w_mlp.c */
void *w3_setup(bool smoke);
int w3_iter(void *state, bool verify);
void w3_teardown(void *state);
void w3_note(void *state, char *buf, size_t n);
void *w4_setup(bool smoke);
int w4_iter(void *state, bool verify);
void w4_teardown(void *state);
void *w8_setup(bool smoke);
int w8_iter(void *state, bool verify);
int w8_grad_iter(void *state, bool verify);
void w8_teardown(void *state);

/* w_fashion.c (skipped without zlib or the data set) */
void *w5_setup(bool smoke);
int w5_iter(void *state, bool verify);
void w5_teardown(void *state);
void w5_note(void *state, char *buf, size_t n);
void *w6_setup(bool smoke);
int w6_iter(void *state, bool verify);
void w6_teardown(void *state);
void w6_note(void *state, char *buf, size_t n);

/* w_names.c (skipped without the examples or the word list) */
void *w7_setup(bool smoke);
int w7_iter(void *state, bool verify);
void w7_teardown(void *state);
void w7_note(void *state, char *buf, size_t n);

/* w_conv.c */
void *conv_setup(bool smoke);
int conv_iter(void *state, bool verify);
void conv_teardown(void *state);
void conv_note(void *state, char *buf, size_t n);

/* w_threads.c: the 2-thread and busy-core variants (their iter and note
 * are the 1-thread workload's) */
void *w4_2t_setup(bool smoke);
void w4_2t_teardown(void *state);
void *w4_busy_setup(bool smoke);
void w4_busy_teardown(void *state);
void *w5_2t_setup(bool smoke);
void w5_2t_teardown(void *state);
void *w5_busy_setup(bool smoke);
void w5_busy_teardown(void *state);
void *w6_2t_setup(bool smoke);
void w6_2t_teardown(void *state);

#endif /* BENCH_H */
