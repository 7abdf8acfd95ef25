/*
 * matmul.c — matrix products with torch.matmul's shape rules: (m,k) @
 * (k,n); a 1-D operand taken as a row (1,k) on the left or a column (k,1)
 * on the right, that 1 dropped from the result (so 1-D @ 1-D is the dot
 * product, shape ()); and any leading "batch" dimensions broadcast
 * NumPy-style, (2,1,3,4) @ (5,4,6) -> (2,5,3,6).
 *
 *     C = A B,   C[i][j] = sum_p A[i][p] B[p][j]
 *     d root / d A = G B^T,   d root / d B = A^T G   (G = d root / d C)
 *
 * Each gradient is itself a matrix product, so forward and both gradients
 * call the one kernel, tg__gemm (src/tensor/gemm.c), whose transpose flags
 * read B^T and A^T in place: no transposed copy is ever made. A batch
 * runs one product per matrix of the result. When b is one matrix for the
 * whole batch ((b,m,k) @ (k,n), or a 1-D b) the batch is a single
 * (b*m,k) @ (k,n) product, whose B gradient A^T G then sums over the batch
 * by itself. An input broadcast along batch dims gets its gradient
 * computed for every matrix of the result, then summed back down to its
 * shape by tg__sum_to, as the elementwise binary ops do.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"
#include "tensor/gemm.h"
#include "tensor/tensor_struct.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The problem as nb products of (m,k) @ (k,n). The result's batch dims
 * are bshape[0..bnd-1]; along each, the matrix of A (B) used steps by
 * sa[d] (sb[d]) elements, 0 where that input is broadcast. na and nbm
 * count the matrices A and B hold; an input holding nb of them is not
 * broadcast, and its gradient needs no summing. */
typedef struct gemm_plan {
    int64_t nb, m, k, n;
    int bnd;
    int64_t bshape[TG_MAX_DIMS];
    int64_t sa[TG_MAX_DIMS], sb[TG_MAX_DIMS];
    int64_t na, nbm;
    int ndim;                          /* the result's shape */
    int64_t shape[TG_MAX_DIMS];
} gemm_plan;

/* TG_ESHAPE for a @ b: the shapes, then what is wrong (a printf format
 * and its arguments). Shapes are formatted here only, on failure:
 * formatting them on every call was 9% of micrograd's demo (W3). */
static int shape_error(const tg_tensor *a, const tg_tensor *b,
                       const char *what, ...)
{
    char sa[128], sb[128], tail[320];
    va_list ap;
    va_start(ap, what);
    vsnprintf(tail, sizeof tail, what, ap);
    va_end(ap);
    return tg_set_error(TG_ESHAPE, "tg_matmul: shapes %s and %s%s",
                        tg_shape_str(a, sa, sizeof sa),
                        tg_shape_str(b, sb, sizeof sb), tail);
}

/* A header-only tensor of shape (x's first nd sizes): the batch dims of
 * x, for the broadcasting helpers, which read ndim and shape alone. */
static tg_tensor batch_of(const tg_tensor *x, int nd)
{
    tg_tensor v;
    memset(&v, 0, sizeof v);
    v.ndim = nd;
    for (int d = 0; d < nd; d++)
        v.shape[d] = x->shape[d];
    return v;
}

/* The step of x's matrices along each of the plan's batch dims, 0 where
 * x (whose batch is bx) is broadcast; returns how many matrices x holds. */
static int64_t batch_steps(const gemm_plan *p, const tg_tensor *bx,
                           int64_t matrix, int64_t *step)
{
    int64_t run = matrix;
    for (int d = p->bnd - 1; d >= 0; d--) {
        int dx = d - (p->bnd - bx->ndim);
        bool spread = dx >= 0 && bx->shape[dx] != 1;
        step[d] = spread ? run : 0;
        run *= spread ? bx->shape[dx] : 1;
    }
    return run / matrix;
}

/* The result's shape: the batch, then m unless a is 1-D, n unless b is. */
static void result_shape(const tg_tensor *a, const tg_tensor *b, gemm_plan *p)
{
    p->ndim = p->bnd;
    memcpy(p->shape, p->bshape, (size_t)p->bnd * sizeof *p->shape);
    if (a->ndim > 1)
        p->shape[p->ndim++] = p->m;
    if (b->ndim > 1)
        p->shape[p->ndim++] = p->n;
}

/* The batch shape a and b broadcast to, or TG_ESHAPE naming both. */
static int plan_batch(const tg_tensor *a, const tg_tensor *b, gemm_plan *p)
{
    tg_tensor ba = batch_of(a, a->ndim > 2 ? a->ndim - 2 : 0);
    tg_tensor bb = batch_of(b, b->ndim > 2 ? b->ndim - 2 : 0);
    if (tg__broadcast_shape("tg_matmul", &ba, &bb, &p->bnd, p->bshape) !=
        TG_OK) {
        char s1[128], s2[128];
        return shape_error(a, b, ": batch dims %s and %s do not broadcast",
                           tg_shape_str(&ba, s1, sizeof s1),
                           tg_shape_str(&bb, s2, sizeof s2));
    }
    p->nb = 1;
    for (int d = 0; d < p->bnd; d++)
        p->nb *= p->bshape[d];
    p->na = batch_steps(p, &ba, p->m * p->k, p->sa);
    p->nbm = batch_steps(p, &bb, p->k * p->n, p->sb);
    return TG_OK;
}

/* The plan for a @ b, or TG_ESHAPE naming both shapes. */
static int plan(const tg_tensor *a, const tg_tensor *b, gemm_plan *p)
{
    if (a->ndim == 0 || b->ndim == 0)
        return shape_error(a, b, ": both must have at least 1 dimension");
    bool av = a->ndim == 1, bv = b->ndim == 1;
    int64_t k = a->shape[a->ndim - 1];
    int64_t kb = b->shape[bv ? 0 : b->ndim - 2];
    if (k != kb)
        return shape_error(a, b, " do not multiply: a has %lld %s, b has "
                           "%lld %s", (long long)k,
                           av ? "elements" : "columns", (long long)kb,
                           bv ? "elements" : "rows");
    p->m = av ? 1 : a->shape[a->ndim - 2];
    p->k = k;
    p->n = bv ? 1 : b->shape[b->ndim - 1];
    if (a->ndim <= 2 && b->ndim <= 2) {  /* no batch: the common case */
        p->bnd = 0;
        p->nb = p->na = p->nbm = 1;
    } else if (plan_batch(a, b, p) != TG_OK)
        return TG_ESHAPE;
    result_shape(a, b, p);
    if (p->nbm == 1 && p->na == p->nb) {
        p->m *= p->nb;                 /* one (nb*m,k) @ (k,n) product */
        p->nb = p->na = 1;
    }
    return TG_OK;
}

/* Where matrix i of the result's batch starts in an input with the
 * given steps. */
static int64_t batch_offset(const gemm_plan *p, const int64_t *step,
                            int64_t i)
{
    int64_t off = 0;
    for (int d = p->bnd - 1; d >= 0 && i > 0; d--) {
        off += i % p->bshape[d] * step[d];
        i /= p->bshape[d];
    }
    return off;
}

/* Which matrices of an operand batch_gemm reads for matrix i: A's, B's
 * (through the plan's steps), or one per result matrix, laid end to end
 * (the upstream gradient). */
enum operand { OF_A, OF_B, OF_G };

static int64_t operand_offset(const gemm_plan *p, enum operand o, int64_t i)
{
    return o == OF_A   ? batch_offset(p, p->sa, i)
           : o == OF_B ? batch_offset(p, p->sb, i)
                       : i * p->m * p->n;
}

/*
 * For each of the plan's nb result matrices, C[i] = X'[i] Y'[i] with the
 * transpose flags and sizes of one tg__gemm call (dtype from C). X and Y
 * are read as the operands ox and oy say; C[i] starts at i * m * n.
 */
static void batch_gemm(const gemm_plan *p, bool ta, bool tb, int64_t m,
                       int64_t n, int64_t k, const tg_tensor *X, int64_t ldx,
                       enum operand ox, const tg_tensor *Y, int64_t ldy,
                       enum operand oy, tg_tensor *C)
{
    for (int64_t i = 0; i < p->nb; i++) {
        int64_t x = operand_offset(p, ox, i), y = operand_offset(p, oy, i);
        if (C->dtype == TG_F32)
            tg__gemm_f32(ta, tb, m, n, k, (const float *)X->data + x, ldx,
                         (const float *)Y->data + y, ldy, 0.0f,
                         (float *)C->data + i * m * n, n);
        else
            tg__gemm_f64(ta, tb, m, n, k, (const double *)X->data + x, ldx,
                         (const double *)Y->data + y, ldy, 0.0,
                         (double *)C->data + i * m * n, n);
    }
}

static tg_tensor *matmul_forward(tg_op_ctx *c)
{
    const tg_tensor *a = c->in[0], *b = c->in[1];
    gemm_plan p;
    if (plan(a, b, &p) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty(c->tape, a->dtype, p.ndim, p.shape);
    if (y != NULL)
        batch_gemm(&p, false, false, p.m, p.n, p.k, a, p.k, OF_A, b, p.n,
                   OF_B, y);
    return y;
}

/*
 * Where the gradient of an input x holding `held` matrices of (rows,cols)
 * goes: straight into gx when x is not broadcast; else into a temporary of
 * the result's batch shape, returned in *full for summing down. NULL after
 * TG_ENOMEM.
 */
static tg_tensor *grad_target(tg_op_ctx *c, const gemm_plan *p, int64_t held,
                              int64_t rows, int64_t cols, tg_tensor *gx)
{
    if (held == p->nb)
        return gx;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, p->bshape, (size_t)p->bnd * sizeof *shape);
    shape[p->bnd] = rows;
    shape[p->bnd + 1] = cols;
    return tg_empty(c->tape, gx->dtype, p->bnd + 2, shape);
}

/* gx = full summed over the batch dims x was broadcast along. gx is seen
 * as x's batch dims, then (rows,cols), so a 1-D x lines up as a row (a)
 * or a column (b). */
static int sum_down(tg_op_ctx *c, tg_tensor *gx, const tg_tensor *x,
                    int64_t rows, int64_t cols, const tg_tensor *full)
{
    if (full == gx)
        return TG_OK;
    tg_tensor view = batch_of(x, x->ndim > 2 ? x->ndim - 2 : 0);
    view.shape[view.ndim++] = rows;
    view.shape[view.ndim++] = cols;
    view.numel = gx->numel;
    view.dtype = gx->dtype;
    view.data = gx->data;
    return tg__sum_to(c->tape, &view, full);
}

/* dA = G B^T, (m,n) @ (n,k); dB = A^T G, (k,m) @ (m,n). */
static int matmul_backward(tg_op_ctx *c, const tg_tensor *y,
                           const tg_tensor *gy, tg_tensor *const *gx)
{
    (void)y;
    const tg_tensor *a = c->in[0], *b = c->in[1];
    gemm_plan p;
    plan(a, b, &p); /* forward checked the shapes */
    if (gx[0] != NULL) {
        tg_tensor *ga = grad_target(c, &p, p.na, p.m, p.k, gx[0]);
        if (ga == NULL)
            return TG_ENOMEM;
        batch_gemm(&p, false, true, p.m, p.k, p.n, gy, p.n, OF_G, b, p.n,
                   OF_B, ga);
        if (sum_down(c, gx[0], a, p.m, p.k, ga) != TG_OK)
            return TG_ENOMEM;
    }
    if (gx[1] != NULL) {
        tg_tensor *gb = grad_target(c, &p, p.nbm, p.k, p.n, gx[1]);
        if (gb == NULL)
            return TG_ENOMEM;
        batch_gemm(&p, true, false, p.k, p.n, p.m, a, p.k, OF_A, gy, p.n,
                   OF_G, gb);
        if (sum_down(c, gx[1], b, p.k, p.n, gb) != TG_OK)
            return TG_ENOMEM;
    }
    return TG_OK;
}

/* The last two dims of x swapped, with ops. */
static tg_tensor *swap_last2(tg_tape *t, tg_tensor *x)
{
    int nd = tg_ndim(x), dims[TG_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        dims[d] = d;
    dims[nd - 2] = nd - 1;
    dims[nd - 1] = nd - 2;
    return tg_permute(t, x, nd, dims);
}

/* A 1-D operand as a matrix: a row on the left, a column on the right. */
static tg_tensor *as_matrix(tg_tape *t, tg_tensor *x, bool left)
{
    if (tg_ndim(x) != 1)
        return x;
    int64_t shape[2] = {left ? 1 : tg_numel(x), left ? tg_numel(x) : 1};
    return tg_reshape(t, x, 2, shape);
}

/*
 * The same derivative with ops: gy @ B^T for A and A^T @ gy for B, in
 * matrix form (1-D operands as a row or a column, as forward takes them),
 * summed over broadcast batch dims and shaped back like each input.
 */
static int matmul_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                               const bool *want, tg_tensor **gx)
{
    tg_tape *t = c->tape;
    tg_tensor *a = as_matrix(t, c->in[0], true);
    tg_tensor *b = as_matrix(t, c->in[1], false);
    if (a == NULL || b == NULL)
        return tg_last_status();
    /* gy with the dims that 1-D operands dropped put back. */
    int64_t shape[TG_MAX_DIMS];
    int nd = tg_ndim(y);
    memcpy(shape, tg_shape(y), (size_t)nd * sizeof *shape);
    if (tg_ndim(c->in[1]) == 1)
        shape[nd++] = 1;
    if (tg_ndim(c->in[0]) == 1) {
        shape[nd] = shape[nd - 1];
        shape[nd - 1] = 1;
        nd++;
    }
    tg_tensor *g = tg__reshape_if_needed(t, gy, nd, shape);
    tg_tensor *ga = want[0] ? tg_matmul(t, g, swap_last2(t, b)) : NULL;
    tg_tensor *gb = want[1] ? tg_matmul(t, swap_last2(t, a), g) : NULL;
    for (int i = 0; i < 2; i++) {
        tg_tensor *gi = i == 0 ? ga : gb, *x = c->in[i];
        if (!want[i])
            continue;
        gi = tg_sum_to(t, gi, i == 0 ? a : b);
        gx[i] = gi == NULL ? NULL
                           : tg__reshape_if_needed(t, gi, tg_ndim(x),
                                                   tg_shape(x));
        if (gx[i] == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

const tg_op tg__op_matmul = {
    .name = "matmul",
    .arity = 2,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .backward_ops = matmul_backward_ops,
};

tg_tensor *tg_matmul(tg_tape *t, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[2] = {a, b};
    return tg_apply(t, &tg__op_matmul, 2, in, NULL);
}
