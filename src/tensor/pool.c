/*
 * pool.c — the thread pool: tg_set_num_threads and tg__parallel_for.
 *
 * The pool is n - 1 worker threads that sleep on a condition variable.
 * tg__parallel_for cuts its range into at most n parts and posts the job;
 * the calling thread and the workers then claim parts one at a time until
 * none is left, and the caller waits until all are done. Claiming (rather
 * than a fixed part per thread) matters on a shared machine: a worker
 * that is not scheduled in time just leaves its part to the others, so a
 * call on n threads is never much slower than on one. One job runs at a
 * time: a call that finds the pool busy (another thread's job, or a call
 * made from inside a part) runs its whole range on its own thread, so
 * nothing ever waits for a worker that is waiting for it. Where the range
 * is cut never changes what is computed, only who computes it (see
 * tg__parallel_for in pool.h).
 *
 * How small a part may be, and whether to split at all, is measured on
 * the machine and decided in pool_policy.c; pool.c times each split call
 * (the call, the caller's own parts, the parts' work) and reports the
 * times there, and runs the calls of pool_policy.c's calibration.
 *
 * Built without threads (meson -Dthreads=disabled), every call runs inline
 * and tg_set_num_threads accepts only 1.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getcpu */
#endif
#include "tapegrad/base.h"

#include "tensor/pool.h"
#include "tensor/pool_policy.h"

#include <stdatomic.h>

/* The thread count: 1 until tg_set_num_threads says otherwise. */
static atomic_int n_threads = 1;

int tg_num_threads(void)
{
    return atomic_load_explicit(&n_threads, memory_order_relaxed);
}

/* The part boundaries: part i of parts starts at an `align` multiple. */
static int64_t part_start(int64_t n, int64_t align, int parts, int i)
{
    if (i >= parts)
        return n;
    int64_t units = (n + align - 1) / align;
    int64_t at = units * i / parts * align;
    return at < n ? at : n;
}

/* How many parts: one per thread, each at least min_part long. */
static int parts_for(int64_t n, int64_t min_part, int threads)
{
    if (min_part < 1)
        min_part = 1;
    int64_t most = n / min_part;
    return most < threads ? (int)(most > 1 ? most : 1) : threads;
}

#if TG__THREADS

#include <pthread.h>
#include <stdint.h>
#ifdef __linux__
#include <sched.h>
#endif

static struct {
    pthread_mutex_t busy;       /* held by whoever owns the workers now */
    pthread_mutex_t lock;       /* guards everything below */
    pthread_cond_t wake;        /* a new job (or stop) was posted */
    pthread_cond_t done;        /* the job's last part finished */
    pthread_t workers[TG__MAX_THREADS - 1];
    int n_workers;
    /* Changed under lock; atomic so that a spinning thread may watch them
     * without it (it takes the lock before acting on what it saw). */
    _Atomic unsigned long generation; /* bumped for every job and stop */
    _Atomic int finished;       /* parts of the current job done */
    bool stop;
    tg__range_fn fn;            /* the job: fn(ctx, part's range) */
    void *ctx;
    int64_t n, align;
    int parts;
    int next;                   /* the first part nobody has claimed */
    int64_t work_ns;            /* the parts' own times, summed */
    int caller_cpu;             /* the CPU the job was posted from */
    /* A worker claimed a part of the job (or, for the next job, last
     * did) on the caller's CPU: it can only take turns with the caller
     * there, so it helps nobody (see current_cpu). Atomic: the caller and
     * the worker read it without the lock. */
    _Atomic bool same_cpu;
} pool = {
    .busy = PTHREAD_MUTEX_INITIALIZER,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/*
 * Before sleeping on a condition variable, a worker that finished a job
 * watches for the next one this long, and the caller watches for the
 * workers to finish: a training step posts jobs tens of microseconds
 * apart, and waking a sleeping thread costs about as much again (on
 * this machine, 2 threads took 255 us on average for a product that the
 * best of them did in 138). The watching is bounded, so an idle pool
 * costs nothing after it.
 */
#define SPIN_NS 50000

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/*
 * The CPU this thread runs on now (-1 where unknown). A worker that lands
 * on the caller's CPU (the scheduler put both there, typically because the
 * other CPU is running another program) can only take turns with the
 * caller: the job takes as long as on one thread, plus the switches, and
 * whichever of the two watches for the other (spin_while_*) takes the CPU
 * from the one it waits for. perf sched timehist of W4-2threads on this
 * KVM guest, other engineers' builds on CPU 1, showed exactly that for
 * whole seconds: caller and worker alternating on CPU 0 in slices of
 * 50-160 us, while pool_policy.c's judge saw nothing wrong (the caller's
 * own part, timed by the wall clock, included the worker's turns). So
 * the pool asks. sched_getcpu is a vDSO call (tens of ns).
 */
static int current_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

/* Watch *gen for up to SPIN_NS while it still equals seen. */
static void spin_while_same(_Atomic unsigned long *gen, unsigned long seen)
{
    int64_t until = tg__pool_now_ns() + SPIN_NS;
    for (int i = 1; atomic_load_explicit(gen, memory_order_relaxed) == seen;
         i++)
        if (i % 64 == 0 && tg__pool_now_ns() > until)
            return;
        else
            cpu_relax();
}

/* Watch *count for up to SPIN_NS while it is below want, unless a worker
 * is on the caller's CPU: then it can only finish while the caller sleeps. */
static void spin_while_below(_Atomic int *count, int want)
{
    int64_t until = tg__pool_now_ns() + SPIN_NS;
    for (int i = 1; atomic_load_explicit(count, memory_order_relaxed) < want;
         i++)
        if (i % 64 == 0 && (tg__pool_now_ns() > until ||
                            atomic_load_explicit(&pool.same_cpu,
                                                 memory_order_relaxed)))
            return;
        else
            cpu_relax();
}

/*
 * Claim and run parts of the current job until none is left; *ran counts
 * them. Called, and returns, with pool.lock held; runs the parts without
 * it.
 */
static void run_parts(int *ran)
{
    while (pool.next < pool.parts) {
        ++*ran;
        int part = pool.next++;
        tg__range_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int64_t begin = part_start(pool.n, pool.align, pool.parts, part);
        int64_t end = part_start(pool.n, pool.align, pool.parts, part + 1);
        pthread_mutex_unlock(&pool.lock);
        int64_t t0 = tg__pool_now_ns();
        fn(ctx, begin, end);
        int64_t t1 = tg__pool_now_ns();
        pthread_mutex_lock(&pool.lock);
        pool.work_ns += t1 - t0;
        if (atomic_fetch_add(&pool.finished, 1) + 1 == pool.parts)
            pthread_cond_signal(&pool.done);
    }
}

/* The generation a worker was started in: it waits for the next one. */
static unsigned long worker_start[TG__MAX_THREADS - 1];

static void *worker_main(void *arg)
{
    unsigned long seen = *(const unsigned long *)arg;
    for (;;) {
        /* On the caller's CPU, watching for the next job would only keep
         * the caller, who is to post it, off that CPU: sleep at once. */
        if (!atomic_load_explicit(&pool.same_cpu, memory_order_relaxed))
            spin_while_same(&pool.generation, seen);
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.generation) == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        seen = atomic_load(&pool.generation);
        if (pool.stop) {
            pthread_mutex_unlock(&pool.lock);
            return NULL;
        }
        if (pool.next < pool.parts && pool.caller_cpu >= 0 &&
            current_cpu() == pool.caller_cpu)
            atomic_store_explicit(&pool.same_cpu, true,
                                  memory_order_relaxed);
        int ran = 0;
        run_parts(&ran);
        pthread_mutex_unlock(&pool.lock);
    }
}

/* Stop and join every worker; the caller holds busy. */
static void stop_workers(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stop = true;
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.n_workers; i++)
        pthread_join(pool.workers[i], NULL);
    pool.n_workers = 0;
    pool.stop = false;
}

/* Start workers until there are want of them; the caller holds busy. */
static int start_workers(int want)
{
    while (pool.n_workers < want) {
        unsigned long *start = &worker_start[pool.n_workers];
        pthread_mutex_lock(&pool.lock);
        *start = atomic_load(&pool.generation);
        pthread_mutex_unlock(&pool.lock);
        if (pthread_create(&pool.workers[pool.n_workers], NULL, worker_main,
                           start) != 0)
            return TG_ENOMEM;
        pool.n_workers++;
    }
    return TG_OK;
}

/* ---- one job: posted, run, joined */

/* What a job's caller saw: its own parts (ran of them, own ns from the
 * posting to the end of its last part), the whole call (total ns), the
 * parts' own times summed (work ns), and whether a worker ran on the
 * caller's CPU. */
typedef struct job_times {
    int ran;
    int64_t own, total, work;
    bool same_cpu;
} job_times;

/*
 * Post fn over [0, n) in `parts` parts, run parts on the calling thread
 * until none is left, and wait until the workers' are done. The caller
 * holds busy.
 */
static job_times run_job(tg__range_fn fn, void *ctx, int64_t n, int64_t align,
                         int parts)
{
    job_times jt = {0};
    int64_t t0 = tg__pool_now_ns();
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.align = align;
    pool.parts = parts;
    pool.next = 0;
    pool.work_ns = 0;
    pool.caller_cpu = current_cpu();
    atomic_store(&pool.same_cpu, false);
    atomic_store(&pool.finished, 0);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    run_parts(&jt.ran);
    pthread_mutex_unlock(&pool.lock);
    jt.own = tg__pool_now_ns() - t0;
    spin_while_below(&pool.finished, parts);
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.finished) < pool.parts)
        pthread_cond_wait(&pool.done, &pool.lock);
    jt.work = pool.work_ns;
    jt.same_cpu = atomic_load(&pool.same_cpu);
    pthread_mutex_unlock(&pool.lock);
    jt.total = tg__pool_now_ns() - t0;
    return jt;
}

/* One split call of pool_policy.c's calibration: fn over [0, n) in
 * `parts` parts; what it cost beyond its share of the work. The caller
 * holds busy, with at least one worker running. */
static int64_t calibration_call(tg__range_fn fn, int64_t n, int64_t align,
                                int parts)
{
    job_times jt = run_job(fn, NULL, n, align, parts);
    return tg__pool_split_cost(jt.total, jt.work, parts);
}

int tg_set_num_threads(int n)
{
    if (n < 1 || n > TG__MAX_THREADS)
        return tg_set_error(TG_EINVAL, "tg_set_num_threads: %d threads; "
                            "the count must be 1 to %d", n, TG__MAX_THREADS);
    pthread_mutex_lock(&pool.busy);
    tg__pool_adapt_reset();
    if (pool.n_workers == n - 1) { /* already so */
        pthread_mutex_unlock(&pool.busy);
        return TG_OK;
    }
    stop_workers();
    int rc = start_workers(n - 1);
    if (rc != TG_OK) {
        stop_workers();
        atomic_store_explicit(&n_threads, 1, memory_order_relaxed);
        pthread_mutex_unlock(&pool.busy);
        return tg_set_error(rc, "tg_set_num_threads: could not start %d "
                            "threads; running on 1", n - 1);
    }
    if (n > 1)
        tg__pool_calibrate(calibration_call, pool.n_workers + 1);
    else /* nothing is split: keep one-thread calls as they always were */
        atomic_store_explicit(&tg__elementwise_part_value, (int64_t)1 << 16,
                              memory_order_relaxed);
    atomic_store_explicit(&n_threads, n, memory_order_relaxed);
    pthread_mutex_unlock(&pool.busy);
    return TG_OK;
}

void tg__parallel_for_split(int64_t n, int64_t align, int64_t min_part,
                            tg__range_fn fn, void *ctx)
{
    int parts = parts_for(n, min_part, tg_num_threads());
    if (parts <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
        fn(ctx, 0, n);
        return;
    }
    if (tg__pool_falling_back()) { /* the workers were late lately */
        pthread_mutex_unlock(&pool.busy);
        fn(ctx, 0, n);
        return;
    }
    if (parts > pool.n_workers + 1)
        parts = pool.n_workers + 1;
    job_times jt = run_job(fn, ctx, n, align < 1 ? 1 : align, parts);
    tg__pool_after_split(parts, jt.ran, jt.own, jt.total, jt.work,
                         jt.same_cpu);
    pthread_mutex_unlock(&pool.busy);
}

#else /* !TG__THREADS */

int tg_set_num_threads(int n)
{
    if (n < 1 || n > TG__MAX_THREADS)
        return tg_set_error(TG_EINVAL, "tg_set_num_threads: %d threads; "
                            "the count must be 1 to %d", n, TG__MAX_THREADS);
    if (n == 1)
        return TG_OK;
    return tg_set_error(TG_EINVAL, "tg_set_num_threads: %d threads; this "
                        "tapegrad was built without threads "
                        "(-Dthreads=disabled), so the count must be 1", n);
}

void tg__parallel_for_split(int64_t n, int64_t align, int64_t min_part,
                            tg__range_fn fn, void *ctx)
{
    (void)align, (void)min_part, (void)parts_for, (void)part_start;
    fn(ctx, 0, n);
}

#endif /* TG__THREADS */
