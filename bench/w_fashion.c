/*
 * w_fashion.c — the Fashion-MNIST epochs: W5 (an MLP) and W6 (LeNet-5).
 */
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- W5: one epoch of Fashion-MNIST */

/*
 * BENCHMARKS.md's W5 recipe: MLP 784-256-10 with ReLU (initialised as
 * torch.nn.Linear, seed 1), softmax cross-entropy, SGD lr 0.1, batches of
 * 64 reshuffled every epoch from a fixed seed, f32, pixels in [0, 1]. One
 * iteration is one epoch over the 60,000 training images. The verified
 * iterations (untimed) and the fifth epoch also measure the test accuracy
 * on the 10,000 test images; the note reports it.
 *
 * The smoke run trains on the first 64 images of the test split and tests
 * on the next 64 (only t10k is read, so that valgrind need not inflate the
 * training set; matrix products are slow under valgrind). W5 is skipped
 * when the bench is built without zlib or the data set (Debian's
 * dataset-fashion-mnist) is not installed.
 */

#ifdef BENCH_FASHION
#include "fashion_data.h"

#define W5_BATCH 64
#define W5_SMOKE_N 64

typedef struct w5_state {
    tg_tape *data, *model, *step;
    fashion_set train, test;
    tg_params *params;
    tg_mlp *net;
    tg_optimizer *opt;
    int64_t *order;
    int64_t labels[W5_BATCH];
    tg_rng rng;
    int epochs;                /* done so far */
    double accuracy;           /* test accuracy after `tested` epochs */
    int tested;
    double accuracy5;          /* after the fifth epoch; NaN before it */
    double loss;               /* test loss after `tested` epochs */
    bool smoke;
} w5_state;

void w5_teardown(void *state)
{
    w5_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->step);
    tg_tape_free(s->model);
    tg_tape_free(s->data);
    free(s->order);
    free(s);
}

/* The data: both splits, or two slices of the test split for smoke. */
static int w5_load(w5_state *s, bool smoke)
{
    const char *dir = FASHION_DEFAULT_DIR;
    int rc = fashion_load(s->data, dir, "t10k", &s->test);
    if (rc == TG_OK && !smoke)
        rc = fashion_load(s->data, dir, "train", &s->train);
    if (rc == TG_OK && smoke) {
        s->train = s->test;
        s->train.n = W5_SMOKE_N;
        s->test.images += W5_SMOKE_N * FASHION_PIXELS;
        s->test.labels += W5_SMOKE_N;
        s->test.n = W5_SMOKE_N;
    }
    return rc;
}

void *w5_setup(bool smoke)
{
    w5_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->data = tg_tape_new()) ||
        !(s->model = tg_tape_new()) || !(s->step = tg_tape_new())) {
        w5_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    int rc = w5_load(s, smoke);
    if (rc != TG_OK) {
        if (rc == TG_ENOTFOUND)
            snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        else
            fail("fashion_load");
        w5_teardown(s);
        return NULL;
    }
    tg_rng init;
    tg_rng_seed(&init, 1, 1);
    tg_rng_seed(&s->rng, 1, 2);
    int64_t widths[] = {FASHION_PIXELS, 256, FASHION_CLASSES};
    tg_sgd_options sgd = tg_sgd_defaults(0.1);
    s->params = tg_params_new(s->model);
    s->net = tg_mlp_new(s->model, s->params, &init, TG_F32, 3, widths,
                        tg_relu);
    s->opt = s->net ? tg_sgd_new(s->model, s->params, &sgd) : NULL;
    s->order = malloc((size_t)s->train.n * sizeof *s->order);
    if (s->opt == NULL || s->order == NULL) {
        fail(s->opt ? "malloc" : "making the MLP and its optimizer");
        w5_teardown(s);
        return NULL;
    }
    for (int64_t i = 0; i < s->train.n; i++)
        s->order[i] = i;
    s->accuracy5 = NAN;
    s->loss = log(FASHION_CLASSES); /* what a uniform guess scores */
    s->smoke = smoke;
    return s;
}

/* One SGD step on the samples idx[0..b). */
static int w5_step(w5_state *s, const int64_t *idx, int64_t b)
{
    int64_t shape[2] = {b, FASHION_PIXELS};
    tg_tensor *x = tg_empty(s->step, TG_F32, 2, shape);
    if (x == NULL)
        return fail("tg_empty");
    fashion_gather(&s->train, idx, b, tg_mut_f32(x), s->labels);
    tg_tensor *loss = tg_cross_entropy(s->step,
                                       tg_mlp_forward(s->step, s->net, x),
                                       s->labels);
    tg_params_zero_grad(s->params);
    if (tg_backward(s->step, loss) != TG_OK)
        return fail("tg_backward(cross_entropy(mlp(x)))");
    if (!isfinite(tg_item(loss)))
        return wrong("W5: the loss is %g", tg_item(loss));
    sink = (float)tg_item(loss);
    return tg_optimizer_step(s->opt) == TG_OK ? 0 : fail("tg_optimizer_step");
}

/*
 * Whether the test after a verified epoch shows learning: at least 70%
 * accuracy on the whole set (about 81% is usual after one epoch); for the
 * smoke run, whose one step an epoch teaches little, a test loss below the
 * previous one (below ln 10, a uniform guess, the first time).
 */
static int w5_check(const w5_state *s, double loss)
{
    if (!s->smoke && !(s->accuracy >= 0.70))
        return wrong("W5: test accuracy %.2f%% after %d epochs, expected at "
                     "least 70%%", 100 * s->accuracy, s->epochs);
    if (s->smoke && !(loss < s->loss))
        return wrong("W5: test loss %.4f after %d epochs, not below %.4f",
                     loss, s->epochs, s->loss);
    return 0;
}

/* One epoch; after the fifth and in verified iterations, test. */
int w5_iter(void *state, bool verify)
{
    w5_state *s = state;
    if (tg_rng_shuffle(&s->rng, s->train.n, s->order) != TG_OK)
        return fail("tg_rng_shuffle");
    for (int64_t i = 0; i < s->train.n; i += W5_BATCH) {
        int64_t b = s->train.n - i < W5_BATCH ? s->train.n - i : W5_BATCH;
        int rc = w5_step(s, s->order + i, b);
        tg_tape_reset(s->step);
        if (rc != 0)
            return rc;
    }
    if (++s->epochs != 5 && !verify)
        return 0;
    double loss;
    if (fashion_evaluate(s->step, s->net, &s->test, &loss, &s->accuracy))
        return fail("fashion_evaluate");
    if (verify && w5_check(s, loss) != 0)
        return -1;
    s->loss = loss;
    s->tested = s->epochs;
    if (s->epochs == 5)
        s->accuracy5 = s->accuracy;
    return 0;
}

void w5_note(void *state, char *buf, size_t n)
{
    const w5_state *s = state;
    int k = isnan(s->accuracy5) ? 0
            : snprintf(buf, n, "test accuracy %.2f%% after 5 epochs, ",
                       100 * s->accuracy5);
    snprintf(buf + k, n - (size_t)k, "%.2f%% after %d", 100 * s->accuracy,
             s->tested);
}


/* ---- W6: one epoch of LeNet-5 on Fashion-MNIST */

/*
 * BENCHMARKS.md's W6 recipe, as examples/fashion_cnn.c and
 * bench/torch_models.py run it: LeNet-5 (conv 1->6 5x5 pad 2, ReLU, max
 * pool 2, conv 6->16 5x5, ReLU, max pool 2, linear 400-120-84-10 with
 * ReLU), PyTorch's default initialisation (seed 6), softmax cross-entropy,
 * SGD lr 0.05 momentum 0.9, batches of 64 reshuffled every epoch, f32. One
 * iteration is the training loop of one epoch over the 60,000 images; the
 * verified iterations (untimed) also test on the 10,000 test images (at
 * least 75% after an epoch; the note reports it). The smoke run uses W5's
 * slices of the test split and asks for a falling test loss.
 */
typedef struct w6_state {
    w5_state d;                /* the data, order, labels, tapes */
    tg_sequential *net;
    tg_params *params;
    tg_optimizer *opt;
} w6_state;

void w6_teardown(void *state)
{
    w6_state *s = state;
    if (s == NULL)
        return;
    tg_tape_free(s->d.step);
    tg_tape_free(s->d.model);
    tg_tape_free(s->d.data);
    free(s->d.order);
    free(s);
}

static tg_sequential *w6_lenet(tg_tape *t, tg_rng *rng)
{
    tg_sequential *net = tg_sequential_new(t);
    tg_conv_options pad2 = tg_conv_defaults();
    pad2.padding[0] = pad2.padding[1] = 2;
    tg_pool2d_options two = tg_pool2d_defaults(2, 2);
    tg_layer *l[] = {
        tg_layer_conv2d_new(t, rng, TG_F32, 1, 6, 5, 5, &pad2, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_max_pool2d_new(t, &two),
        tg_layer_conv2d_new(t, rng, TG_F32, 6, 16, 5, 5, NULL, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_max_pool2d_new(t, &two),
        tg_layer_flatten_new(t, 1),
        tg_layer_linear_new(t, rng, TG_F32, 400, 120, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_linear_new(t, rng, TG_F32, 120, 84, true),
        tg_layer_activation_new(t, "relu"),
        tg_layer_linear_new(t, rng, TG_F32, 84, 10, true)};
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        if (tg_sequential_add(net, l[i]) != TG_OK)
            return NULL;
    return net;
}

void *w6_setup(bool smoke)
{
    w6_state *s = calloc(1, sizeof *s);
    if (s == NULL || !(s->d.data = tg_tape_new()) ||
        !(s->d.model = tg_tape_new()) || !(s->d.step = tg_tape_new())) {
        w6_teardown(s);
        fail("tg_tape_new");
        return NULL;
    }
    int rc = w5_load(&s->d, smoke);
    if (rc != TG_OK) {
        if (rc == TG_ENOTFOUND)
            snprintf(skip_reason, sizeof skip_reason, "%s", tg_last_error());
        else
            fail("fashion_load");
        w6_teardown(s);
        return NULL;
    }
    tg_rng init;
    tg_rng_seed(&init, 6, 1);
    tg_rng_seed(&s->d.rng, 6, 2);
    tg_sgd_options sgd = tg_sgd_defaults(0.05);
    sgd.momentum = 0.9;
    s->net = w6_lenet(s->d.model, &init);
    s->params = s->net ? tg_sequential_params(s->net) : NULL;
    s->opt = s->params ? tg_sgd_new(s->d.model, s->params, &sgd) : NULL;
    s->d.order = malloc((size_t)s->d.train.n * sizeof *s->d.order);
    if (s->opt == NULL || s->d.order == NULL) {
        fail(s->opt ? "malloc" : "making LeNet-5 and its optimizer");
        w6_teardown(s);
        return NULL;
    }
    for (int64_t i = 0; i < s->d.train.n; i++)
        s->d.order[i] = i;
    s->d.accuracy5 = NAN;
    s->d.loss = log(FASHION_CLASSES);
    s->d.smoke = smoke;
    return s;
}

static int w6_step(w6_state *s, const int64_t *idx, int64_t b)
{
    int64_t shape[4] = {b, 1, 28, 28};
    tg_tensor *x = tg_empty(s->d.step, TG_F32, 4, shape);
    if (x == NULL)
        return fail("tg_empty");
    fashion_gather(&s->d.train, idx, b, tg_mut_f32(x), s->d.labels);
    tg_tensor *loss = tg_cross_entropy(
        s->d.step, tg_sequential_forward(s->d.step, s->net, x), s->d.labels);
    tg_params_zero_grad(s->params);
    if (tg_backward(s->d.step, loss) != TG_OK)
        return fail("tg_backward(cross_entropy(lenet(x)))");
    if (!isfinite(tg_item(loss)))
        return wrong("W6: the loss is %g", tg_item(loss));
    sink = (float)tg_item(loss);
    return tg_optimizer_step(s->opt) == TG_OK ? 0 : fail("tg_optimizer_step");
}

/* Test loss and accuracy in eval mode, batches of 1000, no gradients. */
static int w6_test(w6_state *s, double *loss)
{
    tg_tape *t = s->d.step;
    const fashion_set *te = &s->d.test;
    double total = 0;
    int64_t correct = 0;
    tg_sequential_set_training(s->net, false);
    tg_tape_set_grad_enabled(t, false);
    int rc = 0;
    for (int64_t i = 0; i < te->n && rc == 0; i += 1000) {
        int64_t b = te->n - i < 1000 ? te->n - i : 1000;
        int64_t shape[4] = {b, 1, 28, 28};
        tg_tensor *logits = tg_sequential_forward(
            t, s->net, tg_from_data(t, TG_F32, 4, shape,
                                    te->images + i * FASHION_PIXELS));
        tg_tensor *l = tg_cross_entropy(t, logits, te->labels + i);
        if (l == NULL)
            rc = fail("testing LeNet-5");
        else {
            total += tg_item(l) * (double)b;
            correct += fashion_correct(logits, te->labels + i, b);
        }
        tg_tape_reset(t);
    }
    tg_tape_set_grad_enabled(t, true);
    tg_sequential_set_training(s->net, true);
    *loss = total / (double)te->n;
    s->d.accuracy = (double)correct / (double)te->n;
    return rc;
}

/* One epoch's training loop; verified iterations then test. */
int w6_iter(void *state, bool verify)
{
    w6_state *s = state;
    if (tg_rng_shuffle(&s->d.rng, s->d.train.n, s->d.order) != TG_OK)
        return fail("tg_rng_shuffle");
    for (int64_t i = 0; i < s->d.train.n; i += W5_BATCH) {
        int64_t b = s->d.train.n - i < W5_BATCH ? s->d.train.n - i
                                                : W5_BATCH;
        int rc = w6_step(s, s->d.order + i, b);
        tg_tape_reset(s->d.step);
        if (rc != 0)
            return rc;
    }
    s->d.epochs++;
    if (!verify)
        return 0;
    double loss;
    if (w6_test(s, &loss) != 0)
        return -1;
    if (!s->d.smoke && !(s->d.accuracy >= 0.75))
        return wrong("W6: test accuracy %.2f%% after %d epochs, expected at "
                     "least 75%%", 100 * s->d.accuracy, s->d.epochs);
    if (s->d.smoke && !(loss < s->d.loss))
        return wrong("W6: test loss %.4f after %d epochs, not below %.4f",
                     loss, s->d.epochs, s->d.loss);
    s->d.loss = loss;
    s->d.tested = s->d.epochs;
    return 0;
}

void w6_note(void *state, char *buf, size_t n)
{
    const w6_state *s = state;
    snprintf(buf, n, "test accuracy %.2f%% after %d epoch%s",
             100 * s->d.accuracy, s->d.tested, s->d.tested == 1 ? "" : "s");
}

#else

void *w5_setup(bool smoke)
{
    (void)smoke;
    snprintf(skip_reason, sizeof skip_reason, "the bench was built without "
             "zlib, which reading the data set needs");
    return NULL;
}

int w5_iter(void *state, bool verify)
{
    (void)state, (void)verify;
    return -1;
}

void w5_teardown(void *state)
{
    (void)state;
}

void w5_note(void *state, char *buf, size_t n)
{
    (void)state, (void)buf, (void)n;
}

void *w6_setup(bool smoke)
{
    return w5_setup(smoke);
}

int w6_iter(void *state, bool verify)
{
    return w5_iter(state, verify);
}

void w6_teardown(void *state)
{
    (void)state;
}

void w6_note(void *state, char *buf, size_t n)
{
    (void)state, (void)buf, (void)n;
}

#endif /* BENCH_FASHION */
