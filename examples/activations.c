/*
 * activations.c — the gallery: every activation of the library, each done
 * as the seed does relu (examples/relu.c), after the article series the
 * seed comes from.
 *
 *     x  = linspace(-2, 2, 1000)                    (f32, requires grad)
 *     y  = acti(x)
 *     yp = grad(acti(x).sum(), x, create_graph=True)
 *     ypp = grad(yp.sum(), x)                       (the gradient of the
 *                                                    gradient)
 *     DIR/<name>.json  {"x": ..., "y": ..., "yp": ..., "ypp": ...} as
 *                      json.dump(indent=4)
 *     DIR/<name>.svg   y, yp and ypp against x
 *
 * and DIR/index.html, a page that shows every plot. Options with a value
 * take PyTorch's default (leaky_relu's slope 0.01, elu's alpha 1,
 * softplus's beta 1 and threshold 20, hardtanh's -1 and 1).
 *
 * Because the activations act elementwise, d yp_i / d x_j is zero for
 * i != j, so the gradient of yp.sum() is exactly y'' at each point. yp is
 * recorded (tg_vjp with create_graph) only when the op has its derivative
 * written with ops (tg_op.backward_ops); an op without one gets y and yp
 * as before, no "ypp", and a note on the page and on stdout, never a
 * made-up second derivative.
 */
#include <tapegrad.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- The activations --------------------------------------------------- */

static tg_tensor *leaky_relu(tg_tape *t, tg_tensor *x)
{
    return tg_leaky_relu(t, x, 0.01);
}

static tg_tensor *elu(tg_tape *t, tg_tensor *x)
{
    return tg_elu(t, x, 1.0);
}

static tg_tensor *softplus(tg_tape *t, tg_tensor *x)
{
    return tg_softplus(t, x, 1.0, 20.0);
}

static tg_tensor *hardtanh(tg_tape *t, tg_tensor *x)
{
    return tg_hardtanh(t, x, -1.0, 1.0);
}

typedef struct activation {
    const char *name;      /* the op, and the files' base name */
    const char *title;     /* PyTorch's name for it: the plot's title */
    const char *formula;   /* for the page */
    tg_tensor *(*apply)(tg_tape *t, tg_tensor *x);
} activation;

static const activation gallery[] = {
    {"relu", "ReLU", "max(x, 0)", tg_relu},
    {"leaky_relu", "LeakyReLU", "x if x > 0 else 0.01 x", leaky_relu},
    {"elu", "ELU", "x if x > 0 else e^x - 1", elu},
    {"selu", "SELU", "1.0507 (x if x > 0 else 1.6733 (e^x - 1))", tg_selu},
    {"gelu", "GELU", "x &#934;(x)", tg_gelu},
    {"gelu_tanh", "GELU (tanh)",
     "x (1 + tanh(&#8730;(2/&#960;) (x + 0.044715 x&#179;))) / 2",
     tg_gelu_tanh},
    {"silu", "SiLU", "x sigmoid(x)", tg_silu},
    {"softplus", "Softplus", "log(1 + e^x)", softplus},
    {"mish", "Mish", "x tanh(softplus(x))", tg_mish},
    {"hardtanh", "Hardtanh", "min(max(x, -1), 1)", hardtanh},
    {"relu6", "ReLU6", "min(max(x, 0), 6)", tg_relu6},
    {"hardsigmoid", "Hardsigmoid", "min(max(x + 3, 0), 6) / 6",
     tg_hardsigmoid},
    {"hardswish", "Hardswish", "x min(max(x + 3, 0), 6) / 6", tg_hardswish},
    {"softsign", "Softsign", "x / (1 + |x|)", tg_softsign},
    {"sigmoid", "Sigmoid", "1 / (1 + e^-x)", tg_sigmoid},
    {"tanh", "Tanh", "tanh(x)", tg_tanh},
};
#define N_GALLERY ((int)(sizeof gallery / sizeof gallery[0]))

/* ---- Files ------------------------------------------------------------- */

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

/* The f32 tensor's values widened to double, for the plot; NULL if out of
 * memory. */
static double *to_doubles(const tg_tensor *x)
{
    int64_t n = tg_numel(x);
    double *v = malloc((size_t)n * sizeof *v);
    const float *f = tg_data_f32(x);
    for (int64_t i = 0; v != NULL && i < n; i++)
        v[i] = f[i];
    return v;
}

static int write_plot(const char *path, const activation *a,
                      const tg_tensor *x, const tg_tensor *y,
                      const tg_tensor *yp, const tg_tensor *ypp)
{
    double *xs = to_doubles(x), *ys = to_doubles(y), *yps = to_doubles(yp);
    double *ypps = ypp != NULL ? to_doubles(ypp) : NULL;
    int rc = TG_ENOMEM;
    char label_y[96], label_yp[96], label_ypp[96];
    snprintf(label_y, sizeof label_y, "y = %s(x)", a->name);
    snprintf(label_yp, sizeof label_yp, "yp = d %s(x) / dx", a->name);
    snprintf(label_ypp, sizeof label_ypp, "ypp = d\u00b2 %s(x) / dx\u00b2",
             a->name);
    if (xs != NULL && ys != NULL && yps != NULL &&
        (ypp == NULL || ypps != NULL)) {
        int64_t n = tg_numel(x);
        tg_plot_series s[3] = {
            {label_y, xs, ys, n, NULL},
            {label_yp, xs, yps, n, NULL},
            {label_ypp, xs, ypps, n, NULL},
        };
        tg_plot plot = {a->title, "x", NULL, 0, 0};
        rc = tg_svg_write_plot(path, &plot, ypp != NULL ? 3 : 2, s);
    } else {
        tg_set_error(TG_ENOMEM, "activations: out of memory for the plot");
    }
    free(xs);
    free(ys);
    free(yps);
    free(ypps);
    return rc;
}

/* Whether the op has its derivative written with ops, so that yp can be
 * recorded and differentiated again. */
static bool has_second_derivative(const activation *a)
{
    const tg_op *op = tg_op_find(a->name);
    return op != NULL && op->backward_ops != NULL;
}

/*
 * yp = d sum(y) / dx, recorded when ypp is wanted, and ypp = d sum(yp) /
 * dx. When yp has no history (relu's is gy * (x > 0): a mask has no
 * derivative), it does not depend on x and ypp is zeros, as PyTorch's
 * materialize_grads gives.
 */
static int derivatives(tg_tape *t, tg_tensor *x, tg_tensor *y, bool second,
                       tg_tensor **yp, tg_tensor **ypp)
{
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = second;
    tg_tensor *s = tg_sum(t, y);
    *ypp = NULL;
    int rc = s != NULL ? tg_vjp(t, 1, &s, NULL, 1, &x, yp, &o)
                       : tg_last_status();
    if (rc != TG_OK || !second)
        return rc;
    if (!tg_requires_grad(*yp)) {
        *ypp = tg_zeros(t, tg_dtype_of(x), tg_ndim(x), tg_shape(x));
        return *ypp != NULL ? TG_OK : tg_last_status();
    }
    o = tg_vjp_defaults();
    o.unused = TG_UNUSED_ZEROS;
    tg_tensor *sp = tg_sum(t, *yp);
    return sp != NULL ? tg_vjp(t, 1, &sp, NULL, 1, &x, ypp, &o)
                      : tg_last_status();
}

/*
 * One activation, as the seed: y = acti(x), yp = d sum(acti(x)) / dx and
 * ypp = d sum(yp) / dx on a tape of its own, written as DIR/<name>.json
 * and DIR/<name>.svg.
 */
static int draw(const char *dir, const activation *a, long long steps)
{
    tg_tape *tape = tg_tape_new();
    tg_tensor *x = tg_linspace(tape, TG_F32, -2.0, 2.0, steps);
    tg_set_requires_grad(x, true);
    tg_tensor *y = a->apply(tape, x);
    tg_tensor *yp = NULL, *ypp = NULL;
    int rc = y != NULL ? derivatives(tape, x, y, has_second_derivative(a),
                                     &yp, &ypp)
                       : tg_last_status();
    char json[4200], svg[4200];
    snprintf(json, sizeof json, "%s/%s.json", dir, a->name);
    snprintf(svg, sizeof svg, "%s/%s.svg", dir, a->name);
    if (rc == TG_OK) {
        const char *names[4] = {"x", "y", "yp", "ypp"};
        const tg_tensor *values[4] = {x, y, yp, ypp};
        rc = tg_json_write(json, ypp != NULL ? 4 : 3, names, values);
    }
    if (rc == TG_OK)
        rc = write_plot(svg, a, x, y, yp, ypp);
    if (rc == TG_OK)
        printf("%-12s wrote %s and %s.svg%s\n", a->name, json, a->name,
               ypp != NULL ? "" : " (no ypp: the op has no backward_ops)");
    tg_tape_free(tape);
    return rc;
}

/* DIR/index.html: a grid of the plots, each with its name and formula. */
static int write_index(const char *dir, long long steps)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return tg_set_error(TG_EIO, "cannot write %s: %s", path,
                            strerror(errno));
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\">\n<title>Activations and their "
          "first and second derivatives</title>\n<style>\n"
          "body { font-family: sans-serif; margin: 2em; }\n"
          ".grid { display: grid; gap: 1.5em;\n"
          "        grid-template-columns: repeat(auto-fill, minmax(420px, "
          "1fr)); }\n"
          "figure { margin: 0; }\n"
          "img { width: 100%; height: auto; border: 1px solid #ddd; }\n"
          "figcaption { margin-top: 0.3em; }\n"
          "</style>\n</head>\n<body>\n"
          "<h1>Activations and their first and second derivatives</h1>\n", f);
    fprintf(f, "<p>y = acti(x), yp = d acti(x) / dx and ypp = d&#178; "
            "acti(x) / dx&#178; on linspace(-2, 2, %lld), computed by "
            "tapegrad's autograd: yp is the gradient of acti(x).sum(), "
            "recorded (tg_vjp with create_graph), and ypp is the gradient "
            "of yp.sum(), the gradient of the gradient. At a kink (relu at "
            "0) the second derivative is a spike the samples cannot show; "
            "the engine gives 0 there, as PyTorch does. Each plot's data is "
            "in the JSON file of the same name.</p>\n"
            "<div class=\"grid\">\n", steps);
    for (int i = 0; i < N_GALLERY; i++) {
        const activation *a = &gallery[i];
        bool second = has_second_derivative(a);
        fprintf(f, "<figure id=\"%s\">\n<img src=\"%s.svg\" alt=\"%s: y and "
                "its derivative%s\">\n<figcaption><b>%s</b>: %s "
                "(<a href=\"%s.json\">%s.json</a>)%s</figcaption>\n"
                "</figure>\n", a->name, a->name, a->title,
                second ? "s" : "", a->title, a->formula, a->name, a->name,
                second ? "" : ". No ypp: this op has no derivative written "
                "with ops (backward_ops) yet, so its derivative cannot be "
                "differentiated again");
    }
    fputs("</div>\n</body>\n</html>\n", f);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed)
        return tg_set_error(TG_EIO, "cannot write %s: %s", path,
                            strerror(errno));
    printf("index        wrote %s\n", path);
    return TG_OK;
}

/* ---- Command line -------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: activations [--out DIR] [--steps N]\n"
            "\n"
            "For every activation of tapegrad, computes y = acti(x),\n"
            "yp = d sum(acti(x)) / dx and ypp = d sum(yp) / dx (the second\n"
            "derivative, when the op has backward_ops) on\n"
            "x = linspace(-2, 2, N) (f32) and writes DIR/<name>.json and\n"
            "DIR/<name>.svg as examples/relu.c does, with ypp added, then\n"
            "DIR/index.html showing every plot.\n"
            "\n"
            "  --out DIR    output folder (default data/activations)\n"
            "  --steps N    number of points, 2 to 100000000 (default 1000)\n"
            "  --help       show this and exit\n");
}

/* 0 on success, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, const char **out,
                      long long *steps)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        char *end = NULL;
        if (v != NULL && strcmp(a, "--out") == 0) {
            *out = v;
        } else if (v != NULL && strcmp(a, "--steps") == 0) {
            errno = 0;
            *steps = strtoll(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || *steps < 2 ||
                *steps > 100000000) {
                fprintf(stderr, "activations: --steps expects a whole "
                        "number from 2 to 100000000, got \"%s\"\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "activations: unknown or incomplete option "
                    "\"%s\"\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = "data/activations";
    long long steps = 1000;
    int parsed = parse_args(argc, argv, &out, &steps);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    int rc = TG_OK;
    if (make_dirs(out) != 0)
        rc = tg_set_error(TG_EIO, "cannot create folder %s: %s", out,
                          strerror(errno));
    for (int i = 0; i < N_GALLERY && rc == TG_OK; i++)
        rc = draw(out, &gallery[i], steps);
    if (rc == TG_OK)
        rc = write_index(out, steps);
    if (rc != TG_OK) {
        fprintf(stderr, "activations: %s\n", tg_last_error());
        return 1;
    }
    return 0;
}
