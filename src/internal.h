/*
 * internal.h — private to the library: the structs behind the opaque
 * handles and the helpers the source files share (tg__ prefix).
 */
#ifndef TG_INTERNAL_H
#define TG_INTERNAL_H

#include "tapegrad.h"

#include <stdarg.h>

/* Data and arena blocks are aligned for the widest vector loads. */
#define TG__ALIGN 64

/* Marks a live tensor; reset overwrites it so stale pointers are caught. */
#define TG__LIVE 0x7467746eu /* "tgtn" */
#define TG__DEAD 0xdeadbeefu

/*
 * What a tensor's gradient buffer holds. Backward may overwrite a STALE or
 * ZERO buffer instead of adding to it, which saves a pass over memory.
 */
enum tg__grad_state {
    TG__GRAD_STALE = 0,      /* left over from an earlier pass: reads as 0 */
    TG__GRAD_ZERO = 1,       /* all zeros */
    TG__GRAD_LIVE = 2        /* a gradient */
};

struct tg_tensor {
    uint32_t magic;          /* TG__LIVE while its tape owns it */
    uint32_t generation;     /* the tape's generation when it was made */
    tg_tape *tape;           /* the owner */
    tg_tensor *next;         /* the owner's list of tensors, newest first */
    void *data;              /* numel values of dtype, row-major */
    tg_tensor *grad;         /* on the same tape; NULL until backward */
    int64_t numel;
    int64_t shape[TG_MAX_DIMS];
    int ndim;
    tg_dtype dtype;
    bool requires_grad;
    uint8_t grad_state;      /* a tg__grad_state: what grad's values mean */
    int64_t creator;         /* index of the entry that made it, -1: leaf */
};

/* One recorded op call. */
typedef struct tg__entry {
    const tg_op *op;
    tg_tensor **in;
    int n;
    tg_tensor *out;
    const void *params;
    void *saved;
} tg__entry;

/* A block of arena memory; its usable bytes follow the header. */
typedef struct tg__chunk {
    struct tg__chunk *next;
    size_t size;             /* usable bytes */
    size_t used;
} tg__chunk;

/* A bump allocator: blocks in a list, all freed at once. */
typedef struct tg__arena {
    tg__chunk *chunks;       /* newest (current) first */
    size_t reserved;         /* usable bytes over all chunks */
} tg__arena;

struct tg_tape {
    tg__arena arena;
    tg__entry *entries;      /* allocator-owned, capacity kept by reset */
    int64_t n_entries;
    int64_t cap_entries;
    tg_tensor *tensors;      /* every live tensor, newest first */
    uint32_t generation;     /* bumped by every reset */
    bool grad_enabled;
};

/* ---- allocator (src/tensor/alloc.c) */
void *tg__malloc(size_t size);
void *tg__realloc(void *ptr, size_t size);
void tg__free(void *ptr);

/* ---- arena (src/tensor/arena.c) */
void *tg__arena_alloc(tg__arena *a, size_t size);
void tg__arena_reset(tg__arena *a);
void tg__arena_free(tg__arena *a);

/* ---- errors (src/tensor/error.c) */
int tg__verror(int status, const char *fmt, va_list ap);
bool tg__has_error(void);

/* ---- tensors (src/tensor/tensor.c) */

/*
 * Check that x can be used by the call named fn: not NULL, alive and from
 * its tape's current generation. On failure sets the error (keeping an
 * earlier one for NULL, which propagates a failure) and returns it.
 */
int tg__check_tensor(const char *fn, const tg_tensor *x);

/* Check ndim and shape and compute numel; TG_EINVAL naming fn on failure. */
int tg__check_shape(const char *fn, int ndim, const int64_t *shape,
                    size_t elem_size, int64_t *numel);

/* x's gradient buffer, made on x's tape (and STALE) if missing. */
tg_tensor *tg__grad_buffer(tg_tensor *x);

/* Whether two tensors have the same shape. */
bool tg__same_shape(const tg_tensor *a, const tg_tensor *b);

/*
 * ---- matrix multiply (src/tensor/gemm.c)
 * C = A' B' + beta C with A' = ta ? A^T : A (m x k) and B' = tb ? B^T : B
 * (k x n); row-major, leading dimensions lda, ldb, ldc; beta is 0 or 1
 * (with beta 0, C's old values, even NaN, are ignored).
 */
void tg__gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc);
void tg__gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const double *A, int64_t lda, const double *B, int64_t ldb,
                  double beta, double *C, int64_t ldc);
/*
 * The instruction set tg__gemm_* uses on this thread: 0 portable C, 1 AVX2
 * with FMA, 2 AVX-512; the best the machine supports, capped by
 * tg__gemm_limit_isa(level) (for tests and benchmarks), which returns the
 * level now in use.
 */
int tg__gemm_isa(void);
int tg__gemm_limit_isa(int level);

/* ---- autograd (src/autograd/tape.c) */
int tg__record(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n,
               tg_tensor *out, const void *params, void *saved);

/* ---- ops (src/ops/registry.c) */
int tg__check_op(const tg_op *op);

#endif /* TG_INTERNAL_H */
