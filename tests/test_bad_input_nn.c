/*
 * test_bad_input_nn.c — bad input: networks and optimizers; layers,
 * schedules, clipping and checkpoints; the sequence and convolutional
 * layers; lifecycles of handles across resets (tapegrad/nn.h, train.h,
 * sequential.h). One row per mistake: the status and the message fragment
 * it must give back. tests/support/tg_bad_input.h says how a row is run and
 * what it must leave behind.
 */
#include "tg_bad_input.h"

/* ---- Networks, losses and optimizers. */

static int mlp_new_widths(fx *f, int n, const int64_t *widths)
{
    tg_rng rng = seeded();
    return ptr(tg_mlp_new(f->t, NULL, &rng, TG_F64, n, widths, tg_relu));
}

/* An MLP whose input size does not match x: the layer names the shapes. */
static int mlp_wrong_input(fx *f)
{
    tg_rng rng = seeded();
    tg_mlp *m = tg_mlp_new(f->t, NULL, &rng, TG_F32, 2, (int64_t[]){5, 2},
                           tg_relu);
    if (m == NULL)
        return tg_last_status();
    return ptr(tg_mlp_forward(f->t, m, f->a34));
}

static int optimizer_on_failed_params(fx *f)
{
    tg_params *p = tg_params_new(NULL);     /* fails: the tape is NULL */
    return ptr(tg_adam_new(f->t, p, NULL));
}

/* ---- Layers, schedules, clipping and checkpoints (tapegrad/train.h). */

/* flatten, linear 6 -> hidden, relu, linear hidden -> 3 (more layers
 * with extra), on f->t. */
static tg_sequential *train_net(fx *f, tg_dtype dt, int64_t hidden,
                                bool extra)
{
    tg_rng rng = seeded();
    tg_sequential *s = tg_sequential_new(f->t);
    tg_sequential_add(s, tg_layer_flatten_new(f->t, 1));
    tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, 6, hidden,
                                             true));
    tg_sequential_add(s, tg_layer_activation_new(f->t, "relu"));
    tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, hidden, 3,
                                             true));
    if (extra)
        tg_sequential_add(s, tg_layer_linear_new(f->t, &rng, dt, 3, 2,
                                                 false));
    return s;
}

/* The bytes of every entry of s's state dict, concatenated (to see that a
 * failed load changed nothing). */
static size_t state_bytes(const tg_sequential *s, unsigned char *out,
                          size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < tg_sequential_state_count(s); i++) {
        tg_tensor *x = tg_sequential_state_at(s, i, NULL);
        size_t b = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
        const void *d = tg_dtype_of(x) == TG_F32 ? (const void *)
                        tg_data_f32(x) : (const void *)tg_data_f64(x);
        if (n + b <= cap)
            memcpy(out + n, d, b);
        n += b;
    }
    return n;
}

/* Save a (with an optimizer of kind sa), load into b (optimizer kind sb,
 * or none for -1); b's state must be as before when the load fails. */
static int ckpt_mismatch(fx *f, tg_sequential *a, int sa, tg_sequential *b,
                         int sb)
{
    if (a == NULL || b == NULL)
        return tg_last_status();
    tg_sgd_options so = tg_sgd_defaults(0.1);
    tg_optimizer *oa = sa < 0 ? NULL : sa == 0
        ? tg_sgd_new(f->t, tg_sequential_params(a), &so)
        : tg_adam_new(f->t, tg_sequential_params(a), NULL);
    tg_optimizer *ob = sb < 0 ? NULL : sb == 0
        ? tg_sgd_new(f->t, tg_sequential_params(b), &so)
        : tg_adam_new(f->t, tg_sequential_params(b), NULL);
    int rc = tg_checkpoint_save(in_dir(f, "ck.npz"),
                                &(tg_checkpoint){a, NULL, oa, NULL});
    if (rc != TG_OK)
        return rc;
    static unsigned char before[4096], after[4096];
    size_t nb = state_bytes(b, before, sizeof before);
    double lr = ob != NULL ? tg_optimizer_lr(ob) : 0.0;
    rc = tg_checkpoint_load(f->path, &(tg_checkpoint){b, NULL, ob, NULL});
    int status = tg_last_status();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    unlink(f->path);
    if (rc != TG_OK) {
        if (state_bytes(b, after, sizeof after) != nb ||
            memcmp(before, after, nb) != 0 ||
            (ob != NULL && tg_optimizer_lr(ob) != lr))
            return expect(false, "a failed load left the model as it was");
        tg_set_error(status, "%s", msg);   /* the load's own error */
    }
    return rc;
}

static int ckpt_no_file(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return tg_checkpoint_load(in_dir(f, "none.npz"),
                              &(tg_checkpoint){.model = s});
}

static int ckpt_both(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return tg_checkpoint_save(in_dir(f, "x.npz"),
                              &(tg_checkpoint){s, tg_sequential_params(s),
                                               NULL, NULL});
}

/* A params-list file loaded into a sequential: every name is wrong. */
static int ckpt_params_into_model(fx *f)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->a34);
    int rc = tg_checkpoint_save(in_dir(f, "p.npz"),
                                &(tg_checkpoint){.params = p});
    tg_sequential *s = tg_sequential_new(f->t);
    if (rc == TG_OK)
        rc = tg_checkpoint_load(f->path, &(tg_checkpoint){.model = s});
    unlink(f->path);
    return rc;
}

/* A clip that is refused leaves the gradients alone. */
static int clip_refused(fx *f, double max_norm, double norm_type,
                        double value)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    int rc = tg_backward(f->t, tg_sum(f->t, tg_mul_scalar(f->t, f->d34,
                                                          5.0)));
    if (rc != TG_OK)
        return rc;
    rc = isnan(value) ? tg_params_clip_grad_norm(p, max_norm, norm_type, NULL)
                      : tg_params_clip_grad_value(p, value);
    int status = tg_last_status();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    for (int i = 0; i < 12; i++)
        if (tg_data_f64(tg_grad(f->d34))[i] != 5.0)
            return expect(false, "a refused clip left the gradients alone");
    tg_set_error(status, "%s", msg);
    return rc;
}

/* A refused schedule leaves the optimizer's rate alone. */
static int sched_refused(fx *f, int which)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    tg_sgd_options so = tg_sgd_defaults(0.5);
    tg_optimizer *o = tg_sgd_new(f->t, p, &so);
    tg_lr_schedule *s =
        which == 0 ? tg_lr_step_new(f->t, o, 0, 0.5)
        : which == 1 ? tg_lr_exponential_new(f->t, o, 0.0)
        : which == 2 ? tg_lr_cosine_new(f->t, o, 10, -1.0)
        : which == 3 ? tg_lr_warmup_new(f->t, o, 0.0, 1.0, 5)
        : which == 4 ? tg_lr_warmup_cosine_new(f->t, o, 0.1, 0, 10, 0.0)
        : tg_lr_cosine_new(f->t, o, 0, 0.0);
    int rc = ptr(s);
    if (tg_optimizer_lr(o) != 0.5)
        return expect(false, "a refused schedule left the rate alone");
    return rc;
}

static int sched_failed_optimizer(fx *f)
{
    tg_sgd_options so = tg_sgd_defaults(-1.0);
    tg_optimizer *o = tg_sgd_new(f->t, tg_params_new(f->t), &so);
    return ptr(tg_lr_step_new(f->t, o, 2, 0.5));
}

static int seq_add_twice(fx *f)
{
    tg_sequential *s = tg_sequential_new(f->t);
    tg_layer *l = tg_layer_flatten_new(f->t, 1);
    int rc = tg_sequential_add(s, l);
    if (rc != TG_OK)
        return rc;
    rc = tg_sequential_add(s, l);
    if (tg_sequential_count(s) != 1)
        return expect(false, "a refused add left the container as it was");
    return rc;
}

static int seq_add_name(fx *f, const char *name)
{
    tg_sequential *s = tg_sequential_new(f->t);
    int rc = tg_sequential_add_named(s, "fc", tg_layer_flatten_new(f->t, 1));
    return rc != TG_OK ? rc : tg_sequential_add_named(
        s, name, tg_layer_flatten_new(f->t, 1));
}

static int seq_wrong_input(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return ptr(tg_sequential_forward(f->t, s, f->a34));   /* 4, not 6 */
}

static int layer_param_twice(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_linear_new(f->t, &rng, TG_F32, 2, 2, true);
    return tg_layer_add_param(l, "bias", f->b5);
}

static int layer_op_binary(fx *f)
{
    return ptr(tg_layer_op_new(f->t, tg_op_find("add"), NULL));
}

static int layer_flatten_too_far(fx *f)
{
    return ptr(tg_layer_forward(f->t, tg_layer_flatten_new(f->t, 2),
                                f->a34));
}

static int layer_linear_zero(fx *f)
{
    tg_rng rng = seeded();
    return ptr(tg_layer_linear_new(f->t, &rng, TG_F32, 0, 3, true));
}

/* ---- cnn: the convolutional layers (sequential.h). */

/* A refused conv2d layer draws nothing from rng. */
static int cnn_conv_refused(fx *f, int64_t in, int64_t stride,
                            int64_t groups)
{
    tg_rng rng = seeded(), before = rng;
    tg_conv_options o = tg_conv_defaults();
    o.stride[1] = stride;
    o.groups = groups;
    int rc = ptr(tg_layer_conv2d_new(f->t, &rng, TG_F32, in, 4, 3, 3, &o,
                                     true));
    /* Field by field: the struct has padding. */
    if (rng.state != before.state || rng.inc != before.inc ||
        rng.has_spare != before.has_spare)
        return expect(false, "a refused conv2d layer drew nothing");
    return rc;
}

/* A 5x5 kernel on the 3x4 image of a (1,1,3,4) input, padding 1. */
static int cnn_conv_kernel_too_big(fx *f)
{
    tg_rng rng = seeded();
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 0;
    tg_layer *l = tg_layer_conv2d_new(f->t, &rng, TG_F32, 1, 2, 5, 5, &o,
                                      true);
    tg_tensor *x = tg_reshape(f->t, f->a34, 4, (int64_t[]){1, 1, 3, 4});
    return ptr(tg_layer_forward(f->t, l, x));
}

static int cnn_pool_refused(fx *f, int which)
{
    tg_pool2d_options o = tg_pool2d_defaults(2, 2);
    if (which == 0)
        o.stride[0] = 0;
    else if (which == 1)
        o.padding[1] = 2;
    else
        o.dilation[0] = 2;
    return ptr(which == 2 ? tg_layer_avg_pool2d_new(f->t, &o)
                          : tg_layer_max_pool2d_new(f->t, &o));
}

/* Batch norm over one value per channel in training: refused, and the
 * running statistics and the count are as they were. */
static int cnn_bn_one_value(fx *f)
{
    tg_layer *l = tg_layer_batch_norm_new(f->t, TG_F64, 4, 1e-5, 0.1, true);
    tg_tensor *x = tg_reshape(f->t, f->d34, 2, (int64_t[]){1, 12});
    x = tg_reshape(f->t, tg_slice(f->t, x, 1, 0, 4, 1), 2,
                   (int64_t[]){1, 4});
    int rc = ptr(tg_layer_forward(f->t, l, x));
    if (tg_data_f64(tg_layer_buffer(l, "running_mean"))[0] != 0.0 ||
        tg_data_f64(tg_layer_buffer(l, "running_var"))[0] != 1.0 ||
        tg_item(tg_layer_buffer(l, "num_batches_tracked")) != 0.0)
        return expect(false, "a refused batch norm left its statistics");
    return rc;
}

/* A checkpoint of a net without dropout, loaded into one with it: the
 * dropout layer's generator is missing; nothing is changed. */
static tg_sequential *cnn_net(fx *f, bool dropout)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    if (dropout)
        tg_sequential_add(s, tg_layer_dropout_new(f->t, 0.5, 1, 0));
    return s;
}

/* ---- Lifecycles of handles and tensors (issue 17, classes 3-6, 12). ---- */

/* A parameter list whose tape was reset (and reused). */
static int params_add_stale(fx *f)
{
    tg_tape *pt = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_params_add(p, tg_scalar(pt, TG_F32, 1));
    tg_tape_reset(pt);
    tg_zeros(pt, TG_F32, 1, (int64_t[]){64});
    int rc = tg_params_add(p, f->s);
    int ok = expect(!tg_requires_grad(f->s), "requires_grad left as it was");
    tg_tape_free(pt);
    return ok == TG_OK ? rc : ok;
}

/* An optimizer on f->t over parameters of a tape reset since. */
static int optimizer_step_stale_param(fx *f)
{
    tg_tape *pt = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_params_add(p, tg_scalar(pt, TG_F32, 1));
    tg_optimizer *o = tg_adam_new(f->t, p, NULL);
    tg_tape_reset(pt);
    int rc = tg_optimizer_step(o);
    tg_tape_free(pt);
    return rc;
}

/* An optimizer whose own tape was reset: the parameters (on f->t) are
 * not touched. */
static int optimizer_step_stale(fx *f)
{
    tg_tape *ot = tg_tape_new();
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    tg_backward(f->t, tg_sum(f->t, f->d34));
    tg_sgd_options sgd = tg_sgd_defaults(0.5);
    sgd.momentum = 0.9;
    tg_optimizer *o = tg_sgd_new(ot, p, &sgd);
    double before = tg_value_at(f->d34, 0);
    tg_tape_reset(ot);
    int rc = tg_optimizer_step(o);
    int ok = expect(tg_value_at(f->d34, 0) == before, "parameter unchanged");
    tg_tape_free(ot);
    return ok == TG_OK ? rc : ok;
}

static int mlp_forward_stale(fx *f)
{
    tg_tape *nt = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 0);
    tg_mlp *m = tg_mlp_new(nt, NULL, &rng, TG_F32, 2, (int64_t[]){4, 2},
                           tg_relu);
    tg_tape_reset(nt);
    int rc = ptr(tg_mlp_forward(f->t, m, f->a34));
    tg_tape_free(nt);
    return rc;
}

static int params_add_twice(fx *f)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->a34);
    int rc = tg_params_add(p, f->a34);
    int ok = expect(tg_params_count(p) == 1, "the list still has one");
    return ok == TG_OK ? rc : ok;
}

/* x written through tg_mut_f32 after mul saved it: refused, and x's
 * gradient not touched. */
static int backward_after_write(fx *f)
{
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, f->a34));
    tg_mut_f32(f->a34)[0] = 9;
    int rc = tg_backward(f->t, root);
    int ok = expect(tg_grad(f->a34) == NULL, "no gradient written");
    return ok == TG_OK ? rc : ok;
}

/* An intermediate of another tape that requires grad. */
static int backward_foreign_intermediate(fx *f)
{
    tg_tape *a = tg_tape_new();
    tg_tensor *x = tg_scalar(a, TG_F32, 2);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_exp(a, x);
    int rc = tg_backward(f->t, tg_mul(f->t, f->s, y));
    int ok = expect(tg_grad(x) == NULL, "no gradient written to x");
    tg_tape_free(a);
    return ok == TG_OK ? rc : ok;
}

/* tg_tape_print of an entry whose input's tape was reset and reused. */
static int tape_print_stale_input(fx *f)
{
    tg_tape *a = tg_tape_new();
    tg_tensor *x = tg_scalar(a, TG_F32, 2);
    tg_relu(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(a);
    tg_zeros(a, TG_F64, 1, (int64_t[]){256});
    FILE *out = fopen("/dev/null", "w");
    int rc = out ? tg_tape_print(f->t, out) : TG_EIO;
    if (out)
        fclose(out);
    tg_tape_free(a);
    return rc;
}

static tg_tensor *leaf_for_forward;
static tg_tensor *return_leaf(tg_op_ctx *c)
{
    (void)c;
    return leaf_for_forward;
}
static int no_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                       tg_tensor *const *gx)
{
    (void)c; (void)y; (void)gy; (void)gx;
    return TG_OK;
}

/* A user forward that returns an existing leaf: refused, the leaf still
 * a leaf. */
static int forward_returns_leaf(fx *f)
{
    static const tg_op op = {.name = "steal", .arity = 1,
                             .forward = return_leaf, .backward = no_backward};
    leaf_for_forward = f->d34;
    int rc = ptr(tg_apply(f->t, &op, 1, &f->a34, NULL));
    int ok = expect(tg_set_requires_grad(f->d34, true) == TG_OK,
                    "the leaf is still a leaf");
    return ok == TG_OK ? rc : ok;
}

/* ---- seqlayers: the sequence layers of tapegrad/sequence.h ------------ */

/* An embedding layer of 3 rows of 2 run on the ids v (n of them). */
static int seq_embedding_ids(fx *f, int n, const double *v)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, -1);
    int64_t shape[] = {n};
    tg_tensor *ids = tg_from_data(f->t, TG_F64, 1, shape, v);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, ids));
}

static int seq_embedding_rank(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, -1);
    tg_tensor *ids = tg_zeros(f->t, TG_F32, 8, nine);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, ids));
}

/* A GRU (gru) or LSTM layer of input 4, hidden 3, on a34 (an unbatched
 * (T=3, 4)) or on x, with the states h0 and c0. */
static int seq_rnn(fx *f, bool lstm, tg_tensor *x, tg_tensor *h0,
                   tg_tensor *c0)
{
    tg_rng rng = seeded();
    tg_layer *l = lstm ? tg_layer_lstm_new(f->t, &rng, TG_F32, 4, 3)
                       : tg_layer_gru_new(f->t, &rng, TG_F32, 4, 3);
    tg_tensor *hn = f->s, *cn = f->s;
    int64_t size = tg_tape_size(f->t);
    int rc = ptr_unchanged(f, size, tg_layer_rnn_forward(
        f->t, l, x ? x : f->a34, h0, c0, &hn, lstm ? &cn : NULL));
    if (rc != TG_OK && (hn != NULL || (lstm && cn != NULL)))
        return expect(false, "h_n and c_n are NULL after an error");
    return rc;
}

static int seq_gru_hidden_mismatch(fx *f)
{
    return seq_rnn(f, false, NULL, f->b5, NULL);   /* h0 (5,), hidden 3 */
}

static int seq_lstm_cell_state_mismatch(fx *f)
{
    tg_tensor *h0 = tg_zeros(f->t, TG_F32, 1, n3);
    return seq_rnn(f, true, NULL, h0, f->b5);
}

static int seq_gru_batched_h0_rows(fx *f)
{
    int64_t xs[] = {2, 5, 4}, hs[] = {1, 3, 3};
    return seq_rnn(f, false, tg_zeros(f->t, TG_F32, 3, xs),
                   tg_zeros(f->t, TG_F32, 3, hs), NULL);
}

static int seq_rnn_state_dtype(fx *f)
{
    return seq_rnn(f, false, NULL, tg_zeros(f->t, TG_F64, 1, n3), NULL);
}

static int seq_gru_given_c0(fx *f)
{
    return seq_rnn(f, false, NULL, NULL, f->b5);
}

static int seq_rnn_rank(fx *f)
{
    return seq_rnn(f, true, f->b5, NULL, NULL);
}

static int seq_rnn_input_size(fx *f)
{
    int64_t xs[] = {2, 5, 6};
    return seq_rnn(f, true, tg_zeros(f->t, TG_F32, 3, xs), NULL, NULL);
}

static int seq_rnn_dtype(fx *f)
{
    return seq_rnn(f, false, f->d34, NULL, NULL);
}

static int seq_rnn_not_recurrent(fx *f)
{
    return ptr(tg_layer_rnn_forward(f->t, tg_layer_flatten_new(f->t, 0),
                                    f->a34, NULL, NULL, NULL, NULL));
}

static int seq_mha_width(fx *f)
{
    tg_rng rng = seeded();
    tg_layer *l = tg_layer_mha_new(f->t, &rng, TG_F32, 6, 2, true);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, f->a34));
}

static int seq_layer_norm_shape(fx *f)
{
    tg_layer *l = tg_layer_layer_norm_new(f->t, TG_F32, 1, (int64_t[]){5},
                                          1e-5);
    int64_t size = tg_tape_size(f->t);
    return ptr_unchanged(f, size, tg_layer_forward(f->t, l, f->a34));
}

static int seq_new_null_rng(fx *f)
{
    return ptr(tg_layer_gru_new(f->t, NULL, TG_F32, 4, 3));
}

static int seq_new_bad_sizes(fx *f, int which)
{
    tg_rng rng = seeded();
    switch (which) {
    case 0:
        return ptr(tg_layer_embedding_new(f->t, &rng, TG_F32, 3, 2, 3));
    case 1:
        return ptr(tg_layer_lstm_new(f->t, &rng, TG_F32, 4, 0));
    case 2:
        return ptr(tg_layer_mha_new(f->t, &rng, TG_F32, 6, 4, false));
    default:
        return ptr(tg_layer_layer_norm_new(f->t, TG_F32, 1, n3, -1.0));
    }
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Networks and optimizers. */                                           \
    X(mlp_one_width, TG_EINVAL, "tg_mlp_new: needs at least 2 widths",       \
      mlp_new_widths(f, 1, (int64_t[]){4}))                                  \
    X(mlp_zero_width, TG_EINVAL, "sizes 4 -> 0 must be at least 1",          \
      mlp_new_widths(f, 3, (int64_t[]){4, 0, 2}))                            \
    X(mlp_null_widths, TG_EINVAL, "tg_mlp_new", mlp_new_widths(f, 3, NULL))  \
    X(mlp_wrong_input, TG_ESHAPE, "tg_linear: x (3,4) and W (2,5)",          \
      mlp_wrong_input(f))                                                    \
    X(mlp_null_tape, TG_EINVAL, "tg_mlp_new: tape is NULL",                  \
      ptr(tg_mlp_new(NULL, NULL, &(tg_rng){0}, TG_F32, 2, (int64_t[]){2, 2}, \
                     tg_relu)))                                              \
    X(mlp_forward_null, TG_EINVAL, "tg_mlp_forward: network is NULL",        \
      ptr(tg_mlp_forward(f->t, NULL, f->a34)))                               \
    X(hinge_shapes, TG_ESHAPE, "tg_hinge_loss: scores (3,4) and labels (5,)", \
      ptr(tg_hinge_loss(f->t, f->a34, f->b5)))                               \
    X(l2_null_params, TG_EINVAL, "tg_l2_penalty: parameter list is NULL",    \
      ptr(tg_l2_penalty(f->t, NULL, 0.1)))                                   \
    X(l2_empty_params, TG_EINVAL, "tg_l2_penalty: the parameter list is "    \
      "empty", ptr(tg_l2_penalty(f->t, tg_params_new(f->t), 0.1)))           \
    X(params_add_stale, TG_ESTATE, "tg_params_add: parameter list was "      \
      "freed by a reset of its tape", params_add_stale(f))                   \
    X(params_add_twice, TG_EINVAL, "tg_params_add: the tensor is already "   \
      "parameter 0", params_add_twice(f))                                    \
    X(optimizer_step_stale_param, TG_ESTATE, "tg_optimizer_step: "           \
      "parameter 0 was freed by a reset", optimizer_step_stale_param(f))     \
    X(optimizer_step_stale, TG_ESTATE, "tg_optimizer_step: optimizer was "   \
      "freed by a reset", optimizer_step_stale(f))                           \
    X(mlp_forward_stale, TG_ESTATE, "tg_mlp_forward: network was freed",     \
      mlp_forward_stale(f))                                                  \
    X(backward_after_write, TG_ESTATE, "tg_backward: input 0 of mul "        \
      "(leaf (3,4) f32) was modified in place", backward_after_write(f))     \
    X(backward_foreign_intermediate, TG_ESTATE, "tg_backward: input 1 of "   \
      "mul (#0 () f32) was made by an op recorded on another tape",          \
      backward_foreign_intermediate(f))                                      \
    X(tape_print_stale_input, TG_ESTATE, "tg_tape_print: tensor was freed "  \
      "by a reset of its tape (input 1 of mul)", tape_print_stale_input(f))  \
    X(forward_returns_leaf, TG_EINVAL, "tg_steal: forward returned a tensor " \
      "that existed before the call (a leaf)", forward_returns_leaf(f))      \
    X(params_add_null, TG_EINVAL, "tg_params_add: tensor is NULL",           \
      tg_params_add(tg_params_new(f->t), NULL))                              \
    X(params_at_empty, TG_EINVAL,                                            \
      "tg_params_at: index 0, but the parameter list is empty",              \
      ptr(tg_params_at(tg_params_new(f->t), 0)))                             \
    X(sgd_negative_lr, TG_EINVAL, "tg_sgd_new: lr -1",                       \
      ptr(tg_sgd_new(f->t, tg_params_new(f->t),                              \
                     &(tg_sgd_options){.lr = -1})))                          \
    X(sgd_nan_momentum, TG_EINVAL, "tg_sgd_new: lr 0.1, momentum nan",       \
      ptr(tg_sgd_new(f->t, tg_params_new(f->t),                              \
                     &(tg_sgd_options){.lr = 0.1, .momentum = NAN})))        \
    X(adam_beta_one, TG_EINVAL, "betas (0.9, 1) in [0, 1)",                  \
      ptr(tg_adam_new(f->t, tg_params_new(f->t), &(tg_adam_options){         \
          .lr = 1e-3, .beta1 = 0.9, .beta2 = 1.0, .eps = 1e-8})))            \
    X(optimizer_on_failed_params, TG_EINVAL, "tg_params_new: tape is NULL",  \
      optimizer_on_failed_params(f))                                         \
    X(optimizer_step_null, TG_EINVAL, "tg_optimizer_step: optimizer is NULL", \
      tg_optimizer_step(NULL))                                               \
    /* Layers, schedules, clipping, checkpoints (train.h). */                \
    X(ckpt_missing, TG_ENOTFOUND, "has no array '4.weight' (the model has "  \
      "it)", ckpt_mismatch(f, train_net(f, TG_F32, 4, false), 0,             \
                           train_net(f, TG_F32, 4, true), 0))                \
    X(ckpt_extra, TG_EINVAL, "holds '4.weight', which the model does not "   \
      "have", ckpt_mismatch(f, train_net(f, TG_F32, 4, true), 0,             \
                            train_net(f, TG_F32, 4, false), 0))              \
    X(ckpt_misshaped, TG_ESHAPE, "holds '1.weight' of shape (5,6), but the " \
      "model's is (4,6)", ckpt_mismatch(f, train_net(f, TG_F32, 5, false),   \
                                        0, train_net(f, TG_F32, 4, false),   \
                                        0))                                  \
    X(ckpt_dtype, TG_EDTYPE, "holds '1.weight' as f64, but the model's is "  \
      "f32", ckpt_mismatch(f, train_net(f, TG_F64, 4, false), -1,            \
                           train_net(f, TG_F32, 4, false), -1))              \
    X(ckpt_optimizer_kind, TG_EINVAL, "holds the state of SGD, but the "     \
      "optimizer is Adam", ckpt_mismatch(f, train_net(f, TG_F32, 4, false),  \
                                         0, train_net(f, TG_F32, 4, false),  \
                                         1))                                 \
    X(ckpt_no_optimizer_state, TG_ENOTFOUND, "has no array 'optimizer.kind'" \
      , ckpt_mismatch(f, train_net(f, TG_F32, 4, false), -1,                 \
                      train_net(f, TG_F32, 4, false), 1))                    \
    X(ckpt_no_file, TG_EIO, "tg_checkpoint_load: ", ckpt_no_file(f))         \
    X(ckpt_model_and_params, TG_EINVAL, "tg_checkpoint_save: give the "      \
      "checkpoint a model or a parameter list (it has both)", ckpt_both(f))  \
    X(ckpt_params_into_model, TG_EINVAL, "holds 'params.0', which the "      \
      "model does not have", ckpt_params_into_model(f))                      \
    X(clip_norm_negative, TG_EINVAL, "tg_params_clip_grad_norm: max_norm -1 "\
      "must be >= 0", clip_refused(f, -1.0, 2.0, NAN))                       \
    X(clip_norm_nan, TG_EINVAL, "tg_params_clip_grad_norm: max_norm nan",    \
      clip_refused(f, NAN, 2.0, NAN))                                        \
    X(clip_norm_type_zero, TG_EINVAL, "norm_type 0 > 0",                     \
      clip_refused(f, 1.0, 0.0, NAN))                                        \
    X(clip_value_negative, TG_EINVAL, "tg_params_clip_grad_value: clip "     \
      "-0.5 must be >= 0", clip_refused(f, 0.0, 0.0, -0.5))                  \
    X(clip_null_params, TG_EINVAL, "tg_params_clip_grad_value: parameter "   \
      "list is NULL", tg_params_clip_grad_value(NULL, 1.0))                  \
    X(sched_step_size_zero, TG_EINVAL, "tg_lr_step_new: step_size (>= 1) 0", \
      sched_refused(f, 0))                                                   \
    X(sched_gamma_zero, TG_EINVAL, "tg_lr_exponential_new: gamma (finite, "  \
      "> 0) 0", sched_refused(f, 1))                                         \
    X(sched_eta_min_negative, TG_EINVAL, "tg_lr_cosine_new: eta_min",        \
      sched_refused(f, 2))                                                   \
    X(sched_start_zero, TG_EINVAL, "tg_lr_warmup_new: start_factor",         \
      sched_refused(f, 3))                                                   \
    X(sched_warmup_zero, TG_EINVAL, "tg_lr_warmup_cosine_new: warmup (>= 1)" \
      " 0", sched_refused(f, 4))                                             \
    X(sched_t_max_zero, TG_EINVAL, "tg_lr_cosine_new: t_max (>= 1) 0",       \
      sched_refused(f, 5))                                                   \
    X(sched_failed_optimizer, TG_EINVAL, "tg_sgd_new: lr -1",                \
      sched_failed_optimizer(f))                                             \
    X(seq_add_twice, TG_EINVAL, "tg_sequential_add: the layer is already "  \
      "in the container, as '0'", seq_add_twice(f))                          \
    X(seq_name_with_dot, TG_EINVAL, "tg_sequential_add_named: name 'a.b' "   \
      "must be non-empty and without '.'", seq_add_name(f, "a.b"))           \
    X(seq_name_repeated, TG_EINVAL, "already has a layer called 'fc'",       \
      seq_add_name(f, "fc"))                                                 \
    X(seq_wrong_input, TG_ESHAPE, "tg_linear: ", seq_wrong_input(f))         \
    X(seq_null_input, TG_EINVAL, "tg_sequential_forward: input is NULL",     \
      ptr(tg_sequential_forward(f->t, tg_sequential_new(f->t), NULL)))       \
    X(layer_null_input, TG_EINVAL, "tg_layer_forward: input is NULL",        \
      ptr(tg_layer_forward(f->t, tg_layer_flatten_new(f->t, 0), NULL)))      \
    X(layer_param_twice, TG_EINVAL, "tg_layer_add_param: the layer already " \
      "has an entry called 'bias'", layer_param_twice(f))                    \
    X(layer_activation_unknown, TG_ENOTFOUND, "tg_layer_activation_new: no " \
      "op called 'nonesuch'", ptr(tg_layer_activation_new(f->t,             \
                                                          "nonesuch")))      \
    X(layer_op_binary, TG_EINVAL, "tg_layer_op_new: op 'add' takes 2 "       \
      "inputs", layer_op_binary(f))                                          \
    X(layer_flatten_too_far, TG_ESHAPE, "tg_layer_flatten: start_dim 2, but" \
      " the input (3,4) has 2 dimensions", layer_flatten_too_far(f))         \
    X(layer_flatten_negative, TG_EINVAL, "tg_layer_flatten_new: start_dim "  \
      "-1", ptr(tg_layer_flatten_new(f->t, -1)))                             \
    X(layer_linear_zero, TG_EINVAL, "tg_layer_linear_new: "                  \
      "tg_linear_layer_init: sizes 0 -> 3", layer_linear_zero(f)) \
    /* seqlayers: the sequence layers */                                     \
    X(seq_embedding_out_of_range, TG_EINVAL, "tg_layer_forward: embedding "  \
      "layer: id 3 at position 1 of ids (2,) is not a whole number in 0..2 " \
      "(weight (3,2))", seq_embedding_ids(f, 2, (const double[]){0, 3}))    \
    X(seq_embedding_negative, TG_EINVAL, "tg_layer_forward: embedding "      \
      "layer: id -1 at position 0", seq_embedding_ids(f, 1,                  \
                                                      (const double[]){-1})) \
    X(seq_embedding_fraction, TG_EINVAL, "tg_layer_forward: embedding "      \
      "layer: id 1.5 at position 2", seq_embedding_ids(f, 3,                 \
                                          (const double[]){0, 1, 1.5}))      \
    X(seq_embedding_rank, TG_ESHAPE, "tg_layer_forward: embedding layer: "   \
      "ids (1,1,1,1,1,1,1,1) have 8 dims; at most 7", seq_embedding_rank(f)) \
    X(seq_gru_hidden_mismatch, TG_ESHAPE, "tg_layer_rnn_forward: h0 f32 "    \
      "(5,) is not (1, 3) or (3,) for an unbatched x f32: the gru layer's "  \
      "weight_hh_l0 (9,3) has hidden size 3", seq_gru_hidden_mismatch(f))   \
    X(seq_lstm_cell_state_mismatch, TG_ESHAPE, "tg_layer_rnn_forward: c0 "   \
      "f32 (5,) is not (1, 3) or (3,) for an unbatched x f32: the lstm "     \
      "layer's weight_hh_l0 (12,3)", seq_lstm_cell_state_mismatch(f))       \
    X(seq_gru_batched_h0_rows, TG_ESHAPE, "tg_layer_rnn_forward: h0 f32 "    \
      "(1,3,3) is not (1, 2, 3) or (2, 3) f32", seq_gru_batched_h0_rows(f))  \
    X(seq_rnn_state_dtype, TG_EDTYPE, "tg_layer_rnn_forward: h0 f64 (3,) "   \
      "is not (1, 3) or (3,) for an unbatched x f32", seq_rnn_state_dtype(f))\
    X(seq_gru_given_c0, TG_EINVAL, "tg_layer_rnn_forward: a GRU layer has "  \
      "no cell state", seq_gru_given_c0(f))                                  \
    X(seq_rnn_rank, TG_ESHAPE, "tg_layer_rnn_forward: x f32 (5,) must be "   \
      "(N, T, 4) or (T, 4) with T <= 2147483647", seq_rnn_rank(f))           \
    X(seq_rnn_input_size, TG_ESHAPE, "tg_layer_rnn_forward: x f32 (2,5,6) "  \
      "must be (N, T, 4)", seq_rnn_input_size(f))                            \
    X(seq_rnn_dtype, TG_EDTYPE, "tg_layer_rnn_forward: x f64 (3,4) must be " \
      "(N, T, 4) or (T, 4) with T <= 2147483647, and f32 as the gru layer's "\
      "weight_ih_l0 (9,4)", seq_rnn_dtype(f))                                \
    X(seq_rnn_not_recurrent, TG_EINVAL, "tg_layer_rnn_forward: the layer is "\
      "a flatten layer, not a GRU or LSTM layer", seq_rnn_not_recurrent(f))  \
    X(seq_mha_width, TG_ESHAPE, "tg_mha_forward: x (3,4) must be (B, L, 6) " \
      "or (L, 6)", seq_mha_width(f))                                         \
    X(seq_layer_norm_shape, TG_ESHAPE, "tg_layer_norm: normalized shape "    \
      "(5,) does not match the last dims of x (3,4)", seq_layer_norm_shape(f))\
    X(seq_new_null_rng, TG_EINVAL, "tg_layer_gru_new: tg_gru_cell_init: rng "\
      "is NULL", seq_new_null_rng(f))                                        \
    X(seq_embedding_new_padding, TG_EINVAL, "tg_layer_embedding_new: 3 "     \
      "embeddings of dim 2 with padding_idx 3", seq_new_bad_sizes(f, 0))     \
    X(seq_lstm_new_hidden_zero, TG_EINVAL, "tg_layer_lstm_new: "             \
      "tg_lstm_cell_init: input size 4 and hidden size 0 must be at least 1",\
      seq_new_bad_sizes(f, 1))                                               \
    X(seq_mha_new_heads, TG_EINVAL, "tg_layer_mha_new: tg_mha_init: "        \
      "embedding size 6 must be a positive multiple of the 4 heads",         \
      seq_new_bad_sizes(f, 2))                                               \
    X(seq_layer_norm_new_eps, TG_EINVAL, "tg_layer_layer_norm_new: eps -1 "  \
      "must be finite and at least 0", seq_new_bad_sizes(f, 3))              \
    /* cnn: the convolutional layers (sequential.h). */                     \
    X(cnn_conv_stride_zero, TG_EINVAL, "tg_layer_conv2d_new: stride (1, 0)" \
      , cnn_conv_refused(f, 4, 0, 1))                                        \
    X(cnn_conv_groups, TG_EINVAL, "tg_layer_conv2d_new: groups 3 must be "  \
      "at least 1 and divide the channels 4 -> 4", cnn_conv_refused(f, 4, 1, \
                                                                    3))      \
    X(cnn_conv_zero_channels, TG_EINVAL, "tg_layer_conv2d_new: channels 0 " \
      "-> 4", cnn_conv_refused(f, 0, 1, 1))                                  \
    X(cnn_conv_kernel_too_big, TG_ESHAPE, "tg_conv2d: ",                     \
      cnn_conv_kernel_too_big(f))                                            \
    X(cnn_pool_null, TG_EINVAL, "tg_layer_max_pool2d_new: options are NULL" \
      , ptr(tg_layer_max_pool2d_new(f->t, NULL)))                            \
    X(cnn_pool_stride_zero, TG_EINVAL, "tg_layer_max_pool2d_new: kernel "    \
      "(2, 2), stride (0, 2)", cnn_pool_refused(f, 0))                       \
    X(cnn_pool_padding, TG_EINVAL, "padding (0, 2) in 0..kernel/2",          \
      cnn_pool_refused(f, 1))                                                \
    X(cnn_avg_pool_dilation, TG_EINVAL, "tg_layer_avg_pool2d_new: dilation " \
      "(2, 1)", cnn_pool_refused(f, 2))                                      \
    X(cnn_adaptive_zero, TG_EINVAL, "tg_layer_adaptive_avg_pool2d_new: "     \
      "output size 0x1", ptr(tg_layer_adaptive_avg_pool2d_new(f->t, 0, 1)))  \
    X(cnn_dropout_p_one, TG_EINVAL, "tg_layer_dropout_new: p = 1 is outside"\
      " [0, 1)", ptr(tg_layer_dropout_new(f->t, 1.0, 1, 0)))                 \
    X(cnn_dropout_p_nan, TG_EINVAL, "tg_layer_dropout_new: p = nan",         \
      ptr(tg_layer_dropout_new(f->t, NAN, 1, 0)))                            \
    X(cnn_bn_eps, TG_EINVAL, "tg_layer_batch_norm_new: channels 3 must be "  \
      "at least 1, eps 0 above 0", ptr(tg_layer_batch_norm_new(              \
          f->t, TG_F32, 3, 0.0, 0.1, true)))                                 \
    X(cnn_bn_one_value, TG_ESHAPE, "tg_batch_norm: ", cnn_bn_one_value(f))   \
    X(cnn_ckpt_no_rng, TG_ENOTFOUND, "has no array '4.rng' (the model has "  \
      "it)", ckpt_mismatch(f, cnn_net(f, false), 0, cnn_net(f, true), 0))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_nn", rows, N_ROWS);
}
