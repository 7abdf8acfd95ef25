/*
 * test_ops_loss.c — softmax, log_softmax, cross_entropy and mse_loss:
 * values and gradients against PyTorch (fixtures/ops_loss.h, made by
 * fixtures/gen_ops_reduce.py), finite-difference gradient checks,
 * stability at extreme logits, and bad input.
 */
#include "tg_test.h"

#include <stdlib.h>

#include <tapegrad/check.h>

#include "fixtures/ops_loss.h"

/* The op a fixture case names, on its inputs. */
static tg_tensor *run(tg_tape *t, const fx_loss *c, tg_tensor *const *in)
{
    if (strcmp(c->op, "softmax") == 0)
        return tg_softmax(t, in[0], c->axis);
    if (strcmp(c->op, "log_softmax") == 0)
        return tg_log_softmax(t, in[0], c->axis);
    if (strcmp(c->op, "cross_entropy") == 0)
        return tg_cross_entropy(t, in[0], c->labels);
    if (strcmp(c->op, "mse_loss") == 0)
        return tg_mse_loss(t, in[0], in[1]);
    ck_abort_msg("unknown op %s", c->op);
    return NULL;
}

/* The case's inputs as tensors of its dtype (exact: f32 fixtures hold
 * floats). Returns whether every value is finite. */
static bool make_inputs(tg_tape *t, const fx_loss *c, tg_tensor **in)
{
    bool finite = true;
    for (int i = 0; i < c->n_in; i++) {
        in[i] = tg_empty(t, c->f64 ? TG_F64 : TG_F32, c->ndim, c->shape);
        for (int64_t k = 0; k < tg_numel(in[i]); k++) {
            finite = finite && isfinite(c->x[i][k]);
            if (c->f64)
                tg_mut_f64(in[i])[k] = c->x[i][k];
            else
                tg_mut_f32(in[i])[k] = (float)c->x[i][k];
        }
    }
    return finite;
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

/* We compute in double and round once; PyTorch's f32 runs in float. */
static void assert_values(const char *what, const fx_loss *c,
                          const tg_tensor *got, const double *want)
{
    double rtol = c->f64 ? 1e-12 : 1e-5, atol = c->f64 ? 1e-13 : 1e-6;
    for (int64_t i = 0; i < tg_numel(got); i++)
        ck_assert_msg(tg_test_close(at(got, i), want[i], rtol, atol),
                      "%s: %s[%lld] = %.17g, PyTorch %.17g", c->name, what,
                      (long long)i, at(got, i), want[i]);
}

START_TEST(forward_matches_pytorch)
{
    const fx_loss *c = &fx_loss_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2];
    make_inputs(t, c, in);
    tg_tensor *y = run(t, c, in);
    ck_assert_msg(y != NULL, "%s: %s", c->name, tg_last_error());
    ck_assert_int_eq(tg_ndim(y), c->out_ndim);
    for (int d = 0; d < c->out_ndim; d++)
        ck_assert_int_eq(tg_shape(y)[d], c->out_shape[d]);
    assert_values("y", c, y, c->y);
    tg_tape_free(t);
}
END_TEST

START_TEST(gradient_matches_pytorch)
{
    const fx_loss *c = &fx_loss_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2];
    make_inputs(t, c, in);
    for (int i = 0; i < c->n_in; i++)
        tg_set_requires_grad(in[i], true);
    tg_tensor *root = tg_test_dot(t, run(t, c, in), c->gy);
    ck_assert_msg(tg_backward(t, root) == TG_OK, "%s: %s", c->name,
                  tg_last_error());
    for (int i = 0; i < c->n_in; i++)
        assert_values("gx", c, tg_grad(in[i]), c->gx[i]);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *case_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return run(t, ud, in);
}

/* Finite differences agree with every f64 case whose inputs are finite
 * (logits of 1000 included: the op must be stable for that). The
 * difference quotient's rounding error grows with the values (|f| eps /
 * h), so atol scales with the largest input. */
START_TEST(gradcheck_every_case)
{
    const fx_loss *c = &fx_loss_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2];
    if (c->f64 && make_inputs(t, c, in)) {
        tg_gradcheck_options o = tg_gradcheck_defaults();
        o.method = TG_GRADCHECK_RICHARDSON;
        o.eps = 1e-3;
        o.rtol = 1e-6;
        double big = 1;
        for (int i = 0; i < c->n_in; i++)
            for (int64_t k = 0; k < tg_numel(in[i]); k++)
                big = fmax(big, fabs(c->x[i][k]));
        o.atol = 1e-8 * big;
        tg_ck_assert_gradients_opt(case_fn, (void *)c, c->n_in, in, &o);
    }
    tg_tape_free(t);
}
END_TEST

/* Logits far beyond exp's range: the loss is exact, not inf or NaN. */
START_TEST(cross_entropy_is_stable)
{
    tg_tape *t = tg_tape_new();
    float v[] = {10000, -10000, 0, 0, 10000, 9999};
    int64_t s[] = {2, 3}, labels[] = {1, 2};
    tg_tensor *x = tg_from_data(t, TG_F32, 2, s, v);
    /* Row 0: lse = 10000, loss 20000. Row 1: lse = 10000 + log(1 + e^-1),
     * loss = 1 + log(1 + e^-1). */
    double want = (20000 + 1 + log1p(exp(-1.0))) / 2;
    ck_assert_close(tg_item(tg_cross_entropy(t, x, labels)), want, 1e-7, 0);
    tg_tape_free(t);
}
END_TEST

/* The labels are copied: changing the caller's array after the call does
 * not change the gradient. */
START_TEST(cross_entropy_copies_labels)
{
    tg_tape *t = tg_tape_new();
    double v[] = {0, 0};
    int64_t s[] = {1, 2}, labels[] = {1};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, s, v);
    tg_set_requires_grad(x, true);
    tg_tensor *loss = tg_cross_entropy(t, x, labels);
    labels[0] = 0;
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    ck_assert(tg_data_f64(tg_grad(x))[0] == 0.5);
    ck_assert(tg_data_f64(tg_grad(x))[1] == -0.5);
    tg_tape_free(t);
}
END_TEST

START_TEST(softmax_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s[] = {2, 3};
    tg_tensor *x = tg_zeros(t, TG_F64, 2, s);
    ck_assert_null_status(tg_softmax(t, x, 2), TG_EINVAL,
                          "tg_softmax: axis 2 is out of range for shape (2,3)");
    ck_assert_null_status(tg_log_softmax(t, x, -3), TG_EINVAL,
                          "tg_log_softmax: axis -3 is out of range for shape "
                          "(2,3)");
    tg_clear_error();
    ck_assert_null_status(tg_softmax(t, NULL, 0), TG_EINVAL,
                          "tg_softmax: tensor is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(cross_entropy_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s[] = {3, 5}, bad[] = {0, 4, 7}, neg[] = {0, -1, 2};
    int64_t ok[] = {0, 1, 2};
    tg_tensor *x = tg_zeros(t, TG_F32, 2, s);
    ck_assert_null_status(tg_cross_entropy(t, x, bad), TG_EINVAL,
                          "tg_cross_entropy: label 7 in row 2 is outside "
                          "0..4");
    ck_assert_null_status(tg_cross_entropy(t, x, neg), TG_EINVAL,
                          "label -1 in row 1 is outside 0..4");
    ck_assert_null_status(tg_cross_entropy(t, x, NULL), TG_EINVAL,
                          "tg_cross_entropy: labels is NULL");
    ck_assert_null_status(tg_cross_entropy(t, tg_zeros(t, TG_F32, 1, s), ok),
                          TG_ESHAPE, "tg_cross_entropy: logits have shape "
                          "(3,); they must be (N,C)");
    tg_clear_error();
    ck_assert_null_status(tg_cross_entropy(t, NULL, ok), TG_EINVAL,
                          "tg_cross_entropy: tensor is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(mse_loss_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[] = {2, 3}, s32[] = {3, 2};
    tg_tensor *a = tg_zeros(t, TG_F64, 2, s23);
    ck_assert_null_status(tg_mse_loss(t, a, tg_zeros(t, TG_F64, 2, s32)),
                          TG_ESHAPE, "tg_mse_loss: shapes (2,3) and (3,2) "
                          "differ");
    ck_assert_null_status(tg_mse_loss(t, a, tg_zeros(t, TG_F32, 2, s23)),
                          TG_EDTYPE, "tg_mse_loss: inputs are f64 and f32");
    tg_tape_free(t);
}
END_TEST

/* Every allocation an op makes may fail: the k-th one fails for k = 1, 2,
 * ... until the call succeeds, and each failure is a clean ENOMEM. Rows
 * are many, so cross_entropy's saved labels and lse need fresh blocks. */
START_TEST(out_of_memory_leaks_nothing)
{
    tg_tape *a = tg_tape_new();
    int64_t s[] = {10000, 2};
    tg_tensor *x = tg_zeros(a, TG_F64, 2, s), *y = tg_zeros(a, TG_F64, 2, s);
    int64_t *labels = calloc(10000, sizeof *labels);
    for (int op = 0; op < 4; op++) {
        tg_tensor *out = NULL;
        for (long k = 1; out == NULL; k++) {
            ck_assert_int_lt(k, 10);
            tg_tape *b = tg_tape_new();
            tg_test_fail_after(k);
            out = op == 0   ? tg_softmax(b, x, 1)
                  : op == 1 ? tg_log_softmax(b, x, 0)
                  : op == 2 ? tg_cross_entropy(b, x, labels)
                            : tg_mse_loss(b, x, y);
            if (out == NULL)
                ck_assert_null_status(out, TG_ENOMEM, "out of memory");
            tg_test_fail_after(-1);
            tg_tape_free(b);
        }
    }
    free(labels);
    tg_tape_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_loss");
    TCase *tc = tg_test_tcase("forward");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, FX_LOSS_COUNT);
    tcase_add_test(tc, cross_entropy_is_stable);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradient");
    tcase_add_loop_test(tc, gradient_matches_pytorch, 0, FX_LOSS_COUNT);
    tcase_add_loop_test(tc, gradcheck_every_case, 0, FX_LOSS_COUNT);
    tcase_add_test(tc, cross_entropy_copies_labels);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, softmax_errors);
    tcase_add_test(tc, cross_entropy_errors);
    tcase_add_test(tc, mse_loss_errors);
    tcase_add_test(tc, out_of_memory_leaks_nothing);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
