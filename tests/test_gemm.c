/*
 * test_gemm.c — the matrix multiply behind matmul and its gradients
 * (tg__gemm_f32, tg__gemm_f64 in src/tensor/gemm.c), checked against a
 * plain double-precision loop.
 *
 * Every check runs at each instruction set this machine has (portable C,
 * AVX2, AVX-512: tg__gemm_limit_isa), for all four transpose combinations,
 * beta 0 and 1, and sizes that hit every edge of the blocking: single
 * elements, ragged register tiles, several passes over K, several row
 * blocks. Leading dimensions are larger than the rows they hold, and the
 * padding is checked to be left alone.
 */
#include "tg_test.h"

#include "tensor/gemm.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Column padding of every stored matrix, and what C's padding holds. */
enum { PAD = 3 };
static const double SENTINEL = -12345.0;

/*
 * The logical operands of a product, in double but rounded to the element
 * type under test: a is m x k, b is k x n, c (C before the call) is m x n.
 * ref = a b exactly (up to double rounding) and mag = |a| |b|, for the
 * error bound.
 */
typedef struct problem {
    int64_t m, n, k;
    double *a, *b, *c, *ref, *mag;
} problem;

/* A value: a small integer (exact sums) or a real in [-1, 1). */
static double value(bool f64, bool integers, unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    unsigned r = (*seed >> 8) & 0xffffu;
    if (integers)
        return (double)(int)(r % 9) - 4.0;
    double v = (double)r / 32768.0 - 1.0;
    return f64 ? v : (double)(float)v;
}

static double *new_doubles(int64_t count)
{
    double *x = calloc((size_t)(count > 0 ? count : 1), sizeof(double));
    ck_assert_ptr_nonnull(x);
    return x;
}

static problem make_problem(int64_t m, int64_t n, int64_t k, bool f64,
                            bool integers)
{
    problem p = {m, n, k, new_doubles(m * k), new_doubles(k * n),
                 new_doubles(m * n), new_doubles(m * n), new_doubles(m * n)};
    unsigned seed = (unsigned)(m * 31 + n * 7 + k);
    for (int64_t i = 0; i < m * k; i++)
        p.a[i] = value(f64, integers, &seed);
    for (int64_t i = 0; i < k * n; i++)
        p.b[i] = value(f64, integers, &seed);
    for (int64_t i = 0; i < m * n; i++)
        p.c[i] = value(f64, integers, &seed);
    /* The straightforward loop, in the order that reads memory in runs. */
    for (int64_t i = 0; i < m; i++)
        for (int64_t q = 0; q < k; q++)
            for (int64_t j = 0; j < n; j++) {
                double ab = p.a[i * k + q] * p.b[q * n + j];
                p.ref[i * n + j] += ab;
                p.mag[i * n + j] += fabs(ab);
            }
    return p;
}

static void free_problem(problem *p)
{
    free(p->a);
    free(p->b);
    free(p->c);
    free(p->ref);
    free(p->mag);
}

/*
 * The rows x cols matrix x as the call sees it, in the element type: stored
 * transposed if asked, with PAD extra columns holding NaN (a kernel that
 * read them would spread it). Its leading dimension goes to *ld.
 */
static void *store(bool f64, const double *x, int64_t rows, int64_t cols,
                   bool transposed, int64_t *ld)
{
    int64_t srows = transposed ? cols : rows, scols = transposed ? rows : cols;
    *ld = scols + PAD;
    size_t es = f64 ? sizeof(double) : sizeof(float);
    void *y = malloc((size_t)(srows * *ld) * es);
    ck_assert_ptr_nonnull(y);
    for (int64_t r = 0; r < srows; r++)
        for (int64_t c = 0; c < *ld; c++) {
            double v = c >= scols ? NAN
                       : transposed ? x[c * cols + r] : x[r * cols + c];
            if (f64)
                ((double *)y)[r * *ld + c] = v;
            else
                ((float *)y)[r * *ld + c] = (float)v;
        }
    return y;
}

/* C before the call: p's c (or NaN, with nan_c), SENTINEL in the padding. */
static void *store_c(bool f64, const problem *p, bool nan_c)
{
    int64_t ld = p->n + PAD;
    size_t es = f64 ? sizeof(double) : sizeof(float);
    void *y = malloc((size_t)(p->m * ld) * es);
    ck_assert_ptr_nonnull(y);
    for (int64_t i = 0; i < p->m; i++)
        for (int64_t j = 0; j < ld; j++) {
            double v = j >= p->n ? SENTINEL : nan_c ? NAN : p->c[i * p->n + j];
            if (f64)
                ((double *)y)[i * ld + j] = v;
            else
                ((float *)y)[i * ld + j] = (float)v;
        }
    return y;
}

/*
 * Run op(A) op(B) + beta C through tg__gemm at the current instruction set
 * and compare with the reference: within (k + 2) rounding errors of the
 * sum of magnitudes (none when the inputs are small integers, whose sums
 * are exact), C's padding untouched. With nan_c, C starts as NaN, which
 * beta 0 must ignore.
 */
static void check_call(const problem *p, bool f64, bool ta, bool tb,
                       double beta, bool exact, bool nan_c)
{
    int64_t lda, ldb, ldc = p->n + PAD;
    void *A = store(f64, p->a, p->m, p->k, ta, &lda);
    void *B = store(f64, p->b, p->k, p->n, tb, &ldb);
    void *C = store_c(f64, p, nan_c);
    if (f64)
        tg__gemm_f64(ta, tb, p->m, p->n, p->k, A, lda, B, ldb, beta, C, ldc);
    else
        tg__gemm_f32(ta, tb, p->m, p->n, p->k, A, lda, B, ldb, (float)beta,
                     C, ldc);
    /* One assertion per call: Check logs every assertion it evaluates. */
    double eps = f64 ? DBL_EPSILON : FLT_EPSILON;
    int64_t bad = -1, padding = -1;
    double got = 0, want = 0, tol = 0;
    for (int64_t i = 0; i < p->m && bad < 0; i++)
        for (int64_t j = 0; j < ldc; j++) {
            int64_t at = i * ldc + j, ij = i * p->n + j;
            got = f64 ? ((double *)C)[at] : ((float *)C)[at];
            if (j >= p->n) {
                padding = got == SENTINEL ? padding : at;
                continue;
            }
            want = p->ref[ij] + (beta != 0 ? p->c[ij] : 0);
            tol = exact ? 0 : (double)(p->k + 2) * eps *
                              (p->mag[ij] + (beta != 0 ? fabs(p->c[ij]) : 0));
            if (!(fabs(got - want) <= tol)) {
                bad = at;
                break;
            }
        }
    ck_assert_msg(padding < 0, "padding C[%lld][%lld] overwritten",
                  (long long)(padding / ldc), (long long)(padding % ldc));
    ck_assert_msg(bad < 0, "%s ta=%d tb=%d %lldx%lldx%lld beta=%g isa=%d: "
                  "C[%lld][%lld] = %.17g, expected %.17g (tol %g)",
                  f64 ? "f64" : "f32", ta, tb, (long long)p->m,
                  (long long)p->n, (long long)p->k, beta, tg__gemm_isa(),
                  (long long)(bad / ldc), (long long)(bad % ldc), got, want,
                  tol);
    free(A);
    free(B);
    free(C);
}

/*
 * Check an m x n x k product for both dtypes, all transpose combinations
 * and both betas (beta 0 also over a C of NaN), at every instruction set
 * the machine has.
 */
static void check_sizes(int64_t m, int64_t n, int64_t k, bool integers)
{
    for (int f64 = 0; f64 <= 1; f64++) {
        problem p = make_problem(m, n, k, f64, integers);
        for (int level = 0; level <= 2; level++) {
            if (tg__gemm_limit_isa(level) != level)
                continue;
            for (int t = 0; t < 4; t++) {
                bool ta = t & 1, tb = t & 2;
                check_call(&p, f64, ta, tb, 0, integers, false);
                check_call(&p, f64, ta, tb, 0, integers, true);
                check_call(&p, f64, ta, tb, 1, integers, false);
            }
        }
        tg__gemm_limit_isa(2);
        free_problem(&p);
    }
}

START_TEST(single_element)
{
    check_sizes(1, 1, 1, false);
    check_sizes(1, 1, 1, true);
}
END_TEST

START_TEST(ragged_small_sizes)
{
    static const int64_t sizes[][3] = {
        {7, 13, 5}, {5, 7, 13}, {13, 5, 7}, {2, 3, 1}, {1, 40, 3},
        {33, 1, 9}, {9, 17, 33}, {6, 16, 4}, {8, 32, 16}, {12, 48, 8},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_sizes(sizes[i][0], sizes[i][1], sizes[i][2], false);
}
END_TEST

/*
 * Valgrind runs code some fifty times slower; there the large sizes give
 * way to one that still has several passes over K (KC is 256 for f32, 128
 * for f64), several row blocks (MC is at most 96) and ragged edges.
 */
static bool under_valgrind(void)
{
    return getenv("TG_VALGRIND") != NULL;
}

/* Several passes over K and several row blocks, ragged everywhere. */
START_TEST(large_ragged_sizes)
{
    if (under_valgrind()) {
        check_sizes(100, 37, 300, false);
        return;
    }
    check_sizes(65, 257, 785, false);
    check_sizes(65, 785, 257, false);
    check_sizes(130, 70, 300, false);
}
END_TEST

/* Small integers multiply and add exactly: any lost term shows. */
START_TEST(integer_sums_are_exact)
{
    check_sizes(7, 13, 5, true);
    check_sizes(100, 37, 300, true);
}
END_TEST

/* The shapes of an MLP layer 784 -> 256 at batch 64 and its gradients. */
START_TEST(mlp_layer_shapes)
{
    if (under_valgrind())
        return;
    check_sizes(64, 256, 784, false);
    check_sizes(256, 784, 64, false);
    check_sizes(64, 10, 256, false);
}
END_TEST

/*
 * w7ffn: W7's shapes. A shallow product packs taller blocks of A (at depth
 * 64, 256 rows; at depth 100, 160): 300 rows make a tall block and a
 * ragged one. A 16-wide row-major B is read in place by the half-width
 * kernel (AVX-512 f32), a 10-wide one packed with zeros after it.
 */
START_TEST(w7_shapes)
{
    check_sizes(16, 16, 16, false);
    check_sizes(16, 48, 16, true);
    check_sizes(16, 10, 16, true);
    check_sizes(300, 40, 64, true);
    check_sizes(300, 24, 100, true);
    if (under_valgrind())
        return;
    check_sizes(512, 256, 64, false);
    check_sizes(256, 64, 512, false);
}
END_TEST

/* k = 0: C = beta C, so beta 0 zeroes C (even NaN) and beta 1 keeps it. */
START_TEST(empty_inner_dimension)
{
    for (int level = 0; level <= 2; level++) {
        if (tg__gemm_limit_isa(level) != level)
            continue;
        float cf[2][4] = {{NAN, 1, 2, 99}, {3, NAN, 5, 99}};
        double cd[2][4] = {{NAN, 1, 2, 99}, {3, NAN, 5, 99}};
        const float af = 7;
        const double ad = 7;
        tg__gemm_f32(false, false, 2, 3, 0, &af, 1, &af, 3, 1, &cf[0][0], 4);
        ck_assert(isnan(cf[0][0]) && cf[0][1] == 1 && cf[1][2] == 5);
        tg__gemm_f32(true, true, 2, 3, 0, &af, 1, &af, 3, 0, &cf[0][0], 4);
        tg__gemm_f64(false, true, 2, 3, 0, &ad, 1, &ad, 3, 0, &cd[0][0], 4);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                ck_assert(cf[i][j] == 0 && cd[i][j] == 0);
        ck_assert(cf[0][3] == 99 && cf[1][3] == 99 && cd[1][3] == 99);
    }
    tg__gemm_limit_isa(2);
}
END_TEST

/* m = 0 or n = 0: nothing to compute, and nothing is touched. */
START_TEST(empty_output)
{
    float a[4] = {1, 2, 3, 4}, c = 42;
    double ad[4] = {1, 2, 3, 4}, cd = 42;
    tg__gemm_f32(false, false, 0, 1, 2, a, 2, a, 1, 0, &c, 1);
    tg__gemm_f32(false, false, 1, 0, 2, a, 2, a, 1, 0, &c, 1);
    tg__gemm_f64(true, false, 0, 1, 2, ad, 2, ad, 1, 0, &cd, 1);
    tg__gemm_f64(false, true, 1, 0, 2, ad, 2, ad, 2, 0, &cd, 1);
    ck_assert(c == 42 && cd == 42);
}
END_TEST

/* The instruction set can be capped, never raised past the machine's. */
START_TEST(isa_limit_is_a_ceiling)
{
    int best = tg__gemm_limit_isa(2);
    ck_assert_int_ge(best, 0);
    ck_assert_int_le(best, 2);
    ck_assert_int_eq(tg__gemm_isa(), best);
    ck_assert_int_eq(tg__gemm_limit_isa(0), 0);
    ck_assert_int_eq(tg__gemm_isa(), 0);
    ck_assert_int_eq(tg__gemm_limit_isa(1), best < 1 ? best : 1);
    ck_assert_int_eq(tg__gemm_limit_isa(2), best);
}
END_TEST

/*
 * A one-row operand's leading dimension is never used to step to a next
 * row, so callers may pass any (here 1, below the row's length): the
 * products are right at every instruction set, and in a -Dblas=enabled
 * build (where CBLAS would reject such a leading dimension) too. Small
 * integers, so the sums are exact; beta 1 then adds the product again.
 */
START_TEST(one_row_operands)
{
    const float af[5] = {1, -2, 3, 0, 4};
    float bf[5][7];
    double ad[5] = {2, 1, -1, 3, -2}, bd[5] = {1, 4, 2, -3, 1};
    for (int q = 0; q < 5; q++)
        for (int j = 0; j < 7; j++)
            bf[q][j] = (float)((q * 7 + j) % 5 - 2);
    for (int level = 0; level <= 2; level++) {
        if (tg__gemm_limit_isa(level) != level)
            continue;
        /* (1 x 5) @ (5 x 7), A and C one row with leading dimension 1. */
        float cf[7];
        tg__gemm_f32(false, false, 1, 7, 5, af, 1, &bf[0][0], 7, 0, cf, 1);
        for (int j = 0; j < 7; j++) {
            float want = 0;
            for (int q = 0; q < 5; q++)
                want += af[q] * bf[q][j];
            ck_assert_msg(cf[j] == want, "isa %d: C[0][%d] = %g, not %g",
                          level, j, (double)cf[j], (double)want);
        }
        /* a (1 x 5) @ (1 x 5)^T, a dot product, every ld 1; twice. */
        double cd = NAN;
        tg__gemm_f64(false, true, 1, 1, 5, ad, 1, bd, 1, 0, &cd, 1);
        ck_assert_msg(cd == 2 + 4 - 2 - 9 - 2, "isa %d: %g", level, cd);
        tg__gemm_f64(false, true, 1, 1, 5, ad, 1, bd, 1, 1, &cd, 1);
        ck_assert_msg(cd == 2 * (2 + 4 - 2 - 9 - 2), "isa %d: %g", level, cd);
    }
    tg__gemm_limit_isa(2);
}
END_TEST

/* tg__gemm_backend names the kernel in use: CBLAS, or the instruction
 * set tg__gemm_isa reports. */
START_TEST(backend_is_named)
{
    static const char *const names[] = {"tapegrad portable C",
                                        "tapegrad AVX2+FMA",
                                        "tapegrad AVX-512"};
    for (int level = 0; level <= 2; level++) {
        if (tg__gemm_limit_isa(level) != level)
            continue;
        const char *name = tg__gemm_backend();
        ck_assert_ptr_nonnull(name);
        ck_assert_msg(strncmp(name, "CBLAS (", 7) == 0 ||
                          strcmp(name, names[level]) == 0,
                      "isa %d: backend \"%s\"", level, name);
        /* The public name is the same. */
        ck_assert_str_eq(tg_matmul_backend(), name);
    }
    tg__gemm_limit_isa(2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tg_test_tcase("small");
    tcase_add_test(tc, single_element);
    tcase_add_test(tc, ragged_small_sizes);
    tcase_add_test(tc, empty_inner_dimension);
    tcase_add_test(tc, empty_output);
    tcase_add_test(tc, isa_limit_is_a_ceiling);
    tcase_add_test(tc, one_row_operands);
    tcase_add_test(tc, backend_is_named);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("large");
    tcase_add_test(tc, large_ragged_sizes);
    tcase_add_test(tc, integer_sums_are_exact);
    tcase_add_test(tc, mlp_layer_shapes);
    tcase_add_test(tc, w7_shapes); /* w7ffn */
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
