/*
 * test_attention_heads.c — the fused attention paths against attention
 * written out of separate ops (matmul, where, softmax; slice, reshape,
 * permute), outputs and gradients, at the sizes where the kernel switches
 * path (src/ops/attention_kernel.c: 16-lane loops for f32 rows of at most
 * 64, padded to a multiple of 16; the gemm kernel above that and for f64):
 *  - tg_scaled_dot_product_attention at 1, 5, 16, 17, 64 and 65 positions,
 *    head sizes that are and are not multiples of 16, causal or not;
 *  - tg_mha_forward, whose heads are read in place from the (B, L, 3E)
 *    projection (src/ops/attention_heads.c): W7's shape (16 positions, 4
 *    heads of 16), odd heads of 3, heads of 80 (the gemm path with row
 *    strides), and an x without a batch dim.
 * Inputs are random with scores up to about +-10; f64 agrees to 1e-12,
 * f32 to the rounding of sums of 64 to 160 products.
 */
#include "tg_test.h"

#include <math.h>
#include <stdlib.h>

static const tg_dtype dtypes[2] = {TG_F64, TG_F32};

/*
 * Under valgrind (meson test --setup valgrind sets TG_VALGRIND) the largest
 * shape of each test runs in one dtype, not two: they were 40% of the
 * suite's time there (32 s of valgrind's 80x slowdown). Kept: sdpa at 64
 * positions in f32, the last size of the 16-lane loops (f64 takes the gemm
 * path, which 65 positions and head size 65 run in both dtypes); MHA's
 * heads of 80 in f64 (f32 takes the same strided gemm path, which the 70
 * positions case runs in f32). The normal run keeps every case.
 */
static bool valgrind_skips(tg_dtype dt, tg_dtype kept, bool largest)
{
    return largest && dt != kept && getenv("TG_VALGRIND") != NULL;
}

/* sum(y * w), w[i] = cos(1 + i), for any size of y. */
static tg_tensor *loss_of(tg_tape *t, tg_tensor *y)
{
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    tg_tensor *w = tg_zeros(t, tg_dtype_of(y), tg_ndim(y), tg_shape(y));
    ck_assert_ptr_nonnull(w);
    for (int64_t i = 0; i < tg_numel(w); i++) {
        if (tg_dtype_of(w) == TG_F32)
            tg_mut_f32(w)[i] = (float)cos((double)(1 + i));
        else
            tg_mut_f64(w)[i] = cos((double)(1 + i));
    }
    return tg_sum(t, tg_mul(t, y, w));
}

/* softmax(where(mask, q k^T / sqrt(D), -inf)) v from separate ops, for q,
 * k, v of any batch dims; the mask keeps j <= i when causal. */
static tg_tensor *composed(tg_tape *t, tg_tensor *q, tg_tensor *k,
                           tg_tensor *v, bool causal)
{
    int nd = tg_ndim(q), perm[4] = {0, 1, 2, 3};
    perm[nd - 2] = nd - 1;
    perm[nd - 1] = nd - 2;
    int64_t L = tg_shape(q)[nd - 2], S = tg_shape(k)[nd - 2];
    int64_t ms[2] = {L, S};
    tg_tensor *mask = tg_zeros(t, tg_dtype_of(q), 2, ms);
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < S; j++)
            if (!causal || j <= i) {
                if (tg_dtype_of(q) == TG_F32)
                    tg_mut_f32(mask)[i * S + j] = 1;
                else
                    tg_mut_f64(mask)[i * S + j] = 1;
            }
    tg_tensor *s = tg_mul_scalar(t, tg_matmul(t, q, tg_permute(t, k, nd, perm)),
                                 1 / sqrt((double)tg_shape(q)[nd - 1]));
    s = tg_where(t, mask, s, tg_scalar(t, tg_dtype_of(q), -INFINITY));
    return tg_matmul(t, tg_softmax(t, s, -1), v);
}

/* Runs build twice on the n inputs, fused (run 0) and composed (run 1),
 * and compares the outputs and the inputs' gradients. */
typedef tg_tensor *(*build_fn)(tg_tape *t, tg_tensor *const *in, bool comp,
                               const void *ud);

static void agree(tg_tape *t, int n, tg_tensor *const *in, build_fn build,
                  const void *ud, double tol, const char *what)
{
    tg_tensor *out[2][8];
    for (int run = 0; run < 2; run++) {
        for (int i = 0; i < n; i++) {
            tg_set_requires_grad(in[i], true);
            tg_zero_grad(in[i]);
        }
        tg_tensor *y = build(t, in, run == 1, ud);
        ck_assert_msg(y != NULL, "%s: %s", what, tg_last_error());
        ck_assert_int_eq(tg_backward(t, loss_of(t, y)), TG_OK);
        out[run][n] = y;
        for (int i = 0; i < n; i++)
            out[run][i] = tg_detach(t, tg_grad(in[i]));
    }
    for (int i = 0; i <= n; i++) {
        double scale = 0;
        for (int64_t e = 0; e < tg_numel(out[1][i]); e++)
            scale = fmax(scale, fabs(tg_value_at(out[1][i], e)));
        for (int64_t e = 0; e < tg_numel(out[0][i]); e++)
            ck_assert_msg(tg_test_close(tg_value_at(out[0][i], e),
                                        tg_value_at(out[1][i], e), tol,
                                        tol * scale),
                          "%s: %s %d[%lld]: fused %.17g, composed %.17g", what,
                          i == n ? "output" : "gradient of input", i,
                          (long long)e, tg_value_at(out[0][i], e),
                          tg_value_at(out[1][i], e));
    }
}

/* ---- tg_scaled_dot_product_attention ---- */

static tg_tensor *sdpa_build(tg_tape *t, tg_tensor *const *in, bool comp,
                             const void *ud)
{
    bool causal = *(const bool *)ud;
    return comp ? composed(t, in[0], in[1], in[2], causal)
                : tg_scaled_dot_product_attention(t, in[0], in[1], in[2],
                                                  causal);
}

/* positions, head size of q and k, head size of v */
static const int64_t sdpa_sizes[][3] = {
    {1, 4, 4}, {5, 3, 7}, {16, 16, 16}, {17, 20, 9}, {64, 64, 64},
    {65, 8, 8}, {12, 65, 16},
};
#define N_SDPA ((int)(sizeof sdpa_sizes / sizeof sdpa_sizes[0]))

START_TEST(sdpa_agrees_at_every_size)
{
    const int64_t *sz = sdpa_sizes[_i / 4];
    tg_dtype dt = dtypes[_i % 2];
    bool causal = (_i / 2) % 2;
    if (valgrind_skips(dt, TG_F32, sz[0] == 64))
        return;
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 5, (uint64_t)_i);
    int64_t qs[3] = {2, sz[0], sz[1]}, vs[3] = {2, sz[0], sz[2]};
    double sd = pow(100.0 / (double)sz[1], 0.25); /* scores up to ~10 */
    tg_tensor *in[3] = {tg_rand_normal(t, &rng, dt, 3, qs, 0.0, sd),
                        tg_rand_normal(t, &rng, dt, 3, qs, 0.0, sd),
                        tg_rand_normal(t, &rng, dt, 3, vs, 0.0, 1.0)};
    char what[96];
    snprintf(what, sizeof what, "sdpa L %lld D %lld Dv %lld %s %s",
             (long long)sz[0], (long long)sz[1], (long long)sz[2],
             causal ? "causal" : "full", dt == TG_F32 ? "f32" : "f64");
    agree(t, 3, in, sdpa_build, &causal, dt == TG_F64 ? 1e-12 : 2e-5, what);
    tg_tape_free(t);
}
END_TEST

/* ---- tg_mha_forward ---- */

typedef struct mha_case {
    int64_t B, L, E; /* B 0: x is (L, E) */
    int heads;
    bool causal;
} mha_case;

/* (B, L, E) columns from..from+E of x as (B, H, L, hd), by ops. */
static tg_tensor *split(tg_tape *t, tg_tensor *x, const mha_case *c,
                        int64_t from)
{
    int64_t B = c->B ? c->B : 1, shape[4] = {B, c->L, c->heads,
                                             c->E / c->heads};
    int perm[4] = {0, 2, 1, 3};
    x = tg_slice(t, x, tg_ndim(x) - 1, from, from + c->E, 1);
    return tg_permute(t, tg_reshape(t, x, 4, shape), 4, perm);
}

/* in: x, W_in, b_in, W_out, b_out. */
static tg_tensor *mha_build(tg_tape *t, tg_tensor *const *in, bool comp,
                            const void *ud)
{
    const mha_case *c = ud;
    tg_mha m = {in[1], in[2], {in[3], in[4]}, c->heads};
    if (!comp)
        return tg_mha_forward(t, &m, in[0], c->causal);
    tg_tensor *qkv = tg_linear(t, in[0], in[1], in[2]);
    tg_tensor *a = composed(t, split(t, qkv, c, 0), split(t, qkv, c, c->E),
                            split(t, qkv, c, 2 * c->E), c->causal);
    int perm[4] = {0, 2, 1, 3};
    int64_t joined[3] = {c->B, c->L, c->E};
    a = tg_reshape(t, tg_permute(t, a, 4, perm), c->B ? 3 : 2,
                   joined + (c->B ? 0 : 1));
    return tg_linear(t, a, in[3], in[4]);
}

static const mha_case mha_cases[] = {
    {3, 16, 64, 4, true},  /* W7's attention, 3 sequences */
    {3, 16, 64, 4, false},
    {2, 5, 6, 2, true},    /* heads of 3 */
    {0, 7, 12, 3, true},   /* no batch dim */
    {1, 9, 160, 2, true},  /* heads of 80: the gemm path, strided */
    {2, 70, 8, 1, false},  /* 70 positions: the gemm path */
};
#define N_MHA ((int)(sizeof mha_cases / sizeof mha_cases[0]))

START_TEST(mha_agrees_with_its_composition)
{
    const mha_case *c = &mha_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    if (valgrind_skips(dt, TG_F64, c->E == 160))
        return;
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 9, (uint64_t)_i);
    int64_t xs[3] = {c->B, c->L, c->E}, wi[2] = {3 * c->E, c->E},
            bi[1] = {3 * c->E}, wo[2] = {c->E, c->E};
    double bound = 2.0 / sqrt((double)c->E);
    tg_tensor *in[5] = {
        tg_rand_normal(t, &rng, dt, c->B ? 3 : 2, xs + (c->B ? 0 : 1), 0, 1),
        tg_rand_uniform(t, &rng, dt, 2, wi, -bound, bound),
        tg_rand_uniform(t, &rng, dt, 1, bi, -0.5, 0.5),
        tg_rand_uniform(t, &rng, dt, 2, wo, -bound, bound),
        tg_rand_uniform(t, &rng, dt, 1, &c->E, -0.5, 0.5)};
    char what[96];
    snprintf(what, sizeof what, "mha B %lld L %lld E %lld heads %d %s %s",
             (long long)c->B, (long long)c->L, (long long)c->E, c->heads,
             c->causal ? "causal" : "full", dt == TG_F32 ? "f32" : "f64");
    agree(t, 5, in, mha_build, c, dt == TG_F64 ? 1e-12 : 5e-5, what);
    tg_tape_free(t);
}
END_TEST

/* As PyTorch's attention (softmax of the scores plus a -inf mask, times
 * v over every row), an inf or NaN in a value row reaches the outputs of
 * the positions that cannot see it too, through their weight 0 (0 * inf
 * is NaN; the last position sees it: inf and NaN): in the 16-lane loops (f32) as in the gemm path (f64), which
 * once differed here. tests/test_nonfinite.c checks the values against
 * PyTorch's. */
START_TEST(masked_values_reach_every_output_as_in_pytorch)
{
    tg_dtype dt = _i ? TG_F64 : TG_F32;
    tg_tape *t = tg_tape_new();
    int64_t s[3] = {1, 16, 16};
    tg_rng rng;
    tg_rng_seed(&rng, 3, 0);
    tg_tensor *q = tg_rand_normal(t, &rng, dt, 3, s, 0, 1);
    tg_tensor *v = tg_rand_normal(t, &rng, dt, 3, s, 0, 1);
    for (int d = 0; d < 16; d++) {
        double bad = d % 2 ? INFINITY : NAN;
        if (dt == TG_F32)
            tg_mut_f32(v)[15 * 16 + d] = (float)bad;
        else
            tg_mut_f64(v)[15 * 16 + d] = bad;
    }
    tg_tensor *y = tg_scaled_dot_product_attention(t, q, q, v, true);
    ck_assert_ptr_nonnull(y);
    for (int64_t i = 0; i < 16 * 16; i++) { /* the last row sees it */
        double yi = tg_value_at(y, i);
        bool inf = i >= 15 * 16 && i % 2;
        ck_assert_msg(inf ? yi == INFINITY : isnan(yi), "y[%lld] = %g",
                      (long long)i, yi);
    }
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attention_heads");
    TCase *tc = tg_test_tcase("attention_heads");
    tcase_add_loop_test(tc, sdpa_agrees_at_every_size, 0, 4 * N_SDPA);
    tcase_add_loop_test(tc, mha_agrees_with_its_composition, 0, 2 * N_MHA);
    tcase_add_loop_test(tc, masked_values_reach_every_output_as_in_pytorch,
                        0, 2);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
