/*
 * gemm.c — matrix multiply, the one kernel matmul and its gradients use.
 *
 * The algorithm lives in gemm_kernel.h and is compiled here several times:
 * for AVX-512, for AVX2 with FMA, and as portable C. Which one runs is
 * chosen at run time from what the processor (and the operating system)
 * supports, so one build is fast on a new machine and still correct on an
 * old one or under valgrind, which does not emulate AVX-512. How a
 * product big enough is cut across threads is gemm_split.c's business.
 *
 * Built with meson -Dblas=enabled (TG__CBLAS), tg__gemm_f32 and _f64 hand
 * every product to CBLAS (cblas_sgemm, cblas_dgemm) instead, and this file
 * is the only one that knows: see "CBLAS" at the end.
 */
#include "tapegrad/base.h"
#include "tensor/gemm.h"
#include "tensor/gemm_split.h"

#include <stdio.h>
#include <string.h>

#if TG__CBLAS
#include <cblas.h>
#include <limits.h>
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#define TG__GEMM_X86 1
#include <immintrin.h>
#else
#define TG__GEMM_X86 0
#endif

/* Packing transposes 8x8 (4x4) tiles with vector shuffles where it can. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define TG__GEMM_SHUFFLE 1
#endif
#endif

/* ---- portable C: a 4 by 8 tile of scalars the compiler may vectorise. */
#define GK_T float
#define GK_V float
#define GK_VLEN 1
#define GK_MR 4
#define GK_NV 8
#define GK_KC 256
#define GK_MC 64
#define GK_ATTR
#define GK_SPLAT(x) (x)
#define GK_FMA(a, b, c) ((a) * (b) + (c))
#define GK_NAME(x) portable_f32_##x
#include "gemm_kernel.h"

/* The same for f64; half the depth keeps the buffers the same size. */
#define GK_T double
#define GK_V double
#define GK_VLEN 1
#define GK_MR 4
#define GK_NV 8
#define GK_KC 128
#define GK_MC 64
#define GK_ATTR
#define GK_SPLAT(x) (x)
#define GK_FMA(a, b, c) ((a) * (b) + (c))
#define GK_NAME(x) portable_f64_##x
#include "gemm_kernel.h"

#if TG__GEMM_X86
typedef float v8sf __attribute__((vector_size(32)));
typedef double v4df __attribute__((vector_size(32)));
typedef float v16sf __attribute__((vector_size(64)));
typedef double v8df __attribute__((vector_size(64)));

/* ---- AVX2 + FMA: 16 ymm registers, a 6 by 2-vector tile (12 of them). */
#define GK_T float
#define GK_V v8sf
#define GK_VLEN 8
#define GK_MR 6
#define GK_NV 2
#define GK_KC 256
#define GK_MC 72
#define GK_ATTR __attribute__((target("avx2,fma")))
#define GK_SPLAT(x) ((v8sf)_mm256_set1_ps(x))
#define GK_FMA(a, b, c) ((v8sf)_mm256_fmadd_ps((a), (b), (c)))
#if defined(TG__GEMM_SHUFFLE)
#define GK_TV v8sf
#define GK_TILE 8
#endif
#define GK_NAME(x) avx2_f32_##x
#include "gemm_kernel.h"

#define GK_T double
#define GK_V v4df
#define GK_VLEN 4
#define GK_MR 6
#define GK_NV 2
#define GK_KC 128
#define GK_MC 72
#define GK_ATTR __attribute__((target("avx2,fma")))
#define GK_SPLAT(x) ((v4df)_mm256_set1_pd(x))
#define GK_FMA(a, b, c) ((v4df)_mm256_fmadd_pd((a), (b), (c)))
#if defined(TG__GEMM_SHUFFLE)
#define GK_TV v4df
#define GK_TILE 4
#endif
#define GK_NAME(x) avx2_f64_##x
#include "gemm_kernel.h"

/*
 * ---- AVX-512: 32 zmm registers, an 8 by 2-vector tile (16 of them). On
 * Zen 4 this measured best among 8x2, 12x2, 14x2, 6x4, 4x4 and 8x3 tiles
 * at the MLP shapes (bench/bench_gemm.c); 16 accumulators are enough to
 * cover the latency of two FMA pipes.
 */
#define GK_T float
#define GK_V v16sf
#define GK_VLEN 16
#define GK_MR 8
#define GK_NV 2
#define GK_KC 256
#define GK_MC 64
#define GK_ATTR __attribute__((target("avx512f,avx2,fma")))
#define GK_SPLAT(x) ((v16sf)_mm512_set1_ps(x))
#define GK_FMA(a, b, c) ((v16sf)_mm512_fmadd_ps((a), (b), (c)))
#if defined(TG__GEMM_SHUFFLE)
#define GK_TV v8sf
#define GK_TILE 8
#endif
#define GK_NAME(x) avx512_f32_##x
#include "gemm_kernel.h"

#define GK_T double
#define GK_V v8df
#define GK_VLEN 8
#define GK_MR 8
#define GK_NV 2
#define GK_KC 128
#define GK_MC 64
#define GK_ATTR __attribute__((target("avx512f,avx2,fma")))
#define GK_SPLAT(x) ((v8df)_mm512_set1_pd(x))
#define GK_FMA(a, b, c) ((v8df)_mm512_fmadd_pd((a), (b), (c)))
#if defined(TG__GEMM_SHUFFLE)
#define GK_TV v4df
#define GK_TILE 4
#endif
#define GK_NAME(x) avx512_f64_##x
#include "gemm_kernel.h"

#endif /* TG__GEMM_X86 */

/* The best instruction set this processor and its OS support. */
static int isa_supported(void)
{
#if TG__GEMM_X86
    if (__builtin_cpu_supports("avx512f"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return ISA_AVX2;
#endif
    return ISA_PORTABLE;
}

/* A per-thread ceiling on the instruction set, for tests (gemm.h). */
static _Thread_local int isa_limit = ISA_AVX512;

int tg__gemm_limit_isa(int level)
{
    isa_limit = level;
    return tg__gemm_isa();
}

int tg__gemm_isa(void)
{
    int best = isa_supported();
    return best < isa_limit ? best : isa_limit;
}

/* One product on this thread, with the given instruction set (also
 * called by gemm_split.c for each thread's block). */
void tg__gemm_f32_isa(int isa, bool ta, bool tb, int64_t m, int64_t n,
                         int64_t k, const float *A, int64_t lda,
                         const float *B, int64_t ldb, float beta, float *C,
                         int64_t ldc)
{
    switch (isa) {
#if TG__GEMM_X86
    case ISA_AVX512:
        avx512_f32_gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
        return;
    case ISA_AVX2:
        avx2_f32_gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
        return;
#endif
    default:
        portable_f32_gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
    }
}

void tg__gemm_f64_isa(int isa, bool ta, bool tb, int64_t m, int64_t n,
                         int64_t k, const double *A, int64_t lda,
                         const double *B, int64_t ldb, double beta,
                         double *C, int64_t ldc)
{
    switch (isa) {
#if TG__GEMM_X86
    case ISA_AVX512:
        avx512_f64_gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
        return;
    case ISA_AVX2:
        avx2_f64_gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
        return;
#endif
    default:
        portable_f64_gemm(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc);
    }
}

/* k == 0: C = beta C, which for beta 0 means zeros. */
static bool gemm_trivial(int64_t m, int64_t n, int64_t k, bool beta_zero,
                         void *C, int64_t ldc, size_t es)
{
    if (m <= 0 || n <= 0)
        return true;
    if (k > 0)
        return false;
    for (int64_t i = 0; beta_zero && i < m; i++)
        memset((char *)C + (size_t)(i * ldc) * es, 0, (size_t)n * es);
    return true;
}

/*
 * ---- CBLAS (meson -Dblas=enabled). C = op(A) op(B) + beta C is exactly
 * row-major gemm with alpha 1, the same transpose flags and leading
 * dimensions; BLAS defines beta 0 to ignore C's old values, as we do.
 * tapegrad's thread pool stays out of it: one call per product, which the
 * BLAS library may split across its own threads (OpenBLAS: as many as
 * OPENBLAS_NUM_THREADS or openblas_set_num_threads say, every core by
 * default), whatever tg_set_num_threads says. The packed kernel above
 * still takes any product CBLAS cannot: sizes past its int, or a leading
 * dimension it would reject (less than the row's length; only a
 * one-row operand can have that), where it would print an error and
 * leave C alone.
 */
#if TG__CBLAS
static bool cblas_takes(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                        int64_t lda, int64_t ldb, int64_t ldc)
{
    int64_t a_cols = ta ? m : k, b_cols = tb ? k : n;
    return m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX &&
           ldb <= INT_MAX && ldc <= INT_MAX && lda >= a_cols &&
           ldb >= b_cols && ldc >= n;
}

#define CBLAS_OP(t) ((t) ? CblasTrans : CblasNoTrans)
#endif

/* Which matrix multiply runs on this thread, in words (gemm.h). */
const char *tg__gemm_backend(void)
{
#if TG__CBLAS && TG__OPENBLAS
    static _Thread_local char name[128];
    int threads = openblas_get_num_threads();
    snprintf(name, sizeof name, "CBLAS (%s, core %s, %d thread%s)",
             TG__CBLAS_NAME, openblas_get_corename(), threads,
             threads == 1 ? "" : "s");
    return name;
#elif TG__CBLAS
    return "CBLAS (" TG__CBLAS_NAME ")";
#else
    static const char *const names[] = {"tapegrad portable C",
                                        "tapegrad AVX2+FMA",
                                        "tapegrad AVX-512"};
    return names[tg__gemm_isa()];
#endif
}

/* A trivial product, or one for CBLAS: done here (true), then and all. */
static bool gemm_elsewhere(const tg__gemm_job *j)
{
    size_t es = j->f64 ? sizeof(double) : sizeof(float);
    bool done = gemm_trivial(j->m, j->n, j->k, j->beta == 0, j->C, j->ldc,
                             es);
#if TG__CBLAS
    if (!done && cblas_takes(j->ta, j->tb, j->m, j->n, j->k, j->lda, j->ldb,
                             j->ldc)) {
        if (j->f64)
            cblas_dgemm(CblasRowMajor, CBLAS_OP(j->ta), CBLAS_OP(j->tb),
                        (int)j->m, (int)j->n, (int)j->k, 1.0, j->A,
                        (int)j->lda, j->B, (int)j->ldb, j->beta, j->C,
                        (int)j->ldc);
        else
            cblas_sgemm(CblasRowMajor, CBLAS_OP(j->ta), CBLAS_OP(j->tb),
                        (int)j->m, (int)j->n, (int)j->k, 1.0f, j->A,
                        (int)j->lda, j->B, (int)j->ldb, (float)j->beta,
                        j->C, (int)j->ldc);
        done = true;
    }
#endif
    if (done && j->then != NULL && j->m > 0 && j->n > 0)
        j->then(j->then_ctx, true, 0, j->m);
    return done;
}

void tg__gemm_pair(tg__gemm_job *a, tg__gemm_job *b)
{
    bool a_done = gemm_elsewhere(a), b_done = b ? gemm_elsewhere(b) : true;
    if (!a_done && !b_done)
        tg__gemm_run_pair(a, b);
    else if (!a_done)
        tg__gemm_run(a);
    else if (!b_done)
        tg__gemm_run(b);
}

void tg__gemm_f32_then(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                       const float *A, int64_t lda, const float *B,
                       int64_t ldb, float beta, float *C, int64_t ldc,
                       tg__gemm_then_fn then, void *ctx)
{
    tg__gemm_job j = {.ta = ta, .tb = tb, .f64 = false, .m = m, .n = n,
                      .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .A = A,
                      .B = B, .C = C, .beta = beta, .then = then,
                      .then_ctx = ctx};
    if (!gemm_elsewhere(&j))
        tg__gemm_run(&j);
}

void tg__gemm_f64_then(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                       const double *A, int64_t lda, const double *B,
                       int64_t ldb, double beta, double *C, int64_t ldc,
                       tg__gemm_then_fn then, void *ctx)
{
    tg__gemm_job j = {.ta = ta, .tb = tb, .f64 = true, .m = m, .n = n,
                      .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .A = A,
                      .B = B, .C = C, .beta = beta, .then = then,
                      .then_ctx = ctx};
    if (!gemm_elsewhere(&j))
        tg__gemm_run(&j);
}

void tg__gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc)
{
    tg__gemm_f32_then(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc, NULL,
                      NULL);
}

void tg__gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const double *A, int64_t lda, const double *B, int64_t ldb,
                  double beta, double *C, int64_t ldc)
{
    tg__gemm_f64_then(ta, tb, m, n, k, A, lda, B, ldb, beta, C, ldc, NULL,
                      NULL);
}
