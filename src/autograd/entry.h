/*
 * entry.h — one recorded op call on a tape, and recording it
 * (src/autograd/tape.c). Backward walks these in reverse.
 */
#ifndef TG_AUTOGRAD_ENTRY_H
#define TG_AUTOGRAD_ENTRY_H

#include "tapegrad/op.h"

/* One recorded op call. */
typedef struct tg__entry {
    const tg_op *op;
    tg_tensor **in;          /* followed by n uint32_t: tg__entry_gens */
    int n;
    tg_tensor *out;
    const void *params;
    void *saved;
} tg__entry;

/* Each input's generation when the entry was recorded, kept just after the
 * inputs: an input of another tape reset since, whose memory may now hold
 * a new tensor, is caught by backward. */
static inline uint32_t *tg__entry_gens(const tg__entry *e)
{
    return (uint32_t *)(e->in + e->n);
}

/* Append an entry for op called on in[0..n) giving out to t's tape. */
int tg__record(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n,
               tg_tensor *out, const void *params, void *saved);

/* TG_ESTATE naming fn and the op if an input of entry e was freed since it
 * was recorded (by a reset of its tape). */
int tg__entry_check_inputs(const tg__entry *e, const char *fn);

#endif /* TG_AUTOGRAD_ENTRY_H */
