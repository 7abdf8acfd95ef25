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
 */
#include "ops/conv_kernel.h"

#include "tensor/pool.h"

typedef struct bias_job {
    tg_dtype dt;
    const tg__conv_geom *g;
    const void *gy;
    void *gb;
} bias_job;

/* One f32 row of P values: 16 running sums (a vectorised loop), then the
 * tail, then the 16 sums in lane order. */
static float row_sum_f32(const float *r, int64_t P)
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

/* Channels [begin, end): each sample's row summed, the rows in sample
 * order into a double. */
static void bias_part(void *ctx, int64_t begin, int64_t end)
{
    const bias_job *j = ctx;
    const tg__conv_geom *g = j->g;
    int64_t P = g->oh * g->ow;
    for (int64_t o = begin; o < end; o++) {
        double s = 0;
        for (int64_t n = 0; n < g->n; n++) {
            int64_t base = (n * g->o + o) * P;
            if (j->dt == TG_F32) {
                s += row_sum_f32((const float *)j->gy + base, P);
            } else {
                const double *r = (const double *)j->gy + base;
                for (int64_t i = 0; i < P; i++)
                    s += r[i];
            }
        }
        if (j->dt == TG_F32)
            ((float *)j->gb)[o] = (float)s;
        else
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
