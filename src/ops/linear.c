/*
 * linear.c — a fully connected layer as one op.
 *
 *     y = x W^T + b           x: (..., in)  W: (out, in)  b: (out,)
 *     d/dx = gy W             (..., out) @ (out, in)
 *     d/dW = gy^T x           summed over the batch: (out, N) @ (N, in)
 *     d/db = sum of gy over the batch
 *
 * It is matmul, transpose and a broadcast add fused into one op, because
 * this is where tiny networks spend their time: the matrix products run
 * through the gemm kernel with transpose flags, so neither W^T nor any
 * gradient is ever materialised as a transposed copy; the bias add and
 * the bias gradient run inside them, block by block (bias_pass below).
 *
 * Two fused forms (linear_fused.h), for tg_sequential_forward and
 * tg_mlp_forward, run the layers around a product inside its split call
 * as well, so that the calling thread does not pass over the output alone
 * between two split calls:
 *     flat: x is (N, ...) and is read as (N, in), the rows a flatten
 *           from axis 1 would copy out (x is row-major, so they are x's
 *           own memory): linear(flatten(x, 1)) without the copy, forward
 *           or back;
 *     relu: y = relu(x W^T + b), the relu applied to each block of y
 *           right after its bias; backward masks gy where y <= 0 (y <= 0
 *           exactly where x W^T + b <= 0, NaN passes), then runs linear's.
 * Each gives the same bits as the ops it stands for.
 */
#include "tapegrad/ops.h"

#include "hot.h"
#include "ops/builtin.h"
#include "ops/linear_fused.h"
#include "tensor/element.h"
#include "tensor/gemm.h"
#include "tensor/tensor_struct.h"

#include <string.h>

/* Which fused form runs: tg_linear passes none (NULL params). */
typedef struct linear_form {
    bool flat, relu;
} linear_form;

static const linear_form plain = {false, false};

static const linear_form *form_of(const tg_op_ctx *c)
{
    return c->params ? c->params : &plain;
}

/* The rows of x as linear reads it: all axes but the last, or (flat) the
 * first alone. */
static int64_t batch_of(const tg_tensor *x, const linear_form *f)
{
    return f->flat ? tg_shape(x)[0]
                   : tg_numel(x) / tg_shape(x)[tg_ndim(x) - 1];
}

/* The flat form's x: (N, ...) whose rows hold in = W's columns. */
static int check_flat(const tg_tensor *x, const tg_tensor *w)
{
    char sx[96], sw[96];
    if (tg_ndim(x) < 2 || tg_ndim(w) != 2 ||
        tg_numel(x) != tg_shape(x)[0] * tg_shape(w)[1])
        return tg_set_error(TG_ESHAPE, "tg_linear: x %s flattened from "
                            "axis 1 and W %s do not match",
                            tg_shape_str(x, sx, sizeof sx),
                            tg_shape_str(w, sw, sizeof sw));
    return TG_OK;
}

static int check_shapes(tg_tensor *const *in, int n, const linear_form *f)
{
    const tg_tensor *x = in[0], *w = in[1];
    char sx[96], sw[96], sb[96]; /* formatted on failure only */
    if (n != 2 && n != 3)
        return tg_set_error(TG_EINVAL, "tg_linear: takes x, W and an "
                            "optional b, got %d inputs", n);
    if (f->flat && check_flat(x, w) != TG_OK)
        return TG_ESHAPE;
    if (!f->flat && (tg_ndim(x) < 1 || tg_ndim(w) != 2 ||
        tg_shape(x)[tg_ndim(x) - 1] != tg_shape(w)[1]))
        return tg_set_error(TG_ESHAPE, "tg_linear: x %s and W %s do not "
                            "match: W must be (out, in) with in = x's last "
                            "size", tg_shape_str(x, sx, sizeof sx),
                            tg_shape_str(w, sw, sizeof sw));
    if (n == 3 && (tg_ndim(in[2]) != 1 || tg_shape(in[2])[0] != tg_shape(w)[0]))
        return tg_set_error(TG_ESHAPE, "tg_linear: b %s must be (%lld,) for W "
                            "%s", tg_shape_str(in[2], sb, sizeof sb),
                            (long long)tg_shape(w)[0],
                            tg_shape_str(w, sw, sizeof sw));
    return TG_OK;
}

/* y[i * ld + j] += b[j] for rows i < rows, columns j < cols. */
TG__HOT static void add_bias_f32(float *restrict y, const float *restrict b,
                                 int64_t rows, int64_t ld, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            y[i * ld + j] += b[j];
}

TG__HOT static void add_bias_f64(double *restrict y, const double *restrict b,
                                 int64_t rows, int64_t ld, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            y[i * ld + j] += b[j];
}

/*
 * The bias passes run inside the products (tg__gemm_f32_then), on each
 * block of the output as soon as the thread that computed it is done:
 * on two threads, half the pass on each, instead of the whole pass on
 * the caller's thread after the product. Each element gets the same
 * additions in the same order wherever the blocks fall, so the results
 * do not depend on the thread count.
 */
typedef struct bias_pass {
    void *out;       /* y (forward) or db (backward) */
    const void *in;  /* b (forward) or gy (backward); NULL: no bias */
    int64_t nb, out_n; /* rows of the batch; outputs per row */
    bool f64;
    bool relu;       /* forward: then y = relu(y) (the relu form) */
} bias_pass;

/* y[i * ld + j] = relu(y[i * ld + j]) as relu.c computes it: testing
 * y < 0 keeps NaN and -0.0 as they are. */
TG__HOT static void relu_rows_f32(float *restrict y, int64_t rows, int64_t ld,
                                  int64_t cols)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            y[i * ld + j] = y[i * ld + j] < 0 ? 0 : y[i * ld + j];
}

TG__HOT static void relu_rows_f64(double *restrict y, int64_t rows,
                                  int64_t ld, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            y[i * ld + j] = y[i * ld + j] < 0 ? 0 : y[i * ld + j];
}

/* Forward, after y = x W^T: y += b on rows [begin, end) of y, or on its
 * columns [begin, end) of every row; then the relu form's relu there. */
static void add_bias_block(void *ctx, bool by_rows, int64_t begin,
                           int64_t end)
{
    const bias_pass *p = ctx;
    int64_t rows = by_rows ? end - begin : p->nb;
    int64_t at = by_rows ? begin * p->out_n : begin;  /* in y */
    int64_t b_at = by_rows ? 0 : begin;               /* in b */
    int64_t cols = by_rows ? p->out_n : end - begin;
    if (p->in != NULL && p->f64)
        add_bias_f64((double *)p->out + at, (const double *)p->in + b_at,
                     rows, p->out_n, cols);
    else if (p->in != NULL)
        add_bias_f32((float *)p->out + at, (const float *)p->in + b_at,
                     rows, p->out_n, cols);
    if (p->relu && p->f64)
        relu_rows_f64((double *)p->out + at, rows, p->out_n, cols);
    else if (p->relu)
        relu_rows_f32((float *)p->out + at, rows, p->out_n, cols);
}

static tg_tensor *linear_forward(tg_op_ctx *c)
{
    const linear_form *f = form_of(c);
    if (check_shapes(c->in, c->n, f) != TG_OK)
        return NULL;
    const tg_tensor *x = c->in[0], *w = c->in[1];
    int64_t nb = batch_of(x, f), in = tg_shape(w)[1], out = tg_shape(w)[0];
    int64_t shape[TG_MAX_DIMS] = {nb, out}; /* (N, out) when flat */
    int ndim = f->flat ? 2 : tg_ndim(x);
    if (!f->flat) {
        memcpy(shape, tg_shape(x), (size_t)ndim * sizeof *shape);
        shape[ndim - 1] = out;
    }
    tg_tensor *y = tg_empty(c->tape, tg_dtype_of(x), ndim, shape);
    if (y == NULL)
        return NULL;
    bool f64 = tg_dtype_of(x) == TG_F64;
    bias_pass bp = {f64 ? (void *)tg_mut_f64(y) : (void *)tg_mut_f32(y),
                    c->n == 3 ? c->in[2]->data : NULL, nb, out, f64, f->relu};
    tg__gemm_then_fn then = c->n == 3 || f->relu ? add_bias_block : NULL;
    if (!f64)
        tg__gemm_f32_then(false, true, nb, out, in, tg_data_f32(x), in,
                          tg_data_f32(w), in, 0.0f, bp.out, out, then, &bp);
    else
        tg__gemm_f64_then(false, true, nb, out, in, tg_data_f64(x), in,
                          tg_data_f64(w), in, 0.0, bp.out, out, then, &bp);
    return y;
}

/* db[j] = sum over the batch of gy[i * ld + j] (j < cols), row after row
 * (TG__HOT: across j in the widest vectors; each db[j] is summed in the
 * same order in every clone and for any block of columns). */
TG__HOT static void bias_gradient_f32(const float *restrict g,
                                      float *restrict db, int64_t nb,
                                      int64_t ld, int64_t cols)
{
    for (int64_t j = 0; j < cols; j++)
        db[j] = 0;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < cols; j++)
            db[j] += g[i * ld + j];
}

TG__HOT static void bias_gradient_f64(const double *restrict g,
                                      double *restrict db, int64_t nb,
                                      int64_t ld, int64_t cols)
{
    for (int64_t j = 0; j < cols; j++)
        db[j] = 0;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < cols; j++)
            db[j] += g[i * ld + j];
}

/* db[begin, end) from gy's columns [begin, end). */
static void bias_gradient(const bias_pass *p, int64_t begin, int64_t end)
{
    if (p->f64)
        bias_gradient_f64((const double *)p->in + begin,
                          (double *)p->out + begin, p->nb, p->out_n,
                          end - begin);
    else
        bias_gradient_f32((const float *)p->in + begin,
                          (float *)p->out + begin, p->nb, p->out_n,
                          end - begin);
}

/* Backward, after a block of dW = gy^T x: dW's rows are the outputs, so a
 * block of rows [begin, end) takes db[begin, end); cut by columns (the
 * inputs), the block that starts at 0 takes all of db. */
static void bias_gradient_block(void *ctx, bool by_rows, int64_t begin,
                                int64_t end)
{
    const bias_pass *p = ctx;
    if (by_rows)
        bias_gradient(p, begin, end);
    else if (begin == 0)
        bias_gradient(p, 0, p->out_n);
}

/* g[i] = gy[i] where y[i] > 0 (or NaN), else 0: relu.c's backward. */
TG__HOT static void relu_mask_f32(float *restrict g, const float *restrict y,
                                  const float *restrict gy, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        g[i] = y[i] <= 0 ? 0 : gy[i];
}

TG__HOT static void relu_mask_f64(double *restrict g,
                                  const double *restrict y,
                                  const double *restrict gy, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        g[i] = y[i] <= 0 ? 0 : gy[i];
}

/* The relu form's gradient of x W^T + b (y <= 0 exactly where it is),
 * into memory on the tape; NULL when that runs out. */
static const void *relu_masked(tg_op_ctx *c, const tg_tensor *y,
                               const tg_tensor *gy)
{
    int64_t n = tg_numel(y);
    bool f64 = tg_dtype_of(y) == TG_F64;
    void *g = tg_tape_alloc(c->tape, (size_t)n * (f64 ? 8 : 4));
    if (g != NULL && f64)
        relu_mask_f64(g, y->data, gy->data, n);
    else if (g != NULL)
        relu_mask_f32(g, y->data, gy->data, n);
    return g;
}

static int linear_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    const linear_form *f = form_of(c);
    const tg_tensor *x = c->in[0], *w = c->in[1];
    int64_t nb = batch_of(x, f), in = tg_shape(w)[1], out = tg_shape(w)[0];
    bool f64 = tg_dtype_of(x) == TG_F64;
    bool db = c->n == 3 && gx[2];
    const void *g = f->relu ? relu_masked(c, y, gy) : gy->data;
    if (g == NULL)
        return tg_last_status();
    bias_pass bp = {db ? gx[2]->data : NULL, g, nb, out, f64, false};
    /* dx = gy W and dW = gy^T x (with db beside it): side by side on two
     * threads when each is too small to be cut alone (tg__gemm_pair). */
    tg__gemm_job dx = {.ta = false, .tb = false, .f64 = f64, .m = nb,
                       .n = in, .k = out, .A = g, .lda = out,
                       .B = w->data, .ldb = in,
                       .C = gx[0] ? gx[0]->data : NULL, .ldc = in};
    tg__gemm_job dw = {.ta = true, .tb = false, .f64 = f64, .m = out,
                       .n = in, .k = nb, .A = g, .lda = out,
                       .B = x->data, .ldb = in,
                       .C = gx[1] ? gx[1]->data : NULL, .ldc = in,
                       .then = db ? bias_gradient_block : NULL,
                       .then_ctx = &bp};
    if (gx[0] && gx[1])
        tg__gemm_pair(&dx, &dw);
    else if (gx[0] || gx[1])
        tg__gemm_pair(gx[0] ? &dx : &dw, NULL);
    if (db && !gx[1]) /* db alone when W needs no gradient */
        bias_gradient(&bp, 0, out);
    return TG_OK;
}

/* The relu form's relu'(x W^T + b) as a constant tensor: 1 where y > 0
 * (or NaN), else 0. relu'' = 0, so gy times it is exact to every order. */
static tg_tensor *relu_slope(tg_tape *t, const tg_tensor *y)
{
    tg_tensor *s = tg_empty(t, tg_dtype_of(y), tg_ndim(y), tg_shape(y));
    if (s == NULL)
        return NULL;
    for (int64_t i = 0; i < tg_numel(y); i++)
        tg__set(s, i, tg__get(y, i) <= 0 ? 0.0 : 1.0);
    return s;
}

/*
 * The same derivative with ops: gy W for x; gy^T x for W and the sum of gy
 * for b, each over the batch (x and gy seen as (N, in) and (N, out)); the
 * relu form first multiplies gy by relu's slope.
 */
static int linear_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx)
{
    const linear_form *f = form_of(c);
    tg_tape *t = c->tape;
    tg_tensor *x = c->in[0], *w = c->in[1];
    int64_t out = tg_shape(w)[0], in = tg_shape(w)[1];
    int64_t n = batch_of(x, f), g2[2] = {n, out}, x2[2] = {n, in};
    if (f->relu && (gy = tg_mul(t, gy, relu_slope(t, y))) == NULL)
        return tg_last_status();
    tg_tensor *g = tg__reshape_if_needed(t, gy, 2, g2);
    if (want[0] && (gx[0] = tg__reshape_if_needed(t, tg_matmul(t, g, w),
                                                  tg_ndim(x), tg_shape(x))) ==
                       NULL)
        return tg_last_status();
    if (want[1] &&
        (gx[1] = tg_matmul(t, tg_transpose(t, g),
                           tg__reshape_if_needed(t, x, 2, x2))) == NULL)
        return tg_last_status();
    if (c->n == 3 && want[2] && (gx[2] = tg_sum_axis(t, g, 0, false)) == NULL)
        return tg_last_status();
    return TG_OK;
}

const tg_op tg__op_linear = {
    .name = "linear",
    .arity = -1,
    .forward = linear_forward,
    .backward = linear_backward,
    .backward_ops = linear_backward_ops,
};

tg_tensor *tg_linear(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *b)
{
    tg_tensor *in[3] = {x, w, b};
    return tg_apply(t, &tg__op_linear, b ? 3 : 2, in, NULL);
}

/* For gradient checks (op.h): the relu form's output element i sits on
 * relu's piece 1 where it is above 0 (or NaN), else on piece 0; the kink
 * itself (x W^T + b exactly 0) reads as 0 too, since y cannot tell it
 * apart, but a step across it changes the piece, which is what a check
 * needs to call the element ambiguous. The other forms are smooth. */
static int64_t linear_piece(const tg_op_ctx *c, const tg_tensor *y,
                            int64_t i)
{
    return form_of(c)->relu && !(tg__get(y, i) <= 0) ? 1 : 0;
}

/* The fused forms: linear's functions with a linear_form as params (not
 * registered: an op of its own only in the graph's pictures). */
static const tg_op op_linear_fused = {
    .name = "linear_fused",
    .arity = -1,
    .params_size = sizeof(linear_form),
    .forward = linear_forward,
    .backward = linear_backward,
    .backward_ops = linear_backward_ops,
    .piece = linear_piece,
};

tg_tensor *tg__linear_fused(tg_tape *t, tg_tensor *x, tg_tensor *w,
                            tg_tensor *b, bool flat, bool relu)
{
    tg_tensor *in[3] = {x, w, b};
    linear_form f = {flat, relu};
    return tg_apply(t, &op_linear_fused, b ? 3 : 2, in, &f);
}
