/*
 * test_linear_split.c — tg_linear's bias passes, which run inside the
 * matrix products (src/ops/linear.c, tg__gemm_f32_then): the bias add on
 * each block of y and the bias gradient beside each block of dW; and
 * backward's two products side by side (tg__gemm_pair).
 *
 * For shapes that cut the products by rows and by columns (and one too
 * small to cut), on 1 and on 2 threads: y, dx, dW and db agree bit for
 * bit between the thread counts, and with plain double loops to float
 * rounding. A bias pass that skipped a block, did one twice or summed in
 * another order would fail one or the other.
 */
#include "tg_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct result {
    float *y, *dx, *dw, *db;
} result;

/* A value for element i of a tensor, the same on every run. */
static float value(int64_t i, int salt)
{
    uint32_t h = (uint32_t)(i * 2654435761u) ^ (uint32_t)(salt * 40503);
    return (float)((double)(h % 4001) / 2000.0 - 1.0);
}

/* (rows, cols), or (rows,) for cols < 0. */
static tg_tensor *filled(tg_tape *t, int64_t rows, int64_t cols, int salt)
{
    int64_t shape[2] = {rows, cols};
    tg_tensor *x = tg_empty(t, TG_F32, cols >= 0 ? 2 : 1, shape);
    ck_assert_ptr_nonnull(x);
    float *d = tg_mut_f32(x);
    for (int64_t i = 0; i < tg_numel(x); i++)
        d[i] = value(i, salt);
    return x;
}

static float *copy_out(const float *src, int64_t n)
{
    float *d = malloc((size_t)n * sizeof *d + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d, src, (size_t)n * sizeof *d);
    return d;
}

/* y = x W^T + b and the gradients of sum(y * r), r fixed, on `threads`. */
static result run(int64_t nb, int64_t in, int64_t out, int threads)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_tape *t = tg_tape_new();
    tg_tensor *x = filled(t, nb, in, 1), *w = filled(t, out, in, 2);
    tg_tensor *b = filled(t, out, -1, 3), *r = filled(t, nb, out, 4);
    tg_set_requires_grad(x, true);
    tg_set_requires_grad(w, true);
    tg_set_requires_grad(b, true);
    tg_tensor *y = tg_linear(t, x, w, b);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(tg_backward(t, tg_sum(t, tg_mul(t, y, r))), TG_OK);
    result res = {copy_out(tg_data_f32(y), nb * out),
                  copy_out(tg_data_f32(tg_grad(x)), nb * in),
                  copy_out(tg_data_f32(tg_grad(w)), out * in),
                  copy_out(tg_data_f32(tg_grad(b)), out)};
    tg_tape_free(t);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    return res;
}

static void free_result(result *r)
{
    free(r->y), free(r->dx), free(r->dw), free(r->db);
}

static void assert_close(const float *got, const double *want, int64_t n,
                         const char *what)
{
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= 1e-4 * (fabs(want[i]) + 1),
                      "%s[%lld] = %.9g, expected %.9g", what, (long long)i,
                      got[i], want[i]);
}

/* The same in double, element by element. */
static void check_values(const result *r, int64_t nb, int64_t in,
                         int64_t out)
{
    double *y = calloc((size_t)(nb * out), sizeof *y);
    double *db = calloc((size_t)out, sizeof *db);
    double *dw = calloc((size_t)(out * in), sizeof *dw);
    ck_assert(y != NULL && db != NULL && dw != NULL);
    for (int64_t i = 0; i < nb; i++)
        for (int64_t j = 0; j < out; j++) {
            double s = value(j, 3);
            for (int64_t k = 0; k < in; k++)
                s += (double)value(i * in + k, 1) * value(j * in + k, 2);
            y[i * out + j] = s;
            double g = value(i * out + j, 4);
            db[j] += g;
            for (int64_t k = 0; k < in; k++)
                dw[j * in + k] += g * value(i * in + k, 1);
        }
    assert_close(r->y, y, nb * out, "y");
    assert_close(r->db, db, out, "db");
    assert_close(r->dw, dw, out * in, "dW");
    free(y), free(db), free(dw);
}

static void check_shape(int64_t nb, int64_t in, int64_t out)
{
    result one = run(nb, in, out, 1), two = run(nb, in, out, 2);
    check_values(&one, nb, in, out);
    ck_assert_msg(memcmp(one.y, two.y, (size_t)(nb * out) * 4) == 0 &&
                  memcmp(one.dx, two.dx, (size_t)(nb * in) * 4) == 0 &&
                  memcmp(one.dw, two.dw, (size_t)(out * in) * 4) == 0 &&
                  memcmp(one.db, two.db, (size_t)out * 4) == 0,
                  "(%lld, %lld) -> %lld: 1 and 2 threads differ",
                  (long long)nb, (long long)in, (long long)out);
    free_result(&one);
    free_result(&two);
}

/* W4's layers: y by columns (64 rows, 256 outputs), dW by rows (256);
 * the 10-output layer's dW by columns (too small to cut once the pool is
 * calibrated, cut by columns before); a tall batch that cuts y by rows;
 * one row (sizes are at least 1: tensors have no empty axes); and dx and
 * dW of 393K multiply-adds each, which run side by side, one per thread
 * (tg__gemm_pair), at the split costs seen on the Xeon. */
START_TEST(bias_passes_split_with_the_products)
{
    check_shape(64, 784, 256);
    check_shape(64, 256, 10);
    check_shape(1000, 300, 40);
    check_shape(1, 33, 5);
    check_shape(16, 1024, 24);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linear_split");
    TCase *tc = tg_test_tcase("linear_split");
    tcase_add_test(tc, bias_passes_split_with_the_products);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
