/*
 * npz.c — NumPy's .npz archives: a ZIP file of stored .npy entries, one
 * per named array, as np.savez writes them.
 */
#include "tapegrad/npy.h"

#include "io/atomic_file.h"
#include "io/crc32.h"
#include "io/names.h"
#include "io/npy_format.h"
#include "io/utf8.h"
#include "io/zip.h"
#include "tensor/handle.h"
#include "tensor/alloc.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <string.h>

/* ---- writing */

/* emit for tg__npy_data: fold the bytes into a CRC-32. */
static int emit_crc(void *ud, const void *bytes, size_t n)
{
    uint32_t *crc = ud;
    *crc = tg__crc32(*crc, bytes, n);
    return 0;
}

/* emit for tg__npy_data: append to an atomic file. */
static int emit_file(void *ud, const void *bytes, size_t n)
{
    return tg__atomic_write(ud, bytes, n);
}

/* What the directory needs to know about an entry. */
typedef struct npz_out {
    uint32_t crc, size, offset;
} npz_out;

/* Check the arguments of tg_npz_save. */
static int check_save_args(const char *path, int n, const char *const *names,
                           const tg_tensor *const *arrays)
{
    const char *fn = "tg_npz_save";
    if (path == NULL || n < 0 || n > 65535 ||
        (n > 0 && (names == NULL || arrays == NULL)))
        return tg_set_error(TG_EINVAL, "%s: %s", fn,
                            path == NULL ? "path is NULL"
                            : n < 0 || n > 65535 ? "n must be in 0..65535"
                                                 : "names or arrays is NULL");
    for (int i = 0; i < n; i++) {
        if (names[i] == NULL || names[i][0] == '\0' ||
            strlen(names[i]) > 65000)
            return tg_set_error(TG_EINVAL, "%s: name %d is %s", fn, i,
                                names[i] == NULL ? "NULL"
                                : names[i][0] ? "over 65000 bytes" : "empty");
        /* The archive flags such names UTF-8 (numpy decodes them so), as
         * tg_json_write refuses them too. */
        if (!tg__utf8_valid(names[i]))
            return tg_set_error(TG_EINVAL, "%s: name %d is not valid UTF-8",
                                fn, i);
        int rc = tg__check_read(fn, arrays[i]);
        if (rc != TG_OK)
            return rc;
    }
    int a, b;
    if (tg__find_duplicate(n, names, &a, &b) != TG_OK)
        return tg_set_error(TG_ENOMEM, "%s: out of memory", fn);
    if (a >= 0) {
        char esc[256];
        tg__escape_text(names[b], esc, sizeof esc);
        return tg_set_error(TG_EINVAL, "%s: name '%s' is given twice (names "
                            "%d and %d)", fn, esc, a, b);
    }
    return TG_OK;
}

/* Whether s has bytes outside ASCII (the archive then flags it UTF-8). */
static bool non_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* Compute each entry's CRC, size and offset, and the directory's size;
 * TG_EINVAL if the archive would need ZIP64. */
static int plan(int n, const char *const *names,
                const tg_tensor *const *arrays, npz_out *out,
                uint32_t *cd_offset, uint32_t *cd_size)
{
    uint64_t at = 0, cd = 0;
    for (int i = 0; i < n; i++) {
        char header[TG__NPY_HEADER_MAX];
        size_t hlen = tg__npy_header(arrays[i], header);
        uint64_t size = hlen + (uint64_t)arrays[i]->numel *
                                   tg_dtype_size(arrays[i]->dtype);
        size_t name_len = strlen(names[i]) + 4;
        out[i].crc = tg__crc32(0, header, hlen);
        if (size <= UINT32_MAX)
            tg__npy_data(arrays[i], emit_crc, &out[i].crc);
        out[i].size = (uint32_t)size;
        out[i].offset = (uint32_t)at;
        at += TG__ZIP_LOCAL_SIZE + name_len + size;
        cd += TG__ZIP_CENTRAL_SIZE + name_len;
        if (size > UINT32_MAX ||
            at + cd + TG__ZIP_END64_SIZE + TG__ZIP_END_SIZE > UINT32_MAX) {
            char esc[256];
            tg__escape_text(names[i], esc, sizeof esc);
            return tg_set_error(TG_EINVAL, "tg_npz_save: the archive would "
                                "pass 4 GiB at '%s'; ZIP64 is not supported",
                                esc);
        }
    }
    *cd_offset = (uint32_t)at;
    *cd_size = (uint32_t)cd;
    return TG_OK;
}

/* Write a name as the archive stores it: with ".npy" appended. */
static void write_name(tg__atomic_file *af, const char *name)
{
    tg__atomic_puts(af, name);
    tg__atomic_puts(af, ".npy");
}

/* Write the local headers and data, the directory and the end record. */
static void write_archive(tg__atomic_file *af, int n, const char *const *names,
                          const tg_tensor *const *arrays, const npz_out *out,
                          uint32_t cd_offset, uint32_t cd_size)
{
    unsigned char rec[TG__ZIP_CENTRAL_SIZE];
    char header[TG__NPY_HEADER_MAX];
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 4;
        tg__zip_local_record(rec, len, out[i].crc, out[i].size,
                             non_ascii(names[i]));
        tg__atomic_write(af, rec, TG__ZIP_LOCAL_SIZE);
        write_name(af, names[i]);
        tg__atomic_write(af, header, tg__npy_header(arrays[i], header));
        tg__npy_data(arrays[i], emit_file, af);
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 4;
        tg__zip_central_record(rec, len, out[i].crc, out[i].size,
                               out[i].offset, non_ascii(names[i]));
        tg__atomic_write(af, rec, TG__ZIP_CENTRAL_SIZE);
        write_name(af, names[i]);
    }
    if (n >= 0xffff) {   /* the count no longer fits in 16 bits */
        unsigned char end64[TG__ZIP_END64_SIZE];
        tg__zip_end64_records(end64, (uint64_t)n, cd_size, cd_offset);
        tg__atomic_write(af, end64, sizeof end64);
    }
    tg__zip_end_record(rec, (uint16_t)(n >= 0xffff ? 0xffff : n), cd_size,
                       cd_offset);
    tg__atomic_write(af, rec, TG__ZIP_END_SIZE);
}

int tg_npz_save(const char *path, int n, const char *const *names,
                const tg_tensor *const *arrays)
{
    int rc = check_save_args(path, n, names, arrays);
    if (rc != TG_OK)
        return rc;
    npz_out *out = tg__malloc((size_t)(n ? n : 1) * sizeof *out);
    if (out == NULL)
        return tg_set_error(TG_ENOMEM, "tg_npz_save: out of memory");
    uint32_t cd_offset, cd_size;
    tg__atomic_file af;
    rc = plan(n, names, arrays, out, &cd_offset, &cd_size);
    if (rc == TG_OK)
        rc = tg__atomic_open(&af, "tg_npz_save", path);
    if (rc == TG_OK) {
        write_archive(&af, n, names, arrays, out, cd_offset, cd_size);
        rc = tg__atomic_commit(&af);
    }
    tg__free(out);
    return rc;
}

/* ---- reading */

/* The length of an entry's array name: its name without ".npy"; 0 if it
 * does not end so. */
static size_t array_name_len(const char *entry)
{
    size_t n = strlen(entry);
    return n > 4 && strcmp(entry + n - 4, ".npy") == 0 ? n - 4 : 0;
}

/* Read entry e of the archive s into a new tensor on t, checking its
 * CRC-32. */
static int read_entry(tg__src *s, const tg__zip_entry *e, tg_tape *t,
                      tg_tensor **out)
{
    tg__src w;
    tg__src_window(&w, s, e->offset, e->size, e->name);
    w.want_crc = true;
    int rc = tg__npy_read(&w, t, out);
    if (rc == TG_OK && w.crc != e->crc)
        rc = tg__src_error(&w, TG_EFORMAT, "CRC-32 mismatch (0x%08x, the "
                           "archive says 0x%08x): the data is corrupt",
                           w.crc, e->crc);
    return rc;
}

/* Memory for n names and arrays and the tg_npz itself, on t. */
/* The tg_npz a load returns, behind the generation check every handle
 * has (tensor/handle.h): tg_npz_get refuses it after a reset. */
typedef struct npz_handle {
    tg__handle h;
    tg_npz z;
} npz_handle;

static tg_npz *npz_new(tg__src *s, tg_tape *t, int n, const char ***names,
                       tg_tensor ***arrays)
{
    size_t k = (size_t)(n ? n : 1);
    *names = tg__arena_alloc(&t->arena, k * sizeof **names);
    *arrays = tg__arena_alloc(&t->arena, k * sizeof **arrays);
    npz_handle *zh = *names && *arrays ? tg__handle_new("", t, sizeof *zh)
                                       : NULL;
    if (zh == NULL) {
        tg__src_error(s, TG_ENOMEM, "out of memory");
        return NULL;
    }
    tg_npz *z = &zh->z;
    z->n = n;
    z->names = *names;
    z->arrays = *arrays;
    return z;
}

/* Check that every entry is a .npy file with its own name. */
static int check_names(tg__src *s, const tg__zip_entry *e, int n)
{
    char esc[256];
    for (int i = 0; i < n; i++)
        if (array_name_len(e[i].name) == 0) {
            tg__escape_text(e[i].name, esc, sizeof esc);
            return tg__src_error(s, TG_EFORMAT, "entry '%s' is not a .npy "
                                 "file", esc);
        }
    /* By sorting: 65,535 entries take milliseconds, not seconds. */
    const char **names = tg__malloc((size_t)(n ? n : 1) * sizeof *names);
    if (names == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        names[i] = e[i].name;
    int a, b;
    int rc = tg__find_duplicate(n, names, &a, &b);
    tg__free(names);
    if (rc != TG_OK)
        return tg__src_error(s, rc, "out of memory");
    if (a >= 0) {
        tg__escape_text(e[b].name, esc, sizeof esc);
        return tg__src_error(s, TG_EFORMAT, "entry '%s' appears twice",
                             esc);
    }
    return TG_OK;
}

/* Read every entry of the archive s onto t. */
static const tg_npz *load_all(tg__src *s, tg_tape *t)
{
    tg__zip_entry *e;
    int n;
    if (tg__zip_read(s, &e, &n) != TG_OK)
        return NULL;
    const char **names;
    tg_tensor **arrays;
    tg_npz *z = check_names(s, e, n) == TG_OK
                    ? npz_new(s, t, n, &names, &arrays) : NULL;
    for (int i = 0; z != NULL && i < n; i++) {
        size_t len = array_name_len(e[i].name);
        char *name = tg__arena_alloc(&t->arena, len + 1);
        if (name == NULL) {
            tg__src_error(s, TG_ENOMEM, "out of memory");
            z = NULL;
            break;
        }
        memcpy(name, e[i].name, len);
        name[len] = '\0';
        names[i] = name;
        if (read_entry(s, &e[i], t, &arrays[i]) != TG_OK)
            z = NULL;
    }
    tg__zip_free(e, n);
    return z;
}

const tg_npz *tg_npz_load(tg_tape *t, const char *path)
{
    if (t == NULL || path == NULL) {
        tg_set_error(TG_EINVAL, "tg_npz_load: %s is NULL",
                     t == NULL ? "tape" : "path");
        return NULL;
    }
    tg__src s;
    if (tg__src_open(&s, "tg_npz_load", path) != TG_OK)
        return NULL;
    const tg_npz *z = load_all(&s, t);
    tg__src_close(&s);
    return z;
}

const tg_npz *tg_npz_parse(tg_tape *t, const void *data, size_t size)
{
    if (t == NULL || (data == NULL && size > 0)) {
        tg_set_error(TG_EINVAL, "tg_npz_parse: %s is NULL",
                     t == NULL ? "tape" : "data");
        return NULL;
    }
    tg__src s;
    tg__src_memory(&s, "tg_npz_parse", "buffer", data, size);
    return load_all(&s, t);
}

tg_tensor *tg_npz_get(const tg_npz *z, const char *name)
{
    if (z == NULL || name == NULL) {
        if (name == NULL || tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "tg_npz_get: %s is NULL",
                         z == NULL ? "archive" : "name");
        return NULL;
    }
    const npz_handle *zh = (const npz_handle *)(const void *)
        ((const char *)z - offsetof(npz_handle, z));
    if (tg__check_handle("tg_npz_get", zh, "archive") != TG_OK)
        return NULL;
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->names[i], name) == 0)
            return z->arrays[i];
    char esc[256];
    tg__escape_text(name, esc, sizeof esc);
    tg_set_error(TG_ENOTFOUND, "tg_npz_get: no array named '%s'", esc);
    return NULL;
}

/* Read the entry "name.npy" of the archive s onto t. */
static tg_tensor *load_one(tg__src *s, tg_tape *t, const char *name)
{
    tg__zip_entry *e;
    int n;
    if (tg__zip_read(s, &e, &n) != TG_OK)
        return NULL;
    tg_tensor *x = NULL;
    size_t len = strlen(name);
    int i = 0;
    /* "" names no array: an entry that is not "<name>.npy" has an array
     * name length of 0 too, and must not match it. */
    while (i < n && !(len > 0 && array_name_len(e[i].name) == len &&
                      strncmp(e[i].name, name, len) == 0))
        i++;
    char esc[256];
    tg__escape_text(name, esc, sizeof esc);
    if (i == n)
        tg__src_error(s, TG_ENOTFOUND, "no array named '%s'", esc);
    else
        read_entry(s, &e[i], t, &x);
    tg__zip_free(e, n);
    return x;
}

tg_tensor *tg_npz_load_entry(tg_tape *t, const char *path, const char *name)
{
    if (t == NULL || path == NULL || name == NULL) {
        tg_set_error(TG_EINVAL, "tg_npz_load_entry: %s is NULL",
                     t == NULL ? "tape" : path == NULL ? "path" : "name");
        return NULL;
    }
    tg__src s;
    if (tg__src_open(&s, "tg_npz_load_entry", path) != TG_OK)
        return NULL;
    tg_tensor *x = load_one(&s, t, name);
    tg__src_close(&s);
    return x;
}
