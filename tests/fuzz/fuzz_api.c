/*
 * fuzz_api.c — libFuzzer harness for the whole op API: the input bytes are
 * read as a little program of tapegrad calls (make tensors of odd shapes
 * and both dtypes on two tapes, run unary, binary, reduction, shape, loss
 * and layer ops on them with fuzzed axes, labels and shapes, run backward
 * from any of them, reset a tape, switch grad and anomaly mode), so the
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

/* One call of the program: its first byte says which. */
static void step(state *s, prog *g)
{
    tg_tape *t = s->tape[take(g, 2)];
    tg_tensor *x = pick(s, g), *y = pick(s, g);
    int axis = (int)take(g, 9) - 4;
    switch (take(g, 14)) {
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
        keep(s, g, tg_linear(t, x, y, b));
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
    default:
        switch (take(g, 8)) {
        case 0: reset(s, g); break;
        case 1: tg_tape_set_grad_enabled(t, take(g, 2)); break;
        case 2: tg_tape_set_anomaly(t, take(g, 2)); break;
        case 3: tg_zero_grad(x); tg_clear_error(); break;
        case 4:   /* fails (TG_EINVAL) for a non-leaf */
            check_status(tg_set_requires_grad(x, take(g, 2)));
            tg_clear_error();
            break;
        case 5: write_in_place(x, g); break;
        case 6: {   /* a gradient kept as a tensor, used by later calls */
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
