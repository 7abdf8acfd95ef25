/*
 * names.c — duplicate names by sorting, not by comparing every pair: an
 * archive of 65,535 entries is checked in milliseconds, not seconds.
 */
#include "tapegrad/base.h"

#include "io/names.h"
#include "tensor/alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct named {
    const char *s;
    int i;
} named;

/* By name, then by position: equal names end up side by side, in order. */
static int by_name(const void *pa, const void *pb)
{
    const named *a = pa, *b = pb;
    int c = strcmp(a->s, b->s);
    return c != 0 ? c : (a->i > b->i) - (a->i < b->i);
}

int tg__find_duplicate(int n, const char *const *names, int *a, int *b)
{
    *a = *b = -1;
    if (n < 2)
        return TG_OK;
    named *v = tg__malloc((size_t)n * sizeof *v);
    if (v == NULL)
        return TG_ENOMEM;
    for (int i = 0; i < n; i++)
        v[i] = (named){names[i], i};
    qsort(v, (size_t)n, sizeof *v, by_name);
    for (int k = 1; k < n; k++)
        if (strcmp(v[k - 1].s, v[k].s) == 0 && (*b < 0 || v[k].i < *b)) {
            *a = v[k - 1].i;
            *b = v[k].i;
        }
    tg__free(v);
    return TG_OK;
}
