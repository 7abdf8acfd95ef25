/*
 * crc32.h — CRC-32 (src/io/crc32.c): ISO-HDLC, as zlib's crc32() and ZIP.
 * Byte sources keep a running one; .npz checks and writes it per entry.
 */
#ifndef TG_IO_CRC32_H
#define TG_IO_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Start with tg__crc32(0, NULL, 0) == 0; continue with the last value. */
uint32_t tg__crc32(uint32_t crc, const void *data, size_t n);

#endif /* TG_IO_CRC32_H */
