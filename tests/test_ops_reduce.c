/*
 * test_ops_reduce.c — sum, mean, max, min and logsumexp, over all elements
 * and along each axis: values and gradients against PyTorch (the fixtures
 * in fixtures/ops_reduce.h, made by fixtures/gen_ops_reduce.py), the
 * documented tie rules, and bad input.
 */
#include "tg_test.h"

#include <tapegrad/check.h>

#include "fixtures/ops_reduce.h"

/* The C entry points of each reduction, whole-tensor and along an axis. */
typedef struct reduction {
    const char *name;
    tg_tensor *(*all)(tg_tape *, tg_tensor *);
    tg_tensor *(*axis)(tg_tape *, tg_tensor *, int, bool);
} reduction;

static const reduction reductions[] = {
    {"sum", tg_sum, tg_sum_axis},
    {"mean", tg_mean, tg_mean_axis},
    {"max", tg_max, tg_max_axis},
    {"min", tg_min, tg_min_axis},
    {"logsumexp", tg_logsumexp, tg_logsumexp_axis},
};
#define N_REDUCTIONS (int)(sizeof reductions / sizeof reductions[0])

/* Run the op a fixture case names on x. */
static tg_tensor *run(tg_tape *t, const fx_reduce *c, tg_tensor *x)
{
    for (int r = 0; r < N_REDUCTIONS; r++) {
        size_t len = strlen(reductions[r].name);
        if (strncmp(c->op, reductions[r].name, len) != 0)
            continue;
        if (strcmp(c->op + len, "") == 0)
            return reductions[r].all(t, x);
        if (strcmp(c->op + len, "_axis") == 0)
            return reductions[r].axis(t, x, c->axis, c->keepdim);
    }
    ck_abort_msg("unknown op %s", c->op);
    return NULL;
}

/* A tensor of the case's dtype holding v (exact: f32 fixtures hold floats). */
static tg_tensor *make(tg_tape *t, int f64, int ndim, const int64_t *shape,
                       const double *v)
{
    return tg_test_tensor(t, f64 ? TG_F64 : TG_F32, ndim, shape, v);
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

/* Every value of got within the dtype's tolerance of want. */
static void assert_values(const char *what, const fx_reduce *c,
                          const tg_tensor *got, const double *want)
{
    double rtol = c->f64 ? 1e-12 : 2e-6, atol = c->f64 ? 1e-12 : 1e-5;
    for (int64_t i = 0; i < tg_numel(got); i++)
        ck_assert_msg(tg_test_close(at(got, i), want[i], rtol, atol),
                      "%s: %s[%lld] = %.17g, PyTorch %.17g", c->name, what,
                      (long long)i, at(got, i), want[i]);
}

START_TEST(forward_matches_pytorch)
{
    const fx_reduce *c = &fx_reduce_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *y = run(t, c, make(t, c->f64, c->ndim, c->shape, c->x));
    ck_assert_msg(y != NULL, "%s: %s", c->name, tg_last_error());
    ck_assert_int_eq(tg_ndim(y), c->out_ndim);
    for (int d = 0; d < c->out_ndim; d++)
        ck_assert_int_eq(tg_shape(y)[d], c->out_shape[d]);
    ck_assert_int_eq(tg_dtype_of(y), c->f64 ? TG_F64 : TG_F32);
    assert_values("y", c, y, c->y);
    tg_tape_free(t);
}
END_TEST

/* d sum(y * gy) / dx, as PyTorch's y.backward(gy): this pins down the tie
 * rules, where finite differences cannot say which answer is right. */
START_TEST(gradient_matches_pytorch)
{
    const fx_reduce *c = &fx_reduce_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *x = make(t, c->f64, c->ndim, c->shape, c->x);
    tg_set_requires_grad(x, true);
    tg_tensor *root = tg_test_dot(t, run(t, c, x), c->gy);
    ck_assert_msg(tg_backward(t, root) == TG_OK, "%s: %s", c->name,
                  tg_last_error());
    assert_values("gx", c, tg_grad(x), c->gx);
    tg_tape_free(t);
}
END_TEST

/* The two tie rules side by side on one row with a tied max. */
START_TEST(ties_split_for_all_but_not_along_an_axis)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 3, 3, 2};
    int64_t shape[] = {1, 4};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, shape, v);
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(t, tg_max(t, x)), TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 0 && g[1] == 0.5 && g[2] == 0.5 && g[3] == 0);
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_max_axis(t, x, 1, false))),
                     TG_OK);
    g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 0 && g[1] == 1 && g[2] == 0 && g[3] == 0);
    tg_tape_free(t);
}
END_TEST

/* A stable logsumexp: exp(1000) overflows, logsumexp must not. */
START_TEST(logsumexp_does_not_overflow)
{
    tg_tape *t = tg_tape_new();
    float v[] = {1000, 1000, -1000};
    int64_t n = 3;
    tg_tensor *y = tg_logsumexp(t, tg_from_data(t, TG_F32, 1, &n, v));
    ck_assert_close(tg_item(y), 1000 + log(2.0), 1e-7, 0);
    tg_tape_free(t);
}
END_TEST

/* Distinct values in (-2, 2) from a fixed sequence: no ties, no kinks. */
static tg_tensor *spread(tg_tape *t, int ndim, const int64_t *shape)
{
    tg_tensor *x = tg_empty(t, TG_F64, ndim, shape);
    for (int64_t i = 0; i < tg_numel(x); i++)
        tg_mut_f64(x)[i] = 2.0 * sin(1.0 + 2.7 * (double)i);
    return x;
}

/* One gradient check: reduction r, whole tensor or along axis. */
typedef struct check_case {
    int r;
    bool all;
    int axis;
    bool keepdim;
} check_case;

static tg_tensor *reduce_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    const check_case *k = ud;
    if (k->all)
        return reductions[k->r].all(t, in[0]);
    return reductions[k->r].axis(t, in[0], k->axis, k->keepdim);
}

/* Tighter than PyTorch's defaults: 4-point Richardson on smooth f64 ops is
 * good to ~1e-10, so a gradient off by 0.1% cannot pass. */
static tg_gradcheck_options tight(void)
{
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.method = TG_GRADCHECK_RICHARDSON;
    o.eps = 1e-3;
    o.atol = 1e-8;
    o.rtol = 1e-6;
    return o;
}

/* Case i: reduction i / 9, then the whole tensor or axis 0, 1, 2 or -1,
 * keepdim off and on. */
START_TEST(gradcheck_every_axis)
{
    static const int axes[] = {0, 1, 2, -1, 0}; /* the last: unused */
    check_case k = {_i / 9, _i % 9 == 8, axes[(_i % 9) / 2], _i % 2};
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {2, 3, 4};
    tg_tensor *x = spread(t, 3, shape);
    tg_gradcheck_options o = tight();
    tg_ck_assert_gradients_opt(reduce_fn, &k, 1, &x, &o);
    tg_tape_free(t);
}
END_TEST

/* On a tie the finite difference crosses a kink: max and min must say so
 * (through tg_op.piece) so it is ambiguous, not a failure. */
START_TEST(gradcheck_sees_ties_as_kinks)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 3, 3, 2, -1, -1, 0, 3};
    int64_t shape[] = {2, 4};
    tg_tensor *x = tg_from_data(t, TG_F64, 2, shape, v);
    for (int r = 2; r <= 3; r++) {
        check_case cases[] = {{r, true, 0, false}, {r, false, 1, false}};
        for (int c = 0; c < 2; c++) {
            tg_gradcheck_report rep;
            ck_assert_int_eq(tg_gradcheck(reduce_fn, &cases[c], 1, &x, NULL,
                                          &rep), TG_OK);
            ck_assert_msg(rep.passed, "%s", rep.message);
            ck_assert_msg(rep.n_ambiguous >= 2, "%s: %lld ambiguous",
                          reductions[r].name, (long long)rep.n_ambiguous);
        }
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(bad_axis_is_einval)
{
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {2, 3};
    tg_tensor *x = tg_zeros(t, TG_F64, 2, shape);
    ck_assert_null_msg(tg_sum_axis(t, x, 3, false),
                       "tg_sum_axis: axis 3 is out of range for shape (2,3)");
    ck_assert_null_msg(tg_mean_axis(t, x, -3, true),
                       "tg_mean_axis: axis -3 is out of range for shape (2,3)");
    ck_assert_null_msg(tg_max_axis(t, x, 2, false), "tg_max_axis: axis 2");
    ck_assert_null_msg(tg_min_axis(t, x, 7, false), "tg_min_axis: axis 7");
    ck_assert_null_msg(tg_logsumexp_axis(t, x, -9, false),
                       "tg_logsumexp_axis: axis -9");
    tg_tensor *s = tg_scalar(t, TG_F32, 1);
    ck_assert_null_msg(tg_sum_axis(t, s, 1, false),
                       "axis 1 is out of range for shape ()");
    ck_assert_ptr_nonnull(tg_sum_axis(t, s, -1, false));
    /* The status reaches a caller that checks the chain at the end. */
    ck_assert_status(tg_backward(t, tg_sum(t, tg_max_axis(t, x, 5, false))),
                     TG_EINVAL, "tg_max_axis: axis 5 is out of range");
    tg_tape_free(t);
}
END_TEST

START_TEST(null_input_propagates)
{
    tg_tape *t = tg_tape_new();
    for (int r = 0; r < N_REDUCTIONS; r++) {
        tg_clear_error();
        ck_assert_null_msg(reductions[r].axis(t, NULL, 0, false),
                           "tensor is NULL");
        ck_assert_null_msg(reductions[r].all(t, NULL), "tensor is NULL");
    }
    int64_t n = 4;
    tg_tensor *x = tg_zeros(t, TG_F32, 1, &n);
    ck_assert_null_msg(tg_mean_axis(NULL, x, 0, false),
                       "tg_mean_axis: tape is NULL");
    ck_assert_null_msg(tg_logsumexp(t, tg_max_axis(t, x, 1, false)),
                       "tg_max_axis: axis 1");
    tg_tape_free(t);
}
END_TEST

START_TEST(out_of_memory_leaks_nothing)
{
    tg_tape *a = tg_tape_new();
    int64_t shape[] = {3, 5};
    tg_tensor *x = tg_zeros(a, TG_F64, 2, shape);
    for (int r = 0; r < N_REDUCTIONS; r++) {
        tg_tape *b = tg_tape_new();
        tg_test_fail_after(1);
        ck_assert_null_msg(reductions[r].axis(b, x, 1, true), "out of memory");
        ck_assert_null_msg(reductions[r].all(b, x), "out of memory");
        tg_test_fail_after(-1);
        tg_tape_free(b);
    }
    tg_tape_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_reduce");
    TCase *tc = tg_test_tcase("forward");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, FX_REDUCE_COUNT);
    tcase_add_test(tc, logsumexp_does_not_overflow);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradient");
    tcase_add_loop_test(tc, gradient_matches_pytorch, 0, FX_REDUCE_COUNT);
    tcase_add_test(tc, ties_split_for_all_but_not_along_an_axis);
    tcase_add_loop_test(tc, gradcheck_every_axis, 0, 9 * N_REDUCTIONS);
    tcase_add_test(tc, gradcheck_sees_ties_as_kinks);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, bad_axis_is_einval);
    tcase_add_test(tc, null_input_propagates);
    tcase_add_test(tc, out_of_memory_leaks_nothing);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
