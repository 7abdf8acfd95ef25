/*
 * io_roundtrip_writer.c — writes JSON and SVG files into the directory
 * given as argv[1], for io_roundtrip.py to read back with Python's own
 * json and xml modules:
 *
 *   seed.json, seed.svg      the seed: x = linspace(-2, 2, 1000) (f32),
 *                            y = relu(x), yp = d sum(relu(x)) / dx
 *   special.json             f64 specials (NaN, infinities, -0.0, 1e16,
 *                            subnormals), a 2-D f32 tensor, names to escape
 *   special.svg              text to escape, breaks at NaN, a lone point
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad.h"

static int fail(const char *what)
{
    fprintf(stderr, "io_roundtrip_writer: %s: %s\n", what, tg_last_error());
    return 1;
}

static int write_seed(tg_tape *t, const char *dir)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -2.0, 2.0, 1000);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_relu(t, x);
    if (tg_backward(t, tg_sum(t, y)) != TG_OK)
        return fail("backward");
    const char *names[] = {"x", "y", "yp"};
    const tg_tensor *values[] = {x, y, tg_grad(x)};
    char path[4096];
    snprintf(path, sizeof path, "%s/seed.json", dir);
    if (tg_json_write(path, 3, names, values) != TG_OK)
        return fail("seed.json");

    double xs[1000], ys[1000], yps[1000];
    for (int i = 0; i < 1000; i++) {
        xs[i] = tg_data_f32(x)[i];
        ys[i] = tg_data_f32(y)[i];
        yps[i] = tg_data_f32(tg_grad(x))[i];
    }
    tg_plot_series series[] = {
        {"relu(x)", xs, ys, 1000, NULL},
        {"relu'(x)", xs, yps, 1000, NULL},
    };
    tg_plot plot = {"ReLU", "x", "y", 0, 0};
    snprintf(path, sizeof path, "%s/seed.svg", dir);
    if (tg_svg_write_plot(path, &plot, 2, series) != TG_OK)
        return fail("seed.svg");
    return 0;
}

static int write_special_json(tg_tape *t, const char *dir)
{
    double v[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 1e16, 1e-5, 0.1,
                  5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                  -1234567890123456.0, 9007199254740993.0, 1e22, 1e23};
    int64_t nv = (int64_t)(sizeof v / sizeof v[0]);
    float m[6] = {-2.0f, 0.1f, 3.4028235e38f, 1e-45f, -0.0f, 16777217.0f};
    int64_t shape[] = {2, 3};
    const char *names[] = {"f64 specials", "f32 \"2-D\" \\ /\t\n\x01\x7f",
                           "na\xc3\xafve \xe2\x88\x82 \xf0\x9f\x98\x80"};
    const tg_tensor *values[] = {tg_from_data(t, TG_F64, 1, &nv, v),
                                 tg_from_data(t, TG_F32, 2, shape, m),
                                 tg_scalar(t, TG_F64, -2.5)};
    char path[4096];
    snprintf(path, sizeof path, "%s/special.json", dir);
    if (tg_json_write(path, 3, names, values) != TG_OK)
        return fail("special.json");
    return 0;
}

static int write_special_svg(const char *dir)
{
    double x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    double y[] = {1e6, 2e6, NAN, 1.5e6, 3e6, INFINITY, 2.5e6, NAN, -1e6};
    double lone_x[] = {4.5}, lone_y[] = {0.0};
    tg_plot_series series[] = {
        {"a < b & \"c\" 'd' > e\x01\xff", x, y, 9, NULL},
        {NULL, lone_x, lone_y, 1, "rgb(0,0,0)"},
        {"empty", NULL, NULL, 0, "#abc"},
    };
    tg_plot plot = {"<Title> & \"quotes\" \xe2\x80\x94 \xc3\xa9t\xc3\xa9",
                    "time (s) < 10", NULL, 800, 300};
    char path[4096];
    snprintf(path, sizeof path, "%s/special.svg", dir);
    if (tg_svg_write_plot(path, &plot, 3, series) != TG_OK)
        return fail("special.svg");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: io_roundtrip_writer DIR\n");
        return 2;
    }
    tg_tape *t = tg_tape_new();
    int rc = t == NULL || write_seed(t, argv[1]) ||
             write_special_json(t, argv[1]) || write_special_svg(argv[1]);
    tg_tape_free(t);
    return rc;
}
