/*
 * test_conv_fused.c — conv's backward takes short cuts that must not
 * change a bit (session 8, lane conv; conv_kernel.h's TG__CONV_* notes):
 *
 *   - the direct kernel's forward pads x inside its own split call and
 *     keeps the padded planes; the weight gradient reads them instead of
 *     padding x again;
 *   - the weight gradient also sums the bias gradient (conv1: per output
 *     channel in the same split; conv2: from row sums of gy made where gy
 *     is turned round);
 *   - the implicit input gradient turns gy round and leaves it for the
 *     weight gradient, which then does not turn it again.
 *
 * Each is checked bit for bit against the road without it: the same
 * gradients from tg_vjp with create_graph (the separate ops
 * conv2d_weight_grad, conv2d_input_grad and conv_bias_grad, each making
 * its own planes, turn and sums), and from tg_backward with x or w not
 * wanting a gradient (the weight gradient turns gy itself; the bias
 * gradient is summed on its own). On 1 and 2 threads. Then a note left
 * by the forward of one kernel must be ignored by another: the
 * instruction set changed between forward and backward.
 */
#include "tg_test.h"

#include "tensor/gemm.h"

#include <tapegrad/conv.h>

#include <stdlib.h>
#include <string.h>

typedef struct cshape {
    int64_t n, c, h, w, o, kh, kw, ph, pw;
} cshape;

static const cshape shapes[] = {
    {9, 1, 28, 28, 6, 5, 5, 2, 2},   /* W6's conv1: direct kernel */
    {9, 6, 14, 14, 16, 5, 5, 0, 0},  /* W6's conv2: implicit kernels */
    {3, 3, 7, 19, 9, 3, 2, 1, 2},    /* implicit, padded */
    {3, 1, 13, 21, 7, 5, 5, 1, 1},   /* direct, odd sizes */
    {4, 3, 9, 9, 4, 3, 3, 1, 1},     /* im2col (o < 8) */
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* Which gradients a run asks for, and how. */
enum road {
    FUSED,       /* tg_backward, x, w and b all wanted */
    SEPARATE,    /* tg_vjp with create_graph: the separate ops */
    NO_GX,       /* tg_backward, x not wanted */
    NO_GW,       /* tg_backward, w not wanted */
};

typedef struct grads {
    float gx[16384], gw[4096], gb[16];
} grads;

static int64_t out_len(int64_t in, int64_t pad, int64_t k)
{
    return in + 2 * pad - k + 1;
}

/* Shape s by road r; the gradients of sum(y * r) it computes go to out
 * (the others stay as they are). fwd_isa / bwd_isa: the instruction set
 * for the forward and for the backward. */
static void run(const cshape *s, enum road road, int fwd_isa, int bwd_isa,
                grads *out)
{
    int64_t oh = out_len(s->h, s->ph, s->kh), ow = out_len(s->w, s->pw, s->kw);
    int64_t xs[4] = {s->n, s->c, s->h, s->w};
    int64_t ws[4] = {s->o, s->c, s->kh, s->kw};
    int64_t ys[4] = {s->n, s->o, oh, ow};
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 23, 0);
    tg_tensor *x = tg_rand_normal(t, &rng, TG_F32, 4, xs, 0, 1);
    tg_tensor *w = tg_rand_normal(t, &rng, TG_F32, 4, ws, 0, 0.2);
    tg_tensor *b = tg_rand_normal(t, &rng, TG_F32, 1, &s->o, 0, 0.2);
    tg_tensor *r = tg_rand_normal(t, &rng, TG_F32, 4, ys, 0, 1);
    ck_assert_ptr_nonnull(r);
    tg_set_requires_grad(x, road != NO_GX);
    tg_set_requires_grad(w, road != NO_GW);
    tg_set_requires_grad(b, true);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = s->ph, o.padding[1] = s->pw;
    tg__gemm_limit_isa(fwd_isa);
    tg_tensor *y = tg_conv2d(t, x, w, b, &o);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    tg_tensor *loss = tg_sum(t, tg_mul(t, y, r));
    tg__gemm_limit_isa(bwd_isa);
    const tg_tensor *gx = NULL, *gw = NULL, *gb = NULL;
    if (road == SEPARATE) {
        tg_tensor *in[3] = {x, w, b}, *g[3] = {NULL, NULL, NULL};
        tg_vjp_options vo = tg_vjp_defaults();
        vo.create_graph = true;
        ck_assert_msg(tg_vjp(t, 1, &loss, NULL, 3, in, g, &vo) == TG_OK, "%s",
                      tg_last_error());
        gx = g[0], gw = g[1], gb = g[2];
    } else {
        ck_assert_msg(tg_backward(t, loss) == TG_OK, "%s", tg_last_error());
        gx = road != NO_GX ? tg_grad(x) : NULL;
        gw = road != NO_GW ? tg_grad(w) : NULL;
        gb = tg_grad(b);
    }
    if (gx != NULL) {
        ck_assert_int_le(tg_numel(gx), 16384);
        memcpy(out->gx, tg_data_f32(gx), sizeof(float) * (size_t)tg_numel(gx));
    }
    if (gw != NULL) {
        ck_assert_int_le(tg_numel(gw), 4096);
        memcpy(out->gw, tg_data_f32(gw), sizeof(float) * (size_t)tg_numel(gw));
    }
    memcpy(out->gb, tg_data_f32(gb), sizeof(float) * (size_t)s->o);
    tg_tape_free(t);
    tg__gemm_limit_isa(2);
}

static grads *zeroed(void)
{
    grads *g = calloc(1, sizeof *g);
    ck_assert_ptr_nonnull(g);
    return g;
}

/* The machine's instruction set (valgrind's CPU has no AVX-512). */
static int isa_here(void)
{
    tg__gemm_limit_isa(2);
    return tg__gemm_isa();
}

/* Shape _i on 1 and 2 threads: every road gives the fused road's bits. */
START_TEST(fused_gives_the_separate_bits)
{
    const cshape *s = &shapes[_i];
    int isa = isa_here();
    grads *want = zeroed(), *got = zeroed();
    run(s, FUSED, isa, isa, want);
    for (int threads = 1; threads <= 2; threads++) {
        if (tg_set_num_threads(threads) != TG_OK) {
            tg_clear_error(); /* a build without threads */
            continue;
        }
        for (int road = FUSED; road <= NO_GW; road++) {
            /* want's bits, with what the road computes poisoned, so that
             * a gradient left unwritten fails too */
            memcpy(got, want, sizeof *got);
            int64_t nx = s->n * s->c * s->h * s->w, nw = s->o * s->c * s->kh * s->kw;
            if (road != NO_GX)
                memset(got->gx, 0xff, sizeof(float) * (size_t)nx);
            if (road != NO_GW)
                memset(got->gw, 0xff, sizeof(float) * (size_t)nw);
            memset(got->gb, 0xff, sizeof(float) * (size_t)s->o);
            run(s, (enum road)road, isa, isa, got);
            ck_assert_msg(memcmp(got, want, sizeof *got) == 0,
                          "shape %d, road %d, %d threads: not the same bits",
                          _i, road, threads);
        }
    }
    tg_set_num_threads(1);
    free(want), free(got);
}
END_TEST

/* A note left by one kernel's forward is not read by another's
 * backward: forward with the direct or implicit kernels (AVX-512 or
 * AVX2), backward on portable C, and the other way round; the gradients
 * (which depend on x, w and r only) are those of a run wholly at the
 * backward's instruction set. */
START_TEST(note_of_another_kernel_is_ignored)
{
    const cshape *s = &shapes[_i];
    int isa = isa_here();
    int pairs[2][2] = {{isa, 0}, {0, isa}};
    for (int k = 0; k < 2; k++) {
        grads *want = zeroed(), *got = zeroed();
        run(s, FUSED, pairs[k][1], pairs[k][1], want);
        run(s, FUSED, pairs[k][0], pairs[k][1], got);
        ck_assert_msg(memcmp(got, want, sizeof *got) == 0,
                      "shape %d, forward at isa %d, backward at %d", _i,
                      pairs[k][0], pairs[k][1]);
        free(want), free(got);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_fused");
    TCase *tc = tg_test_tcase("fused");
    tcase_add_loop_test(tc, fused_gives_the_separate_bits, 0, NSHAPES);
    tcase_add_loop_test(tc, note_of_another_kernel_is_ignored, 0, NSHAPES);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
