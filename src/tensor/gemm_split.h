/*
 * gemm_split.h — internal: one product as a job that gemm_split.c cuts
 * across threads, and the single-thread kernels (gemm.c) it runs for each
 * thread's block.
 */
#ifndef TG_TENSOR_GEMM_SPLIT_H
#define TG_TENSOR_GEMM_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/gemm.h"

/* The instruction sets of gemm.c's kernels (tg__gemm_isa). */
enum { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

/* C = op(A) op(B) + beta C, as tg__gemm_f32 / _f64 (gemm.h) describe it;
 * f64 says which; isa and by_rows are set by tg__gemm_run. */
typedef struct tg__gemm_job {
    bool ta, tb, by_rows, f64;
    int isa;
    int64_t m, n, k, lda, ldb, ldc;
    const void *A, *B;
    void *C;
    double beta;
    tg__gemm_then_fn then; /* may be NULL (gemm.h) */
    void *then_ctx;
} tg__gemm_job;

/* Run the job, on several threads when it is big enough (k > 0, m > 0,
 * n > 0). */
void tg__gemm_run(tg__gemm_job *j);

/* One product on the calling thread, with instruction set isa
 * (one of the ISA_ values). */
void tg__gemm_f32_isa(int isa, bool ta, bool tb, int64_t m, int64_t n,
                      int64_t k, const float *A, int64_t lda, const float *B,
                      int64_t ldb, float beta, float *C, int64_t ldc);
void tg__gemm_f64_isa(int isa, bool ta, bool tb, int64_t m, int64_t n,
                      int64_t k, const double *A, int64_t lda,
                      const double *B, int64_t ldb, double beta, double *C,
                      int64_t ldc);

#endif /* TG_TENSOR_GEMM_SPLIT_H */
