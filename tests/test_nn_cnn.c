/*
 * test_nn_cnn.c — the convolutional layers of tapegrad/sequential.h:
 * a LeNet-5 with every one of them against PyTorch on the same weights,
 * loaded by name (fixtures made by fixtures/gen_cnn_layers.py), PyTorch's
 * default initialisation, train/eval, and dropout's generator in
 * checkpoints.
 */
#include "tg_test.h"
#include "tapegrad/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TG_CNN_FIXTURES
#error "TG_CNN_FIXTURES must name tests/fixtures"
#endif

static void add(tg_sequential *s, tg_layer *l)
{
    ck_assert_msg(l != NULL, "layer: %s", tg_last_error());
    ck_assert_int_eq(tg_sequential_add(s, l), TG_OK);
}

/* gen_cnn_layers.py's model, layer for layer (same indices). */
static tg_sequential *lenet_bn(tg_tape *t, tg_rng *rng)
{
    tg_sequential *s = tg_sequential_new(t);
    tg_conv_options pad2 = tg_conv_defaults();
    pad2.padding[0] = pad2.padding[1] = 2;
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    add(s, tg_layer_conv2d_new(t, rng, TG_F32, 1, 6, 5, 5, &pad2, true));
    add(s, tg_layer_batch_norm_new(t, TG_F32, 6, 1e-5, 0.1, true));
    add(s, tg_layer_activation_new(t, "relu"));
    add(s, tg_layer_max_pool2d_new(t, &two));
    add(s, tg_layer_conv2d_new(t, rng, TG_F32, 6, 16, 5, 5, NULL, true));
    add(s, tg_layer_activation_new(t, "relu"));
    add(s, tg_layer_avg_pool2d_new(t, &two));
    add(s, tg_layer_adaptive_avg_pool2d_new(t, 3, 3));
    add(s, tg_layer_flatten_new(t, 1));
    add(s, tg_layer_linear_new(t, rng, TG_F32, 144, 32, true));
    add(s, tg_layer_activation_new(t, "relu"));
    add(s, tg_layer_linear_new(t, rng, TG_F32, 32, 10, true));
    return s;
}

static double value(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                    : tg_data_f64(x)[i];
}

static void check_close(const char *what, const tg_tensor *got,
                        const tg_tensor *want, double rtol, double atol)
{
    ck_assert_msg(got != NULL && want != NULL, "%s: %s", what,
                  tg_last_error());
    ck_assert_int_eq(tg_numel(got), tg_numel(want));
    for (int64_t i = 0; i < tg_numel(got); i++)
        ck_assert_msg(tg_test_close(value(got, i), value(want, i), rtol, atol),
                      "%s[%lld]: %.9g, PyTorch %.9g", what, (long long)i,
                      value(got, i), value(want, i));
}

START_TEST(lenet_matches_pytorch)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 0);
    tg_sequential *s = lenet_bn(t, &rng);
    ck_assert_int_eq(tg_checkpoint_load(TG_CNN_FIXTURES
                                        "/torch_lenet_state.npz",
                                        &(tg_checkpoint){.model = s}),
                     TG_OK);
    const tg_npz *ref = tg_npz_load(t, TG_CNN_FIXTURES "/torch_lenet_ref.npz");
    ck_assert_ptr_nonnull(ref);
    tg_tensor *x = tg_npz_get(ref, "x");
    tg_tensor *lab = tg_npz_get(ref, "labels");
    int64_t labels[4];
    for (int i = 0; i < 4; i++)
        labels[i] = (int64_t)tg_data_f64(lab)[i];

    /* Training mode: batch statistics, gradients, running statistics. */
    tg_tensor *out = tg_sequential_forward(t, s, x);
    check_close("out", out, tg_npz_get(ref, "out"), 1e-4, 1e-5);
    tg_tensor *loss = tg_cross_entropy(t, out, labels);
    check_close("loss", loss, tg_npz_get(ref, "loss"), 1e-5, 1e-6);
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    for (int i = 0; i < tg_sequential_state_count(s); i++) {
        const char *name;
        tg_tensor *e = tg_sequential_state_at(s, i, &name);
        char key[96];
        tg_layer *l = NULL;
        bool param = false;
        for (int k = 0; k < tg_sequential_count(s) && !param; k++) {
            l = tg_sequential_at(s, k);
            for (int j = 0; j < l->n_params; j++)
                param = param || l->params[j] == e;
        }
        snprintf(key, sizeof key, "%s.%s", param ? "grad" : "after", name);
        check_close(key, param ? tg_grad(e) : e, tg_npz_get(ref, key), 1e-4,
                    1e-5);
    }
    /* Eval mode: the running statistics. */
    ck_assert_int_eq(tg_sequential_set_training(s, false), TG_OK);
    check_close("eval_out", tg_sequential_forward(t, s, x),
                tg_npz_get(ref, "eval_out"), 1e-4, 1e-5);
    tg_tape_free(t);
}
END_TEST

/* PyTorch's default: U(-b, b), b = 1/sqrt(fan_in), weight then bias from
 * the generator given; groups divide fan_in. */
START_TEST(conv2d_initialises_as_pytorch)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng, again;
    tg_rng_seed(&rng, 5, 0);
    again = rng;
    tg_conv_options o = tg_conv_defaults();
    o.groups = 2;
    tg_layer *l = tg_layer_conv2d_new(t, &rng, TG_F64, 4, 6, 3, 2, &o, true);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l->cls->kind, "conv2d");
    tg_tensor *w = tg_layer_param(l, "weight"), *b = tg_layer_param(l, "bias");
    const int64_t want[] = {6, 2, 3, 2};
    ck_assert_int_eq(tg_ndim(w), 4);
    for (int d = 0; d < 4; d++)
        ck_assert_int_eq(tg_shape(w)[d], want[d]);
    double bound = 1.0 / sqrt(2.0 * 3 * 2);
    tg_tensor *w2 = tg_rand_uniform(t, &again, TG_F64, 4, want, -bound, bound);
    tg_tensor *b2 = tg_rand_uniform(t, &again, TG_F64, 1, (int64_t[]){6},
                                    -bound, bound);
    ck_assert_mem_eq(tg_data_f64(w), tg_data_f64(w2), 72 * sizeof(double));
    ck_assert_mem_eq(tg_data_f64(b), tg_data_f64(b2), 6 * sizeof(double));
    ck_assert(tg_requires_grad(w) && tg_requires_grad(b));
    /* A forward is tg_conv2d with those options. */
    tg_tensor *x = tg_rand_uniform(t, &again, TG_F64, 4,
                                   (int64_t[]){2, 4, 5, 5}, -1, 1);
    tg_tensor *y = tg_layer_forward(t, l, x), *z = tg_conv2d(t, x, w, b, &o);
    ck_assert_ptr_nonnull(y);
    ck_assert_mem_eq(tg_data_f64(y), tg_data_f64(z),
                     (size_t)tg_numel(z) * sizeof(double));
    /* Without bias: one parameter. */
    l = tg_layer_conv2d_new(t, &rng, TG_F32, 1, 1, 1, 1, NULL, false);
    ck_assert_int_eq(l->n_params, 1);
    tg_tape_free(t);
}
END_TEST

START_TEST(pool_layers_are_their_ops)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 7, 0);
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 4,
                                   (int64_t[]){2, 3, 7, 6}, -1, 1);
    tg_pool2d_options o = tg_pool2d_defaults(3, 2);
    o.stride[0] = 2;
    o.padding[0] = 1;
    tg_tensor *pairs[3][2] = {
        {tg_layer_forward(t, tg_layer_max_pool2d_new(t, &o), x),
         tg_max_pool2d(t, x, &o)},
        {tg_layer_forward(t, tg_layer_avg_pool2d_new(t, &o), x),
         tg_avg_pool2d(t, x, &o)},
        {tg_layer_forward(t, tg_layer_adaptive_avg_pool2d_new(t, 4, 1), x),
         tg_adaptive_avg_pool2d(t, x, 4, 1)}};
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(pairs[i][0]);
        ck_assert_int_eq(tg_numel(pairs[i][0]), tg_numel(pairs[i][1]));
        ck_assert_mem_eq(tg_data_f32(pairs[i][0]), tg_data_f32(pairs[i][1]),
                         (size_t)tg_numel(pairs[i][1]) * sizeof(float));
    }
    /* The options were copied. */
    tg_layer *l = tg_layer_max_pool2d_new(t, &o);
    o.kernel[0] = 1;
    ck_assert_int_eq(tg_shape(tg_layer_forward(t, l, x))[2], 4);
    tg_tape_free(t);
}
END_TEST

static void rng_seeded(tg_rng *r, uint64_t seed, uint64_t stream)
{
    tg_rng_seed(r, seed, stream);
}

START_TEST(dropout_layer_draws_from_its_own_generator)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_ones(t, TG_F32, 2, (int64_t[]){8, 16});
    tg_layer *l = tg_layer_dropout_new(t, 0.25, 42, 9);
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_nonnull(tg_layer_buffer(l, "rng"));
    tg_rng r;
    rng_seeded(&r, 42, 9);
    /* Two forwards: the masks of tg_dropout on that generator, in turn. */
    for (int k = 0; k < 2; k++) {
        tg_tensor *y = tg_layer_forward(t, l, x);
        tg_tensor *z = tg_dropout(t, x, 0.25, &r, true);
        ck_assert_ptr_nonnull(y);
        ck_assert_mem_eq(tg_data_f32(y), tg_data_f32(z), 128 * sizeof(float));
    }
    /* Eval: the identity, nothing drawn. */
    double before[6];
    memcpy(before, tg_data_f64(tg_layer_buffer(l, "rng")), sizeof before);
    ck_assert_int_eq(tg_layer_set_training(l, false), TG_OK);
    ck_assert_ptr_eq(tg_layer_forward(t, l, x), x);
    ck_assert_mem_eq(before, tg_data_f64(tg_layer_buffer(l, "rng")),
                     sizeof before);
    /* A buffer that is not a generator is refused, and nothing drawn. */
    ck_assert_int_eq(tg_layer_set_training(l, true), TG_OK);
    tg_mut_f64(tg_layer_buffer(l, "rng"))[3] = 2.0;      /* even inc */
    ck_assert_ptr_null(tg_layer_forward(t, l, x));
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tg_layer_dropout"));
    tg_tape_free(t);
}
END_TEST

static char *temp_path(void)
{
    static char path[256];
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/tg_cnn_XXXXXX", base);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return path;
}

/* conv, batch norm, dropout, linear: trained for N + M steps, and for N,
 * saved, loaded into a net of other weights and seeds, M more: the same
 * bits (the dropout masks and the running statistics included). */
typedef struct net {
    tg_tape *t;
    tg_sequential *s;
    tg_optimizer *opt;
} net;

static net net_new(uint64_t seed)
{
    net n = {tg_tape_new(), NULL, NULL};
    tg_rng rng;
    tg_rng_seed(&rng, seed, 0);
    n.s = tg_sequential_new(n.t);
    add(n.s, tg_layer_conv2d_new(n.t, &rng, TG_F32, 2, 3, 3, 3, NULL, true));
    add(n.s, tg_layer_batch_norm_new(n.t, TG_F32, 3, 1e-5, 0.1, true));
    add(n.s, tg_layer_flatten_new(n.t, 1));
    add(n.s, tg_layer_dropout_new(n.t, 0.3, seed, 1));
    add(n.s, tg_layer_linear_new(n.t, &rng, TG_F32, 12, 2, true));
    tg_adam_options a = tg_adam_defaults();
    n.opt = tg_adam_new(n.t, tg_sequential_params(n.s), &a);
    ck_assert_ptr_nonnull(n.opt);
    return n;
}

static void steps(net *n, int from, int to)
{
    tg_tape *step = tg_tape_new();
    for (int k = from; k < to; k++) {
        tg_rng rng;
        tg_rng_seed(&rng, 500 + (uint64_t)k, 0);
        tg_tensor *x = tg_rand_uniform(step, &rng, TG_F32, 4,
                                       (int64_t[]){5, 2, 4, 4}, -1, 1);
        int64_t labels[5] = {0, 1, 1, 0, 1};
        tg_tensor *l = tg_cross_entropy(step, tg_sequential_forward(step, n->s,
                                                                     x),
                                        labels);
        tg_params_zero_grad(tg_sequential_params(n->s));
        ck_assert_int_eq(tg_backward(step, l), TG_OK);
        ck_assert_int_eq(tg_optimizer_step(n->opt), TG_OK);
        tg_tape_reset(step);
    }
    tg_tape_free(step);
}

START_TEST(resume_with_dropout_and_batch_norm_is_bit_for_bit)
{
    net whole = net_new(3), first = net_new(3), again = net_new(77);
    steps(&whole, 0, 5);
    steps(&first, 0, 2);
    char *path = temp_path();
    ck_assert_int_eq(tg_checkpoint_save(path, &(tg_checkpoint){
                         first.s, NULL, first.opt, NULL}), TG_OK);
    ck_assert_int_eq(tg_checkpoint_load(path, &(tg_checkpoint){
                         again.s, NULL, again.opt, NULL}), TG_OK);
    unlink(path);
    steps(&again, 2, 5);
    int n = tg_sequential_state_count(whole.s);
    ck_assert_int_eq(n, 10);   /* conv 2, bn 2 + 3, dropout 1, linear 2 */
    for (int i = 0; i < n; i++) {
        const char *name;
        tg_tensor *a = tg_sequential_state_at(whole.s, i, &name);
        tg_tensor *b = tg_sequential_state_at(again.s, i, NULL);
        size_t bytes = (size_t)tg_numel(a) * tg_dtype_size(tg_dtype_of(a));
        ck_assert_msg(memcmp(tg_dtype_of(a) == TG_F32
                             ? (const void *)tg_data_f32(a)
                             : (const void *)tg_data_f64(a),
                             tg_dtype_of(b) == TG_F32
                             ? (const void *)tg_data_f32(b)
                             : (const void *)tg_data_f64(b), bytes) == 0,
                      "%s differs after resuming", name);
    }
    ck_assert(tg_item(tg_layer_buffer(tg_sequential_at(whole.s, 1),
                                      "num_batches_tracked")) == 5.0);
    tg_tape_free(whole.t);
    tg_tape_free(first.t);
    tg_tape_free(again.t);
}
END_TEST

/* batch norm in eval mode normalises with the running statistics and
 * leaves them and the count alone. */
START_TEST(batch_norm_layer_follows_eval)
{
    tg_tape *t = tg_tape_new();
    tg_layer *l = tg_layer_batch_norm_new(t, TG_F64, 2, 1e-5, 0.1, false);
    ck_assert_int_eq(l->n_params, 0);
    ck_assert_int_eq(l->n_buffers, 3);
    tg_mut_f64(tg_layer_buffer(l, "running_mean"))[1] = 2.0;
    tg_mut_f64(tg_layer_buffer(l, "running_var"))[1] = 4.0;
    ck_assert_int_eq(tg_layer_set_training(l, false), TG_OK);
    const double xs[] = {1.0, 6.0, 3.0, 2.0};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 2}, xs);
    tg_tensor *y = tg_layer_forward(t, l, x);
    ck_assert_ptr_nonnull(y);
    ck_assert(tg_test_close(tg_data_f64(y)[1], 4.0 / sqrt(4.0 + 1e-5), 1e-12,
                            0));
    ck_assert(tg_test_close(tg_data_f64(y)[2], 3.0 / sqrt(1.0 + 1e-5), 1e-12,
                            0));
    ck_assert(tg_item(tg_layer_buffer(l, "num_batches_tracked")) == 0.0);
    ck_assert(tg_data_f64(tg_layer_buffer(l, "running_mean"))[1] == 2.0);
    /* One value per channel in training is refused, counting nothing. */
    ck_assert_int_eq(tg_layer_set_training(l, true), TG_OK);
    tg_tensor *one = tg_from_data(t, TG_F64, 2, (int64_t[]){1, 2}, xs);
    ck_assert_ptr_null(tg_layer_forward(t, l, one));
    ck_assert(tg_item(tg_layer_buffer(l, "num_batches_tracked")) == 0.0);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_cnn");
    TCase *tc = tg_test_tcase("layers");
    tcase_add_test(tc, lenet_matches_pytorch);
    tcase_add_test(tc, conv2d_initialises_as_pytorch);
    tcase_add_test(tc, pool_layers_are_their_ops);
    tcase_add_test(tc, dropout_layer_draws_from_its_own_generator);
    tcase_add_test(tc, resume_with_dropout_and_batch_norm_is_bit_for_bit);
    tcase_add_test(tc, batch_norm_layer_follows_eval);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
