/*
 * checkpoint.h — what checkpoint_save.c and checkpoint_load.c share: the
 * names of the .npz layout (checkpoint.c describes it), the walk over the
 * model's entries, and the check of a call's arguments.
 */
#ifndef TG_NN_CHECKPOINT_H
#define TG_NN_CHECKPOINT_H

#include "optimizer.h"
#include "tapegrad/train.h"

#include <stddef.h>

/* "optimizer.options" holds five doubles: SGD's lr, momentum, dampening,
 * weight decay, nesterov; Adam's lr, beta1, beta2, eps, weight decay. */
enum { CKPT_N_OPTIONS = 5 };

/* PyTorch's name of the optimizer's state tensor j (0 or 1): SGD's
 * "momentum_buffer"; Adam's "exp_avg" and "exp_avg_sq". NULL for SGD's 1. */
const char *tg__ckpt_state_name(const tg_optimizer *o, int j);

/* Parameter i's state tensor j (NULL where the optimizer keeps none). */
tg_tensor *tg__ckpt_state_of(const tg_optimizer *o, int64_t i, int j);

/* How many arrays the model part holds: the sequential model's state
 * entries, or the parameter list's parameters. */
int tg__ckpt_model_count(const tg_checkpoint *c);

/* The model's i-th array and its name in the file: the state-dict name,
 * or "params.i" (written into buf, of n bytes) for a parameter list. */
tg_tensor *tg__ckpt_model_at(const tg_checkpoint *c, int i, const char **name,
                             char *buf, size_t n);

/* TG_OK if path and c are given, c names a model or a parameter list (not
 * both), and every handle in it is live; else the error, naming fn. */
int tg__ckpt_check_args(const char *fn, const char *path,
                        const tg_checkpoint *c);

#endif /* TG_NN_CHECKPOINT_H */
