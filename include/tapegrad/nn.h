/*
 * tapegrad/nn.h — tiny networks: parameter lists, layers, losses and
 * optimizers, built only on the public op API.
 *
 * The pattern: parameters and optimizer state live on a long-lived tape;
 * each training step builds its graph on a step tape, runs backward, lets
 * the optimizer update the parameters, and resets the step tape.
 *
 *     tg_tape *ptape = tg_tape_new(), *step = tg_tape_new();
 *     tg_params *params = tg_params_new(ptape);
 *     tg_rng rng;  tg_rng_seed(&rng, 42, 0);
 *     int64_t widths[] = {784, 256, 10};
 *     tg_mlp *net = tg_mlp_new(ptape, params, &rng, TG_F32, 3, widths, tg_relu);
 *     tg_optimizer *opt = tg_adam_new(ptape, params, NULL);   // PyTorch defaults
 *     int64_t shape[] = {32, 784}, labels[32] = {0};  // a batch: 32 images
 *     tg_tensor *x = tg_rand_uniform(ptape, &rng, TG_F32, 2, shape, 0.0, 1.0);
 *     for (int epoch = 0; epoch < 3; epoch++) {
 *         tg_params_zero_grad(params);
 *         tg_tensor *loss = tg_cross_entropy(step, tg_mlp_forward(step, net, x),
 *                                            labels);
 *         tg_backward(step, loss);
 *         tg_optimizer_step(opt);
 *         tg_tape_reset(step);
 *     }
 *     tg_tape_free(step);  tg_tape_free(ptape);   // frees net, params, opt
 */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H

#include "ops.h"
#include "random.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Parameter lists -------------------------------------------------- */

/* An ordered list of parameter tensors, owned by a tape. Like a tensor,
 * this and every handle below (tg_mlp, tg_optimizer) is freed by a reset
 * of its tape: each call then reports TG_ESTATE naming itself. */
typedef struct tg_params tg_params;

/* A new, empty list owned by t; NULL on failure. */
TG_API tg_params *tg_params_new(tg_tape *t);

/* Append x (which now requires grad). Returns 0, TG_EINVAL (x is already
 * in the list, as torch.optim refuses it; x is not a leaf), TG_ESTATE or
 * TG_ENOMEM; on failure neither p nor x has changed. */
TG_API int tg_params_add(tg_params *p, tg_tensor *x);

/* How many parameters p holds (0 for NULL, and 0 with TG_ESTATE for a
 * list freed by a reset); the i-th (NULL and TG_EINVAL
 * for an index outside 0..count-1, an empty list or a NULL p); how many
 * elements they hold in all. */
TG_API int64_t tg_params_count(const tg_params *p);
TG_API tg_tensor *tg_params_at(const tg_params *p, int64_t i);
TG_API int64_t tg_params_numel(const tg_params *p);

/* tg_zero_grad on every parameter. Returns TG_OK, the pending failure
 * for a NULL p (TG_EINVAL if none), or TG_ESTATE for a parameter freed by
 * a reset of its tape (the ones before it are zeroed). */
TG_API int tg_params_zero_grad(tg_params *p);

/* ---- Layers ------------------------------------------------------------ */

/* A fully connected layer y = x W^T + b, W (out, in), b (out,) or NULL. */
typedef struct tg_linear_layer {
    tg_tensor *weight;
    tg_tensor *bias;
} tg_linear_layer;

/*
 * Make a linear layer's parameters on t, initialised as PyTorch's
 * nn.Linear: W and b uniform in [-1/sqrt(in), 1/sqrt(in)], drawn from rng,
 * and add them to p (p may be NULL). Returns 0 or a negative status; on
 * failure *l, p and rng are as they were.
 */
TG_API int tg_linear_layer_init(tg_linear_layer *l, tg_tape *t, tg_params *p,
                                tg_rng *rng, tg_dtype dt, int64_t in,
                                int64_t out, bool bias);

/* y = x W^T + b on tape t (tg_linear). */
TG_API tg_tensor *tg_linear_layer_forward(tg_tape *t, const tg_linear_layer *l,
                                          tg_tensor *x);

/* An activation: any op of one tensor, such as tg_relu or tg_tanh. */
typedef tg_tensor *(*tg_activation_fn)(tg_tape *t, tg_tensor *x);

/* A multi-layer perceptron: linear layers with an activation between them
 * (none after the last). */
typedef struct tg_mlp tg_mlp;

/*
 * widths[0] inputs, widths[n-1] outputs, n >= 2; layers initialised as
 * tg_linear_layer_init. Owned by t; parameters added to p (may be NULL).
 * NULL on failure, with p and rng as they were.
 */
TG_API tg_mlp *tg_mlp_new(tg_tape *t, tg_params *p, tg_rng *rng, tg_dtype dt,
                          int n, const int64_t *widths, tg_activation_fn act);

/* The network on x, recorded on t: a new tensor owned by t. With tg_relu
 * as the activation, each hidden linear layer and its relu are one
 * recorded op ("linear_fused"), the relu applied inside the matrix
 * product: the same values and gradients, bit for bit, as tg_linear then
 * tg_relu. NULL when x is NULL (keeping that failure), for a NULL m
 * (keeping the failure that made it NULL), with TG_ESTATE when m was
 * freed by a reset of its tape, or with the error of the layer that
 * failed (a wrong input size is TG_ESHAPE from tg_linear). */
TG_API tg_tensor *tg_mlp_forward(tg_tape *t, const tg_mlp *m, tg_tensor *x);
/* How many linear layers m has (0 for NULL, and 0 with TG_ESTATE for a
 * network freed by a reset); the i-th, borrowed from m (owned by m's tape;
 * NULL and TG_EINVAL for an index outside 0..count-1). */
TG_API int tg_mlp_layers(const tg_mlp *m);
TG_API tg_linear_layer *tg_mlp_layer(const tg_mlp *m, int i);

/* ---- Losses ------------------------------------------------------------- */

/*
 * The max-margin (hinge) loss of micrograd's demo: mean(relu(1 - y * s))
 * for scores s and labels y in {-1, +1}, both (n,) or (n, 1): a new
 * scalar owned by t. NULL and TG_ESHAPE when the shapes differ; a NULL
 * input keeps its failure.
 */
TG_API tg_tensor *tg_hinge_loss(tg_tape *t, tg_tensor *scores,
                                tg_tensor *labels);

/* The L2 penalty alpha * sum over the parameters of p^2, on tape t, in
 * their dtype. NULL and TG_EINVAL for an empty list (a zero would have no
 * dtype to match the loss it is added to: skip the call instead). */
TG_API tg_tensor *tg_l2_penalty(tg_tape *t, const tg_params *p, double alpha);

/* ---- Optimizers ----------------------------------------------------------- */

/* An optimizer over a parameter list, its state owned by a tape. */
typedef struct tg_optimizer tg_optimizer;

/* PyTorch's torch.optim.SGD. Defaults: momentum, dampening, weight decay 0. */
typedef struct tg_sgd_options {
    double lr;
    double momentum;
    double dampening;
    double weight_decay;
    bool nesterov;
} tg_sgd_options;

/* PyTorch's torch.optim.Adam and AdamW (decoupled weight decay). */
typedef struct tg_adam_options {
    double lr;                   /* default 1e-3 */
    double beta1, beta2;         /* default 0.9, 0.999 */
    double eps;                  /* default 1e-8 */
    double weight_decay;         /* default 0 for Adam, 1e-2 for AdamW */
} tg_adam_options;

/* The options filled with PyTorch's defaults, returned by value (nothing
 * to free, nothing that fails; the values are checked when an optimizer
 * is made): SGD with learning rate lr and no momentum, dampening or weight
 * decay; Adam with lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight
 * decay; AdamW the same with weight decay 1e-2. */
TG_API tg_sgd_options tg_sgd_defaults(double lr);
TG_API tg_adam_options tg_adam_defaults(void);
TG_API tg_adam_options tg_adamw_defaults(void);

/*
 * Make an optimizer for the parameters in p (as they are now: add
 * parameters first), its state on tape t. opt NULL: the defaults
 * (SGD needs its options, for the learning rate). NULL and TG_EINVAL for a
 * bad option (negative lr, momentum, betas outside [0, 1), ...).
 */
TG_API tg_optimizer *tg_sgd_new(tg_tape *t, tg_params *p,
                                const tg_sgd_options *opt);
TG_API tg_optimizer *tg_adam_new(tg_tape *t, tg_params *p,
                                 const tg_adam_options *opt);
TG_API tg_optimizer *tg_adamw_new(tg_tape *t, tg_params *p,
                                  const tg_adam_options *opt);

/*
 * One update of every parameter that has a gradient, by PyTorch's rule for
 * that optimizer (parameters without a gradient are skipped, as PyTorch).
 * Rounded as PyTorch 1.13 on the CPU rounds it, so an f32 step matches
 * torch.optim bit for bit: the coefficients (1 - beta, 1 - dampening,
 * 1 - lr * weight_decay, the bias corrections) are computed in double and
 * then rounded to the dtype, and each of PyTorch's "add with alpha"
 * (g + wd p, m b1 + (1 - b1) g, p - lr d, ...) is one fused multiply-add.
 * Returns 0 or a negative status: TG_ESTATE when the optimizer, a
 * parameter or a state tensor was freed by a reset of its tape, checked
 * before any parameter is updated.
 */
TG_API int tg_optimizer_step(tg_optimizer *o);

/* Change the learning rate (for schedules). lr is checked as tg_sgd_new
 * and tg_adam_new check it: TG_EINVAL (and the rate unchanged) unless it is
 * finite and >= 0. Returns TG_OK, or for a NULL o the pending failure
 * (TG_EINVAL if none). */
TG_API int tg_optimizer_set_lr(tg_optimizer *o, double lr);

/* The learning rate; NaN (and an error, as tg_optimizer_set_lr) for a NULL
 * o. */
TG_API double tg_optimizer_lr(const tg_optimizer *o);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_NN_H */
