/*
 * optimizer.c — making optimizers and dispatching their steps.
 */
#include "optimizer.h"

#include "tensor/error_internal.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <string.h>

/* Whether x is a tensor not freed by a reset (NULL is not). */
static bool live(const tg_tensor *x)
{
    return x != NULL && x->magic == TG__LIVE &&
           x->generation == x->tape->generation;
}

tg_optimizer *tg__optimizer_new(const char *fn, tg_tape *t, tg_params *p,
                                opt_kind kind, int n_state)
{
    if (t == NULL) {
        tg_set_error(TG_EINVAL, "%s: tape is NULL", fn);
        return NULL;
    }
    /* A NULL list usually comes from a tg_params_new that failed: keep
     * its error (the NULL-propagation contract). */
    if (tg__check_handle(fn, p, "parameter list") != TG_OK)
        return NULL;
    int64_t n = tg_params_count(p);
    for (int64_t i = 0; i < n; i++)
        if (!live(tg_params_at(p, i))) {
            tg_set_error(TG_ESTATE, "%s: parameter %lld was freed by a reset "
                         "of its tape", fn, (long long)i);
            return NULL;
        }
    tg_tensor **slots = tg_tape_alloc(t, (size_t)(3 * n + 1) * sizeof *slots);
    int64_t *count = tg_tape_alloc(t, (size_t)(n + 1) * sizeof *count);
    if (slots == NULL || count == NULL) {
        tg_set_error(TG_ENOMEM, "%s: out of memory", fn);
        return NULL;
    }
    memset(count, 0, (size_t)(n + 1) * sizeof *count);
    tg_optimizer o_ = {.kind = kind, .n = n, .params = slots,
                       .state1 = slots + n, .state2 = slots + 2 * n,
                       .count = count};
    tg_optimizer *o = &o_;
    for (int64_t i = 0; i < n; i++) {
        tg_tensor *x = tg_params_at(p, i);
        o->params[i] = x;
        o->state1[i] = n_state >= 1 ? tg_zeros(t, tg_dtype_of(x), tg_ndim(x),
                                               tg_shape(x)) : NULL;
        o->state2[i] = n_state >= 2 ? tg_zeros(t, tg_dtype_of(x), tg_ndim(x),
                                               tg_shape(x)) : NULL;
        if ((n_state >= 1 && o->state1[i] == NULL) ||
            (n_state >= 2 && o->state2[i] == NULL)) {
            tg_set_error(TG_ENOMEM, "%s: out of memory for the state of "
                         "parameter %lld", fn, (long long)i);
            return NULL;
        }
    }
    /* The handle last: it joins the tape's list only when all is made. */
    tg_optimizer *made = tg__handle_new(fn, t, sizeof *made);
    if (made == NULL)
        return NULL;
    tg__handle h = made->h;
    *made = o_;
    made->h = h;
    return made;
}

int tg__optimizer_check(const char *fn, const tg_optimizer *o)
{
    int rc = tg__check_handle(fn, o, "optimizer");
    if (rc != TG_OK)
        return rc;
    for (int64_t k = 0; k < o->n; k++) {
        const char *what = NULL;
        if (!live(o->params[k]))
            what = "parameter";
        else if ((o->state1[k] && !live(o->state1[k])) ||
                 (o->state2[k] && !live(o->state2[k])))
            what = "the state of parameter";
        if (what != NULL)
            return tg_set_error(TG_ESTATE, "%s: %s %lld was freed by a reset "
                                "of its tape", fn, what, (long long)k);
    }
    return TG_OK;
}

tg_sgd_options tg_sgd_defaults(double lr)
{
    return (tg_sgd_options){lr, 0.0, 0.0, 0.0, false};
}

tg_adam_options tg_adam_defaults(void)
{
    return (tg_adam_options){1e-3, 0.9, 0.999, 1e-8, 0.0};
}

tg_adam_options tg_adamw_defaults(void)
{
    return (tg_adam_options){1e-3, 0.9, 0.999, 1e-8, 1e-2};
}

/*
 * One validator per option, shared by every entry point that takes it
 * (tg_sgd_new, tg_adam_new, tg_adamw_new, tg_optimizer_set_lr), so the
 * same value is accepted or refused everywhere.
 */
/* lr, momentum, dampening, weight decay, eps: finite and >= 0. */
static bool rate_ok(double v) { return v >= 0.0 && !isinf(v); }
/* beta1, beta2: in [0, 1). */
static bool beta_ok(double v) { return v >= 0.0 && v < 1.0; }
static bool bad(double v) { return !rate_ok(v); }

tg_optimizer *tg_sgd_new(tg_tape *t, tg_params *p, const tg_sgd_options *opt)
{
    if (opt == NULL) {
        tg_set_error(TG_EINVAL, "tg_sgd_new: options are NULL (SGD needs a "
                     "learning rate: pass tg_sgd_defaults(lr))");
        return NULL;
    }
    if (bad(opt->lr) || bad(opt->momentum) || bad(opt->weight_decay) ||
        bad(opt->dampening)) {
        tg_set_error(TG_EINVAL, "tg_sgd_new: lr %g, momentum %g, dampening "
                     "%g and weight decay %g must be finite and >= 0",
                     opt->lr, opt->momentum, opt->dampening,
                     opt->weight_decay);
        return NULL;
    }
    if (opt->nesterov && (opt->momentum <= 0 || opt->dampening != 0)) {
        tg_set_error(TG_EINVAL, "tg_sgd_new: Nesterov momentum requires a "
                     "momentum and zero dampening");
        return NULL;
    }
    tg_optimizer *o = tg__optimizer_new("tg_sgd_new", t, p, OPT_SGD,
                                        opt->momentum > 0 ? 1 : 0);
    if (o != NULL)
        o->sgd = *opt;
    return o;
}

static tg_optimizer *adam_new(const char *fn, opt_kind kind, tg_tape *t,
                              tg_params *p, const tg_adam_options *opt)
{
    if (bad(opt->lr) || bad(opt->eps) || bad(opt->weight_decay) ||
        !beta_ok(opt->beta1) || !beta_ok(opt->beta2)) {
        tg_set_error(TG_EINVAL, "%s: lr %g, eps %g and weight decay %g must "
                     "be finite and >= 0, betas (%g, %g) in [0, 1)", fn,
                     opt->lr, opt->eps, opt->weight_decay, opt->beta1,
                     opt->beta2);
        return NULL;
    }
    tg_optimizer *o = tg__optimizer_new(fn, t, p, kind, 2);
    if (o != NULL)
        o->adam = *opt;
    return o;
}

tg_optimizer *tg_adam_new(tg_tape *t, tg_params *p, const tg_adam_options *opt)
{
    tg_adam_options d = tg_adam_defaults();
    return adam_new("tg_adam_new", OPT_ADAM, t, p, opt ? opt : &d);
}

tg_optimizer *tg_adamw_new(tg_tape *t, tg_params *p, const tg_adam_options *opt)
{
    tg_adam_options d = tg_adamw_defaults();
    return adam_new("tg_adamw_new", OPT_ADAMW, t, p, opt ? opt : &d);
}

int tg_optimizer_step(tg_optimizer *o)
{
    /* A NULL o keeps the failure of the _new that failed. Every check
     * comes before the first update, so a failure changes nothing. */
    int rc = tg__optimizer_check("tg_optimizer_step", o);
    if (rc != TG_OK)
        return rc;
    return o->kind == OPT_SGD ? tg__sgd_step(o) : tg__adam_step(o);
}

int tg_optimizer_set_lr(tg_optimizer *o, double lr)
{
    int rc = tg__check_handle("tg_optimizer_set_lr", o, "optimizer");
    if (rc != TG_OK)
        return rc;
    if (!rate_ok(lr))
        return tg_set_error(TG_EINVAL, "tg_optimizer_set_lr: lr %g must be "
                            "finite and >= 0", lr);
    if (o->kind == OPT_SGD)
        o->sgd.lr = lr;
    else
        o->adam.lr = lr;
    return TG_OK;
}

double tg_optimizer_lr(const tg_optimizer *o)
{
    if (tg__check_handle("tg_optimizer_lr", o, "optimizer") != TG_OK)
        return NAN;
    return o->kind == OPT_SGD ? o->sgd.lr : o->adam.lr;
}
