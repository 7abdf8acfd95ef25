/*
 * idx.c — MNIST's IDX format, from bytes in memory (see idx.h).
 */
#include "tapegrad/idx.h"

#include "io/source.h"
#include "tensor/tape_struct.h"
#include "tensor/tensor_struct.h"

#include <math.h>
#include <string.h>

/* What the magic number and dimensions say. */
typedef struct idx_header {
    unsigned type;                 /* the type code */
    size_t esize;                  /* bytes per value */
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    uint64_t numel;
    const unsigned char *values;   /* the first value, big-endian */
} idx_header;

/* Bytes per value of a type code, 0 for an unknown one. */
static size_t type_size(unsigned type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

/* Read the dimensions (after the magic number) and check the length. */
static int read_dims(tg__src *s, idx_header *h)
{
    unsigned char dim[4];
    h->numel = 1;
    for (int i = 0; i < h->ndim; i++) {
        int rc = tg__src_read(s, dim, 4, "a dimension");
        if (rc != TG_OK)
            return rc;
        h->shape[i] = tg__be32(dim);
        if (h->shape[i] == 0)
            return tg__src_error(s, TG_EFORMAT, "dimension %d is 0; tapegrad "
                                 "tensors cannot be empty", i);
        if (h->numel > UINT64_MAX / (uint64_t)h->shape[i] / h->esize ||
            h->numel * (uint64_t)h->shape[i] * h->esize > SIZE_MAX)
            return tg__src_error(s, TG_EFORMAT, "the dimensions overflow");
        h->numel *= (uint64_t)h->shape[i];
    }
    uint64_t need = h->numel * h->esize, left = tg__src_left(s);
    if (left < need)
        return tg__src_error(s, TG_EFORMAT, "data is %llu bytes, but the "
                             "dimensions need %llu", (unsigned long long)left,
                             (unsigned long long)need);
    if (left > need)
        return tg__src_error(s, TG_EFORMAT, "%llu bytes of trailing garbage "
                             "after the data",
                             (unsigned long long)(left - need));
    h->values = s->mem + s->pos;
    return TG_OK;
}

/* Read the magic number and the dimensions. */
static int read_header(tg__src *s, idx_header *h)
{
    unsigned char magic[4];
    int rc = tg__src_read(s, magic, 4, "the magic number");
    if (rc != TG_OK)
        return rc;
    if (magic[0] != 0 || magic[1] != 0)
        return tg__src_error(s, TG_EFORMAT, "bad magic number 0x%02x%02x%02x"
                             "%02x (not an IDX file; is it still "
                             "compressed?)", magic[0], magic[1], magic[2],
                             magic[3]);
    h->type = magic[2];
    h->esize = type_size(h->type);
    if (h->esize == 0)
        return tg__src_error(s, TG_EFORMAT, "unknown type code 0x%02x",
                             h->type);
    h->ndim = magic[3];
    if (h->ndim == 0 || h->ndim > TG_MAX_DIMS)
        return tg__src_error(s, TG_EFORMAT, "%d dimensions; 1 to %d are "
                             "supported", h->ndim, TG_MAX_DIMS);
    return read_dims(s, h);
}

/* Value i of the file as a double. */
static double value_at(const idx_header *h, uint64_t i)
{
    const unsigned char *p = h->values + i * h->esize;
    uint64_t bits = 0;
    for (size_t k = 0; k < h->esize; k++)
        bits = bits << 8 | p[k];
    switch (h->type) {
    case 0x08: return (double)bits;
    case 0x09: return (double)(int8_t)(uint8_t)bits;
    case 0x0B: return (double)(int16_t)(uint16_t)bits;
    case 0x0C: return (double)(int32_t)(uint32_t)bits;
    case 0x0D: {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, 4);
        return f;
    }
    default: {
        double d;
        memcpy(&d, &bits, 8);
        return d;
    }
    }
}

tg_tensor *tg_idx_parse(tg_tape *t, const void *data, size_t size,
                        tg_dtype dt, double scale)
{
    const char *fn = "tg_idx_parse";
    if (t == NULL || (data == NULL && size > 0) || tg_dtype_size(dt) == 0 ||
        !isfinite(scale)) {
        tg_set_error(TG_EINVAL, "%s: %s", fn,
                     t == NULL ? "tape is NULL"
                     : tg_dtype_size(dt) == 0 ? "unknown dtype"
                     : !isfinite(scale) ? "scale is not finite"
                                        : "data is NULL");
        return NULL;
    }
    tg__src s;
    idx_header h;
    tg__src_memory(&s, fn, "buffer", data, size);
    if (read_header(&s, &h) != TG_OK)
        return NULL;
    tg_tensor *x = tg_empty(t, dt, h.ndim, h.shape);
    if (x == NULL) {
        tg__src_error(&s, TG_ENOMEM, "out of memory for %llu values",
                      (unsigned long long)h.numel);
        return NULL;
    }
    for (uint64_t i = 0; i < h.numel; i++) {
        double v = value_at(&h, i) * scale;
        if (dt == TG_F32)
            ((float *)x->data)[i] = (float)v;
        else
            ((double *)x->data)[i] = v;
    }
    return x;
}

int64_t *tg_idx_parse_labels(tg_tape *t, const void *data, size_t size,
                             int64_t *n)
{
    const char *fn = "tg_idx_parse_labels";
    if (t == NULL || n == NULL || (data == NULL && size > 0)) {
        tg_set_error(TG_EINVAL, "%s: %s is NULL", fn,
                     t == NULL ? "tape" : n == NULL ? "n" : "data");
        return NULL;
    }
    tg__src s;
    idx_header h;
    tg__src_memory(&s, fn, "buffer", data, size);
    if (read_header(&s, &h) != TG_OK)
        return NULL;
    if (h.type == 0x0D || h.type == 0x0E || h.ndim != 1) {
        tg__src_error(&s, TG_EFORMAT, "labels must be a 1-D array of "
                      "integers, not %d-D of type 0x%02x", h.ndim, h.type);
        return NULL;
    }
    int64_t *labels = tg__arena_alloc(&t->arena, h.numel * sizeof *labels);
    if (labels == NULL) {
        tg__src_error(&s, TG_ENOMEM, "out of memory for %llu labels",
                      (unsigned long long)h.numel);
        return NULL;
    }
    for (uint64_t i = 0; i < h.numel; i++)
        labels[i] = (int64_t)value_at(&h, i);
    *n = (int64_t)h.numel;
    return labels;
}
