/*
 * broadcast_grad.c — the gradient side of broadcasting: summing a
 * gradient back down to an input's shape (tg__sum_to), and computing an
 * input's gradient tile by tile while summing it (tg__broadcast_grad).
 */
#include "tensor/broadcast.h"
#include "tensor/broadcast_plan.h"
#include "tensor/pool.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

/* ---- Summing down to a shape. Accumulators are double for both dtypes. */

/* Rows longer than this are summed in halves; it is also the length of
 * the gradient tiles below, which is what keeps their sums the same. */
#define TILE 256

/* acc[j] += x[j]: a row of the source landing on a row of the target. */
static void add_row_f32(double *restrict acc, const float *restrict x,
                        int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        acc[j] += x[j];
}

static void add_row_f64(double *restrict acc, const double *restrict x,
                        int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        acc[j] += x[j];
}

/* The sum of a row that lands on one target element: four lanes so the
 * loop vectorises, split in halves above TILE so the error grows with
 * log n rather than n. */
#define ROW_SUM(name, T)                                                     \
    static double name(const T *restrict x, int64_t n)                       \
    {                                                                        \
        if (n > TILE)                                                        \
            return name(x, n / 2) + name(x + n / 2, n - n / 2);              \
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                               \
        int64_t j = 0;                                                       \
        for (; j + 4 <= n; j += 4) {                                         \
            s0 += x[j];                                                      \
            s1 += x[j + 1];                                                  \
            s2 += x[j + 2];                                                  \
            s3 += x[j + 3];                                                  \
        }                                                                    \
        for (; j < n; j++)                                                   \
            s0 += x[j];                                                      \
        return (s0 + s1) + (s2 + s3);                                        \
    }
ROW_SUM(row_sum_f32, float)
ROW_SUM(row_sum_f64, double)

/* acc (dst's shape, zeroed) += src summed over dst's broadcast dims. */
static void accumulate(double *acc, const tg_tensor *dst, const tg_tensor *src)
{
    tg__plan pl;
    tg__plan_init(&pl, src->ndim, src->shape, 1, &dst);
    int64_t n, rows = tg__plan_rows(&pl, &n);
    bool spread = pl.stride[0][pl.ndim - 1] == 1;
    int64_t idx[TG_MAX_DIMS] = {0}, off[1] = {0};
    for (int64_t r = 0; r < rows; r++) {
        if (src->dtype == TG_F32) {
            const float *row = (const float *)src->data + r * n;
            if (spread)
                add_row_f32(acc + off[0], row, n);
            else
                acc[off[0]] += row_sum_f32(row, n);
        } else {
            const double *row = (const double *)src->data + r * n;
            if (spread)
                add_row_f64(acc + off[0], row, n);
            else
                acc[off[0]] += row_sum_f64(row, n);
        }
        tg__plan_next(&pl, pl.ndim - 1, idx, off);
    }
}

/* Zeroed double sums for dst: dst's own memory when it is f64, else
 * scratch on t's arena (dst's size, not the source's). NULL, with
 * TG_ENOMEM set, when out of memory. */
static double *sums_begin(tg_tape *t, tg_tensor *dst)
{
    double *acc = dst->data;
    if (dst->dtype == TG_F32) {
        size_t bytes = (size_t)dst->numel * sizeof *acc;
        acc = tg__arena_alloc(&t->arena, bytes);
        if (acc == NULL) {
            tg_set_error(TG_ENOMEM, "tg_backward: out of memory for %zu "
                         "bytes of gradient sums", bytes);
            return NULL;
        }
    }
    memset(acc, 0, (size_t)dst->numel * sizeof *acc);
    return acc;
}

/* dst = the sums, rounded to float once at the end when dst is f32. */
static void sums_end(tg_tensor *dst, const double *acc)
{
    if (dst->dtype == TG_F32) {
        float *d = dst->data;
        for (int64_t j = 0; j < dst->numel; j++)
            d[j] = (float)acc[j];
    }
}

int tg__sum_to(tg_tape *t, tg_tensor *dst, const tg_tensor *src)
{
    size_t es = tg_dtype_size(dst->dtype);
    if (tg__same_shape(dst, src)) {
        memcpy(dst->data, src->data, (size_t)dst->numel * es);
        return TG_OK;
    }
    double *acc = sums_begin(t, dst);
    if (acc == NULL)
        return TG_ENOMEM;
    accumulate(acc, dst, src);
    sums_end(dst, acc);
    return TG_OK;
}

/*
 * ---- Gradients of broadcast inputs, summed as they are computed.
 *
 * An input that was broadcast gets, for each of its elements, the sum of
 * row(a, b, g, y) over the output elements that used it: in
 * (64,256) * (256,), b's gradient is the column sums of g * a. Rather
 * than computing all of that output-shaped gradient and then summing it
 * (a (64,256) temporary and a second pass over it), the gradient is made
 * one tile of a row at a time, in a buffer on the stack that stays in
 * cache, and folded into the sums at once. The sums are taken in
 * tg__sum_to's order, so the results are the same, bit for bit.
 */

/* One output row as a gradient row kernel reads it: a and b at the row's
 * first element with their steps along the row, and g and y there. */
typedef struct grad_row {
    tg__row_fn fn;
    const void *prm;
    size_t es;
    const char *x[4];                  /* a, b, g, y */
    int64_t s[4];                      /* a's and b's steps; then 0, 0 */
} grad_row;

typedef union tile {
    float f32[TILE];
    double f64[TILE];
} tile;

/* The row's gradient elements [c, c + len), len <= TILE, into buf. */
static void grad_tile(const grad_row *w, int64_t c, int64_t len, tile *buf)
{
    const void *xt[4] = {
        w->x[0] + (size_t)(c * w->s[0]) * w->es,
        w->x[1] + (size_t)(c * w->s[1]) * w->es,
        w->x[2] + (size_t)c * w->es,
        w->x[3] + (size_t)c * w->es,
    };
    w->fn(1, len, buf, xt, w->s, w->prm);
}

/* acc[j] += gradient element j for j in [c, e), for a row that lands on
 * a row of the input (its step along the row is 1). */
static void spread_grad(const grad_row *w, int64_t c, int64_t e, double *acc)
{
    tile buf;
    for (; c < e; c += TILE) {
        int64_t len = e - c < TILE ? e - c : TILE;
        grad_tile(w, c, len, &buf);
        if (w->es == sizeof(float))
            add_row_f32(acc + c, buf.f32, len);
        else
            add_row_f64(acc + c, buf.f64, len);
    }
}

/* The sum of the gradient elements [c, c + len) of a row that lands on one
 * element of the input, halved above TILE exactly as row_sum halves. */
static double sum_grad(const grad_row *w, int64_t c, int64_t len)
{
    if (len > TILE)
        return sum_grad(w, c, len / 2) +
               sum_grad(w, c + len / 2, len - len / 2);
    tile buf;
    grad_tile(w, c, len, &buf);
    return w->es == sizeof(float) ? row_sum_f32(buf.f32, len)
                                  : row_sum_f64(buf.f64, len);
}

/* The walk over the output for the gradient of input k (0: a, 1: b). */
typedef struct grad_job {
    tg__plan pl;
    int k;
    int64_t rows, n;                   /* rows of n elements */
    const tg_tensor *a, *b, *g, *y;
    tg__row_fn fn;
    const void *prm;
    double *acc;                       /* the input's shape */
} grad_job;

/* Row r, where a and b are at offsets off, as a grad_row. */
static grad_row row_at(const grad_job *j, int64_t r, const int64_t *off)
{
    size_t es = tg_dtype_size(j->y->dtype), at = (size_t)(r * j->n) * es;
    int last = j->pl.ndim - 1;
    return (grad_row){
        j->fn, j->prm, es,
        {(const char *)j->a->data + (size_t)off[0] * es,
         (const char *)j->b->data + (size_t)off[1] * es,
         (const char *)j->g->data + at, (const char *)j->y->data + at},
        {j->pl.stride[0][last], j->pl.stride[1][last], 0, 0},
    };
}

/* Columns [c, e) of every row, when rows land on rows of the input: a
 * part of a threaded walk. Parts own disjoint columns of the sums, and
 * each sum takes its rows in order wherever the columns were cut. */
static void spread_part(void *job, int64_t c, int64_t e)
{
    const grad_job *j = job;
    int64_t idx[TG_MAX_DIMS] = {0}, off[2] = {0, 0};
    for (int64_t r = 0; r < j->rows; r++) {
        grad_row w = row_at(j, r, off);
        spread_grad(&w, c, e, j->acc + off[j->k]);
        tg__plan_next(&j->pl, j->pl.ndim - 1, idx, off);
    }
}

/* Every row, when each lands on one element of the input. Rows may share
 * that element, so this walk stays on one thread. */
static void sum_rows(const grad_job *j)
{
    int64_t idx[TG_MAX_DIMS] = {0}, off[2] = {0, 0};
    for (int64_t r = 0; r < j->rows; r++) {
        grad_row w = row_at(j, r, off);
        j->acc[off[j->k]] += sum_grad(&w, 0, j->n);
        tg__plan_next(&j->pl, j->pl.ndim - 1, idx, off);
    }
}

int tg__broadcast_grad(tg_tape *t, tg_tensor *gx, const tg_tensor *a,
                       const tg_tensor *b, const tg_tensor *g,
                       const tg_tensor *y, const tg__row_fn row[2],
                       const void *p)
{
    grad_job j = {.a = a, .b = b, .g = g, .y = y, .fn = row[y->dtype],
                  .prm = p};
    const tg_tensor *ab[2] = {a, b};
    tg__plan_init(&j.pl, y->ndim, y->shape, 2, ab);
    if (tg__same_shape(gx, y)) {       /* nothing to sum: write gx */
        const void *x[4] = {a->data, b->data, g->data, y->data};
        tg__plan_run(&j.pl, tg_dtype_size(y->dtype), gx->data, x, j.fn, p);
        return TG_OK;
    }
    /* gx has the shape of exactly one input: a and b of one shape would
     * make y that shape too. */
    j.k = tg__same_shape(gx, a) ? 0 : 1;
    j.acc = sums_begin(t, gx);
    if (j.acc == NULL)
        return TG_ENOMEM;
    j.rows = tg__plan_rows(&j.pl, &j.n);
    if (j.pl.stride[j.k][j.pl.ndim - 1] == 1)
        tg__parallel_for(j.n, TILE, (TG__ELEMENTWISE_PART + j.rows - 1) /
                         j.rows, spread_part, &j);
    else
        sum_rows(&j);
    sums_end(gx, j.acc);
    return TG_OK;
}
