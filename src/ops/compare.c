/*
 * compare.c — elementwise comparisons giving masks, with broadcasting.
 *
 *     gt(a, b) = 1 if a > b else 0      ge(a, b) = 1 if a >= b else 0
 *     lt(a, b) = 1 if a < b else 0      le(a, b) = 1 if a <= b else 0
 *     eq(a, b) = 1 if a == b else 0     ne(a, b) = 1 if a != b else 0
 *
 * The mask has the inputs' dtype and holds 1.0 and 0.0, so it multiplies
 * straight into arithmetic (relu's derivative is gy * gt(x, 0)); PyTorch
 * gives a bool tensor instead. NaN compares as IEEE 754 says: every
 * comparison with a NaN is false except ne, so ne(NaN, NaN) = 1; -0.0 and
 * +0.0 are equal.
 *
 * A mask is piecewise constant: its derivative is 0 wherever it exists and
 * undefined where a and b cross. So the entry points record nothing: the
 * mask never requires grad, and backward never reaches the inputs through
 * it (PyTorch's bool tensor cannot carry a gradient either). Run through
 * tg_apply by hand the op is recorded like any other; its backward then
 * sends back zeros, and its piece function puts a == b on a kink, so that
 * a gradient check reports an element whose step crosses it as ambiguous.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"
#include "tensor/error_internal.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <math.h>

/* One row kernel per comparison and dtype, out = (a OP b) as 1 or 0. */
#define GT(a, b, g, y, p) ((a) > (b))
#define GE(a, b, g, y, p) ((a) >= (b))
#define LT(a, b, g, y, p) ((a) < (b))
#define LE(a, b, g, y, p) ((a) <= (b))
#define EQ(a, b, g, y, p) ((a) == (b))
#define NE(a, b, g, y, p) ((a) != (b))

TG__BCAST_ROW(gt_f32, float, GT)
TG__BCAST_ROW(gt_f64, double, GT)
TG__BCAST_ROW(ge_f32, float, GE)
TG__BCAST_ROW(ge_f64, double, GE)
TG__BCAST_ROW(lt_f32, float, LT)
TG__BCAST_ROW(lt_f64, double, LT)
TG__BCAST_ROW(le_f32, float, LE)
TG__BCAST_ROW(le_f64, double, LE)
TG__BCAST_ROW(eq_f32, float, EQ)
TG__BCAST_ROW(eq_f64, double, EQ)
TG__BCAST_ROW(ne_f32, float, NE)
TG__BCAST_ROW(ne_f64, double, NE)

/* Forward: the mask over the broadcast shape, by one of the kernels. */
static tg_tensor *compare(tg_op_ctx *c, const char *fn, tg__row_fn f32,
                          tg__row_fn f64)
{
    const tg__row_fn rows[2] = {f32, f64};
    return tg__broadcast_binary(c->tape, fn, c->in[0], c->in[1], rows, NULL);
}

static tg_tensor *gt_forward(tg_op_ctx *c)
{
    return compare(c, "tg_gt", gt_f32, gt_f64);
}

static tg_tensor *ge_forward(tg_op_ctx *c)
{
    return compare(c, "tg_ge", ge_f32, ge_f64);
}

static tg_tensor *lt_forward(tg_op_ctx *c)
{
    return compare(c, "tg_lt", lt_f32, lt_f64);
}

static tg_tensor *le_forward(tg_op_ctx *c)
{
    return compare(c, "tg_le", le_f32, le_f64);
}

static tg_tensor *eq_forward(tg_op_ctx *c)
{
    return compare(c, "tg_eq", eq_f32, eq_f64);
}

static tg_tensor *ne_forward(tg_op_ctx *c)
{
    return compare(c, "tg_ne", ne_f32, ne_f64);
}

/* Backward sends nothing back: every input slot that wants a gradient
 * gets zeros (one value, which the tape need not write out). */
static int compare_backward(tg_op_ctx *c, const tg_tensor *y,
                            const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy;
    for (int i = 0; i < 2; i++)
        if (gx[i] != NULL && tg_grad_fill(gx[i], 0.0) != TG_OK)
            return tg_last_status();
    return TG_OK;
}

/* The same with ops: a mask is piecewise constant, so no input gets a
 * gradient; every gx stays NULL (none, as for an input that is unused). */
static int compare_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                                const bool *want, tg_tensor **gx)
{
    (void)c, (void)y, (void)gy, (void)want, (void)gx;
    return TG_OK;
}

/* Piece: the mask's value (2 when either side is NaN, where it cannot
 * change), and a == b on the kink, where the mask of every comparison
 * jumps. */
static int64_t compare_piece(const tg_op_ctx *c, const tg_tensor *y,
                             int64_t i)
{
    double a, b;
    tg__binary_values(c->in[0], c->in[1], y, i, &a, &b);
    if (isnan(a) || isnan(b))
        return 2;
    return a == b ? TG_ON_KINK : a > b ? 1 : 0;
}

/*
 * Run op on (a, b) with nothing recorded on t, whatever its grad setting:
 * the mask never requires grad.
 */
static tg_tensor *mask_apply(tg_tape *t, const tg_op *op, tg_tensor *a,
                             tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    bool on = tg_tape_grad_enabled(t);
    tg_tape_set_grad_enabled(t, false);
    tg_tensor *y = tg_apply(t, op, 2, in, NULL);
    tg_tape_set_grad_enabled(t, on);
    return y;
}

/* The same against a constant c, made a scalar of x's dtype. */
static tg_tensor *mask_apply_scalar(tg_tape *t, const tg_op *op,
                                    const char *fn, tg_tensor *x, double c)
{
    if (tg__check_read(fn, x) != TG_OK)
        return NULL;
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    tg_tensor *s = tg_scalar(t, tg_dtype_of(x), c);
    if (s == NULL) {
        tg__error_in(fn);
        return NULL;
    }
    return mask_apply(t, op, x, s);
}

const tg_op tg__op_gt = {.name = "gt", .arity = 2, .forward = gt_forward,
                          .backward = compare_backward,
                          .backward_ops = compare_backward_ops,
                          .piece = compare_piece};
const tg_op tg__op_ge = {.name = "ge", .arity = 2, .forward = ge_forward,
                          .backward = compare_backward,
                          .backward_ops = compare_backward_ops,
                          .piece = compare_piece};
const tg_op tg__op_lt = {.name = "lt", .arity = 2, .forward = lt_forward,
                          .backward = compare_backward,
                          .backward_ops = compare_backward_ops,
                          .piece = compare_piece};
const tg_op tg__op_le = {.name = "le", .arity = 2, .forward = le_forward,
                          .backward = compare_backward,
                          .backward_ops = compare_backward_ops,
                          .piece = compare_piece};
const tg_op tg__op_eq = {.name = "eq", .arity = 2, .forward = eq_forward,
                          .backward = compare_backward,
                          .backward_ops = compare_backward_ops,
                          .piece = compare_piece};
const tg_op tg__op_ne = {.name = "ne", .arity = 2, .forward = ne_forward,
                          .backward = compare_backward,
                          .backward_ops = compare_backward_ops,
                          .piece = compare_piece};

tg_tensor *tg_gt(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return mask_apply(t, &tg__op_gt, a, b);
}

tg_tensor *tg_ge(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return mask_apply(t, &tg__op_ge, a, b);
}

tg_tensor *tg_lt(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return mask_apply(t, &tg__op_lt, a, b);
}

tg_tensor *tg_le(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return mask_apply(t, &tg__op_le, a, b);
}

tg_tensor *tg_eq(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return mask_apply(t, &tg__op_eq, a, b);
}

tg_tensor *tg_ne(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return mask_apply(t, &tg__op_ne, a, b);
}

tg_tensor *tg_gt_scalar(tg_tape *t, tg_tensor *x, double c)
{
    return mask_apply_scalar(t, &tg__op_gt, "tg_gt_scalar", x, c);
}

tg_tensor *tg_ge_scalar(tg_tape *t, tg_tensor *x, double c)
{
    return mask_apply_scalar(t, &tg__op_ge, "tg_ge_scalar", x, c);
}

tg_tensor *tg_lt_scalar(tg_tape *t, tg_tensor *x, double c)
{
    return mask_apply_scalar(t, &tg__op_lt, "tg_lt_scalar", x, c);
}

tg_tensor *tg_le_scalar(tg_tape *t, tg_tensor *x, double c)
{
    return mask_apply_scalar(t, &tg__op_le, "tg_le_scalar", x, c);
}

tg_tensor *tg_eq_scalar(tg_tape *t, tg_tensor *x, double c)
{
    return mask_apply_scalar(t, &tg__op_eq, "tg_eq_scalar", x, c);
}

tg_tensor *tg_ne_scalar(tg_tape *t, tg_tensor *x, double c)
{
    return mask_apply_scalar(t, &tg__op_ne, "tg_ne_scalar", x, c);
}
