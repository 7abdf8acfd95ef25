/*
 * fashion_train.h — what the Fashion-MNIST training examples
 * (examples/fashion_mnist.c's MLP, examples/fashion_cnn.c's LeNet-5)
 * share around their training step: loading both splits with the --limit
 * options, a clock, and the progress line of an epoch. The test loss and
 * accuracy of a network are fashion_data.h's fashion_evaluate_net. Each
 * example keeps its own model and training step, which are what it is
 * about.
 */
#ifndef FASHION_TRAIN_H
#define FASHION_TRAIN_H

#include "fashion_data.h"

#include <stdbool.h>

/* Seconds on a monotonic clock, for timing epochs. */
double fashion_seconds(void);

/*
 * Load the first limit images of the "train" split and the first
 * test_limit of "t10k" (0: all) from dir onto t (fashion_load_first).
 * Returns TG_OK or fashion_load's status and message.
 */
int fashion_load_both(tg_tape *t, const char *dir, int64_t limit,
                      int64_t test_limit, fashion_set *train,
                      fashion_set *test);

/*
 * The progress line of an epoch: "epoch 2/5  40%  24000/60000  loss
 * 0.3312  52000 images/s  ETA 1 s". On a terminal (tty) it is rewritten in
 * place, and fashion_progress_clear rubs it out before the epoch's own
 * line; elsewhere each call prints a line of its own.
 */
typedef struct fashion_progress {
    bool tty;
    int len;                 /* length of the line shown in place */
} fashion_progress;

/* done of n images seen in `seconds`, with loss_sum their summed loss. */
void fashion_progress_show(fashion_progress *p, int epoch, int epochs,
                           int64_t done, int64_t n, double loss_sum,
                           double seconds);
void fashion_progress_clear(fashion_progress *p);

#endif /* FASHION_TRAIN_H */
