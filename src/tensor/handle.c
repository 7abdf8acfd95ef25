/*
 * handle.c — handles that are not tensors, made on a tape and caught when
 * used after its reset (see handle.h).
 */
#include "tensor/handle.h"

#include "tensor/arena.h"
#include "tensor/tape_struct.h"

#include <string.h>

void *tg__handle_new(const char *fn, tg_tape *t, size_t size)
{
    tg__handle *h = tg__arena_alloc(&t->arena, size);
    if (h == NULL) {
        tg_set_error(TG_ENOMEM, "%s: out of memory", fn);
        return NULL;
    }
    memset(h, 0, size);
    *h = (tg__handle){TG__HANDLE_LIVE, t->generation, t, t->handles};
    t->handles = h;
    return h;
}

int tg__check_handle(const char *fn, const void *p, const char *what)
{
    const tg__handle *h = p;
    if (h == NULL)
        return tg_last_status() != TG_OK
                   ? tg_last_status()
                   : tg_set_error(TG_EINVAL, "%s: %s is NULL", fn, what);
    if (h->magic != TG__HANDLE_LIVE || h->generation != h->tape->generation)
        return tg_set_error(TG_ESTATE, "%s: %s was freed by a reset of its "
                            "tape", fn, what);
    return TG_OK;
}
