/*
 * relu.c — the seed: the derivative of ReLU by autograd, as the article's
 * PyTorch script computes it.
 *
 *     x  = torch.linspace(-2, 2, 1000, requires_grad=True)
 *     y  = torch.relu(x)
 *     torch.relu(x).sum().backward();  yp = x.grad
 *     json.dump({"x": x, "y": y, "yp": yp}, f, indent=4)
 *     plot x -> y and x -> yp, title "ReLU"
 *
 * Writes data/activations/relu.json and relu.svg (run it from the
 * repository root, or pass --out DIR) and prints where it wrote them.
 * --trace prints what backward does, entry by entry; --dot FILE writes the
 * tape after backward as a Graphviz graph (dot -Tsvg FILE -o graph.svg).
 */
#include <tapegrad.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct options {
    const char *out;
    double start, end;
    long long steps;
    const char *dot;   /* NULL: no graph */
    bool trace;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: relu [--out DIR] [--start A] [--end B] [--steps N]\n"
            "            [--dot FILE] [--trace]\n"
            "\n"
            "Computes y = relu(x) and yp = d sum(relu(x)) / dx on\n"
            "x = linspace(A, B, N) with tapegrad's tape, and writes\n"
            "DIR/relu.json ({\"x\", \"y\", \"yp\"} as Python's json.dump with\n"
            "indent=4) and DIR/relu.svg (y and yp against x).\n"
            "\n"
            "  --out DIR    output folder (default data/activations)\n"
            "  --start A    first x (default -2)\n"
            "  --end B      last x (default 2)\n"
            "  --steps N    number of points, at least 2 (default 1000)\n"
            "  --dot FILE   write the tape after backward as a Graphviz graph\n"
            "  --trace      print backward's steps: the gradient each entry\n"
            "               receives and what it passes to its inputs\n"
            "  --help       show this and exit\n");
}

static int parse_number(const char *flag, const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0') {
        fprintf(stderr, "relu: %s expects a number, got \"%s\"\n", flag, s);
        return -1;
    }
    return 0;
}

/* 0 on success, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){"data/activations", -2.0, 2.0, 1000, NULL, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--trace") == 0) {
            o->trace = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "relu: unknown or incomplete option \"%s\"\n", a);
            usage(stderr);
            return -1;
        }
        const char *v = argv[++i];
        double d;
        if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--dot") == 0)
            o->dot = v;
        else if (strcmp(a, "--start") == 0) {
            if (parse_number(a, v, &o->start) != 0)
                return -1;
        } else if (strcmp(a, "--end") == 0) {
            if (parse_number(a, v, &o->end) != 0)
                return -1;
        } else if (strcmp(a, "--steps") == 0) {
            if (parse_number(a, v, &d) != 0 || d < 2 || d > 1e8 ||
                d != (double)(long long)d) {
                fprintf(stderr, "relu: --steps expects a whole number from 2 "
                        "to 100000000\n");
                return -1;
            }
            o->steps = (long long)d;
        } else {
            fprintf(stderr, "relu: unknown option \"%s\"\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

/* mkdir -p: make dir and its missing parents. */
static int make_dirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* The tensor's values widened to double, for the plot; NULL on failure. */
static double *to_doubles(const tg_tensor *x)
{
    int64_t n = tg_numel(x);
    double *v = malloc((size_t)n * sizeof *v);
    const float *f = tg_data_f32(x);
    for (int64_t i = 0; v != NULL && i < n; i++)
        v[i] = f[i];
    return v;
}

static int write_plot(const char *path, const tg_tensor *x,
                      const tg_tensor *y, const tg_tensor *yp)
{
    double *xs = to_doubles(x), *ys = to_doubles(y), *yps = to_doubles(yp);
    int rc = TG_ENOMEM;
    if (xs != NULL && ys != NULL && yps != NULL) {
        int64_t n = tg_numel(x);
        tg_plot_series s[2] = {
            {"y = relu(x)", xs, ys, n, NULL},
            {"yp = d relu(x) / dx", xs, yps, n, NULL},
        };
        tg_plot plot = {"ReLU", "x", NULL, 0, 0};
        rc = tg_svg_write_plot(path, &plot, 2, s);
    } else {
        tg_set_error(TG_ENOMEM, "relu: out of memory for the plot");
    }
    free(xs);
    free(ys);
    free(yps);
    return rc;
}

/* The tape as a Graphviz graph, in the file at path. */
static int write_dot(const char *path, const tg_tape *tape)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return tg_set_error(TG_EIO, "cannot write %s: %s", path,
                            strerror(errno));
    int rc = tg_tape_dot(tape, f);
    if (fclose(f) != 0 && rc == TG_OK)
        rc = tg_set_error(TG_EIO, "cannot write %s: %s", path,
                          strerror(errno));
    return rc;
}

static void summarise(const options *o, const tg_tensor *y,
                      const tg_tensor *yp)
{
    const float *ys = tg_data_f32(y), *g = tg_data_f32(yp);
    long long positive = 0, ones = 0;
    for (long long i = 0; i < o->steps; i++) {
        positive += ys[i] > 0;
        ones += g[i] == 1.0f;
    }
    printf("x  = linspace(%g, %g, %lld)  (f32)\n", o->start, o->end, o->steps);
    printf("y  = relu(x)                   %lld of %lld values positive\n",
           positive, o->steps);
    printf("yp = d sum(relu(x)) / dx       %lld ones, %lld zeros\n", ones,
           o->steps - ones);
}

int main(int argc, char **argv)
{
    options o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;

    /* The seed itself: relu(x).sum().backward(), on a tape. */
    tg_tape *tape = tg_tape_new();
    tg_tensor *x = tg_linspace(tape, TG_F32, o.start, o.end, o.steps);
    tg_set_requires_grad(x, true);
    tg_set_name(x, "x");                 /* for --dot and --trace */
    tg_tensor *y = tg_relu(tape, x);
    tg_set_name(y, "y");
    tg_tape_set_trace(tape, o.trace ? stdout : NULL);
    int rc = tg_backward(tape, tg_sum(tape, y));
    tg_tensor *yp = tg_grad(x);

    char json[4200], svg[4200];
    snprintf(json, sizeof json, "%s/relu.json", o.out);
    snprintf(svg, sizeof svg, "%s/relu.svg", o.out);
    if (rc == TG_OK && make_dirs(o.out) != 0)
        rc = tg_set_error(TG_EIO, "cannot create folder %s: %s", o.out,
                          strerror(errno));
    if (rc == TG_OK) {
        const char *names[3] = {"x", "y", "yp"};
        const tg_tensor *values[3] = {x, y, yp};
        rc = tg_json_write(json, 3, names, values);
    }
    if (rc == TG_OK)
        rc = write_plot(svg, x, y, yp);
    if (rc == TG_OK && o.dot != NULL)
        rc = write_dot(o.dot, tape);
    if (rc != TG_OK) {
        fprintf(stderr, "relu: %s\n", tg_last_error());
        tg_tape_free(tape);
        return 1;
    }
    summarise(&o, y, yp);
    printf("wrote %s\nwrote %s\n", json, svg);
    if (o.dot != NULL)
        printf("wrote %s\n", o.dot);
    tg_tape_free(tape);
    return 0;
}
