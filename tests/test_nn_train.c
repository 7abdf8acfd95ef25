/*
 * test_nn_train.c — layers and the sequential container, gradient
 * clipping and learning-rate schedules against PyTorch
 * (fixtures/train_ref.h, made by gen_train.py), and checkpoints that
 * resume a run bit for bit.
 */
#include "tg_test.h"
#include "tapegrad/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixtures/train_ref.h"

#ifndef TG_TRAIN_FIXTURES
#error "TG_TRAIN_FIXTURES must name tests/fixtures"
#endif

/* flatten, linear 6 -> 5, relu (by name), linear 5 -> 3 named "head". */
static tg_sequential *small_net(tg_tape *t, uint64_t seed, tg_dtype dt)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 0);
    tg_sequential *s = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_flatten_new(t, 1)), TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_linear_new(t, &rng, dt, 6,
                                                              5, true)),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add(s, tg_layer_activation_new(t, "relu")),
                     TG_OK);
    ck_assert_int_eq(tg_sequential_add_named(s, "head", tg_layer_linear_new(
                         t, &rng, dt, 5, 3, true)), TG_OK);
    return s;
}

static tg_tensor *batch(tg_tape *t, uint64_t k, tg_dtype dt, int64_t cols)
{
    tg_rng rng;
    tg_rng_seed(&rng, 1000 + k, 3);
    int64_t shape[] = {4, 2, cols / 2};
    return tg_rand_uniform(t, &rng, dt, 3, shape, -1.0, 1.0);
}

START_TEST(sequential_is_the_layers_in_order)
{
    tg_tape *t = tg_tape_new();
    tg_sequential *s = small_net(t, 5, TG_F64);
    ck_assert_int_eq(tg_sequential_count(s), 4);
    ck_assert_str_eq(tg_sequential_name(s, 3), "head");
    ck_assert_str_eq(tg_sequential_name(s, 2), "2");
    tg_layer *l1 = tg_sequential_at(s, 1), *l3 = tg_sequential_at(s, 3);
    ck_assert_str_eq(l1->cls->kind, "linear");
    ck_assert_str_eq(tg_sequential_at(s, 2)->cls->kind, "relu");
    tg_tensor *x = batch(t, 0, TG_F64, 6);
    tg_tensor *y = tg_sequential_forward(t, s, x);
    ck_assert_ptr_nonnull(y);
    /* The same by hand. */
    int64_t flat[] = {4, 6};
    tg_tensor *h = tg_relu(t, tg_linear(t, tg_reshape(t, x, 2, flat),
                                        tg_layer_param(l1, "weight"),
                                        tg_layer_param(l1, "bias")));
    tg_tensor *want = tg_linear(t, h, tg_layer_param(l3, "weight"),
                                tg_layer_param(l3, "bias"));
    ck_assert_int_eq(tg_ndim(y), 2);
    ck_assert_int_eq(tg_shape(y)[0], 4);
    ck_assert_int_eq(tg_shape(y)[1], 3);
    ck_assert_mem_eq(tg_data_f64(y), tg_data_f64(want), 12 * sizeof(double));
    /* State-dict names and the parameter list. */
    static const char *const names[] = {"1.weight", "1.bias", "head.weight",
                                        "head.bias"};
    ck_assert_int_eq(tg_sequential_state_count(s), 4);
    tg_params *p = tg_sequential_params(s);
    ck_assert_int_eq(tg_params_count(p), 4);
    ck_assert_ptr_eq(tg_sequential_params(s), p);
    ck_assert_int_eq(tg_params_count(p), 4);
    for (int i = 0; i < 4; i++) {
        const char *name = NULL;
        tg_tensor *e = tg_sequential_state_at(s, i, &name);
        ck_assert_str_eq(name, names[i]);
        ck_assert_ptr_eq(e, tg_params_at(p, i));
    }
    /* Gradients reach every parameter through the container. */
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(tg_grad(tg_params_at(p, i)));
    tg_tape_free(t);
}
END_TEST

START_TEST(activation_layers_by_name_pointer_and_function)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -2.0, 2.0, 7);
    tg_layer *by_op = tg_layer_op_new(t, tg_op_find("tanh"), NULL);
    tg_layer *by_fn = tg_layer_fn_new(t, tg_sigmoid, "sigmoid");
    tg_layer *by_name = tg_layer_activation_new(t, "tanh");
    ck_assert_str_eq(by_fn->cls->kind, "sigmoid");
    ck_assert_str_eq(by_op->cls->kind, "tanh");
    ck_assert_mem_eq(tg_data_f32(tg_layer_forward(t, by_op, x)),
                     tg_data_f32(tg_tanh(t, x)), 7 * sizeof(float));
    ck_assert_mem_eq(tg_data_f32(tg_layer_forward(t, by_name, x)),
                     tg_data_f32(tg_tanh(t, x)), 7 * sizeof(float));
    ck_assert_mem_eq(tg_data_f32(tg_layer_forward(t, by_fn, x)),
                     tg_data_f32(tg_sigmoid(t, x)), 7 * sizeof(float));
    ck_assert_int_eq(by_op->n_params + by_fn->n_params, 0);
    /* flatten(0) of a (2, 3, 2) is (12,); flatten(2) keeps two dims. */
    int64_t shape[] = {2, 3, 2};
    tg_tensor *z = tg_zeros(t, TG_F32, 3, shape);
    tg_tensor *f0 = tg_layer_forward(t, tg_layer_flatten_new(t, 0), z);
    tg_tensor *f2 = tg_layer_forward(t, tg_layer_flatten_new(t, 2), z);
    ck_assert_int_eq(tg_ndim(f0), 1);
    ck_assert_int_eq(tg_shape(f0)[0], 12);
    ck_assert_int_eq(tg_ndim(f2), 3);
    ck_assert_int_eq(tg_shape(f2)[2], 2);
    tg_tape_free(t);
}
END_TEST

/* A layer of a user's own: y = x * scale in training, x in eval; it counts
 * forwards in a buffer and the switches in its state. */
typedef struct scale_state {
    double scale;
    int switches;
} scale_state;

static tg_tensor *scale_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    scale_state *st = l->state;
    tg_mut_f64(tg_layer_buffer(l, "calls"))[0] += 1.0;
    return l->training ? tg_mul_scalar(t, x, st->scale) : x;
}

static int scale_set_training(tg_layer *l, bool training)
{
    (void)training;
    ((scale_state *)l->state)->switches++;
    return TG_OK;
}

static const tg_layer_class scale_class = {"scale", scale_forward,
                                           scale_set_training};

START_TEST(user_layer_follows_train_and_eval)
{
    tg_tape *t = tg_tape_new();
    scale_state st = {3.0, 0};
    tg_layer *l = tg_layer_new(t, &scale_class, &st);
    ck_assert_int_eq(tg_layer_add_buffer(l, "calls", tg_zeros(t, TG_F64, 0,
                                                              NULL)), TG_OK);
    tg_sequential *s = tg_sequential_new(t);
    ck_assert_int_eq(tg_sequential_set_training(s, false), TG_OK);
    ck_assert_int_eq(tg_sequential_add_named(s, "sc", l), TG_OK);
    ck_assert(!l->training);              /* took the container's mode */
    tg_tensor *x = tg_linspace(t, TG_F64, 1.0, 2.0, 2);
    ck_assert_double_eq(tg_data_f64(tg_sequential_forward(t, s, x))[1], 2.0);
    ck_assert_int_eq(tg_sequential_set_training(s, true), TG_OK);
    ck_assert(l->training);
    ck_assert_double_eq(tg_data_f64(tg_sequential_forward(t, s, x))[1], 6.0);
    ck_assert_int_eq(st.switches, 2);
    /* The buffer is state, not a parameter. */
    ck_assert_int_eq(tg_params_count(tg_sequential_params(s)), 0);
    const char *name;
    tg_tensor *calls = tg_sequential_state_at(s, 0, &name);
    ck_assert_str_eq(name, "sc.calls");
    ck_assert_double_eq(tg_item(calls), 2.0);
    tg_tape_free(t);
}
END_TEST

/* ---- Schedules ------------------------------------------------------------ */

static void check_schedule(const char *what, tg_lr_schedule *s,
                           tg_optimizer *o, const double *want)
{
    ck_assert_ptr_nonnull(s);
    for (int e = 0; e <= SCHED_EPOCHS; e++) {
        if (e > 0)
            ck_assert_int_eq(tg_lr_schedule_step(s), TG_OK);
        ck_assert_int_eq(tg_lr_schedule_epoch(s), e);
        double got = tg_optimizer_lr(o);
        ck_assert_msg(tg_test_close(got, want[e], 1e-13, 1e-16),
                      "%s epoch %d: lr %.17g, PyTorch %.17g", what, e, got,
                      want[e]);
        ck_assert_double_eq(tg_lr_schedule_lr_at(s, e), got);
    }
}

START_TEST(schedules_match_pytorch)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    ck_assert_int_eq(tg_params_add(p, tg_zeros(t, TG_F32, 0, NULL)), TG_OK);
    tg_sgd_options so = tg_sgd_defaults(SCHED_BASE_LR);
#define CASE(name, make)                                                      \
    do {                                                                      \
        tg_optimizer *o = tg_sgd_new(t, p, &so);                              \
        check_schedule(#name, make, o, sched_##name);                         \
    } while (0)
    CASE(step, tg_lr_step_new(t, o, 3, 0.5));
    CASE(exponential, tg_lr_exponential_new(t, o, 0.9));
    CASE(cosine, tg_lr_cosine_new(t, o, 5, 0.001));
    CASE(warmup, tg_lr_warmup_new(t, o, 0.25, 1.0, 4));
    CASE(warmup_half, tg_lr_warmup_new(t, o, 0.5, 0.2, 3));
    CASE(warmup_cosine, tg_lr_warmup_cosine_new(t, o, 0.1, 3, 6, 0.01));
#undef CASE
    /* Over Adam too: the schedule only goes through tg_optimizer_set_lr. */
    tg_adam_options ao = tg_adam_defaults();
    ao.lr = SCHED_BASE_LR;
    tg_optimizer *adam = tg_adam_new(t, p, &ao);
    check_schedule("cosine over Adam", tg_lr_cosine_new(t, adam, 5, 0.001),
                   adam, sched_cosine);
    tg_tape_free(t);
}
END_TEST

/* ---- Clipping ------------------------------------------------------------- */

/* Two parameters (2, 3) and (4,) with the fixture's gradients, and a third
 * without a gradient (left out, as PyTorch). */
static tg_params *clip_params(tg_tape *t, tg_dtype dt)
{
    tg_params *p = tg_params_new(t);
    int64_t sa[] = {2, 3}, sb[] = {4};
    tg_tensor *a = tg_zeros(t, dt, 2, sa), *b = tg_zeros(t, dt, 1, sb);
    tg_tensor *none = tg_zeros(t, dt, 1, sb);
    ck_assert_int_eq(tg_params_add(p, a), TG_OK);
    ck_assert_int_eq(tg_params_add(p, none), TG_OK);
    ck_assert_int_eq(tg_params_add(p, b), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_add(t, tg_sum(t, a), tg_sum(t, b))),
                     TG_OK);
    for (int i = 0; i < 10; i++) {
        tg_tensor *g = tg_grad(i < 6 ? a : b);
        double v = i < 6 ? clip_grad_a[i] : clip_grad_b[i - 6];
        if (dt == TG_F32)
            tg_mut_f32(g)[i < 6 ? i : i - 6] = (float)v;
        else
            tg_mut_f64(g)[i < 6 ? i : i - 6] = v;
    }
    return p;
}

static double grad_at(tg_params *p, int i)
{
    tg_tensor *g = tg_grad(tg_params_at(p, i < 6 ? 0 : 2));
    int k = i < 6 ? i : i - 6;
    return tg_dtype_of(g) == TG_F32 ? tg_data_f32(g)[k] : tg_data_f64(g)[k];
}

START_TEST(clip_grad_norm_matches_pytorch)
{
    int n = (int)(sizeof clip_cases / sizeof clip_cases[0]);
    for (int c = 0; c < n; c++)
        for (int d = 0; d < 2; d++) {
            const clip_case *cc = &clip_cases[c];
            tg_dtype dt = d == 0 ? TG_F64 : TG_F32;
            double tol = d == 0 ? 1e-14 : 2e-7;
            tg_tape *t = tg_tape_new();
            tg_params *p = clip_params(t, dt);
            double total = -1.0;
            ck_assert_int_eq(tg_params_clip_grad_norm(p, cc->max_norm,
                                                      cc->norm_type, &total),
                             TG_OK);
            ck_assert_msg(tg_test_close(total, cc->total[d], tol, 0.0),
                          "%s %s: norm %.17g, PyTorch %.17g", cc->name,
                          tg_dtype_name(dt), total, cc->total[d]);
            for (int i = 0; i < 10; i++)
                ck_assert_msg(tg_test_close(grad_at(p, i), cc->grads[d][i],
                                            tol, 0.0),
                              "%s %s grad %d: %.17g, PyTorch %.17g", cc->name,
                              tg_dtype_name(dt), i, grad_at(p, i),
                              cc->grads[d][i]);
            ck_assert_ptr_null(tg_grad(tg_params_at(p, 1)));
            tg_tape_free(t);
        }
}
END_TEST

START_TEST(clip_grad_value_matches_pytorch)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = clip_params(t, TG_F64);
    ck_assert_int_eq(tg_params_clip_grad_value(p, CLIP_VALUE), TG_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_double_eq(grad_at(p, i), clip_value_grads[i]);
    /* No gradients at all: norm 0, nothing to do. */
    tg_params *empty = tg_params_new(t);
    double total = -1.0;
    ck_assert_int_eq(tg_params_clip_grad_norm(empty, 1.0, 2.0, &total), TG_OK);
    ck_assert_double_eq(total, 0.0);
    tg_tape_free(t);
}
END_TEST

/* ---- Checkpoints ----------------------------------------------------------- */

typedef enum { USE_SGD, USE_ADAM, USE_ADAMW } opt_choice;

typedef struct run {
    tg_tape *t;
    tg_sequential *net;
    tg_optimizer *opt;
    tg_lr_schedule *sched;
} run;

static run run_new(uint64_t seed, opt_choice oc, tg_dtype dt)
{
    run r = {.t = tg_tape_new()};
    r.net = small_net(r.t, seed, dt);
    tg_params *p = tg_sequential_params(r.net);
    if (oc == USE_SGD) {
        tg_sgd_options so = tg_sgd_defaults(0.05);
        so.momentum = 0.9;
        so.weight_decay = 1e-3;
        r.opt = tg_sgd_new(r.t, p, &so);
    } else {
        r.opt = oc == USE_ADAM ? tg_adam_new(r.t, p, NULL)
                               : tg_adamw_new(r.t, p, NULL);
    }
    r.sched = tg_lr_warmup_cosine_new(r.t, r.opt, 0.2, 2, 6, 1e-4);
    ck_assert_ptr_nonnull(r.sched);
    return r;
}

/* Steps from..to-1 of a fixed training run: each step's batch depends on
 * its number only. */
static void train(run *r, int from, int to, tg_dtype dt)
{
    tg_tape *step = tg_tape_new();
    tg_params *p = tg_sequential_params(r->net);
    for (int k = from; k < to; k++) {
        tg_tensor *x = batch(step, (uint64_t)k, dt, 6);
        tg_tensor *y = tg_sequential_forward(step, r->net, x);
        tg_tensor *loss = tg_mean(step, tg_mul(step, y, y));
        ck_assert_int_eq(tg_params_zero_grad(p), TG_OK);
        ck_assert_int_eq(tg_backward(step, loss), TG_OK);
        ck_assert_int_eq(tg_params_clip_grad_norm(p, 0.5, 2.0, NULL), TG_OK);
        ck_assert_int_eq(tg_optimizer_step(r->opt), TG_OK);
        ck_assert_int_eq(tg_lr_schedule_step(r->sched), TG_OK);
        tg_tape_reset(step);
    }
    tg_tape_free(step);
}

static char *temp_path(void)
{
    static char path[256];
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/tg_ckpt_XXXXXX", base);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return path;
}

static void resume_case(opt_choice oc, tg_dtype dt)
{
    enum { N = 3, M = 5 };
    run whole = run_new(11, oc, dt);
    train(&whole, 0, N + M, dt);

    run first = run_new(11, oc, dt);
    train(&first, 0, N, dt);
    tg_checkpoint ck = {first.net, NULL, first.opt, first.sched};
    char *path = temp_path();
    ck_assert_int_eq(tg_checkpoint_save(path, &ck), TG_OK);
    tg_tape_free(first.t);

    run again = run_new(99, oc, dt);      /* other weights until loaded */
    tg_checkpoint ck2 = {again.net, NULL, again.opt, again.sched};
    ck_assert_int_eq(tg_checkpoint_load(path, &ck2), TG_OK);
    ck_assert_int_eq(tg_lr_schedule_epoch(again.sched), N);
    train(&again, N, N + M, dt);
    unlink(path);

    tg_params *a = tg_sequential_params(whole.net);
    tg_params *b = tg_sequential_params(again.net);
    for (int64_t i = 0; i < tg_params_count(a); i++) {
        tg_tensor *x = tg_params_at(a, i), *y = tg_params_at(b, i);
        size_t bytes = (size_t)tg_numel(x) * tg_dtype_size(dt);
        const void *px = dt == TG_F32 ? (const void *)tg_data_f32(x)
                                      : (const void *)tg_data_f64(x);
        const void *py = dt == TG_F32 ? (const void *)tg_data_f32(y)
                                      : (const void *)tg_data_f64(y);
        ck_assert_msg(memcmp(px, py, bytes) == 0, "optimizer %d %s: "
                      "parameter %lld differs after resuming", (int)oc,
                      tg_dtype_name(dt), (long long)i);
    }
    ck_assert(tg_optimizer_lr(whole.opt) == tg_optimizer_lr(again.opt));
    tg_tape_free(whole.t);
    tg_tape_free(again.t);
}

START_TEST(resume_continues_bit_for_bit)
{
    resume_case(USE_SGD, TG_F32);
    resume_case(USE_ADAM, TG_F32);
    resume_case(USE_ADAMW, TG_F64);
    resume_case(USE_SGD, TG_F64);
}
END_TEST

START_TEST(checkpoint_of_a_params_list)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t), *q = tg_params_new(t);
    tg_tensor *a = tg_linspace(t, TG_F64, -1.0, 1.0, 5);
    tg_tensor *b = tg_zeros(t, TG_F64, 1, (int64_t[]){5});
    ck_assert_int_eq(tg_params_add(p, a), TG_OK);
    ck_assert_int_eq(tg_params_add(q, b), TG_OK);
    char *path = temp_path();
    ck_assert_int_eq(tg_checkpoint_save(path, &(tg_checkpoint){.params = p}),
                     TG_OK);
    /* The file is a plain .npz: "params.0". */
    ck_assert_ptr_nonnull(tg_npz_load_entry(t, path, "params.0"));
    ck_assert_int_eq(tg_checkpoint_load(path, &(tg_checkpoint){.params = q}),
                     TG_OK);
    ck_assert_mem_eq(tg_data_f64(a), tg_data_f64(b), 5 * sizeof(double));
    unlink(path);
    tg_tape_free(t);
}
END_TEST

/* A state dict PyTorch saved (np.savez of nn.Sequential's state_dict)
 * loads by name, and the network then computes what PyTorch computed. */
START_TEST(loads_a_pytorch_state_dict)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 3, 0);
    tg_sequential *s = tg_sequential_new(t);
    tg_sequential_add(s, tg_layer_flatten_new(t, 1));
    tg_sequential_add(s, tg_layer_linear_new(t, &rng, TG_F32, 6, 5, true));
    tg_sequential_add(s, tg_layer_activation_new(t, "relu"));
    tg_sequential_add(s, tg_layer_linear_new(t, &rng, TG_F32, 5, 3, true));
    ck_assert_int_eq(tg_checkpoint_load(TG_TRAIN_FIXTURES
                                        "/torch_sequential.npz",
                                        &(tg_checkpoint){.model = s}),
                     TG_OK);
    int64_t shape[] = {4, 2, 3};
    tg_tensor *x = tg_reshape(t, tg_linspace(t, TG_F32, -1.0, 1.0, 24), 3,
                              shape);
    tg_tensor *y = tg_sequential_forward(t, s, x);
    ck_assert_int_eq(tg_numel(y), 12);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(tg_test_close(tg_data_f32(y)[i],
                                    torch_sequential_out[i], 1e-5, 1e-6),
                      "output %d: %.9g, PyTorch %.9g", i,
                      (double)tg_data_f32(y)[i], torch_sequential_out[i]);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_train");
    TCase *tc = tg_test_tcase("layers");
    tcase_add_test(tc, sequential_is_the_layers_in_order);
    tcase_add_test(tc, activation_layers_by_name_pointer_and_function);
    tcase_add_test(tc, user_layer_follows_train_and_eval);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("schedules_and_clipping");
    tcase_add_test(tc, schedules_match_pytorch);
    tcase_add_test(tc, clip_grad_norm_matches_pytorch);
    tcase_add_test(tc, clip_grad_value_matches_pytorch);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("checkpoints");
    tcase_add_test(tc, resume_continues_bit_for_bit);
    tcase_add_test(tc, checkpoint_of_a_params_list);
    tcase_add_test(tc, loads_a_pytorch_state_dict);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
