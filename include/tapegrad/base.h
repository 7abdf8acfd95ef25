/*
 * tapegrad/base.h — what every other header builds on: dtypes, status codes,
 * the thread-local error message, the allocator hook and the version.
 */
#ifndef TAPEGRAD_BASE_H
#define TAPEGRAD_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * TG_API marks what the shared library exports: everything declared in
 * these headers, and nothing else (the library is compiled with
 * -fvisibility=hidden, so its internal functions stay inside it). It
 * expands to nothing where the compiler has no visibility attribute, and
 * may be defined before the first include to override it.
 */
#ifndef TG_API
#if defined(__GNUC__) && __GNUC__ >= 4 /* GCC, clang */
#define TG_API __attribute__((visibility("default")))
#else
#define TG_API
#endif
#endif

#define TG_VERSION_MAJOR 0
#define TG_VERSION_MINOR 1
#define TG_VERSION_PATCH 0
#define TG_VERSION_STRING "0.1.0"

/* The library's version as "MAJOR.MINOR.PATCH", the one it was built as (a
 * static string: never NULL, not to be freed). */
TG_API const char *tg_version(void);

/* A tensor holds 32-bit or 64-bit IEEE floats. */
/* TG_DTYPE_NONE is no dtype: what tg_dtype_of(NULL) answers (every call
 * given it fails with TG_EDTYPE). */
typedef enum tg_dtype {
    TG_DTYPE_NONE = -1,
    TG_F32 = 0,
    TG_F64 = 1
} tg_dtype;

/* Size in bytes of one element of dtype dt (4 or 8); 0 for an unknown dtype. */
TG_API size_t tg_dtype_size(tg_dtype dt);

/* "f32" or "f64" ("?" for anything else): a static string, never NULL. */
TG_API const char *tg_dtype_name(tg_dtype dt);

/* The most dimensions a tensor can have. */
#define TG_MAX_DIMS 8

/*
 * Status codes. Every int-returning call returns TG_OK (0) or one of these
 * negative codes; every pointer-returning call returns NULL on failure. In
 * both cases tg_last_error() says what went wrong. The list is kept in one
 * X-macro so codes, names and messages cannot drift apart.
 */
#define TG_STATUS_LIST(X)                                                    \
    X(TG_OK, 0, "success")                                                   \
    X(TG_EINVAL, -1, "invalid argument")                                     \
    X(TG_ESHAPE, -2, "incompatible shapes")                                  \
    X(TG_EDTYPE, -3, "incompatible dtypes")                                  \
    X(TG_ENOMEM, -4, "out of memory")                                        \
    X(TG_EIO, -5, "input/output error")                                      \
    X(TG_EFORMAT, -6, "malformed file")                                      \
    X(TG_ESTATE, -7, "not valid in the current state")                       \
    X(TG_ENOTFOUND, -8, "not found")                                         \
    X(TG_EEXIST, -9, "already exists")                                       \
    X(TG_ENUMERIC, -10, "non-finite value")

typedef enum tg_status {
#define TG__STATUS_ENUM(name, code, text) name = code,
    TG_STATUS_LIST(TG__STATUS_ENUM)
#undef TG__STATUS_ENUM
} tg_status;

/* A fixed sentence for a status code ("incompatible shapes"; one for an
 * unknown code too): a static string, never NULL. */
TG_API const char *tg_strerror(int status);

/*
 * The message of the last failure on this thread, naming the call and the
 * shapes involved ("tg_add: shapes (3,4) and (5,) do not broadcast"), or ""
 * if nothing failed since tg_clear_error(). Successful calls leave it alone,
 * as errno. The pointer stays valid until the next tapegrad call on this
 * thread.
 */
TG_API const char *tg_last_error(void);

/* The status of the last failure on this thread (TG_OK if none since
 * tg_clear_error()). */
TG_API int tg_last_status(void);

/* Forget the last error on this thread (tg_last_error() returns ""). */
TG_API void tg_clear_error(void);

/*
 * Record a failure: format the message printf-style, store it as this
 * thread's last error and return status. For ops written outside the
 * library, so their errors read like the built-in ones.
 *
 * The prefix rule: a message starts with the name of the call that failed,
 * once ("tg_relu: ..."). In your op's forward, backward or piece, write
 * only the detail: tg_apply and tg_backward put "tg_" and the op's name in
 * front ("tg_" + .name, whatever your entry point is called), once. A
 * message that already starts with "tg_NAME: " or "NAME: " gets that
 * prefix once, not twice. So, in an op named "scale":
 *
 *     static tg_tensor *scale_forward(tg_op_ctx *c) {
 *         double alpha = *(const double *)c->params;
 *         if (!(alpha > 0)) {
 *             // tg_last_error(): "tg_scale: alpha is -1; it must be positive"
 *             tg_set_error(TG_EINVAL, "alpha is %g; it must be positive", alpha);
 *             return NULL;
 *         }
 *         const double *x = tg_data_f64(c->in[0]);   // f64 only, to be short
 *         tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
 *         if (x == NULL || y == NULL)
 *             return NULL;       // they said why: "tg_scale: tg_data_f64: ..."
 *         for (int64_t i = 0; i < tg_numel(y); i++)
 *             tg_mut_f64(y)[i] = alpha * x[i];
 *         return y;
 *     }
 *
 * Outside an op (a function of your own that is not run by tg_apply),
 * name that function yourself: nothing adds a prefix there.
 */
TG_API int tg_set_error(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * The allocator. Every byte tapegrad allocates goes through these three
 * hooks (each given the user pointer ud). They may fail by returning NULL;
 * tapegrad then reports TG_ENOMEM and leaks nothing. This is process-wide
 * configuration: set it before the first tape is made and restore it only
 * after the last is freed, because memory must be freed by the allocator
 * that gave it.
 */
typedef struct tg_allocator {
    void *(*malloc)(void *ud, size_t size);
    void *(*realloc)(void *ud, void *ptr, size_t size);
    void (*free)(void *ud, void *ptr);
    void *ud;
} tg_allocator;

/* Install a (complete) allocator; NULL restores the C library's. Returns
 * TG_OK, or TG_EINVAL when one of the three hooks is NULL (the allocator
 * in use stays). Process-wide: see above for when to call it. */
TG_API int tg_set_allocator(const tg_allocator *a);

/*
 * Threads. tapegrad can split large matrix products (tg_matmul,
 * tg_linear and their gradients), large elementwise ops and the
 * optimizers' updates across a pool of threads. n = 1, the default, runs
 * everything on the calling thread; n > 1 starts n - 1 worker threads,
 * which then share the work of every call big enough to be worth it
 * (each thread's share must take at least twice what splitting a call
 * costs beyond its work: handing it over, the other thread fetching data
 * this one just wrote, waiting for it; tg_set_num_threads(n > 1) measures
 * that cost on the machine and the pool follows it, call by call, as it
 * changes: 16K to a million multiply-adds of a matrix product, a
 * thousand to a million elements of an elementwise loop) and
 * otherwise sleep (after watching for new work for 50 microseconds).
 * When the workers cost more time than they save (another program has
 * the other cores, so a worker is descheduled while holding its share, or
 * the system put a worker on the caller's own CPU), the pool runs the
 * next calls on the calling thread alone for a while (1 ms, doubling up
 * to a quarter of a second while it keeps happening), so n threads are
 * not much slower than one on a busy machine;
 * tg_set_num_threads(1) stops them again (do so before
 * exit to leave nothing running). Results do not depend on n: every value
 * is computed by the same arithmetic in the same order whatever the count.
 * Process-wide configuration, like the allocator: set it while no other
 * thread is inside tapegrad. Calls made from several threads at once are
 * safe; one at a time gets the workers, the others run on their own.
 * Errors: TG_EINVAL for n outside 1..64, or n > 1 when tapegrad was built
 * without threads (meson -Dthreads=disabled); TG_ENOMEM if the threads
 * could not be started (the count is then 1).
 * Built with meson -Dblas=enabled, matrix products are CBLAS calls, which
 * n does not split: the BLAS library's own setting applies to them
 * (OpenBLAS: OPENBLAS_NUM_THREADS, every core unless set).
 */
TG_API int tg_set_num_threads(int n);

/* The thread count set by tg_set_num_threads: 1 unless set. */
TG_API int tg_num_threads(void);

/*
 * Which kernel runs matrix products (tg_matmul, tg_linear and their
 * gradients) in this process: "tapegrad AVX-512", "tapegrad AVX2+FMA" or
 * "tapegrad portable C" (picked for the processor when first used), or
 * "CBLAS (...)" in a meson -Dblas=enabled build. For reports and
 * benchmarks: the wording is not a stable format. Never NULL.
 */
TG_API const char *tg_matmul_backend(void);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_BASE_H */
