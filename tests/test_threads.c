/*
 * test_threads.c — tapegrad from several threads at once.
 *
 * The contract: a tape, and every tensor on it, is used by one thread at a
 * time, but different tapes may be used concurrently, and tensors of a
 * tape nobody writes to may be read (as op inputs that do not require
 * grad) from any number of threads. tg_last_error is per thread. Op
 * registration is meant for init time but is serialised and safe against
 * concurrent lookups. The allocator is set before threads start.
 *
 * Run under ThreadSanitizer by CI's tsan step, so a data race fails the
 * test even when the results happen to come out right.
 */
#include "tg_test.h"
#include "tapegrad/nn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define N_THREADS 4

static void start_all(pthread_t *th, int n, void *(*fn)(void *), void **args)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, fn, args[i]), 0);
}

static void join_all(pthread_t *th, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}

/* ---- The same training, serially and on several threads at once. */

enum { BATCH = 24, IN = 6, HIDDEN = 16, CLASSES = 3, STEPS = 4 };

/* A data set on a tape that no thread writes to: read by all of them. */
typedef struct dataset {
    tg_tape *tape;
    tg_tensor *x[2];             /* f32 and f64 inputs, (BATCH, IN) */
    int64_t labels[BATCH];
} dataset;

typedef struct job {
    const dataset *data;
    tg_dtype dt;
    int status;                  /* TG_OK, or where it failed */
    char error[512];
    size_t n_bytes;              /* bytes in result */
    unsigned char *result;       /* final parameters, gradients and losses */
} job;

static void make_dataset(dataset *d)
{
    tg_rng rng;
    tg_rng_seed(&rng, 2024, 1);
    d->tape = tg_tape_new();
    int64_t shape[2] = {BATCH, IN};
    d->x[1] = tg_rand_normal(d->tape, &rng, TG_F64, 2, shape, 0.0, 1.0);
    d->x[0] = tg_zeros(d->tape, TG_F32, 2, shape);
    ck_assert_ptr_nonnull(d->x[0]);
    for (int64_t i = 0; i < BATCH * IN; i++)
        tg_mut_f32(d->x[0])[i] = (float)tg_data_f64(d->x[1])[i];
    for (int i = 0; i < BATCH; i++)
        d->labels[i] = (int64_t)tg_rng_bounded(&rng, CLASSES);
}

/* Append n bytes at p to the job's result. */
static void keep(job *j, const void *p, size_t n)
{
    memcpy(j->result + j->n_bytes, p, n);
    j->n_bytes += n;
}

static void keep_tensor(job *j, const tg_tensor *x)
{
    size_t n = (size_t)tg_numel(x) * tg_dtype_size(tg_dtype_of(x));
    keep(j, tg_dtype_of(x) == TG_F32 ? (const void *)tg_data_f32(x)
                                     : (const void *)tg_data_f64(x), n);
}

/* STEPS of Adam on cross_entropy(mlp(x)) plus an L2 penalty, everything
 * but the data on the job's own tapes; keeps the losses, and the final
 * parameters and gradients. */
static int train(job *j)
{
    tg_tape *ptape = tg_tape_new(), *step = tg_tape_new();
    int rc = TG_ENOMEM;
    if (ptape == NULL || step == NULL)
        goto out;
    tg_rng rng;
    tg_rng_seed(&rng, 7, 3);
    tg_params *params = tg_params_new(ptape);
    int64_t widths[] = {IN, HIDDEN, HIDDEN, CLASSES};
    tg_mlp *net = tg_mlp_new(ptape, params, &rng, j->dt, 4, widths, tg_tanh);
    tg_optimizer *opt = tg_adam_new(ptape, params, NULL);
    rc = tg_last_status();
    if (net == NULL || opt == NULL)
        goto out;
    tg_tensor *x = j->data->x[j->dt == TG_F64];
    for (int s = 0; s < STEPS; s++) {
        tg_params_zero_grad(params);
        tg_tensor *logits = tg_mlp_forward(step, net, x);
        tg_tensor *loss = tg_add(step, tg_cross_entropy(step, logits,
                                                        j->data->labels),
                                 tg_l2_penalty(step, params, 1e-3));
        rc = tg_backward(step, loss);
        if (rc == TG_OK)
            rc = tg_optimizer_step(opt);
        if (rc != TG_OK)
            goto out;
        double l = tg_item(loss);
        keep(j, &l, sizeof l);
        tg_tape_reset(step);
    }
    for (int64_t i = 0; i < tg_params_count(params); i++) {
        keep_tensor(j, tg_params_at(params, i));
        keep_tensor(j, tg_grad(tg_params_at(params, i)));
    }
out:
    if (rc != TG_OK)
        snprintf(j->error, sizeof j->error, "%s", tg_last_error());
    tg_tape_free(step);
    tg_tape_free(ptape);
    return rc;
}

static void *train_thread(void *arg)
{
    job *j = arg;
    j->status = train(j);
    return NULL;
}

static void job_init(job *j, const dataset *d, tg_dtype dt)
{
    memset(j, 0, sizeof *j);
    j->data = d;
    j->dt = dt;
    j->result = malloc(1 << 16);
    ck_assert_ptr_nonnull(j->result);
}

START_TEST(mlp_training_matches_serial_bit_for_bit)
{
    tg_dtype dt = _i ? TG_F64 : TG_F32;
    dataset d;
    make_dataset(&d);
    job serial, jobs[N_THREADS];
    void *args[N_THREADS];
    job_init(&serial, &d, dt);
    ck_assert_msg(train(&serial) == TG_OK, "serial: %s", serial.error);
    for (int i = 0; i < N_THREADS; i++) {
        job_init(&jobs[i], &d, dt);
        args[i] = &jobs[i];
    }
    pthread_t th[N_THREADS];
    start_all(th, N_THREADS, train_thread, args);
    join_all(th, N_THREADS);
    for (int i = 0; i < N_THREADS; i++) {
        ck_assert_msg(jobs[i].status == TG_OK, "thread %d: %s", i,
                      jobs[i].error);
        ck_assert_uint_eq(jobs[i].n_bytes, serial.n_bytes);
        ck_assert_msg(memcmp(jobs[i].result, serial.result,
                             serial.n_bytes) == 0,
                      "thread %d's parameters differ from the serial run's", i);
        free(jobs[i].result);
    }
    /* The losses went down: the runs trained, not just agreed. */
    const double *loss = (const double *)serial.result;
    ck_assert_msg(loss[STEPS - 1] < loss[0], "loss %g -> %g", loss[0],
                  loss[STEPS - 1]);
    free(serial.result);
    tg_tape_free(d.tape);
}
END_TEST

/* ---- Each thread sees its own last error. */

static void *errors_thread(void *arg)
{
    long id = (long)(intptr_t)arg;
    tg_tape *t = tg_tape_new();
    long bad = 0;
    for (long i = 0; i < 2000 && t != NULL; i++) {
        long steps = -(id * 100000 + i);
        char want[96];
        snprintf(want, sizeof want, "tg_linspace: steps is %ld;", steps);
        if (tg_linspace(t, TG_F32, 0, 1, steps) != NULL ||
            tg_last_status() != TG_EINVAL ||
            strncmp(tg_last_error(), want, strlen(want)) != 0)
            bad++;
        if (i % 3 == 0) {
            tg_clear_error();
            if (tg_last_status() != TG_OK || tg_last_error()[0] != '\0')
                bad++;
        }
        if (i % 5 == 0 && tg_linspace(t, TG_F64, 0, 1, 3) == NULL)
            bad++;
        if (i % 64 == 0)
            tg_tape_reset(t);
    }
    tg_tape_free(t);
    return (void *)(intptr_t)(t == NULL ? -1 : bad);
}

START_TEST(last_error_is_per_thread)
{
    pthread_t th[N_THREADS];
    tg_set_error(TG_EIO, "the main thread's error");
    for (long i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, errors_thread,
                                        (void *)(intptr_t)(i + 1)), 0);
    for (int i = 0; i < N_THREADS; i++) {
        void *bad;
        ck_assert_int_eq(pthread_join(th[i], &bad), 0);
        ck_assert_msg(bad == NULL, "thread %d saw %ld wrong errors", i,
                      (long)(intptr_t)bad);
    }
    ck_assert_int_eq(tg_last_status(), TG_EIO);
    ck_assert_str_eq(tg_last_error(), "the main thread's error");
}
END_TEST

/* ---- Registering ops while other threads look them up. */

enum { N_OPS = 48 };

static char op_names[N_OPS][32];
static tg_op ops[2][N_OPS];      /* two writers try each name */

static tg_tensor *neg_forward(tg_op_ctx *c)
{
    return tg_neg(c->tape, c->in[0]);
}

static int neg_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                        tg_tensor *const *gx)
{
    (void)c, (void)y, (void)gy, (void)gx;
    return TG_OK;
}

typedef struct writer {
    int which;
    int registered, existed, other;
} writer;

static void *register_thread(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < N_OPS; i++) {
        int rc = tg_op_register(&ops[w->which][i]);
        if (rc == TG_OK)
            w->registered++;
        else if (rc == TG_EEXIST)
            w->existed++;
        else
            w->other++;
    }
    return NULL;
}

static void *lookup_thread(void *arg)
{
    long *bad = arg;
    tg_tape *t = tg_tape_new();
    tg_tensor *x = tg_linspace(t, TG_F32, -1, 1, 8);
    for (int round = 0; round < 300; round++) {
        int n = tg_op_count();
        for (int i = 0; i < n; i++) {
            const tg_op *op = tg_op_at(i);
            if (op == NULL || op->name == NULL || tg_op_find(op->name) != op)
                (*bad)++;
        }
        if (tg_op_find("relu") == NULL)
            (*bad)++;
        const tg_op *op = tg_op_find(op_names[round % N_OPS]);
        if (op == NULL ? tg_last_status() != TG_ENOTFOUND
                       : tg_apply(t, op, 1, &x, NULL) == NULL)
            (*bad)++;
        if (round % 50 == 0)
            tg_tape_reset(t), x = tg_linspace(t, TG_F32, -1, 1, 8);
    }
    tg_tape_free(t);
    return NULL;
}

START_TEST(registration_races_lookups_safely)
{
    for (int i = 0; i < N_OPS; i++) {
        snprintf(op_names[i], sizeof op_names[i], "thread_op_%d", i);
        for (int k = 0; k < 2; k++)
            ops[k][i] = (tg_op){.name = op_names[i], .arity = 1,
                                .forward = neg_forward,
                                .backward = neg_backward};
    }
    int before = tg_op_count();
    pthread_t th[4];
    writer w[2] = {{.which = 0}, {.which = 1}};
    long bad[2] = {0, 0};
    void *args[4] = {&w[0], &bad[0], &w[1], &bad[1]};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, i % 2 ? lookup_thread
                                        : register_thread, args[i]), 0);
    join_all(th, 4);
    ck_assert_int_eq(bad[0] + bad[1], 0);
    ck_assert_int_eq(w[0].other + w[1].other, 0);
    /* Each name was registered exactly once, by one writer or the other. */
    ck_assert_int_eq(w[0].registered + w[1].registered, N_OPS);
    ck_assert_int_eq(w[0].existed + w[1].existed, N_OPS);
    ck_assert_int_eq(tg_op_count(), before + N_OPS);
    for (int i = 0; i < N_OPS; i++) {
        const tg_op *op = tg_op_find(op_names[i]);
        ck_assert(op == &ops[0][i] || op == &ops[1][i]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tg_test_tcase("tapes");
    tcase_add_loop_test(tc, mlp_training_matches_serial_bit_for_bit, 0, 2);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("errors");
    tcase_add_test(tc, last_error_is_per_thread);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("registry");
    tcase_add_test(tc, registration_races_lookups_safely);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
