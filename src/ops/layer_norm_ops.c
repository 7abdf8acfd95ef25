/*
 * layer_norm_ops.c — layer norm's derivative written with ops
 * (backward_ops), so that create_graph records a gradient that can be
 * differentiated again. The formulas are layer_norm.c's; x's rows are
 * seen as (rows, n) and worked in double, as the forward does.
 */
#include "tapegrad/ops.h"
#include "tapegrad/sequence.h"

#include "ops/layer_norm.h"

#include <math.h>

/*
 * tg__ln_backward_row_torch's formula with ops, on rows of x (rows, n),
 * gh = g w and rstd (rows, 1), all f64:
 *
 *     ds = sum(gh x),  db = sum(gh),  b = (db mu - ds) rstd^3 / n,
 *     c  = -b mu - db rstd / n,       gx = rstd gh + b x + c
 */
static tg_tensor *ln_torch_gx(tg_tape *t, tg_tensor *x, tg_tensor *gh,
                              tg_tensor *rstd, int64_t n)
{
    tg_tensor *mu = tg_mean_axis(t, x, 1, true);
    tg_tensor *ds = tg_sum_axis(t, tg_mul(t, gh, x), 1, true);
    tg_tensor *db = tg_sum_axis(t, gh, 1, true);
    tg_tensor *r3n = tg_mul_scalar(t, tg_pow(t, rstd, 3.0), 1.0 / (double)n);
    tg_tensor *b = tg_mul(t, tg_sub(t, tg_mul(t, db, mu), ds), r3n);
    tg_tensor *c = tg_sub(t, tg_neg(t, tg_mul(t, b, mu)),
                          tg_mul_scalar(t, tg_mul(t, db, rstd),
                                        1.0 / (double)n));
    return tg_add(t, tg_add(t, tg_mul(t, rstd, gh), tg_mul(t, b, x)), c);
}

/*
 * The same derivative with ops, x seen as (rows, n): xhat and rstd are
 * recomputed from x by ops so that the gradient has a history in x.
 */
int tg__ln_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *gy,
                        const bool *want, tg_tensor **gx)
{
    (void)y;
    tg_tape *t = c->tape;
    const ln_params *p = c->params;
    tg_tensor *x = c->in[0], *w = p->has_w ? c->in[1] : NULL;
    int64_t n = tg__ln_row_size(p), rows = n ? tg_numel(x) / n : 0;
    int64_t flat[2] = {rows, n}, wflat[2] = {1, n};
    /* in double, as the forward: an f32 row's squared deviations (up to
     * 1e77) overflow float but not double */
    tg_dtype dt = tg_dtype_of(x);
    tg_tensor *x2 = tg_cast(t, tg_reshape(t, x, 2, flat), TG_F64);
    tg_tensor *g2 = tg_cast(t, tg_reshape(t, gy, 2, flat), TG_F64);
    tg_tensor *xc = tg_sub(t, x2, tg_mean_axis(t, x2, 1, true));
    tg_tensor *var = tg_mean_axis(t, tg_mul(t, xc, xc), 1, true);
    tg_tensor *rstd = tg_pow(t, tg_add_scalar(t, var, p->eps), -0.5);
    /* NaN where the variance overflowed, as the forward's tg__ln_rstd */
    rstd = tg_where(t, tg_eq_scalar(t, var, INFINITY),
                    tg_scalar(t, TG_F64, NAN), rstd);
    tg_tensor *xh = tg_mul(t, xc, rstd);
    if (want[0]) {
        tg_tensor *gh = w ? tg_mul(t, g2, tg_cast(t, tg_reshape(t, w, 2,
                                                                wflat),
                                                  TG_F64))
                          : g2;
        tg_tensor *m1 = tg_mean_axis(t, gh, 1, true);
        tg_tensor *m2 = tg_mean_axis(t, tg_mul(t, gh, xh), 1, true);
        tg_tensor *d = tg_sub(t, tg_sub(t, gh, m1), tg_mul(t, xh, m2));
        /* rows whose means are not finite take PyTorch's formula, as
         * backward_row does, so NaN and +-inf land where they do there */
        tg_tensor *finite = tg_lt_scalar(
            t, tg_maximum(t, tg_abs(t, m1), tg_abs(t, m2)), INFINITY);
        tg_tensor *gxr = tg_where(t, finite, tg_mul(t, rstd, d),
                                  ln_torch_gx(t, x2, gh, rstd, n));
        gx[0] = tg_reshape(t, tg_cast(t, gxr, dt), tg_ndim(x), tg_shape(x));
        if (gx[0] == NULL)
            return tg_last_status();
    }
    if (p->has_w && want[1]) {
        tg_tensor *s = tg_cast(t, tg_sum_axis(t, tg_mul(t, g2, xh), 0, false),
                               dt);
        gx[1] = tg_reshape(t, s, p->ndim, p->shape);
        if (gx[1] == NULL)
            return tg_last_status();
    }
    int kb = p->has_w ? 2 : 1;
    if (p->has_b && want[kb]) {
        gx[kb] = tg_reshape(t, tg_cast(t, tg_sum_axis(t, g2, 0, false), dt),
                            p->ndim, p->shape);
        if (gx[kb] == NULL)
            return tg_last_status();
    }
    return TG_OK;
}
