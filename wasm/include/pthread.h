/*
 * wasm/include/pthread.h — the part of <pthread.h> tapegrad uses, for
 * wasm32-wasi, whose libc (wasi-libc 2022) has no threads and no
 * <pthread.h>. The cross file (wasm/wasm32-wasi.ini) puts this directory
 * first on the include path; native builds never see it.
 *
 * With one thread a mutex never has to wait: locking and unlocking only
 * record its state, and lock reports EDEADLK when the caller already holds
 * it, as an error-checking mutex would. The thread pool (src/tensor/pool.c)
 * is compiled out there (-Dthreads=disabled, TG__THREADS=0); only the op
 * registry's lock (src/ops/registry.c) uses this.
 */
#ifndef TG_WASM_PTHREAD_H
#define TG_WASM_PTHREAD_H

#include <errno.h>

typedef struct {
    int locked;
} pthread_mutex_t;

#define PTHREAD_MUTEX_INITIALIZER {0}

static inline int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (m->locked)
        return EDEADLK;
    m->locked = 1;
    return 0;
}

static inline int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (!m->locked)
        return EPERM;
    m->locked = 0;
    return 0;
}

#endif /* TG_WASM_PTHREAD_H */
