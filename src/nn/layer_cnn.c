/*
 * layer_cnn.c — the layers of a convolutional network: conv2d, max, avg
 * and adaptive avg pooling, dropout (with its own generator, saved as a
 * buffer) and batch norm (running statistics as buffers).
 */
#include "tapegrad.h"
#include "tapegrad/sequential.h"
#include "nn_internal.h"
#include "tensor/error_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A NULL tape: keep the error of the call that failed, else name it. */
static tg_layer *no_tape(const char *fn)
{
    if (tg_last_status() == TG_OK)
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
    return NULL;
}

/* ---- conv2d ---------------------------------------------------------------- */

typedef struct conv_state {
    tg_conv_options opt;
    tg_tensor *weight, *bias;
} conv_state;

static tg_tensor *conv_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const conv_state *c = l->state;
    return tg_conv2d(t, x, c->weight, c->bias, &c->opt);
}

static const tg_layer_class conv_class = {"conv2d", conv_forward, NULL};

static bool conv_args_ok(const char *fn, int64_t in, int64_t out,
                         int64_t kh, int64_t kw, const tg_conv_options *o)
{
    if (in < 1 || out < 1 || kh < 1 || kw < 1) {
        tg_set_error(TG_EINVAL, "%s: channels %lld -> %lld and kernel "
                     "%lldx%lld must be at least 1", fn, (long long)in,
                     (long long)out, (long long)kh, (long long)kw);
        return false;
    }
    for (int d = 0; d < 2; d++)
        if (o->stride[d] < 1 || o->dilation[d] < 1 || o->padding[d] < 0) {
            tg_set_error(TG_EINVAL, "%s: stride (%lld, %lld) and dilation "
                         "(%lld, %lld) must be at least 1 and padding "
                         "(%lld, %lld) at least 0", fn,
                         (long long)o->stride[0], (long long)o->stride[1],
                         (long long)o->dilation[0], (long long)o->dilation[1],
                         (long long)o->padding[0], (long long)o->padding[1]);
            return false;
        }
    if (o->groups < 1 || in % o->groups != 0 || out % o->groups != 0) {
        tg_set_error(TG_EINVAL, "%s: groups %lld must be at least 1 and "
                     "divide the channels %lld -> %lld", fn,
                     (long long)o->groups, (long long)in, (long long)out);
        return false;
    }
    return true;
}

tg_layer *tg_layer_conv2d_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                              int64_t in, int64_t out, int64_t kh, int64_t kw,
                              const tg_conv_options *opt, bool bias)
{
    static const char fn[] = "tg_layer_conv2d_new";
    if (t == NULL)
        return no_tape(fn);
    if (rng == NULL) {
        tg_set_error(TG_EINVAL, "%s: rng is NULL", fn);
        return NULL;
    }
    tg_conv_options o = opt != NULL ? *opt : tg_conv_defaults();
    if (!conv_args_ok(fn, in, out, kh, kw, &o))
        return NULL;
    /* PyTorch's nn.Conv2d: kaiming_uniform(a = sqrt(5)) for the weight,
     * which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for
     * the bias; fan_in = in / groups * kh * kw. Weight first, then bias. */
    double bound = 1.0 / sqrt((double)(in / o.groups * kh * kw));
    int64_t wshape[4] = {out, in / o.groups, kh, kw};
    conv_state *c = tg_tape_alloc(t, sizeof *c);
    if (c == NULL)
        return NULL;
    tg_rng saved = *rng;
    c->opt = o;
    c->weight = tg_rand_uniform(t, rng, dt, 4, wshape, -bound, bound);
    c->bias = bias && c->weight != NULL
        ? tg_rand_uniform(t, rng, dt, 1, &out, -bound, bound) : NULL;
    tg_layer *l = NULL;
    if (c->weight != NULL && (!bias || c->bias != NULL))
        l = tg_layer_new(t, &conv_class, c);
    if (l == NULL || tg_layer_add_param(l, "weight", c->weight) != TG_OK ||
        (bias && tg_layer_add_param(l, "bias", c->bias) != TG_OK)) {
        *rng = saved;   /* nothing drawn on failure */
        tg__error_in(fn);
        return NULL;
    }
    return l;
}

/* ---- pooling ----------------------------------------------------------------- */

typedef struct pool_state {
    tg_pool2d_options opt;
    int64_t oh, ow;                 /* adaptive only */
} pool_state;

static tg_tensor *max_pool_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    return tg_max_pool2d(t, x, &((const pool_state *)l->state)->opt);
}

static tg_tensor *avg_pool_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    return tg_avg_pool2d(t, x, &((const pool_state *)l->state)->opt);
}

static tg_tensor *adaptive_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const pool_state *p = l->state;
    return tg_adaptive_avg_pool2d(t, x, p->oh, p->ow);
}

static const tg_layer_class max_pool_class = {"max_pool2d", max_pool_forward,
                                              NULL};
static const tg_layer_class avg_pool_class = {"avg_pool2d", avg_pool_forward,
                                              NULL};
static const tg_layer_class adaptive_class = {"adaptive_avg_pool2d",
                                              adaptive_forward, NULL};

const tg_pool2d_options *tg__layer_max_pool_options(const tg_layer *l)
{
    return l->cls == &max_pool_class ? &((const pool_state *)l->state)->opt
                                     : NULL;
}

static tg_layer *pool_new(const char *fn, tg_tape *t, const tg_layer_class *cls,
                          const tg_pool2d_options *o)
{
    if (t == NULL)
        return no_tape(fn);
    if (o == NULL) {
        tg_set_error(TG_EINVAL, "%s: options are NULL (there is no default "
                     "kernel: use tg_pool2d_defaults)", fn);
        return NULL;
    }
    for (int d = 0; d < 2; d++)
        if (o->kernel[d] < 1 || o->stride[d] < 1 || o->dilation[d] < 1 ||
            o->padding[d] < 0 || o->padding[d] > o->kernel[d] / 2) {
            tg_set_error(TG_EINVAL, "%s: kernel (%lld, %lld), stride (%lld, "
                         "%lld) and dilation (%lld, %lld) must be at least 1, "
                         "padding (%lld, %lld) in 0..kernel/2", fn,
                         (long long)o->kernel[0], (long long)o->kernel[1],
                         (long long)o->stride[0], (long long)o->stride[1],
                         (long long)o->dilation[0], (long long)o->dilation[1],
                         (long long)o->padding[0], (long long)o->padding[1]);
            return NULL;
        }
    if (cls == &avg_pool_class && (o->dilation[0] != 1 || o->dilation[1] != 1)) {
        tg_set_error(TG_EINVAL, "%s: dilation (%lld, %lld): average pooling "
                     "has none (give 1)", fn, (long long)o->dilation[0],
                     (long long)o->dilation[1]);
        return NULL;
    }
    pool_state *p = tg_tape_alloc(t, sizeof *p);
    if (p == NULL)
        return NULL;
    *p = (pool_state){.opt = *o};
    return tg_layer_new(t, cls, p);
}

tg_layer *tg_layer_max_pool2d_new(tg_tape *t, const tg_pool2d_options *o)
{
    return pool_new("tg_layer_max_pool2d_new", t, &max_pool_class, o);
}

tg_layer *tg_layer_avg_pool2d_new(tg_tape *t, const tg_pool2d_options *o)
{
    return pool_new("tg_layer_avg_pool2d_new", t, &avg_pool_class, o);
}

tg_layer *tg_layer_adaptive_avg_pool2d_new(tg_tape *t, int64_t oh, int64_t ow)
{
    static const char fn[] = "tg_layer_adaptive_avg_pool2d_new";
    if (t == NULL)
        return no_tape(fn);
    if (oh < 1 || ow < 1 || oh > ((int64_t)1 << 30) ||
        ow > ((int64_t)1 << 30)) {
        tg_set_error(TG_EINVAL, "%s: output size %lldx%lld is outside "
                     "1..2^30", fn, (long long)oh, (long long)ow);
        return NULL;
    }
    pool_state *p = tg_tape_alloc(t, sizeof *p);
    if (p == NULL)
        return NULL;
    *p = (pool_state){.oh = oh, .ow = ow};
    return tg_layer_new(t, &adaptive_class, p);
}

/* ---- dropout ------------------------------------------------------------------ */

/*
 * The generator lives in the buffer "rng" (f64, 6 values: the state's and
 * the increment's high and low 32 bits, the spare normal and whether it is
 * set; every value exact in a double), so that a checkpoint saves it and a
 * resumed run draws the same masks. The forward reads it from the buffer
 * and writes it back after drawing.
 */
enum { RNG_WORDS = 6 };

static void rng_to(double *v, const tg_rng *r)
{
    v[0] = (double)(r->state >> 32);
    v[1] = (double)(r->state & 0xffffffffu);
    v[2] = (double)(r->inc >> 32);
    v[3] = (double)(r->inc & 0xffffffffu);
    v[4] = r->spare;
    v[5] = r->has_spare ? 1.0 : 0.0;
}

static void rng_from(tg_rng *r, const double *v)
{
    r->state = (uint64_t)v[0] << 32 | (uint64_t)v[1];
    r->inc = (uint64_t)v[2] << 32 | (uint64_t)v[3];
    r->spare = v[4];
    r->has_spare = v[5] != 0.0;
}

/* A buffer loaded from a file may hold anything: each word must be a
 * whole number in 0..2^32-1, the increment odd (a seeded generator). */
static bool rng_words_ok(const double *v)
{
    for (int i = 0; i < 4; i++)
        if (!(v[i] >= 0.0 && v[i] <= 4294967295.0 && v[i] == floor(v[i])))
            return false;
    return fmod(v[3], 2.0) == 1.0 && (v[5] == 0.0 || v[5] == 1.0);
}

typedef struct dropout_state {
    double p;
    tg_tensor *rng;
} dropout_state;

static tg_tensor *dropout_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const dropout_state *d = l->state;
    if (!l->training)
        return tg_dropout(t, x, d->p, NULL, false);
    double *v = tg_mut_f64(d->rng);
    if (!rng_words_ok(v)) {
        tg_set_error(TG_ESTATE, "tg_layer_dropout: the layer's 'rng' buffer "
                     "does not hold a seeded generator (was it loaded from "
                     "a file that was not a checkpoint?)");
        return NULL;
    }
    tg_rng r;
    rng_from(&r, v);
    tg_tensor *y = tg_dropout(t, x, d->p, &r, true);
    if (y != NULL)
        rng_to(v, &r);
    return y;
}

static const tg_layer_class dropout_class = {"dropout", dropout_forward,
                                             NULL};

tg_layer *tg_layer_dropout_new(tg_tape *t, double p, uint64_t seed,
                               uint64_t stream)
{
    static const char fn[] = "tg_layer_dropout_new";
    if (t == NULL)
        return no_tape(fn);
    if (!(p >= 0.0 && p < 1.0)) {
        tg_set_error(TG_EINVAL, "%s: p = %g is outside [0, 1)", fn, p);
        return NULL;
    }
    tg_rng r;
    tg_rng_seed(&r, seed, stream);
    int64_t n = RNG_WORDS;
    dropout_state *d = tg_tape_alloc(t, sizeof *d);
    tg_tensor *buf = d != NULL ? tg_zeros(t, TG_F64, 1, &n) : NULL;
    if (buf == NULL) {
        tg__error_in(fn);
        return NULL;
    }
    rng_to(tg_mut_f64(buf), &r);
    *d = (dropout_state){p, buf};
    tg_layer *l = tg_layer_new(t, &dropout_class, d);
    if (l == NULL || tg_layer_add_buffer(l, "rng", buf) != TG_OK) {
        tg__error_in(fn);
        return NULL;
    }
    return l;
}

/* ---- batch norm ------------------------------------------------------------- */

typedef struct bn_state {
    double eps, momentum;
    tg_tensor *weight, *bias, *mean, *var, *tracked;
} bn_state;

static tg_tensor *bn_forward(tg_layer *l, tg_tape *t, tg_tensor *x)
{
    const bn_state *b = l->state;
    tg_tensor *y = tg_batch_norm(t, x, b->mean, b->var, b->weight, b->bias,
                                 l->training, b->momentum, b->eps);
    if (y != NULL && l->training)
        tg_mut_f64(b->tracked)[0] += 1.0;
    return y;
}

static const tg_layer_class bn_class = {"batch_norm", bn_forward, NULL};

tg_layer *tg_layer_batch_norm_new(tg_tape *t, tg_dtype dt, int64_t channels,
                                  double eps, double momentum, bool affine)
{
    static const char fn[] = "tg_layer_batch_norm_new";
    if (t == NULL)
        return no_tape(fn);
    if (channels < 1 || !(eps > 0.0) || !(momentum >= 0.0 && momentum <= 1.0)) {
        tg_set_error(TG_EINVAL, "%s: channels %lld must be at least 1, eps "
                     "%g above 0 and momentum %g in [0, 1]", fn,
                     (long long)channels, eps, momentum);
        return NULL;
    }
    if (dt != TG_F32 && dt != TG_F64) {
        tg_set_error(TG_EDTYPE, "%s: dtype %d is neither f32 nor f64", fn,
                     (int)dt);
        return NULL;
    }
    bn_state *b = tg_tape_alloc(t, sizeof *b);
    if (b == NULL)
        return NULL;
    *b = (bn_state){.eps = eps, .momentum = momentum};
    if (affine) {
        b->weight = tg_ones(t, dt, 1, &channels);
        b->bias = tg_zeros(t, dt, 1, &channels);
    }
    b->mean = tg_zeros(t, dt, 1, &channels);
    b->var = tg_ones(t, dt, 1, &channels);
    b->tracked = tg_zeros(t, TG_F64, 0, NULL);
    tg_layer *l = NULL;
    if ((!affine || (b->weight != NULL && b->bias != NULL)) &&
        b->mean != NULL && b->var != NULL && b->tracked != NULL)
        l = tg_layer_new(t, &bn_class, b);
    if (l == NULL ||
        (affine && (tg_layer_add_param(l, "weight", b->weight) != TG_OK ||
                    tg_layer_add_param(l, "bias", b->bias) != TG_OK)) ||
        tg_layer_add_buffer(l, "running_mean", b->mean) != TG_OK ||
        tg_layer_add_buffer(l, "running_var", b->var) != TG_OK ||
        tg_layer_add_buffer(l, "num_batches_tracked", b->tracked) != TG_OK) {
        tg__error_in(fn);
        return NULL;
    }
    return l;
}
