/*
 * names.h — checks on lists of names (src/io/names.c) that the archive and
 * JSON writers and the archive reader share.
 */
#ifndef TG_IO_NAMES_H
#define TG_IO_NAMES_H

/*
 * Find two equal names among names[0..n-1] in O(n log n): *a < *b, the
 * pair whose later member comes first; both -1 if all differ. TG_OK, or
 * TG_ENOMEM (no message set: the caller names its own call).
 */
int tg__find_duplicate(int n, const char *const *names, int *a, int *b);

#endif /* TG_IO_NAMES_H */
