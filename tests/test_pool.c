/*
 * test_pool.c — the thread pool (src/tensor/pool.c): tg_set_num_threads,
 * tg__parallel_for, and the promise that results do not depend on the
 * thread count. CI also runs it under ThreadSanitizer.
 *
 * In a build without threads (meson -Dthreads=disabled) the cases check
 * that asking for more than one thread is refused and everything still
 * runs on one.
 */
#include "tg_test.h"
#include "tensor/element.h"
#include "tensor/gemm.h"
#include "tensor/pool.h"
#include "tensor/pool_policy.h"
#include "tapegrad/elementwise.h"
#include "tapegrad/nn.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Two threads if this build has them (then true), else false. */
static bool two_threads(void)
{
    int rc = tg_set_num_threads(2);
    if (rc == TG_OK)
        return true;
    ck_assert_int_eq(rc, TG_EINVAL);
    ck_assert_message("built without threads");
    ck_assert_int_eq(tg_num_threads(), 1);
    return false;
}

/* ---- tg__parallel_for */

enum { N_ITEMS = 100000 };
static unsigned char hits[N_ITEMS];
static _Atomic int calls;

typedef struct marking {
    int64_t align, offset;
} marking;

/* Marks its part; parts must be disjoint, aligned and long enough. */
static void mark(void *ctx, int64_t begin, int64_t end)
{
    const marking *m = ctx;
    ck_assert(begin < end);
    ck_assert(begin % m->align == 0);
    for (int64_t i = begin; i < end; i++)
        hits[m->offset + i]++;
    calls++;
}

START_TEST(parts_cover_the_range_once)
{
    bool threaded = two_threads();
    const int64_t aligns[] = {1, 7, 24, 32};
    for (int t = 1; t <= (threaded ? 3 : 1); t++) {
        ck_assert_int_eq(tg_set_num_threads(t), TG_OK);
        for (int a = 0; a < 4; a++) {
            marking m = {aligns[a], 0};
            for (int64_t n = 1; n <= N_ITEMS; n = n * 3 + 1) {
                memset(hits, 0, sizeof hits);
                calls = 0;
                tg__parallel_for(n, m.align, 1000, mark, &m);
                int64_t wrong = 0;
                for (int64_t i = 0; i < n; i++)
                    wrong += hits[i] != 1;
                ck_assert_msg(wrong == 0, "n %lld align %lld: %lld items "
                              "not done exactly once", (long long)n,
                              (long long)m.align, (long long)wrong);
                /* Short ranges are one call; no part below min_part. */
                ck_assert_int_le(calls, n < 2000 ? 1 : t);
            }
        }
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* A part that itself asks for parallel work gets it inline. */
static void nested(void *ctx, int64_t begin, int64_t end)
{
    (void)ctx;
    for (int64_t i = begin; i < end; i += 5000) {
        marking m = {1, i};
        tg__parallel_for(end - i < 5000 ? end - i : 5000, 1, 1, mark, &m);
    }
}

START_TEST(nested_calls_run_inline)
{
    two_threads();
    memset(hits, 0, sizeof hits);
    calls = 0;
    tg__parallel_for(N_ITEMS, 1, 1000, nested, NULL);
    int64_t wrong = 0;
    for (int64_t i = 0; i < N_ITEMS; i++)
        wrong += hits[i] != 1;
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(calls, N_ITEMS / 5000); /* each ran inline, whole */
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

START_TEST(bad_counts)
{
    ck_assert_status(tg_set_num_threads(0), TG_EINVAL,
                     "tg_set_num_threads: 0 threads; the count must be 1 "
                     "to 64");
    ck_assert_status(tg_set_num_threads(-3), TG_EINVAL, "-3 threads");
    ck_assert_status(tg_set_num_threads(65), TG_EINVAL, "65 threads");
    ck_assert_int_eq(tg_num_threads(), 1);
    if (two_threads()) {
        ck_assert_int_eq(tg_num_threads(), 2);
        ck_assert_status(tg_set_num_threads(0), TG_EINVAL, "0 threads");
        ck_assert_int_eq(tg_num_threads(), 2); /* unchanged */
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    ck_assert_int_eq(tg_num_threads(), 1);
}
END_TEST

/* ---- the same results for any thread count */

/* C = op(A) op(B) through tg__gemm_* on `threads` threads, into c. */
static void product(int threads, tg_dtype dt, bool ta, bool tb, int64_t m,
                    int64_t n, int64_t k, const void *a, const void *b,
                    double beta, void *c)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    int64_t lda = ta ? m : k, ldb = tb ? k : n;
    if (dt == TG_F32)
        tg__gemm_f32(ta, tb, m, n, k, a, lda, b, ldb, (float)beta, c, n);
    else
        tg__gemm_f64(ta, tb, m, n, k, a, lda, b, ldb, beta, c, n);
}

/* Shapes that split by rows, by columns, raggedly, or not at all; then
 * W4's 64x10 layer (forward, weight and input gradients), split since the
 * part size follows the measured hand-off, and W4's first-layer products
 * (the weight gradient is cut by rows when B is not transposed). */
static const int64_t shapes[][3] = {
    {64, 160, 250}, {160, 64, 250}, {97, 300, 90}, {301, 45, 190},
    {8, 8, 8}, {64, 10, 256}, {10, 256, 64}, {64, 256, 10},
    {256, 784, 64}, {64, 256, 784}, {50, 200, 30},
};

START_TEST(gemm_is_the_same_on_any_count)
{
    if (!two_threads())
        return;
    tg_rng rng;
    tg_rng_seed(&rng, 7, 0);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int v = 0; v < 8; v++) {
            tg_dtype dt = v & 4 ? TG_F64 : TG_F32;
            bool ta = v & 1, tb = v & 2;
            size_t es = tg_dtype_size(dt);
            void *a = malloc((size_t)(m * k) * es);
            void *b = malloc((size_t)(k * n) * es);
            void *c[2] = {malloc((size_t)(m * n) * es),
                          malloc((size_t)(m * n) * es)};
            for (int64_t i = 0; i < m * k; i++)
                tg__set(&(tg_tensor){.data = a, .dtype = dt}, i,
                        tg_rng_normal(&rng));
            for (int64_t i = 0; i < k * n; i++)
                tg__set(&(tg_tensor){.data = b, .dtype = dt}, i,
                        tg_rng_normal(&rng));
            for (int t = 0; t < 2; t++) {
                memset(c[t], 0, (size_t)(m * n) * es);
                ((char *)c[t])[0] = 1; /* beta = 1 adds to what is there */
                product(t + 1, dt, ta, tb, m, n, k, a, b, v % 3 == 0, c[t]);
            }
            ck_assert_msg(!memcmp(c[0], c[1], (size_t)(m * n) * es),
                          "%lldx%lldx%lld %s ta %d tb %d differs",
                          (long long)m, (long long)n, (long long)k,
                          tg_dtype_name(dt), ta, tb);
            free(a), free(b), free(c[0]), free(c[1]);
        }
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/*
 * Three SGD steps of an MLP 300-128-10 on a batch of 64 (a smaller W4,
 * still big enough for its first layer's products to be split), on
 * `threads` threads: the parameters afterwards, in order.
 */
static float *train(int threads, tg_dtype dt, int64_t *total)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_tape *model = tg_tape_new(), *step = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 4, 0);
    int64_t widths[] = {300, 128, 10}, shape[2] = {64, 300};
    tg_params *params = tg_params_new(model);
    tg_mlp *net = tg_mlp_new(model, params, &rng, dt, 3, widths, tg_relu);
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    tg_optimizer *opt = tg_sgd_new(model, params, &sgd);
    tg_tensor *x = tg_rand_normal(model, &rng, dt, 2, shape, 0.0, 1.0);
    ck_assert_ptr_nonnull(opt);
    ck_assert_ptr_nonnull(x);
    int64_t labels[64];
    for (int i = 0; i < 64; i++)
        labels[i] = (int64_t)tg_rng_bounded(&rng, 10);
    for (int s = 0; s < 3; s++) {
        tg_params_zero_grad(params);
        tg_tensor *loss = tg_cross_entropy(step, tg_mlp_forward(step, net, x),
                                           labels);
        ck_assert_int_eq(tg_backward(step, loss), TG_OK);
        ck_assert_int_eq(tg_optimizer_step(opt), TG_OK);
        tg_tape_reset(step);
    }
    *total = tg_params_numel(params);
    float *out = malloc((size_t)*total * sizeof *out);
    int64_t at = 0;
    for (int64_t i = 0; i < tg_params_count(params); i++) {
        tg_tensor *p = tg_params_at(params, i);
        for (int64_t j = 0; j < tg_numel(p); j++)
            out[at++] = (float)tg__get(p, j);
    }
    tg_tape_free(step);
    tg_tape_free(model);
    return out;
}

START_TEST(training_is_the_same_on_any_count)
{
    if (!two_threads())
        return;
    /* f64 too, except under valgrind (meson test --setup valgrind), where
     * it would take a minute and adds no code path. */
    int dtypes = getenv("TG_VALGRIND") ? 1 : 2;
    for (int d = 0; d < dtypes; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        int64_t n1, n2;
        float *one = train(1, dt, &n1), *two = train(2, dt, &n2);
        ck_assert_int_eq(n1, n2);
        ck_assert_msg(!memcmp(one, two, (size_t)n1 * sizeof *one),
                      "%s parameters differ after training on 2 threads",
                      tg_dtype_name(dt));
        free(one), free(two);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/*
 * Unary and broadcasting binary ops on tensors large enough to be split
 * (by elements, by rows): outputs and gradients on `threads` threads,
 * copied out in order. *total is the number of values.
 */
static double *elementwise(int threads, tg_dtype dt, int64_t *total)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    tg_tape *t = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 11, 0);
    int64_t n = 200003, mat[2] = {400, 701}, row = 701, col[2] = {400, 1};
    tg_tensor *in[5] = {
        tg_rand_normal(t, &rng, dt, 1, &n, 0.0, 2.0),
        tg_rand_normal(t, &rng, dt, 1, &n, 0.0, 2.0),
        tg_rand_normal(t, &rng, dt, 2, mat, 0.0, 2.0),
        tg_rand_normal(t, &rng, dt, 1, &row, 0.0, 2.0),
        tg_rand_normal(t, &rng, dt, 2, col, 3.0, 1.0),
    };
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(tg_set_requires_grad(in[i], true), TG_OK);
    tg_tensor *out[6] = {
        tg_exp(t, in[0]), tg_tanh(t, in[0]), tg_sigmoid(t, in[1]),
        tg_add(t, in[0], in[1]), tg_mul(t, in[2], in[3]),
        tg_div(t, in[2], in[4]),
    };
    tg_tensor *loss = tg_sum(t, out[0]);
    for (int i = 1; i < 6; i++)
        loss = tg_add(t, loss, tg_sum(t, tg_mul(t, out[i], out[i])));
    ck_assert_int_eq(tg_backward(t, loss), TG_OK);
    *total = 0;
    for (int i = 0; i < 6; i++)
        *total += tg_numel(out[i]);
    for (int i = 0; i < 5; i++)
        *total += tg_numel(in[i]);
    double *v = malloc((size_t)*total * sizeof *v), *at = v;
    for (int i = 0; i < 11; i++) {
        const tg_tensor *x = i < 6 ? out[i] : tg_grad(in[i - 6]);
        for (int64_t k = 0; k < tg_numel(x); k++)
            *at++ = tg__get(x, k);
    }
    tg_tape_free(t);
    return v;
}

START_TEST(elementwise_is_the_same_on_any_count)
{
    if (!two_threads())
        return;
    for (int d = 0; d < 2; d++) {
        tg_dtype dt = d ? TG_F64 : TG_F32;
        int64_t n1, n2;
        double *one = elementwise(1, dt, &n1), *two = elementwise(2, dt, &n2);
        ck_assert_int_eq(n1, n2);
        ck_assert_msg(!memcmp(one, two, (size_t)n1 * sizeof *one),
                      "%s elementwise results differ on 2 threads",
                      tg_dtype_name(dt));
        free(one), free(two);
    }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* ---- several user threads at once */

typedef struct user {
    int64_t m;
    float *a, *b, *c;
} user;

static void *user_main(void *arg)
{
    user *u = arg;
    for (int r = 0; r < 5; r++)
        tg__gemm_f32(false, false, u->m, u->m, u->m, u->a, u->m, u->b, u->m,
                     0.0f, u->c, u->m);
    return NULL;
}

/* Two threads multiplying at once: one gets the pool, the other runs on
 * its own; both get the right answer. */
START_TEST(concurrent_callers)
{
    bool threaded = two_threads();
    enum { M = 128 }; /* 2M multiply-adds: split in two */
    user u[2];
    float *want = malloc(M * M * sizeof *want);
    for (int i = 0; i < 2; i++) {
        u[i].m = M;
        u[i].a = malloc(M * M * sizeof(float));
        u[i].b = malloc(M * M * sizeof(float));
        u[i].c = malloc(M * M * sizeof(float));
        for (int j = 0; j < M * M; j++) {
            u[i].a[j] = (float)((j * 7 + i) % 11) - 5;
            u[i].b[j] = (float)((j * 5 + 3 * i) % 13) - 6;
        }
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, user_main, &u[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    for (int i = 0; i < 2; i++) {
        tg__gemm_f32(false, false, M, M, M, u[i].a, M, u[i].b, M, 0.0f, want,
                     M);
        ck_assert(!memcmp(want, u[i].c, M * M * sizeof *want));
        free(u[i].a), free(u[i].b), free(u[i].c);
    }
    free(want);
    (void)threaded;
}
END_TEST

/* ---- optimizer updates split across the pool */

/*
 * Three steps of `kind` (0 SGD with momentum, Nesterov and weight decay,
 * 1 Adam with weight decay, 2 AdamW) on one parameter of 100003 elements
 * (split in parts), loss sum(p * c): the parameter afterwards.
 */
static double *optimize(int threads, tg_dtype dt, int kind)
{
    ck_assert_int_eq(tg_set_num_threads(threads), TG_OK);
    enum { N = 100003 };
    int64_t n = N;
    tg_tape *model = tg_tape_new(), *step = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 18, 0);
    tg_tensor *p = tg_rand_normal(model, &rng, dt, 1, &n, 0.0, 1.0);
    tg_tensor *c = tg_rand_normal(model, &rng, dt, 1, &n, 0.0, 1.0);
    ck_assert_int_eq(tg_set_requires_grad(p, true), TG_OK);
    tg_params *params = tg_params_new(model);
    ck_assert_int_eq(tg_params_add(params, p), TG_OK);
    tg_sgd_options sgd = {0.1, 0.9, 0.0, 1e-2, true};
    tg_adam_options adam = tg_adam_defaults();
    adam.weight_decay = 1e-2;
    tg_adam_options adamw = tg_adamw_defaults();
    tg_optimizer *opt = kind == 0 ? tg_sgd_new(model, params, &sgd)
                        : kind == 1 ? tg_adam_new(model, params, &adam)
                        : tg_adamw_new(model, params, &adamw);
    ck_assert_ptr_nonnull(opt);
    double *before = malloc(N * sizeof *before);
    for (int64_t i = 0; i < N; i++)
        before[i] = tg__get(p, i);
    for (int k = 0; k < 3; k++) {
        tg_params_zero_grad(params);
        ck_assert_int_eq(tg_backward(step, tg_sum(step, tg_mul(step, p, c))),
                         TG_OK);
        ck_assert_int_eq(tg_optimizer_step(opt), TG_OK);
        tg_tape_reset(step);
    }
    double *out = malloc(N * sizeof *out);
    int64_t unchanged = 0;
    for (int64_t i = 0; i < N; i++) {
        out[i] = tg__get(p, i);
        unchanged += out[i] == before[i];
    }
    /* Every element moved: no part of the range was left out. */
    ck_assert_msg(unchanged == 0, "%lld elements not updated",
                  (long long)unchanged);
    free(before);
    tg_tape_free(step);
    tg_tape_free(model);
    return out;
}

START_TEST(optimizers_are_the_same_on_any_count)
{
    if (!two_threads())
        return;
    for (int kind = 0; kind < 3; kind++)
        for (int d = 0; d < 2; d++) {
            tg_dtype dt = d ? TG_F64 : TG_F32;
            double *one = optimize(1, dt, kind), *two = optimize(2, dt, kind);
            ck_assert_msg(!memcmp(one, two, 100003 * sizeof *one),
                          "optimizer %d, %s: 2 threads differ from 1", kind,
                          tg_dtype_name(dt));
            free(one), free(two);
        }
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

/* ---- the measured part size and the adaptive fallback */

START_TEST(part_size_covers_a_handoff)
{
    if (!two_threads())
        return;
    double part_ns, element;
    tg__pool_calibration(&part_ns, &element);
    int64_t part = tg__elementwise_part();
    ck_assert_msg(part_ns > 0 && element > 0, "part %g ns, element %g ns",
                  part_ns, element);
    ck_assert_int_ge(part, 1 << 10);
    ck_assert_int_le(part, 1 << 20);
    ck_assert_int_eq(part & (part - 1), 0);
    /* The smallest power of two whose elements take a part's least time. */
    ck_assert(part == 1 << 20 || (double)part * element >= part_ns);
    ck_assert(part == 1 << 10 || (double)(part / 2) * element < part_ns);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    ck_assert_int_eq(tg__elementwise_part(), 1 << 16);
}
END_TEST

/*
 * The split cost follows the median of what split calls cost: one call in
 * four with a descheduled worker (1 ms) does not move it; a cost above
 * 3 us counts as 3 us (the judge deals with late workers, and parts
 * must stay small enough for large calls to keep measuring); and it comes
 * down again as calls get cheaper.
 */
static double part_ns_now(void)
{
    double part_ns, element;
    tg__pool_calibration(&part_ns, &element);
    return part_ns;
}

START_TEST(part_size_follows_the_split_cost)
{
    if (!two_threads())
        return;
    for (int i = 0; i < 400; i++)
        tg__pool_observe_split(i % 4 == 3 ? 1000000 : 2000);
    ck_assert_msg(part_ns_now() >= 2 * 1800 && part_ns_now() <= 2 * 2200,
                  "part %g ns after calls of 2 us", part_ns_now());
    for (int i = 0; i < 400; i++)
        tg__pool_observe_split((int64_t)1 << 40);
    ck_assert_double_eq(part_ns_now(), 2 * 3000.0);
    for (int i = 0; i < 400; i++)
        tg__pool_observe_split(500);
    ck_assert_msg(part_ns_now() >= 2 * 450 && part_ns_now() <= 2 * 550,
                  "part %g ns after calls of 0.5 us", part_ns_now());
    /* and the elementwise part with it */
    double part_ns, element;
    tg__pool_calibration(&part_ns, &element);
    int64_t part = tg__elementwise_part();
    ck_assert(part == 1 << 10 || (double)(part / 2) * element < part_ns);
    ck_assert(part == 1 << 20 || (double)part * element >= part_ns);
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
}
END_TEST

typedef struct lagging {
    pthread_t caller;
    int64_t n;
    int whole;                  /* calls that got [0, n) on the caller */
} lagging;

/* A worker's part takes 3 ms (as if the worker were descheduled), the
 * caller's 0.1 ms (so that a waiting worker takes the other part). */
static void lag_part(void *ctx, int64_t begin, int64_t end)
{
    lagging *l = ctx;
    bool caller = pthread_equal(pthread_self(), l->caller);
    struct timespec ts = {0, caller ? 100000 : 3000000};
    nanosleep(&ts, NULL);
    if (caller && begin == 0 && end == l->n)
        l->whole++;
}

static int64_t test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Split calls until one makes the pool fall back (a worker took a part
 * and made the caller wait 3 ms: a loss of 2.8 ms); at most 20. */
static bool until_fallback(lagging *l)
{
    int64_t before = tg__pool_fallbacks();
    for (int i = 0; i < 20; i++) {
        int64_t t0 = test_now_ns();
        tg__parallel_for_split(l->n, 16, 1 << 10, lag_part, l);
        if (tg__pool_fallbacks() > before)
            return true;
        /* The fallback starts at the end of this call: the next one, if
         * soon enough, runs inline. A call that took 2.8 ms more than
         * alone must have started a stretch. */
        if (test_now_ns() - t0 >= 2900000) {
            t0 = test_now_ns();
            int whole = l->whole;
            tg__parallel_for_split(l->n, 16, 1 << 10, lag_part, l);
            if (test_now_ns() - t0 < 900000) { /* not descheduled */
                ck_assert_int_eq(tg__pool_fallbacks(), before + 1);
                ck_assert_int_eq(l->whole, whole + 1);
            }
            return true;
        }
    }
    return false;
}

START_TEST(late_workers_make_calls_run_inline)
{
    if (!two_threads())
        return;
    lagging l = {pthread_self(), 1 << 12, 0};
    ck_assert(until_fallback(&l));
    /* After the stretch the pool tries again: the caller gets a part
     * only, never the whole range. The first stretch is 1 ms, but on a
     * loaded machine the calls above may have started several, each twice
     * as long (up to 256 ms; a worker put on the caller's CPU starts one at
     * once), so look every 3 ms for up to 600 ms, not once after 3 ms. */
    struct timespec ms3 = {0, 3000000};
    int64_t before = 0;
    int whole = 0;
    bool tried = false;
    for (int i = 0; i < 200 && !tried; i++) {
        nanosleep(&ms3, NULL);
        before = tg__pool_fallbacks();
        whole = l.whole;
        tg__parallel_for_split(l.n, 16, 1 << 10, lag_part, &l);
        tried = tg__pool_fallbacks() == before;
    }
    ck_assert_msg(tried, "the pool never tried its workers again after "
                         "600 ms of fallback stretches (the longest is 256 ms)");
    ck_assert_int_eq(l.whole, whole);
    /* And falls back again when the workers lose time again. */
    ck_assert(until_fallback(&l));
    /* A new thread count starts afresh. */
    ck_assert_int_eq(tg_set_num_threads(1), TG_OK);
    ck_assert_int_eq(tg__pool_fallbacks(), 0);
}
END_TEST

static void count_part(void *ctx, int64_t begin, int64_t end)
{
    *(int64_t *)ctx += end - begin;
}

START_TEST(parallel_range_bad_input)
{
    int64_t seen = 0;
    ck_assert_status(tg_parallel_range(-1, count_part, &seen), TG_EINVAL,
                     "tg_parallel_range: n is negative");
    ck_assert_status(tg_parallel_range(10, NULL, NULL), TG_EINVAL,
                     "tg_parallel_range: fn is NULL");
    ck_assert_int_eq(seen, 0); /* nothing ran */
    ck_assert_int_eq(tg_parallel_range(0, count_part, &seen), TG_OK);
    ck_assert_int_eq(tg_parallel_range(100, count_part, &seen), TG_OK);
    ck_assert_int_eq(seen, 100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tg_test_tcase("parallel_for");
    tcase_add_test(tc, parts_cover_the_range_once);
    tcase_add_test(tc, nested_calls_run_inline);
    tcase_add_test(tc, bad_counts);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("same_results");
    tcase_add_test(tc, gemm_is_the_same_on_any_count);
    tcase_add_test(tc, training_is_the_same_on_any_count);
    tcase_add_test(tc, elementwise_is_the_same_on_any_count);
    tcase_add_test(tc, optimizers_are_the_same_on_any_count);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("measured");
    tcase_add_test(tc, part_size_covers_a_handoff);
    tcase_add_test(tc, part_size_follows_the_split_cost);
    tcase_add_test(tc, late_workers_make_calls_run_inline);
    tcase_add_test(tc, parallel_range_bad_input);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("concurrency");
    tcase_add_test(tc, concurrent_callers);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
