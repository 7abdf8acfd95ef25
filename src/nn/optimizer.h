/*
 * optimizer.h — what the optimizers share: a parameter snapshot, per
 * parameter state tensors, and the step function that applies the rule.
 */
#ifndef TG_NN_OPTIMIZER_H
#define TG_NN_OPTIMIZER_H

#include "tapegrad.h"
#include "tapegrad/nn.h"

#include "tensor/handle.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } opt_kind;

struct tg_optimizer {
    tg__handle h;              /* first: the generation check (handle.h) */
    opt_kind kind;
    int64_t n;                 /* parameters, as when it was made */
    tg_tensor **params;
    tg_tensor **state1;        /* SGD momentum buffer; Adam's m */
    tg_tensor **state2;        /* Adam's v */
    int64_t *count;            /* updates each parameter has had */
    tg_sgd_options sgd;
    tg_adam_options adam;
};

/* Snapshot p's parameters and make n_state zeroed state tensors for each. */
tg_optimizer *tg__optimizer_new(const char *fn, tg_tape *t, tg_params *p,
                                opt_kind kind, int n_state);

/* TG_OK if o, every parameter it updates and every state tensor is live
 * (nothing freed by a reset), else TG_ESTATE naming fn and which. */
int tg__optimizer_check(const char *fn, const tg_optimizer *o);

int tg__sgd_step(tg_optimizer *o);
int tg__adam_step(tg_optimizer *o);

#endif /* TG_NN_OPTIMIZER_H */
