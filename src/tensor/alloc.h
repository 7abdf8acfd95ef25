/*
 * alloc.h — the library's malloc, realloc and free (src/tensor/alloc.c):
 * every heap allocation goes through them, so tg_set_allocator and the
 * out-of-memory tests see all of it.
 */
#ifndef TG_TENSOR_ALLOC_H
#define TG_TENSOR_ALLOC_H

#include <stddef.h>

void *tg__malloc(size_t size);
void *tg__realloc(void *ptr, size_t size);
void tg__free(void *ptr);

#endif /* TG_TENSOR_ALLOC_H */
