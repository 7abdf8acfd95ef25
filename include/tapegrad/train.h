/*
 * tapegrad/train.h — training utilities: gradient clipping, learning-rate
 * schedules (as torch.optim.lr_scheduler) and checkpoints that resume a
 * run bit for bit.
 *
 *     tg_rng rng;  tg_rng_seed(&rng, 7, 0);
 *     tg_sequential *net = tg_sequential_new(t);
 *     tg_sequential_add(net, tg_layer_linear_new(t, &rng, TG_F64, 3, 1, true));
 *     tg_optimizer *opt = tg_adam_new(t, tg_sequential_params(net), NULL);
 *     tg_lr_schedule *sched = tg_lr_cosine_new(t, opt, 10, 0.0);
 *     tg_tape *step = tg_tape_new();
 *     int64_t shape[] = {4, 3};
 *     tg_tensor *x = tg_rand_uniform(t, &rng, TG_F64, 2, shape, -1.0, 1.0);
 *     for (int epoch = 0; epoch < 3; epoch++) {
 *         tg_params_zero_grad(tg_sequential_params(net));
 *         tg_tensor *y = tg_sequential_forward(step, net, x);
 *         tg_backward(step, tg_mean(step, tg_mul(step, y, y)));
 *         double norm;
 *         tg_params_clip_grad_norm(tg_sequential_params(net), 1.0, 2.0, &norm);
 *         tg_optimizer_step(opt);
 *         tg_lr_schedule_step(sched);
 *         tg_tape_reset(step);
 *     }
 *     tg_checkpoint ck = {.model = net, .optimizer = opt, .schedule = sched};
 *     if (tg_checkpoint_save("run.npz", &ck) != TG_OK ||
 *         tg_checkpoint_load("run.npz", &ck) != TG_OK)
 *         fprintf(stderr, "%s\n", tg_last_error());
 *     remove("run.npz");
 *     tg_tape_free(step);
 */
#ifndef TAPEGRAD_TRAIN_H
#define TAPEGRAD_TRAIN_H

#include "sequential.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Gradient clipping ---------------------------------------------------- */

/*
 * torch.nn.utils.clip_grad_norm_: the norm of the gradients of p's
 * parameters taken together (parameters without a gradient are left out),
 * as norm_type (a number > 0, or INFINITY for the largest magnitude); if it
 * exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
 * The norm is written to *total_norm (may be NULL), NaN or infinite if a
 * gradient is. TG_EINVAL (nothing changed) for a max_norm that is negative
 * or NaN, or a norm_type that is not > 0.
 */
TG_API int tg_params_clip_grad_norm(tg_params *p, double max_norm,
                                    double norm_type, double *total_norm);

/* torch.nn.utils.clip_grad_value_: clamp every gradient of p's parameters
 * to [-clip, clip]. TG_EINVAL (nothing changed) unless clip >= 0. */
TG_API int tg_params_clip_grad_value(tg_params *p, double clip);

/* ---- Learning-rate schedules ---------------------------------------------- */

/*
 * A schedule sets its optimizer's learning rate (tg_optimizer_set_lr) from
 * the rate the optimizer had when the schedule was made (base_lr) and a
 * count of tg_lr_schedule_step calls (the epoch, from 0), by the closed
 * form of the PyTorch scheduler named:
 *
 * - step (StepLR): base_lr * gamma^floor(epoch / step_size);
 * - exponential (ExponentialLR): base_lr * gamma^epoch;
 * - cosine (CosineAnnealingLR): eta_min + (base_lr - eta_min)
 *   (1 + cos(pi epoch / t_max)) / 2;
 * - warmup (LinearLR): base_lr * (start + (end - start) min(epoch, iters)
 *   / iters);
 * - warmup then cosine (SequentialLR of LinearLR(start, 1.0, warmup) and
 *   CosineAnnealingLR(t_max, eta_min) with milestone warmup): the warmup
 *   for epoch < warmup, then cosine at epoch - warmup.
 *
 * Making one sets the rate for epoch 0, as PyTorch's constructors do.
 * Errors: TG_EINVAL naming the call and the value for step_size < 1,
 * gamma not finite or < 0 (or 0 for exponential), t_max < 1, eta_min
 * not finite or < 0, factors outside (0, 1] for start and [0, 1] for end,
 * iters < 1; the optimizer's rate is then unchanged.
 */
typedef struct tg_lr_schedule tg_lr_schedule;

/* Each returns a new schedule owned by t (freed with it), or NULL: with
 * the errors above, TG_EINVAL for a NULL t or o (a NULL o left by a failed
 * constructor keeps that failure), TG_ESTATE for an optimizer freed by a
 * reset of its tape, or TG_ENOMEM. */
TG_API tg_lr_schedule *tg_lr_step_new(tg_tape *t, tg_optimizer *o,
                                      int64_t step_size, double gamma);
TG_API tg_lr_schedule *tg_lr_exponential_new(tg_tape *t, tg_optimizer *o,
                                             double gamma);
TG_API tg_lr_schedule *tg_lr_cosine_new(tg_tape *t, tg_optimizer *o,
                                        int64_t t_max, double eta_min);
TG_API tg_lr_schedule *tg_lr_warmup_new(tg_tape *t, tg_optimizer *o,
                                        double start_factor,
                                        double end_factor, int64_t iters);
TG_API tg_lr_schedule *tg_lr_warmup_cosine_new(tg_tape *t, tg_optimizer *o,
                                               double start_factor,
                                               int64_t warmup, int64_t t_max,
                                               double eta_min);

/* Advance one epoch and set the optimizer's rate. Returns its status. */
TG_API int tg_lr_schedule_step(tg_lr_schedule *s);

/* The epoch (steps taken; -1 and TG_EINVAL for NULL); the rate the
 * schedule gives at epoch e >= 0 (NaN and TG_EINVAL otherwise). */
TG_API int64_t tg_lr_schedule_epoch(const tg_lr_schedule *s);
TG_API double tg_lr_schedule_lr_at(const tg_lr_schedule *s, int64_t e);

/* ---- Checkpoints ---------------------------------------------------------- */

/*
 * What a checkpoint holds: a model (a sequential container, or a plain
 * parameter list), and optionally its optimizer and schedule. Give model
 * or params, not both.
 */
typedef struct tg_checkpoint {
    tg_sequential *model;       /* entries named as its state dict */
    tg_params *params;          /* entries "params.0", "params.1", ... */
    tg_optimizer *optimizer;    /* may be NULL */
    tg_lr_schedule *schedule;   /* may be NULL */
} tg_checkpoint;

/*
 * Write everything c names to one .npz file: the model's arrays under
 * their names ("0.weight"), and the optimizer's state under
 * "optimizer.*" (its kind and options; per parameter its step count and
 * SGD's momentum buffer or Adam's moments, "optimizer.3.exp_avg"), the
 * schedule's epoch as "schedule.epoch". The model part is a PyTorch state
 * dict: np.savez(path, **{k: v.numpy() for k, v in m.state_dict().items()})
 * writes a file that loads into the same network.
 */
TG_API int tg_checkpoint_save(const char *path, const tg_checkpoint *c);

/*
 * Read a file tg_checkpoint_save wrote back into the objects c names, so
 * that training continues exactly (bit for bit) as if it had not stopped.
 * Every model entry must be in the file with the same shape and dtype, and
 * the file must have no model entry the model lacks; entries for an
 * optimizer or schedule that c does not name are ignored. An optimizer
 * must be of the same kind over the same parameter shapes. Errors:
 * TG_EIO, TG_EFORMAT as tg_npz_load; TG_ENOTFOUND naming a missing array,
 * TG_EINVAL naming an extra one, TG_ESHAPE or TG_EDTYPE naming a
 * mis-shaped one with both shapes; nothing is changed on any error.
 */
TG_API int tg_checkpoint_load(const char *path, const tg_checkpoint *c);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_TRAIN_H */
