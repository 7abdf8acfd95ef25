/*
 * test_bad_input_train.c — bad input: training beyond the optimizer
 * (tapegrad/train.h): checkpoints that do not match their model or
 * optimizer, refused gradient clipping, refused learning-rate schedules.
 * One row per mistake: the status and the message fragment it must give
 * back. tests/support/tg_bad_input.h says how a row is run and what it must
 * leave behind; tests/support/tg_bad_input_nets.h builds the networks the
 * checkpoint rows save and load.
 */
#include "tg_bad_input.h"
#include "tg_bad_input_nets.h"

/* ---- Checkpoints, clipping and schedules. */

static int ckpt_no_file(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return tg_checkpoint_load(in_dir(f, "none.npz"),
                              &(tg_checkpoint){.model = s});
}

static int ckpt_both(fx *f)
{
    tg_sequential *s = train_net(f, TG_F32, 4, false);
    return tg_checkpoint_save(in_dir(f, "x.npz"),
                              &(tg_checkpoint){s, tg_sequential_params(s),
                                               NULL, NULL});
}

/* A params-list file loaded into a sequential: every name is wrong. */
static int ckpt_params_into_model(fx *f)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->a34);
    int rc = tg_checkpoint_save(in_dir(f, "p.npz"),
                                &(tg_checkpoint){.params = p});
    tg_sequential *s = tg_sequential_new(f->t);
    if (rc == TG_OK)
        rc = tg_checkpoint_load(f->path, &(tg_checkpoint){.model = s});
    unlink(f->path);
    return rc;
}

/* A clip that is refused leaves the gradients alone. */
static int clip_refused(fx *f, double max_norm, double norm_type,
                        double value)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    int rc = tg_backward(f->t, tg_sum(f->t, tg_mul_scalar(f->t, f->d34,
                                                          5.0)));
    if (rc != TG_OK)
        return rc;
    rc = isnan(value) ? tg_params_clip_grad_norm(p, max_norm, norm_type, NULL)
                      : tg_params_clip_grad_value(p, value);
    int status = tg_last_status();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tg_last_error());
    for (int i = 0; i < 12; i++)
        if (tg_data_f64(tg_grad(f->d34))[i] != 5.0)
            return expect(false, "a refused clip left the gradients alone");
    tg_set_error(status, "%s", msg);
    return rc;
}

/* A refused schedule leaves the optimizer's rate alone. */
static int sched_refused(fx *f, int which)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    tg_sgd_options so = tg_sgd_defaults(0.5);
    tg_optimizer *o = tg_sgd_new(f->t, p, &so);
    tg_lr_schedule *s =
        which == 0 ? tg_lr_step_new(f->t, o, 0, 0.5)
        : which == 1 ? tg_lr_exponential_new(f->t, o, 0.0)
        : which == 2 ? tg_lr_cosine_new(f->t, o, 10, -1.0)
        : which == 3 ? tg_lr_warmup_new(f->t, o, 0.0, 1.0, 5)
        : which == 4 ? tg_lr_warmup_cosine_new(f->t, o, 0.1, 0, 10, 0.0)
        : tg_lr_cosine_new(f->t, o, 0, 0.0);
    int rc = ptr(s);
    if (tg_optimizer_lr(o) != 0.5)
        return expect(false, "a refused schedule left the rate alone");
    return rc;
}

static int sched_failed_optimizer(fx *f)
{
    tg_sgd_options so = tg_sgd_defaults(-1.0);
    tg_optimizer *o = tg_sgd_new(f->t, tg_params_new(f->t), &so);
    return ptr(tg_lr_step_new(f->t, o, 2, 0.5));
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Layers, schedules, clipping, checkpoints (train.h). */                \
    X(ckpt_missing, TG_ENOTFOUND, "has no array '4.weight' (the model has "  \
      "it)", ckpt_mismatch(f, train_net(f, TG_F32, 4, false), 0,             \
                           train_net(f, TG_F32, 4, true), 0))                \
    X(ckpt_extra, TG_EINVAL, "holds '4.weight', which the model does not "   \
      "have", ckpt_mismatch(f, train_net(f, TG_F32, 4, true), 0,             \
                            train_net(f, TG_F32, 4, false), 0))              \
    X(ckpt_misshaped, TG_ESHAPE, "holds '1.weight' of shape (5,6), but the " \
      "model's is (4,6)", ckpt_mismatch(f, train_net(f, TG_F32, 5, false),   \
                                        0, train_net(f, TG_F32, 4, false),   \
                                        0))                                  \
    X(ckpt_dtype, TG_EDTYPE, "holds '1.weight' as f64, but the model's is "  \
      "f32", ckpt_mismatch(f, train_net(f, TG_F64, 4, false), -1,            \
                           train_net(f, TG_F32, 4, false), -1))              \
    X(ckpt_optimizer_kind, TG_EINVAL, "holds the state of SGD, but the "     \
      "optimizer is Adam", ckpt_mismatch(f, train_net(f, TG_F32, 4, false),  \
                                         0, train_net(f, TG_F32, 4, false),  \
                                         1))                                 \
    X(ckpt_no_optimizer_state, TG_ENOTFOUND, "has no array 'optimizer.kind'" \
      , ckpt_mismatch(f, train_net(f, TG_F32, 4, false), -1,                 \
                      train_net(f, TG_F32, 4, false), 1))                    \
    X(ckpt_no_file, TG_EIO, "tg_checkpoint_load: ", ckpt_no_file(f))         \
    X(ckpt_model_and_params, TG_EINVAL, "tg_checkpoint_save: give the "      \
      "checkpoint a model or a parameter list (it has both)", ckpt_both(f))  \
    X(ckpt_params_into_model, TG_EINVAL, "holds 'params.0', which the "      \
      "model does not have", ckpt_params_into_model(f))                      \
    X(clip_norm_negative, TG_EINVAL, "tg_params_clip_grad_norm: max_norm -1 "\
      "must be >= 0", clip_refused(f, -1.0, 2.0, NAN))                       \
    X(clip_norm_nan, TG_EINVAL, "tg_params_clip_grad_norm: max_norm nan",    \
      clip_refused(f, NAN, 2.0, NAN))                                        \
    X(clip_norm_type_zero, TG_EINVAL, "norm_type 0 > 0",                     \
      clip_refused(f, 1.0, 0.0, NAN))                                        \
    X(clip_value_negative, TG_EINVAL, "tg_params_clip_grad_value: clip "     \
      "-0.5 must be >= 0", clip_refused(f, 0.0, 0.0, -0.5))                  \
    X(clip_null_params, TG_EINVAL, "tg_params_clip_grad_value: parameter "   \
      "list is NULL", tg_params_clip_grad_value(NULL, 1.0))                  \
    X(sched_step_size_zero, TG_EINVAL, "tg_lr_step_new: step_size (>= 1) 0", \
      sched_refused(f, 0))                                                   \
    X(sched_gamma_zero, TG_EINVAL, "tg_lr_exponential_new: gamma (finite, "  \
      "> 0) 0", sched_refused(f, 1))                                         \
    X(sched_eta_min_negative, TG_EINVAL, "tg_lr_cosine_new: eta_min",        \
      sched_refused(f, 2))                                                   \
    X(sched_start_zero, TG_EINVAL, "tg_lr_warmup_new: start_factor",         \
      sched_refused(f, 3))                                                   \
    X(sched_warmup_zero, TG_EINVAL, "tg_lr_warmup_cosine_new: warmup (>= 1)" \
      " 0", sched_refused(f, 4))                                             \
    X(sched_t_max_zero, TG_EINVAL, "tg_lr_cosine_new: t_max (>= 1) 0",       \
      sched_refused(f, 5))                                                   \
    X(sched_failed_optimizer, TG_EINVAL, "tg_sgd_new: lr -1",                \
      sched_failed_optimizer(f))                                             \
    X(cnn_ckpt_no_rng, TG_ENOTFOUND, "has no array '4.rng' (the model has "  \
      "it)", ckpt_mismatch(f, cnn_net(f, false), 0, cnn_net(f, true), 0))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_train", rows, N_ROWS);
}
