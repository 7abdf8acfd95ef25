/*
 * atomic_file.c — write a file so that it appears whole or not at all.
 *
 * The content goes to a new file beside the target ("path.tmp-PID-N"),
 * which is flushed, synced and then renamed over the target. rename() within
 * one directory is atomic on POSIX systems: a reader sees the old file or
 * the new one, never half of either, and a failure at any step leaves the
 * old file untouched and removes the temporary one.
 */
/* realpath() is XSI. */
#define _XOPEN_SOURCE 700

#include "tapegrad/base.h"

#include "io/atomic_file.h"
#include "io/utf8.h"
#include "tensor/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes temporary names unique between the threads of one process. */
static atomic_uint tmp_counter;

/* Record a failure as "fn: what 'path': reason" and return status. The
 * path is escaped and, if the message would pass 511 bytes, shortened in
 * the middle: the reason is kept whole. */
static int path_error(const tg__atomic_file *af, int status, const char *what,
                      const char *reason)
{
    char quoted[512];
    size_t used = strlen(af->fn) + strlen(what) + strlen(reason) + 8;
    tg__escape_fit(af->path, used < 511 - 40 ? 511 - used : 40, quoted,
                   sizeof quoted);
    return tg_set_error(status, "%s: %s '%s': %s", af->fn, what, quoted,
                        reason);
}

static int io_error(const tg__atomic_file *af, const char *what, int errnum)
{
    char reason[128];
    if (strerror_r(errnum, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", errnum);
    return path_error(af, TG_EIO, what, reason);
}

/*
 * Create a temporary file in target's directory with O_EXCL, so an
 * existing file is never reused; retry with the next number if the name is
 * taken. The name is short (".tgtmp-PID-N"), so a target whose own name is
 * near NAME_MAX can still be written. Mode 0666 lets the umask decide the
 * permissions, as fopen() would. Returns the descriptor, or -1 with errno.
 */
static int create_tmp(char *tmp, size_t size, const char *target)
{
    const char *slash = strrchr(target, '/');
    int dir = slash ? (int)(slash - target + 1) : 0;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        snprintf(tmp, size, "%.*s.tgtmp-%ld-%u", dir, target, (long)getpid(),
                 n);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Decide what path names (the rule in atomic_file.h): af->target set, and
 * *mode the permission bits to keep (or -1 for a new file). */
static int resolve_target(tg__atomic_file *af, int *mode)
{
    struct stat st;
    const char *target = af->path;
    char real[PATH_MAX];
    *mode = -1;
    if (lstat(af->path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            if (stat(af->path, &st) != 0)
                return io_error(af, "cannot write through the symlink",
                                errno);
            if (S_ISREG(st.st_mode)) {
                if (realpath(af->path, real) == NULL)
                    return io_error(af, "cannot write", errno);
                target = real;
            }
        }
        if (!S_ISREG(st.st_mode))
            return path_error(af, TG_EIO, "cannot write", "not a regular "
                              "file (only regular files are replaced)");
        if (access(target, W_OK) != 0)
            return io_error(af, "cannot replace", errno);
        *mode = (int)(st.st_mode & 07777);
    }
    af->target = tg__malloc(strlen(target) + 1);
    if (af->target == NULL)
        return tg_set_error(TG_ENOMEM, "%s: out of memory", af->fn);
    memcpy(af->target, target, strlen(target) + 1);
    return TG_OK;
}

int tg__atomic_open(tg__atomic_file *af, const char *fn, const char *path)
{
    *af = (tg__atomic_file){NULL, NULL, path, NULL, fn, 0};
    if (path[0] == '\0')
        return tg_set_error(TG_EINVAL, "%s: path is empty", fn);
    int mode, rc = resolve_target(af, &mode);
    if (rc != TG_OK)
        return rc;
    size_t size = strlen(af->target) + 48;
    af->tmp = tg__malloc(size);
    if (af->tmp == NULL) {
        tg__free(af->target);
        af->target = NULL;
        return tg_set_error(TG_ENOMEM, "%s: out of memory", fn);
    }
    int errnum;
    int fd = create_tmp(af->tmp, size, af->target);
    if (fd < 0) {
        errnum = errno;
        goto out_free_tmp;
    }
    if (mode >= 0 && fchmod(fd, (mode_t)mode) != 0) {
        errnum = errno;
        close(fd);
        unlink(af->tmp);
        goto out_free_tmp;
    }
    af->f = fdopen(fd, "wb");
    if (af->f != NULL)
        return TG_OK;
    errnum = errno;
    close(fd);
    unlink(af->tmp);
out_free_tmp:
    tg__free(af->tmp);
    tg__free(af->target);
    af->tmp = af->target = NULL;
    return io_error(af, "cannot write", errnum);
}

int tg__atomic_write(tg__atomic_file *af, const void *p, size_t len)
{
    if (af->err != 0)
        return TG_EIO;
    errno = 0;
    if (len > 0 && fwrite(p, 1, len, af->f) != len)
        af->err = errno != 0 ? errno : EIO;
    return af->err != 0 ? TG_EIO : TG_OK;
}

int tg__atomic_puts(tg__atomic_file *af, const char *s)
{
    return tg__atomic_write(af, s, strlen(s));
}

int tg__atomic_printf(tg__atomic_file *af, const char *fmt, ...)
{
    if (af->err != 0)
        return TG_EIO;
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    int rc = vfprintf(af->f, fmt, ap);
    va_end(ap);
    if (rc < 0)
        af->err = errno != 0 ? errno : EIO;
    return af->err != 0 ? TG_EIO : TG_OK;
}

/*
 * Finish the temporary file (the buffered bytes out, the kernel's copy to
 * the disk, the descriptor closed) and rename it over the target. The
 * first step that fails decides the message.
 */
int tg__atomic_commit(tg__atomic_file *af)
{
    int errnum = af->err;
    if (errnum == 0 && fflush(af->f) != 0)
        errnum = errno;
    if (errnum == 0 && fsync(fileno(af->f)) != 0)
        errnum = errno;
    if (fclose(af->f) != 0 && errnum == 0)
        errnum = errno;
    af->f = NULL;
    int rc = TG_OK;
    if (errnum != 0)
        rc = io_error(af, "cannot write", errnum);
    else if (rename(af->tmp, af->target) != 0)
        rc = io_error(af, "cannot replace", errno);
    if (rc != TG_OK)
        unlink(af->tmp);
    tg__free(af->tmp);
    tg__free(af->target);
    af->tmp = af->target = NULL;
    return rc;
}
