/*
 * test_sgd_cut.c — SGD's update split across threads (src/nn/sgd.c): each
 * part updates its piece of every parameter, matrices cut at gemm_split's
 * row blocks, the rest in 16-element units. Whatever the thread count,
 * every element is updated exactly once per step, so the parameters come
 * out with the same bits as on one thread.
 */
#include "tg_test.h"
#include "tapegrad/nn.h"
#include "tensor/element.h"

#include <stdlib.h>
#include <string.h>

/* Shapes like W6's (LeNet-5: conv weights, linear weights whose rows are
 * cut where the weight gradient's were, biases), matrices with fewer rows
 * than a block per thread, odd lengths, two large matrices so that both
 * batches of the optimizer (64 parameters each) are worth splitting, and
 * enough small ones to need the second batch. */
enum { N_SMALL = 60, N_PARAMS = 10 + N_SMALL };
static const int64_t shapes[10][4] = {
    {2100, 1050}, {120, 400}, {84, 120}, {10, 84}, {16, 6, 5, 5},
    {6, 1, 5, 5}, {120}, {7, 3}, {1001}, {1100, 1023},
};
static const int ndims[10] = {2, 2, 2, 2, 4, 4, 1, 2, 1, 2};

/* Three steps of SGD (momentum, Nesterov, weight decay) on loss
 * sum_k sum(p_k * c_k) on `threads` threads: every parameter's elements
 * afterwards, end to end; *count their number. */
static double *train(int threads, tg_dtype dt, int64_t *count)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_tape *model = tg_tape_new(), *step = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 13, 0);
    tg_params *params = tg_params_new(model);
    tg_tensor *p[N_PARAMS], *c[N_PARAMS];
    int64_t total = 0;
    for (int k = 0; k < N_PARAMS; k++) {
        int64_t small[2] = {3, 5 + k % 4};
        const int64_t *shape = k < 10 ? shapes[k] : small;
        int nd = k < 10 ? ndims[k] : 2;
        p[k] = tg_rand_normal(model, &rng, dt, nd, shape, 0.0, 1.0);
        /* gradients of 1 to 2: every step moves every element */
        c[k] = tg_rand_uniform(model, &rng, dt, nd, shape, 1.0, 2.0);
        ck_assert_int_eq(tg_set_requires_grad(p[k], true), TG_OK);
        ck_assert_int_eq(tg_params_add(params, p[k]), TG_OK);
        total += tg_numel(p[k]);
    }
    double *before = malloc((size_t)total * sizeof *before);
    ck_assert_ptr_nonnull(before);
    for (int k = 0, at = 0; k < N_PARAMS; k++)
        for (int64_t i = 0; i < tg_numel(p[k]); i++)
            before[at++] = tg__get(p[k], i);
    tg_sgd_options sgd = {0.1, 0.9, 0.0, 1e-2, true};
    tg_optimizer *opt = tg_sgd_new(model, params, &sgd);
    ck_assert_ptr_nonnull(opt);
    for (int s = 0; s < 3; s++) {
        tg_params_zero_grad(params);
        tg_tensor *loss = tg_sum(step, tg_mul(step, p[0], c[0]));
        for (int k = 1; k < N_PARAMS; k++)
            loss = tg_add(step, loss, tg_sum(step, tg_mul(step, p[k], c[k])));
        ck_assert_int_eq(tg_backward(step, loss), TG_OK);
        ck_assert_int_eq(tg_optimizer_step(opt), TG_OK);
        tg_tape_reset(step);
    }
    double *out = malloc((size_t)total * sizeof *out);
    ck_assert_ptr_nonnull(out);
    int64_t unchanged = 0;
    for (int k = 0, at = 0; k < N_PARAMS; k++)
        for (int64_t i = 0; i < tg_numel(p[k]); i++, at++) {
            out[at] = tg__get(p[k], i);
            unchanged += out[at] == before[at];
        }
    /* Every element moved: no piece was left out. */
    ck_assert_msg(unchanged == 0, "%d threads: %lld elements not updated",
                  threads, (long long)unchanged);
    free(before);
    tg_tape_free(step);
    tg_tape_free(model);
    *count = total;
    return out;
}

START_TEST(sgd_bits_on_any_thread_count)
{
    if (tg_set_num_threads(2) != TG_OK) { /* built without threads */
        ck_assert_int_eq(tg_num_threads(), 1);
        return;
    }
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        int64_t n1 = 0, n = 0;
        double *one = train(1, dt, &n1);
        for (int threads = 2; threads <= 4; threads++) {
            double *got = train(threads, dt, &n);
            ck_assert_int_eq(n, n1);
            int64_t first = -1;
            for (int64_t i = 0; i < n && first < 0; i++)
                if (memcmp(&one[i], &got[i], sizeof *got) != 0)
                    first = i;
            ck_assert_msg(first < 0,
                          "%s, %d threads: element %lld is %.17g, 1 thread "
                          "%.17g",
                          tg_dtype_name(dt), threads, (long long)first,
                          first < 0 ? 0.0 : got[first],
                          first < 0 ? 0.0 : one[first]);
            free(got);
        }
        free(one);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sgd_cut");
    TCase *tc = tg_test_tcase("same_bits");
    tcase_add_test(tc, sgd_bits_on_any_thread_count);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
