/*
 * test_api_conventions.c — docs/api-conventions.md, checked: every call
 * that can fail reports it (a status, or a documented sentinel with
 * tg_last_error naming the call), and one option is validated the same
 * way by every entry point that takes it. Each failure leaves things as
 * they were.
 */
#include "tg_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

START_TEST(zero_grad_reports_a_stale_tensor)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 2.0);
    ck_assert_int_eq(tg_zero_grad(NULL), TG_OK);          /* as free(NULL) */
    ck_assert_int_eq(tg_zero_grad(x), TG_OK);             /* no gradient yet */
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(t, tg_mul(t, x, x)), TG_OK);
    ck_assert_int_eq(tg_zero_grad(x), TG_OK);
    ck_assert(tg_item(tg_grad(x)) == 0.0);
    tg_tape_reset(t);
    tg_clear_error();
    ck_assert_status(tg_zero_grad(x), TG_ESTATE,
                     "tg_zero_grad: tensor was freed by a reset");
    tg_tape_free(t);
}
END_TEST

START_TEST(params_zero_grad_reports)
{
    tg_tape *pt = tg_tape_new(), *other = tg_tape_new();
    tg_clear_error();
    ck_assert_status(tg_params_zero_grad(NULL), TG_EINVAL,
                     "tg_params_zero_grad: parameter list is NULL");
    /* A NULL list from a failed tg_params_new keeps that failure. */
    ck_assert_status(tg_params_zero_grad(tg_params_new(NULL)), TG_EINVAL,
                     "tg_params_new: tape is NULL");
    tg_params *p = tg_params_new(pt);
    tg_tensor *a = tg_scalar(pt, TG_F64, 3.0);
    tg_tensor *b = tg_scalar(other, TG_F64, 4.0);
    ck_assert_int_eq(tg_params_add(p, a), TG_OK);
    ck_assert_int_eq(tg_params_add(p, b), TG_OK);
    ck_assert_int_eq(tg_backward(pt, tg_mul(pt, a, a)), TG_OK);
    ck_assert_int_eq(tg_params_zero_grad(p), TG_OK);
    ck_assert(tg_item(tg_grad(a)) == 0.0);
    ck_assert_int_eq(tg_backward(pt, tg_mul(pt, a, a)), TG_OK);
    tg_tape_reset(other);                                 /* b is now stale */
    tg_clear_error();
    ck_assert_status(tg_params_zero_grad(p), TG_ESTATE,
                     "tg_params_zero_grad: parameter 1: tg_zero_grad: "
                     "tensor was freed by a reset");
    ck_assert(tg_item(tg_grad(a)) == 0.0);   /* the ones before it: zeroed */
    tg_tape_free(other);
    tg_tape_free(pt);
}
END_TEST

static const double bad_rates[] = {-1.0, -1e-300, NAN, INFINITY, -INFINITY};
#define N_BAD (int)(sizeof bad_rates / sizeof bad_rates[0])

/* The same lr is refused by tg_sgd_new, tg_adam_new, tg_adamw_new and
 * tg_optimizer_set_lr, and set_lr leaves the rate as it was. */
START_TEST(lr_validated_the_same_everywhere)
{
    double lr = bad_rates[_i];
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    tg_params_add(p, tg_scalar(t, TG_F32, 1.0));
    tg_sgd_options so = tg_sgd_defaults(lr);
    tg_adam_options ao = tg_adam_defaults();
    ao.lr = lr;
    tg_clear_error();
    ck_assert_null_status(tg_sgd_new(t, p, &so), TG_EINVAL, "tg_sgd_new: lr");
    ck_assert_null_status(tg_adam_new(t, p, &ao), TG_EINVAL, "tg_adam_new: lr");
    ck_assert_null_status(tg_adamw_new(t, p, &ao), TG_EINVAL,
                          "tg_adamw_new: lr");
    tg_sgd_options good = tg_sgd_defaults(0.5);
    tg_optimizer *opts[] = {tg_sgd_new(t, p, &good), tg_adam_new(t, p, NULL)};
    for (int k = 0; k < 2; k++) {
        double before = tg_optimizer_lr(opts[k]);
        tg_clear_error();
        ck_assert_status(tg_optimizer_set_lr(opts[k], lr), TG_EINVAL,
                         "tg_optimizer_set_lr: lr");
        ck_assert(tg_optimizer_lr(opts[k]) == before);
        ck_assert_int_eq(tg_optimizer_set_lr(opts[k], 0.0), TG_OK);
        ck_assert(tg_optimizer_lr(opts[k]) == 0.0);
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(null_optimizer_reports)
{
    tg_clear_error();
    ck_assert_status(tg_optimizer_set_lr(NULL, 0.1), TG_EINVAL,
                     "tg_optimizer_set_lr: optimizer is NULL");
    tg_clear_error();
    ck_assert(isnan(tg_optimizer_lr(NULL)));
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_message("tg_optimizer_lr: optimizer is NULL");
    /* A NULL from a failed tg_sgd_new keeps its failure. */
    tg_tape *t = tg_tape_new();
    tg_sgd_options neg = tg_sgd_defaults(-1.0);
    tg_clear_error();
    ck_assert_status(tg_optimizer_set_lr(tg_sgd_new(t, tg_params_new(t), &neg),
                                         0.1), TG_EINVAL, "tg_sgd_new: lr -1");
    tg_tape_free(t);
}
END_TEST

/* tg_dtype_of(NULL) answers a value no tensor has, and calls given it
 * fail instead of making an f32 tensor. */
START_TEST(dtype_of_null_is_no_dtype)
{
    tg_clear_error();
    ck_assert_int_eq(tg_dtype_of(NULL), TG_DTYPE_NONE);
    ck_assert_int_eq(tg_last_status(), TG_OK);   /* an accessor: none set */
    ck_assert_uint_eq(tg_dtype_size(TG_DTYPE_NONE), 0);
    ck_assert_str_eq(tg_dtype_name(TG_DTYPE_NONE), "?");
    tg_tape *t = tg_tape_new();
    ck_assert_null_status(tg_zeros(t, tg_dtype_of(NULL), 0, NULL), TG_EDTYPE,
                          "tg_zeros: ");
    ck_assert_int_eq(tg_tape_size(t), 0);
    tg_tape_free(t);
}
END_TEST

/* Where the sentinel is also a possible value, the status tells: set by
 * the failure, left alone by a success that returns the same value. */
START_TEST(ambiguous_sentinels_are_told_apart_by_the_status)
{
    tg_rng unseeded = {0}, rng;
    tg_clear_error();
    ck_assert_uint_eq(tg_rng_u32(&unseeded), 0);
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    ck_assert_message("tg_rng_u32: rng was never seeded");
    ck_assert_uint_eq(unseeded.inc, 0);            /* nothing changed */
    tg_clear_error();
    ck_assert_uint_eq(tg_rng_bounded(&unseeded, 7), 0);
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    ck_assert_message("tg_rng_bounded: ");
    tg_rng_seed(&rng, 3, 4);
    tg_clear_error();
    int zeros = 0;
    for (int i = 0; i < 64; i++)
        zeros += tg_rng_bounded(&rng, 2) == 0;     /* about half are 0 */
    ck_assert_int_gt(zeros, 0);
    ck_assert_int_eq(tg_last_status(), TG_OK);
    tg_tape *t = tg_tape_new();
    tg_clear_error();
    ck_assert(isnan(tg_item(tg_scalar(t, TG_F64, NAN))));
    ck_assert_int_eq(tg_last_status(), TG_OK);     /* a value, not an error */
    ck_assert(isnan(tg_item(tg_zeros(t, TG_F64, 1, (int64_t[]){2}))));
    ck_assert_int_eq(tg_last_status(), TG_ESHAPE);
    ck_assert_message("tg_item: ");
    tg_tape_free(t);
}
END_TEST

/* One check of a dimension count and its array, with one message, for
 * every call that takes them; nothing is made on failure. */
START_TEST(ndim_validated_the_same_everywhere)
{
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 2);
    tg_tensor *x = tg_zeros(t, TG_F32, 1, (int64_t[]){6});
    int64_t before = tg_tape_size(t);
    const int bad_ndims[] = {-1, TG_MAX_DIMS + 1};
    for (int k = 0; k < 2; k++) {
        int nd = bad_ndims[k];
        char want[64];
        snprintf(want, sizeof want, "ndim %d is outside 0..%d", nd,
                 TG_MAX_DIMS);
        int64_t sizes[TG_MAX_DIMS + 1] = {0};
        int dims[TG_MAX_DIMS + 1] = {0};
        ck_assert_null_status(tg_zeros(t, TG_F32, nd, sizes), TG_EINVAL, want);
        ck_assert_message("tg_zeros: ");
        ck_assert_null_status(tg_rand_uniform(t, &rng, TG_F32, nd, sizes, 0, 1),
                              TG_EINVAL, want);
        ck_assert_message("tg_rand_uniform: ");
        ck_assert_null_status(tg_reshape(t, x, nd, sizes), TG_EINVAL, want);
        ck_assert_message("tg_reshape: ");
        ck_assert_null_status(tg_permute(t, x, nd, dims), TG_EINVAL, want);
        ck_assert_message("tg_permute: ");
    }
    ck_assert_null_status(tg_zeros(t, TG_F32, 2, NULL), TG_EINVAL,
                          "tg_zeros: shape is NULL for ndim 2");
    ck_assert_null_status(tg_reshape(t, x, 2, NULL), TG_EINVAL,
                          "tg_reshape: shape is NULL for ndim 2");
    ck_assert_null_status(tg_permute(t, x, 1, NULL), TG_EINVAL,
                          "tg_permute: dims is NULL for ndim 1");
    ck_assert_int_eq(tg_tape_size(t), before);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api_conventions");
    TCase *tc = tg_test_tcase("reporting");
    tcase_add_test(tc, zero_grad_reports_a_stale_tensor);
    tcase_add_test(tc, params_zero_grad_reports);
    tcase_add_test(tc, null_optimizer_reports);
    tcase_add_test(tc, dtype_of_null_is_no_dtype);
    tcase_add_test(tc, ambiguous_sentinels_are_told_apart_by_the_status);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("validation");
    tcase_add_loop_test(tc, lr_validated_the_same_everywhere, 0, N_BAD);
    tcase_add_test(tc, ndim_validated_the_same_everywhere);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
