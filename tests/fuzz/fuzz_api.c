/*
 * fuzz_api.c — libFuzzer harness for the whole op API: the input bytes are
 * read as a little program of tapegrad calls (make tensors of odd shapes
 * and both dtypes on two tapes, run unary, binary, reduction, shape, loss
 * and layer ops (conv1d and conv2d with fuzzed options among them) on
 * them, index.h's picking, splitting and losses, with fuzzed axes, labels,
 * indices and shapes, run them through sequential layers, clip their
 * gradients, run backward from any of them,
 * take gradients as tensors with tg_vjp (recorded or not, and
 * differentiated again), tg_jvp and tg_hvp, reset a tape, switch grad and
 * anomaly mode), so the
 * sanitizers see every op on scalars, size-1 dims, broadcasts and bad
 * arguments. Lifecycles too: requires_grad switched on and off, values
 * written through tg_mut_* between calls (backward must then refuse
 * entries that read them), gradients kept as tensors and used by later
 * calls, and a parameter list and optimizer per tape that are stepped
 * and must be refused once their tape is reset.
 *
 * Every call must either succeed with a consistent result or fail with a
 * negative status and a message naming the call ("tg_..." or "anomaly:
 * ..."); a tensor used after a reset of its tape must be refused
 * (TG_ESTATE). Anything else aborts.
 */
#include <tapegrad.h>
#include <tapegrad/nn.h>
#include <tapegrad/vjp.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct prog {
    const uint8_t *p;
    size_t n;
} prog;

/* The next byte of the program modulo m (0 once it runs out). */
static unsigned take(prog *g, unsigned m)
{
    if (g->n == 0)
        return 0;
    g->n--;
    return *g->p++ % m;
}

enum { POOL = 12, MAX_STEPS = 64 };

typedef struct state {
    tg_tape *tape[2];
    tg_tensor *pool[POOL];
    tg_params *params[2];        /* on tape[k], of tensors of tape[k] */
    tg_optimizer *opt[2];
} state;

static void fail(void)
{
    abort();
}

/* After a call: a failure must have a negative status and a message that
 * names the call; a success a consistent tensor. */
static void check_status(int rc)
{
    if (rc == TG_OK)
        return;
    const char *m = tg_last_error();
    if (rc > 0 || tg_last_status() != rc ||
        (strncmp(m, "tg_", 3) != 0 && strncmp(m, "anomaly:", 8) != 0))
        fail();
}

static void check_tensor(const tg_tensor *x)
{
    int64_t n = 1;
    for (int d = 0; d < tg_ndim(x); d++)
        n *= tg_shape(x)[d];
    if (tg_ndim(x) < 0 || tg_ndim(x) > TG_MAX_DIMS || n != tg_numel(x))
        fail();
    /* Read every value: the sanitizers check the data is all there. */
    volatile double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                        : tg_data_f64(x)[i];
    (void)sum;
}

/* Keep a result (or check its failure), replacing a pool slot. */
static void keep(state *s, prog *g, tg_tensor *y)
{
    if (y == NULL) {
        check_status(tg_last_status() == TG_OK ? 1 : tg_last_status());
        tg_clear_error();
        return;
    }
    check_tensor(y);
    s->pool[take(g, POOL)] = y;
}

/* A pool tensor, or now and then NULL (which must propagate). */
static tg_tensor *pick(state *s, prog *g)
{
    unsigned i = take(g, POOL + 1);
    return i == POOL ? NULL : s->pool[i];
}

static tg_tensor *make(state *s, prog *g)
{
    tg_tape *t = s->tape[take(g, 2)];
    tg_dtype dt = take(g, 2) ? TG_F64 : TG_F32;
    int ndim = (int)take(g, 4);
    int64_t shape[3] = {1, 1, 1};
    for (int d = 0; d < ndim; d++)
        shape[d] = 1 + take(g, 4);
    tg_tensor *x = tg_zeros(t, dt, ndim, shape);
    if (x == NULL)
        return NULL;
    for (int64_t i = 0; i < tg_numel(x); i++) {
        double v = ((int)take(g, 256) - 128) / 16.0;
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = (float)v;
        else
            tg_mut_f64(x)[i] = v;
    }
    if (take(g, 2))
        tg_set_requires_grad(x, true);
    return x;
}

typedef tg_tensor *(*unary_fn)(tg_tape *, tg_tensor *);
typedef tg_tensor *(*binary_fn)(tg_tape *, tg_tensor *, tg_tensor *);
typedef tg_tensor *(*reduce_fn)(tg_tape *, tg_tensor *, int, bool);

static const unary_fn unary[] = {
    tg_relu, tg_neg, tg_exp, tg_log, tg_sqrt, tg_abs, tg_tanh, tg_sigmoid,
    tg_erf,
    tg_selu, tg_gelu, tg_gelu_tanh, tg_silu, tg_mish, tg_relu6,
    tg_hardsigmoid, tg_hardswish, tg_softsign, tg_sum, tg_mean, tg_max,
    tg_min, tg_logsumexp, tg_transpose, tg_detach,
};
static const binary_fn binary[] = {
    tg_add, tg_sub, tg_mul, tg_div, tg_maximum, tg_minimum, tg_pow_tensor,
    tg_matmul, tg_mse_loss, tg_hinge_loss, tg_gt, tg_ge, tg_lt, tg_le, tg_eq,
    tg_ne,
};
static const reduce_fn reduce[] = {
    tg_sum_axis, tg_mean_axis, tg_max_axis, tg_min_axis, tg_logsumexp_axis,
    tg_argmax, tg_argmin,
};
#define COUNT(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

/* A tensor of tape k used right after k was reset must be refused. */
static void reset(state *s, prog *g)
{
    unsigned k = take(g, 2);
    tg_tensor *stale = NULL;
    for (int i = 0; i < POOL; i++)
        if (s->pool[i] != NULL && tg_tape_of(s->pool[i]) == s->tape[k])
            stale = s->pool[i];
    tg_tape_reset(s->tape[k]);
    if (stale != NULL) {
        tg_clear_error();
        if (tg_relu(s->tape[k], stale) != NULL ||
            tg_last_status() != TG_ESTATE)
            fail();
        tg_clear_error();
    }
    /* So must the handles made on it, before anything reuses its memory. */
    if (s->params[k] != NULL &&
        (tg_params_count(s->params[k]) != 0 || tg_last_status() != TG_ESTATE))
        fail();
    tg_clear_error();
    if (s->opt[k] != NULL && tg_optimizer_step(s->opt[k]) != TG_ESTATE)
        fail();
    tg_clear_error();
    s->params[k] = NULL;
    s->opt[k] = NULL;
    /* Later allocations may land where those tensors were: forget them. */
    for (int i = 0; i < POOL; i++)
        if (s->pool[i] != NULL && tg_tape_of(s->pool[i]) == s->tape[k])
            s->pool[i] = NULL;
}

/* Write a value into x through tg_mut_*: an entry recorded before that
 * reads x must be refused by a later backward. */
static void write_in_place(tg_tensor *x, prog *g)
{
    double v = ((int)take(g, 256) - 128) / 16.0;
    if (tg_dtype_of(x) == TG_F32) {
        float *p = tg_mut_f32(x);
        if (p != NULL)
            p[take(g, 256) % tg_numel(x)] = (float)v;
    } else if (tg_dtype_of(x) == TG_F64) {
        double *p = tg_mut_f64(x);
        if (p != NULL)
            p[take(g, 256) % tg_numel(x)] = v;
    }
    check_status(tg_last_status());
    tg_clear_error();
}

/* Tape k's parameter list: made on first use, x added (when it is a
 * tensor of tape k), and an optimizer over it made and stepped. */
static void train(state *s, prog *g, tg_tensor *x)
{
    unsigned k = take(g, 2);
    if (s->params[k] == NULL) {
        s->params[k] = tg_params_new(s->tape[k]);
        if (s->params[k] == NULL)
            fail();
    }
    if (x != NULL && tg_tape_of(x) == s->tape[k]) {
        check_status(tg_params_add(s->params[k], x));
        tg_clear_error();
    }
    if (s->opt[k] == NULL && take(g, 2)) {
        tg_sgd_options sgd = tg_sgd_defaults(0.125);
        sgd.momentum = take(g, 2) ? 0.5 : 0.0;
        s->opt[k] = take(g, 2) ? tg_sgd_new(s->tape[k], s->params[k], &sgd)
                               : tg_adam_new(s->tape[k], s->params[k], NULL);
        if (s->opt[k] == NULL)
            check_status(tg_last_status());
        tg_clear_error();
    } else if (s->opt[k] != NULL) {
        check_status(tg_optimizer_step(s->opt[k]));
        tg_clear_error();
    }
}

/* seq: layer norm with a fuzzed normalized shape, attention, and GRU,
 * LSTM and multi-head attention layers whose weights are pool tensors of
 * any shape (tapegrad/sequence.h). */
static void seq_layers(state *s, prog *g, tg_tape *t, tg_tensor *x,
                       tg_tensor *y, tg_tensor *b)
{
    switch (take(g, 5)) {
    case 0: { /* bytes in program order: arguments have none */
        int64_t shape[3];
        for (int d = 0; d < 3; d++)
            shape[d] = (int64_t)take(g, 5) - (d == 0);
        int ndim = (int)take(g, 4);
        double eps = take(g, 2) ? 1e-5 : 0.0;
        keep(s, g, tg_layer_norm(t, x, ndim, shape, y, b, eps));
        break;
    }
    case 1:
        keep(s, g, tg_scaled_dot_product_attention(t, x, y, b, take(g, 2)));
        break;
    case 2: {
        tg_gru_cell c = {x, y, b, pick(s, g)};
        tg_tensor *in = pick(s, g), *h = pick(s, g);
        keep(s, g, tg_gru_cell_forward(t, &c, in, h));
        break;
    }
    case 3: {
        tg_lstm_cell c = {x, y, b, pick(s, g)};
        tg_tensor *in = pick(s, g), *h = pick(s, g), *cs = pick(s, g);
        tg_tensor *cs_out = NULL;
        keep(s, g, tg_lstm_cell_forward(t, &c, in, h, cs, &cs_out));
        if (cs_out != NULL)
            keep(s, g, cs_out);
        break;
    }
    default: {
        tg_tensor *w_out = pick(s, g);
        tg_mha m = {x, y, {w_out, b}, 1 + (int)take(g, 3)};
        tg_tensor *in = pick(s, g);
        keep(s, g, tg_mha_forward(t, &m, in, take(g, 2)));
        break;
    }
    }
}

/* seqlayers: an embedding, layer-norm, attention, GRU or LSTM layer
 * (tapegrad/sequence.h) with fuzzed sizes (0 among them), run on x in a
 * sequential container; a GRU or LSTM also through tg_layer_rnn_forward
 * with pool tensors as its initial states. x's values are the ids of an
 * embedding (negative, fractional and out-of-range ones must be refused). */
static void seq_layer_step(state *s, prog *g, tg_tape *t, tg_tensor *x)
{
    tg_rng rng;
    tg_rng_seed(&rng, take(g, 256), 0);
    tg_dtype dt = take(g, 2) ? TG_F64 : TG_F32;
    int64_t a = (int64_t)take(g, 5), b = (int64_t)take(g, 5);
    unsigned kind = take(g, 5);
    tg_layer *l;
    switch (kind) {
    case 0:
        l = tg_layer_embedding_new(t, &rng, dt, a, b, (int64_t)take(g, 4) - 1);
        break;
    case 1:
        l = tg_layer_layer_norm_new(t, dt, (int)take(g, 3), (int64_t[]){a, b},
                                    take(g, 2) ? 1e-5 : -1.0);
        break;
    case 2:
        l = tg_layer_mha_new(t, &rng, dt, a, (int)b, take(g, 2));
        break;
    case 3:
        l = tg_layer_gru_new(t, &rng, dt, a, b);
        break;
    default:
        l = tg_layer_lstm_new(t, &rng, dt, a, b);
    }
    if (l == NULL) {
        keep(s, g, NULL);
        return;
    }
    tg_sequential *net = tg_sequential_new(t);
    int rc = tg_sequential_add(net, l);
    check_status(rc);
    tg_clear_error();
    if (rc != TG_OK)
        return;
    keep(s, g, tg_sequential_forward(t, net, x));
    if (kind >= 3) {
        tg_tensor *h0 = pick(s, g), *c0 = kind == 4 ? pick(s, g) : NULL;
        tg_tensor *hn = NULL, *cn = NULL;
        keep(s, g, tg_layer_rnn_forward(t, l, x, h0, c0, &hn,
                                        kind == 4 ? &cn : NULL));
        if (hn != NULL)
            keep(s, g, hn);
        if (cn != NULL)
            keep(s, g, cn);
    }
}

/* Pooling (relu_max_pool2d too, now and then with NULL options), dropout
 * and batch norm with fuzzed options: a zero kernel, stride or output
 * size, a padding past half the kernel, p outside [0, 1), eps 0, running
 * statistics of any shape must all be refused. */
static void pool_step(state *s, prog *g, tg_tape *t, tg_tensor *x,
                      tg_tensor *y)
{
    tg_pool2d_options o = tg_pool2d_defaults(take(g, 4), take(g, 4));
    for (int d = 0; d < 2; d++) {
        o.stride[d] = take(g, 4);
        o.padding[d] = take(g, 3);
        o.dilation[d] = take(g, 3);
    }
    o.count_include_pad = take(g, 2);
    switch (take(g, 6)) {
    case 0: keep(s, g, tg_max_pool2d(t, x, &o)); break;
    case 1: keep(s, g, tg_avg_pool2d(t, x, &o)); break;
    case 2:
        keep(s, g, tg_adaptive_avg_pool2d(t, x, take(g, 5), take(g, 5)));
        break;
    case 3: {
        tg_rng rng;
        tg_rng_seed(&rng, take(g, 256), 1);
        double p = ((double)take(g, 12) - 1) / 10; /* -0.1 .. 1 */
        keep(s, g, tg_dropout(t, x, p, &rng, take(g, 2)));
        break;
    }
    case 4:
        keep(s, g, tg_relu_max_pool2d(t, x, take(g, 8) ? &o : NULL));
        break;
    default: {
        tg_tensor *rv = take(g, 2) ? pick(s, g) : NULL;
        tg_tensor *w = take(g, 2) ? pick(s, g) : NULL;
        keep(s, g, tg_batch_norm(t, x, y, rv, w, NULL, take(g, 2),
                                 take(g, 3) / 2.0, take(g, 3) * 1e-3));
        break;
    }
    }
}

/* Gradients as tensors: tg_vjp (create_graph and the unused choice from
 * the program, then now and then differentiated again), tg_jvp, tg_hvp.
 * A success gives each input a result shaped like it (NULL only for an
 * unused input under TG_UNUSED_NULL); a failure NULL everywhere. */
static void products(state *s, prog *g, tg_tape *t, tg_tensor *out,
                     tg_tensor *x, tg_tensor *y)
{
    tg_tensor *in[2] = {x, y}, *v[2] = {pick(s, g), pick(s, g)}, *r[2];
    int n_in = 1 + (int)take(g, 2), n_res = n_in, rc;
    bool first_order = false, jvp = false;
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = take(g, 2);
    o.unused = (tg_unused)take(g, 3);
    switch (take(g, 4)) {
    case 0:
        first_order = true;
        rc = tg_vjp(t, 1, &out, take(g, 2) ? v : NULL, n_in, in, r, &o);
        break;
    case 1:
        n_res = 1;
        jvp = true;
        rc = tg_jvp(t, 1, &out, n_in, in, v, r, &o);
        break;
    case 2:
        rc = tg_hvp(t, out, n_in, in, v, r, &o);
        break;
    default:
        first_order = true;
        o.create_graph = true;
        rc = tg_vjp(t, 1, &out, NULL, n_in, in, r, &o);
        if (rc == TG_OK && r[0] != NULL) {
            tg_tensor *sum = tg_sum(t, r[0]);
            o.create_graph = take(g, 2);
            rc = tg_vjp(t, 1, &sum, NULL, n_in, in, r, &o);
        }
        break;
    }
    check_status(rc);
    tg_clear_error();
    for (int i = 0; i < n_res; i++) {
        if (rc != TG_OK) {
            if (r[i] != NULL)
                fail();
            continue;
        }
        if (r[i] == NULL) {
            if (!first_order || o.unused != TG_UNUSED_NULL)
                fail();
            continue;
        }
        const tg_tensor *like = jvp ? out : in[i];
        if (tg_numel(r[i]) != tg_numel(like) ||
            tg_dtype_of(r[i]) != tg_dtype_of(like))
            fail();
        check_tensor(r[i]);
        s->pool[take(g, POOL)] = r[i];
    }
}

/* index.h: gather, scatter_add, index_select, embedding, split, chunk and
 * the losses that pick by class, with fuzzed indices (-1..5) and counts. */
static void index_step(state *s, prog *g, tg_tape *t, tg_tensor *x,
                       tg_tensor *y, int axis)
{
    int64_t idx[4];
    for (int i = 0; i < 4; i++)
        idx[i] = (int64_t)take(g, 7) - 1;
    int n = 1 + (int)take(g, 4);
    /* The losses read one label per row of a 2-D x: at most 4. */
    bool rows_ok = x == NULL || tg_ndim(x) != 2 || tg_shape(x)[0] <= 4;
    switch (take(g, 9)) {
    case 0: keep(s, g, tg_gather(t, x, axis, y)); break;
    case 1: keep(s, g, tg_scatter_add(t, x, axis, y, pick(s, g))); break;
    case 2: keep(s, g, tg_index_select(t, x, axis, n, idx)); break;
    case 3:
        keep(s, g, tg_embedding(t, x, n, idx, (int64_t)take(g, 4) - 1));
        break;
    case 4:
    case 5: {
        tg_tensor *out[4] = {NULL};
        int k = (int)take(g, 5); /* 0 is refused */
        int rc = take(g, 2) ? tg_chunk(t, x, axis, k, out)
                            : tg_split(t, x, axis, k, 4, out);
        if (rc < 0) {
            check_status(rc);
            tg_clear_error();
            break;
        }
        if (rc < 1 || rc > 4)
            fail();
        for (int i = 0; i < rc; i++)
            keep(s, g, out[i]);
        break;
    }
    case 6:
        if (rows_ok && take(g, 2)) {
            keep(s, g, tg_nll_loss(t, x, idx, (int64_t)take(g, 3) - 1));
        } else if (rows_ok) { /* options: smoothing (refused), reduction
                                 3 (refused), a weight of any shape */
            tg_cross_entropy_options o = tg_cross_entropy_defaults();
            o.ignore_index = (int64_t)take(g, 3) - 1;
            o.label_smoothing = take(g, 2) / 10.0;
            o.reduction = (tg_reduction)take(g, 4);
            o.weight = take(g, 2) ? pick(s, g) : NULL;
            keep(s, g, tg_nll_loss_ex(t, x, idx, &o));
        }
        break;
    case 7:
        if (take(g, 2)) {
            keep(s, g, tg_bce_with_logits(t, x, y, take(g, 2) ? pick(s, g)
                                                              : NULL));
        } else { /* reduction 3 refused; a weight of any shape */
            tg_bce_with_logits_options o = tg_bce_with_logits_defaults();
            o.reduction = (tg_reduction)take(g, 4);
            o.weight = take(g, 2) ? pick(s, g) : NULL;
            keep(s, g, tg_bce_with_logits_ex(t, x, y, take(g, 2) ? pick(s, g)
                                                                 : NULL, &o));
        }
        break;
    default:
        if (rows_ok) {
            tg_cross_entropy_options o = tg_cross_entropy_defaults();
            o.ignore_index = (int64_t)take(g, 3) - 1;
            o.label_smoothing = take(g, 5) / 3.0; /* 4/3 refused */
            o.reduction = (tg_reduction)take(g, 4); /* 3 refused */
            o.weight = take(g, 2) ? pick(s, g) : NULL; /* any shape */
            keep(s, g, tg_cross_entropy_ex(t, x, idx, take(g, 2) ? &o : NULL));
        }
        break;
    }
}

/* A one-layer sequential network (flatten, linear, an activation by
 * name or a convolutional layer, with fuzzed sizes, in train or eval
 * mode) run on x. */
static void layer(state *s, prog *g, tg_tape *t, tg_tensor *x)
{
    tg_rng rng;
    tg_rng_seed(&rng, take(g, 256), 0);
    tg_layer *l;
    tg_dtype dt = take(g, 2) ? TG_F64 : TG_F32;
    tg_conv_options co = tg_conv_defaults();
    tg_pool2d_options po = tg_pool2d_defaults(take(g, 4), take(g, 4));
    switch (take(g, 9)) {
    case 0:
        l = tg_layer_flatten_new(t, (int)take(g, 5) - 1);
        break;
    case 1:
        l = tg_layer_linear_new(t, &rng, dt, (int64_t)take(g, 5),
                                1 + (int64_t)take(g, 3), take(g, 2));
        break;
    /* cnn: the convolutional layers, with fuzzed sizes and options (a
     * zero stride, groups that do not divide, p outside [0, 1), eps 0
     * must be refused; a forward on a tensor of the wrong rank too). */
    case 2:
        co.stride[1] = (int64_t)take(g, 3);
        co.padding[0] = (int64_t)take(g, 3);
        co.groups = 1 + (int64_t)take(g, 2);
        l = tg_layer_conv2d_new(t, &rng, dt, (int64_t)take(g, 4),
                                1 + (int64_t)take(g, 4), 1 + take(g, 3),
                                1 + take(g, 3), take(g, 2) ? &co : NULL,
                                take(g, 2));
        break;
    case 3:
        po.padding[1] = (int64_t)take(g, 3);
        l = take(g, 2) ? tg_layer_max_pool2d_new(t, &po)
                       : tg_layer_avg_pool2d_new(t, &po);
        break;
    case 4:
        l = tg_layer_adaptive_avg_pool2d_new(t, take(g, 4), take(g, 4));
        break;
    case 5:
        l = tg_layer_dropout_new(t, ((double)take(g, 12) - 1) / 10,
                                 take(g, 256), 0);
        break;
    case 6:
        l = tg_layer_batch_norm_new(t, dt, (int64_t)take(g, 5),
                                    take(g, 3) * 1e-3, take(g, 3) / 2.0,
                                    take(g, 2));
        break;
    default:
        l = tg_layer_activation_new(t, take(g, 2) ? "tanh" : "add");
    }
    if (l != NULL && take(g, 2))
        check_status(tg_layer_set_training(l, false));
    tg_sequential *net = tg_sequential_new(t);
    int rc = tg_sequential_add(net, l);
    check_status(rc);
    tg_clear_error();
    if (rc == TG_OK)
        keep(s, g, tg_sequential_forward(t, net, x));
}

/* Clip the gradients of up to three pool tensors by norm or by value. */
static void clip(state *s, prog *g, tg_tape *t)
{
    tg_params *p = tg_params_new(t);
    for (int i = 0; i < 3; i++) {
        tg_tensor *x = pick(s, g);
        if (x != NULL && tg_params_add(p, x) != TG_OK)
            tg_clear_error();   /* a tensor that cannot require grad */
    }
    double v = ((int)take(g, 256) - 128) / 16.0;
    unsigned q = take(g, 4);
    double total;
    check_status(take(g, 2) ? tg_params_clip_grad_value(p, v)
                 : tg_params_clip_grad_norm(p, v, q == 3 ? INFINITY
                                            : (double)q, &total));
    tg_clear_error();
}

/* One call of the program: its first byte says which. */
static void step(state *s, prog *g)
{
    tg_tape *t = s->tape[take(g, 2)];
    tg_tensor *x = pick(s, g), *y = pick(s, g);
    int axis = (int)take(g, 9) - 4;
    switch (take(g, 18)) {
    case 0:
    case 1:
        keep(s, g, make(s, g));
        break;
    case 2:
        keep(s, g, unary[take(g, COUNT(unary))](t, x));
        break;
    case 3:
        keep(s, g, binary[take(g, COUNT(binary))](t, x, y));
        break;
    case 4:
        keep(s, g, reduce[take(g, COUNT(reduce))](t, x, axis, take(g, 2)));
        break;
    case 5: {
        int64_t shape[3] = {(int64_t)take(g, 6) - 1, (int64_t)take(g, 6) - 1,
                            (int64_t)take(g, 6) - 1};
        keep(s, g, tg_reshape(t, x, (int)take(g, 4), shape));
        break;
    }
    case 6: {
        int dims[3] = {(int)take(g, 4) - 1, (int)take(g, 4) - 1,
                       (int)take(g, 4) - 1};
        keep(s, g, tg_permute(t, x, (int)take(g, 4), dims));
        break;
    }
    case 7: {
        tg_tensor *xs[3] = {x, y, pick(s, g)};
        keep(s, g, tg_concat(t, 1 + (int)take(g, 3), xs, axis));
        break;
    }
    case 8:
        keep(s, g, take(g, 2) ? tg_softmax(t, x, axis)
                              : tg_log_softmax(t, x, axis));
        break;
    case 9: {
        int64_t labels[4];
        for (int i = 0; i < 4; i++)
            labels[i] = (int64_t)take(g, 6) - 1;
        /* Only as many labels as x has rows may be read: at most 4. */
        if (x == NULL || tg_ndim(x) != 2 || tg_shape(x)[0] <= 4)
            keep(s, g, tg_cross_entropy(t, x, labels));
        break;
    }
    case 10: {
        double c = ((int)take(g, 256) - 128) / 8.0;
        switch (take(g, 9)) {
        case 0: keep(s, g, tg_pow(t, x, c)); break;
        case 1: keep(s, g, tg_add_scalar(t, x, c)); break;
        case 2: keep(s, g, tg_leaky_relu(t, x, c)); break;
        case 3: keep(s, g, tg_elu(t, x, c)); break;
        case 4: keep(s, g, tg_clamp(t, x, -c, c / 2)); break;
        case 5: keep(s, g, tg_gt_scalar(t, x, c)); break;
        case 6: keep(s, g, tg_cast(t, x, take(g, 2) ? TG_F64 : TG_F32));
            break;
        case 7: keep(s, g, tg_where(t, x, y, pick(s, g))); break;
        default: keep(s, g, tg_hardtanh(t, x, -c, c)); break;
        }
        break;
    }
    case 11: {
        tg_tensor *b = take(g, 2) ? pick(s, g) : NULL;
        switch (take(g, 6)) {
        case 0: keep(s, g, tg_linear(t, x, y, b)); break;
        case 1: seq_layer_step(s, g, t, x); break;  /* seqlayers */
        default: seq_layers(s, g, t, x, y, b); break; /* seq */
        }
        break;
    }
    case 13: { /* conv: fuzzed options, bad ones included */
        tg_conv_options o;
        for (int d = 0; d < 2; d++) {
            o.stride[d] = (int64_t)take(g, 3);
            o.padding[d] = (int64_t)take(g, 4) - 1;
            o.dilation[d] = (int64_t)take(g, 3);
        }
        o.groups = (int64_t)take(g, 3);
        tg_tensor *b = take(g, 2) ? pick(s, g) : NULL;
        if (take(g, 2)) { /* conv2d on 3-d tensors viewed as (a, b, 1, c) */
            tg_tensor *v[2] = {x, y};
            for (int k = 0; k < 2; k++)
                if (v[k] != NULL && tg_ndim(v[k]) == 3) {
                    const int64_t *sh = tg_shape(v[k]);
                    int64_t s4[4] = {sh[0], sh[1], 1, sh[2]};
                    v[k] = tg_reshape(t, v[k], 4, s4);
                }
            keep(s, g, tg_conv2d(t, v[0], v[1], b, &o));
        } else
            keep(s, g, tg_conv1d(t, x, y, b, &o));
        break;
    }
    case 12: {
        int rc = tg_backward(t, x);
        check_status(rc);
        tg_clear_error();
        if (rc == TG_OK)
            for (int i = 0; i < POOL; i++) {
                tg_tensor *gr = s->pool[i] ? tg_grad(s->pool[i]) : NULL;
                if (gr != NULL && (tg_numel(gr) != tg_numel(s->pool[i]) ||
                                   tg_dtype_of(gr) != tg_dtype_of(s->pool[i])))
                    fail();
                if (gr != NULL)
                    check_tensor(gr);
                tg_clear_error();
            }
        break;
    }
    case 14: /* pooling, dropout, batch norm (tapegrad/pool.h) */
        pool_step(s, g, t, x, y);
        break;
    case 15: /* gradients as tensors (tapegrad/vjp.h) */
        products(s, g, t, x, y, pick(s, g));
        break;
    case 16: /* picking, splitting, losses by class (tapegrad/index.h) */
        index_step(s, g, t, x, y, axis);
        break;
    default:
        switch (take(g, 10)) {
        case 0: reset(s, g); break;
        case 1: tg_tape_set_grad_enabled(t, take(g, 2)); break;
        case 2: tg_tape_set_anomaly(t, take(g, 2)); break;
        case 3: layer(s, g, t, x); break;
        case 4: clip(s, g, t); break;
        case 5: tg_zero_grad(x); tg_clear_error(); break;
        case 6:   /* fails (TG_EINVAL) for a non-leaf */
            check_status(tg_set_requires_grad(x, take(g, 2)));
            tg_clear_error();
            break;
        case 7: write_in_place(x, g); break;
        case 8: {   /* a gradient kept as a tensor, used by later calls */
            tg_tensor *gr = tg_grad(x);
            if (gr != NULL || tg_last_status() != TG_OK)
                keep(s, g, gr);
            break;
        }
        default: train(s, g, x); break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state s = {{tg_tape_new(), tg_tape_new()}, {NULL}, {NULL}, {NULL}};
    prog g = {data, size};
    tg_clear_error();
    for (int i = 0; i < MAX_STEPS && g.n > 0; i++)
        step(&s, &g);
    tg_tape_free(s.tape[0]);
    tg_tape_free(s.tape[1]);
    return 0;
}
