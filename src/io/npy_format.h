/*
 * npy_format.h — one .npy image, read from a byte source and written out
 * as bytes (src/io/npy.c): the .npy calls and each entry of an .npz use it.
 */
#ifndef TG_IO_NPY_FORMAT_H
#define TG_IO_NPY_FORMAT_H

#include "io/source.h"
#include "tapegrad/tensor.h"

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

#endif /* TG_IO_NPY_FORMAT_H */
