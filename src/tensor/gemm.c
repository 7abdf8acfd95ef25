/*
 * gemm.c — matrix multiply, the one kernel matmul and its gradients use.
 *
 * This is the plain reference loop; a blocked, vectorised kernel replaces
 * it without changing the interface (see internal.h).
 */
#include "internal.h"

#define GEMM_REFERENCE(T, suffix)                                             \
    void tg__gemm_##suffix(bool ta, bool tb, int64_t m, int64_t n, int64_t k, \
                           const T *A, int64_t lda, const T *B, int64_t ldb,  \
                           T beta, T *C, int64_t ldc)                         \
    {                                                                         \
        for (int64_t i = 0; i < m; i++)                                       \
            for (int64_t j = 0; j < n; j++) {                                 \
                T acc = 0;                                                    \
                for (int64_t p = 0; p < k; p++)                               \
                    acc += (ta ? A[p * lda + i] : A[i * lda + p]) *           \
                           (tb ? B[j * ldb + p] : B[p * ldb + j]);            \
                C[i * ldc + j] = beta == 0 ? acc : C[i * ldc + j] + acc;      \
            }                                                                 \
    }

GEMM_REFERENCE(float, f32)
GEMM_REFERENCE(double, f64)
