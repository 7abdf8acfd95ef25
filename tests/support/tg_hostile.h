/*
 * tg_hostile.h — what the hostile-input tests (tests/test_hostile_*.c)
 * share: the checks that a call was refused with the right status and a
 * message naming the call, and small tensor helpers. Link
 * support/tg_hostile.c into the program too (ASan's options).
 */
#ifndef TG_HOSTILE_H
#define TG_HOSTILE_H

#include "tg_test.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A pointer call failed with status want and a message starting with
 * call (the name of the call the test made). */
#define REFUSED(expr, want, call)                                            \
    do {                                                                     \
        tg_clear_error();                                                    \
        const void *r__ = (expr);                                            \
        ck_assert_msg(r__ == NULL, "%s should have failed", #expr);          \
        ck_assert_msg(tg_last_status() == (want), "%s: status %d (%s), "     \
                      "expected %s; message: %s", #expr, tg_last_status(),   \
                      tg_strerror(tg_last_status()), #want, tg_last_error()); \
        ck_assert_msg(strncmp(tg_last_error(), call ": ",                    \
                              strlen(call ": ")) == 0,                       \
                      "%s: message \"%s\" does not start with %s",           \
                      #expr, tg_last_error(), call);                         \
    } while (0)

/* An int call failed with status want and a message starting with call. */
#define REFUSED_RC(expr, want, call)                                         \
    do {                                                                     \
        tg_clear_error();                                                    \
        int rc__ = (expr);                                                   \
        ck_assert_msg(rc__ == (want), "%s returned %d (%s), expected %s; "   \
                      "message: %s", #expr, rc__, tg_strerror(rc__), #want,  \
                      tg_last_error());                                      \
        ck_assert_msg(strncmp(tg_last_error(), call ": ",                    \
                              strlen(call ": ")) == 0,                       \
                      "%s: message \"%s\" does not start with %s",           \
                      #expr, tg_last_error(), call);                         \
    } while (0)

/* Two generators in the same state (fields, not padding). */
static inline bool rng_eq(const tg_rng *a, const tg_rng *b)
{
    return a->state == b->state && a->inc == b->inc &&
           a->has_spare == b->has_spare &&
           (!a->has_spare || a->spare == b->spare);
}

static inline tg_tensor *filled(tg_tape *t, tg_dtype dt, int ndim,
                                const int64_t *shape, double v)
{
    tg_tensor *x = tg_full(t, dt, ndim, shape, v);
    ck_assert_ptr_nonnull(x);
    return x;
}

static inline tg_tensor *param(tg_tape *t, tg_dtype dt, int ndim,
                               const int64_t *shape, double v)
{
    tg_tensor *x = filled(t, dt, ndim, shape, v);
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}

#endif /* TG_HOSTILE_H */
