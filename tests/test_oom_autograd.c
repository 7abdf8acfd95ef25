/*
 * test_oom_autograd.c — whole scenarios under allocation failure: the seed
 * end to end with its JSON file, a gradient check, gradients as tensors
 * (tg_vjp with and without create_graph, tg_jvp, tg_hvp) and
 * tg_gradgradcheck. Each runs through the sweeps of tests/support/tg_oom.h
 * (each allocation failing in turn, for good and just once, and the tape's
 * memory filled to each level where the scenario's work is on the tape).
 */
#include "tg_oom.h"

/* ---- The seed, end to end: relu on [-2, 2], its gradient, relu.json. */

static int seed(tg_tape *t)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -2.0, 2.0, 1000);
    int rc = tg_set_requires_grad(x, true);
    if (rc != TG_OK)
        return rc;
    tg_tensor *y = tg_relu(t, x);
    rc = tg_backward(t, tg_sum(t, y));
    if (rc != TG_OK)
        return rc;
    const tg_tensor *cols[] = {x, y, tg_grad(x)};
    rc = tg_json_write(in_dir("relu.json"), 3,
                       (const char *[]){"x", "y", "yp"}, cols);
    if (rc != TG_OK) {
        /* A failed write leaves no file, not even a temporary one. */
        return dir_entries() == 0 ? rc : wrong("a failed write left a file");
    }
    const float *g = tg_data_f32(tg_grad(x));
    bool ok = g[0] == 0.0f && g[499] == 0.0f && g[500] == 1.0f &&
              g[999] == 1.0f && tg_data_f32(y)[999] == 2.0f;
    unlink(in_dir("relu.json"));
    return ok ? TG_OK : wrong("relu's gradient");
}

START_TEST(seed_with_json)
{
    make_dir();
    static const scenario sc = {"seed", seed, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
    remove_dir();
}
END_TEST

/* ---- A gradient check of f(x, w) = sum(tanh(x * w) + x) * 0.5. */

static tg_tensor *gc_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_tensor *h = tg_add(t, tg_tanh(t, tg_mul(t, in[0], in[1])), in[0]);
    return tg_mul_scalar(t, tg_sum_axis(t, h, 0, false), 0.5);
}

static int gradcheck(tg_tape *t)
{
    double xv[6] = {0.3, -1.2, 0.7, 2.0, -0.4, 0.05}, wv[3] = {1.5, -0.5, 2};
    tg_tensor *in[2] = {tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, xv),
                        tg_from_data(t, TG_F64, 1, (int64_t[]){3}, wv)};
    if (in[0] == NULL || in[1] == NULL)
        return tg_last_status();
    tg_set_requires_grad(in[0], true);
    tg_gradcheck_report r;
    int rc = tg_gradcheck(gc_fn, NULL, 2, in, NULL, &r);
    /* On every error the inputs are left as they were. */
    if (memcmp(tg_data_f64(in[0]), xv, sizeof xv) != 0 ||
        memcmp(tg_data_f64(in[1]), wv, sizeof wv) != 0 ||
        !tg_requires_grad(in[0]) || tg_requires_grad(in[1]))
        return wrong("gradcheck changed its inputs");
    if (rc != TG_OK)
        return rc;
    if (!r.passed || r.n_checked != 9)
        return wrong(r.message);
    return TG_OK;
}

START_TEST(gradcheck_under_oom)
{
    /* gradcheck evaluates on scratch tapes of its own, so filling t
     * would change nothing: the two modes on a fresh tape only. */
    static const scenario sc = {"gradcheck", gradcheck, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

/* ---- Gradients as tensors: tg_vjp (with and without create_graph,
 * and differentiating the recorded gradient again), tg_jvp, tg_hvp on
 * f(x, w) = sum(tanh(x * w)), x (2, 3), w (3,), f64; and tg_gradgradcheck.
 * A failure must change no tensor's gradient: x's stays 1 (from a plain
 * backward of sum(x) before), w's stays absent. */

static const double px[6] = {0.3, -1.2, 0.7, 2.0, -0.4, 0.05};
static const double pw[3] = {1.5, -0.5, 0.8};

/* 1 - tanh^2 and tanh of element i's product. */
static double sech2(int i, double *th)
{
    *th = tanh(px[i] * pw[i % 3]);
    return 1 - *th * *th;
}

static bool close_to(const tg_tensor *g, int64_t i, double want)
{
    return fabs(tg_value_at(g, i) - want) <= 1e-12 * (1 + fabs(want));
}

/* The status of a call, or WRONG if it touched a gradient. */
static int untouched(tg_tensor *x, tg_tensor *w, int rc)
{
    const tg_tensor *gx = tg_grad(x);
    bool same = gx != NULL && tg_grad(w) == NULL;
    for (int i = 0; same && i < 6; i++)
        same = tg_data_f64(gx)[i] == 1.0;
    return same ? rc : wrong("a product changed a tensor's gradient");
}

static int products(tg_tape *t)
{
    tg_tensor *x = tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, px);
    tg_tensor *w = tg_from_data(t, TG_F64, 1, (int64_t[]){3}, pw);
    if (x == NULL || w == NULL)
        return tg_last_status();
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    int rc = tg_backward(t, tg_sum(t, x));
    if (rc != TG_OK)
        return rc;
    tg_tensor *in[2] = {x, w}, *g[2], *dg[2], *gg[2], *jv, *hv[2];
    tg_tensor *f = tg_sum(t, tg_tanh(t, tg_mul(t, x, w)));
    if (f == NULL)
        return tg_last_status();
    /* First order, nothing recorded. */
    if ((rc = untouched(x, w, tg_vjp(t, 1, &f, NULL, 2, in, g, NULL))))
        return rc;
    /* Recorded, then differentiated again: d/dx of sum(d f / dx). */
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    if ((rc = untouched(x, w, tg_vjp(t, 1, &f, NULL, 2, in, dg, &o))))
        return rc;
    tg_tensor *s = tg_sum(t, dg[0]);
    o.unused = TG_UNUSED_ZEROS;
    if (s == NULL)
        return tg_last_status();
    if ((rc = untouched(x, w, tg_vjp(t, 1, &s, NULL, 2, in, gg, &o))))
        return rc;
    /* J v and H v along v = (ones for x, zeros for w). */
    tg_tensor *v[2] = {tg_ones(t, TG_F64, 2, (int64_t[]){2, 3}),
                       tg_zeros(t, TG_F64, 1, (int64_t[]){3})};
    if (v[0] == NULL || v[1] == NULL)
        return tg_last_status();
    if ((rc = untouched(x, w, tg_jvp(t, 1, &f, 2, in, v, &jv, NULL))))
        return rc;
    if ((rc = untouched(x, w, tg_hvp(t, f, 2, in, v, hv, NULL))))
        return rc;
    double jvp = 0, hw[3] = {0, 0, 0};
    bool ok = true;
    for (int i = 0; i < 6; i++) {
        double th, d = sech2(i, &th), wj = pw[i % 3];
        ok = ok && close_to(g[0], i, wj * d) && close_to(dg[0], i, wj * d) &&
             close_to(gg[0], i, wj * wj * -2 * th * d) &&
             close_to(hv[0], i, wj * wj * -2 * th * d);
        jvp += wj * d;
        hw[i % 3] += d + wj * -2 * th * d * px[i];
    }
    for (int j = 0; j < 3; j++)
        ok = ok && close_to(hv[1], j, hw[j]);
    ok = ok && close_to(jv, 0, jvp);
    return ok ? TG_OK : wrong("vjp, jvp or hvp values");
}

START_TEST(products_under_oom)
{
    static const scenario sc = {"tg_vjp (create_graph off and on, and "
                                "again), tg_jvp, tg_hvp", products, NULL,
                                NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

static tg_tensor *ggc_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_mul(t, in[0], in[1]));
}

static int gradgradcheck(tg_tape *t)
{
    tg_tensor *in[2] = {tg_from_data(t, TG_F64, 2, (int64_t[]){2, 3}, px),
                        tg_from_data(t, TG_F64, 1, (int64_t[]){3}, pw)};
    if (in[0] == NULL || in[1] == NULL)
        return tg_last_status();
    tg_set_requires_grad(in[0], true);
    tg_gradcheck_report r;
    int rc = tg_gradgradcheck(ggc_fn, NULL, 2, in, NULL, &r);
    if (memcmp(tg_data_f64(in[0]), px, sizeof px) != 0 ||
        memcmp(tg_data_f64(in[1]), pw, sizeof pw) != 0 ||
        !tg_requires_grad(in[0]) || tg_requires_grad(in[1]))
        return wrong("gradgradcheck changed its inputs");
    if (rc != TG_OK)
        return rc;
    return r.passed && r.n_checked > 0 ? TG_OK : wrong(r.message);
}

START_TEST(gradgradcheck_under_oom)
{
    /* Scratch tapes of its own, as tg_gradcheck: fresh-tape modes only. */
    static const scenario sc = {"gradgradcheck", gradgradcheck, NULL, NULL};
    oom_sweep(&sc, (mode)_i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom_autograd");
    TCase *tc;
    tc = tg_test_tcase("seed");
    tcase_add_loop_test(tc, seed_with_json, 0, 3);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradcheck");
    tcase_add_loop_test(tc, gradcheck_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("products");
    tcase_add_loop_test(tc, products_under_oom, 0, 3);
    tcase_add_loop_test(tc, gradgradcheck_under_oom, 0, 2);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
