/*
 * zip.h — the ZIP container under .npz (src/io/zip.c): stored
 * (uncompressed) entries only, read from a byte source, records written
 * as bytes.
 */
#ifndef TG_IO_ZIP_H
#define TG_IO_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/source.h"

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
/* The ZIP64 end record and its locator (TG__ZIP_END64_SIZE bytes), written
 * just before the end record when an archive has 65,535 entries or more;
 * the end record then says 0xFFFF entries. */
#define TG__ZIP_END64_SIZE (56 + 20)
void tg__zip_end64_records(unsigned char *p, uint64_t n, uint64_t cd_size,
                           uint64_t cd_offset);

#endif /* TG_IO_ZIP_H */
