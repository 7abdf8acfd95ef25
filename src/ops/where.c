/*
 * where.c — choosing elementwise between two tensors by a mask.
 *
 *     where(cond, a, b) = a where cond != 0, else b
 *     d/da = 1 where cond != 0, else 0;  d/db = the other way round
 *
 * cond is a mask of the same dtype (what tg_gt and the other comparisons
 * make), read as true wherever it is nonzero, NaN included (PyTorch's
 * bool(NaN) is true); -0.0 is false. The three broadcast together by
 * NumPy's rules, and each of a and b gets its gradient summed back over
 * the dims it was broadcast along, as the binary ops do. cond gets none:
 * the choice is piecewise constant in it. Its piece function says so
 * where it matters: an element whose cond is exactly zero is on a kink
 * (a nudge of cond switches it to a), every other one on piece 0.
 */
#include "tapegrad/ops.h"

#include "ops/builtin.h"
#include "tensor/broadcast.h"
#include "tensor/element.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>

/* The step each input's flat index takes along each of the output's dims
 * (0 where it is broadcast). */
static void strides_in(const tg_tensor *x, int ndim, int64_t *st)
{
    int64_t run = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        int dx = d - (ndim - x->ndim);
        if (dx >= 0 && x->shape[dx] != 1) {
            st[d] = run;
            run *= x->shape[dx];
        } else {
            st[d] = 0;
        }
    }
}

/* The three inputs walked in the output's row-major order. */
typedef struct walk {
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    int64_t st[3][TG_MAX_DIMS];
    int64_t idx[TG_MAX_DIMS];
    int64_t off[3];
} walk;

static void walk_init(walk *w, const tg_tensor *const *in, int ndim,
                      const int64_t *shape)
{
    w->ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        w->shape[d] = shape[d];
        w->idx[d] = 0;
    }
    for (int k = 0; k < 3; k++) {
        strides_in(in[k], ndim, w->st[k]);
        w->off[k] = 0;
    }
}

static void walk_next(walk *w)
{
    for (int d = w->ndim - 1; d >= 0; d--) {
        for (int k = 0; k < 3; k++)
            w->off[k] += w->st[k][d];
        if (++w->idx[d] < w->shape[d])
            return;
        for (int k = 0; k < 3; k++)
            w->off[k] -= w->st[k][d] * w->shape[d];
        w->idx[d] = 0;
    }
}

/* The broadcast shape of cond, a and b, or TG_ESHAPE naming all three. */
static int where_shape(tg_tensor *const *in, int *ndim, int64_t *shape)
{
    int n = 0;
    for (int k = 0; k < 3; k++)
        if (tg_ndim(in[k]) > n)
            n = tg_ndim(in[k]);
    for (int d = 0; d < n; d++) {
        int64_t size = 1;
        for (int k = 0; k < 3; k++) {
            int dk = d - (n - tg_ndim(in[k]));
            int64_t s = dk >= 0 ? tg_shape(in[k])[dk] : 1;
            if (s == 1 || s == size)
                continue;
            if (size != 1) {
                char s0[128], s1[128], s2[128];
                return tg_set_error(TG_ESHAPE, "tg_where: shapes cond %s, a "
                                    "%s and b %s do not broadcast",
                                    tg_shape_str(in[0], s0, sizeof s0),
                                    tg_shape_str(in[1], s1, sizeof s1),
                                    tg_shape_str(in[2], s2, sizeof s2));
            }
            size = s;
        }
        shape[d] = size;
    }
    *ndim = n;
    return TG_OK;
}

#define WHERE_LOOP(T, y, in, w, n)                                           \
    do {                                                                     \
        const T *c_ = (const T *)in[0]->data;                         \
        const T *a_ = (const T *)in[1]->data;                         \
        const T *b_ = (const T *)in[2]->data;                         \
        T *y_ = (T *)y->data;                                         \
        for (int64_t i = 0; i < (n); i++, walk_next(w))                      \
            y_[i] = c_[(w)->off[0]] != 0 ? a_[(w)->off[1]]                   \
                                         : b_[(w)->off[2]];                  \
    } while (0)

static tg_tensor *where_forward(tg_op_ctx *c)
{
    int ndim = 0;
    int64_t shape[TG_MAX_DIMS];
    if (where_shape(c->in, &ndim, shape) != TG_OK)
        return NULL;
    tg_tensor *y = tg_empty(c->tape, tg_dtype_of(c->in[0]), ndim, shape);
    if (y == NULL)
        return NULL;
    walk w;
    walk_init(&w, (const tg_tensor *const *)c->in, ndim, shape);
    if (tg_dtype_of(y) == TG_F32)
        WHERE_LOOP(float, y, c->in, &w, tg_numel(y));
    else
        WHERE_LOOP(double, y, c->in, &w, tg_numel(y));
    return y;
}

/*
 * The gradient of input k (1: a, 2: b) at the output's shape: gy where the
 * element came from it, else 0. Written straight into gx when gx has the
 * output's shape; else into scratch on the tape, then summed down.
 */
static int where_grad(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                      tg_tensor *gx, int k)
{
    tg_tensor *full = gx;
    if (!tg__same_shape(gx, y)) {
        full = tg_empty_like(c->tape, y);
        if (full == NULL)
            return tg_last_status();
    }
    walk w;
    walk_init(&w, (const tg_tensor *const *)c->in, tg_ndim(y), tg_shape(y));
    bool want = k == 1;
    for (int64_t i = 0; i < tg_numel(y); i++, walk_next(&w)) {
        bool from_a = tg__get(c->in[0], w.off[0]) != 0;
        tg__set(full, i, from_a == want ? tg__get(gy, i) : 0.0);
    }
    return full == gx ? TG_OK : tg__sum_to(c->tape, gx, full);
}

static int where_backward(tg_op_ctx *c, const tg_tensor *y,
                          const tg_tensor *gy, tg_tensor *const *gx)
{
    if (gx[0] != NULL && tg_grad_fill(gx[0], 0.0) != TG_OK)
        return tg_last_status();
    for (int k = 1; k < 3; k++)
        if (gx[k] != NULL && where_grad(c, y, gy, gx[k], k) != TG_OK)
            return tg_last_status();
    return TG_OK;
}

/* The same derivative with ops: gy where cond else 0 for a, the other way
 * round for b, each summed down to its input's shape; none for cond. */
static int where_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                              const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    tg_tensor *zero = tg_scalar(t, tg_dtype_of(gy), 0.0);
    for (int k = 1; k < 3; k++) {
        if (!want[k])
            continue;
        tg_tensor *full = k == 1 ? tg_where(t, c->in[0], gy, zero)
                                 : tg_where(t, c->in[0], zero, gy);
        gx[k] = tg_sum_to(t, full, c->in[k]);
        if (gx[k] == NULL)
            return tg_last_status();
    }
    return TG_OK;
}

/* Piece 0 where cond is nonzero; a zero cond is on a kink (the element
 * jumps from b to a when cond moves off zero). */
static int64_t where_piece(const tg_op_ctx *c, const tg_tensor *y,
                           int64_t i)
{
    walk w;
    walk_init(&w, (const tg_tensor *const *)c->in, tg_ndim(y), tg_shape(y));
    int64_t off = 0, rest = i;
    for (int d = w.ndim - 1; d >= 0; d--) {
        off += (rest % w.shape[d]) * w.st[0][d];
        rest /= w.shape[d];
    }
    return tg__get(c->in[0], off) != 0 ? 0 : TG_ON_KINK;
}

const tg_op tg__op_where = {
    .name = "where",
    .arity = 3,
    .forward = where_forward,
    .backward = where_backward,
    .backward_ops = where_backward_ops,
    .piece = where_piece,
};

tg_tensor *tg_where(tg_tape *t, tg_tensor *cond, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[3] = {cond, a, b};
    return tg_apply(t, &tg__op_where, 3, in, NULL);
}
