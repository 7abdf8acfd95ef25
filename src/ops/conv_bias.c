/*
 * conv_bias.c — the bias gradient of a convolution:
 *
 *     gb[o] = sum over n and every output pixel of gy[n, o, ...]
 *
 * Each channel's sum is independent of the others', so the threads split
 * the channels: one thread sums a channel whole, in the same order
 * whatever the thread count (bit-identical results), and nothing is left
 * to add up afterwards. At W6's shapes (64 x 6 x 28 x 28 and
 * 64 x 16 x 10 x 10, 400K floats a step) this was the largest piece of
 * conv's backward left on the calling thread alone.
 *
 * conv's own backward mostly does not call it: the weight gradient's
 * kernels sum the same bias gradient inside their own split call (the
 * direct kernel per output channel, the implicit ones from row sums of gy
 * made where gy is turned round), with this file's row sum in this
 * file's order, so the bits are these (tests/test_conv_fused.c).
 *
 * The same sum is also an op, conv_bias_grad (gy (N, O, ...) to (O,)), for
 * conv's backward_ops (tg_vjp, gradients of gradients): one pass over gy
 * where two tg_sum_axis calls made an (N, O) tensor first. Its own
 * gradient spreads G (O,) back over gy's shape.
 */
#include "ops/builtin.h"
#include "ops/conv_kernel.h"

#include "tensor/pool.h"
#include "tensor/tensor_struct.h"

#include <tapegrad.h>

typedef struct bias_job {
    tg_dtype dt;
    const tg__conv_geom *g;
    const void *gy;
    void *gb;
} bias_job;

/* One f32 row of P values: 16 running sums (a vectorised loop), then the
 * tail, then the 16 sums in lane order. The kernels that fuse the bias
 * gradient into another pass over gy (conv_direct.c, the implicit ones)
 * call this same function, so their sums are these bits. */
float tg__conv_row_sum_f32(const float *r, int64_t P)
{
    float lane[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= P; i += 16)
        for (int l = 0; l < 16; l++)
            lane[l] += r[i + l];
    float part = 0;
    for (; i < P; i++)
        part += r[i];
    for (int l = 0; l < 16; l++)
        part += lane[l];
    return part;
}

/* Channel o's rows already summed (rows[n * rstride + o]), summed in
 * sample order into a double. */
float tg__conv_bias_from_rows(const tg__conv_geom *g, const float *rows,
                              int64_t rstride, int64_t o)
{
    double s = 0;
    for (int64_t n = 0; n < g->n; n++)
        s += rows[n * rstride + o];
    return (float)s;
}

float tg__conv_bias_channel_f32(const tg__conv_geom *g, const float *gy,
                                int64_t o)
{
    int64_t P = g->oh * g->ow;
    double s = 0;
    for (int64_t n = 0; n < g->n; n++)
        s += tg__conv_row_sum_f32(gy + (n * g->o + o) * P, P);
    return (float)s;
}

/* Channels [begin, end): each sample's row summed, the rows in sample
 * order into a double. */
static void bias_part(void *ctx, int64_t begin, int64_t end)
{
    const bias_job *j = ctx;
    const tg__conv_geom *g = j->g;
    int64_t P = g->oh * g->ow;
    for (int64_t o = begin; o < end; o++) {
        if (j->dt == TG_F32) {
            ((float *)j->gb)[o] = tg__conv_bias_channel_f32(g, j->gy, o);
            continue;
        }
        double s = 0;
        for (int64_t n = 0; n < g->n; n++) {
            const double *r = (const double *)j->gy + (n * g->o + o) * P;
            for (int64_t i = 0; i < P; i++)
                s += r[i];
        }
        ((double *)j->gb)[o] = s;
    }
}

void tg__conv_bias_grad(tg_dtype dt, const tg__conv_geom *g, const void *gy,
                        void *gb)
{
    bias_job j = {dt, g, gy, gb};
    /* Channels per part: an elementwise part's worth of values or more. */
    int64_t per = g->n * g->oh * g->ow;
    int64_t m = (TG__ELEMENTWISE_PART + per - 1) / (per > 0 ? per : 1);
    tg__parallel_for(g->o, 1, m < 1 ? 1 : m, bias_part, &j);
}

/* gy (N, O, ...) seen as a conv's output of N samples, O channels and
 * one row of all the rest. */
static tg__conv_geom geom_of(const tg_tensor *gy)
{
    tg__conv_geom g = {0};
    g.n = gy->shape[0];
    g.o = gy->shape[1];
    g.oh = 1;
    g.ow = g.n * g.o > 0 ? gy->numel / (g.n * g.o) : 0;
    return g;
}

static tg_tensor *bias_grad_forward(tg_op_ctx *c)
{
    const tg_tensor *gy = c->in[0];
    if (gy->ndim < 2) {
        char sh[128];
        tg_set_error(TG_ESHAPE, "gy %s must have 2 or more dims (N, O, ...)",
                     tg_shape_str(gy, sh, sizeof sh));
        return NULL;
    }
    tg__conv_geom g = geom_of(gy);
    tg_tensor *gb = tg_empty(c->tape, gy->dtype, 1, &g.o);
    if (gb != NULL)
        tg__conv_bias_grad(gy->dtype, &g, gy->data, gb->data);
    return gb;
}

/* d root / d gy[n, o, ...] = G[o]. */
static int bias_grad_backward(tg_op_ctx *c, const tg_tensor *y,
                              const tg_tensor *G, tg_tensor *const *gx)
{
    (void)y;
    if (gx[0] == NULL) /* gy wants no gradient */
        return TG_OK;
    tg__conv_geom g = geom_of(c->in[0]);
    int64_t P = g.ow;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t o = 0; o < g.o; o++) {
            int64_t base = (n * g.o + o) * P;
            if (G->dtype == TG_F32) {
                float v = ((const float *)G->data)[o];
                float *r = (float *)gx[0]->data + base;
                for (int64_t i = 0; i < P; i++)
                    r[i] = v;
            } else {
                double v = ((const double *)G->data)[o];
                double *r = (double *)gx[0]->data + base;
                for (int64_t i = 0; i < P; i++)
                    r[i] = v;
            }
        }
    return TG_OK;
}

/* The same with ops: G shaped (1, O, 1, ...) and added to zeros of gy's
 * shape, which broadcasts it. */
static int bias_grad_backward_ops(tg_op_ctx *c, tg_tensor *y, tg_tensor *G,
                                  const bool *want, tg_tensor **gx)
{
    (void)y;
    if (!want[0])
        return TG_OK;
    const tg_tensor *gy = c->in[0];
    int64_t s[TG_MAX_DIMS];
    for (int d = 0; d < gy->ndim; d++)
        s[d] = d == 1 ? gy->shape[1] : 1;
    gx[0] = tg_add(c->tape, tg_zeros(c->tape, gy->dtype, gy->ndim, gy->shape),
                   tg_reshape(c->tape, G, gy->ndim, s));
    return tg_made(gx[0]);
}

const tg_op tg__op_conv_bias_grad = {
    .name = "conv_bias_grad", .arity = 1, .forward = bias_grad_forward,
    .backward = bias_grad_backward, .backward_ops = bias_grad_backward_ops};
