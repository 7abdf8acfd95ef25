/*
 * fashion_cnn.c — a convolutional network on Fashion-MNIST: the W6
 * workload of BENCHMARKS.md (LeNet-5), built from the sequential
 * container's layers as PyTorch's nn.Sequential, with checkpoints.
 *
 * Model (bench/torch_models.py lenet): conv 1->6 5x5 pad 2, ReLU, max
 * pool 2; conv 6->16 5x5, ReLU, max pool 2; flatten; linear 400->120,
 * ReLU; linear 120->84, ReLU; linear 84->10; PyTorch's default
 * initialisation, f32. With --dropout P a dropout layer comes before each
 * hidden linear layer (so the layer names, "3.weight", are PyTorch's).
 * Loss: softmax cross-entropy. Training: batches of 64 in a new random
 * order each epoch; SGD lr 0.05 momentum 0.9, or with --adam Adam lr 1e-3.
 *
 * After each epoch the test accuracy is printed and a checkpoint is
 * written to DIR/fashion_cnn.npz: the model (with the dropout layers'
 * generators, which are buffers), the optimizer's state and the epoch
 * count (as a constant learning-rate schedule). --resume loads it and
 * continues: each epoch's order comes from a generator seeded with
 * (seed, epoch), so a resumed run is bit for bit the run that never
 * stopped (the smoke test checks it).
 *
 * Loading, the progress line and the test loop are shared with
 * fashion_mnist.c (fashion_train.c, fashion_data.c).
 */
#include "fashion_train.h"

#include <tapegrad.h>
#include <tapegrad/sequential.h>
#include <tapegrad/train.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 64

typedef struct options {
    const char *data, *out;
    int epochs, threads;
    bool adam, resume;
    double dropout;
    int64_t limit, test_limit;
    uint64_t seed;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fashion_cnn [--data DIR] [--out DIR] [--epochs N] "
            "[--adam] [--dropout P]\n"
            "                   [--threads N] [--seed S] [--limit N] "
            "[--test-limit N] [--resume]\n\n"
            "Trains LeNet-5 (W6 of BENCHMARKS.md) on Fashion-MNIST, prints "
            "the test accuracy\nafter every epoch and writes the checkpoint "
            "DIR/fashion_cnn.npz after each.\n\n"
            "  --data DIR       folder of the gzip'd IDX files (default %s,\n"
            "                   from: apt-get install %s)\n"
            "  --out DIR        folder of the checkpoint (default .)\n"
            "  --epochs N       train until N epochs are done (default 3)\n"
            "  --adam           Adam lr 1e-3 instead of SGD lr 0.05 momentum "
            "0.9\n"
            "  --dropout P      dropout P before each hidden linear layer "
            "(default 0)\n"
            "  --threads N      threads for the kernels (default 1)\n"
            "  --seed S         seed of the weights, shuffles and dropout "
            "(default 6)\n"
            "  --limit N        train on the first N training images only\n"
            "  --test-limit N   test on the first N test images only\n"
            "  --resume         continue from DIR/fashion_cnn.npz (same "
            "options)\n",
            FASHION_DEFAULT_DIR, FASHION_PACKAGE);
}

static int parse_number(const char *flag, const char *s, double lo, double hi,
                        bool whole, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (errno || end == s || *end || !(*v >= lo && *v <= hi) ||
        (whole && *v != floor(*v))) {
        fprintf(stderr, "fashion_cnn: %s expects %s from %g to %g\n", flag,
                whole ? "a whole number" : "a number", lo, hi);
        return -1;
    }
    return 0;
}

/* 0 to go on, 1 after --help, -1 after a message. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){FASHION_DEFAULT_DIR, ".", 3, 1, false, false, 0.0, 0, 0,
                   6};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--adam")) {
            o->adam = true;
            continue;
        } else if (!strcmp(a, "--resume")) {
            o->resume = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "fashion_cnn: unknown or incomplete option "
                    "\"%s\" (see --help)\n", a);
            return -1;
        }
        const char *s = argv[++i];
        if (!strcmp(a, "--data"))
            o->data = s;
        else if (!strcmp(a, "--out"))
            o->out = s;
        else if (!strcmp(a, "--dropout")) {
            if (parse_number(a, s, 0, 0.99, false, &o->dropout))
                return -1;
        } else if (!strcmp(a, "--epochs") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--seed") || !strcmp(a, "--limit") ||
                   !strcmp(a, "--test-limit")) {
            bool seed = !strcmp(a, "--seed");
            if (parse_number(a, s, seed ? 0 : 1, seed ? 4294967295.0
                             : 1e9, true, &v))
                return -1;
            if (seed)
                o->seed = (uint64_t)v;
            else if (!strcmp(a, "--epochs"))
                o->epochs = (int)v;
            else if (!strcmp(a, "--threads"))
                o->threads = (int)v;
            else
                *(!strcmp(a, "--limit") ? &o->limit : &o->test_limit) =
                    (int64_t)v;
        } else {
            fprintf(stderr, "fashion_cnn: unknown option \"%s\" (see "
                    "--help)\n", a);
            return -1;
        }
    }
    return 0;
}

/* ---- the model, its optimizer and its epoch count, on a long-lived tape */

typedef struct model {
    tg_tape *tape;
    tg_sequential *net;
    tg_params *params;
    tg_optimizer *opt;
    tg_lr_schedule *epochs;    /* constant rate: it counts the epochs */
} model;

/* LeNet-5 as bench/torch_models.py's lenet(), layer for layer. */
static tg_sequential *lenet(tg_tape *t, tg_rng *rng, const options *o)
{
    tg_sequential *s = tg_sequential_new(t);
    tg_conv_options pad2 = tg_conv_defaults();
    pad2.padding[0] = pad2.padding[1] = 2;
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    int64_t widths[] = {400, 120, 84, 10};
    tg_layer *layers[16];
    int n = 0;
    layers[n++] = tg_layer_conv2d_new(t, rng, TG_F32, 1, 6, 5, 5, &pad2, true);
    layers[n++] = tg_layer_activation_new(t, "relu");
    layers[n++] = tg_layer_max_pool2d_new(t, &two);
    layers[n++] = tg_layer_conv2d_new(t, rng, TG_F32, 6, 16, 5, 5, NULL, true);
    layers[n++] = tg_layer_activation_new(t, "relu");
    layers[n++] = tg_layer_max_pool2d_new(t, &two);
    layers[n++] = tg_layer_flatten_new(t, 1);
    for (int i = 0; i < 3; i++) {
        if (i < 2 && o->dropout > 0)   /* its own stream per layer */
            layers[n++] = tg_layer_dropout_new(t, o->dropout, o->seed,
                                               (uint64_t)(3 + i));
        layers[n++] = tg_layer_linear_new(t, rng, TG_F32, widths[i],
                                          widths[i + 1], true);
        if (i < 2)
            layers[n++] = tg_layer_activation_new(t, "relu");
    }
    for (int i = 0; i < n && s != NULL; i++)
        if (tg_sequential_add(s, layers[i]) != TG_OK)
            s = NULL;
    return s;
}

static int model_new(model *m, const options *o)
{
    tg_rng rng;
    tg_rng_seed(&rng, o->seed, 1);
    m->tape = tg_tape_new();
    m->net = m->tape ? lenet(m->tape, &rng, o) : NULL;
    m->params = m->net ? tg_sequential_params(m->net) : NULL;
    if (m->params == NULL)
        return tg_last_status() ? tg_last_status() : TG_ENOMEM;
    if (o->adam) {
        tg_adam_options a = tg_adam_defaults();
        a.lr = 1e-3;
        m->opt = tg_adam_new(m->tape, m->params, &a);
    } else {
        tg_sgd_options s = tg_sgd_defaults(0.05);
        s.momentum = 0.9;
        m->opt = tg_sgd_new(m->tape, m->params, &s);
    }
    m->epochs = m->opt ? tg_lr_step_new(m->tape, m->opt, INT64_MAX, 1.0)
                       : NULL;
    return m->epochs ? TG_OK : tg_last_status();
}

static tg_checkpoint checkpoint_of(const model *m)
{
    return (tg_checkpoint){m->net, NULL, m->opt, m->epochs};
}

/* ---- training */

typedef struct trainer {
    const options *o;
    const fashion_set *train;
    int64_t n;                 /* training images used */
    int64_t *order;            /* n indices, in this epoch's order */
    int64_t labels[BATCH];
    tg_tape *step;
    fashion_progress progress; /* in place on a terminal, else 4 lines */
} trainer;

/* One step on the images idx[0..b): forward, backward, update; adds the
 * batch's summed loss to *loss. */
static int train_step(trainer *tr, model *m, const int64_t *idx, int64_t b,
                      double *loss)
{
    int64_t shape[4] = {b, 1, 28, 28};
    tg_tensor *x = tg_empty(tr->step, TG_F32, 4, shape);
    if (x == NULL)
        return tg_last_status();
    fashion_gather(tr->train, idx, b, tg_mut_f32(x), tr->labels);
    tg_tensor *logits = tg_sequential_forward(tr->step, m->net, x);
    tg_tensor *l = tg_cross_entropy(tr->step, logits, tr->labels);
    tg_params_zero_grad(m->params);
    int rc = tg_backward(tr->step, l);
    if (rc != TG_OK)
        return rc;
    double v = tg_item(l);
    if (!isfinite(v))
        return tg_set_error(TG_ENUMERIC, "the loss became %g", v);
    *loss += v * (double)b;
    return tg_optimizer_step(m->opt);
}

/* One epoch, in the order the generator (seed, 100 + epoch) gives. */
static int train_epoch(trainer *tr, model *m, int epoch, double *loss)
{
    tg_rng rng;
    tg_rng_seed(&rng, tr->o->seed, 100 + (uint64_t)epoch);
    for (int64_t i = 0; i < tr->n; i++)
        tr->order[i] = i;
    int rc = tg_rng_shuffle(&rng, tr->n, tr->order);
    int64_t steps = (tr->n + BATCH - 1) / BATCH, quarter = 1;
    double total = 0, t0 = fashion_seconds(), shown = t0;
    for (int64_t k = 0; k < steps && rc == TG_OK; k++) {
        int64_t i = k * BATCH, b = tr->n - i < BATCH ? tr->n - i : BATCH;
        rc = train_step(tr, m, tr->order + i, b, &total);
        tg_tape_reset(tr->step);
        double now = fashion_seconds();
        bool tty = tr->progress.tty;
        bool show = tty ? now - shown > 0.25
                        : (i + b) * 4 >= quarter * tr->n && quarter < 4;
        if (rc == TG_OK && show) {
            fashion_progress_show(&tr->progress, epoch, tr->o->epochs, i + b,
                                  tr->n, total, now - t0);
            shown = now;
            quarter += !tty;
        }
    }
    fashion_progress_clear(&tr->progress);
    *loss = total / (double)tr->n;
    return rc;
}

/* The network's forward pass on a batch of images as (b, 784). */
static tg_tensor *lenet_forward(tg_tape *t, const void *net, tg_tensor *x)
{
    int64_t shape[4] = {x ? tg_shape(x)[0] : 0, 1, 28, 28};
    return tg_sequential_forward(t, (tg_sequential *)net,
                                 tg_reshape(t, x, 4, shape));
}

/* Test loss and accuracy (in %) in eval mode (no dropout). */
static int evaluate(tg_tape *t, model *m, const fashion_set *s, double *loss,
                    double *accuracy)
{
    int rc = tg_sequential_set_training(m->net, false);
    if (rc == TG_OK)
        rc = fashion_evaluate_net(t, lenet_forward, m->net, s, loss,
                                  accuracy);
    if (rc == TG_OK)
        rc = tg_sequential_set_training(m->net, true);
    *accuracy *= 100.0;
    return rc;
}

static int train_all(trainer *tr, model *m, const fashion_set *test,
                     const char *ckpt)
{
    int rc = TG_OK;
    tg_checkpoint c = checkpoint_of(m);
    for (int e = (int)tg_lr_schedule_epoch(m->epochs) + 1;
         e <= tr->o->epochs && rc == TG_OK; e++) {
        double t0 = fashion_seconds(), loss = 0, test_loss = 0, acc = 0;
        rc = train_epoch(tr, m, e, &loss);
        double t1 = fashion_seconds();
        if (rc == TG_OK)
            rc = evaluate(tr->step, m, test, &test_loss, &acc);
        if (rc == TG_OK)
            rc = tg_lr_schedule_step(m->epochs);
        if (rc == TG_OK)
            rc = tg_checkpoint_save(ckpt, &c);
        if (rc == TG_OK)
            printf("epoch %d/%d: train loss %.6f, test loss %.6f, test "
                   "accuracy %.2f%% (%.2f s, %.0f images/s)\n", e,
                   tr->o->epochs, loss, test_loss, acc, t1 - t0,
                   (double)tr->n / (t1 - t0));
        fflush(stdout);
    }
    return rc;
}

/* ---- main */

static int run(const options *o, const fashion_set *train,
               const fashion_set *test)
{
    model m = {0};
    trainer tr = {o, train, train->n, NULL, {0}, tg_tape_new(),
                  {isatty(fileno(stdout)), 0}};
    tr.order = malloc((size_t)train->n * sizeof *tr.order);
    int rc = tr.order && tr.step ? model_new(&m, o)
                                 : tg_set_error(TG_ENOMEM, "out of memory");
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/fashion_cnn.npz", o->out);
    tg_checkpoint c = checkpoint_of(&m);
    if (rc == TG_OK && o->resume) {
        rc = tg_checkpoint_load(ckpt, &c);
        if (rc == TG_OK)
            printf("resumed from %s after epoch %lld\n", ckpt,
                   (long long)tg_lr_schedule_epoch(m.epochs));
    }
    if (rc == TG_OK)
        printf("LeNet-5, %lld parameters; %s, dropout %g, batch %d, seed "
               "%llu, %d thread%s\n", (long long)tg_params_numel(m.params),
               o->adam ? "Adam lr 0.001" : "SGD lr 0.05 momentum 0.9",
               o->dropout, BATCH, (unsigned long long)o->seed, o->threads,
               o->threads > 1 ? "s" : "");
    if (rc == TG_OK)
        rc = train_all(&tr, &m, test, ckpt);
    if (rc == TG_OK)
        printf("wrote %s\n", ckpt);
    free(tr.order);
    tg_tape_free(tr.step);
    tg_tape_free(m.tape);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    if (access(o.out, W_OK) != 0) { /* say so now, not after training */
        fprintf(stderr, "fashion_cnn: cannot write into %s: %s\n", o.out,
                strerror(errno));
        return 1;
    }
    int rc = tg_set_num_threads(o.threads);
    tg_tape *data = tg_tape_new();
    fashion_set train, test;
    if (rc == TG_OK && data != NULL)
        rc = fashion_load_both(data, o.data, o.limit, o.test_limit, &train,
                               &test);
    if (data == NULL)
        rc = tg_set_error(TG_ENOMEM, "out of memory");
    if (rc == TG_OK) {
        printf("Fashion-MNIST: %lld training and %lld test images\n",
               (long long)train.n, (long long)test.n);
        rc = run(&o, &train, &test);
    }
    if (rc != TG_OK)
        fprintf(stderr, "fashion_cnn: %s\n", tg_last_error());
    tg_tape_free(data);
    return rc == TG_OK ? 0 : 1;
}
