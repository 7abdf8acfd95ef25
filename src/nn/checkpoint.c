/*
 * checkpoint.c — a model, its optimizer and its schedule in one .npz file,
 * and back: the layout, and what saving (checkpoint_save.c) and loading
 * (checkpoint_load.c, which checks the whole file before changing
 * anything) share (checkpoint.h).
 *
 * Layout: the model's arrays under their state-dict names; the optimizer
 * as "optimizer.kind" (0 SGD, 1 Adam, 2 AdamW), "optimizer.options" (five
 * doubles: SGD's lr, momentum, dampening, weight decay, nesterov; Adam's
 * lr, beta1, beta2, eps, weight decay) and per parameter i
 * "optimizer.i.step" and its state tensors under PyTorch's names; the
 * schedule as "schedule.kind", "schedule.base_lr", "schedule.epoch".
 */
#include "checkpoint.h"
#include "nn_internal.h"
#include "schedule.h"

#include <stdio.h>

static const char *const state_names[2][2] = {
    {"momentum_buffer", NULL},       /* SGD */
    {"exp_avg", "exp_avg_sq"},       /* Adam, AdamW */
};

const char *tg__ckpt_state_name(const tg_optimizer *o, int j)
{
    return state_names[o->kind == OPT_SGD ? 0 : 1][j];
}

tg_tensor *tg__ckpt_state_of(const tg_optimizer *o, int64_t i, int j)
{
    return j == 0 ? o->state1[i] : o->state2[i];
}

int tg__ckpt_model_count(const tg_checkpoint *c)
{
    return c->model != NULL ? tg_sequential_state_count(c->model)
                            : (int)tg_params_count(c->params);
}

tg_tensor *tg__ckpt_model_at(const tg_checkpoint *c, int i, const char **name,
                             char *buf, size_t n)
{
    if (c->model != NULL)
        return tg_sequential_state_at(c->model, i, name);
    snprintf(buf, n, "params.%d", i);
    *name = buf;
    return tg_params_at(c->params, i);
}

int tg__ckpt_check_args(const char *fn, const char *path,
                        const tg_checkpoint *c)
{
    if (path == NULL || c == NULL)
        return tg_set_error(TG_EINVAL, "%s: %s is NULL", fn,
                            path == NULL ? "path" : "checkpoint");
    if ((c->model == NULL) == (c->params == NULL))
        return tg_set_error(TG_EINVAL, "%s: give the checkpoint a model or a "
                            "parameter list (%s)", fn, c->model == NULL
                            ? "it has neither" : "it has both");
    /* Every handle c names is read below: each must be live. */
    int rc = c->model != NULL ? tg__sequential_check(fn, c->model)
                              : tg__check_handle(fn, c->params,
                                                 "parameter list");
    if (rc == TG_OK && c->optimizer != NULL)
        rc = tg__optimizer_check(fn, c->optimizer);
    if (rc == TG_OK && c->schedule != NULL)
        rc = tg__schedule_check(fn, c->schedule);
    return rc;
}

