/*
 * zip.c — just enough ZIP for .npz files: reading the central directory
 * of an archive of stored entries, and the records a writer of stored
 * entries needs (CRC-32 is crc32.c's). NumPy's np.savez writes exactly
 * such archives (np.savez_compressed deflates them, which is rejected
 * with a message).
 *
 * An archive ends with an "end of central directory" record that says
 * where the central directory is; the directory has one record per entry
 * (name, sizes, CRC-32, where its local header is); each local header is
 * followed by the entry's bytes. Entry offsets and sizes are 32-bit
 * (entries or archives past 4 GiB are refused), but the ZIP64 end record
 * that 65,535 entries or more need is read and written, as Python's
 * zipfile does, and the ZIP64 extra field NumPy puts in local headers is
 * read.
 */
#include "tapegrad/base.h"

#include "io/zip.h"
#include "tensor/alloc.h"

#include <stdint.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define END64_SIZE 56
#define LOCATOR64_SIZE 20
#define FLAG_ENCRYPTED 0x0001u
#define FLAG_UTF8 0x0800u

/* The end record's fields that matter. */
typedef struct zip_end {
    uint64_t at;                   /* offset of the record (of the ZIP64
                                      end record if there is one) */
    uint64_t n;                    /* entries */
    uint64_t cd_size, cd_offset;   /* the central directory */
} zip_end;

/*
 * Find the end record: the last 22 + comment bytes of the archive, its
 * comment length matching exactly. Reads at most 64 KiB + 22 bytes.
 */
static int find_end(tg__src *s, zip_end *end)
{
    if (s->size < TG__ZIP_END_SIZE)
        return tg__src_error(s, TG_EFORMAT, "not a ZIP archive (%llu bytes "
                             "is too short)", (unsigned long long)s->size);
    size_t tail = s->size < TG__ZIP_END_SIZE + 65535
                      ? (size_t)s->size : TG__ZIP_END_SIZE + 65535;
    unsigned char *buf = tg__malloc(tail);
    if (buf == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory");
    int rc = tg__src_seek(s, s->size - tail);
    if (rc == TG_OK)
        rc = tg__src_read(s, buf, tail, "the end record");
    for (size_t i = tail - TG__ZIP_END_SIZE + 1; rc == TG_OK && i-- > 0;) {
        const unsigned char *p = buf + i;
        if (tg__le32(p) != SIG_END ||
            tg__le16(p + 20) != tail - i - TG__ZIP_END_SIZE)
            continue;
        if (tg__le16(p + 4) != 0 || tg__le16(p + 6) != 0 ||
            tg__le16(p + 8) != tg__le16(p + 10))
            rc = tg__src_error(s, TG_EFORMAT, "multi-disk ZIP archives are "
                               "not supported");
        end->at = s->size - tail + i;
        end->n = tg__le16(p + 10);
        end->cd_size = tg__le32(p + 12);
        end->cd_offset = tg__le32(p + 16);
        tg__free(buf);
        return rc;
    }
    tg__free(buf);
    return rc != TG_OK ? rc : tg__src_error(s, TG_EFORMAT, "not a ZIP archive "
                                            "(no end of central directory "
                                            "record)");
}

/*
 * Replace the 32-bit fields saturated at 0xFFFFFFFF by their 64-bit values
 * from the ZIP64 extra field (tag 1) of a central record, which holds
 * those (and only those) in the order: size, compressed size, offset.
 */
static int read_zip64(tg__src *s, const char *name, const unsigned char *x,
                      size_t len, uint64_t *field[3])
{
    bool found = false;
    while (len >= 4) {
        size_t tag = tg__le16(x), n = tg__le16(x + 2);
        if (n > len - 4)
            break;
        found |= tag == 1;
        for (size_t k = 0, used = 0; tag == 1 && k < 3; k++) {
            if (*field[k] != 0xffffffffu)
                continue;
            if (used + 8 > n)
                return tg__src_error(s, TG_EFORMAT, "entry '%s': short "
                                     "ZIP64 extra field", name);
            *field[k] = tg__le64(x + 4 + used);
            used += 8;
        }
        x += 4 + n;
        len -= 4 + n;
    }
    if (len != 0)
        return tg__src_error(s, TG_EFORMAT, "entry '%s': malformed extra "
                             "field", name);
    for (int k = 0; k < 3 && !found; k++)
        if (*field[k] == 0xffffffffu)
            return tg__src_error(s, TG_EFORMAT, "entry '%s': ZIP64 sizes "
                                 "without a ZIP64 extra field", name);
    return TG_OK;
}

/* Check the local header of e and point e->offset past it, at the data. */
static int read_local(tg__src *s, tg__zip_entry *e, uint64_t data_end)
{
    unsigned char h[TG__ZIP_LOCAL_SIZE];
    int rc = tg__src_seek(s, e->offset);
    if (rc == TG_OK)
        rc = tg__src_read(s, h, sizeof h, "a local header");
    if (rc != TG_OK)
        return rc;
    size_t nl = tg__le16(h + 26), el = tg__le16(h + 28);
    if (tg__le32(h) != SIG_LOCAL || nl != strlen(e->name))
        return tg__src_error(s, TG_EFORMAT, "entry '%s': bad local header "
                             "at offset %llu", e->name,
                             (unsigned long long)e->offset);
    char name[256];
    for (size_t done = 0; done < nl; done += sizeof name) {
        size_t part = nl - done < sizeof name ? nl - done : sizeof name;
        rc = tg__src_read(s, name, part, "an entry name");
        if (rc != TG_OK)
            return rc;
        if (memcmp(name, e->name + done, part) != 0)
            return tg__src_error(s, TG_EFORMAT, "entry '%s': the local "
                                 "header names another file", e->name);
    }
    uint64_t start = e->offset + TG__ZIP_LOCAL_SIZE + nl + el;
    if (start > data_end || e->size > data_end - start)
        return tg__src_error(s, TG_EFORMAT, "entry '%s': its %llu bytes at "
                             "offset %llu run past the central directory",
                             e->name, (unsigned long long)e->size,
                             (unsigned long long)start);
    e->offset = start;
    return TG_OK;
}

/* Parse the central record at cd[*at] into e and advance *at past it. */
static int read_central(tg__src *s, const unsigned char *cd, size_t cd_size,
                        size_t *at, tg__zip_entry *e)
{
    const unsigned char *p = cd + *at;
    if (cd_size - *at < TG__ZIP_CENTRAL_SIZE || tg__le32(p) != SIG_CENTRAL)
        return tg__src_error(s, TG_EFORMAT, "bad central directory record "
                             "at offset %zu", *at);
    size_t nl = tg__le16(p + 28), el = tg__le16(p + 30),
           cl = tg__le16(p + 32);
    if (nl + el + cl > cd_size - *at - TG__ZIP_CENTRAL_SIZE)
        return tg__src_error(s, TG_EFORMAT, "central directory record at "
                             "offset %zu runs past its end", *at);
    const unsigned char *name = p + TG__ZIP_CENTRAL_SIZE;
    if (nl == 0 || memchr(name, 0, nl) != NULL)
        return tg__src_error(s, TG_EFORMAT, "an entry name is empty or "
                             "holds a NUL byte");
    e->name = tg__malloc(nl + 1);
    if (e->name == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory");
    memcpy(e->name, name, nl);
    e->name[nl] = '\0';
    *at += TG__ZIP_CENTRAL_SIZE + nl + el + cl;
    unsigned flags = tg__le16(p + 8), method = tg__le16(p + 10);
    uint64_t csize = tg__le32(p + 20);
    e->crc = tg__le32(p + 16);
    e->size = tg__le32(p + 24);
    e->offset = tg__le32(p + 42);
    if (flags & FLAG_ENCRYPTED)
        return tg__src_error(s, TG_EFORMAT, "entry '%s' is encrypted",
                             e->name);
    if (method != 0)
        return tg__src_error(s, TG_EFORMAT, "entry '%s' is compressed "
                             "(method %u%s); only stored entries can be "
                             "read (np.savez, not np.savez_compressed)",
                             e->name, method, method == 8 ? ", deflate" : "");
    if (tg__le16(p + 34) != 0)
        return tg__src_error(s, TG_EFORMAT, "multi-disk ZIP archives are "
                             "not supported");
    uint64_t *field[3] = {&e->size, &csize, &e->offset};
    int rc = read_zip64(s, e->name, name + nl, el, field);
    if (rc == TG_OK && csize != e->size)
        rc = tg__src_error(s, TG_EFORMAT, "entry '%s' is stored but its "
                           "sizes differ (%llu and %llu)", e->name,
                           (unsigned long long)csize,
                           (unsigned long long)e->size);
    return rc;
}

void tg__zip_free(tg__zip_entry *entries, int n)
{
    if (entries == NULL)
        return;
    for (int i = 0; i < n; i++)
        tg__free(entries[i].name);
    tg__free(entries);
}

/*
 * An archive of 65,535 entries or more (or a directory past 4 GiB) has a
 * ZIP64 end record before the end record, found through the locator just
 * before it (APPNOTE 4.3.14-15); its 64-bit counts replace the saturated
 * ones. Without a locator the 32-bit values are taken as they are, as
 * Python's zipfile does: an archive of exactly 65,535 entries written
 * without ZIP64 reads back.
 */
static int read_end64(tg__src *s, zip_end *end)
{
    unsigned char loc[LOCATOR64_SIZE], rec[END64_SIZE];
    if (end->at < LOCATOR64_SIZE)
        return TG_OK;
    int rc = tg__src_seek(s, end->at - LOCATOR64_SIZE);
    if (rc == TG_OK)
        rc = tg__src_read(s, loc, sizeof loc, "the ZIP64 locator");
    if (rc != TG_OK || tg__le32(loc) != SIG_LOCATOR64)
        return rc;
    uint64_t at = tg__le64(loc + 8);
    if (tg__le32(loc + 4) != 0 || tg__le32(loc + 16) > 1)
        return tg__src_error(s, TG_EFORMAT, "multi-disk ZIP archives are "
                             "not supported");
    if (at > end->at - LOCATOR64_SIZE ||
        end->at - LOCATOR64_SIZE - at < END64_SIZE)
        return tg__src_error(s, TG_EFORMAT, "the ZIP64 end record at offset "
                             "%llu does not fit before its locator",
                             (unsigned long long)at);
    rc = tg__src_seek(s, at);
    if (rc == TG_OK)
        rc = tg__src_read(s, rec, sizeof rec, "the ZIP64 end record");
    if (rc != TG_OK)
        return rc;
    if (tg__le32(rec) != SIG_END64)
        return tg__src_error(s, TG_EFORMAT, "no ZIP64 end record at offset "
                             "%llu, where the locator points",
                             (unsigned long long)at);
    if (tg__le32(rec + 16) != 0 || tg__le32(rec + 20) != 0 ||
        tg__le64(rec + 24) != tg__le64(rec + 32))
        return tg__src_error(s, TG_EFORMAT, "multi-disk ZIP archives are "
                             "not supported");
    end->at = at;
    end->n = tg__le64(rec + 32);
    end->cd_size = tg__le64(rec + 40);
    end->cd_offset = tg__le64(rec + 48);
    return TG_OK;
}

/* Read the n records of the central directory end describes. */
static int read_directory(tg__src *s, const zip_end *end,
                          tg__zip_entry *entries)
{
    unsigned char *cd = tg__malloc((size_t)end->cd_size);
    if (cd == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory");
    int rc = tg__src_seek(s, end->cd_offset);
    if (rc == TG_OK)
        rc = tg__src_read(s, cd, end->cd_size, "the central directory");
    size_t at = 0;
    for (uint64_t i = 0; rc == TG_OK && i < end->n; i++)
        rc = read_central(s, cd, (size_t)end->cd_size, &at, &entries[i]);
    tg__free(cd);
    if (rc == TG_OK && at != end->cd_size)
        rc = tg__src_error(s, TG_EFORMAT, "the central directory has %zu "
                           "bytes more than its %llu records",
                           (size_t)end->cd_size - at,
                           (unsigned long long)end->n);
    for (uint64_t i = 0; rc == TG_OK && i < end->n; i++)
        rc = read_local(s, &entries[i], end->cd_offset);
    return rc;
}

int tg__zip_read(tg__src *s, tg__zip_entry **entries, int *n)
{
    zip_end end = {0, 0, 0, 0};
    int rc = find_end(s, &end);
    if (rc != TG_OK)
        return rc;
    rc = read_end64(s, &end);
    if (rc != TG_OK)
        return rc;
    /* Every entry needs a 46-byte record: a count beyond that is a lie. */
    if (end.n > (uint64_t)INT32_MAX || end.cd_size > SIZE_MAX / 2 ||
        end.n > end.cd_size / TG__ZIP_CENTRAL_SIZE + 1)
        return tg__src_error(s, TG_EFORMAT, "the archive claims %llu entries "
                             "in a central directory of %llu bytes",
                             (unsigned long long)end.n,
                             (unsigned long long)end.cd_size);
    if (end.cd_offset > end.at || end.at - end.cd_offset != end.cd_size)
        return tg__src_error(s, TG_EFORMAT, "the central directory (%llu "
                             "bytes at offset %llu) does not end where the end "
                             "record starts (%llu)",
                             (unsigned long long)end.cd_size,
                             (unsigned long long)end.cd_offset,
                             (unsigned long long)end.at);
    size_t count = (size_t)(end.n ? end.n : 1);
    tg__zip_entry *list = tg__malloc(count * sizeof *list);
    if (list == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory");
    memset(list, 0, count * sizeof *list);
    rc = read_directory(s, &end, list);
    if (rc != TG_OK) {
        tg__zip_free(list, (int)end.n);
        return rc;
    }
    *entries = list;
    *n = (int)end.n;
    return TG_OK;
}

/* The DOS date of 1980-01-01, midnight: archives do not depend on when
 * they were written (Python's zipfile does the same for streamed
 * entries). */
#define DOS_TIME 0
#define DOS_DATE 0x21

void tg__zip_local_record(unsigned char *p, size_t name_len, uint32_t crc,
                          uint32_t size, bool utf8)
{
    tg__put_le32(p, SIG_LOCAL);
    tg__put_le16(p + 4, 20);                   /* version needed: 2.0 */
    tg__put_le16(p + 6, utf8 ? FLAG_UTF8 : 0);
    tg__put_le16(p + 8, 0);                    /* stored */
    tg__put_le16(p + 10, DOS_TIME);
    tg__put_le16(p + 12, DOS_DATE);
    tg__put_le32(p + 14, crc);
    tg__put_le32(p + 18, size);                /* compressed */
    tg__put_le32(p + 22, size);                /* uncompressed */
    tg__put_le16(p + 26, (uint16_t)name_len);
    tg__put_le16(p + 28, 0);                   /* no extra field */
}

void tg__zip_central_record(unsigned char *p, size_t name_len, uint32_t crc,
                            uint32_t size, uint32_t offset, bool utf8)
{
    tg__put_le32(p, SIG_CENTRAL);
    tg__put_le16(p + 4, 20);                   /* made by: MS-DOS, 2.0 */
    tg__put_le16(p + 6, 20);                   /* version needed */
    tg__put_le16(p + 8, utf8 ? FLAG_UTF8 : 0);
    tg__put_le16(p + 10, 0);
    tg__put_le16(p + 12, DOS_TIME);
    tg__put_le16(p + 14, DOS_DATE);
    tg__put_le32(p + 16, crc);
    tg__put_le32(p + 20, size);
    tg__put_le32(p + 24, size);
    tg__put_le16(p + 28, (uint16_t)name_len);
    memset(p + 30, 0, 12);                     /* extra, comment, disk,
                                                  attributes */
    tg__put_le32(p + 42, offset);
}

void tg__zip_end64_records(unsigned char *p, uint64_t n, uint64_t cd_size,
                           uint64_t cd_offset)
{
    tg__put_le32(p, SIG_END64);
    tg__put_le32(p + 4, END64_SIZE - 12);      /* size of the rest */
    tg__put_le32(p + 8, 0);
    tg__put_le16(p + 12, 45);                  /* made by: MS-DOS, 4.5 */
    tg__put_le16(p + 14, 45);                  /* needed: 4.5 (ZIP64) */
    tg__put_le32(p + 16, 0);                   /* this disk, the CD's */
    tg__put_le32(p + 20, 0);
    tg__put_le32(p + 24, (uint32_t)n);
    tg__put_le32(p + 28, (uint32_t)(n >> 32));
    tg__put_le32(p + 32, (uint32_t)n);
    tg__put_le32(p + 36, (uint32_t)(n >> 32));
    tg__put_le32(p + 40, (uint32_t)cd_size);
    tg__put_le32(p + 44, (uint32_t)(cd_size >> 32));
    tg__put_le32(p + 48, (uint32_t)cd_offset);
    tg__put_le32(p + 52, (uint32_t)(cd_offset >> 32));
    unsigned char *l = p + END64_SIZE;
    uint64_t at = cd_offset + cd_size;         /* where the record is */
    tg__put_le32(l, SIG_LOCATOR64);
    tg__put_le32(l + 4, 0);
    tg__put_le32(l + 8, (uint32_t)at);
    tg__put_le32(l + 12, (uint32_t)(at >> 32));
    tg__put_le32(l + 16, 1);                   /* one disk */
}

void tg__zip_end_record(unsigned char *p, uint16_t n, uint32_t cd_size,
                        uint32_t cd_offset)
{
    tg__put_le32(p, SIG_END);
    tg__put_le32(p + 4, 0);                    /* this disk, the CD's disk */
    tg__put_le16(p + 8, n);
    tg__put_le16(p + 10, n);
    tg__put_le32(p + 12, cd_size);
    tg__put_le32(p + 16, cd_offset);
    tg__put_le16(p + 20, 0);                   /* no comment */
}
