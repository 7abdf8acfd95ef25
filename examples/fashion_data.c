/*
 * fashion_data.c — Fashion-MNIST from gzip'd IDX files: zlib decompresses
 * each file into memory, tapegrad's IDX parser checks and converts it. And
 * the test of a classifier on it.
 */
#include "fashion_data.h"

#include <tapegrad/elementwise.h>
#include <tapegrad/idx.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* No file of the data set is near this size decompressed (the training
 * images are 47 MB); anything larger is refused rather than read whole. */
#define MAX_BYTES ((size_t)1 << 30)

/* A failed gzopen: a missing file names the package that provides it. */
static int open_error(const char *path)
{
    if (errno == ENOENT || errno == ENOTDIR)
        return tg_set_error(TG_ENOTFOUND, "cannot open %s: %s; Fashion-MNIST "
                            "is in the package %s (apt-get install %s)", path,
                            strerror(errno), FASHION_PACKAGE, FASHION_PACKAGE);
    return tg_set_error(TG_EIO, "cannot open %s: %s", path,
                        errno ? strerror(errno) : "out of memory");
}

/* Read what f decompresses to, up to want bytes (SIZE_MAX: all of it),
 * into *buf (malloc'd, grown as it fills); *n is the length. Returns TG_OK
 * or a negative status. */
static int inflate_all(gzFile f, const char *path, size_t want,
                       unsigned char **buf, size_t *n)
{
    size_t cap = 0;
    while (*n < want) {
        if (*n == cap) {
            size_t bigger = cap ? 2 * cap : (size_t)1 << 20;
            if (bigger > want)
                bigger = want;
            unsigned char *p = bigger <= MAX_BYTES ? realloc(*buf, bigger)
                                                   : NULL;
            if (p == NULL)
                return bigger <= MAX_BYTES
                       ? tg_set_error(TG_ENOMEM, "%s: out of memory", path)
                       : tg_set_error(TG_EFORMAT, "%s: more than %zu MiB "
                                      "decompressed", path, MAX_BYTES >> 20);
            *buf = p;
            cap = bigger;
        }
        int got = gzread(f, *buf + *n, (unsigned)(cap - *n));
        if (got <= 0)
            break;
        *n += (size_t)got;
    }
    int err;
    const char *why = gzerror(f, &err);
    size_t skip = strlen(path); /* zlib's message starts "path: " */
    if (strncmp(why, path, skip) == 0 && strncmp(why + skip, ": ", 2) == 0)
        why += skip + 2;
    if (err != Z_OK)
        return tg_set_error(TG_EIO, "cannot decompress %s: %s", path, why);
    return TG_OK;
}

/* Decompress the file at path, up to want bytes, into a new malloc'd
 * buffer. A file that is not gzip'd is read as it is (zlib's transparent
 * mode). */
static int read_gz(const char *path, size_t want, unsigned char **data,
                   size_t *size)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (f == NULL)
        return open_error(path);
    gzbuffer(f, 1 << 17);
    *data = NULL;
    *size = 0;
    int rc = inflate_all(f, path, want, data, size);
    gzclose(f);
    if (rc != TG_OK) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

/* Put path in front of the message of the failure that just happened. */
static int prefix_error(const char *path)
{
    char why[512];
    snprintf(why, sizeof why, "%s", tg_last_error());
    return tg_set_error(tg_last_status(), "%s: %s", path, why);
}

/*
 * How many bytes of an IDX file hold its header (hsize bytes) and first
 * limit items of item bytes each: SIZE_MAX (all) for a limit of 0.
 */
static size_t wanted(size_t hsize, size_t item, int64_t limit)
{
    if (limit <= 0 || (uint64_t)limit > (SIZE_MAX - hsize) / item)
        return SIZE_MAX;
    return hsize + (size_t)limit * item;
}

/*
 * A file read only as far as its first limit items: make the item count
 * of its header (bytes 4 to 7, big-endian) say so, if it says more, so
 * that the IDX parser checks the part that was read as a whole file.
 */
static void limit_count(unsigned char *data, size_t size, int64_t limit)
{
    if (limit <= 0 || size < 8)
        return;
    uint32_t n = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 |
                 (uint32_t)data[6] << 8 | data[7];
    if (n <= limit)
        return;
    for (int k = 0; k < 4; k++)
        data[4 + k] = (unsigned char)((uint64_t)limit >> (24 - 8 * k));
}

/* Parse dir/split-images-idx3-ubyte.gz: (n, 28, 28) pixels in [0, 1]; with
 * a limit, only the first limit images are decompressed. */
static int load_images(tg_tape *t, const char *dir, const char *split,
                       int64_t limit, fashion_set *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, split);
    unsigned char *data;
    size_t size;
    int rc = read_gz(path, wanted(16, FASHION_PIXELS, limit), &data, &size);
    if (rc != TG_OK)
        return rc;
    limit_count(data, size, limit);
    tg_tensor *x = tg_idx_parse(t, data, size, TG_F32, 1.0 / 255);
    free(data);
    if (x == NULL)
        return prefix_error(path);
    const int64_t *shape = tg_shape(x);
    if (tg_ndim(x) != 3 || shape[1] != 28 || shape[2] != 28) {
        char str[64];
        return tg_set_error(TG_EFORMAT, "%s: images of shape %s, expected "
                            "(n,28,28)", path, tg_shape_str(x, str, sizeof str));
    }
    s->n = shape[0];
    s->images = tg_data_f32(x);
    return TG_OK;
}

/* Parse dir/split-labels-idx1-ubyte.gz: one label in 0..9 per image. */
static int load_labels(tg_tape *t, const char *dir, const char *split,
                       int64_t limit, fashion_set *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    unsigned char *data;
    size_t size;
    int rc = read_gz(path, wanted(8, 1, limit), &data, &size);
    if (rc != TG_OK)
        return rc;
    limit_count(data, size, limit);
    int64_t n = 0;
    const int64_t *y = tg_idx_parse_labels(t, data, size, &n);
    free(data);
    if (y == NULL)
        return prefix_error(path);
    if (n != s->n)
        return tg_set_error(TG_EFORMAT, "%s: %lld labels for %lld images",
                            path, (long long)n, (long long)s->n);
    for (int64_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= FASHION_CLASSES)
            return tg_set_error(TG_EFORMAT, "%s: label %lld of image %lld is "
                                "outside 0..%d", path, (long long)y[i],
                                (long long)i, FASHION_CLASSES - 1);
    s->labels = y;
    return TG_OK;
}

int fashion_load_first(tg_tape *t, const char *dir, const char *split,
                       int64_t limit, fashion_set *s)
{
    *s = (fashion_set){0, NULL, NULL};
    int rc = load_images(t, dir, split, limit, s);
    if (rc == TG_OK)
        rc = load_labels(t, dir, split, limit, s);
    return rc;
}

int fashion_load(tg_tape *t, const char *dir, const char *split,
                 fashion_set *s)
{
    return fashion_load_first(t, dir, split, 0, s);
}

/* What gather_part copies: the batch's pixels, as one range of floats. */
typedef struct gather_job {
    const fashion_set *s;
    const int64_t *idx;
    float *x;
} gather_job;

/* Pixels [begin, end) of the batch (row begin / FASHION_PIXELS onwards):
 * each row's piece copied from its sample, so any cut gives the same x. */
static void gather_part(void *job, int64_t begin, int64_t end)
{
    const gather_job *j = job;
    while (begin < end) {
        int64_t row = begin / FASHION_PIXELS, col = begin % FASHION_PIXELS;
        int64_t len = FASHION_PIXELS - col < end - begin
                      ? FASHION_PIXELS - col : end - begin;
        memcpy(j->x + begin,
               j->s->images + j->idx[row] * FASHION_PIXELS + col,
               (size_t)len * sizeof *j->x);
        begin += len;
    }
}

void fashion_gather(const fashion_set *s, const int64_t *idx, int64_t n,
                    float *x, int64_t *y)
{
    /* Rows from all over the data set: cache misses, which two threads
     * wait for at once (tg_parallel_range splits only a batch large
     * enough to pay for it; n >= 0, so it cannot fail). */
    gather_job j = {s, idx, x};
    tg_parallel_range(n * FASHION_PIXELS, gather_part, &j);
    for (int64_t i = 0; i < n; i++)
        y[i] = s->labels[idx[i]];
}

int64_t fashion_correct(const tg_tensor *logits, const int64_t *labels,
                        int64_t n)
{
    const float *z = tg_data_f32(logits);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++, z += FASHION_CLASSES) {
        int best = 0;
        for (int k = 1; k < FASHION_CLASSES; k++)
            if (z[k] > z[best])
                best = k;
        correct += best == labels[i];
    }
    return correct;
}

int fashion_evaluate_net(tg_tape *t, fashion_forward_fn forward,
                         const void *net, const fashion_set *s, double *loss,
                         double *accuracy)
{
    enum { BATCH = 1000 };
    bool grad = tg_tape_grad_enabled(t);
    double total = 0;
    int64_t correct = 0;
    int rc = TG_OK;
    tg_tape_set_grad_enabled(t, false);
    for (int64_t i = 0; i < s->n && rc == TG_OK; i += BATCH) {
        int64_t b = s->n - i < BATCH ? s->n - i : BATCH;
        int64_t shape[2] = {b, FASHION_PIXELS};
        tg_tensor *x = tg_from_data(t, TG_F32, 2, shape,
                                    s->images + i * FASHION_PIXELS);
        tg_tensor *logits = forward(t, net, x);
        tg_tensor *l = tg_cross_entropy(t, logits, s->labels + i);
        if (l != NULL) {
            total += tg_item(l) * (double)b;
            correct += fashion_correct(logits, s->labels + i, b);
        } else {
            rc = tg_last_status();
        }
        tg_tape_reset(t);
    }
    tg_tape_set_grad_enabled(t, grad);
    *loss = total / (double)s->n;
    *accuracy = (double)correct / (double)s->n;
    return rc;
}

static tg_tensor *mlp_forward(tg_tape *t, const void *net, tg_tensor *x)
{
    return tg_mlp_forward(t, net, x);
}

int fashion_evaluate(tg_tape *t, const tg_mlp *net, const fashion_set *s,
                     double *loss, double *accuracy)
{
    return fashion_evaluate_net(t, mlp_forward, net, s, loss, accuracy);
}
