/*
 * tg_oom.h — the allocation-failure sweep that the suites
 * tests/test_oom_<area>.c run their scenarios through.
 *
 * A scenario is run again and again on a fresh tape, failing its 1st,
 * 2nd, ... k-th allocation in turn, until it runs without reaching the
 * k-th. Every run must either succeed with the right results or fail with
 * TG_ENOMEM, reported both by the return value and by tg_last_status()
 * and tg_last_error(); after a failure the tape is reset and must run the
 * scenario cleanly, and once everything is freed nothing may be left
 * allocated. Two modes: "sticky" fails the k-th allocation and every one
 * after it (memory has run out), "once" fails the k-th alone (a transient
 * failure; recovery code that allocates again gets to run). A third sweep
 * fills the tape's arena to each level in turn, so that each tensor the
 * scenario makes is in turn the one that finds no memory. The number of
 * injected failures is printed per scenario and sweep as a TAP comment.
 *
 * tests/test_errors.c holds the smallest case (the seed without writing).
 */
#ifndef TG_OOM_H
#define TG_OOM_H

#include "tg_test.h"
#include "tapegrad/nn.h"
#include "tapegrad/npy.h"
#include "tapegrad/train.h"
#include "tapegrad/vjp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A scenario's own check found wrong results (not a tapegrad status). */
#define WRONG 1000

/*
 * A scenario: run on tape t, clean up after itself (except t), and return
 * TG_OK with right results, or the status it failed with. prepare (may be
 * NULL) makes long-lived state before each run, outside the failure
 * window, and release frees it after the run and the clean run.
 */
typedef struct scenario {
    const char *name;
    int (*run)(tg_tape *t);
    void (*prepare)(void);
    void (*release)(void);
} scenario;

/* The sweeps: the k-th allocation and all after it fail, the k-th alone
 * fails, or the tape's arena is filled to each level. A Check loop test
 * over 0..2 (or 0..1) passes its _i as the sweep. */
typedef enum mode { STICKY, ONCE, FILL_LEVELS } mode;

/*
 * Run sc through the sweep m, checking the contract after each run, and
 * fail the test unless at least one failure was injected (a scenario
 * that never allocates proves nothing).
 */
void oom_sweep(const scenario *sc, mode m);

/* A scenario that writes files runs between make_dir() (a fresh empty
 * folder) and remove_dir() (which fails the test unless it is empty). */
void make_dir(void);
void remove_dir(void);
/* name inside that folder (a static buffer). */
const char *in_dir(const char *name);
/* Entries in that folder other than . and .. */
int dir_entries(void);
/* WRONG, with what went wrong as the last error. */
int wrong(const char *what);

#endif /* TG_OOM_H */
