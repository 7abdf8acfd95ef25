/*
 * alloc.c — the one replaceable allocator every allocation goes through.
 */
#include "tapegrad/base.h"

#include "tensor/alloc.h"

#include <stdint.h>
#include <stdlib.h>

static void *libc_malloc(void *ud, size_t size)
{
    (void)ud;
    return malloc(size);
}

static void *libc_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    return realloc(ptr, size);
}

static void libc_free(void *ud, void *ptr)
{
    (void)ud;
    free(ptr);
}

static tg_allocator current = {libc_malloc, libc_realloc, libc_free, NULL};

int tg_set_allocator(const tg_allocator *a)
{
    if (a == NULL) {
        current = (tg_allocator){libc_malloc, libc_realloc, libc_free, NULL};
        return TG_OK;
    }
    if (a->malloc == NULL || a->realloc == NULL || a->free == NULL)
        return tg_set_error(TG_EINVAL,
                            "tg_set_allocator: malloc, realloc and free are "
                            "all required");
    current = *a;
    return TG_OK;
}

/*
 * No object can be larger than PTRDIFF_MAX bytes (C11 6.5.6), so such a
 * request fails here, before it reaches the allocator: the C library would
 * refuse it anyway, and a user's allocator (or a checker such as valgrind)
 * should never see a size that looks negative.
 */
void *tg__malloc(size_t size)
{
    if (size > PTRDIFF_MAX)
        return NULL;
    return current.malloc(current.ud, size ? size : 1);
}

void *tg__realloc(void *ptr, size_t size)
{
    if (size > PTRDIFF_MAX)
        return NULL;
    return current.realloc(current.ud, ptr, size ? size : 1);
}

void tg__free(void *ptr)
{
    if (ptr != NULL)
        current.free(current.ud, ptr);
}
