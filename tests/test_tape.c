/*
 * test_tape.c — recording, backward, accumulation, reset and grad mode.
 */
#include "tg_test.h"

/* sum(relu(x)) on a 4-element f64 leaf with the given values. */
static tg_tensor *leaf4(tg_tape *t, double a, double b, double c, double d)
{
    double v[4] = {a, b, c, d};
    int64_t n = 4;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, v);
    tg_set_requires_grad(x, true);
    return x;
}

START_TEST(backward_of_sum_relu)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, -1, 0, 2, 3);
    tg_tensor *s = tg_sum(t, tg_relu(t, x));
    ck_assert_int_eq(tg_tape_size(t), 2);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 0 && g[1] == 0 && g[2] == 1 && g[3] == 1);
    ck_assert(tg_item(tg_grad(s)) == 1.0);
    tg_tape_free(t);
}
END_TEST

START_TEST(two_backward_passes_accumulate)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, -2, 3, -4);
    tg_tensor *y = tg_relu(t, x);
    tg_tensor *s = tg_sum(t, y);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 2 && g[1] == 0 && g[2] == 2 && g[3] == 0);
    /* Intermediates are recomputed per pass, not accumulated. */
    const double *gy = tg_data_f64(tg_grad(y));
    ck_assert(gy[0] == 1 && gy[3] == 1);
    tg_zero_grad(x);
    g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 0 && g[2] == 0);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert(tg_data_f64(tg_grad(x))[0] == 1);
    tg_tape_free(t);
}
END_TEST

START_TEST(shared_input_gradients_add_up)
{
    /* x reaches the roots along two paths (through relu and directly);
     * backward from each root adds that path's gradient into x. */
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, 2, -3, 4);
    tg_tensor *a = tg_sum(t, tg_relu(t, x));
    tg_tensor *b = tg_sum(t, x);
    ck_assert_int_eq(tg_backward(t, a), TG_OK);
    ck_assert_int_eq(tg_backward(t, b), TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 2 && g[1] == 2 && g[2] == 1 && g[3] == 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(leaf_root_gets_one)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *s = tg_scalar(t, TG_F32, 3);
    tg_set_requires_grad(s, true);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert(tg_item(tg_grad(s)) == 1.0);
    tg_tape_free(t);
}
END_TEST

START_TEST(parameters_on_a_long_lived_tape)
{
    /* The training-loop pattern: parameters on one tape, each step's work
     * on another that is reset; parameter gradients survive the reset. */
    tg_tape *params = tg_tape_new();
    tg_tape *step = tg_tape_new();
    tg_tensor *w = leaf4(params, 1, -1, 2, -2);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tg_backward(step, tg_sum(step, tg_relu(step, w))),
                         TG_OK);
        tg_tape_reset(step);
    }
    const double *g = tg_data_f64(tg_grad(w));
    ck_assert(g[0] == 3 && g[1] == 0 && g[2] == 3 && g[3] == 0);
    ck_assert_ptr_eq(tg_tape_of(tg_grad(w)), params);
    tg_tape_free(step);
    tg_tape_free(params);
}
END_TEST

/* ---- Repeated backward passes, as tape.h documents them: leaf gradients
 * add up until tg_zero_grad; an intermediate's gradient is that of the
 * last pass only, zeros if the last pass did not reach it. */

/* The gradient's 4 values, f64. */
static bool grad_is(const tg_tensor *x, double a, double b, double c, double d)
{
    const double *g = tg_data_f64(tg_grad(x));
    return g != NULL && g[0] == a && g[1] == b && g[2] == c && g[3] == d;
}

START_TEST(intermediate_not_reached_reads_zero)
{
    /* Pass 1 reaches y = relu(x); pass 2, from another root, does not:
     * y's gradient is then zeros, not pass 1's left over. */
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, -2, 3, -4);
    tg_tensor *y = tg_relu(t, x);
    tg_tensor *a = tg_sum(t, y);
    tg_tensor *b = tg_sum(t, tg_mul_scalar(t, x, 2.0));
    ck_assert_int_eq(tg_backward(t, a), TG_OK);
    ck_assert(grad_is(y, 1, 1, 1, 1));
    ck_assert_int_eq(tg_backward(t, b), TG_OK);
    ck_assert(grad_is(y, 0, 0, 0, 0));
    ck_assert(grad_is(x, 3, 2, 3, 2));       /* 1[x > 0] + 2, accumulated */
    tg_tape_free(t);
}
END_TEST

START_TEST(diamond_gradients_do_not_compound)
{
    /* z = sum(y * y + y), y = relu(x), twice: y's gradient is 2y + 1 after
     * each pass (its two uses summed within a pass, not across passes);
     * x's is (2y + 1) 1[x > 0] per pass, so twice that after two. */
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, -2, 3, 0.5);
    tg_tensor *y = tg_relu(t, x);
    tg_tensor *z = tg_sum(t, tg_add(t, tg_mul(t, y, y), y));
    for (int pass = 1; pass <= 3; pass++) {
        ck_assert_int_eq(tg_backward(t, z), TG_OK);
        ck_assert(grad_is(y, 3, 1, 7, 2));
        ck_assert(grad_is(x, 3.0 * pass, 0, 7.0 * pass, 2.0 * pass));
        ck_assert(tg_item(tg_grad(z)) == 1.0); /* a non-leaf root: 1 */
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(same_tensor_in_both_slots_twice)
{
    /* mul(x, x): both slots write x's gradient in one pass (2x), and a
     * second pass adds another 2x. */
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, -2, 3, 0.5);
    tg_tensor *s = tg_sum(t, tg_mul(t, x, x));
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert(grad_is(x, 2, -4, 6, 1));
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert(grad_is(x, 4, -8, 12, 2));
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert(grad_is(x, 2, -4, 6, 1));
    tg_tape_free(t);
}
END_TEST

START_TEST(leaf_root_accumulates)
{
    /* A leaf used as its own root gets 1 per pass, like any leaf. */
    tg_tape *t = tg_tape_new();
    tg_tensor *s = tg_scalar(t, TG_F64, 3);
    tg_set_requires_grad(s, true);
    for (int pass = 1; pass <= 3; pass++) {
        ck_assert_int_eq(tg_backward(t, s), TG_OK);
        ck_assert(tg_item(tg_grad(s)) == pass);
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(graph_grown_between_passes)
{
    /* Pass 1 from a; more ops are recorded on top of a; pass 2 from the
     * new root c = 3a reaches y again with a fresh gradient (3, not 1 + 3),
     * and x gathers 1 + 3 per positive element. */
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, -2, 3, -4);
    tg_tensor *y = tg_relu(t, x);
    tg_tensor *a = tg_sum(t, y);
    ck_assert_int_eq(tg_backward(t, a), TG_OK);
    tg_tensor *c = tg_mul_scalar(t, a, 3.0);
    ck_assert_int_eq(tg_backward(t, c), TG_OK);
    ck_assert(grad_is(y, 3, 3, 3, 3));
    ck_assert(tg_item(tg_grad(a)) == 3.0);
    ck_assert(grad_is(x, 4, 0, 4, 0));
    tg_tape_free(t);
}
END_TEST

START_TEST(failed_pass_then_zero_grad_is_clean)
{
    /* A pass that runs out of memory may leave leaf gradients partly
     * updated (documented); after tg_zero_grad the next pass gives exactly
     * what a clean pass gives, with nothing left over. The tensors are
     * large enough that their gradients need new arena blocks. */
    enum { N = 40001 };
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F64, -1, 1, N);
    tg_tensor *w = tg_linspace(t, TG_F64, 2, 3, N);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_tensor *z = tg_sum(t, tg_mul(t, tg_relu(t, x), w));
    long failures = 0;
    for (long k = 1; k <= 6; k++) {
        tg_test_fail_after(k);
        int rc = tg_backward(t, z);
        tg_test_fail_after(-1);
        ck_assert(rc == TG_OK || rc == TG_ENOMEM);
        failures += rc == TG_ENOMEM;
        tg_zero_grad(x);
        tg_zero_grad(w);
        ck_assert_int_eq(tg_backward(t, z), TG_OK);
        const double *gx = tg_data_f64(tg_grad(x)), *gw = tg_data_f64(tg_grad(w));
        const double *xv = tg_data_f64(x), *wv = tg_data_f64(w);
        for (int i = 0; i < N; i++) {
            ck_assert(gx[i] == (xv[i] > 0 ? wv[i] : 0.0));
            ck_assert(gw[i] == (xv[i] > 0 ? xv[i] : 0.0));
        }
        tg_zero_grad(x);
        tg_zero_grad(w);
    }
    ck_assert_int_gt(failures, 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(grad_disabled_records_nothing)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, 2, 3, 4);
    tg_tape_set_grad_enabled(t, false);
    ck_assert(!tg_tape_grad_enabled(t));
    tg_tensor *s = tg_sum(t, tg_relu(t, x));
    ck_assert(tg_item(s) == 10.0);
    ck_assert_int_eq(tg_tape_size(t), 0);
    ck_assert(!tg_requires_grad(s));
    ck_assert_status(tg_backward(t, s), TG_ESTATE, "does not require grad");
    tg_tape_set_grad_enabled(t, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);
    tg_tape_free(t);
}
END_TEST

START_TEST(no_input_requires_grad_records_nothing)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    tg_tensor *x = tg_zeros(t, TG_F32, 1, &n);
    tg_tensor *s = tg_sum(t, tg_relu(t, x));
    ck_assert_int_eq(tg_tape_size(t), 0);
    ck_assert_status(tg_backward(t, s), TG_ESTATE, "does not require grad");
    tg_tape_free(t);
}
END_TEST

START_TEST(reset_reuses_memory)
{
    /* After the first pass, the seed loop allocates nothing. */
    tg_tape *t = tg_tape_new();
    long calls = 0;
    for (int i = 0; i < 5; i++) {
        tg_tensor *x = tg_linspace(t, TG_F32, -2, 2, 100000);
        tg_set_requires_grad(x, true);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_relu(t, x))), TG_OK);
        ck_assert_ptr_nonnull(tg_grad(x));
        tg_tape_reset(t);
        if (i == 1)
            calls = tg_test_allocation_calls();
        if (i > 1)
            ck_assert_int_eq(tg_test_allocation_calls(), calls);
    }
    ck_assert_int_eq(tg_tape_size(t), 0);
    ck_assert(tg_tape_bytes_reserved(t) >= 100000 * 4 * 3);
    tg_tape_free(t);
}
END_TEST

START_TEST(reset_invalidates_tensors)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, 2, 3, 4);
    tg_tensor *s = tg_sum(t, x);
    tg_tape_reset(t);
    ck_assert_status(tg_backward(t, s), TG_ESTATE, "freed by a reset");
    ck_assert_null_msg(tg_relu(t, x), "tg_relu: tensor was freed by a reset");
    ck_assert_status(tg_set_requires_grad(x, false), TG_ESTATE, "reset");
    tg_tape_free(t);
}
END_TEST

START_TEST(backward_needs_one_element)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = leaf4(t, 1, 2, 3, 4);
    ck_assert_status(tg_backward(t, tg_relu(t, x)), TG_ESHAPE,
                     "root has shape (4,); it must have exactly one element");
    tg_tape_free(t);
}
END_TEST

START_TEST(backward_root_of_another_tape)
{
    tg_tape *a = tg_tape_new(), *b = tg_tape_new();
    tg_tensor *s = tg_sum(a, leaf4(a, 1, 2, 3, 4));
    ck_assert_status(tg_backward(b, s), TG_ESTATE, "belongs to another tape");
    tg_tape_free(a);
    tg_tape_free(b);
}
END_TEST

START_TEST(requires_grad_only_on_leaves)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *y = tg_relu(t, leaf4(t, 1, 2, 3, 4));
    ck_assert_status(tg_set_requires_grad(y, false), TG_EINVAL,
                     "only leaf tensors");
    tg_tape_free(t);
}
END_TEST

START_TEST(free_and_reset_accept_null)
{
    tg_tape_free(NULL);
    tg_tape_reset(NULL);
    tg_tape_set_grad_enabled(NULL, true);
    ck_assert_int_eq(tg_tape_size(NULL), 0);
    tg_zero_grad(NULL);
}
END_TEST

/*
 * A user op whose backward records ops on the tape (a natural thing to
 * write: gx = gy * 3 with tg_mul_scalar on an input that requires grad).
 * Enough of them move the tape's entry array while backward walks it;
 * backward must not read the old one (ASan and valgrind would see it).
 */
static tg_tensor *thrice_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        tg_mut_f64(y)[0] = 3.0 * tg_data_f64(c->in[0])[0];
    return y;
}

static int thrice_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL)
        return TG_OK;
    /* Records: c->in[0] requires grad. */
    tg_tensor *g = NULL;
    for (int i = 0; i < 40; i++)
        g = tg_mul_scalar(c->tape, c->in[0], 0.0);
    if (g == NULL)
        return tg_last_status();
    for (int64_t i = 0; i < tg_numel(gy); i++)
        tg_mut_f64(gx[0])[i] = 3.0 * tg_data_f64(gy)[i];
    return TG_OK;
}

static const tg_op thrice = {
    .name = "thrice", .arity = 1,
    .forward = thrice_forward, .backward = thrice_backward,
};

START_TEST(backward_that_records_ops)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 2.0), *y = x;
    tg_set_requires_grad(x, true);
    for (int i = 0; i < 8; i++)
        y = tg_apply(t, &thrice, 1, &y, NULL);
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    ck_assert(tg_item(tg_grad(x)) == 6561.0); /* 3^8 */
    ck_assert_int_ge(tg_tape_size(t), 8 * 40);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tape");
    TCase *tc = tg_test_tcase("backward");
    tcase_add_test(tc, backward_of_sum_relu);
    tcase_add_test(tc, two_backward_passes_accumulate);
    tcase_add_test(tc, shared_input_gradients_add_up);
    tcase_add_test(tc, leaf_root_gets_one);
    tcase_add_test(tc, parameters_on_a_long_lived_tape);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("repeated_backward");
    tcase_add_test(tc, intermediate_not_reached_reads_zero);
    tcase_add_test(tc, diamond_gradients_do_not_compound);
    tcase_add_test(tc, same_tensor_in_both_slots_twice);
    tcase_add_test(tc, leaf_root_accumulates);
    tcase_add_test(tc, graph_grown_between_passes);
    tcase_add_test(tc, failed_pass_then_zero_grad_is_clean);
    tcase_add_test(tc, backward_that_records_ops);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("grad_mode");
    tcase_add_test(tc, grad_disabled_records_nothing);
    tcase_add_test(tc, no_input_requires_grad_records_nothing);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("reset");
    tcase_add_test(tc, reset_reuses_memory);
    tcase_add_test(tc, reset_invalidates_tensors);
    tcase_add_test(tc, free_and_reset_accept_null);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bad_input");
    tcase_add_test(tc, backward_needs_one_element);
    tcase_add_test(tc, backward_root_of_another_tape);
    tcase_add_test(tc, requires_grad_only_on_leaves);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
