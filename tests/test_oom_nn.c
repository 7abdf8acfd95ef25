/*
 * test_oom_nn.c — whole scenarios under allocation failure: a training step
 * of a small MLP, saving and loading it, and every nn.h constructor. Each
 * runs through the sweeps of tests/support/tg_oom.h (each allocation failing
 * in turn, for good and just once, and the tape's memory filled to each
 * level where the scenario's work is on the tape). The layers of
 * sequential.h, a schedule and checkpoints: test_oom_layers.c.
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
    tc = tg_test_tcase("constructors");
    tcase_add_loop_test(tc, constructors_under_oom, 0, 3);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
