/*
 * test_audit7_edge.c — every op of the op table (tests/support/tg_op_cases.c,
 * each op's first row: its shapes and parameters) at the edges of floating
 * point, against PyTorch 1.13: inputs mixing normal values with NaN, +-inf,
 * +-0, huge (1e30, 1e300), tiny and subnormal (1e-40, 1e-310) and
 * overflowing-exp (+-100, +-800) values, in f32 and f64; the value, the
 * gradient of sum(y * r), and for the smooth ops on large-but-finite inputs
 * the second derivative (tg_vjp with create_graph, against
 * torch.autograd.grad(create_graph=True)). bce_with_logits, which the table
 * lacks (it is written with other ops), is called here directly, and so
 * are pow, softplus, leaky_relu, elu and hardtanh with parameters other
 * than the table's (named "op@p1@p2" in the manifest).
 *
 * fixtures/diff/gen_audit7.py wrote the cases (fixtures/diff/audit7.npz,
 * listed in audit7_manifest.txt). PyTorch computed in the case's own dtype,
 * so where float32 overflows both must.
 *
 * Agreement: the same NaN-ness, the same infinities (sign included), and
 * finite values within TOL_ULPS of the dtype's epsilon relative to
 * |want| + FLOOR max |want| of the array (reductions add in another order
 * than PyTorch; a gradient that cancels to ~0 is judged against the
 * array's scale). A zero's sign is not compared.
 */
#include "tg_op_cases.h"
#include "tg_test.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef DIFF_DIR
#error "DIFF_DIR must name tests/fixtures/diff"
#endif

#define TOL_ULPS 64.0
#define MAX_CASES 1024
#define MAX_SHOWN 6
#define FLOOR 1e-3

typedef struct edge_case {
    int index;
    char op[40];
    tg_dtype dt;
} edge_case;

static edge_case cases[MAX_CASES];
static int n_cases;

/* The archive, read once by main (before the tests' counting allocator):
 * the cases read its references and copy their inputs onto their own
 * tapes. */
static tg_tape *archive_tape;
static const tg_npz *archive;

typedef struct run {
    const edge_case *c;
    const tg_npz *z;
    const tg_tensor *skip;  /* documented differences: elements not compared */
    double floor;           /* FLOOR, or 1 for an op that adds many terms */
    double scale;           /* the largest finite input of such an op */
    double ulps;            /* TOL_ULPS times this */
    int bad;
} run;

static tg_tensor *entry_hi(const run *r, const char *name, int k,
                          const char *suffix)
{
    char key[64];
    if (k >= 0)
        snprintf(key, sizeof key, "%d.%s%d%s", r->c->index, name, k, suffix);
    else
        snprintf(key, sizeof key, "%d.%s%s", r->c->index, name, suffix);
    return tg_npz_get(r->z, key);
}

static tg_tensor *entry(const run *r, const char *name, int k)
{
    return entry_hi(r, name, k, "");
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? (double)tg_data_f32(x)[i]
                                    : tg_data_f64(x)[i];
}

/* Whether got agrees with want (see the top of the file). */
static bool agree(double got, double want, double tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    return fabs(got - want) <= tol;
}

/* The largest finite |x[i]|. */
static double largest(const tg_tensor *x)
{
    double big = 0;
    for (int64_t i = 0; i < tg_numel(x); i++)
        if (isfinite(at(x, i)) && fabs(at(x, i)) > big)
            big = fabs(at(x, i));
    return big;
}

/* got against PyTorch's want in the case's dtype and, for f32 cases,
 * hi: PyTorch's float64 answer for the same inputs (either will do:
 * PyTorch's float32 kernels are not all accurate to a few ulps, and
 * float64 does not overflow where float32 does). */
static void compare(run *r, const char *what, const tg_tensor *got,
                    const tg_tensor *want, const tg_tensor *hi)
{
    ck_assert_msg(want != NULL, "case %d: no %s", r->c->index, what);
    if (got == NULL) {
        printf("# %s %d %s: %s is NULL (%s)\n", r->c->op, r->c->index,
               r->c->dt == TG_F32 ? "f32" : "f64", what, tg_last_error());
        r->bad++;
        return;
    }
    ck_assert_int_eq(tg_numel(got), tg_numel(want));
    ck_assert_int_eq(tg_dtype_of(got), r->c->dt);
    int64_t n = tg_numel(want);
    double big = fmax(largest(want), r->scale);
    double big_hi = hi ? fmax(largest(hi), r->scale) : 0;
    double eps = r->c->dt == TG_F32 ? FLT_EPSILON : DBL_EPSILON;
    double tiny = r->c->dt == TG_F32 ? FLT_MIN : DBL_MIN;
    int shown = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = at(got, i), w = at(want, i);
        double tol = TOL_ULPS * r->ulps * eps * (fabs(w) + r->floor * big) +
                     tiny;
        if ((r->skip != NULL && at(r->skip, i) != 0) || agree(g, w, tol))
            continue;
        if (hi != NULL) {
            double wh = at(hi, i);
            double th = TOL_ULPS * r->ulps * eps *
                            (fabs(wh) + r->floor * big_hi) + tiny;
            if (agree(g, wh, th))
                continue;
        }
        r->bad++;
        if (shown++ < MAX_SHOWN)
            printf("# %s %d %s: %s[%lld] = %.17g, PyTorch %.17g (%.17g)\n",
                   r->c->op, r->c->index, r->c->dt == TG_F32 ? "f32" : "f64",
                   what, (long long)i, g, w, hi ? at(hi, i) : w);
    }
}

/* Whether op sums many terms: among 1e30 and -1e30 the order of the
 * additions decides the rest, so the tolerance is relative to the
 * array's largest element (as test_diff_torch.c's). */
static bool adds_many(const char *op)
{
    static const char *const ops[] = {
        "sum", "sum_axis", "mean", "mean_axis", "logsumexp",
        "logsumexp_axis", "matmul", "linear", "softmax", "log_softmax",
        "cross_entropy", "mse_loss", "layer_norm", "batch_norm",
        "scaled_dot_product_attention", "avg_pool2d", "adaptive_avg_pool2d",
        "conv1d", "conv2d", "bce_with_logits", "scatter_add"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            return true;
    return false;
}

/* sum(a * b) on t. */
static tg_tensor *dot(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    return tg_sum(t, tg_mul(t, a, b));
}

/* The parameters after an op's name: "pow@-2.5" gives -2.5 in p[0]. */
static int params_of(const char *op, double *p)
{
    int n = 0;
    for (const char *at = strchr(op, '@'); at && n < 2; at = strchr(at + 1,
                                                                     '@'))
        p[n++] = strtod(at + 1, NULL);
    return n;
}

static bool named(const char *op, const char *base)
{
    size_t n = strlen(base);
    return strncmp(op, base, n) == 0 && op[n] == '@';
}

static tg_tensor *build(const run *r, tg_tape *t, tg_tensor *const *in)
{
    const char *op = r->c->op;
    double p[2] = {0, 0};
    params_of(op, p);
    if (strcmp(op, "bce_with_logits") == 0)
        return tg_bce_with_logits(t, in[0], in[1], NULL);
    if (named(op, "pow"))        /* the table's ops with other parameters */
        return tg_pow(t, in[0], p[0]);
    if (named(op, "softplus"))
        return tg_softplus(t, in[0], p[0], p[1]);
    if (named(op, "leaky_relu"))
        return tg_leaky_relu(t, in[0], p[0]);
    if (named(op, "elu"))
        return tg_elu(t, in[0], p[0]);
    if (named(op, "hardtanh"))
        return tg_hardtanh(t, in[0], p[0], p[1]);
    const tg_op_case *oc = tg_op_case_find(r->c->op);
    ck_assert_msg(oc != NULL, "no op case %s", r->c->op);
    return oc->build(t, in);
}

START_TEST(matches_pytorch_at_edges)
{
    run r = {&cases[_i], archive, NULL, FLOOR, 0, 1, 0};
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_nonnull(t);
    r.skip = entry(&r, "skip", -1);
    if (adds_many(r.c->op))
        r.floor = 1;

    tg_tensor *in[4], *diff[4];
    int n = 0, n_diff = 0, which[4];
    while (n < 4 && entry(&r, "in", n) != NULL) {
        const tg_tensor *a = entry(&r, "in", n);
        in[n] = tg_from_data(t, tg_dtype_of(a), tg_ndim(a), tg_shape(a),
                             tg_dtype_of(a) == TG_F32
                                 ? (const void *)tg_data_f32(a)
                                 : (const void *)tg_data_f64(a));
        ck_assert_ptr_nonnull(in[n]);
        ck_assert_int_eq(tg_dtype_of(in[n]), r.c->dt);
        if (entry(&r, "g", n) != NULL) {
            ck_assert_int_eq(tg_set_requires_grad(in[n], true), TG_OK);
            which[n_diff] = n;
            diff[n_diff++] = in[n];
        }
        n++;
    }
    if (r.floor == 1)
        for (int k = 0; k < n; k++)
            r.scale = fmax(r.scale, largest(in[k]));
    tg_tensor *y = build(&r, t, in);
    compare(&r, "y", y, entry(&r, "y", -1), entry_hi(&r, "y", -1, "_hi"));
    r.scale = 0; /* gradients: against their own scale */
    char name[32];
    if (y != NULL && n_diff > 0) { /* tg_backward: the ops' own kernels */
        tg_tensor *root = dot(t, y, entry(&r, "r", -1));
        ck_assert_msg(tg_backward(t, root) == TG_OK, "%s", tg_last_error());
        for (int k = 0; k < n_diff; k++) {
            snprintf(name, sizeof name, "g%d (tg_backward)", which[k]);
            compare(&r, name, tg_grad(diff[k]), entry(&r, "g", which[k]),
                    entry_hi(&r, "g", which[k], "_hi"));
        }
    }
    bool second = entry(&r, "h", which[0]) != NULL;
    if (y != NULL && n_diff > 0) {
        tg_tensor *g[4];
        tg_vjp_options o = tg_vjp_defaults();
        o.unused = TG_UNUSED_ZEROS;
        o.create_graph = second;
        tg_tensor *rw = entry(&r, "r", -1);
        int st = tg_vjp(t, 1, &y, &rw, n_diff, diff, g, &o);
        ck_assert_msg(st == TG_OK, "%s", tg_last_error());
        for (int k = 0; k < n_diff; k++) { /* the recorded derivative */
            snprintf(name, sizeof name, "g%d (tg_vjp)", which[k]);
            compare(&r, name, g[k], entry(&r, "g", which[k]),
                    entry_hi(&r, "g", which[k], "_hi"));
        }
        if (second) {
            tg_tensor *l2 = NULL, *h[4];
            for (int k = 0; k < n_diff; k++) {
                tg_tensor *d = dot(t, g[k], entry(&r, "s", which[k]));
                l2 = l2 == NULL ? d : tg_add(t, l2, d);
            }
            o.create_graph = false;
            r.floor = 1; /* second derivatives add many terms, and */
            r.ulps = 16;  /* PyTorch's own f32 ones differ by 1e-4 */
            /* a gradient that is a constant (a linear op's) has no
             * history: its derivative is zero */
            st = tg_vjp(t, 1, &l2, NULL, n_diff, diff, h, &o);
            for (int k = 0; st == TG_ESTATE && k < n_diff; k++)
                h[k] = tg_zeros(t, r.c->dt, tg_ndim(diff[k]),
                                tg_shape(diff[k]));
            ck_assert_msg(st == TG_OK || st == TG_ESTATE, "%s",
                          tg_last_error());
            for (int k = 0; k < n_diff; k++) {
                snprintf(name, sizeof name, "h%d", which[k]);
                compare(&r, name, h[k], entry(&r, "h", which[k]),
                        entry_hi(&r, "h", which[k], "_hi"));
            }
        }
    }
    int bad = r.bad;
    tg_tape_free(t);
    ck_assert_msg(bad == 0, "%s case %d (%s): %d elements differ from "
                  "PyTorch (listed above)", cases[_i].op, cases[_i].index,
                  cases[_i].dt == TG_F32 ? "f32" : "f64", bad);
}
END_TEST

static int read_manifest(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        edge_case *c = &cases[n_cases];
        char dt[8];
        if (n_cases == MAX_CASES ||
            sscanf(line, "%d %39s %7s", &c->index, c->op, dt) != 3) {
            fprintf(stderr, "%s: bad line %s", path, line);
            fclose(f);
            return -1;
        }
        c->dt = strcmp(dt, "f32") == 0 ? TG_F32 : TG_F64;
        n_cases++;
    }
    fclose(f);
    return n_cases > 0 ? 0 : -1;
}

int main(void)
{
    if (read_manifest(DIFF_DIR "/audit7_manifest.txt") != 0)
        return 1;
    archive_tape = tg_tape_new();
    archive = tg_npz_load(archive_tape, DIFF_DIR "/audit7.npz");
    if (archive == NULL) {
        fprintf(stderr, "%s\n", tg_last_error());
        return 1;
    }
    Suite *s = suite_create("audit7_edge");
    TCase *tc = tg_test_tcase("audit7_edge");
    tcase_add_loop_test(tc, matches_pytorch_at_edges, 0, n_cases);
    suite_add_tcase(s, tc);
    int rc = tg_test_main(s);
    tg_tape_free(archive_tape);
    return rc;
}
