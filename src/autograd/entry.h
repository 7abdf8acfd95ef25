/*
 * entry.h — one recorded op call on a tape, and recording it
 * (src/autograd/tape.c). Backward walks these in reverse.
 */
#ifndef TG_AUTOGRAD_ENTRY_H
#define TG_AUTOGRAD_ENTRY_H

#include "tapegrad/op.h"

#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

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

/* The inputs' versions, then the output's, when the entry was recorded
 * (just after the generations): a tensor written through tg_mut_* since
 * then is caught by backward, as PyTorch's "modified by an inplace
 * operation". */
static inline uint32_t *tg__entry_versions(const tg__entry *e)
{
    return tg__entry_gens(e) + e->n;
}

/* Append an entry for op called on in[0..n) giving out to t's tape. */
int tg__record(tg_tape *t, const tg_op *op, tg_tensor *const *in, int n,
               tg_tensor *out, const void *params, void *saved);

/* The error for entry e, one of whose inputs is stale: TG_ESTATE naming
 * fn, the input and the op. */
int tg__entry_report_stale(const tg__entry *e, const char *fn);

/* TG_ESTATE naming fn and the op if an input of entry e was freed since it
 * was recorded (by a reset of its tape). Inline: backward runs it on every
 * entry. */
static inline int tg__entry_check_inputs(const tg__entry *e, const char *fn)
{
    for (int i = 0; i < e->n; i++) {
        const tg_tensor *x = e->in[i];
        if (x->generation != tg__entry_gens(e)[i] || x->magic != TG__LIVE ||
            x->generation != x->tape->generation ||
            x->version != tg__entry_versions(e)[i])
            return tg__entry_report_stale(e, fn);
    }
    if (e->out->version != tg__entry_versions(e)[e->n])
        return tg__entry_report_stale(e, fn);
    return TG_OK;
}

#endif /* TG_AUTOGRAD_ENTRY_H */
