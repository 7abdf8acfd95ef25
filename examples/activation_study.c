/*
 * activation_study.c — the study the seed comes from, run in C: Lippe's
 * "Tutorial 3: Activation Functions" (UvA Deep Learning Tutorials), which
 * compares sigmoid, tanh, ReLU, LeakyReLU (0.1), ELU and Swish on
 * Fashion-MNIST.
 *
 * Network: Flatten 784 -> Linear 512 -> act -> Linear 256 -> act -> Linear
 * 256 -> act -> Linear 128 -> act -> Linear 10, initialised as PyTorch's
 * nn.Linear. Data: pixels (x/255 - 0.5)/0.5 in [-1, 1]; the 60,000
 * training images split 50,000 / 10,000 (train / validation) at random
 * from the seed; the 10,000 test images for the final figures.
 *
 * For each activation: (1) gradient flow at initialisation: one batch of
 * 256 training images, cross-entropy, backward, a histogram and the
 * standard deviation of each layer's weight gradients; (2) training: SGD
 * lr 1e-2, momentum 0.9, batch 256 (shuffled, last partial batch
 * dropped), at most 50 epochs, early stopping on the validation accuracy
 * with patience 7, the best epoch's weights restored for the test;
 * (3) histograms of every layer's outputs on 1024 training images.
 * Then dead ReLU units (output exactly 0 on every training image) in an
 * untrained and the trained ReLU network, and in an untrained 10-layer
 * ReLU network [256 x5, 128 x5].
 *
 * DIR/results.json and DIR/index.html (with every plot beside the
 * tutorial's published figures) are written at the end, only when all of
 * it ran (activation_report.c). A seventh run, seedrelu, is the seed's
 * own ReLU, x * (x > 0), composed from ops with the same seed as relu:
 * activation_seed.c checks that it gives the same numbers.
 */
#include "activation_study.h"
#include "fashion_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static tg_tensor *leaky_relu(tg_tape *t, tg_tensor *x)
{
    return tg_leaky_relu(t, x, 0.1);   /* the tutorial's alpha */
}

static tg_tensor *elu(tg_tape *t, tg_tensor *x)
{
    return tg_elu(t, x, 1.0);
}

/* The tutorial's order, published test accuracies and colours (C0..C5);
 * then the seed's ReLU, which the tutorial does not run (C6). */
const study_activation study_activations[STUDY_ACTS] = {
    {"sigmoid", "Sigmoid", "tg_sigmoid", tg_sigmoid, 10.00, "#1f77b4"},
    {"tanh", "Tanh", "tg_tanh", tg_tanh, 87.59, "#ff7f0e"},
    {"relu", "ReLU", "tg_relu", tg_relu, 88.62, "#2ca02c"},
    {"leakyrelu", "LeakyReLU", "tg_leaky_relu(x, 0.1)", leaky_relu, 88.92,
     "#d62728"},
    {"elu", "ELU", "tg_elu(x, 1)", elu, 87.27, "#9467bd"},
    {"swish", "Swish", "tg_silu", tg_silu, 88.73, "#8c564b"},
    {"seedrelu", "Seed ReLU", "tg_mul(x, tg_gt_scalar(x, 0))", seed_relu,
     NAN, "#e377c2"},
};

typedef struct options {
    const char *data, *out;
    bool use[STUDY_ACTS];
    int epochs;
    uint64_t seed;
    bool quick;
} options;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: activation_study [--activations LIST] [--epochs N] "
        "[--out DIR] [--seed S]\n"
        "                        [--data DIR] [--quick]\n\n"
        "Lippe's Tutorial 3 (activation functions) on Fashion-MNIST: "
        "gradient flow,\ntraining, activation distributions and dead ReLU "
        "units; writes DIR/results.json\nand DIR/index.html with every "
        "plot.\n\n"
        "  --activations L  comma-separated, from sigmoid,tanh,relu,"
        "leakyrelu,elu,swish,\n"
        "                   seedrelu (the seed's x * (x > 0); default: all "
        "seven)\n"
        "  --epochs N       at most N epochs each, 1 to 50 (default 50; "
        "early stopping\n"
        "                   with patience 7 usually ends sooner)\n"
        "  --out DIR        output folder, made if missing (default "
        "activation_study)\n"
        "  --seed S         seed of the split, the weights and the shuffles "
        "(default 42)\n"
        "  --data DIR       the gzip'd IDX files (default %s,\n"
        "                   from: apt-get install %s)\n"
        "  --quick          512 training, 256 validation and 256 test images,"
        " one epoch\n", FASHION_DEFAULT_DIR, FASHION_PACKAGE);
}

static int parse_activations(const char *list, options *o)
{
    memset(o->use, 0, sizeof o->use);
    char buf[256];
    if (strlen(list) >= sizeof buf || list[0] == '\0') {
        fprintf(stderr, "activation_study: --activations expects a list "
                "such as relu,tanh\n");
        return -1;
    }
    strcpy(buf, list);
    for (char *save, *w = strtok_r(buf, ",", &save); w != NULL;
         w = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < STUDY_ACTS && strcmp(w, study_activations[k].name))
            k++;
        if (k == STUDY_ACTS) {
            fprintf(stderr, "activation_study: unknown activation \"%s\" "
                    "(known: sigmoid, tanh, relu, leakyrelu, elu, swish, "
                    "seedrelu)\n", w);
            return -1;
        }
        o->use[k] = true;
    }
    return 0;
}

static int parse_number(const char *flag, const char *s, long long lo,
                        long long hi, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    if (errno || end == s || *end || *v < lo || *v > hi) {
        fprintf(stderr, "activation_study: %s expects a whole number from "
                "%lld to %lld, not \"%s\"\n", flag, lo, hi, s);
        return -1;
    }
    return 0;
}

/* 0 to go on, 1 after --help, -1 after a message. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){FASHION_DEFAULT_DIR, "activation_study",
                   {true, true, true, true, true, true, true},
                   STUDY_MAX_EPOCHS, 42, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--quick")) {
            o->quick = true;
            continue;
        } else if (v == NULL) {
            fprintf(stderr, "activation_study: unknown or incomplete option "
                    "\"%s\" (see --help)\n", a);
            return -1;
        } else if (!strcmp(a, "--activations")) {
            if (parse_activations(v, o))
                return -1;
        } else if (!strcmp(a, "--epochs")) {
            if (parse_number(a, v, 1, STUDY_MAX_EPOCHS, &n))
                return -1;
            o->epochs = (int)n;
        } else if (!strcmp(a, "--seed")) {
            if (parse_number(a, v, 0, 4294967295LL, &n))
                return -1;
            o->seed = (uint64_t)n;
        } else if (!strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else {
            fprintf(stderr, "activation_study: unknown option \"%s\" (see "
                    "--help)\n", a);
            return -1;
        }
        i++;
    }
    if (o->quick)
        o->epochs = 1;
    return 0;
}

double study_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- The data: three splits, pixels in [-1, 1] */

/* Copy the images idx[0..n) of src, scaled to [-1, 1], into dst. */
static void take(fashion_set *dst, const fashion_set *src,
                 const int64_t *idx, int64_t n, float *px, int64_t *lab)
{
    for (int64_t i = 0; i < n; i++) {
        const float *from = src->images + idx[i] * FASHION_PIXELS;
        for (int j = 0; j < FASHION_PIXELS; j++)
            px[i * FASHION_PIXELS + j] = (from[j] - 0.5f) / 0.5f;
        lab[i] = src->labels[idx[i]];
    }
    *dst = (fashion_set){n, px, lab};
}

/* Both files of Fashion-MNIST onto t, checked for the study's needs. */
static int load_raw(tg_tape *t, const options *o, fashion_set *train,
                    fashion_set *test)
{
    int rc = fashion_load(t, o->data, "train", train);
    if (rc == TG_OK)
        rc = fashion_load(t, o->data, "t10k", test);
    if (rc == TG_OK && train->n < 60000 && !o->quick)
        rc = tg_set_error(TG_EFORMAT, "%s has %lld training images, the "
                          "study needs 60000", o->data, (long long)train->n);
    if (rc == TG_OK && (train->n < 1024 + 256 || test->n < 256))
        rc = tg_set_error(TG_EFORMAT, "%s has only %lld training and %lld "
                          "test images", o->data, (long long)train->n,
                          (long long)test->n);
    return rc;
}

/* Split as the tutorial does (random_split of the training images into
 * 50,000 and 10,000), or take a few hundred images for --quick; order
 * has room for train->n indices. */
static int split(const options *o, const fashion_set *train,
                 const fashion_set *test, int64_t *order, splits *s)
{
    int64_t nval = o->quick ? 256 : train->n - 50000;
    int64_t ntrain = o->quick ? 1024 : 50000, ntest = o->quick ? 256 : test->n;
    int64_t total = ntrain + nval + ntest;
    s->pixels = malloc((size_t)(total * FASHION_PIXELS) * sizeof(float));
    s->labels = malloc((size_t)total * sizeof(int64_t));
    if (s->pixels == NULL || s->labels == NULL)
        return tg_set_error(TG_ENOMEM, "out of memory for the images");
    tg_rng rng;
    tg_rng_seed(&rng, o->seed, 3);
    for (int64_t i = 0; i < train->n; i++)
        order[i] = i;
    int rc = tg_rng_shuffle(&rng, train->n, order);
    if (rc != TG_OK)
        return rc;
    take(&s->train, train, order, ntrain, s->pixels, s->labels);
    take(&s->val, train, order + train->n - nval, nval,
         s->pixels + ntrain * FASHION_PIXELS, s->labels + ntrain);
    for (int64_t i = 0; i < ntest; i++)
        order[i] = i;
    take(&s->test, test, order, ntest,
         s->pixels + (ntrain + nval) * FASHION_PIXELS,
         s->labels + ntrain + nval);
    return TG_OK;
}

/* Load Fashion-MNIST and split it, pixels scaled to [-1, 1]. */
static int load_splits(const options *o, splits *s)
{
    tg_tape *t = tg_tape_new();
    fashion_set train, test;
    int rc = t ? load_raw(t, o, &train, &test)
               : tg_set_error(TG_ENOMEM, "out of memory");
    int64_t *order = rc == TG_OK ? malloc((size_t)train.n * sizeof *order)
                                 : NULL;
    if (rc == TG_OK)
        rc = order ? split(o, &train, &test, order, s)
                   : tg_set_error(TG_ENOMEM, "out of memory");
    free(order);
    tg_tape_free(t);
    return rc;
}

/* ---- main */

/* Make the output folder if it is missing, and check that it can be
 * written into, before hours of work. */
static int prepare_out(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "activation_study: cannot make the output folder "
                "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    /* Write a file there: access() says yes to root even on a read-only
     * file system. */
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.activation_study-%ld", dir,
             (long)getpid());
    FILE *f = fopen(probe, "w");
    if (f == NULL || fclose(f) != 0) {
        fprintf(stderr, "activation_study: cannot write into the output "
                "folder %s: %s\n", dir, strerror(errno));
        return -1;
    }
    remove(probe);
    return 0;
}

static int run(const options *o, const splits *d, study *s)
{
    int rc = measure_dead(d, s);
    for (int k = 0; k < STUDY_ACTS && rc == TG_OK; k++) {
        if (!o->use[k])
            continue;
        act_result *r = &s->r[s->n++];
        r->act = &study_activations[k];
        rc = measure_gradient_flow(d, r, o->seed);
    }
    for (int i = 0; i < s->n && rc == TG_OK; i++) {
        bool relu = !strcmp(s->r[i].act->name, "relu");
        rc = measure_training(d, &s->r[i], o->epochs, o->seed,
                              relu ? s->dead_trained : NULL);
        if (rc == TG_OK && relu) {
            s->have_trained = true;
            printf("dead ReLU units, trained [512, 256, 256, 128]: [%lld, "
                   "%lld, %lld, %lld]\n", (long long)s->dead_trained[0],
                   (long long)s->dead_trained[1],
                   (long long)s->dead_trained[2],
                   (long long)s->dead_trained[3]);
        }
    }
    return rc == TG_OK ? seed_compare(s) : rc;
}

int main(int argc, char **argv)
{
    options o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    if (prepare_out(o.out) != 0)
        return 1;
    static study s;
    splits d = {0};
    double t0 = study_now();
    int rc = load_splits(&o, &d);
    s = (study){.out = o.out, .quick = o.quick, .max_epochs = o.epochs,
                .seed = o.seed, .n_train = d.train.n, .n_val = d.val.n,
                .n_test = d.test.n};
    if (rc == TG_OK) {
        printf("Fashion-MNIST from %s: %lld training, %lld validation and "
               "%lld test images (%.1f s)%s\n", o.data, (long long)d.train.n,
               (long long)d.val.n, (long long)d.test.n, study_now() - t0,
               o.quick ? "; --quick" : "");
        fflush(stdout);
        rc = run(&o, &d, &s);
    }
    s.seconds = study_now() - t0;
    if (rc == TG_OK)
        rc = study_write_report(&s);
    if (rc == TG_OK)
        printf("the study took %.0f s; wrote %s/results.json and "
               "%s/index.html\n", s.seconds, o.out, o.out);
    else
        fprintf(stderr, "activation_study: %s\nactivation_study: no report "
                "written\n", tg_last_error());
    free(d.pixels);
    free(d.labels);
    return rc == TG_OK ? 0 : 1;
}
