/*
 * internal.h — private to the library: the structs behind the opaque
 * handles and the helpers the source files share (tg__ prefix).
 */
#ifndef TG_INTERNAL_H
#define TG_INTERNAL_H

#include "tapegrad.h"

#include <stdarg.h>
#include <stdio.h>

#include "hot.h" /* TG__HOT */

/* Data and arena blocks are aligned for the widest vector loads. */
#define TG__ALIGN 64

/* Marks a live tensor; reset overwrites it so stale pointers are caught. */
#define TG__LIVE 0x7467746eu /* "tgtn" */
#define TG__DEAD 0xdeadbeefu

/*
 * What a tensor's gradient buffer holds. Backward may overwrite a STALE or
 * ZERO buffer instead of adding to it, which saves a pass over memory. A
 * LIVE gradient may also be uniform (its buffer's `uniform` flag): one
 * value for every element, not yet written out; only a LIVE one is.
 */
enum tg__grad_state {
    TG__GRAD_STALE = 0,      /* left over from an earlier pass, or zeroed by
                                tg_zero_grad: reads as 0 */
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
    bool uniform;            /* a gradient: every element is uniform_value,
                                which data does not hold (tg_grad_fill) */
    double uniform_value;    /* already rounded to dtype */
    tg_tensor *grad_of;      /* a gradient buffer (or backward's scratch for
                                one): the tensor it is the gradient of */
    int64_t creator;         /* index of the entry that made it, -1: leaf */
    const char *name;        /* for pictures and traces; NULL: none */
};

/* One recorded op call. */
typedef struct tg__entry {
    const tg_op *op;
    tg_tensor **in;          /* followed by n uint32_t: tg__entry_gens */
    int n;
    tg_tensor *out;
    const void *params;
    void *saved;
} tg__entry;

/* Each input's generation when the entry was recorded, kept just after the
 * inputs: an input of another tape reset since, whose memory may now hold
 * a new tensor, is caught by backward. */
static inline uint32_t *tg__entry_gens(const tg__entry *e)
{
    return (uint32_t *)(e->in + e->n);
}

/* A block of arena memory; its usable bytes follow the header. */
typedef struct tg__chunk {
    struct tg__chunk *next;
    unsigned char *base;     /* the first usable byte, aligned */
    size_t size;             /* usable bytes */
    size_t used;
} tg__chunk;

/*
 * A bump allocator: blocks in a list, oldest first, all freed at once.
 * Reset rewinds every block but frees none, so a tensor pointer kept past
 * a reset still points into memory the tape owns (and is caught by its
 * magic) until the tape is freed.
 */
typedef struct tg__arena {
    tg__chunk *chunks;       /* oldest first */
    tg__chunk *current;      /* allocation happens here; later blocks are
                                empty until reached */
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
    bool anomaly;            /* check every value for NaN and infinity */
    FILE *trace;             /* backward prints each step here, or NULL */
};

/* ---- allocator (src/tensor/alloc.c) */
void *tg__malloc(size_t size);
void *tg__realloc(void *ptr, size_t size);
void tg__free(void *ptr);

/* ---- arena (src/tensor/arena.c) */
void *tg__arena_alloc_slow(tg__arena *a, size_t size);
void tg__arena_reset(tg__arena *a);
void tg__arena_free(tg__arena *a);

/*
 * size bytes, aligned to TG__ALIGN, or NULL. The common case is inline
 * (a few instructions per tensor): room left in the current block. The
 * rest (size 0, a full block, no block yet) is arena.c's.
 */
static inline void *tg__arena_alloc(tg__arena *a, size_t size)
{
    tg__chunk *c = a->current;
    size_t n = (size + TG__ALIGN - 1) & ~(size_t)(TG__ALIGN - 1);
    if (c != NULL && size - 1 < SIZE_MAX - TG__ALIGN &&
        n <= c->size - c->used) {
        void *p = c->base + c->used;
        c->used += n;
        return p;
    }
    return tg__arena_alloc_slow(a, size);
}

/* ---- errors (src/tensor/error.c) */
int tg__verror(int status, const char *fmt, va_list ap);
/*
 * Make the last error name fn, the call the user made, when it was set by
 * a call inside it ("tg_relu: tg_empty_like: out of memory for 1000
 * elements"); unchanged if it already starts with "fn:". Returns the status.
 */
int tg__error_in(const char *fn);
/* The prefix rule for an op's own messages (base.h, tg_set_error): make
 * the last error start with "tg_<name>: " exactly once, whether the op
 * wrote only the detail, "<name>: detail" or "tg_<name>: detail".
 * Returns the last status. */
int tg__error_in_op(const char *name);
/* How many errors this thread has set so far (to notice a callback that
 * failed without setting one). */
unsigned long tg__error_count(void);

/* ---- tensors (src/tensor/tensor.c) */

/*
 * Check that x can be used by the call named fn: not NULL, alive and from
 * its tape's current generation. On failure sets the error and returns its
 * status. A NULL usually carries an earlier failure (the call that should
 * have made x failed), so for NULL the earlier message and status are kept
 * and returned, and only without one is "fn: tensor is NULL" reported.
 */
int tg__check_tensor(const char *fn, const tg_tensor *x);

/* The one check of a dimension count and its array (shape, dims) for every
 * call that takes them: ndim in 0..TG_MAX_DIMS, sizes non-NULL when ndim
 * > 0 (what names them). TG_EINVAL naming fn on failure. */
int tg__check_ndim(const char *fn, int ndim, const void *sizes,
                   const char *what);

/* Check ndim and shape and compute numel; TG_EINVAL naming fn on failure. */
int tg__check_shape(const char *fn, int ndim, const int64_t *shape,
                    size_t elem_size, int64_t *numel);

/*
 * A tensor header and its values, in one allocation from t's arena, for a
 * shape already checked (numel is its element count). NULL, with
 * TG_ENOMEM naming fn, when there is no memory.
 */
tg_tensor *tg__tensor_place(const char *fn, tg_tape *t, tg_dtype dt,
                            int ndim, const int64_t *shape, int64_t numel);

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
/*
 * The matrix multiply tg__gemm_* uses on this thread, in words, for
 * benchmarks to print: "tapegrad AVX-512" (AVX2+FMA, portable C), or
 * "CBLAS (...)" in a build with meson -Dblas=enabled, where the
 * instruction set above only applies to products CBLAS cannot take.
 */
const char *tg__gemm_backend(void);

/*
 * ---- broadcasting (src/tensor/broadcast.c)
 *
 * NumPy's rule: align the shapes at their last dimension; two sizes agree
 * if they are equal or one of them is 1 (missing leading dims count as 1),
 * and the result takes the larger. Elementwise binary ops run a row kernel
 * over the result; their backward passes sum each input's gradient back
 * down to that input's shape.
 */

/*
 * The broadcast shape of a and b into *ndim and shape[TG_MAX_DIMS], or
 * TG_ESHAPE "FN: shapes (3,4) and (5,) do not broadcast" naming fn.
 */
int tg__broadcast_shape(const char *fn, const tg_tensor *a,
                        const tg_tensor *b, int *ndim, int64_t *shape);

/*
 * A row kernel writes m rows of n output elements (out is contiguous) from
 * up to four operands. Along a row, x[0] (a) and x[1] (b) advance by s[0]
 * and s[1] elements, each 0 (one value repeated along the row) or 1, and
 * from one row to the next by s[2] and s[3]; x[2] (g) and x[3] (y) are
 * laid out as out, or NULL when not given. p is the op's parameters.
 * TG__BCAST_ROW makes them.
 */
typedef void (*tg__row_fn)(int64_t m, int64_t n, void *out,
                           const void *const *x, const int64_t *s,
                           const void *p);

/*
 * Define a static row kernel `name` for element type T:
 * out[i] = F(a, b, g, y, p), with F a function-like macro of the elements.
 * Each stride case is its own loop over restrict parameters, so the common
 * ones (equal shapes; one side a scalar) are plain loops the compiler
 * vectorises, with no call per element or per row. F's unused arguments
 * are never read.
 */
#define TG__BCAST_LOOP(name, T, F, IA, IB)                                   \
    static void name(int64_t m, int64_t n, T *restrict o,                    \
                     const T *restrict a, const T *restrict b,               \
                     const T *restrict g, const T *restrict y,               \
                     int64_t ra, int64_t rb, const void *p)                  \
    {                                                                        \
        (void)a, (void)b, (void)g, (void)y, (void)p;                         \
        for (int64_t r = 0; r < m; r++) {                                    \
            int64_t ro = r * n, rao = r * ra, rbo = r * rb;                  \
            (void)rao, (void)rbo;                                            \
            for (int64_t i = 0; i < n; i++)                                  \
                o[ro + i] = F(a[rao + (IA)], b[rbo + (IB)], g[ro + i],       \
                              y[ro + i], p);                                 \
        }                                                                    \
    }
#define TG__BCAST_ROW(name, T, F)                                            \
    TG__BCAST_LOOP(name##_vv, T, F, i, i)                                    \
    TG__BCAST_LOOP(name##_sv, T, F, 0, i)                                    \
    TG__BCAST_LOOP(name##_vs, T, F, i, 0)                                    \
    TG__BCAST_LOOP(name##_ss, T, F, 0, 0)                                    \
    static void name(int64_t m, int64_t n, void *out, const void *const *x,  \
                     const int64_t *s, const void *p)                        \
    {                                                                        \
        if (s[0] == 1 && s[1] == 1)                                          \
            name##_vv(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
        else if (s[1] == 1)                                                  \
            name##_sv(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
        else if (s[0] == 1)                                                  \
            name##_vs(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
        else                                                                 \
            name##_ss(m, n, out, x[0], x[1], x[2], x[3], s[2], s[3], p);     \
    }

/*
 * Forward of a broadcasting binary op: a new tensor on t of the broadcast
 * shape with out = row[dtype](a, b, p). NULL after TG_ESHAPE (naming fn)
 * or TG_ENOMEM. a and b share a dtype (tg_apply checked).
 */
tg_tensor *tg__broadcast_binary(tg_tape *t, const char *fn,
                                const tg_tensor *a, const tg_tensor *b,
                                const tg__row_fn row[2], const void *p);

/*
 * Backward helper: write into gx (the shape of a or of b) the sum over the
 * broadcast dimensions of row[dtype](a, b, g, y, p), computed over y's
 * shape. When gx already has y's shape the row writes gx directly;
 * otherwise each tile of the row's results is summed as it is made, in
 * tg__sum_to's order, with only gx-sized double sums on t (f32). Returns
 * TG_OK or TG_ENOMEM.
 */
int tg__broadcast_grad(tg_tape *t, tg_tensor *gx, const tg_tensor *a,
                       const tg_tensor *b, const tg_tensor *g,
                       const tg_tensor *y, const tg__row_fn row[2],
                       const void *p);

/*
 * dst = src summed over the dimensions along which dst broadcasts to src's
 * shape (a plain copy when the shapes are equal). dst is written, never
 * added to. f32 sums accumulate in double (scratch on t). TG_OK, or
 * TG_ENOMEM.
 */
int tg__sum_to(tg_tape *t, tg_tensor *dst, const tg_tensor *src);

/* The elements of a and b (as doubles) that element i of y, their
 * broadcast result, was computed from: for piece functions. */
void tg__binary_values(const tg_tensor *a, const tg_tensor *b,
                       const tg_tensor *y, int64_t i, double *va, double *vb);

/*
 * ---- one axis of a tensor (src/tensor/axis.c)
 * Reductions, softmax and concat see a tensor around one axis as
 * (outer, n, inner): outer blocks of n slices of inner contiguous values.
 * A lane is the n values x[o, :, i]; lane j = o * inner + i starts at
 * o * n * inner + i and steps by inner. Reducing lane j gives output
 * element j, so a reduction's output is already in lane order. Values are
 * read and written as double through tg__get and tg__set.
 */
typedef struct tg__lanes {
    int64_t outer, n, inner;
} tg__lanes;

/* The params of every op that takes one axis (sum_axis, softmax, concat). */
typedef struct tg__axis_params {
    int axis;                /* may count from the end: -1 is the last */
    bool keepdim;            /* reductions: keep the axis with size 1 */
} tg__axis_params;

static inline double tg__get(const tg_tensor *x, int64_t i)
{
    return x->dtype == TG_F32 ? (double)((const float *)x->data)[i]
                              : ((const double *)x->data)[i];
}

static inline void tg__set(tg_tensor *x, int64_t i, double v)
{
    if (x->dtype == TG_F32)
        ((float *)x->data)[i] = (float)v;
    else
        ((double *)x->data)[i] = v;
}

/* Where lane j starts in the data; its element k is at base + k * inner. */
static inline int64_t tg__lane_base(const tg__lanes *l, int64_t j)
{
    return (j / l->inner) * l->n * l->inner + j % l->inner;
}

/*
 * Turn axis (negative counts from the end, as PyTorch; a scalar accepts 0
 * and -1) into 0..ndim-1 in *out. TG_EINVAL naming fn and x's shape when
 * it is out of range.
 */
int tg__axis_resolve(const char *fn, const tg_tensor *x, int axis, int *out);

/* x's lanes around a resolved axis; and one lane of all its elements. */
tg__lanes tg__lanes_around(const tg_tensor *x, int axis);
tg__lanes tg__lanes_all(const tg_tensor *x);

/* x's shape without the resolved axis (or with it as 1 if keepdim) into
 * shape; returns the number of dims. */
int tg__reduced_shape(const tg_tensor *x, int axis, bool keepdim,
                      int64_t *shape);

/*
 * For a reduction op: its lanes and its (uninitialised) output. c->params
 * is a tg__axis_params for the _axis ops and NULL for those that reduce
 * every element to a scalar. NULL, with TG_EINVAL for a bad axis, or
 * TG_ENOMEM. tg__reduction_lanes gives backward the same lanes.
 */
tg_tensor *tg__reduction_begin(tg_op_ctx *c, tg__lanes *l);
tg__lanes tg__reduction_lanes(const tg_op_ctx *c);

/* Lane j summed in double, pairwise (error grows with log n). */
double tg__lane_sum(const tg_tensor *x, const tg__lanes *l, int64_t j);

/*
 * The position in lane j of its largest (want_max) or smallest value: the
 * first one, and the first NaN if there is one (NaN wins, as PyTorch).
 * *ties counts the elements equal to it (NaNs, for a NaN).
 */
int64_t tg__lane_arg(const tg_tensor *x, const tg__lanes *l, int64_t j,
                     bool want_max, int64_t *ties);

/* The largest value of lane j, or NaN if it holds one (one pass). */
double tg__lane_max(const tg_tensor *x, const tg__lanes *l, int64_t j);

/*
 * The gradient of lane j's max (want_max) or min, given g, the upstream
 * gradient of that one value: written into lane j of gx, which is zero
 * except at the extreme. split_ties shares g evenly among all elements
 * equal to it (PyTorch's max() and amax); otherwise the first one gets all
 * of g (PyTorch's max(dim)).
 */
void tg__lane_select_grad(tg_tensor *gx, const tg_tensor *x,
                          const tg__lanes *l, int64_t j, bool want_max,
                          bool split_ties, double g);

/* log(sum(exp(lane j))), shifted by the lane's max so it cannot overflow;
 * an infinite max shifts by 0 instead (all -inf gives -inf). */
double tg__lane_logsumexp(const tg_tensor *x, const tg__lanes *l, int64_t j);

/*
 * Lane j's largest value m (NaN if it holds one) and s = sum(exp(v - m)),
 * computed as PyTorch's softmax does: no special case for an infinite m,
 * so a lane of all -inf, or holding +inf, gives NaN downstream as there.
 */
void tg__lane_softmax_stats(const tg_tensor *x, const tg__lanes *l,
                            int64_t j, double *m, double *s);

/*
 * Contiguous f32 lanes (src/tensor/lane_f32.c): the softmax family's lane
 * loops typed and vectorised, exp from exp_f32.h. tg__lane_f32 says when
 * a lane of x may take them: f32 values, the lane's elements adjacent.
 */
static inline bool tg__lane_f32(const tg_tensor *x, const tg__lanes *l)
{
    return x->dtype == TG_F32 && l->inner == 1;
}
double tg__f32_max(const float *x, int64_t n);
double tg__f32_sum_exp(const float *x, int64_t n, double shift);
double tg__f32_exp_into(float *y, const float *x, int64_t n, double shift);
double tg__f32_dot(const float *a, const float *b, int64_t n);
void tg__f32_scaled_exp(float *y, const float *x, int64_t n, double a,
                        double shift);
void tg__f32_scale(float *y, int64_t n, double a);
void tg__f32_shift_into(float *y, const float *x, int64_t n, double a,
                        double b);

/* Set every element of lane j to v. */
void tg__lane_fill(tg_tensor *x, const tg__lanes *l, int64_t j, double v);

/*
 * ---- moving dims around (src/tensor/permute.c)
 * y = x with its dims reordered: y's dim d is x's dim perm[d], so y must
 * have shape (x.shape[perm[0]], x.shape[perm[1]], ...) and x's dtype.
 * perm is a permutation of 0..ndim-1 (checked by the caller). Transposes
 * and permutes, forward and backward, all copy through this one routine.
 */
void tg__permute_copy(const tg_tensor *x, const int *perm, tg_tensor *y);

/*
 * ---- threads (src/tensor/pool.c)
 * TG__THREADS is 1 when the library is built with its thread pool (the
 * meson option threads); without it everything runs on the caller's
 * thread.
 */
#ifndef TG__THREADS
#define TG__THREADS 0
#endif
#define TG__MAX_THREADS 64

typedef void (*tg__range_fn)(void *ctx, int64_t begin, int64_t end);

/*
 * fn(ctx, begin, end) over consecutive parts that cover [0, n), run on up
 * to tg_num_threads() threads (the caller's among them); returns when all
 * parts are done. Every part but the last starts at a multiple of align
 * and is about min_part long or more, so a range shorter than 2 min_part
 * is one call on the calling thread. Parts must write disjoint memory, and
 * what each element gets must not depend on where the range was cut: then
 * results are the same, bit for bit, for any number of threads.
 */
void tg__parallel_for(int64_t n, int64_t align, int64_t min_part,
                      tg__range_fn fn, void *ctx);

/* Elementwise loops are cut into parts of at least this many elements:
 * below that, waking a thread costs more than it saves. */
#define TG__ELEMENTWISE_PART ((int64_t)1 << 16)

/* ---- autograd (src/autograd/tape.c) */
int tg__record(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n,
               tg_tensor *out, const void *params, void *saved);
/* TG_ESTATE naming fn and the op if an input of entry e was freed since. */
int tg__entry_check_inputs(const tg__entry *e, const char *fn);

/* ---- gradient bookkeeping (src/autograd/grad.c) */

/* x's gradient buffer, made on x's tape (and STALE) if missing. */
tg_tensor *tg__grad_buffer(tg_tensor *x);

/*
 * A gradient kept as one value (g->uniform, see tg_grad_fill) written out
 * into every element; nothing happens to any other tensor. The public
 * accessors (tg_grad, tg_data_f32 ...) do this before handing out
 * elements, and backward before an op without TG_OP_UNIFORM_GRAD reads
 * its gy.
 */
void tg__grad_materialize(tg_tensor *g);

/*
 * A gradient buffer g is about to be read (or written) element by element
 * through the public API: make its elements what its state says. A STALE
 * gradient (an earlier pass's, or one tg_zero_grad cleared without
 * writing) reads as zeros, so they are written now; a uniform one is
 * written out. Any other tensor is left alone.
 */
void tg__grad_prepare(const tg_tensor *g);

/* Start a pass: every intermediate's gradient holds nothing yet. */
void tg__grad_begin_pass(tg_tape *t);
/* d root / d root = 1, added to what a leaf root holds; TG_ENOMEM. */
int tg__grad_seed(tg_tensor *root);
/* Whether backward has given x a gradient in this pass. */
bool tg__grad_reached(const tg_tensor *x);
/* d root / d out for entry e's backward: written out unless the op reads
 * uniform gradients (TG_OP_UNIFORM_GRAD). */
const tg_tensor *tg__grad_of_output(const tg__entry *e);

/*
 * Where an entry's backward writes each input's gradient: gx[i] is the
 * input's own gradient buffer when it holds nothing yet (direct), a
 * scratch tensor added in afterwards when it does, or NULL when the input
 * needs no gradient.
 */
#define TG__FEW_INPUTS 8
typedef struct tg__slots {
    tg_tensor **gx;
    bool *direct;
    tg_tensor *gx_few[TG__FEW_INPUTS];
    bool direct_few[TG__FEW_INPUTS];
} tg__slots;
int tg__grad_slots(tg_tape *t, const tg__entry *e, tg__slots *s);
/* Add the scratch slots into the inputs' gradients. */
void tg__grad_accumulate(const tg__entry *e, const tg__slots *s);

/* ---- looking inside (src/autograd/inspect.c) */

/* "x (3,4) f32" or "relu#2 (3,4) f32": how traces name a tensor. */
void tg__describe(const tg_tensor *x, char *buf, size_t n);
/* The values of x in full if small, else min / mean / max. */
void tg__summarise(const tg_tensor *x, char *buf, size_t n);
/* Backward's trace of one entry (if tracing), before (gx NULL) and after
 * its backward ran. */
void tg__trace_entry(const tg_tape *t, int64_t k, const tg__entry *e,
                     tg_tensor *const *slot);
/* Anomaly mode (if on): TG_ENUMERIC if a gradient the backward of entry k
 * wrote into gx holds a NaN or an infinity. */
int tg__check_gradients(const tg_tape *t, int64_t k, const tg__entry *e,
                        tg_tensor *const *gx);
/* An op's backward returned rc != TG_OK: rc, with a message naming the op
 * if the backward set none since errors was tg__error_count(). */
int tg__backward_failed(const tg_op *op, int rc, unsigned long errors);
/* Anomaly mode: TG_ENUMERIC naming the op, its entry and the input shapes
 * if x holds a NaN or an infinity. what is "output" or "gradient of input 0". */
int tg__check_finite(const tg_tape *t, const tg_op *op, int64_t k,
                     tg_tensor *const *in, int n, const tg_tensor *x,
                     const char *what);

/* ---- backward_ops of axis ops (src/ops/axis_ops.c) */

/* g with the reduced axis of c's op put back as size 1 (so that it
 * broadcasts against the input); g itself for whole reductions and
 * keepdim. NULL with the error (naming fn) on failure. */
tg_tensor *tg__with_axis_kept(tg_op_ctx *c, tg_tensor *g, const char *fn);
/* For a selection op (max, min): what its backward gives the input for a
 * gradient of ones, a constant mask of which elements were selected (ties
 * shared as backward shares them). */
tg_tensor *tg__select_mask(tg_op_ctx *c, const tg_tensor *y);

/* ---- what tg_apply checks (src/autograd/call_checks.c) */

/* TG_EINVAL naming fn unless op has a name, both functions, an arity. */
int tg__check_op(const char *fn, const tg_op *op);
/*
 * A valid op, a tape, the right number of inputs, none NULL or stale, one
 * dtype. The message names the op's call ("tg_relu"); it is only built on
 * failure, since this runs on every op call.
 */
int tg__check_call(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n);
/* *copy = op->params_size bytes of params on t (NULL for none). */
int tg__copy_params(tg_tape *t, const tg_op *op, const void *params,
                    void **copy);
/* What forward returned: a new tensor on c->tape (finite in anomaly
 * mode); a NULL is reported naming the op. errors: tg__error_count()
 * before forward ran. */
int tg__check_output(const tg_op_ctx *c, const tg_tensor *out,
                     unsigned long errors);
bool tg__any_requires_grad(tg_tensor *const *in, int n);

#endif /* TG_INTERNAL_H */
