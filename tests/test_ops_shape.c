/*
 * test_ops_shape.c — reshape, transpose, permute, matmul (with 1-D and
 * broadcast batch operands) and concat:
 * values and gradients against PyTorch (fixtures/ops_shape.h, made by
 * fixtures/gen_ops_reduce.py), finite-difference gradient checks, and bad
 * input. slice against NumPy's slicing (fixtures/ops_slice.h, made by
 * fixtures/gen_slice.py), as PyTorch refuses negative steps.
 */
#include "tg_test.h"

#include <tapegrad/check.h>

#include "fixtures/ops_shape.h"
#include "fixtures/ops_slice.h"

#define N_SLICE (int)(sizeof slice_cases / sizeof slice_cases[0])

/* The op a fixture case names, on its inputs. */
static tg_tensor *run(tg_tape *t, const fx_shape *c, tg_tensor *const *in)
{
    int dims[8];
    for (int d = 0; d < c->n_args; d++)
        dims[d] = (int)c->args[d];
    if (strcmp(c->op, "reshape") == 0)
        return tg_reshape(t, in[0], c->n_args, c->args);
    if (strcmp(c->op, "transpose") == 0)
        return tg_transpose(t, in[0]);
    if (strcmp(c->op, "permute") == 0)
        return tg_permute(t, in[0], c->n_args, dims);
    if (strcmp(c->op, "matmul") == 0)
        return tg_matmul(t, in[0], in[1]);
    if (strcmp(c->op, "concat") == 0)
        return tg_concat(t, c->n_in, in, dims[0]);
    ck_abort_msg("unknown op %s", c->op);
    return NULL;
}

/* The case's inputs as tensors of its dtype (exact: f32 fixtures hold
 * floats). */
static void make_inputs(tg_tape *t, const fx_shape *c, tg_tensor **in)
{
    for (int i = 0; i < c->n_in; i++) {
        in[i] = tg_empty(t, c->f64 ? TG_F64 : TG_F32, c->ndim[i],
                         c->shape[i]);
        for (int64_t k = 0; k < tg_numel(in[i]); k++) {
            if (c->f64)
                tg_mut_f64(in[i])[k] = c->x[i][k];
            else
                tg_mut_f32(in[i])[k] = (float)c->x[i][k];
        }
    }
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

/* Moves are exact; matmul sums, so f32 gets a few ulps of slack. */
static void assert_values(const char *what, const fx_shape *c,
                          const tg_tensor *got, const double *want)
{
    double rtol = c->f64 ? 1e-13 : 1e-5, atol = c->f64 ? 1e-13 : 1e-5;
    for (int64_t i = 0; i < tg_numel(got); i++)
        ck_assert_msg(tg_test_close(at(got, i), want[i], rtol, atol),
                      "%s: %s[%lld] = %.17g, PyTorch %.17g", c->name, what,
                      (long long)i, at(got, i), want[i]);
}

START_TEST(forward_matches_pytorch)
{
    const fx_shape *c = &fx_shape_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[4];
    make_inputs(t, c, in);
    tg_tensor *y = run(t, c, in);
    ck_assert_msg(y != NULL, "%s: %s", c->name, tg_last_error());
    ck_assert_int_eq(tg_ndim(y), c->out_ndim);
    for (int d = 0; d < c->out_ndim; d++)
        ck_assert_int_eq(tg_shape(y)[d], c->out_shape[d]);
    assert_values("y", c, y, c->y);
    tg_tape_free(t);
}
END_TEST

START_TEST(gradient_matches_pytorch)
{
    const fx_shape *c = &fx_shape_cases[_i];
    tg_tape *t = tg_tape_new();
    tg_tensor *in[4];
    make_inputs(t, c, in);
    for (int i = 0; i < c->n_in; i++)
        tg_set_requires_grad(in[i], true);
    tg_tensor *root = tg_test_dot(t, run(t, c, in), c->gy);
    ck_assert_msg(tg_backward(t, root) == TG_OK, "%s: %s", c->name,
                  tg_last_error());
    for (int i = 0; i < c->n_in; i++)
        assert_values("gx", c, tg_grad(in[i]), c->gx[i]);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *case_fn(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return run(t, ud, in);
}

/* Finite differences agree with every f64 case's gradient, each input. */
START_TEST(gradcheck_every_case)
{
    const fx_shape *c = &fx_shape_cases[_i];
    if (!c->f64)
        return;
    tg_tape *t = tg_tape_new();
    tg_tensor *in[4];
    make_inputs(t, c, in);
    tg_gradcheck_options o = tg_gradcheck_defaults();
    o.method = TG_GRADCHECK_RICHARDSON;
    o.eps = 1e-3;
    o.atol = 1e-8;
    o.rtol = 1e-6;
    tg_ck_assert_gradients_opt(case_fn, (void *)c, c->n_in, in, &o);
    tg_tape_free(t);
}
END_TEST

/* Only the inputs that require grad get one: matmul with a constant b. */
START_TEST(matmul_gradient_of_one_side)
{
    tg_tape *t = tg_tape_new();
    double av[] = {1, 2, 3, 4, 5, 6}, bv[] = {1, 0, -1, 2, 0.5, 1};
    int64_t sa[] = {2, 3}, sb[] = {3, 2};
    tg_tensor *a = tg_from_data(t, TG_F64, 2, sa, av);
    tg_tensor *b = tg_from_data(t, TG_F64, 2, sb, bv);
    tg_set_requires_grad(a, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_matmul(t, a, b))), TG_OK);
    ck_assert_ptr_null(tg_grad(b));
    /* d sum(a b) / d a[i][p] = sum_j b[p][j]: the row sums of b. */
    const double *g = tg_data_f64(tg_grad(a));
    for (int i = 0; i < 2; i++) {
        ck_assert(g[i * 3 + 0] == 1);
        ck_assert(g[i * 3 + 1] == 1);
        ck_assert(g[i * 3 + 2] == 1.5);
    }
    tg_tape_free(t);
}
END_TEST

/* The same tensor twice: each slot's share of the gradient adds up. */
START_TEST(concat_of_one_tensor_twice)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1, 2, 3};
    int64_t n = 3;
    tg_tensor *x = tg_from_data(t, TG_F64, 1, &n, v);
    tg_set_requires_grad(x, true);
    tg_tensor *xs[] = {x, x};
    double w[] = {1, 2, 3, 10, 20, 30};
    tg_tensor *y = tg_concat(t, 2, xs, 0);
    ck_assert_int_eq(tg_shape(y)[0], 6);
    ck_assert(tg_data_f64(y)[4] == 2);
    ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, w)), TG_OK);
    const double *g = tg_data_f64(tg_grad(x));
    ck_assert(g[0] == 11 && g[1] == 22 && g[2] == 33);
    tg_tape_free(t);
}
END_TEST

/* More inputs than backward keeps slots for on the stack (8). */
START_TEST(concat_of_many_tensors)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *xs[12];
    double w[24];
    int64_t two = 2;
    for (int i = 0; i < 12; i++) {
        double v[2] = {i, -i};
        xs[i] = tg_from_data(t, TG_F64, 1, &two, v);
        tg_set_requires_grad(xs[i], i % 3 != 0);
        w[2 * i] = 10 * i;
        w[2 * i + 1] = 10 * i + 1;
    }
    tg_tensor *y = tg_concat(t, 12, xs, -1);
    ck_assert_int_eq(tg_shape(y)[0], 24);
    ck_assert(tg_data_f64(y)[21] == -10);
    ck_assert_int_eq(tg_backward(t, tg_test_dot(t, y, w)), TG_OK);
    for (int i = 0; i < 12; i++) {
        if (i % 3 == 0) {
            ck_assert_ptr_null(tg_grad(xs[i]));
            continue;
        }
        ck_assert(tg_data_f64(tg_grad(xs[i]))[0] == 10 * i);
        ck_assert(tg_data_f64(tg_grad(xs[i]))[1] == 10 * i + 1);
    }
    tg_tape_free(t);
}
END_TEST

START_TEST(reshape_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[] = {2, 3}, s42[] = {4, 2}, s4m[] = {4, -1}, smm[] = {-1, -1},
            s0[] = {0, 6}, sm2[] = {-2, -3};
    tg_tensor *x = tg_zeros(t, TG_F32, 2, s23);
    ck_assert_null_status(tg_reshape(t, x, 2, s42), TG_ESHAPE,
                          "tg_reshape: cannot reshape (2,3) (6 elements) "
                          "into (4,2)");
    ck_assert_null_status(tg_reshape(t, x, 2, s4m), TG_ESHAPE,
                          "cannot reshape (2,3) (6 elements) into (4,-1)");
    ck_assert_null_status(tg_reshape(t, x, 2, smm), TG_EINVAL,
                          "tg_reshape: shape (-1,-1): sizes must be "
                          "positive, with at most one -1");
    ck_assert_null_status(tg_reshape(t, x, 2, s0), TG_EINVAL, "shape (0,6)");
    ck_assert_null_status(tg_reshape(t, x, 2, sm2), TG_EINVAL,
                          "shape (-2,-3)");
    ck_assert_null_status(tg_reshape(t, x, 2, NULL), TG_EINVAL,
                          "tg_reshape: shape is NULL");
    ck_assert_null_status(tg_reshape(t, x, 9, s23), TG_EINVAL,
                          "tg_reshape: ndim 9 is outside 0..8");
    ck_assert_null_status(tg_reshape(t, x, 0, NULL), TG_ESHAPE,
                          "into ()");
    tg_tape_free(t);
}
END_TEST

START_TEST(transpose_and_permute_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s[] = {2, 3, 4};
    tg_tensor *x = tg_zeros(t, TG_F64, 3, s);
    ck_assert_null_status(tg_transpose(t, x), TG_ESHAPE,
                          "tg_transpose: shape (2,3,4) is not 2-D");
    ck_assert_null_status(tg_transpose(t, tg_zeros(t, TG_F64, 1, s)),
                          TG_ESHAPE, "shape (2,) is not 2-D");
    int rep[] = {0, 0, 1}, out[] = {0, 1, 3}, two[] = {1, 0};
    ck_assert_null_status(tg_permute(t, x, 3, rep), TG_EINVAL,
                          "tg_permute: dims (0,0,1) are not a permutation "
                          "of the 3 dims of shape (2,3,4)");
    ck_assert_null_status(tg_permute(t, x, 3, out), TG_EINVAL,
                          "dims (0,1,3) are not a permutation");
    ck_assert_null_status(tg_permute(t, x, 2, two), TG_EINVAL,
                          "tg_permute: 2 dims given for shape (2,3,4), "
                          "which has 3");
    ck_assert_null_status(tg_permute(t, x, 3, NULL), TG_EINVAL,
                          "tg_permute: dims is NULL");
    ck_assert_null_status(tg_permute(t, x, -1, two), TG_EINVAL,
                          "tg_permute: ndim -1 is outside 0..8");
    tg_tape_free(t);
}
END_TEST

START_TEST(matmul_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[] = {2, 3}, s45[] = {4, 5}, s3[] = {3}, s4[] = {4},
            b234[] = {2, 3, 4}, b345[] = {3, 4, 5}, c2334[] = {2, 3, 3, 4},
            c3245[] = {3, 2, 4, 5};
    tg_tensor *a = tg_zeros(t, TG_F32, 2, s23);
    ck_assert_null_status(tg_matmul(t, a, tg_zeros(t, TG_F32, 2, s45)),
                          TG_ESHAPE, "tg_matmul: shapes (2,3) and (4,5) do "
                          "not multiply: a has 3 columns, b has 4 rows");
    ck_assert_null_status(tg_matmul(t, a, tg_zeros(t, TG_F32, 1, s4)),
                          TG_ESHAPE, "tg_matmul: shapes (2,3) and (4,) do "
                          "not multiply: a has 3 columns, b has 4 elements");
    ck_assert_null_status(tg_matmul(t, tg_zeros(t, TG_F32, 1, s3),
                                    tg_zeros(t, TG_F32, 1, s4)),
                          TG_ESHAPE, "tg_matmul: shapes (3,) and (4,) do not "
                          "multiply: a has 3 elements, b has 4 elements");
    ck_assert_null_status(tg_matmul(t, tg_zeros(t, TG_F32, 1, s4), a),
                          TG_ESHAPE, "tg_matmul: shapes (4,) and (2,3) do not "
                          "multiply: a has 4 elements, b has 2 rows");
    ck_assert_null_status(tg_matmul(t, a, tg_zeros(t, TG_F32, 3, b345)),
                          TG_ESHAPE, "shapes (2,3) and (3,4,5) do not "
                          "multiply");
    ck_assert_null_status(tg_matmul(t, tg_zeros(t, TG_F32, 3, b234),
                                    tg_zeros(t, TG_F32, 3, b345)),
                          TG_ESHAPE, "tg_matmul: shapes (2,3,4) and (3,4,5): "
                          "batch dims (2,) and (3,) do not broadcast");
    ck_assert_null_status(tg_matmul(t, tg_zeros(t, TG_F32, 4, c2334),
                                    tg_zeros(t, TG_F32, 4, c3245)),
                          TG_ESHAPE, "tg_matmul: shapes (2,3,3,4) and "
                          "(3,2,4,5): batch dims (2,3) and (3,2) do not "
                          "broadcast");
    /* Scalars (shape ()) do not multiply, as in torch.matmul. */
    tg_tensor *s = tg_scalar(t, TG_F32, 2);
    ck_assert_int_eq(tg_ndim(s), 0);
    ck_assert_null_status(tg_matmul(t, s, a), TG_ESHAPE, "tg_matmul: shapes "
                          "() and (2,3): both must have at least 1 dimension");
    ck_assert_null_status(tg_matmul(t, tg_zeros(t, TG_F32, 1, s3), s),
                          TG_ESHAPE, "tg_matmul: shapes (3,) and (): both");
    ck_assert_null_status(tg_matmul(t, s, s), TG_ESHAPE,
                          "tg_matmul: shapes () and (): both");
    int64_t s32[] = {3, 2};
    ck_assert_null_status(tg_matmul(t, a, tg_zeros(t, TG_F64, 2, s32)),
                          TG_EDTYPE, "tg_matmul: inputs are f32 and f64");
    tg_clear_error();
    ck_assert_null_status(tg_matmul(t, NULL, a), TG_EINVAL,
                          "tg_matmul: tensor is NULL");
    tg_tape_free(t);
}
END_TEST

/* A matrix times a vector is a vector, and batch dims broadcast: the
 * shapes torch.matmul gives (the values are in the fixtures). */
START_TEST(matmul_result_shapes)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[] = {2, 3}, s3[] = {3}, a[] = {2, 1, 3, 4}, b[] = {5, 4, 6},
            c[] = {7, 1, 1, 3, 2};
    tg_tensor *m = tg_zeros(t, TG_F64, 2, s23), *v = tg_zeros(t, TG_F64, 1, s3);
    tg_tensor *y = tg_matmul(t, m, v);
    ck_assert_int_eq(tg_ndim(y), 1);
    ck_assert_int_eq(tg_shape(y)[0], 2);
    ck_assert_int_eq(tg_ndim(tg_matmul(t, v, v)), 0);
    y = tg_matmul(t, tg_zeros(t, TG_F64, 4, a), tg_zeros(t, TG_F64, 3, b));
    int64_t want[] = {2, 5, 3, 6};
    ck_assert_int_eq(tg_ndim(y), 4);
    for (int d = 0; d < 4; d++)
        ck_assert_int_eq(tg_shape(y)[d], want[d]);
    y = tg_matmul(t, v, tg_zeros(t, TG_F64, 5, c));
    int64_t want_v[] = {7, 1, 1, 2};
    ck_assert_int_eq(tg_ndim(y), 4);
    for (int d = 0; d < 4; d++)
        ck_assert_int_eq(tg_shape(y)[d], want_v[d]);
    tg_tape_free(t);
}
END_TEST

/* One side broadcast along the batch, the other not requiring grad: the
 * summed gradient reaches the side that asked for it alone. */
START_TEST(matmul_broadcast_gradient_of_one_side)
{
    tg_tape *t = tg_tape_new();
    double av[] = {1, 2, 3, 4, 5, 6}, bv[12];
    for (int i = 0; i < 12; i++)
        bv[i] = i - 4;
    int64_t sa[] = {3, 2}, sb[] = {2, 2, 3};
    tg_tensor *a = tg_from_data(t, TG_F64, 2, sa, av);
    tg_tensor *b = tg_from_data(t, TG_F64, 3, sb, bv);
    tg_set_requires_grad(a, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_matmul(t, b, a))), TG_OK);
    ck_assert_ptr_null(tg_grad(b));
    /* d sum(b[j] a) / d a[p][q] = sum_j sum_i b[j][i][p]: column sums of
     * b over both matrices, the same for each q. */
    const double *g = tg_data_f64(tg_grad(a));
    double col[3] = {0, 0, 0};
    for (int i = 0; i < 12; i++)
        col[i % 3] += bv[i];
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 2; q++)
            ck_assert(g[p * 2 + q] == col[p]);
    tg_tape_free(t);
}
END_TEST

/* Out of memory at every allocation of a broadcast product's forward and
 * backward (whose summed gradients need scratch): TG_ENOMEM, no leak. */
START_TEST(matmul_broadcast_out_of_memory)
{
    int64_t sa[] = {64, 32}, sb[] = {8, 32, 16};
    long failed = 0;
    for (long k = 1;; k++) {
        tg_tape *t = tg_tape_new();
        tg_tensor *a = tg_zeros(t, TG_F64, 2, sa);
        tg_tensor *b = tg_zeros(t, TG_F64, 3, sb);
        tg_set_requires_grad(a, true);
        tg_set_requires_grad(b, true);
        tg_test_fail_after(k);
        int rc = tg_backward(t, tg_sum(t, tg_matmul(t, a, b)));
        tg_test_fail_after(-1);
        tg_tape_free(t);
        if (rc == TG_OK)
            break;
        ck_assert_status(rc, TG_ENOMEM, "out of memory");
        failed++;
    }
    ck_assert_int_gt(failed, 0);
}
END_TEST

START_TEST(concat_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[] = {2, 3}, s24[] = {2, 4}, s3[] = {3};
    tg_tensor *xs[] = {tg_zeros(t, TG_F64, 2, s23), tg_zeros(t, TG_F64, 2, s24),
                       tg_zeros(t, TG_F64, 1, s3)};
    ck_assert_null_status(tg_concat(t, 2, xs, 0), TG_ESHAPE,
                          "tg_concat: inputs 0 and 1 have shapes (2,3) and "
                          "(2,4), which differ outside axis 0");
    ck_assert_ptr_nonnull(tg_concat(t, 2, xs, 1));
    ck_assert_null_status(tg_concat(t, 2, xs, 2), TG_EINVAL,
                          "tg_concat: axis 2 is out of range for shape (2,3)");
    tg_tensor *mixed[] = {xs[0], xs[2]};
    ck_assert_null_status(tg_concat(t, 2, mixed, 0), TG_ESHAPE,
                          "shapes (2,3) and (3,)");
    ck_assert_null_status(tg_concat(t, 0, xs, 0), TG_EINVAL,
                          "tg_concat: takes at least 1 input, got 0");
    ck_assert_null_status(tg_concat(t, 2, NULL, 0), TG_EINVAL,
                          "tg_concat: inputs array is NULL");
    tg_tensor *scalars[] = {tg_scalar(t, TG_F64, 1), tg_scalar(t, TG_F64, 2)};
    ck_assert_null_status(tg_concat(t, 2, scalars, 0), TG_ESHAPE,
                          "tg_concat: input 0 has shape (); scalars");
    tg_tensor *dt[] = {xs[0], tg_zeros(t, TG_F32, 2, s23)};
    ck_assert_null_status(tg_concat(t, 2, dt, 0), TG_EDTYPE,
                          "tg_concat: inputs are f64 and f32");
    tg_tape_free(t);
}
END_TEST

static void set_at(tg_tensor *x, int64_t i, double v)
{
    if (tg_dtype_of(x) == TG_F64)
        tg_mut_f64(x)[i] = v;
    else
        tg_mut_f32(x)[i] = (float)v;
}

/* Values, the fast gradient and the recorded one (tg_vjp with
 * create_graph, the scatter made of ops) against NumPy, in f64 and f32
 * (all the values are exact in both). */
START_TEST(slice_matches_numpy)
{
    const fx_slice *c = &slice_cases[_i];
    for (int f64 = 0; f64 < 2; f64++) {
        tg_dtype dt = f64 ? TG_F64 : TG_F32;
        tg_tape *t = tg_tape_new();
        int64_t sx[3] = {2, 6, 3};
        tg_tensor *x = tg_empty(t, dt, 3, sx);
        for (int64_t i = 0; i < 36; i++)
            set_at(x, i, (double)i * 0.5 - 3);
        tg_set_requires_grad(x, true);
        tg_tensor *y = tg_slice(t, x, c->axis, c->start, c->stop, c->step);
        ck_assert_msg(y != NULL, "case %d: %s", _i, tg_last_error());
        ck_assert_int_eq(tg_ndim(y), 3);
        for (int d = 0; d < 3; d++)
            ck_assert_int_eq(tg_shape(y)[d], c->shape[d]);
        tg_tensor *w = tg_empty(t, dt, 3, c->shape);
        for (int64_t i = 0; i < tg_numel(y); i++) {
            ck_assert_double_eq(tg_value_at(y, i), c->y[i]);
            set_at(w, i, (double)(i + 1));
        }
        ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, w))), TG_OK);
        tg_vjp_options o = tg_vjp_defaults();
        o.create_graph = true;
        tg_tensor *g;
        ck_assert_msg(tg_vjp(t, 1, &y, &w, 1, &x, &g, &o) == TG_OK, "%s",
                      tg_last_error());
        for (int64_t i = 0; i < 36; i++) {
            ck_assert_double_eq(tg_value_at(tg_grad(x), i), c->gx[i]);
            ck_assert_double_eq(tg_value_at(g, i), c->gx[i]);
        }
        tg_tape_free(t);
    }
}
END_TEST

START_TEST(slice_errors)
{
    tg_tape *t = tg_tape_new();
    int64_t s42[] = {4, 2};
    tg_tensor *x = tg_zeros(t, TG_F64, 2, s42);
    ck_assert_null_status(tg_slice(t, x, 0, 3, 1, 1), TG_ESHAPE,
                          "tg_slice: [3:1:1] along axis 0 of x (4,2) chooses "
                          "no elements");
    ck_assert_null_status(tg_slice(t, x, 0, 1, 3, 0), TG_EINVAL,
                          "tg_slice: step is 0; it must be nonzero");
    ck_assert_null_status(tg_slice(t, x, 0, 0, 1, INT64_MIN), TG_EINVAL,
                          "tg_slice: step is");
    ck_assert_null_status(tg_slice(t, x, 2, 0, 1, 1), TG_EINVAL,
                          "tg_slice: axis 2 is out of range for shape (4,2)");
    ck_assert_null_status(tg_slice(t, tg_scalar(t, TG_F64, 1), 0, 0, 1, 1),
                          TG_ESHAPE, "tg_slice: x has shape (); a scalar");
    tg_clear_error(); /* else a NULL input keeps the last error */
    ck_assert_null_status(tg_slice(t, NULL, 0, 0, 1, 1), TG_EINVAL,
                          "tg_slice");
    ck_assert_null_status(tg_slice(NULL, x, 0, 0, 1, 1), TG_EINVAL,
                          "tg_slice");
    ck_assert_ptr_nonnull(tg_slice(t, x, -1, -1, INT64_MIN, -1));
    tg_tape_free(t);
}
END_TEST

/* A NULL input keeps the first failure's message through every op. */
START_TEST(null_input_propagates)
{
    tg_tape *t = tg_tape_new();
    int64_t s[] = {2, 3};
    int dims[] = {1, 0};
    tg_tensor *bad = tg_transpose(t, tg_zeros(t, TG_F32, 1, s));
    tg_tensor *xs[] = {bad, bad};
    tg_tensor *y = tg_concat(t, 2, xs, 0);
    y = tg_matmul(t, tg_permute(t, tg_reshape(t, y, 2, s), 2, dims), y);
    ck_assert_null_status(y, TG_ESHAPE, "tg_transpose: shape (2,) is not");
    ck_assert_null_status(tg_permute(t, NULL, 9, NULL), TG_ESHAPE,
                          "tg_transpose: shape (2,)");
    ck_assert_null_status(tg_reshape(t, NULL, 9, NULL), TG_ESHAPE,
                          "tg_transpose: shape (2,)");
    tg_tape_free(t);
}
END_TEST

START_TEST(out_of_memory_leaks_nothing)
{
    tg_tape *a = tg_tape_new();
    int64_t s[] = {3, 3}, r[] = {9};
    int dims[] = {1, 0};
    tg_tensor *x = tg_zeros(a, TG_F64, 2, s);
    tg_tensor *xs[] = {x, x};
    for (int op = 0; op < 5; op++) {
        tg_tape *b = tg_tape_new();
        tg_test_fail_after(1);
        tg_tensor *y = op == 0   ? tg_reshape(b, x, 1, r)
                       : op == 1 ? tg_transpose(b, x)
                       : op == 2 ? tg_permute(b, x, 2, dims)
                       : op == 3 ? tg_matmul(b, x, x)
                                 : tg_concat(b, 2, xs, 0);
        ck_assert_null_status(y, TG_ENOMEM, "out of memory");
        tg_test_fail_after(-1);
        tg_tape_free(b);
    }
    tg_tape_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_shape");
    TCase *tc = tg_test_tcase("forward");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, FX_SHAPE_COUNT);
    tcase_add_test(tc, matmul_result_shapes);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradient");
    tcase_add_loop_test(tc, gradient_matches_pytorch, 0, FX_SHAPE_COUNT);
    tcase_add_loop_test(tc, gradcheck_every_case, 0, FX_SHAPE_COUNT);
    tcase_add_test(tc, matmul_gradient_of_one_side);
    tcase_add_test(tc, matmul_broadcast_gradient_of_one_side);
    tcase_add_test(tc, concat_of_one_tensor_twice);
    tcase_add_test(tc, concat_of_many_tensors);
    tcase_add_loop_test(tc, slice_matches_numpy, 0, N_SLICE);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, reshape_errors);
    tcase_add_test(tc, transpose_and_permute_errors);
    tcase_add_test(tc, matmul_errors);
    tcase_add_test(tc, concat_errors);
    tcase_add_test(tc, slice_errors);
    tcase_add_test(tc, null_input_propagates);
    tcase_add_test(tc, out_of_memory_leaks_nothing);
    tcase_add_test(tc, matmul_broadcast_out_of_memory);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
