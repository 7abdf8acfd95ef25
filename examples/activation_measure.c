/*
 * activation_measure.c — the measurements of the activation study
 * (activation_study.c says what the study is): gradient flow at
 * initialisation, training with early stopping, the distributions of the
 * trained network's outputs, and dead ReLU units.
 */
#include "activation_study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 256
#define PATIENCE 7
#define EVAL_BATCH 1000

/* ---- Networks */

typedef struct net {
    tg_tape *tape;       /* parameters and optimizer state */
    tg_params *params;
    tg_mlp *mlp;
    tg_activation_fn act;
} net;

static const int64_t study_widths[STUDY_LINEAR + 1] = {
    FASHION_PIXELS, 512, 256, 256, 128, FASHION_CLASSES};

static int net_new(net *n, const int64_t *widths, int count,
                   tg_activation_fn act, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed, 1);
    n->act = act;
    n->tape = tg_tape_new();
    n->params = n->tape ? tg_params_new(n->tape) : NULL;
    n->mlp = n->params ? tg_mlp_new(n->tape, n->params, &rng, TG_F32, count,
                                    widths, act) : NULL;
    return n->mlp ? TG_OK : tg_last_status();
}

/*
 * The forward pass layer by layer on tape t, calling visit(ctx, k, y) for
 * the k-th hidden output: k even the output of a Linear layer, k odd that
 * of the activation after it (the tutorial's net.layers[:-1]).
 */
typedef void (*visitor)(void *ctx, int k, const tg_tensor *y);

static tg_tensor *forward(tg_tape *t, const net *n, tg_tensor *x,
                          visitor visit, void *ctx)
{
    int layers = tg_mlp_layers(n->mlp);
    for (int i = 0; i < layers && x != NULL; i++) {
        x = tg_linear_layer_forward(t, tg_mlp_layer(n->mlp, i), x);
        if (i == layers - 1 || x == NULL)
            break;
        if (visit)
            visit(ctx, 2 * i, x);
        x = n->act(t, x);
        if (visit && x)
            visit(ctx, 2 * i + 1, x);
    }
    return x;
}

/* The images idx[0..b) of s as a tensor on t, their labels into y. */
static tg_tensor *batch(tg_tape *t, const fashion_set *s, const int64_t *idx,
                        int64_t b, int64_t *y)
{
    int64_t shape[2] = {b, FASHION_PIXELS};
    tg_tensor *x = tg_empty(t, TG_F32, 2, shape);
    if (x != NULL)
        fashion_gather(s, idx, b, tg_mut_f32(x), y);
    return x;
}

/* The first n images of s, as the tutorial's unshuffled loaders give. */
static tg_tensor *first(tg_tape *t, const fashion_set *s, int64_t start,
                        int64_t n)
{
    int64_t shape[2] = {n, FASHION_PIXELS};
    return tg_from_data(t, TG_F32, 2, shape,
                        s->images + start * FASHION_PIXELS);
}

/* ---- Gradient flow at initialisation */

/* The standard deviation of x's elements as torch.std (n - 1). */
static double std_of(const tg_tensor *x)
{
    const float *v = tg_data_f32(x);
    int64_t n = tg_numel(x);
    double mean = 0, ss = 0;
    for (int64_t i = 0; i < n; i++)
        mean += v[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

int measure_gradient_flow(const splits *d, act_result *r, uint64_t seed)
{
    net n = {0};
    tg_tape *t = tg_tape_new();
    int rc = t ? net_new(&n, study_widths, STUDY_LINEAR + 1, r->act->apply,
                         seed) : tg_set_error(TG_ENOMEM, "out of memory");
    tg_tensor *x = rc == TG_OK ? first(t, &d->train, 0, BATCH) : NULL;
    tg_tensor *logits = x ? forward(t, &n, x, NULL, NULL) : NULL;
    tg_tensor *loss = tg_cross_entropy(t, logits, d->train.labels);
    if (rc == TG_OK)
        rc = loss ? tg_backward(t, loss) : tg_last_status();
    if (rc == TG_OK)
        printf("%-9s gradient std, input layer first:", r->act->name);
    for (int i = 0; i < STUDY_LINEAR && rc == TG_OK; i++) {
        const tg_tensor *g = tg_grad(tg_mlp_layer(n.mlp, i)->weight);
        r->grad_std[i] = std_of(g);
        r->grad[i].bins = GRAD_BINS;
        int64_t c = tg_histogram_tensor(g, GRAD_BINS, NULL,
                                        r->grad[i].counts, r->grad[i].edges);
        rc = c < 0 ? (int)c : TG_OK;
        printf(" %.2g", r->grad_std[i]);
    }
    if (rc == TG_OK)
        printf("\n");
    tg_tape_free(t);
    tg_tape_free(n.tape);
    return rc;
}

/* ---- Dead units */

typedef struct dead_ctx {
    bool *alive[STUDY_DEEP_HIDDEN];
} dead_ctx;

/* After each activation: a unit with a non-zero output is alive. */
static void dead_visit(void *ctx, int k, const tg_tensor *y)
{
    dead_ctx *dc = ctx;
    if (k % 2 == 0)
        return;
    const float *v = tg_data_f32(y);
    int64_t rows = tg_shape(y)[0], cols = tg_shape(y)[1];
    bool *alive = dc->alive[k / 2];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            alive[j] |= v[i * cols + j] != 0;
}

/* How many units of each of the hidden layers of n output exactly 0 on
 * every training image. */
static int count_dead(const splits *d, const net *n, int hidden,
                      int64_t *dead)
{
    dead_ctx dc = {{0}};
    tg_tape *t = tg_tape_new();
    bool *alive = calloc((size_t)hidden * 512, sizeof *alive);  /* <= 512 */
    int rc = t && alive ? TG_OK : tg_set_error(TG_ENOMEM, "out of memory");
    for (int i = 0; i < hidden && alive; i++)
        dc.alive[i] = alive + 512 * i;
    tg_tape_set_grad_enabled(t, false);
    for (int64_t i = 0; i < d->train.n && rc == TG_OK; i += EVAL_BATCH) {
        int64_t b = d->train.n - i < EVAL_BATCH ? d->train.n - i : EVAL_BATCH;
        if (forward(t, n, first(t, &d->train, i, b), dead_visit, &dc) == NULL)
            rc = tg_last_status();
        tg_tape_reset(t);
    }
    for (int i = 0; i < hidden && rc == TG_OK; i++) {
        int64_t width = tg_shape(tg_mlp_layer(n->mlp, i)->weight)[0];
        dead[i] = 0;
        for (int64_t j = 0; j < width; j++)
            dead[i] += !dc.alive[i][j];
    }
    free(alive);
    tg_tape_free(t);
    return rc;
}

/* ---- Training */

/* The parameters' values, to keep the best epoch's and restore them. */
static void copy_params(const tg_params *p, float *buf, bool restore)
{
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        tg_tensor *x = tg_params_at(p, i);
        size_t bytes = (size_t)tg_numel(x) * sizeof(float);
        if (restore)
            memcpy(tg_mut_f32(x), buf, bytes);
        else
            memcpy(buf, tg_data_f32(x), bytes);
        buf += tg_numel(x);
    }
}

typedef struct trainer {
    const splits *d;
    act_result *r;
    net n;
    tg_optimizer *opt;
    tg_tape *step;
    tg_rng rng;
    int64_t *order, labels[BATCH];
    int max_epochs;
    bool tty;
} trainer;

static void show_progress(const trainer *tr, int epoch, int64_t k,
                          int64_t steps, double loss, double seconds)
{
    double eta = seconds / (double)k * (double)(steps - k);
    printf("\r%-9s epoch %d/%d  %3d%%  loss %.4f  %.0f images/s  "
           "ETA %.0f s (this epoch) ", tr->r->act->name, epoch,
           tr->max_epochs, (int)(100 * k / steps), loss / (double)k,
           (double)(k * BATCH) / seconds, eta);
    fflush(stdout);
}

/* One pass over the training images in a new order, the last partial
 * batch dropped; the mean loss in *loss. */
static int train_epoch(trainer *tr, int epoch, double *loss)
{
    int64_t steps = tr->d->train.n / BATCH;
    int rc = tg_rng_shuffle(&tr->rng, tr->d->train.n, tr->order);
    double total = 0, t0 = study_now(), shown = t0;
    for (int64_t k = 0; k < steps && rc == TG_OK; k++) {
        tg_tensor *x = batch(tr->step, &tr->d->train, tr->order + k * BATCH,
                             BATCH, tr->labels);
        tg_tensor *l = tg_cross_entropy(tr->step, forward(tr->step, &tr->n,
                                        x, NULL, NULL), tr->labels);
        tg_params_zero_grad(tr->n.params);
        rc = l ? tg_backward(tr->step, l) : tg_last_status();
        total += rc == TG_OK ? tg_item(l) : 0;
        if (rc == TG_OK)
            rc = tg_optimizer_step(tr->opt);
        tg_tape_reset(tr->step);
        if (tr->tty && rc == TG_OK && study_now() - shown > 0.5) {
            shown = study_now();
            show_progress(tr, epoch, k + 1, steps, total, shown - t0);
        }
    }
    if (tr->tty)
        printf("\r%100s\r", "");
    *loss = total / (double)steps;
    return rc;
}

/* Epochs until the validation accuracy has not improved for PATIENCE
 * epochs, keeping the best epoch's parameters in best. */
static int train_all(trainer *tr, float *best)
{
    int rc = TG_OK;
    act_result *r = tr->r;
    r->best_epoch = 0;
    for (int e = 1; e <= tr->max_epochs && rc == TG_OK; e++) {
        double t0 = study_now(), loss = 0, vloss, vacc = 0;
        rc = train_epoch(tr, e, &loss);
        if (rc == TG_OK)
            rc = fashion_evaluate(tr->step, tr->n.mlp, &tr->d->val, &vloss,
                                  &vacc);
        if (rc != TG_OK)
            break;
        r->epochs = e;
        r->val_acc[e - 1] = 100 * vacc;
        if (e == 1 || r->val_acc[e - 1] > r->val_acc[r->best_epoch - 1]) {
            r->best_epoch = e;
            copy_params(tr->n.params, best, false);
        }
        printf("%-9s epoch %2d/%d  train loss %.4f  validation accuracy "
               "%.2f%%  (best %.2f%% at epoch %d)  %.1f s\n", r->act->name,
               e, tr->max_epochs, loss, r->val_acc[e - 1],
               r->val_acc[r->best_epoch - 1], r->best_epoch,
               study_now() - t0);
        fflush(stdout);
        if (r->best_epoch <= e - PATIENCE) {
            printf("%-9s early stop: no improvement in %d epochs\n",
                   r->act->name, PATIENCE);
            break;
        }
    }
    return rc;
}

/* The histograms of the hidden outputs, one after the other. */
typedef struct hist_ctx {
    act_result *r;
    int rc;
} hist_ctx;

static void histogram_visit(void *ctx, int k, const tg_tensor *y)
{
    hist_ctx *h = ctx;
    hist *o = &h->r->outputs[k];
    o->bins = ACT_BINS;
    int64_t c = tg_histogram_tensor(y, ACT_BINS, NULL, o->counts, o->edges);
    if (c < 0 && h->rc == TG_OK)
        h->rc = (int)c;
}

/* The outputs of every layer on 1024 training images. */
static int measure_outputs(trainer *tr)
{
    hist_ctx h = {tr->r, TG_OK};
    int64_t n = tr->d->train.n < 1024 ? tr->d->train.n : 1024;
    tg_tape_set_grad_enabled(tr->step, false);
    tg_tensor *y = forward(tr->step, &tr->n, first(tr->step, &tr->d->train,
                                                   0, n), histogram_visit, &h);
    tg_tape_set_grad_enabled(tr->step, true);
    tg_tape_reset(tr->step);
    return y == NULL ? tg_last_status() : h.rc;
}

static int trainer_run(trainer *tr, int64_t *dead_trained)
{
    int64_t numel = tg_params_numel(tr->n.params);
    float *best = malloc((size_t)numel * sizeof *best);
    int rc = best ? train_all(tr, best)
                  : tg_set_error(TG_ENOMEM, "out of memory");
    double loss, acc = 0;
    if (rc == TG_OK) {
        copy_params(tr->n.params, best, true);
        tr->r->weights_hash = params_hash(tr->n.params);
        rc = fashion_evaluate(tr->step, tr->n.mlp, &tr->d->test, &loss, &acc);
    }
    tr->r->test_acc = 100 * acc;
    if (rc == TG_OK)
        rc = measure_outputs(tr);
    if (rc == TG_OK && dead_trained != NULL)
        rc = count_dead(tr->d, &tr->n, STUDY_HIDDEN, dead_trained);
    free(best);
    return rc;
}

int measure_training(const splits *d, act_result *r, int max_epochs,
                     uint64_t seed, int64_t *dead_trained)
{
    trainer tr = {d, r, {0}, NULL, tg_tape_new(), {0}, NULL, {0}, max_epochs,
                  isatty(fileno(stdout))};
    double t0 = study_now();
    tr.order = malloc((size_t)d->train.n * sizeof *tr.order);
    int rc = tr.order && tr.step
             ? net_new(&tr.n, study_widths, STUDY_LINEAR + 1, r->act->apply,
                       seed) : tg_set_error(TG_ENOMEM, "out of memory");
    tg_sgd_options sgd = tg_sgd_defaults(1e-2);
    sgd.momentum = 0.9;
    tr.opt = rc == TG_OK ? tg_sgd_new(tr.n.tape, tr.n.params, &sgd) : NULL;
    if (rc == TG_OK && tr.opt == NULL)
        rc = tg_last_status();
    for (int64_t i = 0; tr.order && i < d->train.n; i++)
        tr.order[i] = i;
    tg_rng_seed(&tr.rng, seed, 2);
    if (rc == TG_OK)
        rc = trainer_run(&tr, dead_trained);
    r->seconds = study_now() - t0;
    char pub[16];
    if (rc == TG_OK)
        printf("%-9s test accuracy %.2f%% (best epoch %d of %d; published "
               "%s)  %.0f s\n", r->act->name, r->test_acc, r->best_epoch,
               r->epochs, published(pub, sizeof pub, r->act), r->seconds);
    free(tr.order);
    tg_tape_free(tr.step);
    tg_tape_free(tr.n.tape);
    return rc;
}

static void print_counts(const char *what, const int64_t *c, int n)
{
    printf("dead ReLU units, %s:", what);
    for (int i = 0; i < n; i++)
        printf("%s%lld", i ? ", " : " [", (long long)c[i]);
    printf("]\n");
}

int measure_dead(const splits *d, study *s)
{
    net small = {0}, deep = {0};
    int64_t widths[STUDY_DEEP_HIDDEN + 2] = {FASHION_PIXELS};
    for (int i = 0; i < STUDY_DEEP_HIDDEN; i++)
        widths[i + 1] = s->deep_widths[i] = i < 5 ? 256 : 128;
    widths[STUDY_DEEP_HIDDEN + 1] = FASHION_CLASSES;
    int rc = net_new(&small, study_widths, STUDY_LINEAR + 1, tg_relu,
                     s->seed);
    if (rc == TG_OK)
        rc = count_dead(d, &small, STUDY_HIDDEN, s->dead_untrained);
    if (rc == TG_OK)
        rc = net_new(&deep, widths, STUDY_DEEP_HIDDEN + 2, tg_relu, s->seed);
    if (rc == TG_OK)
        rc = count_dead(d, &deep, STUDY_DEEP_HIDDEN, s->dead_deep);
    if (rc == TG_OK) {
        print_counts("untrained [512, 256, 256, 128]", s->dead_untrained,
                     STUDY_HIDDEN);
        print_counts("untrained [256 x5, 128 x5]", s->dead_deep,
                     STUDY_DEEP_HIDDEN);
    }
    tg_tape_free(small.tape);
    tg_tape_free(deep.tape);
    return rc;
}
