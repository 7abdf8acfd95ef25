/*
 * wasm/include/tg_wasi_posix.h — the two POSIX calls of src/io/atomic_file.c
 * that wasi-libc (2022) lacks, for wasm32-wasi builds only: wasm/meson.build
 * includes this header in front of every source file, so the library code
 * is the same for every target.
 *
 * WASI has no permission bits to keep, so fchmod succeeds doing nothing;
 * and writing through a symlink keeps the link itself, so realpath gives
 * the path as it is (the file it names is written in place of the link's
 * target, which is what a WASI program's sandboxed view allows).
 */
#ifndef TG_WASI_POSIX_H
#define TG_WASI_POSIX_H

#ifdef __wasi__
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static inline int fchmod(int fd, mode_t mode)
{
    (void)fd, (void)mode;
    return 0;
}

static inline char *realpath(const char *path, char *resolved)
{
    size_t n = strlen(path);
    if (resolved == NULL || n >= 4096) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(resolved, path, n + 1);
    return resolved;
}
#endif

#endif /* TG_WASI_POSIX_H */
