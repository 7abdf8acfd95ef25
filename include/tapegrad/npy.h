/*
 * tapegrad/npy.h — tensors in NumPy's own files: .npy holds one array,
 * .npz a ZIP archive of named .npy files. What tg_npy_save writes,
 * numpy.load reads, and what np.save and np.savez write, these read back.
 *
 *     tg_tensor *w = tg_linspace(t, TG_F32, -1.0, 1.0, 6);
 *     tg_tensor *b = tg_scalar(t, TG_F64, 0.5);
 *     tg_npz_save("model.npz", 2, (const char *[]){"w", "b"},
 *                 (const tg_tensor *[]){w, b});
 *
 *     const tg_npz *z = tg_npz_load(t, "model.npz");
 *     if (z == NULL)
 *         fprintf(stderr, "%s\n", tg_last_error());
 *     tg_tensor *w2 = tg_npz_get(z, "w");      // or loop over z->n
 *     // In Python, np.load("model.npz")["w"] gives the same values.
 *
 * What is supported: dtypes '<f4' (TG_F32) and '<f8' (TG_F64), C order,
 * 0 to TG_MAX_DIMS dimensions of size at least 1 (shape () is a scalar).
 * Files are written in format version 1.0 with the header NumPy itself
 * writes, and read in versions 1.0, 2.0 and 3.0. Archives hold stored
 * (uncompressed) entries as np.savez writes them; np.savez_compressed's
 * deflated entries are refused, since the library has no dependency on a
 * compression library.
 *
 * Reading is strict: every header field and length is checked against the
 * bytes that exist, nothing is read past them, and anything unexpected is
 * TG_EFORMAT with a message naming the file (and entry) and the problem:
 * a bad magic string, an unsupported dtype ('<i8', '>f4', ...),
 * fortran_order True, a header running past the end of the file, a
 * negative, zero or overflowing dimension, data shorter than the shape
 * says, trailing bytes after it, a CRC-32 mismatch in an archive.
 *
 * Writing goes to a temporary file beside the target, renamed into place
 * when complete, so a failure never leaves a truncated file. Only a
 * regular file is replaced: a symlink is followed to one (the link is
 * kept), its permission bits are kept, and a FIFO, device or directory is
 * refused (TG_EIO). Reading refuses anything but a regular file without
 * blocking on it. Errors: TG_EINVAL for bad arguments (a path of "" too),
 * TG_EIO naming the path and the system's reason, TG_ENOMEM.
 *
 * Loaded tensors are new leaves on the given tape (requires_grad false);
 * everything a load returns (tensors, names, the tg_npz) belongs to that
 * tape and stays valid until it is reset or freed.
 */
#ifndef TAPEGRAD_NPY_H
#define TAPEGRAD_NPY_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write x to path as a .npy file (format 1.0, '<f4' or '<f8'). */
TG_API int tg_npy_save(const char *path, const tg_tensor *x);

/* Read the .npy file at path into a new tensor on t. */
TG_API tg_tensor *tg_npy_load(tg_tape *t, const char *path);

/* Read the bytes of a .npy file from memory (size bytes at data). */
TG_API tg_tensor *tg_npy_parse(tg_tape *t, const void *data, size_t size);

/*
 * Write the n tensors to path as a .npz archive, arrays[i] under
 * names[i] (stored as "names[i].npy", as np.savez(path, **arrays) does).
 * Names must be non-empty, distinct, well-formed UTF-8 (the archive flags
 * them so, and numpy decodes them so) and at most 65000 bytes; n may be 0.
 * The archive must stay below 4 GiB (entries have 32-bit sizes); 65,535
 * arrays get the ZIP64 end record their count needs, as numpy writes it.
 */
TG_API int tg_npz_save(const char *path, int n, const char *const *names,
                       const tg_tensor *const *arrays);

/* The arrays of an archive, in archive order; owned by the tape. */
typedef struct tg_npz {
    int n;                         /* how many */
    const char *const *names;      /* names[i], without ".npy" */
    tg_tensor *const *arrays;      /* arrays[i] */
} tg_npz;

/* Read every array of the .npz file at path onto t. Every entry must be a
 * supported .npy file whose name ends in ".npy", each name once. */
TG_API const tg_npz *tg_npz_load(tg_tape *t, const char *path);

/* The same from the bytes of a .npz file in memory. */
TG_API const tg_npz *tg_npz_parse(tg_tape *t, const void *data, size_t size);

/* The array called name in z; NULL and TG_ENOTFOUND if there is none
 * (TG_EINVAL for NULL arguments, keeping the message of a failed load;
 * TG_ESTATE once the tape z belongs to was reset). */
TG_API tg_tensor *tg_npz_get(const tg_npz *z, const char *name);

/* Read only the array called name from the .npz file at path; the other
 * entries' data is not read. TG_ENOTFOUND if there is no such entry
 * ("" names none, whatever the archive holds). */
TG_API tg_tensor *tg_npz_load_entry(tg_tape *t, const char *path,
                                    const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_NPY_H */
