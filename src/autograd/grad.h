/*
 * grad.h — the gradient bookkeeping of one backward pass
 * (src/autograd/grad.c): seeding, where each entry's backward writes its
 * inputs' gradients, and adding them up.
 */
#ifndef TG_AUTOGRAD_GRAD_H
#define TG_AUTOGRAD_GRAD_H

#include <stdbool.h>

#include "autograd/entry.h"

/* Start a pass: every intermediate's gradient holds nothing yet. */
void tg__grad_begin_pass(tg_tape *t);

/* d root / d root = 1, added to what a leaf root holds; TG_ENOMEM. */
int tg__grad_seed(tg_tensor *root);

/* Whether backward has given x a gradient in this pass. */
bool tg__grad_reached(const tg_tensor *x);

/* d root / d out for entry e's backward: written out unless the op reads
 * uniform gradients (TG_OP_UNIFORM_GRAD). */
const tg_tensor *tg__grad_of_output(const tg__entry *e);

/*
 * Where an entry's backward writes each input's gradient: gx[i] is the
 * input's own gradient buffer when it holds nothing yet (direct), a
 * scratch tensor added in afterwards when it does, or NULL when the input
 * needs no gradient.
 */
#define TG__FEW_INPUTS 8
typedef struct tg__slots {
    tg_tensor **gx;
    bool *direct;
    tg_tensor *gx_few[TG__FEW_INPUTS];
    bool direct_few[TG__FEW_INPUTS];
} tg__slots;

/* The slots for entry e's inputs; TG_ENOMEM. */
int tg__grad_slots(tg_tape *t, const tg__entry *e, tg__slots *s);

/* dst += src: a scratch slot added into an input's gradient. */
void tg__grad_add_into(tg_tensor *dst, const tg_tensor *src);

/* Add the scratch slots into the inputs' gradients (the direct ones are
 * already there). */
static inline void tg__grad_accumulate(const tg__entry *e,
                                       const tg__slots *s)
{
    for (int i = 0; i < e->n; i++)
        if (s->gx[i] != NULL && !s->direct[i])
            tg__grad_add_into(e->in[i]->grad, s->gx[i]);
}

#endif /* TG_AUTOGRAD_GRAD_H */
