/*
 * gemm.c — matrix multiply, the one kernel matmul and its gradients use.
 *
 * The algorithm lives in gemm_kernel.h and is compiled here several times:
 * for AVX-512, for AVX2 with FMA, and as portable C. Which one runs is
 * chosen at run time from what the processor (and the operating system)
 * supports, so one build is fast on a new machine and still correct on an
 * old one or under valgrind, which does not emulate AVX-512.
 *
 * Built with meson -Dblas=enabled (TG__CBLAS), tg__gemm_f32 and _f64 hand
 * every product to CBLAS (cblas_sgemm, cblas_dgemm) instead, and this file
 * is the only one that knows: see "CBLAS" at the end.
 */
#include "tapegrad/base.h"
#include "tensor/gemm.h"
#include "tensor/pool.h"

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

enum { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

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

/* One product on this thread, with the given instruction set. */
static void gemm_f32_isa(int isa, bool ta, bool tb, int64_t m, int64_t n,
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

static void gemm_f64_isa(int isa, bool ta, bool tb, int64_t m, int64_t n,
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

/*
 * ---- Threads. A product big enough is cut into blocks of C's rows (or
 * columns), one per thread, each an ordinary single-thread product of A's
 * rows (or B's columns) for that block. Every element of C is still one
 * dot product over all of k in the same order, so the result does not
 * depend on the thread count. The cut goes across the dimension that makes
 * the threads pack less twice: blocks of rows each pack all of B, blocks
 * of columns all of A.
 */
typedef struct gemm_job {
    bool ta, tb, by_rows, f64;
    int isa;
    int64_t m, n, k, lda, ldb, ldc;
    const void *A, *B;
    void *C;
    double beta;
} gemm_job;

/*
 * The fewest multiply-adds a part may have: the least time of a part
 * (twice the cost of a split call, measured by the pool,
 * tg__pool_calibration) at GEMM_MAX_MACS_PER_NS, more than the kernel
 * does on one core (52-57 on the machines measured, f32 AVX-512), so that
 * a part always takes longer than that; at least 2^14, and at most 2^20,
 * the fixed size it had before (which also holds before any calibration).
 * W4's 64x10 layer (164K multiply-adds a product) is no longer split on
 * the Xeon once the cost seen in W4's calls (about 2 us) is reached:
 * split, its three products took 14.8 us against 12.6 alone.
 */
#define GEMM_MAX_MACS_PER_NS 64
#define GEMM_MIN_PART_FLOOR ((int64_t)1 << 14)
#define GEMM_MIN_PART_CAP ((int64_t)1 << 20)

static int64_t gemm_min_part_macs(void)
{
    double part_ns, element;
    tg__pool_calibration(&part_ns, &element);
    double macs = part_ns * GEMM_MAX_MACS_PER_NS;
    if (!(part_ns > 0) || macs >= (double)GEMM_MIN_PART_CAP)
        return GEMM_MIN_PART_CAP;
    return macs > (double)GEMM_MIN_PART_FLOOR ? (int64_t)macs
                                              : GEMM_MIN_PART_FLOOR;
}

/* Rows [begin, end) of C, or columns when the job is cut by columns. */
static void gemm_part(void *ctx, int64_t begin, int64_t end)
{
    const gemm_job *j = ctx;
    int64_t m = j->by_rows ? end - begin : j->m;
    int64_t n = j->by_rows ? j->n : end - begin;
    /* Where the block starts in A (by rows) or B (by columns), and in C. */
    int64_t at = j->by_rows ? (j->ta ? begin : begin * j->lda)
                            : (j->tb ? begin * j->ldb : begin);
    int64_t c_at = j->by_rows ? begin * j->ldc : begin;
    if (j->f64)
        gemm_f64_isa(j->isa, j->ta, j->tb, m, n, j->k,
                     (const double *)j->A + (j->by_rows ? at : 0), j->lda,
                     (const double *)j->B + (j->by_rows ? 0 : at), j->ldb,
                     j->beta, (double *)j->C + c_at, j->ldc);
    else
        gemm_f32_isa(j->isa, j->ta, j->tb, m, n, j->k,
                     (const float *)j->A + (j->by_rows ? at : 0), j->lda,
                     (const float *)j->B + (j->by_rows ? 0 : at), j->ldb,
                     (float)j->beta, (float *)j->C + c_at, j->ldc);
}

/* Rows of C in one register tile of the kernel for this instruction set
 * (GK_MR above): a block of rows that starts at a multiple of it ends in
 * no partial tile but the matrix's last. */
static int64_t tile_rows(int isa)
{
    return isa == ISA_AVX512 ? 8 : isa == ISA_AVX2 ? 6 : 4;
}

/*
 * Cut by rows or by columns? Each thread packs its own rows of A and, by
 * rows, every column of B that it needs: all of them. So blocks of rows
 * pack B once per thread, blocks of columns pack A once per thread. But
 * the kernel reads a row-major B (no transpose) in place, without
 * packing it; then blocks of rows duplicate nothing and are taken when
 * there are rows enough for a whole tile per thread. Blocks of rows have
 * a second merit: each is one contiguous range of C, the same range that
 * the elementwise pass which usually follows (the optimizer's update of a
 * weight gradient, a bias add) gives the same thread, so that thread
 * finds its part of C in its own cache. W4's weight gradient (256 x 784,
 * k 64) took 104 us on 2 threads by columns (1.66x of one thread), and
 * its update ran at 1.45x, reading halves of C that the other core wrote.
 */
static bool cut_by_rows(const gemm_job *j, int threads)
{
    if (!j->tb && j->m >= threads * tile_rows(j->isa) * 4)
        return true;
    return j->m >= j->n;
}

/* Run the job, on several threads when it is big enough. */
static void gemm_run(gemm_job *j)
{
    int threads = tg_num_threads();
    j->isa = tg__gemm_isa(); /* the caller's, also on the workers */
    j->by_rows = cut_by_rows(j, threads);
    int64_t units = j->by_rows ? j->m : j->n;
    int64_t per_unit = (j->by_rows ? j->n : j->m) * j->k;
    int64_t min_macs = threads > 1 ? gemm_min_part_macs()
                                   : GEMM_MIN_PART_CAP;
    int64_t min_part = (min_macs + per_unit - 1) / per_unit;
    /* Blocks of whole register tiles: rows of the kernel's tile, or 32
     * columns (a 2-vector AVX-512 f32 tile). */
    tg__parallel_for(units, j->by_rows ? tile_rows(j->isa) : 32, min_part,
                     gemm_part, j);
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

void tg__gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc)
{
    if (gemm_trivial(m, n, k, beta == 0, C, ldc, sizeof *C))
        return;
#if TG__CBLAS
    if (cblas_takes(ta, tb, m, n, k, lda, ldb, ldc)) {
        cblas_sgemm(CblasRowMajor, CBLAS_OP(ta), CBLAS_OP(tb), (int)m, (int)n,
                    (int)k, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
    gemm_job j = {.ta = ta, .tb = tb, .f64 = false, .m = m, .n = n, .k = k,
                  .lda = lda, .ldb = ldb, .ldc = ldc, .A = A, .B = B,
                  .C = C, .beta = beta};
    gemm_run(&j);
}

void tg__gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const double *A, int64_t lda, const double *B, int64_t ldb,
                  double beta, double *C, int64_t ldc)
{
    if (gemm_trivial(m, n, k, beta == 0, C, ldc, sizeof *C))
        return;
#if TG__CBLAS
    if (cblas_takes(ta, tb, m, n, k, lda, ldb, ldc)) {
        cblas_dgemm(CblasRowMajor, CBLAS_OP(ta), CBLAS_OP(tb), (int)m, (int)n,
                    (int)k, 1.0, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
    gemm_job j = {.ta = ta, .tb = tb, .f64 = true, .m = m, .n = n, .k = k,
                  .lda = lda, .ldb = ldb, .ldc = ldc, .A = A, .B = B,
                  .C = C, .beta = beta};
    gemm_run(&j);
}
