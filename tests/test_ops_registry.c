/*
 * test_ops_registry.c — every registered op is gradient-checked.
 *
 * The suite walks the op registry: each op must have a case in the table
 * below, or the "every op has a case" test fails, so a new op cannot
 * arrive untested. Each case builds a small graph around its op from
 * random f64 inputs (broadcasting where the op broadcasts) and runs
 * tg_gradcheck on it. Detailed value tests live in each op family's own
 * suite; this one is the safety net.
 *
 * The same cases check each op's second derivation, the derivative
 * written with ops (backward_ops, for gradients of gradients): tg_vjp's
 * gradients must equal tg_backward's to 1e-12, recorded or not, and the
 * recorded gradient must itself pass a gradient check (second order).
 * Every registered op must have both derivations ("every op has both"
 * fails otherwise), so each of these runs on every op.
 */
#include "tg_test.h"

typedef tg_tensor *(*build_fn)(tg_tape *t, tg_tensor *const *in);

typedef struct op_case {
    const char *name;      /* as registered */
    build_fn build;
    int n;                 /* inputs */
    int64_t shape[3][3];   /* each input's shape, ndim from dims > 0 */
    bool positive;         /* inputs drawn away from 0 and positive */
} op_case;

static const int64_t labels[4] = {2, 0, 1, 2};

#define UNARY(op) \
    static tg_tensor *b_##op(tg_tape *t, tg_tensor *const *in) { return tg_##op(t, in[0]); }
#define BINARY(op) \
    static tg_tensor *b_##op(tg_tape *t, tg_tensor *const *in) { return tg_##op(t, in[0], in[1]); }

UNARY(relu) UNARY(selu) UNARY(gelu) UNARY(gelu_tanh) UNARY(silu) UNARY(mish)
UNARY(relu6) UNARY(hardsigmoid) UNARY(hardswish) UNARY(softsign) UNARY(neg)
UNARY(exp) UNARY(log) UNARY(sqrt) UNARY(abs) UNARY(tanh) UNARY(sigmoid)
UNARY(erf)
UNARY(sum) UNARY(mean) UNARY(max) UNARY(min) UNARY(logsumexp) UNARY(transpose)
BINARY(add) BINARY(sub) BINARY(mul) BINARY(div) BINARY(maximum)
BINARY(minimum) BINARY(pow_tensor) BINARY(matmul) BINARY(mse_loss)

static tg_tensor *b_leaky_relu(tg_tape *t, tg_tensor *const *in) { return tg_leaky_relu(t, in[0], 0.1); }
static tg_tensor *b_elu(tg_tape *t, tg_tensor *const *in) { return tg_elu(t, in[0], 0.7); }
static tg_tensor *b_softplus(tg_tape *t, tg_tensor *const *in) { return tg_softplus(t, in[0], 1.5, 20); }
static tg_tensor *b_clamp(tg_tape *t, tg_tensor *const *in) { return tg_clamp(t, in[0], -0.5, 0.8); }
/* f64 in, f64 out: gradient checks run in f64 (the f32 conversions are
 * checked against PyTorch in test_ops_select.c). */
static tg_tensor *b_cast(tg_tape *t, tg_tensor *const *in) { return tg_cast(t, in[0], TG_F64); }
static tg_tensor *b_hardtanh(tg_tape *t, tg_tensor *const *in) { return tg_hardtanh(t, in[0], -0.5, 0.8); }
static tg_tensor *b_pow(tg_tape *t, tg_tensor *const *in) { return tg_pow(t, in[0], 2.5); }
static tg_tensor *b_sum_axis(tg_tape *t, tg_tensor *const *in) { return tg_sum_axis(t, in[0], 1, false); }
static tg_tensor *b_mean_axis(tg_tape *t, tg_tensor *const *in) { return tg_mean_axis(t, in[0], 0, true); }
static tg_tensor *b_max_axis(tg_tape *t, tg_tensor *const *in) { return tg_max_axis(t, in[0], -1, false); }
static tg_tensor *b_min_axis(tg_tape *t, tg_tensor *const *in) { return tg_min_axis(t, in[0], 0, false); }
static tg_tensor *b_logsumexp_axis(tg_tape *t, tg_tensor *const *in) { return tg_logsumexp_axis(t, in[0], 1, true); }
static tg_tensor *b_softmax(tg_tape *t, tg_tensor *const *in) { return tg_softmax(t, in[0], 1); }
static tg_tensor *b_log_softmax(tg_tape *t, tg_tensor *const *in) { return tg_log_softmax(t, in[0], 0); }
static tg_tensor *b_cross_entropy(tg_tape *t, tg_tensor *const *in) { return tg_cross_entropy(t, in[0], labels); }
static tg_tensor *b_linear(tg_tape *t, tg_tensor *const *in) { return tg_linear(t, in[0], in[1], in[2]); }
static tg_tensor *b_concat(tg_tape *t, tg_tensor *const *in) { return tg_concat(t, 2, in, 1); }
/* Backwards with a step of 2, so that the recorded scatter reverses,
 * spreads and pads. */
static tg_tensor *b_slice(tg_tape *t, tg_tensor *const *in) { return tg_slice(t, in[0], 1, -2, 0, -2); }

/* A mask carries no gradient, so each comparison is checked inside a
 * product: d/da of a * (a OP b) is the mask, b gets nothing. */
#define MASKED(op) \
    static tg_tensor *b_##op(tg_tape *t, tg_tensor *const *in) { return tg_mul(t, in[0], tg_##op(t, in[0], in[1])); }
MASKED(gt) MASKED(ge) MASKED(lt) MASKED(le) MASKED(eq) MASKED(ne)

/* argmax and argmin carry no gradient either: checked beside a sum. */
static tg_tensor *b_argmax(tg_tape *t, tg_tensor *const *in) { return tg_add(t, in[0], tg_argmax(t, in[0], 1, true)); }
static tg_tensor *b_argmin(tg_tape *t, tg_tensor *const *in) { return tg_add(t, in[0], tg_argmin(t, in[0], 0, false)); }

/* where chooses by a mask made from its first input. */
static tg_tensor *b_where(tg_tape *t, tg_tensor *const *in)
{
    tg_tensor *zero = tg_scalar(t, TG_F64, 0);
    return tg_where(t, tg_gt(t, in[0], zero), in[1], in[2]);
}

/* gather and scatter_add pick with a fixed index tensor (repeats
 * included, so that scatter-adds add up), made in x's dtype. */
static tg_tensor *index_of(tg_tape *t, int64_t rows, int64_t cols,
                           const double *v)
{
    int64_t shape[2] = {rows, cols};
    return tg_from_data(t, TG_F64, 2, shape, v);
}
static tg_tensor *b_gather(tg_tape *t, tg_tensor *const *in)
{
    static const double ix[6] = {3, 3, 0, 1, 2, 1};
    return tg_gather(t, in[0], 1, index_of(t, 3, 2, ix));
}
static tg_tensor *b_scatter_add(tg_tape *t, tg_tensor *const *in)
{
    static const double ix[6] = {0, 0, 3, 1, 2, 1};
    return tg_scatter_add(t, in[0], -1, index_of(t, 3, 2, ix), in[1]);
}

static tg_tensor *b_reshape(tg_tape *t, tg_tensor *const *in)
{
    int64_t shape[2] = {-1, 2};
    return tg_reshape(t, in[0], 2, shape);
}

static tg_tensor *b_permute(tg_tape *t, tg_tensor *const *in)
{
    int dims[3] = {2, 0, 1};
    return tg_permute(t, in[0], 3, dims);
}

/* seq: layer norm over the last dim with weight and bias; attention,
 * causal, over 2 batches of 4 positions. */
static const int64_t ln_shape[1] = {4};
static tg_tensor *b_layer_norm(tg_tape *t, tg_tensor *const *in) { return tg_layer_norm(t, in[0], 1, ln_shape, in[1], in[2], 1e-5); }
static tg_tensor *b_sdpa(tg_tape *t, tg_tensor *const *in) { return tg_scaled_dot_product_attention(t, in[0], in[1], in[2], true); }
/* Pooling, dropout and batch normalisation (tapegrad/pool.h): windows that
 * overlap and reach into the padding; dropout with a fixed seed, so the
 * mask is the same at every evaluation; batch_norm in training, affine. */
static tg_tensor *b_max_pool2d(tg_tape *t, tg_tensor *const *in)
{
    tg_pool2d_options o = tg_pool2d_defaults(3, 3);
    o.stride[0] = o.stride[1] = 2;
    o.padding[0] = o.padding[1] = 1;
    return tg_max_pool2d(t, in[0], &o);
}
static tg_tensor *b_avg_pool2d(tg_tape *t, tg_tensor *const *in)
{
    tg_pool2d_options o = tg_pool2d_defaults(3, 2);
    o.stride[1] = 1;
    o.padding[0] = o.padding[1] = 1;
    return tg_avg_pool2d(t, in[0], &o);
}
static tg_tensor *b_adaptive_avg_pool2d(tg_tape *t, tg_tensor *const *in) { return tg_adaptive_avg_pool2d(t, in[0], 3, 4); }
static tg_tensor *b_dropout(tg_tape *t, tg_tensor *const *in)
{
    tg_rng rng;
    tg_rng_seed(&rng, 2024, 1);
    return tg_dropout(t, in[0], 0.3, &rng, true);
}
static tg_tensor *b_batch_norm(tg_tape *t, tg_tensor *const *in) { return tg_batch_norm(t, in[0], NULL, NULL, in[1], in[2], true, 0.1, 1e-5); }
/* conv: 3-d case shapes (a, b, c) become (a, b, 2, c / 2) for conv2d. */
static tg_tensor *conv_four(tg_tape *t, tg_tensor *x)
{
    const int64_t *s = tg_shape(x);
    int64_t v[4] = {s[0], s[1], 2, s[2] / 2};
    return tg_reshape(t, x, 4, v);
}
static tg_tensor *b_conv2d(tg_tape *t, tg_tensor *const *in)
{
    tg_conv_options o = tg_conv_defaults();
    o.stride[1] = 2, o.padding[0] = 1;
    return tg_conv2d(t, conv_four(t, in[0]), conv_four(t, in[1]),
                     in[2], &o);
}
static tg_tensor *b_conv1d(tg_tape *t, tg_tensor *const *in)
{
    tg_conv_options o = tg_conv_defaults();
    o.stride[0] = 2, o.padding[0] = 1;
    return tg_conv1d(t, in[0], in[1], in[2], &o);
}
/* The gradient ops' params as conv.c keeps them: the options, then the
 * spatial size of x (input_grad) or of the kernel (weight_grad). */
typedef struct conv_params {
    int64_t stride[2], padding[2], dilation[2], groups;
    int64_t size[2];
} conv_params;
static tg_tensor *conv_grad_op(tg_tape *t, const char *name, tg_tensor *a,
                               tg_tensor *b, int64_t pad, int64_t s0,
                               int64_t s1)
{
    conv_params p = {{1, 1}, {pad, pad}, {1, 1}, 1, {s0, s1}};
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, tg_op_find(name), 2, in, &p);
}
/* gy (N, O, 2, 2) and w (O, C, 2, 2) to x (N, C, 3, 3). */
static tg_tensor *b_conv2d_input_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv2d_input_grad", conv_four(t, in[0]),
                        conv_four(t, in[1]), 0, 3, 3);
}
/* x (N, C, 2, 4) and gy (N, O, 2, 4) to a 3x3 kernel, padding 1. */
static tg_tensor *b_conv2d_weight_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv2d_weight_grad", conv_four(t, in[0]),
                        conv_four(t, in[1]), 1, 3, 3);
}
static tg_tensor *b_conv1d_input_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv1d_input_grad", in[0], in[1], 0, 5, 5);
}
static tg_tensor *b_conv1d_weight_grad(tg_tape *t, tg_tensor *const *in)
{
    return conv_grad_op(t, "conv1d_weight_grad", in[0], in[1], 1, 3, 3);
}

static const op_case cases[] = {
    {"relu", b_relu, 1, {{3, 4}}, false},
    {"leaky_relu", b_leaky_relu, 1, {{3, 4}}, false},
    {"elu", b_elu, 1, {{3, 4}}, false},
    {"selu", b_selu, 1, {{3, 4}}, false},
    {"gelu", b_gelu, 1, {{3, 4}}, false},
    {"gelu_tanh", b_gelu_tanh, 1, {{3, 4}}, false},
    {"silu", b_silu, 1, {{3, 4}}, false},
    {"softplus", b_softplus, 1, {{3, 4}}, false},
    {"mish", b_mish, 1, {{3, 4}}, false},
    {"hardtanh", b_hardtanh, 1, {{3, 4}}, false},
    {"relu6", b_relu6, 1, {{3, 4}}, false},
    {"hardsigmoid", b_hardsigmoid, 1, {{3, 4}}, false},
    {"hardswish", b_hardswish, 1, {{3, 4}}, false},
    {"softsign", b_softsign, 1, {{3, 4}}, false},
    {"add", b_add, 2, {{3, 4}, {4}}, false},
    {"sub", b_sub, 2, {{3, 1}, {1, 4}}, false},
    {"mul", b_mul, 2, {{2, 3, 4}, {3, 1}}, false},
    {"div", b_div, 2, {{3, 4}, {3, 4}}, true},
    {"maximum", b_maximum, 2, {{3, 4}, {4}}, false},
    {"minimum", b_minimum, 2, {{3, 4}, {3, 4}}, false},
    {"gt", b_gt, 2, {{3, 4}, {4}}, false},
    {"ge", b_ge, 2, {{3, 4}, {3, 1}}, false},
    {"lt", b_lt, 2, {{3, 4}, {3, 4}}, false},
    {"le", b_le, 2, {{3, 4}, {0}}, false},
    {"eq", b_eq, 2, {{3, 4}, {4}}, false},
    {"ne", b_ne, 2, {{3, 4}, {4}}, false},
    {"where", b_where, 3, {{3, 1}, {3, 4}, {4}}, false},
    {"clamp", b_clamp, 1, {{3, 4}}, false},
    {"cast", b_cast, 1, {{3, 4}}, false},
    {"pow", b_pow, 1, {{3, 4}}, true},
    {"pow_tensor", b_pow_tensor, 2, {{3, 4}, {4}}, true},
    {"neg", b_neg, 1, {{3, 4}}, false},
    {"exp", b_exp, 1, {{3, 4}}, false},
    {"log", b_log, 1, {{3, 4}}, true},
    {"sqrt", b_sqrt, 1, {{3, 4}}, true},
    {"abs", b_abs, 1, {{3, 4}}, false},
    {"tanh", b_tanh, 1, {{3, 4}}, false},
    {"sigmoid", b_sigmoid, 1, {{3, 4}}, false},
    {"erf", b_erf, 1, {{3, 4}}, false},
    {"sum", b_sum, 1, {{3, 4}}, false},
    {"sum_axis", b_sum_axis, 1, {{3, 4}}, false},
    {"mean", b_mean, 1, {{3, 4}}, false},
    {"mean_axis", b_mean_axis, 1, {{3, 4}}, false},
    {"max", b_max, 1, {{3, 4}}, false},
    {"max_axis", b_max_axis, 1, {{3, 4}}, false},
    {"min", b_min, 1, {{3, 4}}, false},
    {"min_axis", b_min_axis, 1, {{3, 4}}, false},
    {"logsumexp", b_logsumexp, 1, {{3, 4}}, false},
    {"logsumexp_axis", b_logsumexp_axis, 1, {{3, 4}}, false},
    {"argmax", b_argmax, 1, {{3, 4}}, false},
    {"argmin", b_argmin, 1, {{3, 4}}, false},
    {"reshape", b_reshape, 1, {{3, 4}}, false},
    {"transpose", b_transpose, 1, {{3, 4}}, false},
    {"permute", b_permute, 1, {{2, 3, 4}}, false},
    {"matmul", b_matmul, 2, {{3, 4}, {4, 5}}, false},
    {"concat", b_concat, 2, {{3, 2}, {3, 4}}, false},
    {"slice", b_slice, 1, {{3, 7}}, false},
    {"softmax", b_softmax, 1, {{3, 4}}, false},
    {"log_softmax", b_log_softmax, 1, {{3, 4}}, false},
    {"cross_entropy", b_cross_entropy, 1, {{4, 3}}, false},
    {"mse_loss", b_mse_loss, 2, {{3, 4}, {3, 4}}, false},
    {"linear", b_linear, 3, {{2, 5}, {3, 5}, {3}}, false},
    {"layer_norm", b_layer_norm, 3, {{3, 4}, {4}, {4}}, false},
    {"scaled_dot_product_attention", b_sdpa, 3, {{2, 4, 3}, {2, 4, 3}, {2, 4, 2}}, false},
    {"max_pool2d", b_max_pool2d, 1, {{2, 5, 5}}, false},
    {"avg_pool2d", b_avg_pool2d, 1, {{2, 5, 6}}, false},
    {"adaptive_avg_pool2d", b_adaptive_avg_pool2d, 1, {{2, 4, 7}}, false},
    {"dropout", b_dropout, 1, {{3, 4}}, false},
    {"batch_norm", b_batch_norm, 3, {{4, 3, 2}, {3}, {3}}, false},
    {"conv2d", b_conv2d, 3, {{2, 2, 8}, {3, 2, 4}, {3}}, false},
    {"conv1d", b_conv1d, 3, {{2, 2, 7}, {3, 2, 3}, {3}}, false},
    {"conv2d_input_grad", b_conv2d_input_grad, 2, {{2, 3, 4}, {3, 2, 4}}, false},
    {"conv2d_weight_grad", b_conv2d_weight_grad, 2, {{2, 2, 8}, {2, 3, 8}}, false},
    {"conv1d_input_grad", b_conv1d_input_grad, 2, {{2, 3, 3}, {3, 2, 3}}, false},
    {"conv1d_weight_grad", b_conv1d_weight_grad, 2, {{2, 2, 7}, {2, 3, 7}}, false},
    {"gather", b_gather, 1, {{3, 4}}, false},
    {"scatter_add", b_scatter_add, 2, {{3, 4}, {3, 2}}, false},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static const op_case *case_for(const char *name)
{
    for (int i = 0; i < N_CASES; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

START_TEST(every_op_has_a_case)
{
    char missing[1024] = "";
    for (int i = 0; i < tg_op_count(); i++) {
        const tg_op *op = tg_op_at(i);
        if (case_for(op->name) == NULL && strlen(missing) < 900) {
            strcat(missing, " ");
            strcat(missing, op->name);
        }
    }
    ck_assert_msg(missing[0] == '\0', "registered ops without a gradient "
                  "check in tests/test_ops_registry.c:%s", missing);
    ck_assert_int_ge(tg_op_count(), N_CASES);
}
END_TEST

static tg_tensor *run_case(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return ((const op_case *)ud)->build(t, in);
}

static int ndim_of(const int64_t *shape)
{
    int d = 0;
    while (d < 3 && shape[d] > 0)
        d++;
    return d;
}

START_TEST(gradient_of_each_op)
{
    const op_case *c = &cases[_i];
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1000 + (uint64_t)_i, 3);
    tg_tensor *in[3];
    for (int k = 0; k < c->n; k++) {
        const int64_t *shape = c->shape[k];
        in[k] = c->positive
                    ? tg_rand_uniform(t, &rng, TG_F64, ndim_of(shape), shape,
                                      0.5, 2.0)
                    : tg_rand_normal(t, &rng, TG_F64, ndim_of(shape), shape,
                                     0.0, 1.0);
    }
    ck_assert_ptr_nonnull(tg_op_find(c->name));
    tg_gradcheck_report r;
    ck_assert_msg(tg_gradcheck(run_case, (void *)c, c->n, in, NULL, &r) ==
                  TG_OK, "%s: %s", c->name, tg_last_error());
    ck_assert_msg(r.passed, "%s: %s", c->name, r.message);
    ck_assert_msg(r.n_checked > 0, "%s checked nothing", c->name);
    tg_tape_free(t);
}
END_TEST

/* Random inputs for case c, on t, requiring grad; and weights for y. */
static void case_inputs(tg_tape *t, const op_case *c, uint64_t seed,
                        tg_tensor **in)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 3);
    for (int k = 0; k < c->n; k++) {
        const int64_t *shape = c->shape[k];
        in[k] = c->positive
                    ? tg_rand_uniform(t, &rng, TG_F64, ndim_of(shape), shape,
                                      0.5, 2.0)
                    : tg_rand_normal(t, &rng, TG_F64, ndim_of(shape), shape,
                                     0.0, 1.0);
        tg_set_requires_grad(in[k], true);
    }
}

static tg_tensor *weights_like(tg_tape *t, const tg_tensor *y, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 5);
    return tg_rand_normal(t, &rng, TG_F64, tg_ndim(y), tg_shape(y), 0.0, 1.0);
}

/* A new op must come with its derivative written with ops too, so that
 * gradients of gradients reach through every built-in op. */
START_TEST(every_op_has_both)
{
    char missing[1024] = "";
    for (int i = 0; i < tg_op_count(); i++) {
        const tg_op *op = tg_op_at(i);
        if (op->backward == NULL || op->backward_ops == NULL) {
            if (strlen(missing) < 900) {
                strcat(missing, " ");
                strcat(missing, op->name);
            }
        }
    }
    ck_assert_msg(missing[0] == '\0', "registered ops without both a "
                  "backward and a backward_ops:%s", missing);
}
END_TEST

/* The recorded derivative agrees with the fast one, recorded or not. */
START_TEST(recorded_derivative_of_each_op)
{
    const op_case *c = &cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3], *fast[3], *slow[3];
    case_inputs(t, c, 2000 + (uint64_t)_i, in);
    tg_tensor *y = c->build(t, in);
    ck_assert_msg(y != NULL, "%s: %s", c->name, tg_last_error());
    tg_tensor *w = weights_like(t, y, 7 + (uint64_t)_i);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), TG_OK);
    for (int k = 0; k < c->n; k++)
        fast[k] = tg_grad(in[k]);
    for (int graph = 0; graph < 2; graph++) {
        tg_vjp_options o = tg_vjp_defaults();
        o.create_graph = graph;
        o.unused = TG_UNUSED_ZEROS;
        ck_assert_msg(tg_vjp(t, 1, &y, &w, c->n, in, slow, &o) == TG_OK,
                      "%s: %s", c->name, tg_last_error());
        for (int k = 0; k < c->n; k++)
            for (int64_t e = 0; e < tg_numel(in[k]); e++)
                ck_assert_msg(tg_test_close(tg_value_at(slow[k], e),
                                            fast[k] == NULL /* unused */
                                                ? 0.0
                                                : tg_value_at(fast[k], e),
                                            1e-12, 1e-14),
                              "%s input %d element %lld: tg_vjp %.17g, "
                              "tg_backward %.17g (create_graph %d)", c->name,
                              k, (long long)e, tg_value_at(slow[k], e),
                              fast[k] ? tg_value_at(fast[k], e) : 0.0, graph);
    }
    tg_tape_free(t);
}
END_TEST

/* d/d in of <w, op(in)>, recorded: what a second-order check differentiates. */
typedef struct second_order {
    const op_case *c;
    int wrt;                 /* whose gradient the function returns */
    uint64_t seed;
} second_order;

static tg_tensor *gradient_fn(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    const second_order *so = ud;
    tg_tensor *y = so->c->build(t, in), *g[3];
    if (y == NULL)
        return NULL;
    tg_tensor *w = weights_like(t, y, so->seed);
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    o.unused = TG_UNUSED_ZEROS;
    if (tg_vjp(t, 1, &y, &w, n, in, g, &o) != TG_OK)
        return NULL;
    return g[so->wrt];
}

/* The recorded gradient passes a gradient check: second derivatives. */
START_TEST(second_derivative_of_each_op)
{
    const op_case *c = &cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3];
    case_inputs(t, c, 3000 + (uint64_t)_i, in);
    for (int k = 0; k < c->n; k++) {
        second_order so = {c, k, 11 + (uint64_t)_i};
        tg_gradcheck_report r;
        ck_assert_msg(tg_gradcheck(gradient_fn, &so, c->n, in, NULL, &r) ==
                      TG_OK, "%s: %s", c->name, tg_last_error());
        ck_assert_msg(r.passed, "%s, d/d input %d: %s", c->name, k,
                      r.message);
    }
    tg_tape_free(t);
}
END_TEST

/* Forward mode on every op: <u, J v> from tg_jvp equals <J^T u, v> from
 * tg_vjp, for random u and v. */
START_TEST(jvp_agrees_with_vjp_on_each_op)
{
    const op_case *c = &cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3], *v[3], *g[3], *jv;
    case_inputs(t, c, 4000 + (uint64_t)_i, in);
    for (int k = 0; k < c->n; k++)
        v[k] = weights_like(t, in[k], 50 + (uint64_t)(_i * 3 + k));
    tg_tensor *y = c->build(t, in);
    tg_tensor *u = weights_like(t, y, 90 + (uint64_t)_i);
    ck_assert_msg(tg_jvp(t, 1, &y, c->n, in, v, &jv, NULL) == TG_OK, "%s: %s",
                  c->name, tg_last_error());
    tg_vjp_options o = tg_vjp_defaults();
    o.unused = TG_UNUSED_ZEROS;
    ck_assert_int_eq(tg_vjp(t, 1, &y, &u, c->n, in, g, &o), TG_OK);
    double ujv = tg_item(tg_sum(t, tg_mul(t, u, jv))), jtuv = 0;
    for (int k = 0; k < c->n; k++)
        jtuv += tg_item(tg_sum(t, tg_mul(t, g[k], v[k])));
    ck_assert_msg(tg_test_close(ujv, jtuv, 1e-12, 1e-13),
                  "%s: <u, Jv> = %.17g, <J^T u, v> = %.17g", c->name, ujv,
                  jtuv);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_registry");
    TCase *tc = tg_test_tcase("registry");
    tcase_add_test(tc, every_op_has_a_case);
    tcase_add_test(tc, every_op_has_both);
    tcase_add_loop_test(tc, gradient_of_each_op, 0, N_CASES);
    tcase_add_loop_test(tc, recorded_derivative_of_each_op, 0, N_CASES);
    tcase_add_loop_test(tc, second_derivative_of_each_op, 0, N_CASES);
    tcase_add_loop_test(tc, jvp_agrees_with_vjp_on_each_op, 0, N_CASES);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
