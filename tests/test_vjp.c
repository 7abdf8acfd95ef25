/*
 * test_vjp.c — gradients as tensors (tapegrad/vjp.h): tg_vjp against
 * closed forms to the third order, Hessian-vector products against finite
 * differences of gradients, matmul's shapes, and every bad input (a clear
 * error naming tg_vjp, every result NULL, the tape still usable).
 */
#include "tg_test.h"

static tg_tensor *vec(tg_tape *t, int64_t n, const double *v)
{
    return tg_from_data(t, TG_F64, 1, &n, v);
}

static tg_vjp_options recorded(void)
{
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = true;
    return o;
}

/* tanh''' at x by three nested tg_vjp calls; .grad stays untouched. */
START_TEST(third_derivative_of_tanh)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 0.7);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_tanh(t, x), *d1, *d2, *d3;
    tg_vjp_options o = recorded();
    ck_assert_int_eq(tg_vjp(t, 1, &y, NULL, 1, &x, &d1, &o), TG_OK);
    ck_assert_int_eq(tg_vjp(t, 1, &d1, NULL, 1, &x, &d2, &o), TG_OK);
    ck_assert_int_eq(tg_vjp(t, 1, &d2, NULL, 1, &x, &d3, NULL), TG_OK);
    double th = tanh(0.7), s = 1 - th * th;
    ck_assert_close(tg_item(d1), s, 1e-14, 0);
    ck_assert_close(tg_item(d2), -2 * th * s, 1e-14, 0);
    ck_assert_close(tg_item(d3), -2 * s * s + 4 * th * th * s, 1e-13, 0);
    ck_assert_ptr_null(tg_grad(x));
    tg_tape_free(t);
}
END_TEST

/* f(x) = sum(tanh(W x)) * sum(x) + sum(x^3): its gradient (recorded with
 * graph). */
static tg_tensor *grad_f(tg_tape *t, tg_tensor *w, tg_tensor *x, bool graph)
{
    int64_t col[2] = {3, 1};
    tg_tensor *wx = tg_matmul(t, w, tg_reshape(t, x, 2, col));
    tg_tensor *f = tg_add(t, tg_sum(t, tg_mul(t, tg_tanh(t, wx),
                                              tg_sum(t, x))),
                          tg_sum(t, tg_pow(t, x, 3)));
    tg_tensor *g;
    tg_vjp_options o = tg_vjp_defaults();
    o.create_graph = graph;
    if (tg_vjp(t, 1, &f, NULL, 1, &x, &g, &o) != TG_OK)
        return NULL;
    return g;
}

/*
 * H v by differentiating <grad f, v>, against central differences of the
 * gradient: (grad f(x + h v) - grad f(x - h v)) / 2h.
 */
START_TEST(hessian_vector_product)
{
    tg_tape *t = tg_tape_new();
    double wv[] = {0.3, -0.2, 0.5, 0.1, 0.4, -0.6, -0.3, 0.2, 0.7};
    int64_t ws[2] = {3, 3};
    tg_tensor *w = tg_from_data(t, TG_F64, 2, ws, wv);
    double xv[] = {0.2, -0.4, 0.9}, vv[] = {1.0, -0.5, 0.25};
    tg_tensor *x = vec(t, 3, xv), *v = vec(t, 3, vv);
    tg_set_requires_grad(x, true);
    tg_tensor *g = grad_f(t, w, x, true), *hv;
    ck_assert_ptr_nonnull(g);
    tg_tensor *gv = tg_sum(t, tg_mul(t, g, v));
    ck_assert_int_eq(tg_vjp(t, 1, &gv, NULL, 1, &x, &hv, NULL), TG_OK);
    /* The same by tg_backward from the recorded gradient: x.grad = H v. */
    ck_assert_int_eq(tg_backward(t, gv), TG_OK);
    double h = 1e-5;
    for (int i = 0; i < 3; i++) {
        double xp[3], xm[3];
        for (int k = 0; k < 3; k++) {
            xp[k] = xv[k] + h * vv[k];
            xm[k] = xv[k] - h * vv[k];
        }
        tg_tape *u = tg_tape_new();
        tg_tensor *a = vec(u, 3, xp), *b = vec(u, 3, xm);
        tg_set_requires_grad(a, true);
        tg_set_requires_grad(b, true);
        double num = (tg_value_at(grad_f(u, w, a, false), i) -
                      tg_value_at(grad_f(u, w, b, false), i)) / (2 * h);
        ck_assert_close(tg_value_at(hv, i), num, 1e-7, 1e-9);
        ck_assert_close(tg_value_at(tg_grad(x), i), tg_value_at(hv, i),
                        1e-15, 0);
        tg_tape_free(u);
    }
    tg_tape_free(t);
}
END_TEST

/* tg_hvp gives what differentiating <grad f, v> by hand gives. */
START_TEST(hvp_matches_two_vjps)
{
    tg_tape *t = tg_tape_new();
    double wv[] = {0.3, -0.2, 0.5, 0.1, 0.4, -0.6, -0.3, 0.2, 0.7};
    int64_t ws[2] = {3, 3};
    tg_tensor *w = tg_from_data(t, TG_F64, 2, ws, wv);
    double xv[] = {0.2, -0.4, 0.9}, vv[] = {1.0, -0.5, 0.25};
    tg_tensor *x = vec(t, 3, xv), *v = vec(t, 3, vv), *hv, *want;
    tg_set_requires_grad(x, true);
    int64_t col[2] = {3, 1};
    tg_tensor *f = tg_add(t, tg_sum(t, tg_mul(t, tg_tanh(t, tg_matmul(t, w,
                                    tg_reshape(t, x, 2, col))), tg_sum(t, x))),
                          tg_sum(t, tg_pow(t, x, 3)));
    ck_assert_int_eq(tg_hvp(t, f, 1, &x, &v, &hv, NULL), TG_OK);
    tg_tensor *g = grad_f(t, w, x, true);
    tg_tensor *gv = tg_sum(t, tg_mul(t, g, v));
    ck_assert_int_eq(tg_vjp(t, 1, &gv, NULL, 1, &x, &want, NULL), TG_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_close(tg_value_at(hv, i), tg_value_at(want, i), 1e-14, 0);
    tg_tape_free(t);
}
END_TEST

/* f(x) = [x0 x1, exp(x1) + x0^2]: J v by tg_jvp, against central
 * differences. */
static tg_tensor *two_outputs(tg_tape *t, tg_tensor *x, tg_tensor **y2)
{
    double e0[] = {1, 0}, e1[] = {0, 1};
    tg_tensor *x0 = tg_sum(t, tg_mul(t, x, vec(t, 2, e0)));
    tg_tensor *x1 = tg_sum(t, tg_mul(t, x, vec(t, 2, e1)));
    *y2 = tg_add(t, tg_exp(t, x1), tg_mul(t, x0, x0));
    return tg_mul(t, x0, x1);
}

/* An output that is also the input (an intermediate h): its J v is v
 * itself, beside exp(h) v for y = exp(h); and a direction with a history
 * of its own is a constant of the product (H v, not H v + (dv/dx)^T g). */
START_TEST(jvp_of_an_input_and_directions_with_history)
{
    tg_tape *t = tg_tape_new();
    double xv[] = {0.3, -0.8}, vv[] = {0.7, 0.2};
    tg_tensor *x = vec(t, 2, xv), *v = vec(t, 2, vv), *jv[2];
    tg_set_requires_grad(x, true);
    tg_tensor *h = tg_tanh(t, x), *ys[2] = {h, tg_exp(t, h)};
    ck_assert_int_eq(tg_jvp(t, 2, ys, 1, &h, &v, jv, NULL), TG_OK);
    for (int k = 0; k < 2; k++) {
        ck_assert_close(tg_value_at(jv[0], k), vv[k], 1e-15, 0);
        ck_assert_close(tg_value_at(jv[1], k), exp(tanh(xv[k])) * vv[k],
                        1e-14, 0);
    }
    tg_tensor *f = tg_sum(t, tg_exp(t, x)), *w = tg_mul_scalar(t, x, 2.0);
    tg_tensor *hv;
    ck_assert_int_eq(tg_hvp(t, f, 1, &x, &w, &hv, NULL), TG_OK);
    for (int k = 0; k < 2; k++)
        ck_assert_close(tg_value_at(hv, k), exp(xv[k]) * 2 * xv[k], 1e-14, 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(jvp_against_finite_differences)
{
    tg_tape *t = tg_tape_new();
    double xv[] = {0.3, -0.8}, vv[] = {0.7, 0.2};
    tg_tensor *x = vec(t, 2, xv), *v = vec(t, 2, vv), *ys[2], *jv[2];
    tg_set_requires_grad(x, true);
    ys[0] = two_outputs(t, x, &ys[1]);
    ck_assert_int_eq(tg_jvp(t, 2, ys, 1, &x, &v, jv, NULL), TG_OK);
    double h = 1e-6, p[2], m[2];
    for (int k = 0; k < 2; k++) {
        p[k] = xv[k] + h * vv[k];
        m[k] = xv[k] - h * vv[k];
    }
    tg_tensor *yp[2], *ym[2];
    yp[0] = two_outputs(t, vec(t, 2, p), &yp[1]);
    ym[0] = two_outputs(t, vec(t, 2, m), &ym[1]);
    for (int j = 0; j < 2; j++)
        ck_assert_close(tg_item(jv[j]),
                        (tg_item(yp[j]) - tg_item(ym[j])) / (2 * h), 1e-8,
                        1e-10);
    /* A NULL tangent counts as zeros. */
    tg_tensor *none = NULL;
    ck_assert_int_eq(tg_jvp(t, 2, ys, 1, &x, &none, jv, NULL), TG_OK);
    ck_assert(tg_item(jv[0]) == 0 && tg_item(jv[1]) == 0);
    tg_tape_free(t);
}
END_TEST

START_TEST(jvp_and_hvp_bad_input)
{
    tg_tape *t = tg_tape_new();
    double xv[] = {0.3, -0.8};
    tg_tensor *x = vec(t, 2, xv), *jv = x, *hv = x;
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_sum(t, tg_exp(t, x)), *s = tg_scalar(t, TG_F64, 1);
    ck_assert_status(tg_jvp(t, 1, &y, 1, &x, &s, &jv, NULL), TG_ESHAPE,
                     "tg_jvp: tangent 0 has shape (); input 0 has (2,)");
    ck_assert_ptr_null(jv);
    ck_assert_status(tg_jvp(t, 1, &y, 1, &x, NULL, &jv, NULL), TG_EINVAL,
                     "tg_jvp: tangents is NULL");
    ck_assert_status(tg_hvp(t, y, 1, &x, &s, &hv, NULL), TG_ESHAPE,
                     "tg_hvp: vector 0 has shape (); input 0 has (2,)");
    ck_assert_ptr_null(hv);
    tg_tensor *v = tg_apply(t, tg_op_find("relu"), 1, &x, NULL);
    /* With grad disabled the product still works (its inner passes are
     * its own) and has no history; create_graph is refused. */
    tg_vjp_options o = recorded();
    tg_tape_set_grad_enabled(t, false);
    ck_assert_status(tg_hvp(t, y, 1, &x, &v, &hv, &o), TG_EINVAL,
                     "tg_hvp: create_graph on a tape with grad disabled");
    ck_assert_int_eq(tg_hvp(t, y, 1, &x, &v, &hv, NULL), TG_OK);
    ck_assert(!tg_tape_grad_enabled(t) && !tg_requires_grad(hv));
    ck_assert_close(tg_value_at(hv, 0), exp(0.3) * tg_value_at(v, 0), 1e-15,
                    0);
    tg_tape_set_grad_enabled(t, true);
    ck_assert_int_eq(tg_hvp(t, y, 1, &x, &v, &hv, NULL), TG_OK);
    tg_tape_free(t);
}
END_TEST

/* A loop over derivative orders reuses one array for the outputs and the
 * gradients (and tg_hvp one for the inputs and the products). */
START_TEST(results_may_alias_the_arguments)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 0.3);
    tg_set_requires_grad(x, true);
    tg_tensor *d[1] = {tg_tanh(t, x)};
    tg_vjp_options o = recorded();
    for (int order = 1; order <= 3; order++)
        ck_assert_int_eq(tg_vjp(t, 1, d, NULL, 1, &x, d, &o), TG_OK);
    double th = tanh(0.3), s = 1 - th * th;
    ck_assert_close(tg_item(d[0]), -2 * s * s + 4 * th * th * s, 1e-13, 0);
    tg_tensor *in[1] = {x}, *v = tg_scalar(t, TG_F64, 1.0);
    tg_tensor *f = tg_sum(t, tg_tanh(t, x));
    ck_assert_int_eq(tg_hvp(t, f, 1, in, &v, in, NULL), TG_OK);
    ck_assert_close(tg_item(in[0]), -2 * th * s, 1e-14, 0);
    tg_tensor *y[1] = {tg_exp(t, x)};
    ck_assert_int_eq(tg_jvp(t, 1, y, 1, &x, &v, y, NULL), TG_OK);
    ck_assert_close(tg_item(y[0]), exp(0.3), 1e-15, 0);
    tg_tape_free(t);
}
END_TEST

/* matmul's recorded derivative for every shape rule, against backward. */
START_TEST(matmul_shapes)
{
    static const int64_t shapes[][2][4] = {
        {{4}, {4}},          {{4}, {4, 5}},        {{3, 4}, {4}},
        {{3, 4}, {4, 5}},    {{2, 3, 4}, {4, 5}},  {{2, 1, 3, 4}, {5, 4, 6}},
        {{4}, {2, 4, 5}},    {{2, 3, 4}, {4}},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        tg_tape *t = tg_tape_new();
        tg_rng rng;
        tg_rng_seed(&rng, 40 + s, 1);
        tg_tensor *in[2];
        for (int k = 0; k < 2; k++) {
            int nd = 0;
            while (nd < 4 && shapes[s][k][nd] > 0)
                nd++;
            in[k] = tg_rand_normal(t, &rng, TG_F64, nd, shapes[s][k], 0, 1);
            tg_set_requires_grad(in[k], true);
        }
        tg_tensor *y = tg_matmul(t, in[0], in[1]), *g[2];
        tg_tensor *w = tg_rand_normal(t, &rng, TG_F64, tg_ndim(y), tg_shape(y),
                                      0, 1);
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), TG_OK);
        tg_vjp_options o = recorded();
        ck_assert_msg(tg_vjp(t, 1, &y, &w, 2, in, g, &o) == TG_OK, "%zu: %s",
                      s, tg_last_error());
        for (int k = 0; k < 2; k++)
            for (int64_t e = 0; e < tg_numel(in[k]); e++)
                ck_assert_close(tg_value_at(g[k], e),
                                tg_value_at(tg_grad(in[k]), e), 1e-12, 1e-14);
        tg_tape_free(t);
    }
}
END_TEST

/* An intermediate as input, several outputs, a grad_output with history. */
START_TEST(intermediate_inputs_and_several_outputs)
{
    tg_tape *t = tg_tape_new();
    double xv[] = {0.5, -1.0};
    tg_tensor *x = vec(t, 2, xv);
    tg_set_requires_grad(x, true);
    tg_tensor *h = tg_exp(t, x);              /* an intermediate */
    tg_tensor *outs[2] = {tg_sum(t, tg_mul(t, h, h)), tg_sum(t, h)};
    tg_tensor *ins[2] = {h, x}, *g[2];
    ck_assert_int_eq(tg_vjp(t, 2, outs, NULL, 2, ins, g, NULL), TG_OK);
    for (int i = 0; i < 2; i++) {
        double e = exp(xv[i]);
        ck_assert_close(tg_value_at(g[0], i), 2 * e + 1, 1e-15, 0);
        ck_assert_close(tg_value_at(g[1], i), (2 * e + 1) * e, 1e-15, 0);
    }
    tg_tape_free(t);
}
END_TEST

/* ---- bad input: a clear error, no results, the tape still usable */

static void assert_usable(tg_tape *t, tg_tensor *x)
{
    tg_tensor *g;
    tg_tensor *y = tg_sum(t, tg_mul(t, x, x));
    ck_assert_int_eq(tg_vjp(t, 1, &y, NULL, 1, &x, &g, NULL), TG_OK);
    ck_assert_close(tg_value_at(g, 0), 2 * tg_value_at(x, 0), 1e-15, 0);
}

START_TEST(bad_input)
{
    tg_tape *t = tg_tape_new(), *other = tg_tape_new();
    double xv[] = {0.5, 2.0};
    tg_tensor *x = vec(t, 2, xv), *c = vec(t, 2, xv), *z = vec(t, 2, xv);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(z, true);
    tg_tensor *y = tg_sum(t, tg_mul(t, x, c)), *v = tg_mul(t, x, c);
    tg_tensor *g[2] = {x, x}, *ins[2] = {x, z};
    tg_vjp_options o = recorded();

    ck_assert_status(tg_vjp(NULL, 1, &y, NULL, 1, &x, g, NULL), TG_EINVAL,
                     "tg_vjp: tape is NULL");
    ck_assert_ptr_null(g[0]);
    ck_assert_status(tg_vjp(t, 0, &y, NULL, 1, &x, g, NULL), TG_EINVAL,
                     "tg_vjp: 0 outputs and 1 inputs");
    ck_assert_status(tg_vjp(t, 1, &y, NULL, 1, &c, g, NULL), TG_EINVAL,
                     "tg_vjp: input 0 does not require grad");
    /* z is not used: an error, NULL or zeros, as asked. */
    ck_assert_status(tg_vjp(t, 1, &y, NULL, 2, ins, g, NULL), TG_EINVAL,
                     "tg_vjp: input 1 is not used by the outputs");
    ck_assert(g[0] == NULL && g[1] == NULL);
    o.unused = TG_UNUSED_NULL;
    ck_assert_int_eq(tg_vjp(t, 1, &y, NULL, 2, ins, g, &o), TG_OK);
    ck_assert(g[0] != NULL && g[1] == NULL);
    o.unused = TG_UNUSED_ZEROS;
    ck_assert_int_eq(tg_vjp(t, 1, &y, NULL, 2, ins, g, &o), TG_OK);
    ck_assert(tg_value_at(g[1], 1) == 0.0);
    o.unused = (tg_unused)7;
    ck_assert_status(tg_vjp(t, 1, &y, NULL, 1, &x, g, &o), TG_EINVAL,
                     "tg_vjp: unknown unused option 7");
    o = recorded();
    /* A non-scalar output needs its grad_output, of its shape and dtype. */
    ck_assert_status(tg_vjp(t, 1, &v, NULL, 1, &x, g, NULL), TG_EINVAL,
                     "tg_vjp: output 0 has shape (2,); give its grad_output");
    tg_tensor *wrong = tg_scalar(t, TG_F64, 1.0);
    ck_assert_status(tg_vjp(t, 1, &v, &wrong, 1, &x, g, NULL), TG_ESHAPE,
                     "tg_vjp: grad_output 0 has shape (); output 0 has (2,)");
    int64_t two = 2;
    tg_tensor *f32 = tg_zeros(t, TG_F32, 1, &two);
    ck_assert_status(tg_vjp(t, 1, &v, &f32, 1, &x, g, NULL), TG_EDTYPE,
                     "tg_vjp: grad_output 0 is f32; output 0 is f64");
    /* Outputs without a history, or of another tape. */
    ck_assert_status(tg_vjp(t, 1, &c, NULL, 1, &x, g, NULL), TG_ESTATE,
                     "tg_vjp: output 0 has no history");
    ck_assert_status(tg_vjp(other, 1, &y, NULL, 1, &x, g, NULL), TG_ESTATE,
                     "tg_vjp: output 0 belongs to another tape");
    /* create_graph on a tape with grad disabled. */
    tg_tape_set_grad_enabled(t, false);
    ck_assert_status(tg_vjp(t, 1, &y, NULL, 1, &x, g, &o), TG_EINVAL,
                     "tg_vjp: create_graph on a tape with grad disabled");
    tg_tape_set_grad_enabled(t, true);
    assert_usable(t, x);
    tg_tape_free(other);
    tg_tape_free(t);
}
END_TEST

/* A user op without backward_ops: first order works, create_graph is
 * refused naming the op. */
static tg_tensor *twice_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        for (int64_t i = 0; i < tg_numel(y); i++)
            tg_mut_f64(y)[i] = 2 * tg_data_f64(c->in[0])[i];
    return y;
}

static int twice_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)c, (void)y;
    if (gx[0] != NULL)
        for (int64_t i = 0; i < tg_numel(gy); i++)
            tg_mut_f64(gx[0])[i] = 2 * tg_data_f64(gy)[i];
    return TG_OK;
}

static const tg_op twice = {
    .name = "twice", .arity = 1,
    .forward = twice_forward, .backward = twice_backward,
};

START_TEST(op_without_backward_ops)
{
    tg_tape *t = tg_tape_new();
    double xv[] = {0.5, 2.0};
    tg_tensor *x = vec(t, 2, xv), *g = x;
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_sum(t, tg_exp(t, tg_apply(t, &twice, 1, &x, NULL)));
    ck_assert_int_eq(tg_vjp(t, 1, &y, NULL, 1, &x, &g, NULL), TG_OK);
    ck_assert_close(tg_value_at(g, 1), 2 * exp(4.0), 1e-15, 0);
    tg_vjp_options o = recorded();
    int64_t before = tg_tape_size(t);
    ck_assert_status(tg_vjp(t, 1, &y, NULL, 1, &x, &g, &o), TG_EINVAL,
                     "tg_vjp: twice has no derivative written with ops");
    ck_assert_ptr_null(g);
    ck_assert_int_ge(tg_tape_size(t), before);
    assert_usable(t, x);
    tg_tape_free(t);
}
END_TEST

/* square: x^2 with a right fast backward (2 x gy) and a backward_ops that
 * is right at first order but detaches x, so its own derivative misses
 * the 2 gy of d/dx (2 x gy): wrong only at second order. */
static tg_tensor *square_forward(tg_op_ctx *c)
{
    tg_tensor *y = tg_empty_like(c->tape, c->in[0]);
    if (y != NULL)
        for (int64_t i = 0; i < tg_numel(y); i++)
            tg_mut_f64(y)[i] = tg_data_f64(c->in[0])[i] *
                               tg_data_f64(c->in[0])[i];
    return y;
}

static int square_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] != NULL)
        for (int64_t i = 0; i < tg_numel(gy); i++)
            tg_mut_f64(gx[0])[i] =
                2 * tg_data_f64(c->in[0])[i] * tg_data_f64(gy)[i];
    return TG_OK;
}

static int square_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx)
{
    (void)y, (void)want;
    tg_tape *t = c->tape;
    gx[0] = tg_mul(t, gy, tg_mul_scalar(t, tg_detach(t, c->in[0]), 2));
    return gx[0] != NULL ? TG_OK : tg_last_status();
}

static const tg_op bad_square = {
    .name = "bad_square", .arity = 1,
    .forward = square_forward, .backward = square_backward,
    .backward_ops = square_backward_ops,
};

static tg_tensor *tanh_of_bad_square(tg_tape *t, int n, tg_tensor *const *in,
                                     void *ud)
{
    (void)n, (void)ud;
    tg_tensor *x = in[0];
    return tg_tanh(t, tg_mul(t, tg_apply(t, &bad_square, 1, &x, NULL),
                             in[1]));
}

static tg_tensor *tanh_of_product(tg_tape *t, int n, tg_tensor *const *in,
                                  void *ud)
{
    (void)n, (void)ud;
    return tg_tanh(t, tg_mul(t, tg_mul(t, in[0], in[0]), in[1]));
}

/* gradgradcheck passes a right function and fails one whose op is wrong at
 * second order only, naming that op (which first order cannot see). */
START_TEST(gradgradcheck_names_the_op)
{
    tg_tape *t = tg_tape_new();
    double xv[] = {0.5, -0.7, 0.9}, wv[] = {0.3, 1.1, -0.4};
    tg_tensor *in[2] = {vec(t, 3, xv), vec(t, 3, wv)};
    tg_gradcheck_report r;
    ck_assert_int_eq(tg_gradgradcheck(tanh_of_product, NULL, 2, in, NULL, &r),
                     TG_OK);
    ck_assert_msg(r.passed, "%s", r.message);
    ck_assert_int_gt(r.n_checked, 0);
    ck_assert_int_eq(tg_gradcheck(tanh_of_bad_square, NULL, 2, in, NULL, &r),
                     TG_OK);
    ck_assert_msg(r.passed, "first order is right: %s", r.message);
    ck_assert_int_eq(tg_gradgradcheck(tanh_of_bad_square, NULL, 2, in, NULL,
                                      &r), TG_OK);
    ck_assert(!r.passed);
    ck_assert_int_gt(r.n_failed, 0);
    ck_assert_msg(strstr(r.message, "second order") != NULL &&
                  strstr(r.message, "(op bad_square fails the same check "
                         "on its own") != NULL, "%s", r.message);
    ck_assert_msg(strstr(r.message, "op tanh") == NULL, "%s", r.message);
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vjp");
    TCase *tc = tg_test_tcase("vjp");
    tcase_add_test(tc, third_derivative_of_tanh);
    tcase_add_test(tc, hessian_vector_product);
    tcase_add_test(tc, matmul_shapes);
    tcase_add_test(tc, intermediate_inputs_and_several_outputs);
    tcase_add_test(tc, hvp_matches_two_vjps);
    tcase_add_test(tc, results_may_alias_the_arguments);
    tcase_add_test(tc, jvp_against_finite_differences);
    tcase_add_test(tc, jvp_of_an_input_and_directions_with_history);
    tcase_add_test(tc, gradgradcheck_names_the_op);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("bad_input");
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, op_without_backward_ops);
    tcase_add_test(tc, jvp_and_hvp_bad_input);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
