/*
 * tg_npy_files.h — what the .npy and .npz suites (test_npy.c, test_npz.c)
 * share: the fixtures NumPy wrote (fixtures/npy/, made by
 * make_npy_fixtures.py), a temporary folder for the files a test writes,
 * reading a file's bytes, the ramp tensors the fixtures hold, and a sweep
 * of allocation failures.
 */
#ifndef TG_NPY_FILES_H
#define TG_NPY_FILES_H

#include "tg_test.h"

#include <stddef.h>

/* The path of fixture name (a static buffer). */
const char *fixture(const char *name);

/* A fresh temporary folder for the files a test writes; name's path in it
 * (two static buffers, used in turn); remove the folder and the n files a
 * test named, failing the test if anything else was left. */
void make_tmp_dir(void);
const char *tmp_path(const char *name);
void remove_tmp_dir(const char *const *names, int n);

/* The bytes of a file (malloc'd, not through tapegrad) and their count. */
unsigned char *slurp(const char *path, size_t *size);

/* ramp(n)[i] = (i - n/2) / 4, as make_npy_fixtures.py writes. */
tg_tensor *ramp(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape);

/* Whether x has dtype dt, shape, and the values of ramp. */
void assert_ramp(const tg_tensor *x, tg_dtype dt, int ndim,
                 const int64_t *shape);

/* Whether two buffers have the same bytes. */
void assert_same_bytes(const unsigned char *a, size_t na,
                       const unsigned char *b, size_t nb);

/* Run call with the k-th allocation failing, for k = 1, 2, ... until it
 * succeeds; each failure must be TG_ENOMEM (and leak nothing, which the
 * test's teardown checks). */
#define ASSERT_OOM_SAFE(setup, call, ok)                                     \
    for (long k = 1;; k++) {                                                 \
        setup;                                                               \
        tg_test_fail_after(k);                                               \
        call;                                                                \
        tg_test_fail_after(-1);                                              \
        if (ok)                                                              \
            break;                                                           \
        ck_assert_msg(tg_last_status() == TG_ENOMEM, "k = %ld: %s", k,      \
                      tg_last_error());                                      \
        ck_assert_message("out of memory");                                  \
        ck_assert_int_lt(k, 100);                                            \
    }

#endif /* TG_NPY_FILES_H */
