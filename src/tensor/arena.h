/*
 * arena.h — the bump allocator every tape owns (src/tensor/arena.c):
 * tensors, saved values and scratch all come from it and are freed at once.
 */
#ifndef TG_TENSOR_ARENA_H
#define TG_TENSOR_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Data and arena blocks are aligned for the widest vector loads. */
#define TG__ALIGN 64

/* A block of arena memory; its usable bytes follow the header. */
typedef struct tg__chunk {
    struct tg__chunk *next;
    unsigned char *base;     /* the first usable byte, aligned */
    size_t size;             /* usable bytes */
    size_t used;
} tg__chunk;

/*
 * A bump allocator: blocks in a list, oldest first, all freed at once.
 * Reset rewinds every block but frees none, so a tensor pointer kept past
 * a reset still points into memory the tape owns (and is caught by its
 * magic) until the tape is freed.
 */
typedef struct tg__arena {
    tg__chunk *chunks;       /* oldest first */
    tg__chunk *current;      /* allocation happens here; later blocks are
                                empty until reached */
    size_t reserved;         /* usable bytes over all chunks */
} tg__arena;

void *tg__arena_alloc_slow(tg__arena *a, size_t size);
void tg__arena_reset(tg__arena *a);
void tg__arena_free(tg__arena *a);

/*
 * size bytes, aligned to TG__ALIGN, or NULL. The common case is inline
 * (a few instructions per tensor): room left in the current block. The
 * rest (size 0, a full block, no block yet) is arena.c's.
 */
static inline void *tg__arena_alloc(tg__arena *a, size_t size)
{
    tg__chunk *c = a->current;
    size_t n = (size + TG__ALIGN - 1) & ~(size_t)(TG__ALIGN - 1);
    if (c != NULL && size - 1 < SIZE_MAX - TG__ALIGN &&
        n <= c->size - c->used) {
        void *p = c->base + c->used;
        c->used += n;
        return p;
    }
    return tg__arena_alloc_slow(a, size);
}

#endif /* TG_TENSOR_ARENA_H */
