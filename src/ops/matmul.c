/*
 * matmul.c — matrix products: (m,k) @ (k,n), batched (b,m,k) @ (b,k,n),
 * and (b,m,k) @ (k,n), one matrix applied to a batch.
 *
 *     C = A B,   C[i][j] = sum_p A[i][p] B[p][j]
 *     d root / d A = G B^T,   d root / d B = A^T G   (G = d root / d C)
 *
 * Each gradient is itself a matrix product, so forward and both gradients
 * call the one kernel, tg__gemm (src/tensor/gemm.c), whose transpose flags
 * read B^T and A^T in place: no transposed copy is ever made. A batch
 * runs one product per matrix; (b,m,k) @ (k,n) is a single (b*m,k) @ (k,n)
 * product, whose B gradient A^T G then sums over the batch by itself.
 */
#include "builtin.h"

#include <stdio.h>

/* The problem as nb products of (m,k) @ (k,n), with the step between
 * consecutive matrices of A, B and C (0 for a B shared by the batch). */
typedef struct gemm_plan {
    int64_t nb, m, k, n;
    int64_t step_a, step_b, step_c;
} gemm_plan;

/* TG_ESHAPE for a @ b: the shapes, then what is wrong (a format taking
 * two long longs or none). Shapes are formatted here only, on failure:
 * formatting them on every call was 9% of micrograd's demo (W3). */
static int shape_error(const tg_tensor *a, const tg_tensor *b,
                       const char *what, long long v1, long long v2)
{
    char sa[128], sb[128], tail[160];
    snprintf(tail, sizeof tail, what, v1, v2);
    return tg_set_error(TG_ESHAPE, "tg_matmul: shapes %s and %s%s",
                        tg_shape_str(a, sa, sizeof sa),
                        tg_shape_str(b, sb, sizeof sb), tail);
}

/* The plan for a @ b, or TG_ESHAPE naming both shapes. */
static int plan(const tg_tensor *a, const tg_tensor *b, gemm_plan *p)
{
    bool batched = a->ndim == 3 && b->ndim == 3;
    if (!(a->ndim == 2 || a->ndim == 3) || !(b->ndim == 2 || batched))
        return shape_error(a, b, ": matmul takes (m,k) @ (k,n), "
                           "(b,m,k) @ (b,k,n) or (b,m,k) @ (k,n)", 0, 0);
    int64_t k = a->shape[a->ndim - 1], kb = b->shape[b->ndim - 2];
    if (k != kb)
        return shape_error(a, b, " do not multiply: a has %lld columns, b "
                           "has %lld rows", (long long)k, (long long)kb);
    if (batched && a->shape[0] != b->shape[0])
        return shape_error(a, b, " have batches of %lld and %lld matrices",
                           (long long)a->shape[0], (long long)b->shape[0]);
    p->nb = batched ? a->shape[0] : 1;
    p->m = a->numel / k / p->nb;      /* (b,m,k) @ (k,n): m is b*m */
    p->k = k;
    p->n = b->shape[b->ndim - 1];
    p->step_a = p->m * k;
    p->step_b = batched ? k * p->n : 0;
    p->step_c = p->m * p->n;
    return TG_OK;
}

/*
 * C[i] = A'[i] B'[i] for each matrix of the batch, with the transpose
 * flags and sizes of one tg__gemm call; dtype from C. The pointers are
 * each matrix's start and *_step the distance to the next.
 */
static void gemm_batch(bool ta, bool tb, int64_t nb, int64_t m, int64_t n,
                       int64_t k, const tg_tensor *A, int64_t lda,
                       int64_t step_a, const tg_tensor *B, int64_t ldb,
                       int64_t step_b, tg_tensor *C, int64_t step_c)
{
    for (int64_t i = 0; i < nb; i++) {
        if (C->dtype == TG_F32)
            tg__gemm_f32(ta, tb, m, n, k, (const float *)A->data + i * step_a,
                         lda, (const float *)B->data + i * step_b, ldb, 0.0f,
                         (float *)C->data + i * step_c, n);
        else
            tg__gemm_f64(ta, tb, m, n, k, (const double *)A->data + i * step_a,
                         lda, (const double *)B->data + i * step_b, ldb, 0.0,
                         (double *)C->data + i * step_c, n);
    }
}

static tg_tensor *matmul_forward(tg_op_ctx *c)
{
    const tg_tensor *a = c->in[0], *b = c->in[1];
    gemm_plan p = {0};
    if (plan(a, b, &p) != TG_OK)
        return NULL;
    int64_t shape[3];
    int nd = a->ndim;
    for (int d = 0; d < nd - 1; d++)
        shape[d] = a->shape[d];
    shape[nd - 1] = p.n;
    tg_tensor *y = tg_empty(c->tape, a->dtype, nd, shape);
    if (y != NULL)
        gemm_batch(false, false, p.nb, p.m, p.n, p.k, a, p.k, p.step_a, b,
                   p.n, p.step_b, y, p.step_c);
    return y;
}

/* dA = G B^T, (m,n) @ (n,k); dB = A^T G, (k,m) @ (m,n). */
static int matmul_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const tg_tensor *a = c->in[0], *b = c->in[1];
    gemm_plan p = {0};
    plan(a, b, &p); /* forward checked the shapes */
    if (gx[0] != NULL)
        gemm_batch(false, true, p.nb, p.m, p.k, p.n, gy, p.n, p.step_c, b,
                   p.n, p.step_b, gx[0], p.step_a);
    if (gx[1] != NULL)
        gemm_batch(true, false, p.nb, p.k, p.n, p.m, a, p.k, p.step_a, gy,
                   p.n, p.step_c, gx[1], p.step_b);
    return TG_OK;
}

const tg_op tg__op_matmul = {
    .name = "matmul",
    .arity = 2,
    .forward = matmul_forward,
    .backward = matmul_backward,
};

tg_tensor *tg_matmul(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_matmul, in, 2, NULL);
}
