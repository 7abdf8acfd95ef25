/*
 * test_bad_input_ops.c — bad input: the ops, running ops by hand
 * (tg_apply), the op registry, shapes, matrices, losses, comparisons and
 * selection (the op calls, tapegrad/op.h). One row per mistake: the status
 * and the message fragment it must give back. tests/support/tg_bad_input.h
 * says how a row is run and what it must leave behind.
 */
#include "tg_bad_input.h"

/* ---- Helpers for rows that take more than one call. */

static int relu_of_stale(fx *f)
{
    tg_tensor *x = f->b5;
    tg_tape_reset(f->t);
    return ptr(tg_relu(f->t, x));
}

static int detach_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    tg_tape_reset(f->t);
    return ptr(tg_detach(f->t, x));
}

/*
 * y = w * x with x on a data tape that is reset (and reused) before the
 * backward pass on the step tape: backward must notice x is gone, even
 * though x does not require grad, rather than read whatever the tape put
 * where x was.
 */
static int backward_input_tape_reset(fx *f)
{
    tg_tape *data = tg_tape_new();
    tg_tensor *x = tg_linspace(data, TG_F32, 1, 2, 12);
    x = tg_reshape(data, x, 2, (int64_t[]){3, 4});
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(data);
    int64_t n = 4096;
    tg_tensor *junk = tg_empty(data, TG_F32, 1, &n);
    if (junk != NULL)
        memset(tg_mut_f32(junk), 0x7f, (size_t)n * sizeof(float));
    int rc = tg_backward(f->t, root);
    tg_tape_free(data);
    return rc;
}

/*
 * The same, when the reset tape's first new tensor lands exactly where x
 * was: the pointer the entry holds is now a live tensor of another shape,
 * which backward must not take for x.
 */
static int backward_input_replaced(fx *f)
{
    tg_tape *data = tg_tape_new();
    tg_tensor *x = tg_linspace(data, TG_F32, 1, 2, 4);
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(data);
    tg_tensor *other = tg_linspace(data, TG_F32, 1, 2, 7);
    int rc = other == x ? tg_backward(f->t, root)
                        : expect(false, "the new tensor reuses x's memory");
    tg_tape_free(data);
    return rc;
}

/* ---- User ops: missing functions, bad arity, registered twice. */

static tg_tensor *copy_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        memcpy(tg_dtype_of(y) == TG_F32 ? (void *)tg_mut_f32(y)
                                        : (void *)tg_mut_f64(y),
               tg_dtype_of(y) == TG_F32 ? (const void *)tg_data_f32(c->in[0])
                                        : (const void *)tg_data_f64(c->in[0]),
               (size_t)tg_numel(y) * tg_dtype_size(tg_dtype_of(y)));
    return y;
}

static int copy_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                         tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        memcpy(tg_dtype_of(gy) == TG_F32 ? (void *)tg_mut_f32(gx[0])
                                         : (void *)tg_mut_f64(gx[0]),
               tg_dtype_of(gy) == TG_F32 ? (const void *)tg_data_f32(gy)
                                         : (const void *)tg_data_f64(gy),
               (size_t)tg_numel(gy) * tg_dtype_size(tg_dtype_of(gy)));
    return TG_OK;
}

static const tg_op op_no_forward = {.name = "bad_no_forward", .arity = 1,
                                    .backward = copy_backward};
static const tg_op op_no_backward = {.name = "bad_no_backward", .arity = 1,
                                     .forward = copy_forward};
static const tg_op op_no_name = {.arity = 1, .forward = copy_forward,
                                 .backward = copy_backward};
static const tg_op op_empty_name = {.name = "", .arity = 1,
                                    .forward = copy_forward,
                                    .backward = copy_backward};
static const tg_op op_arity_zero = {.name = "bad_arity_zero", .arity = 0,
                                    .forward = copy_forward,
                                    .backward = copy_backward};
static const tg_op op_arity_minus2 = {.name = "bad_arity_m2", .arity = -2,
                                      .forward = copy_forward,
                                      .backward = copy_backward};
static const tg_op op_relu_again = {.name = "relu", .arity = 1,
                                    .forward = copy_forward,
                                    .backward = copy_backward};
static const tg_op op_twice = {.name = "bad_input_twice", .arity = 1,
                               .forward = copy_forward,
                               .backward = copy_backward};
static const tg_op op_twice_other = {.name = "bad_input_twice", .arity = 1,
                                     .forward = copy_forward,
                                     .backward = copy_backward};
static const tg_op op_variadic = {.name = "bad_input_variadic", .arity = -1,
                                  .forward = copy_forward,
                                  .backward = copy_backward};

/* An op whose params cannot be copied: too large for any memory. */
static const tg_op op_huge_params = {.name = "bad_huge_params", .arity = 1,
                                     .params_size = SIZE_MAX,
                                     .forward = copy_forward,
                                     .backward = copy_backward};

/* Registering one op twice: the second is TG_EEXIST, the first still runs. */
static int register_twice(fx *f)
{
    int rc = tg_op_register(&op_twice);
    if (rc != TG_OK)
        return rc;
    rc = tg_op_register(&op_twice_other);
    if (rc == TG_OK)
        return expect(false, "the second registration fails");
    if (tg_op_find("bad_input_twice") != &op_twice ||
        tg_apply(f->t, &op_twice, 1, &f->b5, NULL) == NULL)
        return expect(false, "the first registration stays in force");
    return rc;
}

/* A user op's forward that returns NULL without saying why. */
static tg_tensor *silent_forward(tg_op_ctx *c)
{
    (void)c;
    return NULL;
}

static const tg_op op_silent = {.name = "bad_silent", .arity = 1,
                                .forward = silent_forward,
                                .backward = copy_backward};

/* A user op's forward that hands back its input instead of a new tensor. */
static tg_tensor *identity_forward(tg_op_ctx *c)
{
    return c->in[0];
}

static const tg_op op_identity = {.name = "bad_identity", .arity = 1,
                                  .forward = identity_forward,
                                  .backward = copy_backward};

/* A user op's forward that makes its output on its input's tape. */
static tg_tensor *foreign_forward(tg_op_ctx *c)
{
    return tg_empty_like(tg_tape_of(c->in[0]), c->in[0]);
}

static const tg_op op_foreign = {.name = "bad_foreign", .arity = 1,
                                 .forward = foreign_forward,
                                 .backward = copy_backward};

static int apply_forward_other_tape(fx *f)
{
    tg_tape *other = tg_tape_new();
    int rc = ptr(tg_apply(other, &op_foreign, 1, &f->a34, NULL));
    tg_tape_free(other);
    return rc;
}

/* A user op's backward that fails without saying why. */
static int silent_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy, (void)gx;
    return TG_EINVAL;
}

static const tg_op op_silent_backward = {.name = "bad_silent_backward",
                                         .arity = 1, .forward = copy_forward,
                                         .backward = silent_backward};

static int backward_through_silent_op(fx *f)
{
    tg_tensor *y = tg_apply(f->t, &op_silent_backward, 1, &f->a34, NULL);
    return tg_backward(f->t, tg_sum(f->t, y));
}

static int apply_no_params(fx *f)
{
    const tg_op *op = tg_op_find("sum_axis");
    if (op == NULL)
        return expect(false, "sum_axis is a built-in op");
    return ptr(tg_apply(f->t, op, 1, &f->a34, NULL));
}

static int cross_entropy_label(fx *f, int64_t bad)
{
    int64_t labels[3] = {0, bad, 1};
    return ptr(tg_cross_entropy(f->t, f->a34, labels));
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Ops. */                                                               \
    X(relu_null_tape, TG_EINVAL, "tg_relu: tape is NULL",                    \
      ptr(tg_relu(NULL, f->a34)))                                            \
    X(relu_null_input, TG_EINVAL, "tg_relu: tensor is NULL",                 \
      ptr(tg_relu(f->t, NULL)))                                              \
    X(relu_of_stale, TG_ESTATE, "tg_relu: tensor was freed by a reset",      \
      relu_of_stale(f))                                                      \
    X(add_dtype_mix, TG_EDTYPE, "tg_add: inputs are f32 and f64",            \
      ptr(tg_add(f->t, f->a34, f->d34)))                                     \
    X(add_no_broadcast, TG_ESHAPE,                                           \
      "tg_add: shapes (3,4) and (5,) do not broadcast",                      \
      ptr(tg_add(f->t, f->a34, f->b5)))                                      \
    X(mul_no_broadcast, TG_ESHAPE,                                           \
      "tg_mul: shapes (5,) and (3,4) do not broadcast",                      \
      ptr(tg_mul(f->t, f->b5, f->a34)))                                      \
    X(maximum_second_null, TG_EINVAL, "tg_maximum: tensor is NULL",          \
      ptr(tg_maximum(f->t, f->a34, NULL)))                                   \
    X(pow_tensor_dtype_mix, TG_EDTYPE, "tg_pow_tensor: inputs are f64 and "  \
      "f32", ptr(tg_pow_tensor(f->t, f->d34, f->s)))                         \
    X(add_scalar_null_tape, TG_EINVAL, "tape is NULL",                       \
      ptr(tg_add_scalar(NULL, f->a34, 1.0)))                                 \
    X(mul_scalar_null_input, TG_EINVAL, "tensor is NULL",                    \
      ptr(tg_mul_scalar(f->t, NULL, 2.0)))                                   \
    X(exp_null_input, TG_EINVAL, "tg_exp: tensor is NULL",                   \
      ptr(tg_exp(f->t, NULL)))                                               \
    X(sum_axis_too_large, TG_EINVAL,                                         \
      "tg_sum_axis: axis 2 is out of range for shape (3,4)",                 \
      ptr(tg_sum_axis(f->t, f->a34, 2, false)))                              \
    X(mean_axis_too_negative, TG_EINVAL, "tg_mean_axis: axis -3 is out of "  \
      "range", ptr(tg_mean_axis(f->t, f->a34, -3, true)))                    \
    X(max_axis_int_min, TG_EINVAL, "axis -2147483648 is out of range",       \
      ptr(tg_max_axis(f->t, f->b5, INT_MIN, false)))                         \
    X(logsumexp_axis_scalar, TG_EINVAL, "tg_logsumexp_axis: axis 1 is out "  \
      "of range for shape ()", ptr(tg_logsumexp_axis(f->t, f->s, 1, false))) \
    /* Running ops by hand. */                                               \
    X(apply_null_op, TG_EINVAL, "tg_apply: op is NULL",                      \
      ptr(tg_apply(f->t, NULL, 1, &f->a34, NULL)))                           \
    X(apply_wrong_count, TG_EINVAL, "tg_relu: takes 1 input, got 2",         \
      ptr(tg_apply(f->t, tg_op_find("relu"), 2, (tg_tensor *[]){f->a34,         \
                   f->a34}, NULL)))                                       \
    X(apply_no_inputs_variadic, TG_EINVAL, "takes at least 1 input, got 0",  \
      ptr(tg_apply(f->t, &op_variadic, 0, &f->a34, NULL)))                   \
    X(apply_null_array, TG_EINVAL, "tg_relu: inputs array is NULL",          \
      ptr(tg_apply(f->t, tg_op_find("relu"), 1, NULL, NULL)))                \
    X(apply_null_params, TG_EINVAL, "tg_sum_axis: params are NULL",          \
      apply_no_params(f))                                                    \
    X(apply_null_tape, TG_EINVAL, "tg_relu: tape is NULL",                   \
      ptr(tg_apply(NULL, tg_op_find("relu"), 1, &f->a34, NULL)))             \
    X(apply_silent_forward, TG_EINVAL,                                       \
      "tg_bad_silent: forward returned NULL without setting an error",       \
      ptr(tg_apply(f->t, &op_silent, 1, &f->a34, NULL)))                     \
    X(apply_forward_returns_input, TG_EINVAL,                                \
      "tg_bad_identity: forward returned one of its inputs",                 \
      ptr(tg_apply(f->t, &op_identity, 1, &f->a34, NULL)))                   \
    X(apply_forward_other_tape, TG_EINVAL, "tg_bad_foreign: forward must "  \
      "return a new tensor made on c->tape", apply_forward_other_tape(f))    \
    X(apply_huge_params, TG_ENOMEM, "tg_bad_huge_params: tg_tape_alloc: "   \
      "out of memory", ptr(tg_apply(f->t, &op_huge_params, 1, &f->a34,       \
                                    "params")))                              \
    X(backward_input_tape_reset, TG_ESTATE, "tg_backward: tensor was freed " \
      "by a reset", backward_input_tape_reset(f))                            \
    X(backward_input_replaced, TG_ESTATE, "tg_backward: tensor was freed by" \
      " a reset of its tape (input 1 of mul)", backward_input_replaced(f))   \
    X(backward_silent_failure, TG_EINVAL, "tg_backward: the backward of "    \
      "bad_silent_backward failed (invalid argument)",                       \
      backward_through_silent_op(f))                                         \
    /* The op registry. */                                                   \
    X(register_null, TG_EINVAL, "tg_op_register: op is NULL",                \
      tg_op_register(NULL))                                                  \
    X(register_no_forward, TG_EINVAL, "op \"bad_no_forward\" needs both a "  \
      "forward and a backward", tg_op_register(&op_no_forward))              \
    X(register_no_backward, TG_EINVAL, "op \"bad_no_backward\" needs both",  \
      tg_op_register(&op_no_backward))                                       \
    X(register_no_name, TG_EINVAL, "tg_op_register: op has no name",         \
      tg_op_register(&op_no_name))                                           \
    X(register_empty_name, TG_EINVAL, "op has no name",                      \
      tg_op_register(&op_empty_name))                                        \
    X(register_arity_zero, TG_EINVAL, "has arity 0",                         \
      tg_op_register(&op_arity_zero))                                        \
    X(register_arity_minus_two, TG_EINVAL, "has arity -2",                   \
      tg_op_register(&op_arity_minus2))                                      \
    X(register_builtin_name, TG_EEXIST, "an op named \"relu\" is already "   \
      "registered", tg_op_register(&op_relu_again))                          \
    X(register_twice, TG_EEXIST, "\"bad_input_twice\" is already registered", \
      register_twice(f))                                                     \
    X(find_null, TG_EINVAL, "tg_op_find: name is NULL",                      \
      ptr(tg_op_find(NULL)))                                                 \
    X(find_unknown, TG_ENOTFOUND, "tg_op_find: no op named \"nonesuch\"",    \
      ptr(tg_op_find("nonesuch")))                                           \
    X(op_at_negative, TG_EINVAL, "tg_op_at: index -1", ptr(tg_op_at(-1)))    \
    X(op_at_int_max, TG_EINVAL, "tg_op_at: index 2147483647",                \
      ptr(tg_op_at(INT_MAX)))                                                \
    X(tape_alloc_null_tape, TG_EINVAL, "tg_tape_alloc: tape is NULL",        \
      ptr(tg_tape_alloc(NULL, 16)))                                          \
    X(tape_alloc_size_max, TG_ENOMEM, "tg_tape_alloc: out of memory",        \
      ptr(tg_tape_alloc(f->t, SIZE_MAX)))                                    \
    X(tape_alloc_half_size_max, TG_ENOMEM, "tg_tape_alloc: out of memory",   \
      ptr(tg_tape_alloc(f->t, SIZE_MAX / 2)))                                \
    X(set_allocator_incomplete, TG_EINVAL, "tg_set_allocator: malloc, "      \
      "realloc and free are all required",                                   \
      tg_set_allocator(&(tg_allocator){.malloc = NULL}))                     \
    /* Shapes, matrices, losses. */                                          \
    X(reshape_wrong_count, TG_ESHAPE, "tg_reshape: cannot reshape (3,4)",    \
      ptr(tg_reshape(f->t, f->a34, 2, (int64_t[]){5, 2})))                   \
    X(reshape_two_inferred, TG_EINVAL, "tg_reshape: shape",                  \
      ptr(tg_reshape(f->t, f->a34, 2, (int64_t[]){-1, -1})))                 \
    X(reshape_nine_dims, TG_EINVAL, "tg_reshape: ndim 9 is outside 0..8",    \
      ptr(tg_reshape(f->t, f->a34, 9, nine)))                                \
    X(reshape_null_shape, TG_EINVAL, "tg_reshape: shape is NULL",            \
      ptr(tg_reshape(f->t, f->a34, 2, NULL)))                                \
    X(transpose_of_vector, TG_ESHAPE, "tg_transpose",                        \
      ptr(tg_transpose(f->t, f->b5)))                                        \
    X(permute_not_a_permutation, TG_EINVAL, "are not a permutation",         \
      ptr(tg_permute(f->t, f->a34, 2, (int[]){0, 0})))                       \
    X(permute_wrong_count, TG_EINVAL, "tg_permute: 3 dims given for shape",  \
      ptr(tg_permute(f->t, f->a34, 3, (int[]){0, 1, 2})))                    \
    X(permute_int_min, TG_EINVAL, "tg_permute", ptr(tg_permute(f->t, f->a34, \
      2, (int[]){INT_MIN, 0})))                                              \
    X(matmul_inner_mismatch, TG_ESHAPE, "tg_matmul: shapes (3,4) and (3,4)", \
      ptr(tg_matmul(f->t, f->a34, f->a34)))                                  \
    X(matmul_dtype_mix, TG_EDTYPE, "tg_matmul: inputs are f32 and f64",      \
      ptr(tg_matmul(f->t, f->a34, f->d34)))                                  \
    X(concat_no_inputs, TG_EINVAL, "tg_concat",                              \
      ptr(tg_concat(f->t, 0, &f->a34, 0)))                                   \
    X(concat_null_array, TG_EINVAL, "tg_concat",                             \
      ptr(tg_concat(f->t, 2, NULL, 0)))                                      \
    X(concat_mismatch, TG_ESHAPE, "tg_concat: inputs 0 and 1 have",          \
      ptr(tg_concat(f->t, 2, (tg_tensor *[]){f->a34, f->b5}, 0)))            \
    X(concat_axis_out_of_range, TG_EINVAL, "axis 5 is out of range",         \
      ptr(tg_concat(f->t, 2, (tg_tensor *[]){f->a34, f->a34}, 5)))           \
    X(softmax_bad_axis, TG_EINVAL, "tg_softmax: axis 2 is out of range",     \
      ptr(tg_softmax(f->t, f->a34, 2)))                                      \
    X(cross_entropy_of_vector, TG_ESHAPE, "tg_cross_entropy: logits have "   \
      "shape (5,)", ptr(tg_cross_entropy(f->t, f->b5, (int64_t[5]){0})))     \
    X(cross_entropy_null_labels, TG_EINVAL, "tg_cross_entropy: labels is "   \
      "NULL", ptr(tg_cross_entropy(f->t, f->a34, NULL)))                     \
    X(cross_entropy_label_too_big, TG_EINVAL, "tg_cross_entropy: label 4 in " \
      "row 1 is outside 0..3", cross_entropy_label(f, 4))                    \
    X(cross_entropy_label_negative, TG_EINVAL, "label -1 in row 1",          \
      cross_entropy_label(f, -1))                                            \
    X(mse_shapes_differ, TG_ESHAPE, "tg_mse_loss: shapes (3,4) and (5,) "    \
      "differ", ptr(tg_mse_loss(f->t, f->a34, f->b5)))                       \
    X(linear_shapes, TG_ESHAPE, "tg_linear: x (3,4) and W (5,)",             \
      ptr(tg_linear(f->t, f->a34, f->b5, NULL)))                             \
    /* Comparisons and selection. */                                        \
    X(gt_no_broadcast, TG_ESHAPE, "tg_gt: shapes (3,4) and (5,) do not "     \
      "broadcast", ptr(tg_gt(f->t, f->a34, f->b5)))                          \
    X(eq_dtype_mix, TG_EDTYPE, "tg_eq: inputs are f32 and f64",              \
      ptr(tg_eq(f->t, f->a34, f->d34)))                                      \
    X(ne_null_tape, TG_EINVAL, "tg_ne: tape is NULL",                        \
      ptr(tg_ne(NULL, f->a34, f->a34)))                                      \
    X(le_scalar_null_input, TG_EINVAL, "tg_le_scalar: tensor is NULL",       \
      ptr(tg_le_scalar(f->t, NULL, 0.5)))                                    \
    X(where_no_broadcast, TG_ESHAPE, "tg_where: shapes cond (3,4), a (5,) "  \
      "and b () do not broadcast", ptr(tg_where(f->t, f->a34, f->b5, f->s))) \
    X(where_dtype_mix, TG_EDTYPE, "tg_where: inputs are f64 and f32",        \
      ptr(tg_where(f->t, f->d34, f->a34, f->a34)))                           \
    X(clamp_nan_bound, TG_EINVAL, "tg_clamp: bounds are -1 and nan; they "   \
      "must not be NaN", ptr(tg_clamp(f->t, f->a34, -1, NAN)))                \
    X(cast_unknown_dtype, TG_EDTYPE, "tg_cast: unknown dtype 3",             \
      ptr(tg_cast(f->t, f->a34, (tg_dtype)3)))                               \
    X(detach_of_stale, TG_ESTATE, "tg_detach: tensor was freed by a reset",  \
      detach_of_stale(f))                                                    \
    X(argmax_bad_axis, TG_EINVAL, "tg_argmax: axis -3 is out of range for "  \
      "shape (3,4)", ptr(tg_argmax(f->t, f->a34, -3, false)))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_ops", rows, N_ROWS);
}
