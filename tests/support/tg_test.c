/*
 * tg_test.c — the counting allocator behind every test, and the runner.
 */
#include "tg_test.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Atomic, so that tests running tapes on several threads count right. */
static atomic_long live, calls, fail_at = -1;
static atomic_bool fail_only_one;

/* Whether this allocation call (the n-th since the test began) fails. */
static bool should_fail(long n)
{
    long at = atomic_load(&fail_at);
    if (at < 0)
        return false;
    return atomic_load(&fail_only_one) ? n == at : n >= at;
}

static void *counting_malloc(void *ud, size_t size)
{
    (void)ud;
    if (should_fail(atomic_fetch_add(&calls, 1) + 1))
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&live, 1);
    return p;
}

static void *counting_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (should_fail(atomic_fetch_add(&calls, 1) + 1))
        return NULL;
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL)
        atomic_fetch_add(&live, 1);
    return p;
}

static void counting_free(void *ud, void *ptr)
{
    (void)ud;
    if (ptr != NULL)
        atomic_fetch_sub(&live, 1);
    free(ptr);
}

long tg_test_live_allocations(void) { return atomic_load(&live); }
long tg_test_allocation_calls(void) { return atomic_load(&calls); }

void tg_test_fail_after(long k)
{
    atomic_store(&fail_only_one, false);
    atomic_store(&fail_at, k < 0 ? -1 : atomic_load(&calls) + k);
}

void tg_test_fail_once(long k)
{
    atomic_store(&fail_only_one, true);
    atomic_store(&fail_at, k < 0 ? -1 : atomic_load(&calls) + k);
}

static void setup(void)
{
    atomic_store(&live, 0);
    atomic_store(&calls, 0);
    atomic_store(&fail_at, -1);
    atomic_store(&fail_only_one, false);
    tg_allocator a = {counting_malloc, counting_realloc, counting_free, NULL};
    tg_set_allocator(&a);
    tg_clear_error();
}

static void teardown(void)
{
    long left = atomic_load(&live);
    tg_set_allocator(NULL);
    ck_assert_msg(left == 0, "%ld allocation(s) leaked", left);
}

/* Valgrind runs tests many times slower: every timeout set through here is
 * ten times longer there. */
void tg_test_set_timeout(TCase *tc, double seconds)
{
    tcase_set_timeout(tc, getenv("TG_VALGRIND") ? 10 * seconds : seconds);
}

TCase *tg_test_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tg_test_set_timeout(tc, 60);
    return tc;
}

/* dot(y, w) = sum(y * w); d/dy = w, d/dw = y. */
static tg_tensor *dot_forward(tg_op_ctx *c)
{
    const tg_tensor *y = c->in[0], *w = c->in[1];
    tg_tensor *out = tg_empty(c->tape, tg_dtype_of(y), 0, NULL);
    if (out == NULL)
        return NULL;
    double s = 0;
    for (int64_t i = 0; i < tg_numel(y); i++)
        s += tg_dtype_of(y) == TG_F32
                 ? (double)tg_data_f32(y)[i] * tg_data_f32(w)[i]
                 : tg_data_f64(y)[i] * tg_data_f64(w)[i];
    if (tg_dtype_of(y) == TG_F32)
        *tg_mut_f32(out) = (float)s;
    else
        *tg_mut_f64(out) = s;
    return out;
}

static void scale_into(tg_tensor *g, const tg_tensor *by, double gy)
{
    for (int64_t i = 0; i < tg_numel(g); i++) {
        if (tg_dtype_of(g) == TG_F32)
            tg_mut_f32(g)[i] = (float)(gy * tg_data_f32(by)[i]);
        else
            tg_mut_f64(g)[i] = gy * tg_data_f64(by)[i];
    }
}

static int dot_backward(tg_op_ctx *c, const tg_tensor *out,
                        const tg_tensor *gout, tg_tensor *const *gx)
{
    (void)out;
    double g = tg_item(gout);
    if (gx[0] != NULL)
        scale_into(gx[0], c->in[1], g);
    if (gx[1] != NULL)
        scale_into(gx[1], c->in[0], g);
    return TG_OK;
}

static const tg_op dot_op = {
    .name = "test_dot",
    .arity = 2,
    .forward = dot_forward,
    .backward = dot_backward,
};

tg_tensor *tg_test_dot(tg_tape *t, tg_tensor *y, const double *w)
{
    if (y == NULL)
        return NULL;
    tg_tensor *wt = tg_empty_like(t, y);
    if (wt == NULL)
        return NULL;
    for (int64_t i = 0; i < tg_numel(y); i++) {
        if (tg_dtype_of(y) == TG_F32)
            tg_mut_f32(wt)[i] = (float)w[i];
        else
            tg_mut_f64(wt)[i] = w[i];
    }
    tg_tensor *in[2] = {y, wt};
    return tg_apply(t, &dot_op, 2, in, NULL);
}

int tg_test_close(double a, double b, double rtol, double atol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (a == b)
        return 1;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

int tg_test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

tg_tensor *tg_test_tensor(tg_tape *t, tg_dtype dt, int nd,
                          const int64_t *shape, const double *v)
{
    tg_tensor *x = tg_empty(t, dt, nd, shape);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < tg_numel(x); i++) {
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = (float)v[i];
        else
            tg_mut_f64(x)[i] = v[i];
    }
    return x;
}

tg_tensor *tg_test_leaf(tg_tape *t, tg_dtype dt, int nd, const int64_t *shape,
                        const double *v)
{
    tg_tensor *x = tg_test_tensor(t, dt, nd, shape, v);
    ck_assert_int_eq(tg_set_requires_grad(x, true), TG_OK);
    return x;
}
