/*
 * test_errors.c — the error contract: nothing aborts, NULL propagates and
 * keeps the first message, failed allocations leak nothing.
 */
#include "tg_test.h"

#include <pthread.h>

START_TEST(null_propagates_through_a_chain)
{
    tg_tape *t = tg_tape_new();
    ck_assert_status(tg_backward(t, tg_sum(t, tg_relu(t, NULL))), TG_EINVAL,
                     "tg_relu: tensor is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(first_failure_message_is_kept)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *bad = tg_linspace(t, TG_F32, 0, 1, 0);
    ck_assert_status(tg_backward(t, tg_sum(t, tg_relu(t, bad))), TG_EINVAL,
                     "tg_linspace: steps is 0");
    tg_tape_free(t);
}
END_TEST

START_TEST(null_tape_is_an_error)
{
    int64_t n = 3;
    ck_assert_null_msg(tg_zeros(NULL, TG_F32, 1, &n), "tg_zeros: tape is NULL");
    ck_assert_null_msg(tg_linspace(NULL, TG_F32, 0, 1, 3), "tape is NULL");
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_zeros(t, TG_F32, 1, &n);
    ck_assert_null_msg(tg_relu(NULL, x), "tg_relu: tape is NULL");
    ck_assert_status(tg_backward(NULL, x), TG_EINVAL, "tape is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(bad_shapes)
{
    tg_tape *t = tg_tape_new();
    int64_t neg[] = {3, -1}, zero[] = {0}, big[] = {INT64_MAX, 4};
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    ck_assert_null_msg(tg_zeros(t, TG_F32, 2, neg), "dimension 1 has size -1");
    ck_assert_null_msg(tg_zeros(t, TG_F64, 1, zero), "dimension 0 has size 0");
    ck_assert_null_msg(tg_zeros(t, TG_F32, 2, big), "element count overflows");
    ck_assert_null_msg(tg_zeros(t, TG_F32, 9, nine), "ndim 9 is outside 0..8");
    ck_assert_null_msg(tg_zeros(t, TG_F32, -1, nine), "ndim -1");
    ck_assert_null_msg(tg_zeros(t, TG_F32, 2, NULL), "shape is NULL");
    ck_assert_null_msg(tg_zeros(t, (tg_dtype)7, 1, nine), "unknown dtype 7");
    ck_assert_null_msg(tg_from_data(t, TG_F32, 1, nine, NULL), "data is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(status_strings)
{
    ck_assert_str_eq(tg_strerror(TG_OK), "success");
    ck_assert_str_eq(tg_strerror(TG_ESHAPE), "incompatible shapes");
    ck_assert_str_eq(tg_strerror(TG_ENOMEM), "out of memory");
    ck_assert_str_eq(tg_strerror(12345), "unknown status");
    tg_set_error(TG_EIO, "custom %d", 42);
    ck_assert_str_eq(tg_last_error(), "custom 42");
    tg_clear_error();
    ck_assert_str_eq(tg_last_error(), "");
    ck_assert_str_eq(tg_version(), TG_VERSION_STRING);
}
END_TEST

static tg_tensor *dummy_forward(tg_op_ctx *c)
{
    return tg_empty_like(c->tape, c->in[0]);
}

static int dummy_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy, (void)gx;
    return TG_OK;
}

START_TEST(op_registration_errors)
{
    static const tg_op no_backward = {.name = "nb", .arity = 1,
                                      .forward = dummy_forward};
    static const tg_op no_name = {.arity = 1, .forward = dummy_forward,
                                  .backward = dummy_backward};
    static const tg_op bad_arity = {.name = "ba", .arity = 0,
                                    .forward = dummy_forward,
                                    .backward = dummy_backward};
    static const tg_op dup = {.name = "relu", .arity = 1,
                              .forward = dummy_forward,
                              .backward = dummy_backward};
    ck_assert_status(tg_op_register(NULL), TG_EINVAL, "op is NULL");
    ck_assert_status(tg_op_register(&no_backward), TG_EINVAL,
                     "needs both a forward and a backward");
    ck_assert_status(tg_op_register(&no_name), TG_EINVAL, "no name");
    ck_assert_status(tg_op_register(&bad_arity), TG_EINVAL, "arity 0");
    ck_assert_status(tg_op_register(&dup), TG_EEXIST, "already registered");
    ck_assert_null_msg(tg_op_find("nonesuch"), "no op named \"nonesuch\"");
    ck_assert_null_msg(tg_op_find(NULL), "name is NULL");
    ck_assert_null_msg(tg_op_at(-1), "index -1");
}
END_TEST

START_TEST(apply_checks_inputs)
{
    static const tg_op two = {.name = "two_inputs", .arity = 2,
                              .forward = dummy_forward,
                              .backward = dummy_backward};
    tg_tape *t = tg_tape_new();
    tg_tensor *in[2] = {tg_scalar(t, TG_F32, 1), tg_scalar(t, TG_F64, 1)};
    ck_assert_null_msg(tg_apply(t, &two, 1, in, NULL),
                       "tg_two_inputs: takes 2 inputs, got 1");
    ck_assert_null_msg(tg_apply(t, &two, 2, in, NULL),
                       "inputs are f32 and f64");
    ck_assert_null_msg(tg_apply(t, &two, 2, NULL, NULL), "inputs array");
    ck_assert_null_msg(tg_apply(t, NULL, 2, in, NULL), "op is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(user_op_registers_and_runs)
{
    static const tg_op copy = {.name = "test_copy", .arity = 1,
                               .forward = dummy_forward,
                               .backward = dummy_backward};
    int before = tg_op_count();
    ck_assert_int_eq(tg_op_register(&copy), TG_OK);
    ck_assert_int_eq(tg_op_count(), before + 1);
    ck_assert_ptr_eq(tg_op_find("test_copy"), &copy);
    ck_assert_ptr_eq(tg_op_at(before), &copy);
}
END_TEST

/* The seed, as one function: 0 when it ran, else the status it failed on. */
static int run_seed(tg_tape *t)
{
    tg_tensor *x = tg_linspace(t, TG_F32, -2, 2, 1000);
    tg_set_requires_grad(x, true);
    int rc = tg_backward(t, tg_sum(t, tg_relu(t, x)));
    if (rc == TG_OK && tg_grad(x) == NULL)
        rc = TG_ENOMEM;
    return rc;
}

START_TEST(seed_survives_every_allocation_failure)
{
    /* Fail the 1st, 2nd, ... allocation until the seed runs clean. */
    for (long k = 1;; k++) {
        tg_test_fail_after(k);
        tg_tape *t = tg_tape_new();
        int rc = t ? run_seed(t) : TG_ENOMEM;
        tg_test_fail_after(-1);
        if (t != NULL) {
            tg_tape_reset(t);            /* still usable after the failure */
            ck_assert_int_eq(run_seed(t), TG_OK);
        }
        tg_tape_free(t);
        ck_assert_int_eq(tg_test_live_allocations(), 0);
        if (rc == TG_OK)
            break;
        ck_assert_int_eq(rc, TG_ENOMEM);
        ck_assert_message("out of memory");
        ck_assert_msg(k < 100, "the seed never ran clean");
    }
}
END_TEST

static void *set_error_in_thread(void *arg)
{
    tg_set_error(TG_EINVAL, "thread %s", (const char *)arg);
    return (void *)(strcmp(tg_last_error(), "thread b") == 0 ? arg : NULL);
}

START_TEST(last_error_is_per_thread)
{
    tg_set_error(TG_EIO, "main thread");
    pthread_t th;
    void *res;
    pthread_create(&th, NULL, set_error_in_thread, "b");
    pthread_join(th, &res);
    ck_assert_ptr_nonnull(res);
    ck_assert_str_eq(tg_last_error(), "main thread");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tg_test_tcase("propagation");
    tcase_add_test(tc, null_propagates_through_a_chain);
    tcase_add_test(tc, first_failure_message_is_kept);
    tcase_add_test(tc, null_tape_is_an_error);
    tcase_add_test(tc, bad_shapes);
    tcase_add_test(tc, status_strings);
    tcase_add_test(tc, last_error_is_per_thread);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("ops");
    tcase_add_test(tc, op_registration_errors);
    tcase_add_test(tc, apply_checks_inputs);
    tcase_add_test(tc, user_op_registers_and_runs);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("allocation");
    tcase_add_test(tc, seed_survives_every_allocation_failure);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
