/*
 * optimizer.h — what the optimizers share: a parameter snapshot, per
 * parameter state tensors, and the step function that applies the rule.
 */
#ifndef TG_NN_OPTIMIZER_H
#define TG_NN_OPTIMIZER_H

#include "tapegrad.h"
#include "tapegrad/nn.h"
#include "hot.h"

/* The optimizer loops call fma()/fmaf() (PyTorch's rounding): clone them
 * for x86-64-v4 and -v3, whose FMA instructions inline it, rather than for
 * "avx512f" and "avx2", which don't include FMA and call libm per element.
 * Elsewhere TG__HOT as every hot loop. */
#if defined(__x86_64__) && defined(__ELF__) && !defined(TG__NO_CLONES) && \
    (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 11)
#define TG__HOT_FMA                                                           \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",         \
                                 "default")))
#else
#define TG__HOT_FMA TG__HOT
#endif

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
