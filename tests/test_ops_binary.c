/*
 * test_ops_binary.c — the elementwise binary ops (add, sub, mul, div,
 * maximum, minimum, pow_tensor), pow with a constant exponent, and the
 * scalar shorthands: values and gradients against PyTorch (the fixtures in
 * fixtures/ops_binary.h, made by fixtures/gen_ops_binary.py), broadcasting
 * shapes, gradient checks in f64, the documented edge rules, and bad input.
 */
#include "tg_test.h"

#include <stdio.h>

#include <tapegrad/check.h>

#include "fixtures/ops_binary.h"

typedef tg_tensor *(*binary_fn)(tg_tape *, tg_tensor *, tg_tensor *);

typedef struct binop {
    const char *name;
    binary_fn fn;
} binop;

static const binop binops[] = {
    {"add", tg_add}, {"sub", tg_sub}, {"mul", tg_mul}, {"div", tg_div},
    {"maximum", tg_maximum}, {"minimum", tg_minimum},
    {"pow_tensor", tg_pow_tensor},
};
#define N_BINOPS (int)(sizeof binops / sizeof binops[0])

static const binop *find_binop(const char *name)
{
    for (int i = 0; i < N_BINOPS; i++)
        if (strcmp(binops[i].name, name) == 0)
            return &binops[i];
    return NULL;
}

/* A tensor of the dtype holding v (exact: f32 fixtures hold floats). */
static tg_tensor *make(tg_tape *t, tg_dtype dt, const fx_shape *s,
                       const double *v)
{
    return tg_test_tensor(t, dt, s->ndim, s->dims, v);
}

static double at(const tg_tensor *x, int64_t i)
{
    return tg_dtype_of(x) == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
}

/*
 * got agrees with PyTorch's want: NaN with NaN; infinities exactly; zeros
 * within atol and with the same sign if got is zero too (any sign if
 * zero_sign_free); others within atol + rtol * |want|.
 */
static bool agrees(double got, double want, double rtol, double atol,
                   bool zero_sign_free)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    if (want == 0 && got == 0)
        return zero_sign_free || signbit(got) == signbit(want);
    return fabs(got - want) <= atol + rtol * fabs(want);
}

/* Exponents PyTorch computes by products, quotients and sqrt, or whose
 * every result is a special value: exact, like IEEE arithmetic. */
static bool exact_pow(double p)
{
    return p == 0 || p == 1 || p == 2 || p == 3 || p == -1 || p == -2 ||
           p == 0.5 || p == -0.5 || !isfinite(p);
}

/* Forward tolerance: IEEE arithmetic and the exact powers match PyTorch
 * bit for bit; pow goes through libm (ours) or SLEEF (PyTorch's vectorised
 * loops), which may differ in the last place or two. */
static double forward_rtol(const fx_case *c, tg_dtype dt)
{
    bool libm = strcmp(c->op, "pow_tensor") == 0 ||
                (strcmp(c->op, "pow") == 0 && !exact_pow(c->exponent));
    if (!libm)
        return 0;
    return dt == TG_F64 ? 1e-15 : 3e-7;
}

/* The case's op on its inputs (b is NULL for pow). */
static tg_tensor *run(tg_tape *t, const fx_case *c, tg_tensor *a,
                      tg_tensor *b)
{
    if (strcmp(c->op, "pow") == 0)
        return tg_pow(t, a, c->exponent);
    const binop *op = find_binop(c->op);
    ck_assert_msg(op != NULL, "unknown op %s", c->op);
    return op->fn(t, a, b);
}

static void assert_values(const char *what, const fx_case *c,
                          const tg_tensor *got, const double *want,
                          double rtol, double atol)
{
    const fx_set *s = &fx_sets[c->set];
    bool zero_sign_free = strcmp(c->op, "maximum") == 0 ||
                          strcmp(c->op, "minimum") == 0;
    for (int64_t i = 0; i < tg_numel(got); i++)
        ck_assert_msg(agrees(at(got, i), want[i], rtol, atol, zero_sign_free),
                      "%s %s (p = %g): %s[%lld] = %.17g, PyTorch %.17g",
                      c->op, s->name, c->exponent, what, (long long)i,
                      at(got, i), want[i]);
}

static void assert_shape(const tg_tensor *x, const fx_shape *s)
{
    ck_assert_int_eq(tg_ndim(x), s->ndim);
    for (int d = 0; d < s->ndim; d++)
        ck_assert_int_eq(tg_shape(x)[d], s->dims[d]);
}

/* ---- Values and gradients against PyTorch. */

START_TEST(forward_matches_pytorch)
{
    const fx_case *c = &fx_cases[_i];
    const fx_set *s = &fx_sets[c->set];
    tg_dtype dt = s->dtype ? TG_F64 : TG_F32;
    tg_tape *t = tg_tape_new();
    tg_tensor *a = make(t, dt, &s->a, s->av);
    tg_tensor *b = s->bv ? make(t, dt, &s->b, s->bv) : NULL;
    tg_tensor *y = run(t, c, a, b);
    ck_assert_msg(y != NULL, "%s %s: %s", c->op, s->name, tg_last_error());
    ck_assert_int_eq(tg_dtype_of(y), dt);
    assert_shape(y, &c->y);
    assert_values("y", c, y, c->yv, forward_rtol(c, dt), 0);
    tg_tape_free(t);
}
END_TEST

/* d sum(y * w) / d a and / d b, with PyTorch's w. Sums over broadcast
 * dimensions may add in another order, and f32 powers are taken in double
 * (PyTorch's float powf can flush a subnormal to 0), hence the tolerance. */
START_TEST(gradient_matches_pytorch)
{
    const fx_case *c = &fx_cases[_i];
    const fx_set *s = &fx_sets[c->set];
    tg_dtype dt = s->dtype ? TG_F64 : TG_F32;
    double rtol = dt == TG_F64 ? 1e-13 : 1e-5, atol = dt == TG_F64 ? 0 : 1e-6;
    tg_tape *t = tg_tape_new();
    tg_tensor *a = make(t, dt, &s->a, s->av);
    tg_tensor *b = s->bv ? make(t, dt, &s->b, s->bv) : NULL;
    tg_set_requires_grad(a, true);
    if (b != NULL)
        tg_set_requires_grad(b, true);
    tg_tensor *y = run(t, c, a, b);
    tg_tensor *root = tg_sum(t, tg_mul(t, y, make(t, dt, &c->y, s->w)));
    ck_assert_int_eq(tg_backward(t, root), TG_OK);
    assert_shape(tg_grad(a), &s->a);
    assert_values("grad a", c, tg_grad(a), c->ga, rtol, atol);
    if (b != NULL) {
        assert_shape(tg_grad(b), &s->b);
        assert_values("grad b", c, tg_grad(b), c->gb, rtol, atol);
    }
    tg_tape_free(t);
}
END_TEST

/* ---- Broadcasting, by hand. */

static tg_tensor *iota(tg_tape *t, tg_dtype dt, int ndim, const int64_t *shape,
                       double start)
{
    tg_tensor *x = tg_empty(t, dt, ndim, shape);
    for (int64_t i = 0; i < tg_numel(x); i++) {
        if (dt == TG_F64)
            tg_mut_f64(x)[i] = start + (double)i;
        else
            tg_mut_f32(x)[i] = (float)(start + (double)i);
    }
    return x;
}

START_TEST(broadcast_shapes_and_values)
{
    tg_tape *t = tg_tape_new();
    int64_t s34[] = {3, 4}, s4[] = {4}, s213[] = {2, 1, 3}, s41[] = {4, 1};
    /* (3,4) + (4,): the (4,) row is added to every row. */
    tg_tensor *y = tg_add(t, iota(t, TG_F32, 2, s34, 0),
                          iota(t, TG_F32, 1, s4, 100));
    ck_assert_int_eq(tg_ndim(y), 2);
    ck_assert_int_eq(tg_shape(y)[0], 3);
    ck_assert_int_eq(tg_shape(y)[1], 4);
    for (int i = 0; i < 12; i++)
        ck_assert(tg_data_f32(y)[i] == (float)(i + 100 + i % 4));
    /* (2,1,3) * (4,1) is (2,4,3): y[i,j,k] = a[i,0,k] * b[j,0]. */
    y = tg_mul(t, iota(t, TG_F64, 3, s213, 1), iota(t, TG_F64, 2, s41, 1));
    ck_assert_int_eq(tg_ndim(y), 3);
    ck_assert_int_eq(tg_numel(y), 24);
    ck_assert_int_eq(tg_shape(y)[1], 4);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                ck_assert(tg_data_f64(y)[(i * 4 + j) * 3 + k] ==
                          (double)((i * 3 + k + 1) * (j + 1)));
    /* () - (2,3) and (2,3) / (). */
    int64_t s23[] = {2, 3};
    y = tg_sub(t, tg_scalar(t, TG_F64, 10), iota(t, TG_F64, 2, s23, 0));
    ck_assert_int_eq(tg_ndim(y), 2);
    for (int i = 0; i < 6; i++)
        ck_assert(tg_data_f64(y)[i] == 10.0 - i);
    y = tg_div(t, iota(t, TG_F64, 2, s23, 0), tg_scalar(t, TG_F64, 4));
    for (int i = 0; i < 6; i++)
        ck_assert(tg_data_f64(y)[i] == i / 4.0);
    /* () op () is (). */
    y = tg_maximum(t, tg_scalar(t, TG_F32, 2), tg_scalar(t, TG_F32, 3));
    ck_assert_int_eq(tg_ndim(y), 0);
    ck_assert(tg_item(y) == 3.0);
    tg_tape_free(t);
}
END_TEST

/* The gradient of a broadcast input is the sum over the broadcast dims. */
START_TEST(broadcast_gradients_are_summed)
{
    tg_tape *t = tg_tape_new();
    int64_t s234[] = {2, 3, 4}, s31[] = {3, 1};
    tg_tensor *a = iota(t, TG_F64, 3, s234, 0);
    tg_tensor *b = iota(t, TG_F64, 2, s31, 1);
    tg_tensor *s = tg_scalar(t, TG_F64, 2);
    tg_set_requires_grad(a, true);
    tg_set_requires_grad(b, true);
    tg_set_requires_grad(s, true);
    /* root = sum((a + b) * s): d/da = s, d/db[j] = 8 s, d/ds = sum(a + b) */
    tg_tensor *root = tg_sum(t, tg_mul(t, tg_add(t, a, b), s));
    ck_assert_int_eq(tg_backward(t, root), TG_OK);
    ck_assert_int_eq(tg_ndim(tg_grad(b)), 2);
    ck_assert_int_eq(tg_shape(tg_grad(b))[0], 3);
    ck_assert_int_eq(tg_shape(tg_grad(b))[1], 1);
    for (int j = 0; j < 3; j++)
        ck_assert(tg_data_f64(tg_grad(b))[j] == 16.0);
    for (int i = 0; i < 24; i++)
        ck_assert(tg_data_f64(tg_grad(a))[i] == 2.0);
    /* sum(a) = 276, sum(b) over 8 copies = 8 * 6 */
    ck_assert_int_eq(tg_ndim(tg_grad(s)), 0);
    ck_assert(tg_item(tg_grad(s)) == 276.0 + 48.0);
    tg_tape_free(t);
}
END_TEST

/* An input used twice collects both contributions; a constant gets none. */
START_TEST(shared_and_constant_inputs)
{
    tg_tape *t = tg_tape_new();
    int64_t s5[] = {5};
    tg_tensor *x = iota(t, TG_F32, 1, s5, -2);
    tg_tensor *c = iota(t, TG_F32, 1, s5, 1);
    tg_set_requires_grad(x, true);
    /* root = sum(x * x - c * x): d/dx = 2x - c */
    tg_tensor *root = tg_sum(t, tg_sub(t, tg_mul(t, x, x), tg_mul(t, c, x)));
    ck_assert_int_eq(tg_backward(t, root), TG_OK);
    for (int i = 0; i < 5; i++)
        ck_assert(tg_data_f32(tg_grad(x))[i] ==
                  2.0f * (float)(i - 2) - (float)(i + 1));
    ck_assert_ptr_null(tg_grad(c));
    tg_tape_free(t);
}
END_TEST

/* ---- Documented edge rules. */

/* maximum(-0, +0) = +0 and minimum = -0 on either side (IEEE 754-2019;
 * PyTorch's answer depends on the tensor's length, so the fixtures leave
 * these signs out); NaN wins; ties split the gradient. */
START_TEST(maximum_minimum_zeros_nan_and_ties)
{
    tg_tape *t = tg_tape_new();
    int64_t s4[] = {4};
    double av[] = {-0.0, 0.0, NAN, 2}, bv[] = {0.0, -0.0, 1, 2};
    tg_tensor *a = tg_from_data(t, TG_F64, 1, s4, av);
    tg_tensor *b = tg_from_data(t, TG_F64, 1, s4, bv);
    tg_set_requires_grad(a, true);
    tg_set_requires_grad(b, true);
    tg_tensor *mx = tg_maximum(t, a, b), *mn = tg_minimum(t, b, a);
    for (int i = 0; i < 2; i++) {
        ck_assert(tg_data_f64(mx)[i] == 0 && !signbit(tg_data_f64(mx)[i]));
        ck_assert(tg_data_f64(mn)[i] == 0 && signbit(tg_data_f64(mn)[i]));
    }
    ck_assert(isnan(tg_data_f64(mx)[2]) && isnan(tg_data_f64(mn)[2]));
    ck_assert(tg_data_f64(mx)[3] == 2);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, mx)), TG_OK);
    double want[] = {0.5, 0.5, 1, 0.5};   /* ties halve; NaN: both get 1 */
    for (int i = 0; i < 4; i++) {
        ck_assert(tg_data_f64(tg_grad(a))[i] == want[i]);
        ck_assert(tg_data_f64(tg_grad(b))[i] == want[i]);
    }
    tg_tape_free(t);
}
END_TEST

/* The kink hook: which input won each element, ties on the kink. */
START_TEST(maximum_minimum_piece)
{
    tg_tape *t = tg_tape_new();
    int64_t s3[] = {3}, s21[] = {2, 1};
    double av[] = {1, 5, 3}, bv[] = {3, 4};
    tg_tensor *a = tg_from_data(t, TG_F64, 1, s3, av);
    tg_tensor *b = tg_from_data(t, TG_F64, 2, s21, bv);
    tg_tensor *in[2] = {a, b};
    const tg_op *mx = tg_op_find("maximum"), *mn = tg_op_find("minimum");
    ck_assert_ptr_nonnull(mx);
    ck_assert_ptr_nonnull(mn);
    tg_op_ctx c = {t, mx, in, 2, NULL, NULL};
    tg_tensor *y = tg_maximum(t, a, b);       /* (2,3): b broadcasts */
    /* row 0 against 3: 1 < 3, 5 > 3, tie; row 1 against 4 */
    int64_t want_max[] = {1, 0, TG_ON_KINK, 1, 0, 1};
    int64_t want_min[] = {0, 1, TG_ON_KINK, 0, 1, 0};
    for (int64_t i = 0; i < 6; i++) {
        c.op = mx;
        ck_assert_int_eq(mx->piece(&c, y, i), want_max[i]);
        c.op = mn;
        ck_assert_int_eq(mn->piece(&c, y, i), want_min[i]);
    }
    ck_assert(tg_op_find("add")->piece == NULL);
    tg_tape_free(t);
}
END_TEST

/* PyTorch's pow gradient conventions at the edges, by hand: x^0 has
 * gradient 0 even at inf and NaN; 0^p has gradient inf for 0 < p < 1. */
START_TEST(pow_edge_gradients)
{
    tg_tape *t = tg_tape_new();
    int64_t s3[] = {3};
    double xv[] = {0.0, INFINITY, NAN};
    tg_tensor *x = tg_from_data(t, TG_F64, 1, s3, xv);
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_pow(t, x, 0))), TG_OK);
    for (int i = 0; i < 3; i++)
        ck_assert(tg_data_f64(tg_grad(x))[i] == 0 &&
                  !signbit(tg_data_f64(tg_grad(x))[i]));
    tg_zero_grad(x);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_pow(t, x, 0.5))), TG_OK);
    ck_assert(tg_data_f64(tg_grad(x))[0] == INFINITY);
    /* pow_tensor: d/db at a == 0, b >= 0 is 0, not 0 * log 0 = NaN. */
    double av[] = {0, 0, 0}, bv[] = {0, 2, -1};
    tg_tensor *a = tg_from_data(t, TG_F64, 1, s3, av);
    tg_tensor *b = tg_from_data(t, TG_F64, 1, s3, bv);
    tg_set_requires_grad(b, true);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_pow_tensor(t, a, b))),
                     TG_OK);
    ck_assert(tg_data_f64(tg_grad(b))[0] == 0);
    ck_assert(tg_data_f64(tg_grad(b))[1] == 0);
    ck_assert(tg_data_f64(tg_grad(b))[2] == -INFINITY);
    tg_tape_free(t);
}
END_TEST

START_TEST(scalar_shorthands)
{
    tg_tape *t = tg_tape_new();
    int64_t s23[] = {2, 3};
    tg_tensor *x = iota(t, TG_F32, 2, s23, -1);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_mul_scalar(t, tg_add_scalar(t, x, 0.5), -3);
    ck_assert_int_eq(tg_ndim(y), 2);
    ck_assert_int_eq(tg_dtype_of(y), TG_F32);
    for (int i = 0; i < 6; i++)
        ck_assert(tg_data_f32(y)[i] == -3.0f * ((float)(i - 1) + 0.5f));
    /* c is rounded to the tensor's dtype, as PyTorch */
    tg_tensor *z = tg_add_scalar(t, x, 0.1);
    ck_assert(tg_data_f32(z)[1] == 0.1f);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, y)), TG_OK);
    for (int i = 0; i < 6; i++)
        ck_assert(tg_data_f32(tg_grad(x))[i] == -3.0f);
    tg_tape_free(t);
}
END_TEST

/* ---- Gradient checks in f64: every op, broadcasting included. */

/* A deterministic value in [-1, 1). */
static double next_value(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (double)(*state >> 11) / 9007199254740992.0 * 2 - 1;
}

/* Inputs in each op's smooth domain: divisors and bases away from 0,
 * bases positive for pow_tensor, no ties for maximum and minimum. */
static tg_tensor *domain_leaf(tg_tape *t, int ndim, const int64_t *shape,
                              const char *op, int which, uint64_t *state)
{
    tg_tensor *x = tg_empty(t, TG_F64, ndim, shape);
    double *v = tg_mut_f64(x);
    for (int64_t i = 0; i < tg_numel(x); i++) {
        double r = next_value(state);
        if ((strcmp(op, "div") == 0 && which == 1) ||
            (strcmp(op, "pow") == 0 && which == 0))
            v[i] = copysign(0.5 + fabs(r), r);
        else if (strcmp(op, "pow_tensor") == 0 && which == 0)
            v[i] = 0.3 + 1.5 * (r + 1);
        else
            v[i] = 2 * r;
    }
    tg_set_requires_grad(x, true);
    return x;
}

static tg_tensor *binary_f(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return ((const binop *)ud)->fn(t, in[0], in[1]);
}

static const struct {
    int na, nb;
    int64_t a[3], b[3];
} check_shapes[] = {
    {2, 2, {3, 4}, {3, 4}},   {2, 1, {3, 4}, {4}},
    {3, 2, {2, 1, 3}, {4, 1}}, {0, 2, {0}, {2, 3}},
    {2, 0, {2, 3}, {0}},      {2, 2, {5, 1}, {1, 6}},
    {1, 1, {1}, {3}},         {0, 0, {0}, {0}},
    /* leading, middle, scalar-like; rows longer than the 256-element
     * gradient tiles, spread over b or summed into it */
    {2, 2, {1, 6}, {5, 6}},   {3, 3, {4, 1, 5}, {4, 3, 5}},
    {2, 2, {3, 4}, {1, 1}},   {2, 1, {2, 260}, {260}},
    {2, 2, {2, 260}, {2, 1}},
};
#define N_CHECK_SHAPES (int)(sizeof check_shapes / sizeof check_shapes[0])

START_TEST(binary_gradcheck)
{
    const binop *op = &binops[_i];
    uint64_t state = 12345 + (uint64_t)_i;
    for (int k = 0; k < N_CHECK_SHAPES; k++) {
        tg_tape *t = tg_tape_new();
        tg_tensor *in[2] = {
            domain_leaf(t, check_shapes[k].na, check_shapes[k].a, op->name, 0,
                        &state),
            domain_leaf(t, check_shapes[k].nb, check_shapes[k].b, op->name, 1,
                        &state),
        };
        tg_gradcheck_report r;
        ck_assert_int_eq(tg_gradcheck(binary_f, (void *)op, 2, in, NULL, &r),
                         TG_OK);
        ck_assert_msg(r.passed, "%s, shapes #%d: %s", op->name, k, r.message);
        ck_assert_int_eq(r.n_checked, tg_numel(in[0]) + tg_numel(in[1]));
        ck_assert_int_eq(r.n_ambiguous, 0);
        tg_tape_free(t);
    }
}
END_TEST

static const double check_exponents[] = {0, 1, 2, 3, 0.5, -0.5, -1, -2,
                                         2.5, -1.5, 0.3, 4, -3};
#define N_CHECK_EXPONENTS \
    (int)(sizeof check_exponents / sizeof check_exponents[0])

static tg_tensor *pow_f(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n;
    return tg_pow(t, in[0], *(const double *)ud);
}

START_TEST(pow_gradcheck)
{
    double p = check_exponents[_i];
    uint64_t state = 777 + (uint64_t)_i;
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {3, 5};
    tg_tensor *x = domain_leaf(t, 2, shape, "pow", 0, &state);
    /* fractional powers of negative numbers are NaN: check those on x > 0 */
    if (p != floor(p))
        for (int i = 0; i < 15; i++)
            tg_mut_f64(x)[i] = fabs(tg_data_f64(x)[i]);
    tg_ck_assert_gradients(pow_f, &p, 1, &x);
    tg_tape_free(t);
}
END_TEST

static tg_tensor *mul_self_f(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_div(t, tg_mul(t, in[0], in[0]), tg_add_scalar(t, in[0], 3));
}

static tg_tensor *shorthands_f(tg_tape *t, int n, tg_tensor *const *in, void *ud)
{
    (void)n, (void)ud;
    return tg_mul_scalar(t, tg_add_scalar(t, in[0], -0.25), 1.75);
}

/* The same tensor as both inputs, and the scalar shorthands. */
START_TEST(composite_gradcheck)
{
    uint64_t state = 99;
    tg_tape *t = tg_tape_new();
    int64_t shape[] = {4, 3};
    tg_tensor *x = domain_leaf(t, 2, shape, "add", 0, &state);
    tg_ck_assert_gradients(mul_self_f, NULL, 1, &x);
    tg_ck_assert_gradients(shorthands_f, NULL, 1, &x);
    tg_tape_free(t);
}
END_TEST

/* Exact ties are kinks: reported as ambiguous, not as failures. */
START_TEST(maximum_ties_are_ambiguous)
{
    tg_tape *t = tg_tape_new();
    int64_t s4[] = {4};
    double av[] = {1, 2, 3, 4}, bv[] = {1, 0, 3, 5};
    tg_tensor *in[2] = {tg_from_data(t, TG_F64, 1, s4, av),
                        tg_from_data(t, TG_F64, 1, s4, bv)};
    tg_set_requires_grad(in[0], true);
    tg_set_requires_grad(in[1], true);
    for (int k = 4; k <= 5; k++) {
        tg_gradcheck_report r;
        ck_assert_int_eq(tg_gradcheck(binary_f, (void *)&binops[k], 2, in,
                                      NULL, &r), TG_OK);
        ck_assert_msg(r.passed, "%s: %s", binops[k].name, r.message);
        ck_assert_int_eq(r.n_ambiguous, 4);   /* elements 0 and 2, twice */
    }
    tg_tape_free(t);
}
END_TEST

/* ---- Bad input. */

START_TEST(shapes_that_do_not_broadcast)
{
    tg_tape *t = tg_tape_new();
    int64_t s34[] = {3, 4}, s5[] = {5}, s23[] = {2, 3}, s32[] = {3, 2};
    tg_tensor *a = tg_zeros(t, TG_F32, 2, s34);
    tg_tensor *b = tg_zeros(t, TG_F32, 1, s5);
    char want[128];
    for (int k = 0; k < N_BINOPS; k++) {
        tg_clear_error();
        snprintf(want, sizeof want, "tg_%s: shapes (3,4) and (5,) do not "
                 "broadcast", binops[k].name);
        ck_assert_null_msg(binops[k].fn(t, a, b), want);
        ck_assert_int_eq(tg_last_status(), TG_ESHAPE);
    }
    ck_assert_null_msg(tg_mul(t, tg_zeros(t, TG_F64, 2, s23),
                              tg_zeros(t, TG_F64, 2, s32)),
                       "tg_mul: shapes (2,3) and (3,2) do not broadcast");
    ck_assert_int_eq(tg_last_status(), TG_ESHAPE);
    tg_tape_free(t);
}
END_TEST

START_TEST(dtypes_must_match)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *f = tg_scalar(t, TG_F32, 1), *d = tg_scalar(t, TG_F64, 1);
    char want[64];
    for (int k = 0; k < N_BINOPS; k++) {
        snprintf(want, sizeof want, "tg_%s: inputs are f32 and f64",
                 binops[k].name);
        ck_assert_null_msg(binops[k].fn(t, f, d), want);
        ck_assert_int_eq(tg_last_status(), TG_EDTYPE);
    }
    ck_assert_null_msg(tg_add(t, d, f), "tg_add: inputs are f64 and f32");
    ck_assert_int_eq(tg_last_status(), TG_EDTYPE);
    tg_tape_free(t);
}
END_TEST

START_TEST(null_inputs_propagate)
{
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_scalar(t, TG_F64, 2);
    char want[64];
    for (int k = 0; k < N_BINOPS; k++) {
        snprintf(want, sizeof want, "tg_%s: tensor is NULL", binops[k].name);
        tg_clear_error();
        ck_assert_null_msg(binops[k].fn(t, NULL, x), want);
        ck_assert_int_eq(tg_last_status(), TG_EINVAL);
        tg_clear_error();
        ck_assert_null_msg(binops[k].fn(t, x, NULL), want);
        snprintf(want, sizeof want, "tg_%s: tape is NULL", binops[k].name);
        ck_assert_null_msg(binops[k].fn(NULL, x, x), want);
        ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    }
    tg_clear_error();
    ck_assert_null_msg(tg_pow(t, NULL, 2), "tg_pow: tensor is NULL");
    tg_clear_error();
    ck_assert_null_msg(tg_add_scalar(t, NULL, 1),
                       "tg_add_scalar: tensor is NULL");
    ck_assert_null_msg(tg_mul_scalar(NULL, x, 1),
                       "tg_mul_scalar: tape is NULL");
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    /* A failure deep in an expression keeps its message to the end. */
    int64_t s34[] = {3, 4}, s5[] = {5};
    tg_tensor *a = tg_zeros(t, TG_F64, 2, s34);
    tg_tensor *b = tg_zeros(t, TG_F64, 1, s5);
    tg_set_requires_grad(a, true);
    tg_tensor *y = tg_mul_scalar(t, tg_pow(t, tg_sub(t, a, b), 2), 3);
    ck_assert_status(tg_backward(t, tg_sum(t, y)), TG_ESHAPE,
                     "tg_sub: shapes (3,4) and (5,) do not broadcast");
    tg_tape_free(t);
}
END_TEST

/*
 * A broadcasting forward, big enough to need new arena blocks for its
 * outputs; backward then needs more for gradients, temporaries and f32
 * sums.
 */
static tg_tensor *broadcast_forward(tg_tape *t, tg_tensor **leaves)
{
    int64_t sa[] = {300, 40}, sb[] = {40}, sc[] = {300, 1};
    leaves[0] = iota(t, TG_F32, 2, sa, 0);
    leaves[1] = iota(t, TG_F32, 1, sb, 1);
    leaves[2] = iota(t, TG_F32, 2, sc, 1);
    for (int i = 0; i < 3; i++)
        tg_set_requires_grad(leaves[i], true);
    tg_tensor *y = tg_div(t, tg_mul(t, leaves[0], leaves[1]),
                          tg_maximum(t, leaves[2], leaves[1]));
    return tg_sum(t, tg_pow_tensor(t, y, leaves[2]));
}

/*
 * Fail the 1st, 2nd, ... allocation of the forward (then of the backward)
 * until it runs clean: each failure is TG_ENOMEM and leaks nothing.
 */
static int fail_kth_allocation(long k, bool in_backward)
{
    tg_tape *t = tg_tape_new();
    ck_assert_ptr_nonnull(t);
    tg_tensor *leaves[3], *root = NULL;
    if (in_backward)
        ck_assert_ptr_nonnull(root = broadcast_forward(t, leaves));
    tg_test_fail_after(k);
    if (!in_backward)
        root = broadcast_forward(t, leaves);
    int rc = tg_backward(t, root);
    tg_test_fail_after(-1);
    tg_tape_free(t);
    ck_assert_int_eq(tg_test_live_allocations(), 0);
    if (rc != TG_OK) {
        ck_assert_int_eq(rc, TG_ENOMEM);
        ck_assert_message("out of memory");
    }
    return rc;
}

START_TEST(out_of_memory_is_clean)
{
    for (int stage = 0; stage < 2; stage++) {
        long k = 1;
        while (fail_kth_allocation(k, stage == 1) != TG_OK) {
            ck_assert_msg(k < 200, "stage %d never ran clean", stage);
            k++;
        }
        ck_assert_msg(k > 1, "stage %d allocated nothing", stage);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops_binary");
    TCase *tc = tg_test_tcase("forward");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, FX_N_CASES);
    tcase_add_test(tc, broadcast_shapes_and_values);
    tcase_add_test(tc, maximum_minimum_zeros_nan_and_ties);
    tcase_add_test(tc, scalar_shorthands);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradient");
    tcase_add_loop_test(tc, gradient_matches_pytorch, 0, FX_N_CASES);
    tcase_add_test(tc, broadcast_gradients_are_summed);
    tcase_add_test(tc, shared_and_constant_inputs);
    tcase_add_test(tc, pow_edge_gradients);
    tcase_add_test(tc, maximum_minimum_piece);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("gradcheck");
    tcase_add_loop_test(tc, binary_gradcheck, 0, N_BINOPS);
    tcase_add_loop_test(tc, pow_gradcheck, 0, N_CHECK_EXPONENTS);
    tcase_add_test(tc, composite_gradcheck);
    tcase_add_test(tc, maximum_ties_are_ambiguous);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, shapes_that_do_not_broadcast);
    tcase_add_test(tc, dtypes_must_match);
    tcase_add_test(tc, null_inputs_propagate);
    tcase_add_test(tc, out_of_memory_is_clean);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
