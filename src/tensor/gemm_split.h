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

/* Run the job, on several threads when it is big enough (k > 0, m > 0,
 * n > 0; sets its isa and by_rows). */
void tg__gemm_run(tg__gemm_job *j);

/* Run two independent products (a and b write different matrices), side
 * by side on two threads when neither is big enough to be cut but both
 * are worth a thread; else one after the other, each as tg__gemm_run.
 * Each job's m, n and k must be at least 1. */
void tg__gemm_run_pair(tg__gemm_job *a, tg__gemm_job *b);

/* Blocks of rows of a split by rows start at multiples of this many rows
 * (the kernel's register tile for the instruction set in use). A later
 * pass over C that cuts its rows the same way (sgd.c) gives each thread
 * the rows that thread wrote, still in its own cache. */
int64_t tg__gemm_split_rows(void);

/* Where block i of `parts` starts in a split of `rows` rows by rows, on
 * `parts` threads (rows if i >= parts): the first blocks get the same
 * number of whole tiles, the last what is left. */
int64_t tg__gemm_block_start(int64_t rows, int parts, int i);

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
