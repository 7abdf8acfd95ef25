/*
 * test_ops_registry.c — every registered op is gradient-checked.
 *
 * The suite walks the op registry: each op must have a case in the table
 * of tests/support/tg_op_cases.c (which test_null_grad.c walks too), or
 * the "every op has a case" test fails, so a new op cannot arrive
 * untested. Each row of the table builds a small graph around its op from
 * random f64 inputs (broadcasting where the op broadcasts) and is run
 * through tg_gradcheck. Detailed value tests live in each op family's own
 * suite; this one is the safety net.
 *
 * The same cases check each op's second derivation, the derivative
 * written with ops (backward_ops, for gradients of gradients): tg_vjp's
 * gradients must equal tg_backward's to 1e-12, recorded or not, and the
 * recorded gradient must itself pass a gradient check (second order).
 * Every registered op must have both derivations ("every op has both"
 * fails otherwise), so each of these runs on every op.
 */
#include "tg_op_cases.h"
#include "tg_test.h"

/* What a row's checks differentiate: the op's call, or for an op whose
 * output carries no gradient, the row's graph around it. */
static tg_tensor *differentiated(const tg_op_case *c, tg_tape *t,
                                 tg_tensor *const *in)
{
    return c->differentiable != NULL ? c->differentiable(t, in)
                                     : c->build(t, in);
}

START_TEST(every_op_has_a_case)
{
    char missing[1024] = "";
    for (int i = 0; i < tg_op_count(); i++) {
        const tg_op *op = tg_op_at(i);
        if (tg_op_case_find(op->name) == NULL && strlen(missing) < 900) {
            strcat(missing, " ");
            strcat(missing, op->name);
        }
    }
    ck_assert_msg(missing[0] == '\0', "registered ops without a gradient "
                  "check in tests/support/tg_op_cases.c:%s", missing);
    /* and no row for an op that is not registered */
    for (int i = 0; i < tg_op_n_cases; i++)
        ck_assert_msg(tg_op_find(tg_op_cases[i].name) != NULL,
                      "tests/support/tg_op_cases.c has a row for %s, which "
                      "is not a registered op", tg_op_cases[i].name);
    ck_assert_int_gt(tg_op_count(), 0);
}
END_TEST

static tg_tensor *run_case(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    const tg_op_case *c = ud;
    return differentiated(c, t, in);
}

START_TEST(gradient_of_each_op)
{
    const tg_op_case *c = &tg_op_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1000 + (uint64_t)_i, 3);
    tg_tensor *in[3];
    for (int k = 0; k < c->n; k++) {
        const int64_t *shape = c->shape[k];
        in[k] = c->positive
                    ? tg_rand_uniform(t, &rng, TG_F64, tg_op_case_ndim(shape), shape,
                                      0.5, 2.0)
                    : tg_rand_normal(t, &rng, TG_F64, tg_op_case_ndim(shape), shape,
                                     0.0, 1.0);
    }
    ck_assert_ptr_nonnull(tg_op_find(c->name));
    tg_gradcheck_report r;
    ck_assert_msg(tg_gradcheck(run_case, (void *)c, c->n, in, NULL, &r) ==
                  TG_OK, "%s: %s", c->name, tg_last_error());
    ck_assert_msg(r.passed, "%s: %s", c->name, r.message);
    ck_assert_msg(r.n_checked > 0, "%s checked nothing", c->name);
    tg_tape_free(t);
}
END_TEST

/* Random inputs for case c, on t, requiring grad; and weights for y. */
static void case_inputs(tg_tape *t, const tg_op_case *c, uint64_t seed,
                        tg_tensor **in)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 3);
    for (int k = 0; k < c->n; k++) {
        const int64_t *shape = c->shape[k];
        in[k] = c->positive
                    ? tg_rand_uniform(t, &rng, TG_F64, tg_op_case_ndim(shape), shape,
                                      0.5, 2.0)
                    : tg_rand_normal(t, &rng, TG_F64, tg_op_case_ndim(shape), shape,
                                     0.0, 1.0);
        tg_set_requires_grad(in[k], true);
    }
}

static tg_tensor *weights_like(tg_tape *t, const tg_tensor *y, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 5);
    return tg_rand_normal(t, &rng, TG_F64, tg_ndim(y), tg_shape(y), 0.0, 1.0);
}

/* A new op must come with its derivative written with ops too, so that
 * gradients of gradients reach through every built-in op. */
START_TEST(every_op_has_both)
{
    char missing[1024] = "";
    for (int i = 0; i < tg_op_count(); i++) {
        const tg_op *op = tg_op_at(i);
        if (op->backward == NULL || op->backward_ops == NULL) {
            if (strlen(missing) < 900) {
                strcat(missing, " ");
                strcat(missing, op->name);
            }
        }
    }
    ck_assert_msg(missing[0] == '\0', "registered ops without both a "
                  "backward and a backward_ops:%s", missing);
}
END_TEST

/* The recorded derivative agrees with the fast one, recorded or not. */
START_TEST(recorded_derivative_of_each_op)
{
    const tg_op_case *c = &tg_op_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3], *fast[3], *slow[3];
    case_inputs(t, c, 2000 + (uint64_t)_i, in);
    tg_tensor *y = differentiated(c, t, in);
    ck_assert_msg(y != NULL, "%s: %s", c->name, tg_last_error());
    tg_tensor *w = weights_like(t, y, 7 + (uint64_t)_i);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), TG_OK);
    for (int k = 0; k < c->n; k++)
        fast[k] = tg_grad(in[k]);
    for (int graph = 0; graph < 2; graph++) {
        tg_vjp_options o = tg_vjp_defaults();
        o.create_graph = graph;
        o.unused = TG_UNUSED_ZEROS;
        ck_assert_msg(tg_vjp(t, 1, &y, &w, c->n, in, slow, &o) == TG_OK,
                      "%s: %s", c->name, tg_last_error());
        for (int k = 0; k < c->n; k++)
            for (int64_t e = 0; e < tg_numel(in[k]); e++)
                ck_assert_msg(tg_test_close(tg_value_at(slow[k], e),
                                            fast[k] == NULL /* unused */
                                                ? 0.0
                                                : tg_value_at(fast[k], e),
                                            1e-12, 1e-14),
                              "%s input %d element %lld: tg_vjp %.17g, "
                              "tg_backward %.17g (create_graph %d)", c->name,
                              k, (long long)e, tg_value_at(slow[k], e),
                              fast[k] ? tg_value_at(fast[k], e) : 0.0, graph);
    }
    tg_tape_free(t);
}
END_TEST

/* d/d in of <w, op(in)>, recorded: what a second-order check differentiates. */
typedef struct second_order {
    const tg_op_case *c;
    int wrt;                 /* whose gradient the function returns */
    uint64_t seed;
} second_order;

static tg_tensor *gradient_fn(tg_tape *t, int n, tg_tensor *const *in,
                              void *ud)
{
    const second_order *so = ud;
    tg_tensor *y = differentiated(so->c, t, in), *g[3];
    if (y == NULL)
        return NULL;
    tg_tensor *w = weights_like(t, y, so->seed);
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    o.unused = TG_UNUSED_ZEROS;
    if (tg_vjp(t, 1, &y, &w, n, in, g, &o) != TG_OK)
        return NULL;
    return g[so->wrt];
}

/* The recorded gradient passes a gradient check: second derivatives. */
START_TEST(second_derivative_of_each_op)
{
    const tg_op_case *c = &tg_op_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3];
    case_inputs(t, c, 3000 + (uint64_t)_i, in);
    for (int k = 0; k < c->n; k++) {
        second_order so = {c, k, 11 + (uint64_t)_i};
        tg_gradcheck_report r;
        ck_assert_msg(tg_gradcheck(gradient_fn, &so, c->n, in, NULL, &r) ==
                      TG_OK, "%s: %s", c->name, tg_last_error());
        ck_assert_msg(r.passed, "%s, d/d input %d: %s", c->name, k,
                      r.message);
    }
    tg_tape_free(t);
}
END_TEST

/* Forward mode on every op: <u, J v> from tg_jvp equals <J^T u, v> from
 * tg_vjp, for random u and v. */
START_TEST(jvp_agrees_with_vjp_on_each_op)
{
    const tg_op_case *c = &tg_op_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[3], *v[3], *g[3], *jv;
    case_inputs(t, c, 4000 + (uint64_t)_i, in);
    for (int k = 0; k < c->n; k++)
        v[k] = weights_like(t, in[k], 50 + (uint64_t)(_i * 3 + k));
    tg_tensor *y = differentiated(c, t, in);
    tg_tensor *u = weights_like(t, y, 90 + (uint64_t)_i);
    ck_assert_msg(tg_jvp(t, 1, &y, c->n, in, v, &jv, NULL) == TG_OK, "%s: %s",
                  c->name, tg_last_error());
    tg_vjp_options o = tg_vjp_defaults();
    o.unused = TG_UNUSED_ZEROS;
    ck_assert_int_eq(tg_vjp(t, 1, &y, &u, c->n, in, g, &o), TG_OK);
    double ujv = tg_item(tg_sum(t, tg_mul(t, u, jv))), jtuv = 0;
    for (int k = 0; k < c->n; k++)
        jtuv += tg_item(tg_sum(t, tg_mul(t, g[k], v[k])));
    ck_assert_msg(tg_test_close(ujv, jtuv, 1e-12, 1e-13),
                  "%s: <u, Jv> = %.17g, <J^T u, v> = %.17g", c->name, ujv,
                  jtuv);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_registry");
    TCase *tc = tg_test_tcase("registry");
    tcase_add_test(tc, every_op_has_a_case);
    tcase_add_test(tc, every_op_has_both);
    tcase_add_loop_test(tc, gradient_of_each_op, 0, tg_op_n_cases);
    tcase_add_loop_test(tc, recorded_derivative_of_each_op, 0, tg_op_n_cases);
    tcase_add_loop_test(tc, second_derivative_of_each_op, 0, tg_op_n_cases);
    tcase_add_loop_test(tc, jvp_agrees_with_vjp_on_each_op, 0, tg_op_n_cases);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
