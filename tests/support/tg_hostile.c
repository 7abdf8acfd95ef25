/*
 * tg_hostile.c — linked into each hostile-input test program.
 */
#include "tg_hostile.h"

/* Requests of terabytes must come back NULL under ASan too. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
