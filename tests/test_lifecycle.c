/*
 * test_lifecycle.c — handles, gradients and saved values across the
 * lifecycle of tapes (issue 17, classes 3-6 and 12): what outlives a
 * reset is caught, a kept gradient reads the same through every call, a
 * dependency on another tape is followed or refused, and an in-place
 * write to a saved value is refused by backward.
 */
#include "tg_test.h"
#include "tapegrad/nn.h"
#include "tapegrad/gradcheck.h"
#include "tapegrad/npy.h"
#include "tapegrad/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A scalar f64 leaf that requires grad. */
static tg_tensor *scalar_leaf(tg_tape *t, double v)
{
    return tg_test_leaf(t, TG_F64, 0, NULL, &v);
}

/* Reset t and fill it with new tensors and values, so that stale
 * pointers land on live memory. */
static void reset_and_reuse(tg_tape *t)
{
    tg_tape_reset(t);
    int64_t n = 4096;
    for (int i = 0; i < 8; i++) {
        tg_tensor *y = tg_full(t, TG_F64, 1, &n, 1.0 + i);
        ck_assert_ptr_nonnull(y);
        ck_assert_ptr_nonnull(tg_relu(t, y));
    }
}

/* ---- class 3: handles that are not tensors ------------------------------ */

START_TEST(params_after_reset_is_estate)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    ck_assert_int_eq(tg_params_add(p, scalar_leaf(t, 1.0)), TG_OK);
    reset_and_reuse(t);
    tg_clear_error();
    ck_assert_status(tg_params_add(p, scalar_leaf(t, 2.0)), TG_ESTATE,
                     "tg_params_add: parameter list was freed by a reset");
    ck_assert_null_status(tg_params_at(p, 0), TG_ESTATE,
                          "tg_params_at: parameter list was freed");
    tg_clear_error();
    ck_assert_int_eq(tg_params_count(p), 0);
    ck_assert_int_eq(tg_last_status(), TG_ESTATE);
    ck_assert_int_eq(tg_params_numel(p), 0);
    ck_assert_message("tg_params_numel: parameter list was freed");
    ck_assert_status(tg_params_zero_grad(p), TG_ESTATE,
                     "tg_params_zero_grad: parameter list was freed");
    ck_assert_null_status(tg_l2_penalty(t, p, 0.1), TG_ESTATE,
                          "tg_l2_penalty: parameter list was freed");
    ck_assert_null_status(tg_sgd_new(t, p, &(tg_sgd_options){0.1, 0, 0, 0,
                                                             false}),
                          TG_ESTATE, "tg_sgd_new: parameter list was freed");
    /* a list made after the reset works */
    tg_params *q = tg_params_new(t);
    ck_assert_int_eq(tg_params_add(q, scalar_leaf(t, 3.0)), TG_OK);
    ck_assert_int_eq(tg_params_count(q), 1);
    tg_tape_free(t);
}
END_TEST

/* Parameters on one tape, the optimizer (and its state) on another: a
 * reset of either is caught by tg_optimizer_step, which changes nothing. */
static void optimizer_case(int kind, bool reset_params_tape)
{
    tg_tape *pt = tg_tape_new(), *ot = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_tensor *x = scalar_leaf(pt, 1.0);
    ck_assert_int_eq(tg_params_add(p, x), TG_OK);
    tg_sgd_options sgd = {0.1, 0.9, 0, 0, false};
    tg_optimizer *o = kind == 0 ? tg_sgd_new(ot, p, &sgd)
                    : kind == 1 ? tg_adam_new(ot, p, NULL)
                                : tg_adamw_new(ot, p, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(tg_backward(pt, tg_mul(pt, x, x)), TG_OK);
    ck_assert_int_eq(tg_optimizer_step(o), TG_OK);
    double after_one = tg_item(x);
    ck_assert(after_one < 1.0);
    reset_and_reuse(reset_params_tape ? pt : ot);
    tg_clear_error();
    if (reset_params_tape) {
        ck_assert_status(tg_optimizer_step(o), TG_ESTATE,
                         "tg_optimizer_step: parameter 0 was freed by a "
                         "reset of its tape");
    } else {
        ck_assert_status(tg_optimizer_step(o), TG_ESTATE,
                         "tg_optimizer_step: optimizer was freed by a reset");
        ck_assert_status(tg_optimizer_set_lr(o, 0.5), TG_ESTATE,
                         "tg_optimizer_set_lr: optimizer was freed");
        ck_assert(isnan(tg_optimizer_lr(o)));
        ck_assert_message("tg_optimizer_lr: optimizer was freed");
        ck_assert_close(tg_item(x), after_one, 0, 0);   /* unchanged */
    }
    tg_tape_free(pt);
    tg_tape_free(ot);
}

START_TEST(optimizer_after_reset_is_estate)
{
    for (int kind = 0; kind < 3; kind++) {
        optimizer_case(kind, true);
        optimizer_case(kind, false);
    }
}
END_TEST

static tg_tensor *relu_act(tg_tape *t, tg_tensor *x) { return tg_relu(t, x); }

START_TEST(mlp_after_reset_is_estate)
{
    tg_tape *t = tg_tape_new(), *step = tg_tape_new();
    tg_rng rng;
    ck_assert_int_eq(tg_rng_seed(&rng, 1, 0), TG_OK);
    int64_t widths[3] = {2, 4, 1};
    tg_mlp *m = tg_mlp_new(t, NULL, &rng, TG_F64, 3, widths, relu_act);
    ck_assert_ptr_nonnull(m);
    reset_and_reuse(t);
    tg_clear_error();
    int64_t shape[2] = {1, 2};
    tg_tensor *x = tg_zeros(step, TG_F64, 2, shape);
    ck_assert_null_status(tg_mlp_forward(step, m, x), TG_ESTATE,
                          "tg_mlp_forward: network was freed by a reset");
    ck_assert_null_status(tg_mlp_layer(m, 0), TG_ESTATE,
                          "tg_mlp_layer: network was freed");
    tg_clear_error();
    ck_assert_int_eq(tg_mlp_layers(m), 0);
    ck_assert_message("tg_mlp_layers: network was freed");
    tg_tape_free(t);
    tg_tape_free(step);
}
END_TEST

START_TEST(npz_after_reset_is_estate)
{
    char path[] = "/tmp/tg_lifecycle_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    tg_tape *t = tg_tape_new();
    tg_tensor *a = tg_scalar(t, TG_F64, 4.0);
    const char *names[1] = {"a"};
    const tg_tensor *arrays[1] = {a};
    ck_assert_int_eq(tg_npz_save(path, 1, names, arrays), TG_OK);
    const tg_npz *z = tg_npz_load(t, path);
    ck_assert_ptr_nonnull(z);
    ck_assert_close(tg_item(tg_npz_get(z, "a")), 4.0, 0, 0);
    reset_and_reuse(t);
    tg_clear_error();
    ck_assert_null_status(tg_npz_get(z, "a"), TG_ESTATE,
                          "tg_npz_get: archive was freed by a reset");
    tg_tape_free(t);
    remove(path);
}
END_TEST

/* An entry of tape b reads a leaf of tape a; a is reset and reused. */
START_TEST(print_and_dot_refuse_stale_inputs)
{
    tg_tape *a = tg_tape_new(), *b = tg_tape_new();
    tg_tensor *x = scalar_leaf(a, 2.0);
    ck_assert_ptr_nonnull(tg_mul(b, x, x));
    reset_and_reuse(a);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    tg_clear_error();
    ck_assert_status(tg_tape_print(b, f), TG_ESTATE,
                     "tg_tape_print: tensor was freed by a reset of its tape "
                     "(input 0 of mul)");
    ck_assert_int_eq(ftell(f), 0);
    ck_assert_status(tg_tape_dot(b, f), TG_ESTATE,
                     "tg_tape_dot: tensor was freed by a reset of its tape "
                     "(input 0 of mul)");
    ck_assert_int_eq(ftell(f), 0);
    fclose(f);
    tg_tape_free(a);
    tg_tape_free(b);
}
END_TEST

/* ---- class 4: a kept gradient reads the same through every call -------- */

/* What g holds, read by an op (tg_sum), by tg_npy_save and tg_npy_load,
 * by tg_value_at and, last (it writes out what is pending), tg_data_f64:
 * all must agree with want. */
static void reads_agree(tg_tape *t, tg_tensor *g, const double *want)
{
    ck_assert_close(tg_item(tg_sum(t, g)), want[0] + want[1] + want[2], 0,
                    1e-15);
    char path[] = "/tmp/tg_lifecycle_g_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(tg_npy_save(path, g), TG_OK);
    tg_tensor *back = tg_npy_load(t, path);
    remove(path);
    ck_assert_ptr_nonnull(back);
    for (int i = 0; i < 3; i++) {
        ck_assert_close(tg_data_f64(back)[i], want[i], 0, 0);
        ck_assert_close(tg_value_at(g, i), want[i], 0, 0);
        ck_assert_close(tg_data_f64(g)[i], want[i], 0, 0);
    }
}

START_TEST(kept_gradient_after_zero_grad)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, (double[]){1, 2, 3});
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, x, x))), TG_OK);
    tg_tensor *g = tg_grad(x);
    reads_agree(t, g, (double[]){2, 4, 6});
    /* g an input of mul, recorded before tg_zero_grad: tg_tape_dot draws
     * it with its values, read without writing the pending zeros out */
    tg_tensor *w = scalar_leaf(t, 1.0);
    ck_assert_ptr_nonnull(tg_mul(t, g, w));
    ck_assert_int_eq(tg_zero_grad(x), TG_OK);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_tape_dot(t, f), TG_OK);
    char text[8192];
    rewind(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "value [0, 0, 0]") != NULL, "%s", text);
    reads_agree(t, g, (double[]){0, 0, 0});
    tg_tape_free(t);
}
END_TEST

/* A second backward that leaves x's gradient one value (sum's gradient is
 * uniform, kept as one number until read): a kept g sees it everywhere. */
START_TEST(kept_gradient_after_second_backward)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, (double[]){1, 2, 3});
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul_scalar(t, x, 3.0))),
                     TG_OK);
    tg_tensor *g = tg_grad(x);
    reads_agree(t, g, (double[]){3, 3, 3});
    ck_assert_int_eq(tg_zero_grad(x), TG_OK);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);
    reads_agree(t, g, (double[]){1, 1, 1});
    ck_assert_int_eq(tg_backward(t, tg_sum(t, x)), TG_OK);  /* accumulates */
    reads_agree(t, g, (double[]){2, 2, 2});
    tg_tape_free(t);
}
END_TEST

/* ---- class 5: a dependency recorded on another tape --------------------- */

/* y = exp(x) on tape a, then s = sum(y * y) on tape b: backward on b
 * cannot reach x through a's entry. Refused, rather than OK with x's
 * gradient NULL; a leaf of another tape (a parameter) is fine, and so is
 * an intermediate that needs no gradient. */
START_TEST(intermediate_of_another_tape_is_refused)
{
    tg_tape *a = tg_tape_new(), *b = tg_tape_new();
    tg_tensor *x = scalar_leaf(a, 0.5);
    tg_tensor *y = tg_exp(a, x);
    tg_tensor *s = tg_sum(b, tg_mul(b, y, y));
    ck_assert_status(tg_backward(b, s), TG_ESTATE,
                     "tg_backward: input 0 of mul (#0 () f64) was made by an "
                     "op recorded on another tape");
    ck_assert_ptr_null(tg_grad(x));
    /* a leaf of a: followed */
    ck_assert_int_eq(tg_backward(b, tg_mul(b, x, x)), TG_OK);
    ck_assert_close(tg_item(tg_grad(x)), 1.0, 0, 0);
    /* detached: nothing to follow */
    tg_tensor *yd = tg_detach(b, y);
    tg_tensor *w = scalar_leaf(b, 2.0);
    ck_assert_int_eq(tg_backward(b, tg_mul(b, yd, w)), TG_OK);
    ck_assert_close(tg_item(tg_grad(w)), exp(0.5), 1e-15, 0);
    tg_tape_free(a);
    tg_tape_free(b);
}
END_TEST

/* ---- class 6: in-place writes after recording ---------------------------- */

/* y = x * x saves x; writing x afterwards would give 2 * (new x): refused,
 * naming the op and the input, and x's gradient untouched. */
START_TEST(write_to_saved_input_is_refused)
{
    tg_tape *t = tg_tape_new();
    int64_t n = 3;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, (double[]){1, 2, 3});
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    ck_assert_int_eq(tg_set_name(x, "x"), TG_OK);
    tg_tensor *s = tg_sum(t, tg_mul(t, x, x));
    tg_mut_f64(x)[0] = 10.0;
    ck_assert_status(tg_backward(t, s), TG_ESTATE,
                     "tg_backward: input 0 of mul (x (3,) f64) was modified in "
                     "place (tg_mut_*) after mul was recorded");
    ck_assert_ptr_null(tg_grad(x));
    /* recorded again after the write, it is fine */
    s = tg_sum(t, tg_mul(t, x, x));
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    ck_assert_close(tg_data_f64(tg_grad(x))[0], 20.0, 0, 0);
    tg_tape_free(t);
}
END_TEST

/* An op's output written after recording (exp's backward reads it), and a
 * write to the input of an op whose backward may read it: any input
 * counts, since tapegrad does not know which ones an op's backward
 * reads. tg_vjp refuses the same. */
START_TEST(write_to_output_or_any_input_is_refused)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = scalar_leaf(t, 0.5);
    tg_tensor *y = tg_exp(t, x);
    tg_tensor *s = tg_sum(t, y);
    tg_mut_f64(y)[0] = 7.0;
    ck_assert_status(tg_backward(t, s), TG_ESTATE,
                     "input 0 of sum (#0 () f64) was modified in place");
    tg_tensor *z = tg_exp(t, x), *zs = tg_sum(t, z);
    tg_mut_f64(z)[0] = 7.0;
    tg_tensor *seed = tg_scalar(t, TG_F64, 1.0);
    tg_tensor *gx = NULL;
    tg_clear_error();
    ck_assert_int_lt(tg_vjp(t, 1, &zs, &seed, 1, &x, &gx, NULL), 0);
    ck_assert_message("was modified in place");
    tg_tape_free(t);
}
END_TEST

/* The optimizer's own writes come after backward: a training loop is
 * unaffected; reading through tg_data_* is not a write. */
START_TEST(reads_and_optimizer_steps_are_not_writes)
{
    tg_tape *pt = tg_tape_new(), *step = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_tensor *w = scalar_leaf(pt, 1.0);
    ck_assert_int_eq(tg_params_add(p, w), TG_OK);
    tg_optimizer *o = tg_sgd_new(pt, p, &(tg_sgd_options){0.1, 0, 0, 0,
                                                          false});
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tg_params_zero_grad(p), TG_OK);
        tg_tensor *loss = tg_mul(step, w, w);
        ck_assert_ptr_nonnull(tg_data_f64(w));
        ck_assert_int_eq(tg_backward(step, loss), TG_OK);
        ck_assert_int_eq(tg_optimizer_step(o), TG_OK);
        tg_tape_reset(step);
    }
    ck_assert_close(tg_item(w), 0.8 * 0.8 * 0.8, 1e-15, 0);
    tg_tape_free(pt);
    tg_tape_free(step);
}
END_TEST

/* ---- class 12: smaller contract points ---------------------------------- */

/* A user op whose forward returns a tensor that existed before the call
 * (ud points at it) instead of a new one: refused, and the tensor is left
 * as it was (a leaf stays a leaf; recording would have made it the op's
 * output). */
static tg_tensor *returned;
static tg_tensor *existing_forward(tg_op_ctx *c)
{
    (void)c;
    return returned;
}
static int noop_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                         tg_tensor *const *gx)
{
    (void)c; (void)y; (void)gy; (void)gx;
    return TG_OK;
}

START_TEST(forward_returning_an_existing_tensor_is_refused)
{
    static const tg_op op = {.name = "lazy", .arity = 1,
                             .forward = existing_forward,
                             .backward = noop_backward};
    tg_tape *t = tg_tape_new();
    tg_tensor *x = scalar_leaf(t, 1.0), *w = scalar_leaf(t, 2.0);
    returned = w;
    ck_assert_null_status(tg_apply(t, &op, 1, &x, NULL), TG_EINVAL,
                          "tg_lazy: forward returned a tensor that existed "
                          "before the call (a leaf)");
    ck_assert_int_eq(tg_tape_size(t), 0);
    ck_assert_int_eq(tg_set_requires_grad(w, false), TG_OK);  /* a leaf */
    returned = tg_exp(t, x);
    ck_assert_null_status(tg_apply(t, &op, 1, &x, NULL), TG_EINVAL,
                          "(an earlier op's result)");
    ck_assert_int_eq(tg_tape_size(t), 1);
    tg_tape_free(t);
}
END_TEST

/* fn reads a weight w (a leaf that requires grad) through its userdata:
 * tg_gradcheck must not add to w's gradient. */
static tg_tensor *weighted(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return tg_mul(t, in[0], (tg_tensor *)ud);
}

START_TEST(gradcheck_leaves_other_leaves_gradients_alone)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = scalar_leaf(t, 0.5), *w = scalar_leaf(t, 3.0);
    ck_assert_int_eq(tg_backward(t, tg_mul(t, w, w)), TG_OK);  /* grad 6 */
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(weighted, w, 1, &x, NULL, &r), TG_OK);
    ck_assert(r.passed);
    ck_assert_close(tg_item(tg_grad(w)), 6.0, 0, 0);
    ck_assert(tg_requires_grad(w));
    tg_tape_free(t);
}
END_TEST

/* fn may reset the tape it is given before building on it (issue 17,
 * class 2): tg_gradcheck kept its own bookkeeping in that tape, read it
 * back freed (UBSan: an invalid bool) and gave x a wrong requires_grad. */
static tg_tensor *resets_its_tape(tg_tape *t, int n, tg_tensor *const *in,
                                  void *ud)
{
    (void)n, (void)ud;
    tg_tape_reset(t);
    tg_zeros(t, TG_F64, 1, (int64_t[]){256}); /* reuse what was freed */
    return tg_tanh(t, in[0]);
}

START_TEST(gradcheck_fn_may_reset_its_tape)
{
    tg_tape *t = tg_tape_new();
    int64_t s[1] = {3};
    tg_tensor *x = tg_from_data(t, TG_F64, 1, s, (double[]){0.1, -0.5, 2});
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradcheck(resets_its_tape, NULL, 1, &x, NULL, &r),
                     TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert(!tg_requires_grad(x));
    ck_assert_close(tg_data_f64(x)[1], -0.5, 0, 0);
    tg_tape_free(t);
}
END_TEST

/* An empty list has no dtype to give the penalty: refused rather than an
 * f32 zero that an f64 loss cannot add. */
START_TEST(l2_penalty_of_an_empty_list_is_refused)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    ck_assert_null_status(tg_l2_penalty(t, p, 0.1), TG_EINVAL,
                          "tg_l2_penalty: the parameter list is empty");
    tg_tape_free(t);
}
END_TEST

/* tg_item's NaN: told apart from a failure by the status (a success
 * leaves it alone, as errno). */
START_TEST(item_nan_is_told_apart_by_the_status)
{
    tg_tape *t = tg_tape_new();
    tg_clear_error();
    ck_assert(isnan(tg_item(tg_scalar(t, TG_F64, NAN))));
    ck_assert_int_eq(tg_last_status(), TG_OK);
    int64_t n = 2;
    ck_assert(isnan(tg_item(tg_zeros(t, TG_F64, 1, &n))));
    ck_assert_int_eq(tg_last_status(), TG_ESHAPE);
    tg_tape_free(t);
}
END_TEST

START_TEST(params_refuse_a_tensor_twice)
{
    tg_tape *t = tg_tape_new();
    tg_params *p = tg_params_new(t);
    tg_tensor *x = scalar_leaf(t, 1.0);
    ck_assert_int_eq(tg_params_add(p, x), TG_OK);
    ck_assert_status(tg_params_add(p, x), TG_EINVAL,
                     "tg_params_add: the tensor is already parameter 0");
    ck_assert_int_eq(tg_params_count(p), 1);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tg_test_tcase("stale_handles");
    tcase_add_test(tc, params_after_reset_is_estate);
    tcase_add_test(tc, optimizer_after_reset_is_estate);
    tcase_add_test(tc, mlp_after_reset_is_estate);
    tcase_add_test(tc, npz_after_reset_is_estate);
    tcase_add_test(tc, print_and_dot_refuse_stale_inputs);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("kept_gradients");
    tcase_add_test(tc, kept_gradient_after_zero_grad);
    tcase_add_test(tc, kept_gradient_after_second_backward);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("other_tapes");
    tcase_add_test(tc, intermediate_of_another_tape_is_refused);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("in_place_writes");
    tcase_add_test(tc, write_to_saved_input_is_refused);
    tcase_add_test(tc, write_to_output_or_any_input_is_refused);
    tcase_add_test(tc, reads_and_optimizer_steps_are_not_writes);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("contract_points");
    tcase_add_test(tc, params_refuse_a_tensor_twice);
    tcase_add_test(tc, forward_returning_an_existing_tensor_is_refused);
    tcase_add_test(tc, l2_penalty_of_an_empty_list_is_refused);
    tcase_add_test(tc, gradcheck_leaves_other_leaves_gradients_alone);
    tcase_add_test(tc, gradcheck_fn_may_reset_its_tape);
    tcase_add_test(tc, item_nan_is_told_apart_by_the_status);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
