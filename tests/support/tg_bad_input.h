/*
 * tg_bad_input.h — the machinery of the bad-input tables,
 * tests/test_bad_input_<area>.c: what callers get wrong, area by area, and
 * what each mistake must give back, a status and a message that names the
 * call. The library must never crash, leak or read out of bounds because
 * of what it was given.
 *
 * A table is an X-macro of rows, in the area's own file:
 *
 *     #define ROWS(X)                                                    \
 *         X(id, expected status, message fragment, expression)          \
 *         ...
 *     TG_BAD_INPUT_TABLE(ROWS)
 *     int main(void) { return tg_bad_input_main("bad_input_<area>", rows,
 *                                               N_ROWS); }
 *
 * The expression gives the row's status and sees the fixture as f. A
 * helper that rows of several areas call lives here; one that a single
 * area calls stays in its file. The areas, by the groups of rows each
 * holds (the groups of the single table they were split from):
 *
 *   tensor     making tensors; reading tensors and their gradients;
 *              random numbers
 *   ops        ops; running ops by hand; the op registry; shapes,
 *              matrices, losses; comparisons and selection
 *   autograd   backward; gradient checks; gradients as tensors (vjp.h)
 *              and gradgradcheck
 *   io         writing files; reading and writing model files; looking
 *              inside
 *   nn         networks, losses and optimizers; lifecycles of handles
 *              across resets
 *   layers     the sequential container and its layers (sequential.h),
 *              the sequence layers (sequence.h), the cnn layers
 *   train      checkpoints, clipping, schedules (train.h)
 *   conv_pool  pooling, dropout, batch norm; convolutions
 *   index_seq  seq (sequence.h); index.h
 *
 * Each row is its own test (tcase_add_loop_test, one TAP line a row) and
 * runs under the leak-counting allocator, so every row also proves that
 * the failure leaked nothing. After the row, the tape it used must still
 * work (a small backward pass on it), and for a failure the returned
 * status must be the one tg_last_status() reports. A row expecting TG_OK
 * must leave the last error alone. The number of rows and each row's
 * whole message are printed as TAP comments.
 */
#ifndef TG_BAD_INPUT_H
#define TG_BAD_INPUT_H

#include "tg_test.h"
#include "tapegrad/idx.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/op.h"
#include "tapegrad/train.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A status no tapegrad call returns: a row's own check found a problem. */
#define ROW_WRONG 1000
/* A pointer-returning call gave NULL without setting any error. */
#define NULL_WITHOUT_ERROR 1001

/* What every row is given: a tape with a few tensors, and a folder. */
typedef struct fx {
    tg_tape *t;
    tg_tensor *a34;      /* f32 (3,4), requires grad */
    tg_tensor *b5;       /* f32 (5,) */
    tg_tensor *d34;      /* f64 (3,4), requires grad */
    tg_tensor *s;        /* f32 scalar 2.5 */
    char dir[256];       /* an empty temporary folder */
    char path[320];      /* scratch for paths in dir */
} fx;

/* The status a pointer-returning call left: TG_OK for non-NULL. */
int ptr(const void *p);
/* The status a NaN-on-error call left. */
int num(double v);
/* A row's own check: TG_OK if cond holds, else ROW_WRONG and why. */
int expect(bool cond, const char *what);
/* The status of p, or ROW_WRONG if the call put anything on the tape. */
int ptr_unchanged(fx *f, int64_t size_before, const void *p);
/* name inside the row's folder (in f->path, until the next call). */
const char *in_dir(fx *f, const char *name);
/* A generator seeded the same way for every row. */
tg_rng seeded(void);

/* Shapes more than one area uses. */
extern const int64_t n3[1], s34[2], nine[9];

/* One row: its name, the function made of its expression, what it must
 * give back. */
typedef struct tg_bad_input_row {
    const char *name;
    int (*run)(fx *f);
    int want;
    const char *fragment;
} tg_bad_input_row;

/* The rows of ROWS as `rows`, N_ROWS of them: a function per row, then
 * the table. */
#define TG_BAD_INPUT_ROW_FUNCTION(id, want, fragment, ...)                   \
    static int row_##id(fx *f) { (void)f; return __VA_ARGS__; }
#define TG_BAD_INPUT_ROW_ENTRY(id, want, fragment, ...)                      \
    {#id, row_##id, want, fragment},
#define TG_BAD_INPUT_TABLE(ROWS)                                             \
    ROWS(TG_BAD_INPUT_ROW_FUNCTION)                                          \
    static const tg_bad_input_row rows[] = {ROWS(TG_BAD_INPUT_ROW_ENTRY)};
#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))

/* Run the n rows as the Check suite suite_name, with TAP output; the exit
 * status for main. */
int tg_bad_input_main(const char *suite_name, const tg_bad_input_row *rows,
                      int n);

#endif /* TG_BAD_INPUT_H */
