/*
 * npy_dict.h — the header of a .npy file, a Python dict literal, parsed
 * (src/io/npy_dict.c) by a small tokenizer that accepts exactly the
 * literals NumPy writes (strings in either quotes, True/False, tuples of
 * non-negative integers, spaces and trailing commas where Python allows
 * them) and rejects the rest.
 */
#ifndef TG_IO_NPY_DICT_H
#define TG_IO_NPY_DICT_H

#include "tapegrad/base.h"

#include "io/source.h"

/* What a .npy header says. */
typedef struct tg__npy_dict {
    const char *descr;             /* points into the header text */
    size_t descr_len;
    bool fortran_order;
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    unsigned seen;                 /* which keys appeared: bit per key */
} tg__npy_dict;

/* Parse the header text[0, len) read from s into h: a dict with 'descr',
 * 'fortran_order' and 'shape' each once, nothing but spaces after it.
 * TG_EFORMAT naming s and what was expected where. */
int tg__npy_parse_dict(const tg__src *s, const char *text, size_t len,
                       tg__npy_dict *h);

#endif /* TG_IO_NPY_DICT_H */
