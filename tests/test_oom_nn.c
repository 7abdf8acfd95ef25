/*
 * test_oom_nn.c — whole scenarios under allocation failure: a training step
 * of a small MLP, saving and loading it, layers with a schedule and a
 * checkpoint, every nn.h constructor, the convolutional layers. Each runs
 * through the sweeps of tests/support/tg_oom.h (each allocation failing in
 * turn, for good and just once, and the tape's memory filled to each level
 * where the scenario's work is on the tape).
 */
#include "tg_oom.h"

/* ---- A training step of a small MLP, and saving and loading it. */

typedef enum loss_kind { CROSS_ENTROPY_ADAM, HINGE_SGD } loss_kind;

/* The network, its parameters and optimizer, on a tape of their own. */
typedef struct mlp_state {
    tg_tape *ptape;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
    loss_kind kind;
    int steps;                   /* successful steps so far */
    unsigned char before[4096];  /* the parameters as built */
    size_t n_before;
} mlp_state;

/* The parameters' values, one after the other, into buf. */
static size_t params_bytes(const tg_params *p, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        const tg_tensor *x = tg_params_at(p, i);
        size_t len = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
        ck_assert_uint_le(n + len, cap);
        memcpy(buf + n, tg_dtype_of(x) == TG_F32
                            ? (const void *)tg_data_f32(x)
                            : (const void *)tg_data_f64(x), len);
        n += len;
    }
    return n;
}

static int mlp_build(mlp_state *m, loss_kind kind)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->ptape = tg_tape_new();
    if (m->ptape == NULL)
        return tg_last_status();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 5);
    bool ce = kind == CROSS_ENTROPY_ADAM;
    int64_t widths[] = {4, 8, ce ? 3 : 1};
    m->params = tg_params_new(m->ptape);
    m->net = tg_mlp_new(m->ptape, m->params, &rng, ce ? TG_F32 : TG_F64, 3,
                        widths, tg_relu);
    if (m->net == NULL)
        return tg_last_status();
    if (ce) {
        m->opt = tg_adam_new(m->ptape, m->params, NULL);
    } else {
        tg_sgd_options o = tg_sgd_defaults(0.1);
        o.momentum = 0.9;
        m->opt = tg_sgd_new(m->ptape, m->params, &o);
    }
    if (m->opt == NULL)
        return tg_last_status();
    m->n_before = params_bytes(m->params, m->before, sizeof m->before);
    return TG_OK;
}

/* One step: zero the gradients, the loss on a fixed batch of 6, backward,
 * the optimizer's update. */
static int mlp_step(tg_tape *t, mlp_state *m)
{
    static const double xv[24] = {0.5, -1, 2, 0.1, -0.3, 0.8, -1.5, 1,
                                  1.2, 0.4, -0.7, -2, 0, 0.9, 0.3, -0.6,
                                  -1.1, -0.2, 0.6, 1.7, 0.25, -0.9, 1.4, 0.05};
    static const int64_t labels[6] = {0, 2, 1, 1, 0, 2};
    static const double signs[6] = {1, -1, -1, 1, 1, -1};
    bool ce = m->kind == CROSS_ENTROPY_ADAM;
    tg_dtype dt = ce ? TG_F32 : TG_F64;
    tg_tensor *x = tg_empty(t, dt, 2, (int64_t[]){6, 4});
    tg_tensor *y = tg_empty(t, dt, 2, (int64_t[]){6, 1});
    if (x == NULL || y == NULL)
        return tg_last_status();
    for (int i = 0; i < 24; i++) {
        if (ce)
            tg_mut_f32(x)[i] = (float)xv[i];
        else
            tg_mut_f64(x)[i] = xv[i];
    }
    for (int i = 0; i < 6 && !ce; i++)
        tg_mut_f64(y)[i] = signs[i];
    tg_params_zero_grad(m->params);
    tg_tensor *out = tg_mlp_forward(t, m->net, x), *loss;
    if (ce)
        loss = tg_cross_entropy(t, out, labels);
    else
        loss = tg_add(t, tg_hinge_loss(t, out, y),
                      tg_l2_penalty(t, m->params, 1e-4));
    int rc = tg_backward(t, loss);
    if (rc == TG_OK)
        rc = tg_optimizer_step(m->opt);
    return rc;
}

/* What a successful step must give, bit for bit, set by the first. */
typedef struct reference {
    bool set;
    size_t n;
    unsigned char bytes[4096];
} reference;

/*
 * After a step that returned rc: a failed step left the parameters as they
 * were; a successful one changed them and, if it was the network's first,
 * gave the same bits as every other first step.
 */
static int mlp_check(mlp_state *m, int rc, reference *ref)
{
    unsigned char now[4096];
    size_t n = params_bytes(m->params, now, sizeof now);
    bool same = n == m->n_before && memcmp(now, m->before, n) == 0;
    if (rc != TG_OK)
        return same ? rc : wrong("a failed step changed the parameters");
    if (same)
        return wrong("the step did not change the parameters");
    memcpy(m->before, now, n);
    if (m->steps++ > 0)
        return TG_OK;            /* a later step: nothing to compare with */
    if (!ref->set) {
        ref->set = true;
        ref->n = n;
        memcpy(ref->bytes, now, n);
    }
    return n == ref->n && memcmp(now, ref->bytes, n) == 0
               ? TG_OK : wrong("the step's result differs from a clean run's");
}

/* The whole thing inside the failure window: build, step, free. */
static reference whole_ref[2];
static loss_kind whole_kind;

static int mlp_whole(tg_tape *t)
{
    mlp_state m;
    int rc = mlp_build(&m, whole_kind);
    if (rc == TG_OK)
        rc = mlp_check(&m, mlp_step(t, &m), &whole_ref[whole_kind]);
    tg_tape_free(m.ptape);
    return rc;
}

/* Only the step inside the window: the network is built beforehand. */
static mlp_state built;
static reference step_ref[2];

static void build_network(void)
{
    ck_assert_int_eq(mlp_build(&built, built.kind), TG_OK);
}

static void free_network(void)
{
    tg_tape_free(built.ptape);
    built.ptape = NULL;
}

static int mlp_only_step(tg_tape *t)
{
    return mlp_check(&built, mlp_step(t, &built), &step_ref[built.kind]);
}

START_TEST(mlp_training_step)
{
    loss_kind kind = _i % 2 ? HINGE_SGD : CROSS_ENTROPY_ADAM;
    const char *names[2][2] = {{"mlp build+step (cross-entropy, Adam, f32)",
                                "mlp step (cross-entropy, Adam, f32)"},
                               {"mlp build+step (hinge + L2, SGD, f64)",
                                "mlp step (hinge + L2, SGD, f64)"}};
    whole_kind = kind;
    built.kind = kind;
    scenario whole = {names[kind][0], mlp_whole, NULL, NULL};
    scenario step = {names[kind][1], mlp_only_step, build_network,
                     free_network};
    switch (_i / 2) {
    case 0:
        oom_sweep(&whole, STICKY);
        oom_sweep(&whole, ONCE);
        break;
    case 1:
        oom_sweep(&step, STICKY);
        oom_sweep(&step, ONCE);
        break;
    default:
        oom_sweep(&step, FILL_LEVELS);
    }
}
END_TEST

/* Save the network as .npz and one tensor as .npy, load both back. */
static int tensors_equal(const tg_tensor *a, const tg_tensor *b)
{
    if (a == NULL || b == NULL)
        return tg_last_status();
    size_t n = (size_t)tg_numel(a) * tg_dtype_size(tg_dtype_of(a));
    bool same = tg_dtype_of(a) == tg_dtype_of(b) &&
                tg_ndim(a) == tg_ndim(b) && tg_numel(a) == tg_numel(b) &&
                memcmp(tg_shape(a), tg_shape(b),
                       (size_t)tg_ndim(a) * sizeof(int64_t)) == 0 &&
                memcmp(tg_dtype_of(a) == TG_F32 ? (const void *)tg_data_f32(a)
                                                : (const void *)tg_data_f64(a),
                       tg_dtype_of(b) == TG_F32 ? (const void *)tg_data_f32(b)
                                                : (const void *)tg_data_f64(b),
                       n) == 0;
    return same ? TG_OK : wrong("a loaded tensor differs from the saved one");
}

static int save_and_load(tg_tape *t)
{
    static const char *const names[] = {"w0", "b0", "w1", "b1"};
    const tg_tensor *arrays[4];
    for (int i = 0; i < 4; i++)
        arrays[i] = tg_params_at(built.params, i);
    int files = 0, rc = tg_npz_save(in_dir("model.npz"), 4, names, arrays);
    if (rc == TG_OK)
        files++;
    if (rc == TG_OK)
        rc = tg_npy_save(in_dir("w0.npy"), arrays[0]);
    if (rc == TG_OK)
        files++;
    /* A failed save leaves neither the file nor a temporary one. */
    if (dir_entries() != files)
        rc = wrong("a failed save left a file behind");
    const tg_npz *z = rc == TG_OK ? tg_npz_load(t, in_dir("model.npz")) : NULL;
    if (rc == TG_OK && z == NULL)
        rc = tg_last_status();
    if (rc == TG_OK && z->n != 4)
        rc = wrong("the archive holds 4 arrays");
    for (int i = 0; i < 4 && rc == TG_OK; i++)
        rc = tensors_equal(tg_npz_get(z, names[i]), arrays[i]);
    if (rc == TG_OK)
        rc = tensors_equal(tg_npz_load_entry(t, in_dir("model.npz"), "b1"),
                           arrays[3]);
    if (rc == TG_OK)
        rc = tensors_equal(tg_npy_load(t, in_dir("w0.npy")), arrays[0]);
    unlink(in_dir("model.npz"));
    unlink(in_dir("w0.npy"));
    return rc;
}

START_TEST(model_save_and_load)
{
    make_dir();
    built.kind = CROSS_ENTROPY_ADAM;
    scenario sc = {"save and load a model (.npz, .npy)", save_and_load,
                   build_network, free_network};
    /* The writers allocate outside the tape first: no fill levels. */
    oom_sweep(&sc, (mode)_i);
    remove_dir();
}
END_TEST

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

/* ---- Every constructor of nn.h: a failure changes nothing. --------
 * Leaves made beforehand (on a tape of their own, outside the failure
 * window) are added to a list on the failing tape, then a network, a layer
 * and each optimizer are made over it. After each failure: the list holds
 * what it held, the tensor not added still does not require grad, the rng
 * is where it was, and the parameters' values are as they were. */

enum { N_LEAVES = 20 };
static tg_tape *ctor_tape;
static tg_tensor *ctor_leaves[N_LEAVES];

static void ctor_prepare(void)
{
    ctor_tape = tg_tape_new();
    ck_assert_ptr_nonnull(ctor_tape);
    for (int i = 0; i < N_LEAVES; i++) {
        ctor_leaves[i] = tg_scalar(ctor_tape, TG_F64, 1.0 + i);
        ck_assert_ptr_nonnull(ctor_leaves[i]);
    }
}

static void ctor_release(void)
{
    tg_tape_free(ctor_tape);
    ctor_tape = NULL;
}

static tg_tensor *ctor_act(tg_tape *t, tg_tensor *x) { return tg_tanh(t, x); }

/* The state checks after constructor rc: count as before, rng unmoved. */
static int ctor_unchanged(int rc, const tg_params *p, int64_t count,
                          const tg_rng *rng, const tg_rng *rng_before)
{
    if (rc == TG_OK)
        return TG_OK;
    char why[256];
    snprintf(why, sizeof why, "%s", tg_last_error());
    if (tg_params_count(p) != count)
        return wrong("a failed constructor changed the parameter list");
    if (rng != NULL && (rng->state != rng_before->state ||
                        rng->inc != rng_before->inc ||
                        rng->has_spare != rng_before->has_spare))
        return wrong("a failed constructor moved the rng");
    for (int i = 0; i < N_LEAVES; i++)
        if (tg_item(ctor_leaves[i]) != 1.0 + i)
            return wrong("a failed constructor changed a parameter");
    return tg_set_error(rc, "%s", why);
}

static int constructors(tg_tape *t)
{
    tg_params *p = tg_params_new(t);
    if (p == NULL)
        return tg_last_status();
    for (int i = 0; i < N_LEAVES; i++) {     /* the list grows past 16 */
        int rc = tg_params_add(p, ctor_leaves[i]);
        if (rc != TG_OK && tg_requires_grad(ctor_leaves[i]))
            return wrong("a failed tg_params_add left requires_grad on");
        if ((rc = ctor_unchanged(rc, p, i, NULL, NULL)) != TG_OK)
            return rc;
    }
    tg_rng rng, before;
    tg_rng_seed(&rng, 7, 0);
    before = rng;
    int64_t widths[3] = {3, 4, 2};
    tg_mlp *m = tg_mlp_new(t, p, &rng, TG_F64, 3, widths, ctor_act);
    int rc = ctor_unchanged(m ? TG_OK : tg_last_status(), p, N_LEAVES, &rng,
                            &before);
    if (rc != TG_OK)
        return rc;
    tg_linear_layer l;
    before = rng;
    rc = ctor_unchanged(tg_linear_layer_init(&l, t, p, &rng, TG_F64, 2, 3,
                                             true),
                        p, N_LEAVES + 4, &rng, &before);
    if (rc != TG_OK)
        return rc;
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    sgd.momentum = 0.9;
    tg_optimizer *o[3] = {tg_sgd_new(t, p, &sgd), NULL, NULL};
    if (o[0] != NULL)
        o[1] = tg_adam_new(t, p, NULL);
    if (o[1] != NULL)
        o[2] = tg_adamw_new(t, p, NULL);
    rc = ctor_unchanged(o[2] ? TG_OK : tg_last_status(), p, N_LEAVES + 6,
                        NULL, NULL);
    if (rc != TG_OK)
        return rc;
    if (tg_params_count(p) != N_LEAVES + 6 || tg_mlp_layers(m) != 2)
        return wrong("the constructors made the wrong things");
    for (int i = 0; i < N_LEAVES; i++)   /* for the next run */
        tg_set_requires_grad(ctor_leaves[i], false);
    return TG_OK;
}

START_TEST(constructors_under_oom)
{
    static const scenario sc = {"nn constructors", constructors,
                                ctor_prepare, ctor_release};
    oom_sweep(&sc, (mode)_i);
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
    Suite *s = suite_create("oom_nn");
    TCase *tc;
    tc = tg_test_tcase("mlp");
    tcase_add_loop_test(tc, mlp_training_step, 0, 6);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("save_load");
    tcase_add_loop_test(tc, model_save_and_load, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("train");
    tcase_add_loop_test(tc, train_checkpoint_under_oom, 0, 2);
    tcase_add_loop_test(tc, cnn_layers_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("constructors");
    tcase_add_loop_test(tc, constructors_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
