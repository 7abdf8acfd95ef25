/*
 * test_bad_input_nn.c — bad input: networks, losses and optimizers
 * (tapegrad/nn.h), and lifecycles of handles and tensors across resets of
 * their tape. One row per mistake: the status and the message fragment it
 * must give back. tests/support/tg_bad_input.h says how a row is run and
 * what it must leave behind. The layers have their own table
 * (test_bad_input_layers.c), and so do checkpoints, clipping and schedules
 * (test_bad_input_train.c).
 */
#include "tg_bad_input.h"

/* ---- Networks, losses and optimizers. */

static int mlp_new_widths(fx *f, int n, const int64_t *widths)
{
    tg_rng rng = seeded();
    return ptr(tg_mlp_new(f->t, NULL, &rng, TG_F64, n, widths, tg_relu));
}

/* An MLP whose input size does not match x: the layer names the shapes. */
static int mlp_wrong_input(fx *f)
{
    tg_rng rng = seeded();
    tg_mlp *m = tg_mlp_new(f->t, NULL, &rng, TG_F32, 2, (int64_t[]){5, 2},
                           tg_relu);
    if (m == NULL)
        return tg_last_status();
    return ptr(tg_mlp_forward(f->t, m, f->a34));
}

static int optimizer_on_failed_params(fx *f)
{
    tg_params *p = tg_params_new(NULL);     /* fails: the tape is NULL */
    return ptr(tg_adam_new(f->t, p, NULL));
}

/* ---- Lifecycles of handles and tensors (issue 17, classes 3-6, 12). ---- */

/* A parameter list whose tape was reset (and reused). */
static int params_add_stale(fx *f)
{
    tg_tape *pt = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_params_add(p, tg_scalar(pt, TG_F32, 1));
    tg_tape_reset(pt);
    tg_zeros(pt, TG_F32, 1, (int64_t[]){64});
    int rc = tg_params_add(p, f->s);
    int ok = expect(!tg_requires_grad(f->s), "requires_grad left as it was");
    tg_tape_free(pt);
    return ok == TG_OK ? rc : ok;
}

/* An optimizer on f->t over parameters of a tape reset since. */
static int optimizer_step_stale_param(fx *f)
{
    tg_tape *pt = tg_tape_new();
    tg_params *p = tg_params_new(pt);
    tg_params_add(p, tg_scalar(pt, TG_F32, 1));
    tg_optimizer *o = tg_adam_new(f->t, p, NULL);
    tg_tape_reset(pt);
    int rc = tg_optimizer_step(o);
    tg_tape_free(pt);
    return rc;
}

/* An optimizer whose own tape was reset: the parameters (on f->t) are
 * not touched. */
static int optimizer_step_stale(fx *f)
{
    tg_tape *ot = tg_tape_new();
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->d34);
    tg_backward(f->t, tg_sum(f->t, f->d34));
    tg_sgd_options sgd = tg_sgd_defaults(0.5);
    sgd.momentum = 0.9;
    tg_optimizer *o = tg_sgd_new(ot, p, &sgd);
    double before = tg_value_at(f->d34, 0);
    tg_tape_reset(ot);
    int rc = tg_optimizer_step(o);
    int ok = expect(tg_value_at(f->d34, 0) == before, "parameter unchanged");
    tg_tape_free(ot);
    return ok == TG_OK ? rc : ok;
}

static int mlp_forward_stale(fx *f)
{
    tg_tape *nt = tg_tape_new();
    tg_rng rng;
    tg_rng_seed(&rng, 1, 0);
    tg_mlp *m = tg_mlp_new(nt, NULL, &rng, TG_F32, 2, (int64_t[]){4, 2},
                           tg_relu);
    tg_tape_reset(nt);
    int rc = ptr(tg_mlp_forward(f->t, m, f->a34));
    tg_tape_free(nt);
    return rc;
}

static int params_add_twice(fx *f)
{
    tg_params *p = tg_params_new(f->t);
    tg_params_add(p, f->a34);
    int rc = tg_params_add(p, f->a34);
    int ok = expect(tg_params_count(p) == 1, "the list still has one");
    return ok == TG_OK ? rc : ok;
}

/* x written through tg_mut_f32 after mul saved it: refused, and x's
 * gradient not touched. */
static int backward_after_write(fx *f)
{
    tg_tensor *root = tg_sum(f->t, tg_mul(f->t, f->a34, f->a34));
    tg_mut_f32(f->a34)[0] = 9;
    int rc = tg_backward(f->t, root);
    int ok = expect(tg_grad(f->a34) == NULL, "no gradient written");
    return ok == TG_OK ? rc : ok;
}

/* An intermediate of another tape that requires grad. */
static int backward_foreign_intermediate(fx *f)
{
    tg_tape *a = tg_tape_new();
    tg_tensor *x = tg_scalar(a, TG_F32, 2);
    tg_set_requires_grad(x, true);
    tg_tensor *y = tg_exp(a, x);
    int rc = tg_backward(f->t, tg_mul(f->t, f->s, y));
    int ok = expect(tg_grad(x) == NULL, "no gradient written to x");
    tg_tape_free(a);
    return ok == TG_OK ? rc : ok;
}

/* tg_tape_print of an entry whose input's tape was reset and reused. */
static int tape_print_stale_input(fx *f)
{
    tg_tape *a = tg_tape_new();
    tg_tensor *x = tg_scalar(a, TG_F32, 2);
    tg_relu(f->t, tg_mul(f->t, f->a34, x));
    tg_tape_reset(a);
    tg_zeros(a, TG_F64, 1, (int64_t[]){256});
    FILE *out = fopen("/dev/null", "w");
    int rc = out ? tg_tape_print(f->t, out) : TG_EIO;
    if (out)
        fclose(out);
    tg_tape_free(a);
    return rc;
}

static tg_tensor *leaf_for_forward;
static tg_tensor *return_leaf(tg_op_ctx *c)
{
    (void)c;
    return leaf_for_forward;
}
static int no_backward(tg_op_ctx *c, const tg_tensor *y, const tg_tensor *gy,
                       tg_tensor *const *gx)
{
    (void)c; (void)y; (void)gy; (void)gx;
    return TG_OK;
}

/* A user forward that returns an existing leaf: refused, the leaf still
 * a leaf. */
static int forward_returns_leaf(fx *f)
{
    static const tg_op op = {.name = "steal", .arity = 1,
                             .forward = return_leaf, .backward = no_backward};
    leaf_for_forward = f->d34;
    int rc = ptr(tg_apply(f->t, &op, 1, &f->a34, NULL));
    int ok = expect(tg_set_requires_grad(f->d34, true) == TG_OK,
                    "the leaf is still a leaf");
    return ok == TG_OK ? rc : ok;
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Networks and optimizers. */                                           \
    X(mlp_one_width, TG_EINVAL, "tg_mlp_new: needs at least 2 widths",       \
      mlp_new_widths(f, 1, (int64_t[]){4}))                                  \
    X(mlp_zero_width, TG_EINVAL, "sizes 4 -> 0 must be at least 1",          \
      mlp_new_widths(f, 3, (int64_t[]){4, 0, 2}))                            \
    X(mlp_null_widths, TG_EINVAL, "tg_mlp_new", mlp_new_widths(f, 3, NULL))  \
    X(mlp_wrong_input, TG_ESHAPE, "tg_linear: x (3,4) and W (2,5)",          \
      mlp_wrong_input(f))                                                    \
    X(mlp_null_tape, TG_EINVAL, "tg_mlp_new: tape is NULL",                  \
      ptr(tg_mlp_new(NULL, NULL, &(tg_rng){0}, TG_F32, 2, (int64_t[]){2, 2}, \
                     tg_relu)))                                              \
    X(mlp_forward_null, TG_EINVAL, "tg_mlp_forward: network is NULL",        \
      ptr(tg_mlp_forward(f->t, NULL, f->a34)))                               \
    X(hinge_shapes, TG_ESHAPE, "tg_hinge_loss: scores (3,4) and labels (5,)", \
      ptr(tg_hinge_loss(f->t, f->a34, f->b5)))                               \
    X(l2_null_params, TG_EINVAL, "tg_l2_penalty: parameter list is NULL",    \
      ptr(tg_l2_penalty(f->t, NULL, 0.1)))                                   \
    X(l2_empty_params, TG_EINVAL, "tg_l2_penalty: the parameter list is "    \
      "empty", ptr(tg_l2_penalty(f->t, tg_params_new(f->t), 0.1)))           \
    X(params_add_stale, TG_ESTATE, "tg_params_add: parameter list was "      \
      "freed by a reset of its tape", params_add_stale(f))                   \
    X(params_add_twice, TG_EINVAL, "tg_params_add: the tensor is already "   \
      "parameter 0", params_add_twice(f))                                    \
    X(optimizer_step_stale_param, TG_ESTATE, "tg_optimizer_step: "           \
      "parameter 0 was freed by a reset", optimizer_step_stale_param(f))     \
    X(optimizer_step_stale, TG_ESTATE, "tg_optimizer_step: optimizer was "   \
      "freed by a reset", optimizer_step_stale(f))                           \
    X(mlp_forward_stale, TG_ESTATE, "tg_mlp_forward: network was freed",     \
      mlp_forward_stale(f))                                                  \
    X(backward_after_write, TG_ESTATE, "tg_backward: input 0 of mul "        \
      "(leaf (3,4) f32) was modified in place", backward_after_write(f))     \
    X(backward_foreign_intermediate, TG_ESTATE, "tg_backward: input 1 of "   \
      "mul (#0 () f32) was made by an op recorded on another tape",          \
      backward_foreign_intermediate(f))                                      \
    X(tape_print_stale_input, TG_ESTATE, "tg_tape_print: tensor was freed "  \
      "by a reset of its tape (input 1 of mul)", tape_print_stale_input(f))  \
    X(forward_returns_leaf, TG_EINVAL, "tg_steal: forward returned a tensor " \
      "that existed before the call (a leaf)", forward_returns_leaf(f))      \
    X(params_add_null, TG_EINVAL, "tg_params_add: tensor is NULL",           \
      tg_params_add(tg_params_new(f->t), NULL))                              \
    X(params_at_empty, TG_EINVAL,                                            \
      "tg_params_at: index 0, but the parameter list is empty",              \
      ptr(tg_params_at(tg_params_new(f->t), 0)))                             \
    X(sgd_negative_lr, TG_EINVAL, "tg_sgd_new: lr -1",                       \
      ptr(tg_sgd_new(f->t, tg_params_new(f->t),                              \
                     &(tg_sgd_options){.lr = -1})))                          \
    X(sgd_nan_momentum, TG_EINVAL, "tg_sgd_new: lr 0.1, momentum nan",       \
      ptr(tg_sgd_new(f->t, tg_params_new(f->t),                              \
                     &(tg_sgd_options){.lr = 0.1, .momentum = NAN})))        \
    X(adam_beta_one, TG_EINVAL, "betas (0.9, 1) in [0, 1)",                  \
      ptr(tg_adam_new(f->t, tg_params_new(f->t), &(tg_adam_options){         \
          .lr = 1e-3, .beta1 = 0.9, .beta2 = 1.0, .eps = 1e-8})))            \
    X(optimizer_on_failed_params, TG_EINVAL, "tg_params_new: tape is NULL",  \
      optimizer_on_failed_params(f))                                         \
    X(optimizer_step_null, TG_EINVAL, "tg_optimizer_step: optimizer is NULL", \
      tg_optimizer_step(NULL))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_nn", rows, N_ROWS);
}
