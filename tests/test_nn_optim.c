/*
 * test_nn_optim.c — parameter lists and optimizers against PyTorch's
 * update rules, step by step (fixtures/optim_ref.h, made by gen_optim.py).
 */
#include "tg_test.h"
#include "tapegrad/nn.h"

#include "fixtures/optim_ref.h"
#include "fixtures/optim_ulp.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Give x the gradient g (backward once to make the buffer, then write). */
static void set_grad(tg_tape *t, tg_tensor *x, const double *g)
{
    if (tg_grad(x) == NULL)
        ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);
    tg_tensor *gx = tg_grad(x);
    for (int i = 0; i < OPT_N; i++) {
        if (tg_dtype_of(x) == TG_F32)
            tg_mut_f32(gx)[i] = (float)g[i];
        else
            tg_mut_f64(gx)[i] = g[i];
    }
}

typedef tg_optimizer *(*make_fn)(tg_tape *, tg_params *, const void *);

static void run_case(tg_dtype dt, const char *kind, const void *opt,
                     const double want[][OPT_N])
{
    tg_tape *t = tg_tape_new();
    tg_params *params = tg_params_new(t);
    int64_t n = OPT_N;
    float p32[OPT_N];
    for (int i = 0; i < OPT_N; i++)
        p32[i] = (float)opt_p0[i];
    tg_tensor *p = tg_from_data(t, dt, 1, &n, dt == TG_F32 ? (const void *)p32
                                                           : (const void *)opt_p0);
    ck_assert_int_eq(tg_params_add(params, p), TG_OK);
    tg_optimizer *o = strcmp(kind, "sgd") == 0 ? tg_sgd_new(t, params, opt)
                    : strcmp(kind, "adam") == 0 ? tg_adam_new(t, params, opt)
                    : tg_adamw_new(t, params, opt);
    ck_assert_ptr_nonnull(o);
    double tol = dt == TG_F32 ? 2e-6 : 1e-14;
    for (int s = 0; s < OPT_STEPS; s++) {
        set_grad(t, p, opt_grads[s]);
        ck_assert_int_eq(tg_optimizer_step(o), TG_OK);
        for (int i = 0; i < OPT_N; i++) {
            double got = dt == TG_F32 ? tg_data_f32(p)[i] : tg_data_f64(p)[i];
            ck_assert_msg(tg_test_close(got, want[s][i], tol, tol),
                          "%s %s step %d element %d: %.17g, PyTorch %.17g",
                          kind, tg_dtype_name(dt), s + 1, i, got, want[s][i]);
        }
    }
    tg_tape_free(t);
}

#define BOTH_DTYPES(kind, opt, name)                                          \
    do {                                                                      \
        run_case(TG_F64, kind, opt, opt_##name##_f64);                        \
        run_case(TG_F32, kind, opt, opt_##name##_f32);                        \
    } while (0)

START_TEST(sgd_matches_pytorch)
{
    tg_sgd_options plain = tg_sgd_defaults(0.1);
    BOTH_DTYPES("sgd", &plain, sgd);
    tg_sgd_options mom = {0.1, 0.9, 0.1, 0.01, false};
    BOTH_DTYPES("sgd", &mom, sgd_momentum);
    tg_sgd_options nest = {0.05, 0.8, 0.0, 0.0, true};
    BOTH_DTYPES("sgd", &nest, sgd_nesterov);
}
END_TEST

START_TEST(adam_matches_pytorch)
{
    BOTH_DTYPES("adam", NULL, adam);
    tg_adam_options wd = {0.01, 0.8, 0.99, 1e-6, 0.1};
    BOTH_DTYPES("adam", &wd, adam_wd);
}
END_TEST

START_TEST(adamw_matches_pytorch)
{
    BOTH_DTYPES("adamw", NULL, adamw);
    tg_adam_options o = tg_adamw_defaults();
    o.lr = 0.05;
    o.weight_decay = 0.5;
    BOTH_DTYPES("adamw", &o, adamw_lr);
}
END_TEST

/* Distance in ulps between two finite floats of any sign. */
static int64_t ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
    int64_t ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    return oa > ob ? oa - ob : ob - oa;
}

/* Two f32 steps from optim_ulp.h's start, compared bit for bit. */
static void run_ulp_case(const char *kind, const void *opt,
                         const float want[][ULP_N], const char *name)
{
    tg_tape *t = tg_tape_new();
    tg_params *params = tg_params_new(t);
    int64_t n = ULP_N;
    tg_tensor *p = tg_from_data(t, TG_F32, 1, &n, ulp_p0);
    ck_assert_int_eq(tg_params_add(params, p), TG_OK);
    tg_optimizer *o = strcmp(kind, "sgd") == 0 ? tg_sgd_new(t, params, opt)
                    : strcmp(kind, "adam") == 0 ? tg_adam_new(t, params, opt)
                    : tg_adamw_new(t, params, opt);
    ck_assert_ptr_nonnull(o);
    for (int s = 0; s < ULP_STEPS; s++) {
        if (tg_grad(p) == NULL)
            ck_assert_int_eq(tg_backward(t, tg_sum(t, p)), TG_OK);
        memcpy(tg_mut_f32(tg_grad(p)), ulp_grads[s], sizeof ulp_grads[s]);
        ck_assert_int_eq(tg_optimizer_step(o), TG_OK);
        int64_t worst = 0;
        int at = 0;
        for (int i = 0; i < ULP_N; i++) {
            int64_t d = ulps(tg_data_f32(p)[i], want[s][i]);
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        ck_assert_msg(worst == 0, "%s step %d: element %d is %a, PyTorch "
                      "%a (%lld ulps)", name, s + 1, at,
                      (double)tg_data_f32(p)[at], (double)want[s][at],
                      (long long)worst);
    }
    tg_tape_free(t);
}

/* Every option of every optimizer, in f32, to the ulp (issue 17, class
 * 13): the coefficients (1 - beta, 1 - dampening, ...) are computed in
 * double and each "add with alpha" is fused, as PyTorch does. */
START_TEST(f32_steps_match_pytorch_to_the_ulp)
{
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    run_ulp_case("sgd", &sgd, ulp_sgd, "sgd");
    tg_sgd_options wd = {0.03, 0, 0, 0.07, false};
    run_ulp_case("sgd", &wd, ulp_sgd_wd, "sgd_wd");
    tg_sgd_options mom = {0.1, 0.9, 0, 0, false};
    run_ulp_case("sgd", &mom, ulp_sgd_momentum, "sgd_momentum");
    tg_sgd_options damp = {0.1, 0.7, 0.3, 0.01, false};
    run_ulp_case("sgd", &damp, ulp_sgd_dampening, "sgd_dampening");
    tg_sgd_options nest = {0.05, 0.8, 0, 0.02, true};
    run_ulp_case("sgd", &nest, ulp_sgd_nesterov, "sgd_nesterov");

    tg_adam_options a = tg_adam_defaults();
    run_ulp_case("adam", &a, ulp_adam, "adam");
    a.lr = 0.037;
    run_ulp_case("adam", &a, ulp_adam_lr, "adam_lr");
    a = tg_adam_defaults();
    a.beta1 = 0.3;
    run_ulp_case("adam", &a, ulp_adam_beta1, "adam_beta1");
    a = tg_adam_defaults();
    a.beta2 = 0.97;
    run_ulp_case("adam", &a, ulp_adam_beta2, "adam_beta2");
    a = tg_adam_defaults();
    a.eps = 0.013;
    run_ulp_case("adam", &a, ulp_adam_eps, "adam_eps");
    a = (tg_adam_options){0.01, 0.8, 0.99, 1e-6, 0.1};
    run_ulp_case("adam", &a, ulp_adam_wd, "adam_wd");

    a = tg_adamw_defaults();
    run_ulp_case("adamw", &a, ulp_adamw, "adamw");
    a.weight_decay = 0;
    run_ulp_case("adamw", &a, ulp_adamw_nowd, "adamw_nowd");
    a = tg_adamw_defaults();
    a.lr = 0.05;
    a.weight_decay = 0.5;
    run_ulp_case("adamw", &a, ulp_adamw_lr, "adamw_lr");
    a = (tg_adam_options){0.02, 0.6, 0.95, 1e-4, 0.3};
    run_ulp_case("adamw", &a, ulp_adamw_all, "adamw_all");
}
END_TEST

START_TEST(parameters_without_gradient_are_skipped)
{
    tg_tape *t = tg_tape_new();
    tg_params *params = tg_params_new(t);
    tg_tensor *a = tg_scalar(t, TG_F64, 1.0), *b = tg_scalar(t, TG_F64, 2.0);
    tg_params_add(params, a);
    tg_params_add(params, b);
    ck_assert_int_eq(tg_params_count(params), 2);
    ck_assert_int_eq(tg_params_numel(params), 2);
    ck_assert_ptr_eq(tg_params_at(params, 1), b);
    ck_assert(tg_requires_grad(a) && tg_requires_grad(b));
    tg_sgd_options o = tg_sgd_defaults(0.5);
    tg_optimizer *opt = tg_sgd_new(t, params, &o);
    ck_assert_int_eq(tg_backward(t, a), TG_OK);
    ck_assert_int_eq(tg_optimizer_step(opt), TG_OK);
    ck_assert(tg_item(a) == 0.5 && tg_item(b) == 2.0);
    tg_params_zero_grad(params);
    ck_assert(tg_item(tg_grad(a)) == 0.0);
    tg_optimizer_set_lr(opt, 0.25);
    ck_assert(tg_optimizer_lr(opt) == 0.25);
    tg_tape_free(t);
}
END_TEST

START_TEST(bad_options)
{
    tg_tape *t = tg_tape_new();
    tg_params *params = tg_params_new(t);
    tg_sgd_options neg = tg_sgd_defaults(-1);
    ck_assert_null_msg(tg_sgd_new(t, params, &neg), "lr -1");
    ck_assert_null_msg(tg_sgd_new(t, params, NULL), "needs a learning rate");
    tg_sgd_options nest = {0.1, 0, 0, 0, true};
    ck_assert_null_msg(tg_sgd_new(t, params, &nest), "Nesterov");
    tg_adam_options beta = tg_adam_defaults();
    beta.beta2 = 1.0;
    ck_assert_null_msg(tg_adam_new(t, params, &beta), "betas (0.9, 1)");
    ck_assert_null_msg(tg_adamw_new(NULL, params, NULL), "tape is NULL");
    /* A NULL handle keeps an earlier error: clear the handled one first. */
    tg_clear_error();
    ck_assert_status(tg_optimizer_step(NULL), TG_EINVAL, "optimizer is NULL");
    tg_clear_error();
    ck_assert_status(tg_params_add(params, NULL), TG_EINVAL, "tensor is NULL");
    ck_assert_null_msg(tg_params_at(params, 3), "index 3");
    tg_tape_free(t);
}
END_TEST

START_TEST(params_at_names_the_range)
{
    tg_tape *t = tg_tape_new();
    tg_params *params = tg_params_new(t);
    /* An empty list has no range to name: no "0..-1". */
    ck_assert_null_status(tg_params_at(params, 0), TG_EINVAL,
                          "tg_params_at: index 0, but the parameter list is "
                          "empty");
    ck_assert_msg(strstr(tg_last_error(), "..") == NULL, "%s",
                  tg_last_error());
    ck_assert_null_status(tg_params_at(params, -1), TG_EINVAL,
                          "index -1, but the parameter list is empty");
    tg_params_add(params, tg_scalar(t, TG_F64, 1.0));
    tg_params_add(params, tg_scalar(t, TG_F64, 2.0));
    ck_assert_null_status(tg_params_at(params, 2), TG_EINVAL,
                          "tg_params_at: index 2 is outside 0..1");
    ck_assert_null_status(tg_params_at(params, -1), TG_EINVAL,
                          "tg_params_at: index -1 is outside 0..1");
    ck_assert_ptr_nonnull(tg_params_at(params, 1));
    /* A NULL list: named, unless it comes from a failure, whose error is
     * kept. */
    tg_clear_error();
    ck_assert_null_status(tg_params_at(NULL, 0), TG_EINVAL,
                          "tg_params_at: parameter list is NULL");
    ck_assert_null_status(tg_params_at(tg_params_new(NULL), 0), TG_EINVAL,
                          "tg_params_new: tape is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(optimizer_out_of_memory)
{
    for (long k = 1;; k++) {
        tg_tape *t = tg_tape_new();
        tg_params *params = tg_params_new(t);
        int64_t shape[] = {300, 300};
        tg_params_add(params, tg_zeros(t, TG_F32, 2, shape));
        tg_test_fail_after(k);
        tg_optimizer *o = tg_adam_new(t, params, NULL);
        tg_test_fail_after(-1);
        tg_tape_free(t);
        ck_assert_int_eq(tg_test_live_allocations(), 0);
        if (o != NULL)
            break;
        ck_assert_int_eq(tg_last_status(), TG_ENOMEM);
        /* The user's call first, the inner cause after (issue 17, 8). */
        ck_assert_msg(strncmp(tg_last_error(), "tg_adam_new: ", 13) == 0,
                      "%s", tg_last_error());
        ck_assert(k < 50);
    }
}
END_TEST

/* Every failure inside tg_mlp_new, tg_params_new and tg_l2_penalty is
 * reported under the call the user made (issue 17, class 8). */
START_TEST(nn_messages_name_the_users_call)
{
    int64_t widths[] = {4, 3, 2};
    for (long k = 1;; k++) {
        tg_tape *t = tg_tape_new();
        tg_params *params = tg_params_new(t);
        tg_rng rng;
        tg_rng_seed(&rng, 1, 2);
        tg_test_fail_after(k);
        tg_mlp *m = tg_mlp_new(t, params, &rng, TG_F32, 3, widths, tg_relu);
        tg_tensor *pen = m ? tg_l2_penalty(t, params, 0.5) : NULL;
        tg_test_fail_after(-1);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", tg_last_error());
        tg_tape_free(t);
        if (pen != NULL)
            break;
        ck_assert_int_eq(tg_last_status(), TG_ENOMEM);
        ck_assert_msg(strncmp(msg, m ? "tg_l2_penalty: " : "tg_mlp_new: ",
                              m ? 15 : 12) == 0, "failure %ld: %s", k, msg);
        ck_assert(k < 200);
    }
    tg_tape *t = tg_tape_new();
    tg_params *params = tg_params_new(t);
    ck_assert_null_status(tg_mlp_new(t, params, NULL, TG_F64, 3, widths,
                                     tg_relu), TG_EINVAL,
                          "tg_mlp_new: rng is NULL");
    tg_tape_free(t);
    tg_tape *s = tg_tape_new();
    tg_test_fail_after(1);
    tg_params *none = tg_params_new(s);
    tg_test_fail_after(-1);
    ck_assert_ptr_null(none);
    ck_assert_msg(strncmp(tg_last_error(), "tg_params_new: ", 15) == 0, "%s",
                  tg_last_error());
    tg_tape_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_optim");
    TCase *tc = tg_test_tcase("rules");
    tcase_add_test(tc, sgd_matches_pytorch);
    tcase_add_test(tc, adam_matches_pytorch);
    tcase_add_test(tc, adamw_matches_pytorch);
    tcase_add_test(tc, parameters_without_gradient_are_skipped);
    tcase_add_test(tc, f32_steps_match_pytorch_to_the_ulp);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, params_at_names_the_range);
    tcase_add_test(tc, optimizer_out_of_memory);
    tcase_add_test(tc, nn_messages_name_the_users_call);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
