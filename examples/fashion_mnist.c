/*
 * fashion_mnist.c — a real data set end to end: an MLP learns to tell
 * apart ten kinds of clothes in Zalando's Fashion-MNIST.
 *
 * Data: the gzip'd IDX files of Debian's dataset-fashion-mnist (60,000
 * training and 10,000 test images of 28x28 pixels), read with zlib and
 * tapegrad's IDX parser (fashion_data.c), pixels scaled to [0, 1]; the
 * loading, the progress line and the test are shared with fashion_cnn.c
 * (fashion_train.c, fashion_data.c).
 * Model: MLP 784-256-10 with ReLU, initialised as torch.nn.Linear, f32.
 * Loss: softmax cross-entropy. Training: mini-batches of 64, reshuffled
 * every epoch from a fixed seed; Adam with lr 1e-3 by default (SGD and
 * AdamW by option). The recipe is PyTorch's usual one, and it reaches the
 * same test accuracy (about 86% after 5 epochs).
 *
 * Each step builds its graph on a step tape that is reset afterwards; the
 * parameters and the optimizer's state live on a long-lived tape. The test
 * set is evaluated after every epoch on a tape with grad disabled. At the
 * end the model is saved as fashion_mnist.npz (numpy.load opens it; names
 * l0.weight, l0.bias, l1.weight, l1.bias) and the loss and accuracy curves
 * as SVG, in the output folder.
 */
#include "fashion_train.h"

#include <tapegrad.h>
#include <tapegrad/npy.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct options {
    const char *data, *out, *optimizer;
    double lr;                 /* NaN: the optimizer's default */
    int epochs;
    int64_t batch, limit, test_limit;
    uint64_t seed;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fashion_mnist [--data DIR] [--out DIR] "
            "[--optimizer sgd|adam|adamw]\n"
            "                     [--lr LR] [--epochs N] [--batch N] "
            "[--seed S] [--limit N]\n"
            "                     [--test-limit N]\n\n"
            "Trains an MLP 784-256-10 (ReLU, softmax cross-entropy) on "
            "Fashion-MNIST,\nprints the test accuracy after every epoch and "
            "writes DIR/fashion_mnist.npz,\nDIR/fashion_mnist_loss.svg and "
            "DIR/fashion_mnist_accuracy.svg.\n\n"
            "  --data DIR       folder of the gzip'd IDX files (default %s,\n"
            "                   from: apt-get install %s)\n"
            "  --out DIR        output folder (default .)\n"
            "  --optimizer O    sgd, adam or adamw (default adam)\n"
            "  --lr LR          learning rate (default 1e-3 for adam and "
            "adamw, 0.1 for sgd)\n"
            "  --epochs N       passes over the training set (default 5)\n"
            "  --batch N        mini-batch size (default 64)\n"
            "  --seed S         seed of the initial weights and the shuffles "
            "(default 1)\n"
            "  --limit N        train on the first N training images only\n"
            "  --test-limit N   test on the first N test images only\n",
            FASHION_DEFAULT_DIR, FASHION_PACKAGE);
}

static int parse_int(const char *flag, const char *s, long long lo,
                     long long hi, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    if (errno || end == s || *end || *v < lo || *v > hi) {
        fprintf(stderr, "fashion_mnist: %s expects a whole number from %lld "
                "to %lld\n", flag, lo, hi);
        return -1;
    }
    return 0;
}

static int parse_lr(const char *s, double *lr)
{
    char *end;
    errno = 0;
    *lr = strtod(s, &end);
    if (errno || end == s || *end || !(*lr > 0 && *lr < 1e6)) {
        fprintf(stderr, "fashion_mnist: --lr expects a positive number\n");
        return -1;
    }
    return 0;
}

/* The value of option a (at argv[i]) into o; -1 after a message. */
static int parse_value(const char *a, const char *s, options *o)
{
    long long v;
    if (!strcmp(a, "--data"))
        o->data = s;
    else if (!strcmp(a, "--out"))
        o->out = s;
    else if (!strcmp(a, "--optimizer")) {
        if (strcmp(s, "sgd") && strcmp(s, "adam") && strcmp(s, "adamw")) {
            fprintf(stderr, "fashion_mnist: --optimizer expects sgd, adam or "
                    "adamw, not \"%s\"\n", s);
            return -1;
        }
        o->optimizer = s;
    } else if (!strcmp(a, "--lr"))
        return parse_lr(s, &o->lr);
    else if (!strcmp(a, "--epochs") || !strcmp(a, "--batch") ||
             !strcmp(a, "--seed") || !strcmp(a, "--limit") ||
             !strcmp(a, "--test-limit")) {
        bool seed = !strcmp(a, "--seed"), epochs = !strcmp(a, "--epochs");
        if (parse_int(a, s, seed ? 0 : 1, seed ? 4294967295LL
                      : epochs ? 10000 : 1000000000, &v))
            return -1;
        if (seed)
            o->seed = (uint64_t)v;
        else if (epochs)
            o->epochs = (int)v;
        else
            *(!strcmp(a, "--batch") ? &o->batch : !strcmp(a, "--limit")
              ? &o->limit : &o->test_limit) = v;
    } else {
        fprintf(stderr, "fashion_mnist: unknown option \"%s\"\n", a);
        return -1;
    }
    return 0;
}

/* 0 to go on, 1 after --help, -1 after a message. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){FASHION_DEFAULT_DIR, ".", "adam", NAN, 5, 64, 0, 0, 1};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "fashion_mnist: unknown or incomplete option "
                    "\"%s\" (see --help)\n", argv[i]);
            return -1;
        }
        if (parse_value(argv[i], argv[i + 1], o) != 0)
            return -1;
    }
    if (isnan(o->lr))
        o->lr = strcmp(o->optimizer, "sgd") ? 1e-3 : 0.1;
    return 0;
}

/* ---- the model: network and optimizer on a long-lived tape */

typedef struct model {
    tg_tape *tape;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
} model;

static tg_optimizer *optimizer_new(const model *m, const options *o)
{
    if (!strcmp(o->optimizer, "sgd")) {
        tg_sgd_options sgd = tg_sgd_defaults(o->lr);
        return tg_sgd_new(m->tape, m->params, &sgd);
    }
    bool w = !strcmp(o->optimizer, "adamw");
    tg_adam_options adam = w ? tg_adamw_defaults() : tg_adam_defaults();
    adam.lr = o->lr;
    return w ? tg_adamw_new(m->tape, m->params, &adam)
             : tg_adam_new(m->tape, m->params, &adam);
}

static int model_new(model *m, const options *o)
{
    tg_rng rng;
    tg_rng_seed(&rng, o->seed, 1);
    int64_t widths[] = {FASHION_PIXELS, 256, FASHION_CLASSES};
    m->tape = tg_tape_new();
    m->params = tg_params_new(m->tape);
    m->net = tg_mlp_new(m->tape, m->params, &rng, TG_F32, 3, widths, tg_relu);
    m->opt = m->net ? optimizer_new(m, o) : NULL;
    return m->opt ? TG_OK : tg_last_status();
}

/* Every layer's weight and bias, as l0.weight, l0.bias, l1.weight, ... */
static int save_model(const char *path, const model *m)
{
    enum { MAX = 16 };
    const char *names[MAX];
    const tg_tensor *values[MAX];
    char buf[MAX][32];
    int n = 0;
    for (int i = 0; i < tg_mlp_layers(m->net) && n + 2 <= MAX; i++) {
        snprintf(buf[n], sizeof buf[n], "l%d.weight", i);
        names[n] = buf[n];
        values[n++] = tg_mlp_layer(m->net, i)->weight;
        snprintf(buf[n], sizeof buf[n], "l%d.bias", i);
        names[n] = buf[n];
        values[n++] = tg_mlp_layer(m->net, i)->bias;
    }
    return tg_npz_save(path, n, names, values);
}

/* ---- curves for the plots */

typedef struct curve {
    double *x, *y;
    int64_t n, cap;
} curve;

static int curve_add(curve *c, double x, double y)
{
    if (c->n == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 64;
        double *nx = realloc(c->x, (size_t)cap * sizeof *nx);
        if (nx != NULL)
            c->x = nx;
        double *ny = nx ? realloc(c->y, (size_t)cap * sizeof *ny) : NULL;
        if (ny == NULL)
            return tg_set_error(TG_ENOMEM, "out of memory for the curves");
        c->y = ny;
        c->cap = cap;
    }
    c->x[c->n] = x;
    c->y[c->n++] = y;
    return TG_OK;
}

/* Train and test loss and accuracy, against epochs. The training curves
 * get a point about 20 times an epoch, the mean over the steps since the
 * last one; the test curves a point at the end of each epoch. */
typedef struct curves {
    curve train_loss, train_acc, test_loss, test_acc;
} curves;

static void curves_free(curves *c)
{
    curve *all[] = {&c->train_loss, &c->train_acc, &c->test_loss,
                    &c->test_acc};
    for (int i = 0; i < 4; i++) {
        free(all[i]->x);
        free(all[i]->y);
    }
}

static int write_plots(const char *loss_path, const char *acc_path,
                       const curves *c)
{
    tg_plot_series loss[] = {
        {"train (mean over 1/20 epoch)", c->train_loss.x, c->train_loss.y,
         c->train_loss.n, NULL},
        {"test", c->test_loss.x, c->test_loss.y, c->test_loss.n, NULL}};
    tg_plot_series acc[] = {
        {"train (mean over 1/20 epoch)", c->train_acc.x, c->train_acc.y,
         c->train_acc.n, NULL},
        {"test", c->test_acc.x, c->test_acc.y, c->test_acc.n, NULL}};
    tg_plot lp = {"Fashion-MNIST, MLP 784-256-10: loss", "epoch",
                  "cross-entropy", 0, 0};
    tg_plot ap = {"Fashion-MNIST, MLP 784-256-10: accuracy", "epoch",
                  "accuracy (%)", 0, 0};
    int rc = tg_svg_write_plot(loss_path, &lp, 2, loss);
    return rc == TG_OK ? tg_svg_write_plot(acc_path, &ap, 2, acc) : rc;
}

/* ---- training */

/* What an epoch needs besides the model: the data, the order of its
 * samples, a batch's labels, the step tape, and the running sums. */
typedef struct trainer {
    const options *o;
    const fashion_set *train;
    int64_t n;                 /* samples used: o->limit or all */
    int64_t *order;            /* n sample indices, shuffled each epoch */
    int64_t *labels;           /* o->batch labels of the current batch */
    tg_tape *step;
    tg_rng rng;                /* the shuffles */
    fashion_progress progress; /* shown on a terminal only */
} trainer;

/* One step on samples order[0..b): forward, backward, update. Adds the
 * batch's summed loss and its correct predictions to *loss and *correct. */
static int train_step(trainer *tr, model *m, const int64_t *idx, int64_t b,
                      double *loss, int64_t *correct)
{
    int64_t shape[2] = {b, FASHION_PIXELS};
    tg_tensor *x = tg_empty(tr->step, TG_F32, 2, shape);
    if (x == NULL)
        return tg_last_status();
    fashion_gather(tr->train, idx, b, tg_mut_f32(x), tr->labels);
    tg_tensor *logits = tg_mlp_forward(tr->step, m->net, x);
    tg_tensor *l = tg_cross_entropy(tr->step, logits, tr->labels);
    tg_params_zero_grad(m->params);
    int rc = tg_backward(tr->step, l);
    if (rc != TG_OK)
        return rc;
    double v = tg_item(l);
    if (!isfinite(v))
        return tg_set_error(TG_ENUMERIC, "the loss became %g: the learning "
                            "rate %g is too large for %s", v, tr->o->lr,
                            tr->o->optimizer);
    *loss += v * (double)b;
    *correct += fashion_correct(logits, tr->labels, b);
    return tg_optimizer_step(m->opt);
}

/*
 * One pass over the training set in a new random order, recording the
 * training curves. *loss is the mean loss over the epoch.
 */
static int train_epoch(trainer *tr, model *m, int epoch, curves *c,
                       double *loss)
{
    int rc = tg_rng_shuffle(&tr->rng, tr->n, tr->order);
    int64_t steps = (tr->n + tr->o->batch - 1) / tr->o->batch;
    int64_t every = steps / 20 > 0 ? steps / 20 : 1, since = 0;
    int64_t correct = 0, correct_since = 0;
    double total = 0, total_since = 0, t0 = fashion_seconds(), shown = t0;
    for (int64_t k = 0; k < steps && rc == TG_OK; k++) {
        int64_t i = k * tr->o->batch;
        int64_t b = tr->n - i < tr->o->batch ? tr->n - i : tr->o->batch;
        rc = train_step(tr, m, tr->order + i, b, &total, &correct);
        tg_tape_reset(tr->step);
        if (rc == TG_OK && ((k + 1) % every == 0 || k + 1 == steps)) {
            int64_t seen = i + b - since;
            double x = epoch - 1 + (double)(i + b) / (double)tr->n;
            rc = curve_add(&c->train_loss, x, (total - total_since) /
                           (double)seen);
            if (rc == TG_OK)
                rc = curve_add(&c->train_acc, x, 100.0 * (double)(correct -
                               correct_since) / (double)seen);
            since = i + b, total_since = total, correct_since = correct;
        }
        double now = fashion_seconds();
        if (tr->progress.tty && rc == TG_OK && now - shown > 0.25) {
            fashion_progress_show(&tr->progress, epoch, tr->o->epochs, i + b,
                                  tr->n, total, now - t0);
            shown = now;
        }
    }
    fashion_progress_clear(&tr->progress);
    *loss = total / (double)tr->n;
    return rc;
}

/* Train o->epochs epochs, testing after each; the last test accuracy in
 * *accuracy. */
static int train_all(trainer *tr, model *m, const fashion_set *test,
                     curves *c, double *accuracy)
{
    int rc = TG_OK;
    for (int e = 1; e <= tr->o->epochs && rc == TG_OK; e++) {
        double t0 = fashion_seconds(), loss = 0, test_loss = 0;
        rc = train_epoch(tr, m, e, c, &loss);
        double t1 = fashion_seconds();
        if (rc == TG_OK)
            rc = fashion_evaluate(tr->step, m->net, test, &test_loss,
                                  accuracy);
        if (rc == TG_OK)
            rc = curve_add(&c->test_loss, e, test_loss);
        if (rc == TG_OK)
            rc = curve_add(&c->test_acc, e, 100 * *accuracy);
        if (rc == TG_OK)
            printf("epoch %d/%d  train loss %.4f  test loss %.4f  "
                   "test accuracy %.2f%%  %.1f s (%.0f samples/s; test "
                   "%.1f s)\n", e, tr->o->epochs, loss, test_loss,
                   100 * *accuracy, t1 - t0, (double)tr->n / (t1 - t0),
                   fashion_seconds() - t1);
        fflush(stdout);
    }
    return rc;
}

/* ---- main */

static int run(const options *o, const fashion_set *train,
               const fashion_set *test)
{
    model m = {0};
    curves c = {0};
    trainer tr = {o, train, train->n, NULL, NULL, tg_tape_new(), {0},
                  {isatty(fileno(stdout)), 0}};
    tr.order = malloc((size_t)train->n * sizeof *tr.order);
    tr.labels = malloc((size_t)o->batch * sizeof *tr.labels);
    int rc = tr.order && tr.labels && tr.step
             ? model_new(&m, o)
             : tg_set_error(TG_ENOMEM, "out of memory");
    for (int64_t i = 0; i < train->n && tr.order; i++)
        tr.order[i] = i;
    tg_rng_seed(&tr.rng, o->seed, 2);
    if (rc == TG_OK)
        printf("MLP 784-256-10, %lld parameters; %s lr %g, batch %lld, "
               "seed %llu\n", (long long)tg_params_numel(m.params),
               o->optimizer, o->lr, (long long)o->batch,
               (unsigned long long)o->seed);
    double accuracy = 0;
    if (rc == TG_OK)
        rc = train_all(&tr, &m, test, &c, &accuracy);
    char npz[4200], loss_svg[4200], acc_svg[4200];
    snprintf(npz, sizeof npz, "%s/fashion_mnist.npz", o->out);
    snprintf(loss_svg, sizeof loss_svg, "%s/fashion_mnist_loss.svg", o->out);
    snprintf(acc_svg, sizeof acc_svg, "%s/fashion_mnist_accuracy.svg",
             o->out);
    if (rc == TG_OK)
        rc = save_model(npz, &m);
    if (rc == TG_OK)
        rc = write_plots(loss_svg, acc_svg, &c);
    if (rc == TG_OK)
        printf("test accuracy %.2f%% after %d epoch%s\nwrote %s\nwrote %s\n"
               "wrote %s\n", 100 * accuracy, o->epochs, o->epochs > 1 ? "s"
               : "", npz, loss_svg, acc_svg);
    curves_free(&c);
    free(tr.order);
    free(tr.labels);
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
        fprintf(stderr, "fashion_mnist: cannot write into %s: %s\n", o.out,
                strerror(errno));
        return 1;
    }
    tg_tape *data = tg_tape_new();
    fashion_set train, test;
    double t0 = fashion_seconds();
    int rc = data ? fashion_load_both(data, o.data, o.limit, o.test_limit,
                                      &train, &test)
                  : tg_set_error(TG_ENOMEM, "out of memory");
    if (rc == TG_OK) {
        printf("Fashion-MNIST from %s: %lld training and %lld test images "
               "(loaded in %.1f s)\n", o.data, (long long)train.n,
               (long long)test.n, fashion_seconds() - t0);
        rc = run(&o, &train, &test);
    }
    if (rc != TG_OK)
        fprintf(stderr, "fashion_mnist: %s\n", tg_last_error());
    tg_tape_free(data);
    return rc == TG_OK ? 0 : 1;
}
