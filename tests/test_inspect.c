/*
 * test_inspect.c — names, the printed tape, the dot picture, backward's
 * trace and anomaly mode.
 */
#include "tg_test.h"

#include <stdio.h>
#include <stdlib.h>

/* Everything written to f so far, as a malloc'd string. */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    return s;
}

static tg_tensor *seed(tg_tape *t, tg_tensor **x)
{
    double v[3] = {-1, 0.5, 2};
    int64_t n = 3;
    *x = tg_from_data(t, TG_F64, 1, &n, v);
    tg_set_requires_grad(*x, true);
    tg_set_name(*x, "x");
    return tg_sum(t, tg_relu(t, *x));
}

START_TEST(names_are_copied)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F32, 1);
    char name[8] = "weight";
    ck_assert_int_eq(tg_set_name(x, name), TG_OK);
    name[0] = 'W';
    ck_assert_str_eq(tg_name(x), "weight");
    ck_assert_status(tg_set_name(x, NULL), TG_EINVAL, "name is NULL");
    ck_assert_ptr_null(tg_name(NULL));
    tg_tape_free(t);
}
END_TEST

START_TEST(print_lists_entries_values_and_grads)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x;
    tg_tensor *s = seed(t, &x);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    FILE *f = tmpfile();
    ck_assert_int_eq(tg_tape_print(t, f), TG_OK);
    char *out = slurp(f);
    ck_assert_msg(strstr(out, "tape: 2 entries") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "#0    relu          (x (3,) f64) -> #0 (3,) "
                              "f64") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "value [0, 0.5, 2]") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "grad  [1, 1, 1]") != NULL, "%s", out);
    free(out);
    fclose(f);
    ck_assert_status(tg_tape_print(NULL, stdout), TG_EINVAL, "NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(dot_draws_tensors_and_ops)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x;
    ck_assert_int_eq(tg_backward(t, seed(t, &x)), TG_OK);
    FILE *f = tmpfile();
    ck_assert_int_eq(tg_tape_dot(t, f), TG_OK);
    char *out = slurp(f);
    ck_assert(strncmp(out, "digraph tape {", 14) == 0);
    ck_assert_msg(strstr(out, "op0 [label=\"relu\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "op1 [label=\"sum\"") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "x (3,) f64 | value [-1, 0.5, 2] | grad [0, 1, "
                              "1]") != NULL, "%s", out);
    ck_assert(strstr(out, "-> op1;") != NULL);
    ck_assert(out[strlen(out) - 2] == '}');
    free(out);
    fclose(f);
    tg_tape_free(t);
}
END_TEST

/* A name cannot forge a line of tg_tape_print or a trace (issue 17, class
 * 8): newlines, control bytes, malformed UTF-8 and backslashes are
 * escaped; well-formed UTF-8 is kept. */
START_TEST(print_escapes_names)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 2.0);
    tg_set_requires_grad(x, true);
    tg_set_name(x, "x\n#9    forged\r\x01\xff\\ caf\xc3\xa9");
    tg_tensor *y = tg_relu(t, x);
    FILE *f = tmpfile();
    tg_tape_set_trace(t, f);
    ck_assert_int_eq(tg_tape_print(t, f), TG_OK);
    ck_assert_int_eq(tg_backward(t, y), TG_OK);
    char *out = slurp(f);
    ck_assert_msg(strstr(out, "(x\\n#9    forged\\r\\x01\\xff\\\\ caf\xc3\xa9 () "
                              "f64) -> #0") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\n#9") == NULL, "%s", out);
    int lines = 0;
    for (const char *c = out; *c; c++)
        lines += *c == '\n';
    /* print: a header and three lines per entry; trace: two lines. */
    ck_assert_msg(lines == 1 + 3 + 2, "%d lines:\n%s", lines, out);
    free(out);
    fclose(f);
    tg_tape_free(t);
}
END_TEST

START_TEST(trace_shows_each_step)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x;
    tg_tensor *s = seed(t, &x);
    FILE *f = tmpfile();
    tg_tape_set_trace(t, f);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    char *out = slurp(f);
    const char *sum_step = strstr(out, "backward #1 sum: d root / d #1 () f64 "
                                       "= [1]");
    const char *relu_step = strstr(out, "backward #0 relu");
    ck_assert_msg(sum_step != NULL && relu_step > sum_step, "%s", out);
    ck_assert_msg(strstr(out, "passes to input 0 (x (3,) f64): [0, 1, 1]"),
                  "%s", out);
    free(out);
    fclose(f);
    tg_tape_free(t);
}
END_TEST

START_TEST(anomaly_catches_a_forward_nan)
{
    tg_tape *t = tg_tape_new();
    double v[2] = {INFINITY, -INFINITY};
    int64_t n = 2;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, v);
    ck_assert_ptr_nonnull(tg_sum(t, x)); /* off: NaN is a value like any */
    tg_tape_set_anomaly(t, true);
    ck_assert_null_msg(tg_sum(t, x), "anomaly: the output of sum (tape entry "
                                     "0, inputs (2,)) is NaN at element 0");
    tg_tape_free(t);
}
END_TEST

static tg_tensor *copy_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        memcpy(tg_mut_f64(y), tg_data_f64(c->in[0]),
               (size_t)tg_numel(y) * sizeof(double));
    return y;
}

/* A broken gradient: infinite at element 1. */
static int broken_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y;
    for (int64_t i = 0; i < tg_numel(gy); i++)
        tg_mut_f64(gx[0])[i] = i == 1 ? INFINITY : tg_data_f64(gy)[i];
    return TG_OK;
}

START_TEST(anomaly_catches_a_backward_infinity)
{
    static const tg_op broken = {.name = "broken", .arity = 1,
                                 .forward = copy_forward,
                                 .backward = broken_backward};
    tg_tape *t = tg_tape_new();
    tg_tensor *x;
    seed(t, &x);
    tg_tensor *y = tg_apply(t, &broken, 1, &x, NULL);
    tg_tensor *s = tg_sum(t, y);
    ck_assert_int_eq(tg_backward(t, s), TG_OK);
    tg_tape_set_anomaly(t, true);
    ck_assert_status(tg_backward(t, s), TG_ENUMERIC,
                     "anomaly: the gradient of input 0 of broken (tape entry "
                     "2, inputs (3,)) is inf at element 1");
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inspect");
    TCase *tc = tg_test_tcase("show");
    tcase_add_test(tc, names_are_copied);
    tcase_add_test(tc, print_lists_entries_values_and_grads);
    tcase_add_test(tc, dot_draws_tensors_and_ops);
    tcase_add_test(tc, trace_shows_each_step);
    tcase_add_test(tc, print_escapes_names);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("anomaly");
    tcase_add_test(tc, anomaly_catches_a_forward_nan);
    tcase_add_test(tc, anomaly_catches_a_backward_infinity);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
