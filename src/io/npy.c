/*
 * npy.c — NumPy's .npy format: read strictly, written as NumPy writes it.
 *
 * A .npy file is a preamble, a header and the raw values:
 *
 *     "\x93NUMPY" major minor   header length (2 bytes LE in 1.0, 4 in 2.0
 *                               and 3.0)
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   + spaces
 *                               and '\n', so the values start 64-aligned
 *     values                    numel * itemsize bytes, C order
 *
 * The header is a Python dict literal, parsed by npy_dict.c.
 */
#include "tapegrad/npy.h"

#include "io/atomic_file.h"
#include "io/npy_dict.h"
#include "io/npy_format.h"
#include "io/utf8.h"
#include "tensor/alloc.h"
#include "tensor/tensor_check.h"
#include "tensor/tensor_struct.h"

#include <stdio.h>
#include <string.h>

/* Headers longer than this are refused rather than allocated. */
#define MAX_HEADER_LEN (1u << 20)

/* "(2,3)" for a shape given as an array. */
static void shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t at = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? "," : "",
                               (long long)shape[i]);
    if (at < n)
        snprintf(buf + at, n - at, ndim == 1 ? ",)" : ")");
}

/* The dtype a descr names; TG_EFORMAT for anything but '<f4' and '<f8'. */
static int check_descr(const tg__src *s, const tg__npy_dict *h, tg_dtype *dt)
{
    /* The descr as the file has it, escaped: a NUL or control byte in it
     * is shown, not taken as the end of the text. */
    char n_esc[200];
    tg__escape_bytes(h->descr, h->descr_len < 40 ? h->descr_len : 40, n_esc,
                     sizeof n_esc);
    if (h->descr_len == 3 && !memcmp(h->descr, "<f4", 3))
        *dt = TG_F32;
    else if (h->descr_len == 3 && !memcmp(h->descr, "<f8", 3))
        *dt = TG_F64;
    else if (h->descr_len == 3 && h->descr[0] == '>' && h->descr[1] == 'f')
        return tg__src_error(s, TG_EFORMAT, "big-endian dtype '%s' is not "
                             "supported (only '<f4' and '<f8')", n_esc);
    else
        return tg__src_error(s, TG_EFORMAT, "unsupported dtype '%s%s' (only "
                             "'<f4' and '<f8')", n_esc,
                             h->descr_len > 40 ? "..." : "");
    if (h->fortran_order)
        return tg__src_error(s, TG_EFORMAT, "fortran_order True is not "
                             "supported (save a C-ordered array)");
    return TG_OK;
}

/* The magic string, the version and the header length that follows. */
static int read_preamble(tg__src *s, uint32_t *header_len)
{
    unsigned char pre[12];
    int rc = tg__src_read(s, pre, 8, "the magic string");
    if (rc != TG_OK)
        return rc;
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return tg__src_error(s, TG_EFORMAT, "bad magic string (not a .npy "
                             "file)");
    unsigned major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return tg__src_error(s, TG_EFORMAT, "unsupported format version "
                             "%u.%u", major, minor);
    size_t len_size = major == 1 ? 2 : 4;
    rc = tg__src_read(s, pre + 8, len_size, "the header length");
    if (rc != TG_OK)
        return rc;
    *header_len = major == 1 ? tg__le16(pre + 8) : tg__le32(pre + 8);
    if (*header_len > tg__src_left(s))
        return tg__src_error(s, TG_EFORMAT, "header length %u runs past the "
                             "end (%llu bytes follow)", *header_len,
                             (unsigned long long)tg__src_left(s));
    if (*header_len > MAX_HEADER_LEN)
        return tg__src_error(s, TG_EFORMAT, "header length %u is over the "
                             "limit of %u", *header_len, MAX_HEADER_LEN);
    return TG_OK;
}

/* Read and parse the header into h and its dtype. */
static int read_header(tg__src *s, tg__npy_dict *h, tg_dtype *dt)
{
    uint32_t len = 0;
    int rc = read_preamble(s, &len);
    if (rc != TG_OK)
        return rc;
    char *text = tg__malloc(len);
    if (text == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory");
    rc = tg__src_read(s, text, len, "the header");
    if (rc == TG_OK) {
        rc = tg__npy_parse_dict(s, text, len, h);
    }
    if (rc == TG_OK)
        rc = check_descr(s, h, dt);
    h->descr = NULL;   /* it pointed into text */
    tg__free(text);
    return rc;
}

/* Check that exactly the bytes the shape needs follow; their count. */
static int check_data(const tg__src *s, const tg__npy_dict *h, tg_dtype dt,
                      uint64_t *bytes)
{
    char shape[TG_MAX_DIMS * 21 + 4];
    shape_str(h->ndim, h->shape, shape, sizeof shape);
    uint64_t n = tg_dtype_size(dt), left = tg__src_left(s);
    for (int i = 0; i < h->ndim; i++) {
        uint64_t dim = (uint64_t)h->shape[i];
        if (dim > UINT64_MAX / n || n * dim > SIZE_MAX ||
            n * dim > (uint64_t)INT64_MAX)
            return tg__src_error(s, TG_EFORMAT, "shape %s overflows", shape);
        n *= dim;
    }
    const char *descr = dt == TG_F32 ? "<f4" : "<f8";
    if (left < n)
        return tg__src_error(s, TG_EFORMAT, "data is %llu bytes, but shape "
                             "%s of '%s' needs %llu", (unsigned long long)left,
                             shape, descr, (unsigned long long)n);
    if (left > n)
        return tg__src_error(s, TG_EFORMAT, "%llu bytes of trailing garbage "
                             "after the data", (unsigned long long)(left - n));
    *bytes = n;
    return TG_OK;
}

int tg__npy_read(tg__src *s, tg_tape *t, tg_tensor **out)
{
    tg__npy_dict h;
    tg_dtype dt = TG_F32;
    uint64_t bytes = 0;
    int rc = read_header(s, &h, &dt);
    if (rc == TG_OK)
        rc = check_data(s, &h, dt, &bytes);
    if (rc != TG_OK)
        return rc;
    tg_tensor *x = tg_empty(t, dt, h.ndim, h.shape);
    if (x == NULL)
        return tg__src_error(s, TG_ENOMEM, "out of memory for %llu bytes",
                             (unsigned long long)bytes);
    rc = tg__src_read(s, x->data, (size_t)bytes, "the data");
    if (rc != TG_OK)
        return rc;
    if (!tg__little_endian())
        tg__swap_bytes(x->data, (size_t)x->numel, tg_dtype_size(dt));
    *out = x;
    return TG_OK;
}

size_t tg__npy_header(const tg_tensor *x, char *buf)
{
    char dict[TG__NPY_HEADER_MAX];
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', "
                                "'fortran_order': False, 'shape': (",
                                x->dtype == TG_F32 ? "<f4" : "<f8");
    for (int i = 0; i < x->ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%lld",
                              i ? ", " : "", (long long)x->shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }",
                          x->ndim == 1 ? "," : "");
    /* NumPy leaves room for the first dimension to grow to 21 digits. */
    if (x->ndim > 0) {
        int digits = snprintf(NULL, 0, "%lld", (long long)x->shape[0]);
        for (int i = digits; i < 21; i++)
            dict[n++] = ' ';
    }
    /* Spaces and '\n' up to a multiple of 64, a whole 64 if already. */
    size_t hlen = n + 1, pad = 64 - (10 + hlen) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    tg__put_le16((unsigned char *)buf + 8, (uint16_t)(hlen + pad));
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + n + pad] = '\n';
    return 10 + hlen + pad;
}

int tg__npy_data(const tg_tensor *x,
                 int (*emit)(void *ud, const void *bytes, size_t n),
                 void *ud)
{
    size_t esize = tg_dtype_size(x->dtype), total = (size_t)x->numel * esize;
    if (tg__little_endian())
        return emit(ud, x->data, total);
    unsigned char chunk[4096];
    const unsigned char *p = x->data;
    for (size_t done = 0; done < total; done += sizeof chunk) {
        size_t n = total - done < sizeof chunk ? total - done : sizeof chunk;
        memcpy(chunk, p + done, n);
        tg__swap_bytes(chunk, n / esize, esize);
        int rc = emit(ud, chunk, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* emit for tg__npy_data: append to an atomic file. */
static int emit_file(void *ud, const void *bytes, size_t n)
{
    return tg__atomic_write(ud, bytes, n);
}

int tg_npy_save(const char *path, const tg_tensor *x)
{
    if (path == NULL)
        return tg_set_error(TG_EINVAL, "tg_npy_save: path is NULL");
    int rc = tg__check_read("tg_npy_save", x);
    if (rc != TG_OK)
        return rc;
    char header[TG__NPY_HEADER_MAX];
    size_t len = tg__npy_header(x, header);
    tg__atomic_file af;
    rc = tg__atomic_open(&af, "tg_npy_save", path);
    if (rc != TG_OK)
        return rc;
    tg__atomic_write(&af, header, len);
    tg__npy_data(x, emit_file, &af);
    return tg__atomic_commit(&af);
}

tg_tensor *tg_npy_load(tg_tape *t, const char *path)
{
    if (t == NULL || path == NULL) {
        tg_set_error(TG_EINVAL, "tg_npy_load: %s is NULL",
                     t == NULL ? "tape" : "path");
        return NULL;
    }
    tg__src s;
    tg_tensor *x = NULL;
    if (tg__src_open(&s, "tg_npy_load", path) != TG_OK)
        return NULL;
    tg__npy_read(&s, t, &x);
    tg__src_close(&s);
    return x;
}

tg_tensor *tg_npy_parse(tg_tape *t, const void *data, size_t size)
{
    if (t == NULL || (data == NULL && size > 0)) {
        tg_set_error(TG_EINVAL, "tg_npy_parse: %s is NULL",
                     t == NULL ? "tape" : "data");
        return NULL;
    }
    tg__src s;
    tg_tensor *x = NULL;
    tg__src_memory(&s, "tg_npy_parse", "buffer", data, size);
    tg__npy_read(&s, t, &x);
    return x;
}
