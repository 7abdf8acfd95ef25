/*
 * handle.h — the generation check for handles that are not tensors
 * (parameter lists, optimizers, networks, npz archives): each starts with
 * a tg__handle, made on a tape, marked dead by that tape's reset exactly
 * as a tensor is (src/tensor/handle.c).
 */
#ifndef TG_TENSOR_HANDLE_H
#define TG_TENSOR_HANDLE_H

#include "tapegrad/tensor.h"

#include <stddef.h>
#include <stdint.h>

#define TG__HANDLE_LIVE 0x7467686cu /* "tghl" */

typedef struct tg__handle {
    uint32_t magic;              /* TG__HANDLE_LIVE while its tape owns it */
    uint32_t generation;         /* the tape's generation when it was made */
    tg_tape *tape;               /* the owner */
    struct tg__handle *next;     /* the owner's list of handles */
} tg__handle;

/*
 * size bytes from t's arena, starting with a live tg__handle (size counts
 * it); NULL with TG_ENOMEM naming fn. The rest is zeroed.
 */
void *tg__handle_new(const char *fn, tg_tape *t, size_t size);

/*
 * TG_OK if h is a live handle of its tape's current generation. A NULL h
 * keeps a pending failure (the call that should have made it failed),
 * else is "fn: what is NULL" (TG_EINVAL); a dead one is TG_ESTATE "fn:
 * what was freed by a reset of its tape".
 */
int tg__check_handle(const char *fn, const void *h, const char *what);

#endif /* TG_TENSOR_HANDLE_H */
