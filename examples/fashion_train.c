/*
 * fashion_train.c — what the Fashion-MNIST training examples share
 * (fashion_train.h): loading with limits, a clock and the progress line.
 */
#include "fashion_train.h"

#include <stdio.h>
#include <time.h>

double fashion_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fashion_load_both(tg_tape *t, const char *dir, int64_t limit,
                      int64_t test_limit, fashion_set *train,
                      fashion_set *test)
{
    int rc = fashion_load_first(t, dir, "train", limit, train);
    if (rc == TG_OK)
        rc = fashion_load_first(t, dir, "t10k", test_limit, test);
    return rc;
}

void fashion_progress_show(fashion_progress *p, int epoch, int epochs,
                           int64_t done, int64_t n, double loss_sum,
                           double seconds)
{
    double rate = (double)done / seconds;
    double eta = (double)(n - done) / rate;
    int len = printf("%sepoch %d/%d  %3d%%  %lld/%lld  loss %.4f  %.0f "
                     "images/s  ETA %.0f s%s", p->tty ? "\r" : "  ", epoch,
                     epochs, (int)(100 * done / n), (long long)done,
                     (long long)n, loss_sum / (double)done, rate, eta,
                     p->tty ? " " : "\n");
    p->len = p->tty ? len - 1 : 0;   /* not counting the '\r' */
    fflush(stdout);
}

void fashion_progress_clear(fashion_progress *p)
{
    if (p->tty && p->len > 0)
        printf("\r%*s\r", p->len, "");
    p->len = 0;
}
