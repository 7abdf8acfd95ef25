/*
 * matmul_backend.c — the public name of the matrix multiply in use, for
 * reports and benchmarks (the kernel itself is src/tensor/gemm.c).
 */
#include "tapegrad/base.h"

#include "tensor/gemm.h"

/* What tg__gemm_backend says: CBLAS, or tapegrad's kernel and the
 * instruction set it picked on this machine. */
const char *tg_matmul_backend(void)
{
    return tg__gemm_backend();
}
