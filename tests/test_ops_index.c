/*
 * test_ops_index.c — index.h against PyTorch (fixtures/ops_index.h, made
 * by fixtures/gen_ops_index.py): gather, index_select, embedding, chunk,
 * nll_loss, bce_with_logits and cross_entropy's options, each in f64 and
 * f32, values and gradients. Gradient checks and second derivatives of
 * gather and scatter_add are in test_ops_registry.c.
 */
#include "tg_test.h"

#include "fixtures/ops_index.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const tg_dtype dtypes[2] = {TG_F64, TG_F32};

/* f64 to rounding; f32 to its precision, against PyTorch's f64 values. */
static double rtol_of(tg_dtype dt) { return dt == TG_F64 ? 1e-12 : 3e-6; }
static double atol_of(tg_dtype dt) { return dt == TG_F64 ? 1e-14 : 3e-6; }


static void expect(const tg_tensor *y, const double *want, const char *what,
                   int c)
{
    ck_assert_ptr_nonnull(y);
    tg_dtype dt = tg_dtype_of(y);
    for (int64_t i = 0; i < tg_numel(y); i++)
        ck_assert_msg(tg_test_close(tg_value_at(y, i), want[i], rtol_of(dt),
                                    atol_of(dt)),
                      "case %d %s %s[%lld] = %.17g, PyTorch %.17g", c,
                      dt == TG_F32 ? "f32" : "f64", what, (long long)i,
                      tg_value_at(y, i), want[i]);
}

/* Backward of sum(y * w), w = 1, 2, ...: PyTorch's weights. */
static void backward_weighted(tg_tape *t, tg_tensor *y)
{
    double w[64];
    for (int i = 0; i < 64; i++)
        w[i] = i + 1;
    ck_assert_int_le(tg_numel(y), 64);
    ck_assert_msg(tg_backward(t, tg_test_dot(t, y, w)) == TG_OK, "%s",
                  tg_last_error());
}

START_TEST(gather_matches_torch)
{
    const fx_gather *f = &gather_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_test_tensor(t, dt, 2, f->xshape, f->x);
    tg_tensor *ix = tg_test_tensor(t, dt, 2, f->ishape, f->index);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_gather(t, x, f->axis, ix);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_shape(y)[0], f->ishape[0]);
    ck_assert_int_eq(tg_shape(y)[1], f->ishape[1]);
    expect(y, f->y, "y", _i / 2);
    backward_weighted(t, y);
    expect(tg_grad(x), f->gx, "gx", _i / 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(index_select_matches_torch)
{
    const fx_index_select *f = &index_select_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {3, 4};
    tg_tensor *x = tg_test_tensor(t, dt, 2, shape, f->x);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_index_select(t, x, f->axis, f->n, f->index);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_shape(y)[0], f->yshape[0]);
    ck_assert_int_eq(tg_shape(y)[1], f->yshape[1]);
    expect(y, f->y, "y", _i / 2);
    backward_weighted(t, y);
    expect(tg_grad(x), f->gx, "gx", _i / 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(embedding_matches_torch)
{
    const fx_embedding *f = &embedding_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {5, 3};
    tg_tensor *w = tg_test_tensor(t, dt, 2, shape, f->weight);
    tg_set_requires_grad(w, true);
    tg_tensor *y = tg_embedding(t, w, f->n, f->indices, f->padding_idx);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_shape(y)[0], f->n);
    ck_assert_int_eq(tg_shape(y)[1], 3);
    expect(y, f->y, "y", _i / 2);
    backward_weighted(t, y);
    expect(tg_grad(w), f->gw, "gw", _i / 2);
    tg_tape_free(t);
}
END_TEST

/* chunk's count and sizes as torch.chunk's; each piece holds its rows. */
START_TEST(chunk_matches_torch)
{
    const fx_chunk *f = &chunk_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_arange(t, TG_F64, 0, (double)f->n, 1);
    tg_tensor *out[8];
    int count = tg_chunk(t, x, 0, f->chunks, out);
    ck_assert_msg(count == f->count, "n %lld in %d chunks: %d pieces (%s), "
                  "torch %d", (long long)f->n, f->chunks, count,
                  tg_last_error(), f->count);
    double next = 0;
    for (int k = 0; k < count; k++) {
        ck_assert_int_eq(tg_shape(out[k])[0], f->sizes[k]);
        for (int64_t i = 0; i < f->sizes[k]; i++)
            ck_assert_double_eq(tg_data_f64(out[k])[i], next++);
    }
    tg_tape_free(t);
}
END_TEST

/* split by 2 of (5, 3) along 0 gives 2, 2 and 1 rows; their gradients
 * reassemble the input's. */
START_TEST(split_pieces_and_gradient)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {5, 3};
    tg_rng rng;
    tg_rng_seed(&rng, 5, 1);
    tg_tensor *x = tg_rand_normal(t, &rng, dtypes[_i], 2, shape, 0, 1);
    tg_set_requires_grad(x, true);
    tg_tensor *out[3];
    ck_assert_int_eq(tg_split(t, x, 0, 2, 3, out), 3);
    ck_assert_int_eq(tg_shape(out[0])[0], 2);
    ck_assert_int_eq(tg_shape(out[2])[0], 1);
    ck_assert_double_eq(tg_value_at(out[1], 0), tg_value_at(x, 6));
    ck_assert_double_eq(tg_value_at(out[2], 2), tg_value_at(x, 14));
    /* d/dx of sum(piece k) * (k + 1): row r gets 1 + r / 2 */
    tg_tensor *loss = tg_sum(t, out[0]);
    loss = tg_add(t, loss, tg_mul_scalar(t, tg_sum(t, out[1]), 2));
    loss = tg_add(t, loss, tg_mul_scalar(t, tg_sum(t, out[2]), 3));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    for (int64_t i = 0; i < 15; i++)
        ck_assert_double_eq(tg_value_at(tg_grad(x), i), 1 + (i / 3) / 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(nll_loss_matches_torch)
{
    const fx_nll *f = &nll_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {4, 5};
    tg_tensor *logp = tg_test_tensor(t, dt, 2, shape, f->logp);
    tg_set_requires_grad(logp, true);
    tg_tensor *loss = tg_nll_loss(t, logp, f->labels, f->ignore_index);
    ck_assert_msg(loss != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_ndim(loss), 0);
    expect(loss, &f->loss, "loss", _i / 2);
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    expect(tg_grad(logp), f->g, "g", _i / 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(bce_with_logits_matches_torch)
{
    const fx_bce *f = &bce_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {3, 4}, c = 4;
    tg_tensor *x = tg_test_tensor(t, dt, 2, shape, f->x);
    tg_tensor *y = tg_test_tensor(t, dt, 2, shape, f->y);
    tg_tensor *pw = f->has_pw ? tg_test_tensor(t, dt, 1, &c, f->pw) : NULL;
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(y, true);
    tg_tensor *loss = tg_bce_with_logits(t, x, y, pw);
    ck_assert_msg(loss != NULL, "%s", tg_last_error());
    expect(loss, &f->loss, "loss", _i / 2);
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    expect(tg_grad(x), f->gx, "gx", _i / 2);
    expect(tg_grad(y), f->gy, "gy", _i / 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(cross_entropy_options_match_torch)
{
    const fx_ce *f = &ce_cases[_i / 2];
    tg_dtype dt = dtypes[_i % 2];
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {5, 4};
    tg_tensor *x = tg_test_tensor(t, dt, 2, shape, f->x);
    tg_set_requires_grad(x, true);
    tg_cross_entropy_options o = tg_cross_entropy_defaults();
    o.ignore_index = f->ignore_index;
    o.label_smoothing = f->smoothing;
    tg_tensor *loss = tg_cross_entropy_ex(t, x, f->labels, &o);
    ck_assert_msg(loss != NULL, "%s", tg_last_error());
    expect(loss, &f->loss, "loss", _i / 2);
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    expect(tg_grad(x), f->g, "g", _i / 2);
    tg_tape_free(t);
}
END_TEST

/* Without options that matter, tg_cross_entropy_ex is the fused op. */
START_TEST(cross_entropy_defaults_are_the_fused_op)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[2] = {5, 4};
    tg_tensor *x = tg_test_tensor(t, dtypes[_i], 2, shape, ce_cases[2].x);
    tg_tensor *a = tg_cross_entropy(t, x, ce_cases[2].labels);
    tg_tensor *b = tg_cross_entropy_ex(t, x, ce_cases[2].labels, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_double_eq(tg_item(a), tg_item(b));
    tg_tensor *all_ignored = tg_nll_loss(t, x, (const int64_t[5]){1, 1, 1, 1, 1}, 1);
    ck_assert(isnan(tg_item(all_ignored))); /* PyTorch's 0/0 */
    /* ... and PyTorch's gradient, 0 (difftest found NaN here) */
    tg_set_requires_grad(x, true);
    tg_tensor *again = tg_nll_loss(t, x, (const int64_t[5]){1, 1, 1, 1, 1}, 1);
    ck_assert_int_eq(tg_backward(t, again), TG_OK);
    for (int64_t i = 0; i < tg_numel(x); i++)
        ck_assert_double_eq(tg_dtype_of(x) == TG_F32
                                ? (double)tg_data_f32(tg_grad(x))[i]
                                : tg_data_f64(tg_grad(x))[i], 0.0);
    tg_tape_free(t);
}
END_TEST

/* scatter_add adds every src element at its index, repeats included. */
START_TEST(scatter_add_adds_repeats)
{
    tg_tape *t = tg_tape_new();
    int64_t d[2] = {2, 3}, i[2] = {2, 2};
    tg_tensor *dst = tg_test_tensor(t, dtypes[_i], 2, d,
                                    (const double[]){1, 1, 1, 1, 1, 1});
    tg_tensor *ix = tg_test_tensor(t, dtypes[_i], 2, i,
                                   (const double[]){2, 2, 0, 1});
    tg_tensor *src = tg_test_tensor(t, dtypes[_i], 2, i,
                                    (const double[]){10, 20, 30, 40});
    tg_tensor *y = tg_scatter_add(t, dst, 1, ix, src);
    expect(y, (const double[]){1, 1, 31, 31, 41, 1}, "y", 0);
    tg_tape_free(t);
}
END_TEST

/* The calls written with ops pass first- and second-order gradient
 * checks (gather and scatter_add themselves are in test_ops_registry.c). */
static const int64_t idx4[4] = {2, 0, 2, 4};

static tg_tensor *f_index_select(tg_tape *t, int n, tg_tensor *const *in,
                                 void *ud)
{
    (void)n, (void)ud;
    return tg_index_select(t, in[0], -1, 4, idx4);
}
static tg_tensor *f_embedding(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    (void)n, (void)ud;
    /* no padding row: its gradient is 0 by design, not the derivative */
    return tg_embedding(t, in[0], 4, idx4, -1);
}
static tg_tensor *f_chunk(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_tensor *p[3];
    if (tg_chunk(t, in[0], 1, 3, p) != 3)
        return NULL;
    return tg_add(t, tg_mul(t, p[0], p[1]), tg_mul_scalar(t, p[2], 3));
}
static tg_tensor *f_nll(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_nll_loss(t, tg_log_softmax(t, in[0], 1), idx4, 0);
}
static tg_tensor *f_bce(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_bce_with_logits(t, in[0], tg_sigmoid(t, in[1]),
                              tg_exp(t, in[2]));
}
static tg_tensor *f_ce(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    tg_cross_entropy_options o = {.ignore_index = 4, .label_smoothing = 0.2};
    return tg_cross_entropy_ex(t, in[0], idx4, &o);
}

typedef struct grad_case {
    const char *name;
    tg_gradcheck_fn fn;
    int n;
    int64_t shape[3][2];
} grad_case;

static const grad_case grad_cases[] = {
    {"index_select", f_index_select, 1, {{2, 5}}},
    {"embedding", f_embedding, 1, {{5, 3}}},
    {"chunk", f_chunk, 1, {{2, 6}}},
    {"nll_loss", f_nll, 1, {{4, 5}}},
    {"bce_with_logits", f_bce, 3, {{3, 4}, {3, 4}, {4, 0}}},
    {"cross_entropy_ex", f_ce, 1, {{4, 5}}},
};

START_TEST(composed_calls_pass_gradient_checks)
{
    const grad_case *c = &grad_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 77 + (uint64_t)_i, 1);
    tg_tensor *in[3];
    for (int k = 0; k < c->n; k++) {
        in[k] = tg_rand_normal(t, &rng, TG_F64, c->shape[k][1] ? 2 : 1,
                               c->shape[k], 0, 1);
        tg_set_requires_grad(in[k], true);
    }
    tg_gradcheck_report r;
    ck_assert_msg(tg_gradcheck(c->fn, NULL, c->n, in, NULL, &r) == TG_OK,
                  "%s: %s", c->name, tg_last_error());
    ck_assert_msg(r.passed && r.n_checked > 0, "%s: %s", c->name, r.message);
    ck_assert_msg(tg_gradgradcheck(c->fn, NULL, c->n, in, NULL, &r) == TG_OK,
                  "%s: %s", c->name, tg_last_error());
    ck_assert_msg(r.passed && r.n_checked > 0, "%s second order: %s",
                  c->name, r.message);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_index");
    TCase *tc = tg_test_tcase("index");
    tcase_add_loop_test(tc, gather_matches_torch, 0, 2 * N_OF(gather_cases));
    tcase_add_loop_test(tc, index_select_matches_torch, 0,
                        2 * N_OF(index_select_cases));
    tcase_add_loop_test(tc, embedding_matches_torch, 0,
                        2 * N_OF(embedding_cases));
    tcase_add_loop_test(tc, chunk_matches_torch, 0, N_OF(chunk_cases));
    tcase_add_loop_test(tc, split_pieces_and_gradient, 0, 2);
    tcase_add_loop_test(tc, nll_loss_matches_torch, 0, 2 * N_OF(nll_cases));
    tcase_add_loop_test(tc, bce_with_logits_matches_torch, 0,
                        2 * N_OF(bce_cases));
    tcase_add_loop_test(tc, cross_entropy_options_match_torch, 0,
                        2 * N_OF(ce_cases));
    tcase_add_loop_test(tc, cross_entropy_defaults_are_the_fused_op, 0, 2);
    tcase_add_loop_test(tc, scatter_add_adds_repeats, 0, 2);
    tcase_add_loop_test(tc, composed_calls_pass_gradient_checks, 0,
                        N_OF(grad_cases));
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
