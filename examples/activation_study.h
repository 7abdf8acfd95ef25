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

#define STUDY_ACTS 7          /* sigmoid, tanh, relu, leakyrelu, elu, swish
                                 and seedrelu, the seed's x * (x > 0) */
#define STUDY_LINEAR 5        /* 784-512-256-256-128-10: five Linear layers */
#define STUDY_HIDDEN 4        /* and four activations between them */
#define STUDY_DEEP_HIDDEN 10  /* the deep network: [256 x5, 128 x5] */
#define STUDY_MAX_EPOCHS 50
#define GRAD_BINS 30          /* as the tutorial's sns.histplot(bins=30) */
#define ACT_BINS 50           /* and bins=50 for the activations */
#define SEED_PROBES 7         /* the inputs where seedrelu is compared */

/* One activation function of the study. */
typedef struct study_activation {
    const char *name;       /* the tutorial's class name, lower case */
    const char *title;      /* and as it prints it */
    const char *op;         /* the library op that computes it */
    tg_activation_fn apply;
    double published_acc;   /* the tutorial's test accuracy, percent;
                               NAN for seedrelu, which it does not run */
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
    uint64_t weights_hash;                  /* FNV-1a of the trained
                                               parameters' bytes */
} act_result;

/*
 * The seed's ReLU, x * (x > 0), against tg_relu: whether the two runs
 * gave the same numbers (each flag true when identical), and both
 * functions and their derivatives at the inputs where they can differ.
 */
typedef struct seed_check {
    bool ran;                   /* relu and seedrelu were both studied */
    bool test_acc;              /* the test accuracy */
    bool val_acc;               /* epochs, best epoch, every validation
                                   accuracy */
    bool grad_std;              /* gradient flow: std of each layer */
    bool grad_hist;             /* and its histograms */
    bool outputs;               /* the trained network's outputs'
                                   histograms */
    bool weights;               /* the trained parameters, bit for bit */
    /* x; relu(x), seed(x); d/dx for an upstream gradient of 1, then of
     * inf: relu first, seed second (f32, as the study computes) */
    float probe[SEED_PROBES][7];
} seed_check;

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
    seed_check seed_cmp;                    /* seedrelu against relu */
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

/*
 * activation_seed.c: the seed's ReLU as an activation; an FNV-1a hash of
 * the bytes of p's parameters; and seed_compare, which fills s->seed when
 * relu and seedrelu were both studied, and prints what it found.
 */
/* a's published test accuracy as "88.62%", or "none" (seedrelu). */
const char *published(char *buf, size_t n, const study_activation *a);
tg_tensor *seed_relu(tg_tape *t, tg_tensor *x);
uint64_t params_hash(const tg_params *p);
int seed_compare(study *s);
/* A probe value as "%g" prints it, "NaN" for any NaN, into buf. */
const char *seed_format(char *buf, size_t n, float v);
/* Whether relu and seedrelu differ, bit for bit, at probe i. */
bool seed_differs(const seed_check *c, int i);

/* activation_page.c: DIR/index.html, which shows the plots that
 * study_write_report writes, into f. */
void study_write_page(FILE *f, const study *s);

#endif /* ACTIVATION_STUDY_H */
