/*
 * source.h — byte sources for the binary format readers in src/io/
 * (src/io/source.c), and the little- and big-endian fields they read.
 *
 * Every reader takes its bytes through a tg__src, which knows how many
 * bytes exist and refuses (TG_EFORMAT, naming the file) any read beyond
 * them, so a lying length field can never make a parser read past the
 * data, whether the bytes are in memory or in a file.
 */
#ifndef TG_IO_SOURCE_H
#define TG_IO_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A window of bytes [base, base + size) of a file or a memory buffer,
 * read front to back. The running CRC-32 covers every byte read through
 * the window, in order, for a caller that reads it exactly once.
 */
typedef struct tg__src {
    const char *fn;                /* the public call, for messages */
    char where[192];               /* "'w.npz' entry 'a.npy'", for messages */
    FILE *f;                       /* the file, or NULL for memory */
    const unsigned char *mem;      /* the buffer, when f is NULL */
    uint64_t base;                 /* where the window starts */
    uint64_t size;                 /* its length */
    uint64_t pos;                  /* the next byte to read, from base */
    uint32_t crc;                  /* CRC-32 of the bytes read, */
    bool want_crc;                 /* if asked for */
} tg__src;

/* Open path for reading as a source. TG_EIO naming path and the system's
 * reason (also for a directory or other non-regular file). */
int tg__src_open(tg__src *s, const char *fn, const char *path);

/* A source over size bytes of memory, called where in messages. */
void tg__src_memory(tg__src *s, const char *fn, const char *where,
                    const void *data, size_t size);

/* Close the file of a source made by tg__src_open (no-op for memory). */
void tg__src_close(tg__src *s);

/* A window of len bytes at offset off of parent (which must hold them),
 * called "<parent's where> entry '<entry>'" in messages. */
void tg__src_window(tg__src *w, const tg__src *parent, uint64_t off,
                    uint64_t len, const char *entry);

/* Bytes of s not read yet. */
uint64_t tg__src_left(const tg__src *s);

/* Read n bytes into dst and advance; what names them in the message:
 * TG_EFORMAT "fn: where: truncated: what needs n bytes at offset k, only
 * m remain", TG_EIO for a failing read. */
int tg__src_read(tg__src *s, void *dst, size_t n, const char *what);

/* Move to offset pos of the window (at most its size). */
int tg__src_seek(tg__src *s, uint64_t pos);

/* Set the error "fn: where: <message>" and return status. */
int tg__src_error(const tg__src *s, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- little- and big-endian fields */

uint16_t tg__le16(const unsigned char *p);
uint32_t tg__le32(const unsigned char *p);
uint64_t tg__le64(const unsigned char *p);
uint32_t tg__be32(const unsigned char *p);
void tg__put_le16(unsigned char *p, uint16_t v);
void tg__put_le32(unsigned char *p, uint32_t v);

/* Whether this machine stores numbers least significant byte first. */
bool tg__little_endian(void);

/* Reverse the bytes of each of n elements of esize bytes, in place. */
void tg__swap_bytes(void *data, size_t n, size_t esize);

#endif /* TG_IO_SOURCE_H */
