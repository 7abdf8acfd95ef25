/*
 * atomic_file.c — write a file so that it appears whole or not at all.
 *
 * The content goes to a new file beside the target ("path.tmp-PID-N"),
 * which is flushed, synced and then renamed over the target. rename() within
 * one directory is atomic on POSIX systems: a reader sees the old file or
 * the new one, never half of either, and a failure at any step leaves the
 * old file untouched and removes the temporary one.
 */
#include "tapegrad/base.h"

#include "io/atomic_file.h"
#include "tensor/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Makes temporary names unique between the threads of one process. */
static atomic_uint tmp_counter;

/* Record a system failure as "fn: what 'path': reason" and return TG_EIO. */
static int io_error(const tg__atomic_file *af, const char *what, int errnum)
{
    char reason[128];
    if (strerror_r(errnum, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", errnum);
    return tg_set_error(TG_EIO, "%s: %s '%s': %s", af->fn, what, af->path,
                        reason);
}

/*
 * Create a temporary file beside path with O_EXCL, so an existing file is
 * never reused; retry with the next number if the name is taken. Mode 0666
 * lets the umask decide the permissions, as fopen() would. Returns the
 * descriptor, or -1 with errno set.
 */
static int create_tmp(char *tmp, size_t size, const char *path)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        snprintf(tmp, size, "%s.tmp-%ld-%u", path, (long)getpid(), n);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int tg__atomic_open(tg__atomic_file *af, const char *fn, const char *path)
{
    *af = (tg__atomic_file){NULL, NULL, path, fn, 0};
    size_t size = strlen(path) + 48;
    af->tmp = tg__malloc(size);
    if (af->tmp == NULL)
        return tg_set_error(TG_ENOMEM, "%s: out of memory", fn);
    int errnum;
    int fd = create_tmp(af->tmp, size, path);
    if (fd < 0) {
        errnum = errno;
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
    af->tmp = NULL;
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
    else if (rename(af->tmp, af->path) != 0)
        rc = io_error(af, "cannot replace", errno);
    if (rc != TG_OK)
        unlink(af->tmp);
    tg__free(af->tmp);
    af->tmp = NULL;
    return rc;
}
