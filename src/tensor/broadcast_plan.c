/*
 * broadcast_plan.c — making a broadcast plan, and running a row kernel
 * over one, in blocks and on several threads when the output is large
 * (see broadcast_plan.h).
 */
#include "tensor/broadcast_plan.h"
#include "tensor/pool.h"
#include "tensor/tensor_struct.h"

/* The step x's flat index takes along each of the output's ndim dims. */
void tg__plan_strides(const tg_tensor *x, int ndim, int64_t *stride)
{
    int64_t run = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        int dx = d - (ndim - x->ndim);
        if (dx >= 0 && x->shape[dx] != 1) {
            stride[d] = run;
            run *= x->shape[dx];
        } else {
            stride[d] = 0;
        }
    }
}

/* Whether output dim d can join the plan's last dim for every input. */
static bool mergeable(const tg__plan *p, int64_t st[2][TG_MAX_DIMS], int d,
                      int64_t size)
{
    for (int k = 0; k < p->nx; k++)
        if (p->stride[k][p->ndim - 1] != st[k][d] * size)
            return false;
    return true;
}

/*
 * The plan for walking an output of shape (ndim, shape) with inputs
 * x[0..nx-1] broadcast to it: size-1 dims dropped, mergeable dims merged.
 */
void tg__plan_init(tg__plan *p, int ndim, const int64_t *shape, int nx,
                   const tg_tensor *const *x)
{
    int64_t st[2][TG_MAX_DIMS];
    for (int k = 0; k < nx; k++)
        tg__plan_strides(x[k], ndim, st[k]);
    p->nx = nx;
    p->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1)
            continue;
        if (p->ndim > 0 && mergeable(p, st, d, shape[d])) {
            p->shape[p->ndim - 1] *= shape[d];
        } else {
            p->shape[p->ndim] = shape[d];
            p->ndim++;
        }
        for (int k = 0; k < nx; k++)
            p->stride[k][p->ndim - 1] = st[k][d];
    }
    if (p->ndim == 0) {                /* one element */
        p->ndim = 1;
        p->shape[0] = 1;
        for (int k = 0; k < nx; k++)
            p->stride[k][0] = 0;
    }
}

/*
 * One block of the output (m rows of n), as the parts tg__parallel_for
 * hands out: a range of rows, or of columns when there is one row. Every
 * element is computed the same way whichever part it falls in.
 */
typedef struct block_job {
    tg__row_fn row;
    int64_t m, n;
    size_t es;
    char *out;
    const char *x[4];
    const int64_t *s;
    const void *prm;
} block_job;

static void block_part(void *job, int64_t b, int64_t e)
{
    const block_job *j = job;
    bool rows = j->m > 1;
    /* Where element (b, 0), or (0, b), is in a, in b, and in g, y, out. */
    int64_t ea = b * j->s[rows ? 2 : 0], eb = b * j->s[rows ? 3 : 1];
    size_t at = (size_t)(rows ? b * j->n : b) * j->es;
    const void *xr[4] = {
        j->x[0] + (size_t)ea * j->es,
        j->x[1] + (size_t)eb * j->es,
        j->x[2] ? j->x[2] + at : NULL,
        j->x[3] ? j->x[3] + at : NULL,
    };
    j->row(rows ? e - b : 1, rows ? j->n : e - b, j->out + at, xr, j->s,
           j->prm);
}

/* row over one block, on several threads when it is large. */
static void run_block(tg__row_fn row, int64_t m, int64_t n, size_t es,
                      void *out, const void *const *x, const int64_t *s,
                      const void *prm)
{
    block_job j = {row, m, n, es, out, {x[0], x[1], x[2], x[3]}, s, prm};
    if (m > 1)
        tg__parallel_for(m, 1, (TG__ELEMENTWISE_PART + n - 1) / n,
                         block_part, &j);
    else
        tg__parallel_for(n, 16, TG__ELEMENTWISE_PART, block_part, &j);
}

/*
 * out = row(a, b, g, y, prm) over the output. The row kernel takes the
 * last two dims as one block (m rows of n), so it is called once per
 * block, not once per row: (N,4) + (4,) is one call, not N.
 * x holds a, b (walked by the plan) and g, y (output-shaped, or NULL).
 */
void tg__plan_run(const tg__plan *p, size_t es, void *out,
                  const void *const *x, tg__row_fn row, const void *prm)
{
    int last = p->ndim - 1, outer = p->ndim >= 2 ? p->ndim - 2 : 0;
    int64_t n = p->shape[last], m = p->ndim >= 2 ? p->shape[last - 1] : 1;
    int64_t s[4] = {p->stride[0][last], p->stride[1][last],
                    p->ndim >= 2 ? p->stride[0][last - 1] : 0,
                    p->ndim >= 2 ? p->stride[1][last - 1] : 0};
    int64_t blocks = 1;
    for (int d = 0; d < outer; d++)
        blocks *= p->shape[d];
    int64_t idx[TG_MAX_DIMS] = {0}, off[2] = {0, 0};
    for (int64_t r = 0; r < blocks; r++) {
        size_t at = (size_t)(r * m * n) * es;
        const void *xr[4] = {
            (const char *)x[0] + (size_t)off[0] * es,
            (const char *)x[1] + (size_t)off[1] * es,
            x[2] ? (const char *)x[2] + at : NULL,
            x[3] ? (const char *)x[3] + at : NULL,
        };
        run_block(row, m, n, es, (char *)out + at, xr, s, prm);
        tg__plan_next(p, outer, idx, off);
    }
}
