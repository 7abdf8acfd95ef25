/*
 * inspect.h — looking inside a tape (src/autograd/inspect.c): how traces
 * name and summarise tensors, backward's trace and anomaly mode's check.
 */
#ifndef TG_AUTOGRAD_INSPECT_H
#define TG_AUTOGRAD_INSPECT_H

#include <stddef.h>

#include "autograd/entry.h"
#include "tensor/tape_struct.h"
#include "tapegrad/op.h"

/* A name escaped by tg__escape_text (io/utf8.h) fits in TG__NAME_ESCAPED
 * bytes (tg_set_name keeps 63 bytes; an op's name is cut there too), and
 * tg__describe's text in TG__DESCRIBED. */
#define TG__NAME_ESCAPED 256
#define TG__DESCRIBED 384
/* name escaped into buf (TG__NAME_ESCAPED bytes); returns buf. */
const char *tg__escape_name(const char *name, char *buf);

/* "x (3,4) f32" or "relu#2 (3,4) f32": how traces name a tensor; the name
 * escaped (no newline or control byte can forge a line). */
void tg__describe(const tg_tensor *x, char *buf, size_t n);
/* The values of x in full if small, else min / mean / max. */
void tg__summarise(const tg_tensor *x, char *buf, size_t n);
/* Backward's trace of one entry (if tracing), before (slot NULL) and after
 * its backward ran. Inline: the test for "not tracing" runs every step. */
void tg__trace_entry_to(const tg_tape *t, int64_t k, const tg__entry *e,
                        tg_tensor *const *slot);
static inline void tg__trace_entry(const tg_tape *t, int64_t k,
                                   const tg__entry *e, tg_tensor *const *slot)
{
    if (t->trace != NULL)
        tg__trace_entry_to(t, k, e, slot);
}
/* Anomaly mode: TG_ENUMERIC naming the op, its entry and the input shapes
 * if x holds a NaN or an infinity. what is "output" or "gradient of input 0". */
int tg__check_finite(const tg_tape *t, const tg_op *op, int64_t k,
                     tg_tensor *const *in, int n, const tg_tensor *x,
                     const char *what);

/* Anomaly mode (if on): TG_ENUMERIC if a gradient the backward of entry k
 * wrote into gx holds a NaN or an infinity. */
int tg__check_gradients_now(const tg_tape *t, int64_t k, const tg__entry *e,
                            tg_tensor *const *gx);
static inline int tg__check_gradients(const tg_tape *t, int64_t k,
                                      const tg__entry *e,
                                      tg_tensor *const *gx)
{
    return t->anomaly ? tg__check_gradients_now(t, k, e, gx) : TG_OK;
}

/* An op's backward returned rc != TG_OK: rc, with a message naming the op
 * (once, by the prefix rule) whether or not the backward set one since
 * errors was tg__error_count(). */
int tg__backward_failed(const tg_op *op, int rc, unsigned long errors);

#endif /* TG_AUTOGRAD_INSPECT_H */
