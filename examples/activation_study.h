/*
 * activation_study.h — what examples/activation_study.c measures and
 * examples/activation_report.c writes: the study of Lippe's "Tutorial 3:
 * Activation Functions" (UvA Deep Learning Tutorials), in C.
 */
#ifndef ACTIVATION_STUDY_H
#define ACTIVATION_STUDY_H

#include "fashion_data.h"

#include <tapegrad.h>

#include <stdbool.h>
#include <stdio.h>

#define STUDY_ACTS 6          /* sigmoid, tanh, relu, leakyrelu, elu, swish */
#define STUDY_LINEAR 5        /* 784-512-256-256-128-10: five Linear layers */
#define STUDY_HIDDEN 4        /* and four activations between them */
#define STUDY_DEEP_HIDDEN 10  /* the deep network: [256 x5, 128 x5] */
#define STUDY_MAX_EPOCHS 50
#define GRAD_BINS 30          /* as the tutorial's sns.histplot(bins=30) */
#define ACT_BINS 50           /* and bins=50 for the activations */

/* One activation function of the study. */
typedef struct study_activation {
    const char *name;       /* the tutorial's class name, lower case */
    const char *title;      /* and as it prints it */
    const char *op;         /* the library op that computes it */
    tg_activation_fn apply;
    double published_acc;   /* the tutorial's test accuracy, percent */
    const char *color;      /* the tutorial's colour for its histograms */
} study_activation;

extern const study_activation study_activations[STUDY_ACTS];

/* A histogram: counts and edges as tg_histogram writes them. */
typedef struct hist {
    int64_t counts[ACT_BINS];
    double edges[ACT_BINS + 1];
    int bins;
} hist;

/* Everything measured for one activation. */
typedef struct act_result {
    const study_activation *act;
    double grad_std[STUDY_LINEAR];          /* input layer first */
    hist grad[STUDY_LINEAR];                /* weight gradients */
    int epochs;                             /* epochs trained */
    int best_epoch;                         /* 1-based, weights restored */
    double val_acc[STUDY_MAX_EPOCHS];       /* percent, after each epoch */
    double test_acc;                        /* percent, best epoch's */
    double seconds;                         /* training and testing */
    hist outputs[2 * STUDY_HIDDEN];         /* Linear, act, Linear, ... */
} act_result;

/* The whole study, as the report shows it. */
typedef struct study {
    const char *out;                        /* the output folder */
    bool quick;
    int max_epochs;
    uint64_t seed;
    int64_t n_train, n_val, n_test;         /* images used */
    int n;                                  /* activations studied */
    act_result r[STUDY_ACTS];
    bool have_trained;                      /* relu was among them */
    int64_t dead_untrained[STUDY_HIDDEN];
    int64_t dead_trained[STUDY_HIDDEN];
    int64_t dead_deep[STUDY_DEEP_HIDDEN];
    int64_t deep_widths[STUDY_DEEP_HIDDEN];
    double seconds;                         /* the whole study */
} study;

/* The data of the study, pixels in [-1, 1]. */
typedef struct splits {
    fashion_set train, val, test;
    float *pixels;       /* the three sets' images, one allocation */
    int64_t *labels;     /* and their labels */
} splits;

/* Seconds on a monotonic clock. */
double study_now(void);

/*
 * activation_measure.c: each fills its part of the result, printing as it
 * goes, and returns TG_OK or a negative status with tg_last_error().
 * measure_training also takes the histograms of the trained network's
 * outputs and, when dead_trained is not NULL, counts its dead units.
 * measure_dead counts them in the untrained networks.
 */
int measure_gradient_flow(const splits *d, act_result *r, uint64_t seed);
int measure_training(const splits *d, act_result *r, int max_epochs,
                     uint64_t seed, int64_t *dead_trained);
int measure_dead(const splits *d, study *s);

/*
 * Write every plot, then DIR/results.json and DIR/index.html (last, each
 * to a temporary name renamed into place), so that a failed run never
 * leaves a report that looks complete. Returns TG_OK or a negative status
 * with tg_last_error() set.
 */
int study_write_report(const study *s);

/* activation_page.c: DIR/index.html, which shows the plots that
 * study_write_report writes, into f. */
void study_write_page(FILE *f, const study *s);

#endif /* ACTIVATION_STUDY_H */
