/*
 * test_nonfinite.c — where NaN and inf go, against PyTorch 1.13, for the
 * two ops whose answer there used to differ from it:
 *  - scaled dot-product attention with a NaN or +-inf in one place of q,
 *    k or v (causal, so that place is masked for some rows), at a shape
 *    of the small f32 loops (5 positions, head 3) and of the gemm path
 *    (head 65), f32 and f64: PyTorch adds the mask to the scores (a NaN
 *    or +inf masked score makes its row NaN) and multiplies by v over
 *    every row (0 * inf is NaN). Before, the small f32 path skipped the
 *    masked places and gave finite numbers there.
 *  - layer norm with an infinite or NaN weight, or an infinite upstream
 *    gradient: PyTorch's gradient of x is NaN (or +-inf, by its formula)
 *    where tapegrad's formula gave +-inf.
 * Values and the gradients of sum(y * r) must have the same NaNs and the
 * same infinities (sign included); finite values agree to 1e-4 (f32) or
 * 1e-10 (f64) of the array's largest finite value.
 * fixtures/diff/gen_nonfinite.py wrote fixtures/diff/nonfinite.npz.
 */
#include "tg_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef DIFF_DIR
#error "DIFF_DIR must name tests/fixtures/diff"
#endif

#define MAX_CASES 64
#define MAX_VALUES 1024

/* The archive, read once by main (before the tests' counting allocator). */
static tg_tape *archive_tape;
static const tg_npz *archive;
static int n_attn, n_ln;

static tg_tensor *get(const char *op, int i, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s%d.%s", op, i, name);
    tg_tensor *x = tg_npz_get(archive, key);
    ck_assert_msg(x != NULL, "no %s in the archive", key);
    return x;
}

/* x's values as doubles, in a static buffer (one at a time). */
static const double *values(const tg_tensor *x)
{
    static double v[MAX_VALUES];
    ck_assert_int_le(tg_numel(x), MAX_VALUES);
    for (int64_t i = 0; i < tg_numel(x); i++)
        v[i] = tg_value_at(x, i);
    return v;
}

/* A leaf on t holding the archive's array, requiring grad. */
static tg_tensor *leaf(tg_tape *t, const tg_tensor *a)
{
    return tg_test_leaf(t, tg_dtype_of(a), tg_ndim(a), tg_shape(a),
                        values(a));
}

/* got against PyTorch's want (see the top of the file); returns the
 * number of elements that differ, printing the first few. */
static int compare(const char *what, int i, const tg_tensor *got,
                   const tg_tensor *want)
{
    ck_assert_msg(got != NULL, "case %d %s: NULL (%s)", i, what,
                  tg_last_error());
    ck_assert_int_eq(tg_numel(got), tg_numel(want));
    double big = 0;
    for (int64_t j = 0; j < tg_numel(want); j++)
        if (isfinite(tg_value_at(want, j)))
            big = fmax(big, fabs(tg_value_at(want, j)));
    double tol = (tg_dtype_of(want) == TG_F32 ? 1e-4 : 1e-10) * fmax(big, 1);
    int bad = 0;
    for (int64_t j = 0; j < tg_numel(want); j++) {
        double g = tg_value_at(got, j), w = tg_value_at(want, j);
        bool ok = isnan(w) || isnan(g) ? isnan(w) && isnan(g)
                  : isinf(w) || isinf(g) ? g == w
                                         : fabs(g - w) <= tol;
        if (!ok && bad++ < 4)
            fprintf(stderr, "# case %d %s[%lld]: %.9g, PyTorch %.9g\n", i, what,
                   (long long)j, g, w);
    }
    return bad;
}

/* ---- attention ---- */

START_TEST(attention_matches_pytorch_at_nan_and_inf)
{
    int i = _i;
    tg_tape *t = tg_tape_new();
    tg_tensor *q = leaf(t, get("attn", i, "q"));
    tg_tensor *k = leaf(t, get("attn", i, "k"));
    tg_tensor *v = leaf(t, get("attn", i, "v"));
    bool causal = tg_value_at(get("attn", i, "causal"), 0) != 0;
    tg_tensor *y = tg_scaled_dot_product_attention(t, q, k, v, causal);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    tg_tensor *loss = tg_test_dot(t, y, values(get("attn", i, "r")));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    int bad = compare("y", i, y, get("attn", i, "y")) +
              compare("gq", i, tg_grad(q), get("attn", i, "gq")) +
              compare("gk", i, tg_grad(k), get("attn", i, "gk")) +
              compare("gv", i, tg_grad(v), get("attn", i, "gv"));
    ck_assert_msg(bad == 0, "case %d (%s, %lld positions, head %lld): %d "
                  "values differ from PyTorch's", i,
                  tg_dtype_of(q) == TG_F32 ? "f32" : "f64",
                  (long long)tg_shape(q)[1], (long long)tg_shape(q)[2], bad);
    tg_tape_free(t);
}
END_TEST

/* The same cases through the derivative written with ops (tg_vjp with
 * create_graph): it adds the mask and multiplies as PyTorch does. */
START_TEST(attention_by_ops_matches_pytorch_at_nan_and_inf)
{
    int i = _i;
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3] = {leaf(t, get("attn", i, "q")),
                        leaf(t, get("attn", i, "k")),
                        leaf(t, get("attn", i, "v"))};
    bool causal = tg_value_at(get("attn", i, "causal"), 0) != 0;
    tg_tensor *y = tg_scaled_dot_product_attention(t, in[0], in[1], in[2],
                                                   causal);
    tg_tensor *r = get("attn", i, "r");
    tg_tensor *loss = tg_sum(t, tg_mul(t, y, tg_test_tensor(
        t, tg_dtype_of(r), tg_ndim(r), tg_shape(r), values(r))));
    tg_tensor *g[3];
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    ck_assert_msg(tg_vjp(t, 1, &loss, NULL, 3, in, g, &o) == TG_OK, "%s",
                  tg_last_error());
    int bad = compare("gq", i, g[0], get("attn", i, "gq")) +
              compare("gk", i, g[1], get("attn", i, "gk")) +
              compare("gv", i, g[2], get("attn", i, "gv"));
    ck_assert_msg(bad == 0, "case %d: %d values differ from PyTorch's", i,
                  bad);
    tg_tape_free(t);
}
END_TEST

/* ---- layer norm ---- */

START_TEST(layer_norm_matches_pytorch_at_nan_and_inf)
{
    int i = _i;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf(t, get("ln", i, "x"));
    tg_tensor *w = leaf(t, get("ln", i, "w"));
    tg_tensor *b = leaf(t, get("ln", i, "b"));
    int64_t shape[1] = {4};
    tg_tensor *y = tg_layer_norm(t, x, 1, shape, w, b, 1e-5);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    tg_tensor *loss = tg_test_dot(t, y, values(get("ln", i, "r")));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    int bad = compare("y", i, y, get("ln", i, "y")) +
              compare("gx", i, tg_grad(x), get("ln", i, "gx")) +
              compare("gw", i, tg_grad(w), get("ln", i, "gw")) +
              compare("gb", i, tg_grad(b), get("ln", i, "gb"));
    ck_assert_msg(bad == 0, "case %d (%s): %d values differ from PyTorch's",
                  i, tg_dtype_of(x) == TG_F32 ? "f32" : "f64", bad);
    tg_tape_free(t);
}
END_TEST

/* The same cases through the derivative written with ops (tg_vjp with
 * create_graph), which must put NaN and +-inf where the fused backward
 * and PyTorch do: a row whose means are not finite takes PyTorch's
 * formula there too (before, an infinite weight gave +-inf for NaN). */
START_TEST(layer_norm_by_ops_matches_pytorch_at_nan_and_inf)
{
    int i = _i;
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3] = {leaf(t, get("ln", i, "x")), leaf(t, get("ln", i, "w")),
                        leaf(t, get("ln", i, "b"))};
    int64_t shape[1] = {4};
    tg_tensor *y = tg_layer_norm(t, in[0], 1, shape, in[1], in[2], 1e-5);
    tg_tensor *r = get("ln", i, "r");
    tg_tensor *loss = tg_sum(t, tg_mul(t, y, tg_test_tensor(
        t, tg_dtype_of(r), tg_ndim(r), tg_shape(r), values(r))));
    tg_tensor *g[3];
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    ck_assert_msg(tg_vjp(t, 1, &loss, NULL, 3, in, g, &o) == TG_OK, "%s",
                  tg_last_error());
    int bad = compare("gx", i, g[0], get("ln", i, "gx")) +
              compare("gw", i, g[1], get("ln", i, "gw")) +
              compare("gb", i, g[2], get("ln", i, "gb"));
    ck_assert_msg(bad == 0, "case %d (%s): %d values differ from PyTorch's",
                  i, tg_dtype_of(in[0]) == TG_F32 ? "f32" : "f64", bad);
    tg_tape_free(t);
}
END_TEST

/* Cases op0, op1, ... until one is missing. */
static int count(const char *op)
{
    int n = 0;
    char key[64];
    do
        snprintf(key, sizeof key, "%s%d.y", op, n);
    while (tg_npz_get(archive, key) != NULL && ++n < MAX_CASES);
    return n;
}

int main(void)
{
    archive_tape = tg_tape_new();
    archive = tg_npz_load(archive_tape, DIFF_DIR "/nonfinite.npz");
    if (archive == NULL) {
        fprintf(stderr, "%s\n", tg_last_error());
        return 1;
    }
    n_attn = count("attn");
    n_ln = count("ln");
    if (n_attn == 0 || n_ln == 0) {
        fprintf(stderr, "nonfinite.npz: no cases\n");
        return 1;
    }
    Suite *s = suite_create("nonfinite");
    TCase *tc = tg_test_tcase("nonfinite");
    tcase_add_loop_test(tc, attention_matches_pytorch_at_nan_and_inf, 0,
                        n_attn);
    tcase_add_loop_test(tc, attention_by_ops_matches_pytorch_at_nan_and_inf,
                        0, n_attn);
    tcase_add_loop_test(tc, layer_norm_matches_pytorch_at_nan_and_inf, 0,
                        n_ln);
    tcase_add_loop_test(tc, layer_norm_by_ops_matches_pytorch_at_nan_and_inf,
                        0, n_ln);
    suite_add_tcase(s, tc);
    int rc = tg_test_main(s);
    tg_tape_free(archive_tape);
    return rc;
}
