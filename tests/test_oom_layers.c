/*
 * test_oom_layers.c — whole scenarios under allocation failure with the
 * layers of sequential.h: a small network trained with a schedule and
 * checkpointed (tapegrad/train.h), and the convolutional layers (conv2d,
 * batch norm, pooling, dropout) trained and checkpointed. Each runs through
 * the sweeps of tests/support/tg_oom.h. The MLP of nn.h, saving it and its
 * constructors: test_oom_nn.c.
 */
#include "tg_oom.h"

/* ---- Layers, a schedule and a checkpoint (tapegrad/train.h). ---------------- */

/* flatten, linear 6 -> 5, tanh, linear 5 -> 3 ("head") on t; NULL on a
 * failure, whose status is the last one. */
static tg_sequential *oom_net(tg_tape *t, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 0);
    tg_sequential *s = tg_sequential_new(t);
    if (tg_sequential_add(s, tg_layer_flatten_new(t, 1)) != TG_OK ||
        tg_sequential_add(s, tg_layer_linear_new(t, &rng, TG_F32, 6, 5,
                                                 true)) != TG_OK ||
        tg_sequential_add(s, tg_layer_activation_new(t, "tanh")) != TG_OK ||
        tg_sequential_add_named(s, "head", tg_layer_linear_new(
            t, &rng, TG_F32, 5, 3, true)) != TG_OK)
        return NULL;
    return tg_sequential_count(s) == 4 ? s : NULL;
}

/* Every array of a's state dict equals b's, byte for byte. */
static bool same_state(const tg_sequential *a, const tg_sequential *b)
{
    for (int i = 0; i < tg_sequential_state_count(a); i++) {
        const tg_tensor *x = tg_sequential_state_at(a, i, NULL);
        const tg_tensor *y = tg_sequential_state_at(b, i, NULL);
        if (memcmp(tg_data_f32(x), tg_data_f32(y),
                   (size_t)tg_numel(x) * sizeof(float)) != 0)
            return false;
    }
    return true;
}

static int train_and_checkpoint(tg_tape *t)
{
    tg_sequential *net = oom_net(t, 1);
    tg_params *p = tg_sequential_params(net);
    tg_optimizer *opt = tg_adam_new(t, p, NULL);
    tg_lr_schedule *sched = tg_lr_cosine_new(t, opt, 4, 0.0);
    if (sched == NULL)
        return tg_last_status();
    if (tg_params_count(p) != 4 || tg_sequential_state_count(net) != 4)
        return wrong("the container lists its 4 parameters");
    tg_rng rng;
    tg_rng_seed(&rng, 9, 0);
    int64_t shape[] = {4, 2, 3};
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 3, shape, -1.0, 1.0);
    tg_tensor *y = tg_sequential_forward(t, net, x);
    int rc = tg_backward(t, tg_mean(t, tg_mul(t, y, y)));
    if (rc == TG_OK)
        rc = tg_params_clip_grad_norm(p, 0.1, 2.0, NULL);
    if (rc == TG_OK)
        rc = tg_optimizer_step(opt);
    if (rc == TG_OK)
        rc = tg_lr_schedule_step(sched);
    if (rc != TG_OK)
        return rc;
    tg_checkpoint ck = {net, NULL, opt, sched};
    rc = tg_checkpoint_save(in_dir("ck.npz"), &ck);
    if (rc != TG_OK)
        return dir_entries() == 0 ? rc : wrong("a failed save left a file");
    /* Into a fresh model: a failed load changes nothing. */
    tg_sequential *fresh = oom_net(t, 2);
    tg_sequential *copy = oom_net(t, 2);
    tg_optimizer *opt2 = tg_adam_new(t, tg_sequential_params(fresh), NULL);
    tg_lr_schedule *sched2 = tg_lr_cosine_new(t, opt2, 4, 0.0);
    if (sched2 == NULL || copy == NULL) {
        unlink(in_dir("ck.npz"));
        return tg_last_status();
    }
    tg_checkpoint ck2 = {fresh, NULL, opt2, sched2};
    rc = tg_checkpoint_load(in_dir("ck.npz"), &ck2);
    unlink(in_dir("ck.npz"));
    if (rc != TG_OK) {
        if (!same_state(fresh, copy) || tg_lr_schedule_epoch(sched2) != 0 ||
            tg_optimizer_lr(opt2) != 1e-3)
            return wrong("a failed load changed the model");
        return rc;
    }
    if (!same_state(fresh, net) || tg_lr_schedule_epoch(sched2) != 1 ||
        tg_optimizer_lr(opt2) != tg_optimizer_lr(opt))
        return wrong("the loaded model equals the saved one");
    return TG_OK;
}

START_TEST(train_checkpoint_under_oom)
{
    make_dir();
    scenario sc = {"layers, schedule, clip, checkpoint save and load",
                   train_and_checkpoint, NULL, NULL};
    /* The writers allocate outside the tape: no fill levels. */
    oom_sweep(&sc, (mode)_i);
    remove_dir();
}
END_TEST


/* ---- cnn: the convolutional layers (sequential.h). ------------------------ */

/* conv2d, batch norm, relu, max pool, avg pool, adaptive avg pool,
 * flatten, dropout, linear on t; NULL on a failure. */
static tg_sequential *cnn_net(tg_tape *t, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 0);
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    tg_pool2d_options one = tg_pool2d_defaults(1, 1);
    tg_layer *l[] = {
        tg_layer_conv2d_new(t, &rng, TG_F32, 1, 3, 3, 3, NULL, true),
        tg_layer_batch_norm_new(t, TG_F32, 3, 1e-5, 0.1, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_max_pool2d_new(t, &two),
        tg_layer_avg_pool2d_new(t, &one),
        tg_layer_adaptive_avg_pool2d_new(t, 1, 1),
        tg_layer_flatten_new(t, 1),
        tg_layer_dropout_new(t, 0.5, seed, 1),
        tg_layer_linear_new(t, &rng, TG_F32, 3, 2, true)};
    tg_sequential *s = tg_sequential_new(t);
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (tg_sequential_add(s, l[i]) != TG_OK)
            return NULL;
    return s;
}

static int cnn_train_and_checkpoint(tg_tape *t)
{
    tg_sequential *net = cnn_net(t, 1);
    tg_optimizer *opt = tg_sgd_new(t, tg_sequential_params(net),
                                   &(tg_sgd_options){0.1, 0.9, 0, 0, false});
    if (opt == NULL)
        return tg_last_status();
    if (tg_sequential_state_count(net) != 10)
        return wrong("the CNN lists its 10 state entries");
    tg_rng rng;
    tg_rng_seed(&rng, 9, 0);
    int64_t shape[] = {3, 1, 6, 6};
    tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 4, shape, -1.0, 1.0);
    tg_tensor *y = tg_sequential_forward(t, net, x);
    int rc = tg_backward(t, tg_mean(t, tg_mul(t, y, y)));
    if (rc == TG_OK)
        rc = tg_optimizer_step(opt);
    if (rc == TG_OK)
        rc = tg_sequential_set_training(net, false);
    if (rc == TG_OK && tg_sequential_forward(t, net, x) == NULL)
        rc = tg_last_status();
    if (rc != TG_OK)
        return rc;
    tg_checkpoint ck = {net, NULL, opt, NULL};
    rc = tg_checkpoint_save(in_dir("cnn.npz"), &ck);
    if (rc != TG_OK)
        return dir_entries() == 0 ? rc : wrong("a failed save left a file");
    tg_sequential *fresh = cnn_net(t, 2);
    tg_optimizer *opt2 = fresh == NULL ? NULL : tg_sgd_new(
        t, tg_sequential_params(fresh), &(tg_sgd_options){0.1, 0.9, 0, 0,
                                                           false});
    if (opt2 == NULL) {
        unlink(in_dir("cnn.npz"));
        return tg_last_status();
    }
    rc = tg_checkpoint_load(in_dir("cnn.npz"), &(tg_checkpoint){fresh, NULL,
                                                                opt2, NULL});
    unlink(in_dir("cnn.npz"));
    if (rc != TG_OK)
        return rc;
    for (int i = 0; i < tg_sequential_state_count(net); i++) {
        const tg_tensor *a = tg_sequential_state_at(net, i, NULL);
        const tg_tensor *b = tg_sequential_state_at(fresh, i, NULL);
        size_t n = (size_t)tg_numel(a) * tg_dtype_size(tg_dtype_of(a));
        if (memcmp(tg_dtype_of(a) == TG_F32 ? (const void *)tg_data_f32(a)
                   : (const void *)tg_data_f64(a), tg_dtype_of(b) == TG_F32
                   ? (const void *)tg_data_f32(b)
                   : (const void *)tg_data_f64(b), n) != 0)
            return wrong("the loaded CNN equals the saved one");
    }
    return TG_OK;
}

START_TEST(cnn_layers_under_oom)
{
    make_dir();
    scenario sc = {"cnn layers: conv2d, batch norm, pooling, dropout; "
                   "checkpoint", cnn_train_and_checkpoint, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
    remove_dir();
}
END_TEST


int main(void)
{
    Suite *s = suite_create("oom_layers");
    TCase *tc;
    tc = tg_test_tcase("train");
    tcase_add_loop_test(tc, train_checkpoint_under_oom, 0, 2);
    tcase_add_loop_test(tc, cnn_layers_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
