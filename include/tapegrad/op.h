/*
 * tapegrad/op.h — define your own op exactly as the built-in ones are.
 *
 * An op is a constant struct: a name, an arity, a forward function that
 * makes the output and a backward function that turns the output's
 * gradient into the inputs' gradients. src/ops/relu.c is the worked
 * example; docs/adding-an-op.md walks through writing one.
 *
 *     // f64 only, to stay short: a real op handles TG_F32 too.
 *     static tg_tensor *square_forward(tg_op_ctx *c) {
 *         const double *x = tg_data_f64(c->in[0]);
 *         tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
 *         if (x == NULL || y == NULL)
 *             return NULL;
 *         double *yv = tg_mut_f64(y);
 *         for (int64_t i = 0; i < tg_numel(y); i++)
 *             yv[i] = x[i] * x[i];                    // y = x * x
 *         return y;
 *     }
 *     static int square_backward(tg_op_ctx *c, const tg_tensor *y,
 *                                const tg_tensor *gy, tg_tensor *const *gx) {
 *         const double *x = tg_data_f64(c->in[0]), *g = tg_data_f64(gy);
 *         if (gx[0] == NULL)
 *             return 0;                               // x needs no gradient
 *         double *gxv = tg_mut_f64(gx[0]);
 *         for (int64_t i = 0; i < tg_numel(y); i++)
 *             gxv[i] = 2 * x[i] * g[i];               // gx = 2 x gy
 *         return 0;
 *     }
 *     static const tg_op square = {
 *         .name = "square", .arity = 1,
 *         .forward = square_forward, .backward = square_backward,
 *     };
 *     tg_op_register(&square);
 *     tg_tensor *x = tg_linspace(t, TG_F64, -1.0, 1.0, 5);
 *     tg_tensor *y = tg_apply(t, tg_op_find("square"), 1, &x, NULL);
 */
#ifndef TAPEGRAD_OP_H
#define TAPEGRAD_OP_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_op tg_op;

/*
 * What an op's functions are given: the tape the output goes on, the
 * inputs, the parameters and a slot for state saved by forward for
 * backward. The same context (with the same saved pointer) reaches
 * backward. Inputs are never NULL and all share one dtype: tg_apply checks.
 */
typedef struct tg_op_ctx {
    tg_tape *tape;          /* where the output (and anything saved) lives */
    const tg_op *op;        /* the op being run */
    tg_tensor *const *in;   /* the n inputs */
    int n;
    const void *params;     /* a copy of the caller's params, or NULL */
    void *saved;            /* forward may set it, e.g. with tg_tape_alloc */
} tg_op_ctx;

/*
 * forward: check the inputs and params, make the output on c->tape (with
 * tg_empty or tg_zeros) and fill it. On bad input call tg_set_error naming
 * the op and the shapes, and return NULL. The output must be a tensor
 * this forward made: tg_apply refuses (TG_EINVAL) an input, a tensor of
 * another tape, or one that existed before the call (a leaf, an earlier
 * result), which recording would turn into this op's output. Its shape
 * and dtype are the op's choice; backward gets gy shaped like it.
 */
typedef tg_tensor *(*tg_forward_fn)(tg_op_ctx *c);

/*
 * backward: given y (the output forward made) and gy = d root / d y (same
 * shape as y), write d root / d in[i] into gx[i], which has in[i]'s shape
 * and dtype. gx[i] is NULL where input i needs no gradient. Overwrite
 * gx[i] rather than adding to it: the tape adds it to what is already
 * there. Return 0, or a negative status after tg_set_error.
 */
typedef int (*tg_backward_fn)(tg_op_ctx *c, const tg_tensor *y,
                              const tg_tensor *gy, tg_tensor *const *gx);

/*
 * backward_ops (optional, but needed to differentiate a gradient): the
 * same derivative as backward, written with ops on c->tape, so that the
 * gradient it makes has a history of its own when the tape records, and
 * can be differentiated again (tg_vjp with create_graph). gy = d root / d y
 * is a tensor that may have a history itself. For each input i with
 * want[i], set gx[i] to d root / d in[i], a tensor of in[i]'s shape and
 * dtype made by ops (relu: gx[0] = gy * (x > 0)); leave the others NULL.
 * Return 0, or a negative status after tg_set_error. An op without it
 * still works at first order everywhere.
 */
typedef int (*tg_backward_ops_fn)(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                  const bool *want, tg_tensor **gx);

/* In a backward_ops: TG_OK if x (an op's result) is there, else the
 * status of the error that made it NULL. */
static inline int tg_made(const tg_tensor *x)
{
    return x != NULL ? TG_OK : tg_last_status();
}

/*
 * piece (optional): for ops that are not smooth everywhere. Returns which
 * smooth piece of the op output element i was computed on, as a number
 * >= 0 (relu: 1 where x > 0, 0 where x < 0; max: the arg position), or
 * TG_ON_KINK when the input sits exactly on a non-smooth point. Gradient
 * checks use it: an element whose finite-difference step moves some op to
 * another piece is reported as ambiguous rather than wrong. NULL for ops
 * that are smooth everywhere.
 */
typedef int64_t (*tg_piece_fn)(const tg_op_ctx *c, const tg_tensor *y,
                               int64_t i);
#define TG_ON_KINK ((int64_t)-1)

/*
 * flags (optional): TG_OP_UNIFORM_GRAD says that backward asks
 * tg_grad_uniform(gy, &g) before reading gy, and handles the answer "gy is
 * g everywhere" without reading gy's elements. Without the flag, gy always
 * holds every value (the tape writes them out first if needed).
 */
#define TG_OP_UNIFORM_GRAD 1u

struct tg_op {
    const char *name;        /* unique; also what error messages say */
    int arity;               /* number of inputs; -1 for any number >= 1 */
    size_t params_size;      /* bytes tg_apply copies from params; 0 for none */
    tg_forward_fn forward;
    tg_backward_fn backward;
    tg_piece_fn piece;       /* NULL: smooth everywhere */
    unsigned flags;          /* TG_OP_UNIFORM_GRAD or 0 */
    tg_backward_ops_fn backward_ops; /* NULL: no gradients of gradients */
};

/*
 * In a backward: set every element of gx (one of the gradients the tape
 * handed over) to value. The tape may keep it as that one number and
 * write the elements out only if something reads them, which saves a pass
 * over memory when the next op back only needs the number: the gradient
 * of a sum is such a gradient, and relu's backward such a reader. On any
 * other tensor it simply writes every element.
 * Errors: TG_EINVAL for NULL, TG_ESTATE for a tensor freed by a reset.
 */
TG_API int tg_grad_fill(tg_tensor *gx, double value);

/*
 * In a backward: whether gy is known to be one value everywhere without
 * its elements having been written (then *value is that value, and gy's
 * elements must not be read). Only ops with TG_OP_UNIFORM_GRAD are ever
 * handed such a gy; false for anything else, or NULL.
 */
TG_API bool tg_grad_uniform(const tg_tensor *gy, double *value);

/*
 * Element i of x (row-major order) as a double, for piece functions and
 * other code that reads a few values of either dtype. NaN, with TG_EINVAL
 * for a NULL x or i outside 0..numel-1 and TG_ESTATE for a stale x.
 */
TG_API double tg_value_at(const tg_tensor *x, int64_t i);

/*
 * The sum of all of x's elements, as a number (nothing is recorded):
 * what the sum op computes, for ops that reduce. f32 values are added in
 * double in 32 independent partial sums, within 2^-23 * sum |x[i]| of the
 * exact sum; f64 values pairwise. NaN, with the error set, for a NULL or
 * stale x.
 */
TG_API double tg_sum_value(const tg_tensor *x);

/*
 * Run op on inputs in[0..n-1] with params (params_size bytes are copied,
 * so the caller's struct may go away). The output belongs to t, whatever
 * tapes the inputs came from. If t has grad enabled and an input requires
 * grad, an entry is recorded and the output requires grad.
 * Errors (NULL returned): a NULL input (the earlier failure's status and
 * message are kept), TG_EINVAL for a wrong count or a stale tensor, TG_EDTYPE for
 * inputs of different dtypes, and whatever forward reports.
 */
TG_API tg_tensor *tg_apply(tg_tape *t, const tg_op *op, int n,
                           tg_tensor *const *in, const void *params);

/*
 * Make op findable by name with tg_op_find. op must outlive every use (a
 * static const struct is the usual choice); it is not copied. Register at
 * init time: registration is serialised and safe against concurrent
 * lookups, but an op cannot be unregistered.
 * Errors: TG_EINVAL (NULL, no name, no forward or backward, bad arity),
 * TG_EEXIST (the name is taken), TG_ENOMEM (the registry is full).
 */
TG_API int tg_op_register(const tg_op *op);

/* The built-in or registered op with that name, or NULL (TG_ENOTFOUND). */
TG_API const tg_op *tg_op_find(const char *name);

/* Number of known ops (built-in first, then registered), and the i-th. */
TG_API int tg_op_count(void);
TG_API const tg_op *tg_op_at(int i);

/*
 * Memory for an op's saved state: size bytes aligned to 64, owned by t and
 * freed with it (never free it yourself). NULL and TG_ENOMEM on failure.
 */
TG_API void *tg_tape_alloc(tg_tape *t, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_OP_H */
