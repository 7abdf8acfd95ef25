/*
 * binary.h — what the binary format readers and writers in src/io/ share
 * (npy.c, npz.c, zip.c, idx.c): a byte source that cannot be read past its
 * end, little- and big-endian fields, CRC-32 and the ZIP container.
 *
 * Every reader takes its bytes through a tg__src, which knows how many
 * bytes exist and refuses (TG_EFORMAT, naming the file) any read beyond
 * them, so a lying length field can never make a parser read past the
 * data, whether the bytes are in memory or in a file.
 */
#ifndef TG_IO_BINARY_H
#define TG_IO_BINARY_H

#include "internal.h"

#include <stdio.h>

/* ---- byte sources (src/io/source.c) */

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

/* ---- fields (src/io/source.c) */

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

/* ---- .npy (src/io/npy.c) */

/* Read the .npy file that fills the window s exactly into a new tensor on
 * t. TG_EFORMAT naming s and the problem, TG_EIO, TG_ENOMEM. */
int tg__npy_read(tg__src *s, tg_tape *t, tg_tensor **out);

/* Room for any header tg__npy_header writes. */
#define TG__NPY_HEADER_MAX 512

/* Write the format 1.0 preamble and header of x, byte for byte as NumPy
 * 1.24 does, into buf (TG__NPY_HEADER_MAX bytes); returns its length. */
size_t tg__npy_header(const tg_tensor *x, char *buf);

/* Hand x's values to emit as little-endian bytes, in pieces; stops at and
 * returns the first nonzero result of emit. */
int tg__npy_data(const tg_tensor *x,
                 int (*emit)(void *ud, const void *bytes, size_t n),
                 void *ud);

/* ---- CRC-32 (src/io/zip.c): ISO-HDLC, as zlib's crc32() and ZIP. */

/* Start with tg__crc32(0, NULL, 0) == 0; continue with the last value. */
uint32_t tg__crc32(uint32_t crc, const void *data, size_t n);

/* ---- ZIP (src/io/zip.c): stored (uncompressed) entries only. */

/* One entry of an archive being read. */
typedef struct tg__zip_entry {
    char *name;                    /* NUL-terminated, allocator-owned */
    uint64_t offset;               /* of its data in the archive */
    uint64_t size;                 /* of its data */
    uint32_t crc;                  /* CRC-32 the data must have */
} tg__zip_entry;

/*
 * Read the central directory of the archive s and check every entry:
 * stored, not encrypted, its local header consistent, its data inside
 * the archive. On success *entries (allocator-owned, free with
 * tg__zip_free) holds *n entries in archive order. TG_EFORMAT naming the
 * problem, TG_EIO, TG_ENOMEM.
 */
int tg__zip_read(tg__src *s, tg__zip_entry **entries, int *n);
void tg__zip_free(tg__zip_entry *entries, int n);

/* Sizes of the records tg__zip_*_record write (before the name). */
#define TG__ZIP_LOCAL_SIZE 30
#define TG__ZIP_CENTRAL_SIZE 46
#define TG__ZIP_END_SIZE 22

/* The fixed part of the local header, central header and end record of a
 * stored entry; the name follows the first two. */
void tg__zip_local_record(unsigned char *p, size_t name_len, uint32_t crc,
                          uint32_t size, bool utf8);
void tg__zip_central_record(unsigned char *p, size_t name_len, uint32_t crc,
                            uint32_t size, uint32_t offset, bool utf8);
void tg__zip_end_record(unsigned char *p, uint16_t n, uint32_t cd_size,
                        uint32_t cd_offset);

#endif /* TG_IO_BINARY_H */
