/*
 * arena.c — the tape's memory: a bump allocator over a list of blocks.
 *
 * Allocation moves a pointer forward; nothing is freed one at a time. Reset
 * rewinds, and if the last cycle needed more than one block it replaces
 * them with a single block big enough for all of it, so the next cycle of
 * the same work fits without calling the allocator at all.
 */
#include "internal.h"

#define MIN_CHUNK ((size_t)64 * 1024)

static size_t align_up(size_t n)
{
    return (n + TG__ALIGN - 1) & ~(size_t)(TG__ALIGN - 1);
}

/* The chunk header is padded so that its usable bytes start aligned. */
static unsigned char *chunk_base(tg__chunk *c)
{
    unsigned char *p = (unsigned char *)(c + 1);
    uintptr_t u = (uintptr_t)p;
    return p + ((TG__ALIGN - (u % TG__ALIGN)) % TG__ALIGN);
}

static tg__chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(tg__chunk) - TG__ALIGN)
        return NULL;
    tg__chunk *c = tg__malloc(sizeof(tg__chunk) + TG__ALIGN + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *tg__arena_alloc(tg__arena *a, size_t size)
{
    if (size > SIZE_MAX - TG__ALIGN)
        return NULL;
    size = align_up(size ? size : 1);
    tg__chunk *c = a->chunks;
    if (c == NULL || c->size - c->used < size) {
        size_t want = c ? c->size * 2 : MIN_CHUNK;
        if (want < size)
            want = size;
        tg__chunk *fresh = chunk_new(want);
        if (fresh == NULL)
            return NULL;
        fresh->next = c;
        a->chunks = fresh;
        a->reserved += want;
        c = fresh;
    }
    void *p = chunk_base(c) + c->used;
    c->used += size;
    return p;
}

static void free_chunks(tg__chunk *c)
{
    while (c != NULL) {
        tg__chunk *next = c->next;
        tg__free(c);
        c = next;
    }
}

void tg__arena_reset(tg__arena *a)
{
    tg__chunk *c = a->chunks;
    if (c == NULL)
        return;
    if (c->next != NULL) {
        size_t total = 0;
        for (tg__chunk *k = c; k != NULL; k = k->next)
            total += k->size;
        tg__chunk *one = chunk_new(total);
        if (one != NULL) {
            free_chunks(c);
            a->chunks = one;
            a->reserved = total;
            return;
        }
        /* No memory to merge: keep the newest block, the largest. */
        free_chunks(c->next);
        c->next = NULL;
        a->reserved = c->size;
    }
    c->used = 0;
}

void tg__arena_free(tg__arena *a)
{
    free_chunks(a->chunks);
    a->chunks = NULL;
    a->reserved = 0;
}
