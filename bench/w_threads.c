/*
 * w_threads.c — the "-2threads" and "-2threads-busy" variants of W4, W5 and
 * W6: the same workloads on two threads, and with the second core busy.
 */
#define _GNU_SOURCE /* pthread_setaffinity_np, for the busy-core variants */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

/* ---- the same on two threads */

/*
 * A "-2threads" variant runs its workload with tg_set_num_threads(2) (see
 * tapegrad/base.h: large matrix products and elementwise ops are split
 * between the two). A build without threads skips it.
 */
static void *with_two_threads(void *(*setup)(bool smoke), bool smoke)
{
    if (tg_set_num_threads(2) != TG_OK) {
        snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        return NULL;
    }
    void *state = setup(smoke);
    if (state == NULL)
        tg_set_num_threads(1);
    return state;
}

void *w4_2t_setup(bool smoke)
{
    return with_two_threads(w4_setup, smoke);
}

void w4_2t_teardown(void *state)
{
    w4_teardown(state);
    tg_set_num_threads(1);
}

/* Its smoke run would only repeat W5's and W4-2threads' (and load the
 * data set once more, slow under valgrind). */
void *w5_2t_setup(bool smoke)
{
    if (smoke) {
        snprintf(skip_reason, sizeof skip_reason, "W5 and W4-2threads "
                 "cover its code");
        return NULL;
    }
    return with_two_threads(w5_setup, smoke);
}

void w5_2t_teardown(void *state)
{
    w5_teardown(state);
    tg_set_num_threads(1);
}

/* Its smoke run would only repeat W6's. */
void *w6_2t_setup(bool smoke)
{
    if (smoke) {
        snprintf(skip_reason, sizeof skip_reason, "W6 and W4-2threads "
                 "cover its code");
        return NULL;
    }
    return with_two_threads(w6_setup, smoke);
}

void w6_2t_teardown(void *state)
{
    w6_teardown(state);
    tg_set_num_threads(1);
}

/* ---- on two threads with the second core busy */

/*
 * A "-2threads-busy" variant runs its workload like "-2threads" while a
 * background thread spins on the machine's last CPU (pinned there when the
 * system allows it) for the whole run: the case of another program taking
 * one of two cores. Two threads must then not be slower than one
 * (issue 18: at most 1.1x the 1-thread time). The spinner stops in the
 * teardown.
 */
static atomic_bool spin_stop;
static pthread_t spinner;
static bool spinning;
static volatile unsigned long spin_count;

static void *spin_main(void *arg)
{
    (void)arg;
#ifdef __linux__
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 1) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)(cpus - 1), &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
#endif
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        spin_count = spin_count + 1;
    return NULL;
}

static void stop_spinner(void)
{
    if (!spinning)
        return;
    atomic_store(&spin_stop, true);
    pthread_join(spinner, NULL);
    spinning = false;
}

static void *with_busy_core(void *(*setup)(bool smoke), bool smoke)
{
    atomic_store(&spin_stop, false);
    if (pthread_create(&spinner, NULL, spin_main, NULL) != 0) {
        fail("pthread_create (the spinning thread)");
        return NULL;
    }
    spinning = true;
    void *state = with_two_threads(setup, smoke);
    if (state == NULL)
        stop_spinner();
    return state;
}

void *w4_busy_setup(bool smoke)
{
    return with_busy_core(w4_setup, smoke);
}

void w4_busy_teardown(void *state)
{
    w4_2t_teardown(state);
    stop_spinner();
}

void *w5_busy_setup(bool smoke)
{
    if (smoke) {
        snprintf(skip_reason, sizeof skip_reason, "W5 and W4-2threads-busy "
                 "cover its code");
        return NULL;
    }
    return with_busy_core(w5_setup, smoke);
}

void w5_busy_teardown(void *state)
{
    w5_2t_teardown(state);
    stop_spinner();
}
