/*
 * moons.c — micrograd's demo, in C: a tiny MLP learns to separate two
 * interleaving half circles.
 *
 * Data: sklearn's make_moons(n_samples=100, noise=0.1) formula drawn from
 * tapegrad's seeded generator (or micrograd's exact points with --csv).
 * Model: MLP 2-16-16-1 with ReLU, initialised as micrograd does
 * (--pytorch-init for torch.nn.Linear's initialisation). Loss: the max-margin loss
 * mean(relu(1 - y * score)) plus 1e-4 * sum(p^2). Optimiser: full-batch
 * SGD with lr = 1.0 - 0.9 * k / 100 for k = 0..99.
 *
 * Prints loss and accuracy as it trains, then writes the decision
 * boundary over the data (moons.svg) and the trained model (moons.npz,
 * which numpy.load opens) into the output folder.
 */
#include <tapegrad.h>
#include <tapegrad/npy.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MAX 4096

static const double PI = 3.14159265358979323846;

typedef struct options {
    const char *out, *csv;
    int n, steps;
    uint64_t seed;
    bool quiet;
    bool pytorch_init;
} options;

typedef struct dataset {
    int n;
    double x[N_MAX][2];
    double y[N_MAX]; /* -1 or +1 */
} dataset;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: moons [--out DIR] [--csv FILE] [--n N] [--steps K] "
            "[--seed S] [--pytorch-init] [--quiet]\n\n"
            "Trains micrograd's demo network (MLP 2-16-16-1, max-margin loss, "
            "SGD)\non two moons and writes DIR/moons.svg and DIR/moons.npz.\n\n"
            "  --out DIR    output folder (default .)\n"
            "  --csv FILE   train on x1,x2,label rows (labels -1/+1) instead,\n"
            "               e.g. micrograd's exact data set\n"
            "  --n N        number of generated points (default 100)\n"
            "  --steps K    training steps (default 100)\n"
            "  --seed S     generator seed (default 1337)\n"
            "  --pytorch-init  initialise as torch.nn.Linear, not as micrograd\n"
            "               (weights uniform(-1, 1), biases 0)\n"
            "  --quiet      print only the final line\n");
}

static int parse_int(const char *flag, const char *s, long lo, long hi,
                     long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    if (errno || end == s || *end || *v < lo || *v > hi) {
        fprintf(stderr, "moons: %s expects a whole number from %ld to %ld\n",
                flag, lo, hi);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){".", NULL, 100, 100, 1337, false, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = true;
            continue;
        }
        if (!strcmp(a, "--pytorch-init")) {
            o->pytorch_init = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "moons: unknown or incomplete option \"%s\"\n", a);
            return -1;
        }
        const char *s = argv[++i];
        if (!strcmp(a, "--out"))
            o->out = s;
        else if (!strcmp(a, "--csv"))
            o->csv = s;
        else if (!strcmp(a, "--n") && !parse_int(a, s, 2, N_MAX, &v))
            o->n = (int)v;
        else if (!strcmp(a, "--steps") && !parse_int(a, s, 1, 1000000, &v))
            o->steps = (int)v;
        else if (!strcmp(a, "--seed") && !parse_int(a, s, 0, 2147483647, &v))
            o->seed = (uint64_t)v;
        else {
            if (strcmp(a, "--n") && strcmp(a, "--steps") && strcmp(a, "--seed"))
                fprintf(stderr, "moons: unknown option \"%s\"\n", a);
            return -1;
        }
    }
    return 0;
}

/*
 * sklearn.datasets.make_moons: an upper half circle and a lower one shifted
 * right, points evenly spaced in angle, shuffled, plus Gaussian noise.
 * Labels as micrograd uses them: -1 for the outer moon, +1 for the inner.
 */
static void make_moons(dataset *d, int n, double noise, tg_rng *rng)
{
    int n_out = n / 2, n_in = n - n_out;
    for (int i = 0; i < n; i++) {
        bool outer = i < n_out;
        int k = outer ? i : i - n_out, m = outer ? n_out : n_in;
        double a = m > 1 ? PI * k / (m - 1) : 0.0;
        d->x[i][0] = outer ? cos(a) : 1.0 - cos(a);
        d->x[i][1] = outer ? sin(a) : 0.5 - sin(a);
        d->y[i] = outer ? -1.0 : 1.0;
    }
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)tg_rng_bounded(rng, (uint64_t)i + 1);
        double x0 = d->x[i][0], x1 = d->x[i][1], y = d->y[i];
        d->x[i][0] = d->x[j][0], d->x[i][1] = d->x[j][1], d->y[i] = d->y[j];
        d->x[j][0] = x0, d->x[j][1] = x1, d->y[j] = y;
    }
    for (int i = 0; i < n; i++) {
        d->x[i][0] += noise * tg_rng_normal(rng);
        d->x[i][1] += noise * tg_rng_normal(rng);
    }
    d->n = n;
}

/* Rows "x1,x2,label" after a header line. */
static int read_csv(dataset *d, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "moons: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[256];
    d->n = 0;
    int rc = fgets(line, sizeof line, f) ? 0 : -1; /* header */
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        if (d->n == N_MAX ||
            sscanf(line, "%lf,%lf,%lf", &d->x[d->n][0], &d->x[d->n][1],
                   &d->y[d->n]) != 3 || fabs(d->y[d->n]) != 1.0) {
            fprintf(stderr, "moons: %s line %d is not x1,x2,label(-1/1)\n",
                    path, d->n + 2);
            rc = -1;
        }
        d->n++;
    }
    fclose(f);
    if (rc == 0 && d->n < 2) {
        fprintf(stderr, "moons: %s has fewer than 2 rows\n", path);
        rc = -1;
    }
    return rc;
}

/* The network and everything it trains with, on the long-lived tape. */
typedef struct model {
    tg_tape *tape;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
} model;

/*
 * micrograd's Neuron draws every weight from uniform(-1, 1) and starts
 * biases at 0: wider than PyTorch's default, and what the demo was tuned
 * with. Overwrite the values the layers were made with.
 */
static void micrograd_init(model *m, tg_rng *rng)
{
    for (int i = 0; i < tg_mlp_layers(m->net); i++) {
        tg_linear_layer *l = tg_mlp_layer(m->net, i);
        double *w = tg_mut_f64(l->weight), *b = tg_mut_f64(l->bias);
        for (int64_t j = 0; j < tg_numel(l->weight); j++)
            w[j] = 2.0 * tg_rng_uniform(rng) - 1.0;
        for (int64_t j = 0; j < tg_numel(l->bias); j++)
            b[j] = 0.0;
    }
}

static int model_new(model *m, uint64_t seed, bool pytorch_init)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 1);
    int64_t widths[] = {2, 16, 16, 1};
    m->tape = tg_tape_new();
    m->params = tg_params_new(m->tape);
    m->net = tg_mlp_new(m->tape, m->params, &rng, TG_F64, 4, widths, tg_relu);
    if (m->net != NULL && !pytorch_init)
        micrograd_init(m, &rng);
    tg_sgd_options sgd = tg_sgd_defaults(1.0);
    m->opt = m->net ? tg_sgd_new(m->tape, m->params, &sgd) : NULL;
    return m->opt ? TG_OK : tg_last_status();
}

/* Scores of the n points in xs (n x 2) under the current weights. */
static tg_tensor *scores_of(tg_tape *t, const model *m, const double *xs,
                            int64_t n)
{
    int64_t shape[2] = {n, 2};
    return tg_mlp_forward(t, m->net, tg_from_data(t, TG_F64, 2, shape, xs));
}

/* One step of full-batch training; fills loss and accuracy. */
static int train_step(tg_tape *step, model *m, const dataset *d, int k,
                      int steps, double *loss, double *accuracy)
{
    int64_t shape[2] = {d->n, 1};
    tg_tensor *y = tg_from_data(step, TG_F64, 2, shape, d->y);
    tg_tensor *s = scores_of(step, m, &d->x[0][0], d->n);
    tg_tensor *total = tg_add(step, tg_hinge_loss(step, s, y),
                              tg_l2_penalty(step, m->params, 1e-4));
    tg_params_zero_grad(m->params);
    int rc = tg_backward(step, total);
    if (rc != TG_OK)
        return rc;
    int correct = 0;
    for (int i = 0; i < d->n; i++)
        correct += (tg_data_f64(s)[i] > 0) == (d->y[i] > 0);
    *loss = tg_item(total);
    *accuracy = (double)correct / d->n;
    tg_optimizer_set_lr(m->opt, 1.0 - 0.9 * k / steps);
    return tg_optimizer_step(m->opt);
}

/*
 * The demo's picture: the plane coloured by the sign of the network's
 * score (its decision regions), the training points on top. The grid is
 * evaluated on a tape with grad disabled: nothing is recorded.
 */
static int write_boundary(const char *path, const model *m, const dataset *d)
{
    enum { G = 80, W = 480, H = 480 };
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int i = 0; i < d->n; i++)
        for (int c = 0; c < 2; c++) {
            lo[c] = fmin(lo[c], d->x[i][c] - 0.5);
            hi[c] = fmax(hi[c], d->x[i][c] + 0.5);
        }
    static double grid[G * G][2];
    for (int r = 0; r < G; r++)
        for (int c = 0; c < G; c++) {
            grid[r * G + c][0] = lo[0] + (hi[0] - lo[0]) * (c + 0.5) / G;
            grid[r * G + c][1] = hi[1] - (hi[1] - lo[1]) * (r + 0.5) / G;
        }
    tg_tape *t = tg_tape_new();
    tg_tape_set_grad_enabled(t, false);
    tg_tensor *s = scores_of(t, m, &grid[0][0], G * G);
    FILE *f = s ? fopen(path, "w") : NULL;
    if (f == NULL) {
        int rc = s ? tg_set_error(TG_EIO, "cannot write %s: %s", path,
                                  strerror(errno)) : tg_last_status();
        tg_tape_free(t);
        return rc;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\">\n<title>moons: decision "
            "boundary</title>\n", W, H + 30, W, H + 30);
    fprintf(f, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" "
            "font-family=\"sans-serif\" font-size=\"15\">Two moons: decision "
            "boundary of an MLP 2-16-16-1</text>\n<g transform=\"translate(0,30)"
            "\">\n", W / 2);
    double cw = (double)W / G, ch = (double)H / G;
    for (int i = 0; i < G * G; i++)
        fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                "fill=\"%s\"/>\n", (i % G) * cw, (i / G) * ch, cw + 0.3,
                ch + 0.3, tg_data_f64(s)[i] > 0 ? "#fde0b0" : "#b8d8f0");
    for (int i = 0; i < d->n; i++)
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4.5\" fill=\"%s\" "
                "stroke=\"#222\" stroke-width=\"0.8\"/>\n",
                (d->x[i][0] - lo[0]) / (hi[0] - lo[0]) * W,
                (hi[1] - d->x[i][1]) / (hi[1] - lo[1]) * H,
                d->y[i] > 0 ? "#d7301f" : "#1f5fa8");
    fprintf(f, "</g>\n</svg>\n");
    int rc = fclose(f) == 0 ? TG_OK
                            : tg_set_error(TG_EIO, "cannot write %s", path);
    tg_tape_free(t);
    return rc;
}

/* Every layer's weight and bias, as l0.weight, l0.bias, l1.weight, ... */
static int save_model(const char *path, const model *m)
{
    const char *names[16];
    const tg_tensor *values[16];
    static char buf[16][32];
    int n = 0;
    for (int i = 0; i < tg_mlp_layers(m->net) && n + 2 <= 16; i++) {
        snprintf(buf[n], sizeof buf[n], "l%d.weight", i);
        names[n] = buf[n];
        values[n++] = tg_mlp_layer(m->net, i)->weight;
        snprintf(buf[n], sizeof buf[n], "l%d.bias", i);
        names[n] = buf[n];
        values[n++] = tg_mlp_layer(m->net, i)->bias;
    }
    return tg_npz_save(path, n, names, values);
}

int main(int argc, char **argv)
{
    options o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    static dataset d;
    tg_rng rng;
    tg_rng_seed(&rng, o.seed, 0);
    if (o.csv != NULL ? read_csv(&d, o.csv) != 0 : (make_moons(&d, o.n, 0.1,
                                                               &rng), 0))
        return 1;

    model m = {0};
    tg_tape *step = tg_tape_new();
    int rc = model_new(&m, o.seed, o.pytorch_init);
    double loss = 0, accuracy = 0;
    for (int k = 0; k < o.steps && rc == TG_OK; k++) {
        rc = train_step(step, &m, &d, k, o.steps, &loss, &accuracy);
        if (rc == TG_OK && !o.quiet && (k % 10 == 0 || k == o.steps - 1))
            printf("step %3d  loss %.6f  accuracy %5.1f%%\n", k, loss,
                   100 * accuracy);
        tg_tape_reset(step);
    }
    char svg[4200], npz[4200];
    snprintf(svg, sizeof svg, "%s/moons.svg", o.out);
    snprintf(npz, sizeof npz, "%s/moons.npz", o.out);
    if (rc == TG_OK)
        rc = write_boundary(svg, &m, &d);
    if (rc == TG_OK)
        rc = save_model(npz, &m);
    if (rc == TG_OK)
        printf("trained %d steps on %d points: loss %.6f, accuracy %.1f%%\n"
               "wrote %s\nwrote %s\n", o.steps, d.n, loss, 100 * accuracy,
               svg, npz);
    else
        fprintf(stderr, "moons: %s\n", tg_last_error());
    tg_tape_free(step);
    tg_tape_free(m.tape);
    return rc == TG_OK ? 0 : 1;
}
