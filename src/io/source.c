/*
 * source.c — bounded byte sources over files and memory, and the byte
 * order helpers the binary formats share.
 */
#include "tapegrad/base.h"

#include "io/crc32.h"
#include "io/source.h"
#include "io/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <fcntl.h>
#include <unistd.h>

/* The system's reason for errnum, thread-safely. */
static void reason(int errnum, char *buf, size_t n)
{
    if (strerror_r(errnum, buf, n) != 0)
        snprintf(buf, n, "error %d", errnum);
}

int tg__src_error(const tg__src *s, int status, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* Messages hold 511 bytes: shorten where (the path), never the
     * reason after it. */
    char where[sizeof s->where];
    size_t len = strlen(s->where), used = strlen(s->fn) + strlen(what) + 4;
    size_t room = used < 511 - 40 ? 511 - used : 40;
    memcpy(where, s->where, len + 1);
    if (len > room) {
        size_t head = (room - 3) / 3, from = len - (room - 3 - head);
        while (head > 0 && ((unsigned char)where[head] & 0xc0) == 0x80)
            head--;
        while (from < len && ((unsigned char)where[from] & 0xc0) == 0x80)
            from++;
        memcpy(where + head, "...", 3);
        memmove(where + head + 3, s->where + from, len - from + 1);
    }
    return tg_set_error(status, "%s: %s: %s", s->fn, where, what);
}

int tg__src_open(tg__src *s, const char *fn, const char *path)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    char quoted[sizeof s->where - 2];
    tg__escape_fit(path, sizeof quoted - 1, quoted, sizeof quoted);
    snprintf(s->where, sizeof s->where, "'%s'", quoted);
    char why[128];
    struct stat st;
    /* Non-blocking, so that opening a FIFO (or a device) returns at once
     * and is refused below instead of waiting for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        reason(errno, why, sizeof why);
        return tg__src_error(s, TG_EIO, "cannot open: %s", why);
    }
    int flags;
    if (fstat(fd, &st) != 0)
        reason(errno, why, sizeof why);
    else if (!S_ISREG(st.st_mode))
        snprintf(why, sizeof why, "not a regular file");
    else if ((flags = fcntl(fd, F_GETFL)) < 0 ||
             fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
             (s->f = fdopen(fd, "rb")) == NULL)
        reason(errno, why, sizeof why);
    else
        why[0] = '\0';
    if (why[0] != '\0') {
        close(fd);
        return tg__src_error(s, TG_EIO, "cannot read: %s", why);
    }
    s->size = (uint64_t)st.st_size;
    return TG_OK;
}

void tg__src_memory(tg__src *s, const char *fn, const char *where,
                    const void *data, size_t size)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    snprintf(s->where, sizeof s->where, "%s", where);
    s->mem = data;
    s->size = size;
}

void tg__src_close(tg__src *s)
{
    if (s->f != NULL)
        fclose(s->f);
    s->f = NULL;
}

void tg__src_window(tg__src *w, const tg__src *parent, uint64_t off,
                    uint64_t len, const char *entry)
{
    *w = *parent;
    char esc[256];
    tg__escape_text(entry, esc, sizeof esc);
    if (snprintf(w->where, sizeof w->where, "%s entry '%s'", parent->where,
                 esc) >= (int)sizeof w->where)
        memcpy(w->where + sizeof w->where - 4, "...", 4);   /* truncated */
    w->base = parent->base + off;
    w->size = len;
    w->pos = 0;
    w->crc = 0;
}

uint64_t tg__src_left(const tg__src *s)
{
    return s->size - s->pos;
}

int tg__src_seek(tg__src *s, uint64_t pos)
{
    if (pos > s->size)
        return tg__src_error(s, TG_EFORMAT, "offset %llu is past the end "
                             "(%llu bytes)", (unsigned long long)pos,
                             (unsigned long long)s->size);
    s->pos = pos;
    return TG_OK;
}

/* Read from a file at an absolute offset; TG_EIO for errors and for a file
 * that shrank since it was opened. */
static int file_read(tg__src *s, void *dst, size_t n, uint64_t at)
{
    char why[128];
    if (at > (uint64_t)INT64_MAX || fseeko(s->f, (off_t)at, SEEK_SET) != 0) {
        reason(errno, why, sizeof why);
        return tg__src_error(s, TG_EIO, "cannot seek: %s", why);
    }
    if (fread(dst, 1, n, s->f) == n)
        return TG_OK;
    if (ferror(s->f)) {
        reason(errno, why, sizeof why);
        return tg__src_error(s, TG_EIO, "cannot read: %s", why);
    }
    return tg__src_error(s, TG_EIO, "the file shrank while being read");
}

int tg__src_read(tg__src *s, void *dst, size_t n, const char *what)
{
    if (n > tg__src_left(s))
        return tg__src_error(s, TG_EFORMAT, "truncated: %s needs %zu bytes "
                             "at offset %llu, only %llu remain", what, n,
                             (unsigned long long)s->pos,
                             (unsigned long long)tg__src_left(s));
    if (n == 0)
        return TG_OK;
    uint64_t at = s->base + s->pos;
    if (s->f != NULL) {
        int rc = file_read(s, dst, n, at);
        if (rc != TG_OK)
            return rc;
    } else {
        memcpy(dst, s->mem + at, n);
    }
    s->pos += n;
    if (s->want_crc)
        s->crc = tg__crc32(s->crc, dst, n);
    return TG_OK;
}

uint16_t tg__le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t tg__le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint64_t tg__le64(const unsigned char *p)
{
    return (uint64_t)tg__le32(p) | (uint64_t)tg__le32(p + 4) << 32;
}

uint32_t tg__be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void tg__put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

void tg__put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

bool tg__little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

void tg__swap_bytes(void *data, size_t n, size_t esize)
{
    unsigned char *p = data;
    for (size_t i = 0; i < n; i++, p += esize)
        for (size_t a = 0, b = esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}
