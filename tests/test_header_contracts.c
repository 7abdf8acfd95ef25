/*
 * test_header_contracts.c — what the headers promise about calls a
 * newcomer reads there and the other suites leave out (session 9, lane
 * newcomer): tg_set_name names any tensor and refuses a stale one,
 * tg_shape_str's NULL tensor and empty buffer, tg_zero_grad's NULL and
 * stale tensors. Each case is one sentence of tensor.h.
 */
#include "tg_test.h"

/* "any tensor, leaf or not"; TG_ESTATE for a tensor freed by a reset. */
START_TEST(set_name_names_any_tensor_and_refuses_a_stale_one)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 2.0);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul(t, x, x); /* not a leaf */
    tg_clear_error();
    ck_assert_int_eq(tg_set_name(y, "y"), TG_OK);
    ck_assert_str_eq(tg_name(y), "y");
    ck_assert_int_eq(tg_last_status(), TG_OK);
    tg_tape_reset(t);
    ck_assert_status(tg_set_name(x, "x"), TG_ESTATE,
                     "tg_set_name: tensor was freed by a reset of its tape");
    tg_tape_free(t);
}
END_TEST

/* "(null)" for a NULL x; nothing written when n is 0; sets no error. */
START_TEST(shape_str_of_null_and_into_no_room)
{
    char buf[8] = "keep";
    tg_clear_error();
    ck_assert_str_eq(tg_shape_str(NULL, buf, sizeof buf), "(null)");
    ck_assert_ptr_eq(tg_shape_str(NULL, buf, 0), buf);
    ck_assert_str_eq(buf, "(null)"); /* n = 0: left as it was */
    ck_assert_int_eq(tg_last_status(), TG_OK);
}
END_TEST

/* NULL is a no-op that returns TG_OK (and keeps a pending failure);
 * a tensor freed by a reset is TG_ESTATE. */
START_TEST(zero_grad_of_null_and_of_a_stale_tensor)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F32, 1.0f);
    tg_clear_error();
    ck_assert_int_eq(tg_zero_grad(NULL), TG_OK);
    ck_assert_int_eq(tg_last_status(), TG_OK);
    ck_assert_ptr_null(tg_add(t, x, NULL)); /* a failure, pending */
    int pending = tg_last_status();
    ck_assert_int_eq(tg_zero_grad(NULL), TG_OK);
    ck_assert_int_eq(tg_last_status(), pending);
    tg_tape_reset(t);
    ck_assert_status(tg_zero_grad(x), TG_ESTATE, "freed by a reset");
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("header_contracts");
    TCase *tc = tg_test_tcase("tensor");
    tcase_add_test(tc, set_name_names_any_tensor_and_refuses_a_stale_one);
    tcase_add_test(tc, shape_str_of_null_and_into_no_room);
    tcase_add_test(tc, zero_grad_of_null_and_of_a_stale_tensor);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
