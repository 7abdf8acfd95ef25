/*
 * gemm.h — the matrix multiply under matmul and linear
 * (src/tensor/gemm.c, with CBLAS or the instruction set chosen in
 * src/tensor/matmul_backend.c).
 */
#ifndef TG_TENSOR_GEMM_H
#define TG_TENSOR_GEMM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * C = A' B' + beta C with A' = ta ? A^T : A (m x k) and B' = tb ? B^T : B
 * (k x n); row-major, leading dimensions lda, ldb, ldc; beta is 0 or 1
 * (with beta 0, C's old values, even NaN, are ignored).
 */
void tg__gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc);
void tg__gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                  const double *A, int64_t lda, const double *B, int64_t ldb,
                  double beta, double *C, int64_t ldc);
/*
 * The same, then then(ctx, by_rows, begin, end) on each block of C as soon
 * as it is done, on the thread that computed it: rows [begin, end) of C
 * when by_rows, else columns [begin, end) of every row. A product split
 * across threads calls it once per thread's block, a product on one
 * thread once with the whole of C; the blocks never overlap and together
 * cover C once. A pass over C that follows the product (linear's bias
 * add, or its bias gradient beside the weight gradient) is so split with
 * it, and finds its block in the cache of the core that wrote it.
 */
typedef void (*tg__gemm_then_fn)(void *ctx, bool by_rows, int64_t begin,
                                 int64_t end);
void tg__gemm_f32_then(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                       const float *A, int64_t lda, const float *B,
                       int64_t ldb, float beta, float *C, int64_t ldc,
                       tg__gemm_then_fn then, void *ctx);
void tg__gemm_f64_then(bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                       const double *A, int64_t lda, const double *B,
                       int64_t ldb, double beta, double *C, int64_t ldc,
                       tg__gemm_then_fn then, void *ctx);
/*
 * One product as data: C = op(A) op(B) + beta C as tg__gemm_f32 / _f64
 * describe it (f64 says which), then `then` on C's blocks if not NULL;
 * isa and by_rows are the gemm's own (set when it runs). tg__gemm_pair
 * runs two of them that write different matrices, side by side on two
 * threads when neither is big enough to be cut across threads alone but
 * both are worth a thread (gemm_split.c); the results are those of two
 * tg__gemm_*_then calls. b may be NULL: a alone.
 */
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
void tg__gemm_pair(tg__gemm_job *a, tg__gemm_job *b);

/*
 * The instruction set tg__gemm_* uses on this thread: 0 portable C, 1 AVX2
 * with FMA, 2 AVX-512; the best the machine supports, capped by
 * tg__gemm_limit_isa(level) (for tests and benchmarks), which returns the
 * level now in use.
 */
int tg__gemm_isa(void);
int tg__gemm_limit_isa(int level);
/*
 * The matrix multiply tg__gemm_* uses on this thread, in words, for
 * benchmarks to print: "tapegrad AVX-512" (AVX2+FMA, portable C), or
 * "CBLAS (...)" in a build with meson -Dblas=enabled, where the
 * instruction set above only applies to products CBLAS cannot take.
 */
const char *tg__gemm_backend(void);

#endif /* TG_TENSOR_GEMM_H */
