/*
 * atomic_file.h — files that appear whole or not at all
 * (src/io/atomic_file.c), for every writer in src/io/.
 */
#ifndef TG_IO_ATOMIC_FILE_H
#define TG_IO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

/*
 * A file being written under a temporary name beside its target. Write
 * through the tg__atomic_* calls, then commit: rename into place, or, if
 * anything failed, remove the temporary file. The first failed write is
 * remembered, later writes do nothing, and commit reports it, so a writer
 * need not check every call (but may stop early).
 */
typedef struct tg__atomic_file {
    FILE *f;                 /* the temporary file, open for writing */
    char *tmp;               /* its path (allocator-owned) */
    const char *path;        /* the target, as the caller gave it */
    char *target;            /* what is replaced: path, or the regular file
                                a symlink at path leads to (allocator-owned) */
    const char *fn;          /* the public call, for error messages */
    int err;                 /* errno of the first failed write, or 0 */
} tg__atomic_file;

/*
 * Create a temporary file beside path. The rule for targets
 * (docs/errors.md): "" is TG_EINVAL; a target that exists must be a regular
 * file (a symlink is followed to one, and that file is replaced, the link
 * kept) that can be opened for writing, else TG_EIO; the new file keeps the
 * old one's permission bits. TG_EIO (naming path and the system's reason)
 * or TG_ENOMEM on failure, and then af needs no commit.
 */
int tg__atomic_open(tg__atomic_file *af, const char *fn, const char *path);

/* Append bytes; TG_EIO once any write has failed (nothing is reported to
 * tg_last_error until commit). */
int tg__atomic_write(tg__atomic_file *af, const void *p, size_t len);
int tg__atomic_puts(tg__atomic_file *af, const char *s);

/* Append printf-style text. Only for %s, %c and integer conversions:
 * floating-point conversions would follow the current locale. */
int tg__atomic_printf(tg__atomic_file *af, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Flush, sync and rename the file into place; on any failure remove the
 * temporary file and return TG_EIO naming the target. Frees af's memory. */
int tg__atomic_commit(tg__atomic_file *af);

#endif /* TG_IO_ATOMIC_FILE_H */
