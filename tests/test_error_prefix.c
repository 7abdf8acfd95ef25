/*
 * test_error_prefix.c — the prefix rule (base.h, tg_set_error): a user
 * op's message starts with "tg_<op>: " exactly once, whether its forward
 * or backward wrote only the detail, named itself, or named itself with
 * "tg_"; a failing call inside forward is named after the op.
 */
#include "tg_test.h"

#include <string.h>

/* Which way the op words its message (the params). */
typedef enum style { DETAIL, BARE_NAME, TG_NAME, INNER_CALL } style;

static int op_fail(style s)
{
    switch (s) {
    case DETAIL:
        return tg_set_error(TG_EINVAL, "beta is -1; it must be positive");
    case BARE_NAME:
        return tg_set_error(TG_EINVAL,
                            "swish_beta: beta is -1; it must be positive");
    case TG_NAME:
        return tg_set_error(TG_EINVAL,
                            "tg_swish_beta: beta is -1; it must be positive");
    case INNER_CALL:
        break;
    }
    tg_item(NULL); /* a public call that fails inside the op */
    return tg_last_status();
}

static tg_tensor *bad_forward(tg_op_ctx *c)
{
    op_fail(*(const style *)c->params);
    return NULL;
}

static tg_tensor *good_forward(tg_op_ctx *c)
{
    return tg_zeros(c->tape, TG_F64, 0, NULL);
}

static int bad_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                        tg_tensor *const *gx)
{
    (void)y, (void)gy, (void)gx;
    return op_fail(*(const style *)c->params);
}

static int no_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                       tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy, (void)gx;
    return TG_OK;
}

static const tg_op failing_forward = {
    .name = "swish_beta", .arity = 1, .params_size = sizeof(style),
    .forward = bad_forward, .backward = no_backward,
};

static const tg_op failing_backward = {
    .name = "swish_beta", .arity = 1, .params_size = sizeof(style),
    .forward = good_forward, .backward = bad_backward,
};

static const char *const want[] = {
    [DETAIL] = "tg_swish_beta: beta is -1; it must be positive",
    [BARE_NAME] = "tg_swish_beta: beta is -1; it must be positive",
    [TG_NAME] = "tg_swish_beta: beta is -1; it must be positive",
    [INNER_CALL] = "tg_swish_beta: tg_item: tensor is NULL",
};

START_TEST(forward_message_has_the_prefix_once)
{
    style s = (style)_i;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 1.0);
    tg_clear_error();
    ck_assert_ptr_null(tg_apply(t, &failing_forward, 1, &x, &s));
    ck_assert_str_eq(tg_last_error(), want[s]);
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_int_eq(tg_tape_size(t), 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(backward_message_has_the_prefix_once)
{
    style s = (style)_i;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 1.0);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_apply(t, &failing_backward, 1, &x, &s);
    ck_assert_ptr_nonnull(y);
    tg_clear_error();
    ck_assert_int_eq(tg_backward(t, y), TG_EINVAL);
    ck_assert_str_eq(tg_last_error(), want[s]);
    tg_tape_free(t);
}
END_TEST

/* The built-in ops already name themselves: nothing is added. */
START_TEST(builtin_messages_are_unchanged)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 1.0);
    ck_assert_ptr_null(tg_leaky_relu(t, x, NAN));
    ck_assert_str_eq(tg_last_error(),
                     "tg_leaky_relu: slope is nan; it must be finite");
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("error_prefix");
    TCase *tc = tg_test_tcase("prefix");
    tcase_add_loop_test(tc, forward_message_has_the_prefix_once, DETAIL,
                        INNER_CALL + 1);
    tcase_add_loop_test(tc, backward_message_has_the_prefix_once, DETAIL,
                        INNER_CALL + 1);
    tcase_add_test(tc, builtin_messages_are_unchanged);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
