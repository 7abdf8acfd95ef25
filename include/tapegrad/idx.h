/*
 * tapegrad/idx.h — the IDX format of MNIST and Fashion-MNIST: images and
 * labels, parsed from bytes in memory.
 *
 * The data sets are distributed gzip-compressed; tapegrad itself depends
 * on no compression library, so the caller decompresses (with zlib, say)
 * and hands the bytes over:
 *
 *     // Two 2x2 images and their labels, as the decompressed files of
 *     // the training set hold 60000 28x28 images and 60000 labels.
 *     const unsigned char images[] = {0, 0, 0x08, 3,  0, 0, 0, 2,
 *                                     0, 0, 0, 2,  0, 0, 0, 2,
 *                                     0, 51, 102, 255,  255, 0, 0, 0};
 *     const unsigned char labels[] = {0, 0, 0x08, 1,  0, 0, 0, 2,  9, 3};
 *     tg_tensor *x = tg_idx_parse(t, images, sizeof images, TG_F32, 1.0 / 255);
 *     //   shape (2, 2, 2), values in [0, 1]: 0, 0.2, 0.4, 1, 1, 0, 0, 0
 *     int64_t n;
 *     int64_t *y = tg_idx_parse_labels(t, labels, sizeof labels, &n);
 *     //   n == 2, y[0] == 9, y[1] == 3
 *
 * An IDX file is a 4-byte magic number (two zero bytes, a type code, the
 * number of dimensions), each dimension as a big-endian 32-bit integer,
 * then the values, big-endian, in row-major order. Type codes: 0x08
 * unsigned byte, 0x09 signed byte, 0x0B 16-bit, 0x0C 32-bit integer, 0x0D
 * 32-bit, 0x0E 64-bit float.
 *
 * Parsing is strict: TG_EFORMAT, with a message naming the problem, for a
 * bad magic number, an unknown type code, no dimensions or more than
 * TG_MAX_DIMS, a zero or overflowing dimension, data shorter than the
 * dimensions say, or bytes after it. Nothing past size is ever read.
 * TG_EINVAL for NULL arguments or a bad dtype or scale; TG_ENOMEM.
 * What is returned belongs to t: valid until t is reset or freed.
 */
#ifndef TAPEGRAD_IDX_H
#define TAPEGRAD_IDX_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The values of the IDX file in data[0..size) as a new tensor on t of
 * dtype dt and the file's shape, each value multiplied by scale (1.0 for
 * the raw values, 1.0 / 255 for pixels in [0, 1]): value * scale is
 * computed in double and rounded once to dt. Any type code is accepted.
 */
TG_API tg_tensor *tg_idx_parse(tg_tape *t, const void *data, size_t size,
                               tg_dtype dt, double scale);

/*
 * The labels of a one-dimensional IDX file of integers (types 0x08, 0x09,
 * 0x0B, 0x0C) in data[0..size): an array of *n int64_t owned by t. NULL
 * (and *n untouched) on error; float types and other shapes are
 * TG_EFORMAT.
 */
TG_API int64_t *tg_idx_parse_labels(tg_tape *t, const void *data, size_t size,
                                    int64_t *n);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_IDX_H */
