/*
 * arena.c — the tape's memory: a bump allocator over a list of blocks.
 *
 * Allocation moves a pointer forward; nothing is freed one at a time. Reset
 * rewinds every block to empty and frees none of them: the next cycle
 * walks the same blocks in the same order, so the same work fits without
 * calling the allocator at all, and a tensor pointer kept past the reset
 * still points into memory the tape owns, where its dead magic number
 * reports it (freeing blocks at reset made that check read freed memory).
 */
#include "tensor/alloc.h"
#include "tensor/arena.h"

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
    c->base = chunk_base(c);
    c->size = size;
    c->used = 0;
    return c;
}

/*
 * The first block from the current one on with room for size bytes: a
 * block kept from an earlier cycle, or a new one appended to the list,
 * twice the size of the last (or size, if more).
 */
static tg__chunk *chunk_with_room(tg__arena *a, size_t size)
{
    tg__chunk *c = a->current;
    while (c != NULL && c->size - c->used < size && c->next != NULL)
        c = c->next;
    if (c != NULL && c->size - c->used >= size)
        return c;
    size_t want = c ? c->size * 2 : MIN_CHUNK;
    if (want < size)
        want = size;
    tg__chunk *fresh = chunk_new(want);
    if (fresh == NULL)
        return NULL;
    if (c == NULL)
        a->chunks = fresh;
    else
        c->next = fresh;
    a->reserved += want;
    return fresh;
}

/* arena.h's tg__arena_alloc when the current block has no room. */
void *tg__arena_alloc_slow(tg__arena *a, size_t size)
{
    if (size > SIZE_MAX - TG__ALIGN)
        return NULL;
    size = align_up(size ? size : 1);
    tg__chunk *c = chunk_with_room(a, size);
    if (c == NULL)
        return NULL;
    a->current = c;
    void *p = c->base + c->used;
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
    for (tg__chunk *c = a->chunks; c != NULL; c = c->next)
        c->used = 0;
    a->current = a->chunks;
}

void tg__arena_free(tg__arena *a)
{
    free_chunks(a->chunks);
    a->chunks = NULL;
    a->current = NULL;
    a->reserved = 0;
}
