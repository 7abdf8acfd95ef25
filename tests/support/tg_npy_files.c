/*
 * tg_npy_files.c — the helpers of tg_npy_files.h.
 */
#include "tg_npy_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef TG_NPY_FIXTURES
#error "TG_NPY_FIXTURES must name the folder of the .npy fixtures"
#endif

/* The path of fixture name (a static buffer). */
const char *fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", TG_NPY_FIXTURES, name);
    return path;
}

/* A fresh temporary folder for the files a test writes, and paths in it. */
static char tmp_dir[256];   /* the folder of make_tmp_dir */

void make_tmp_dir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/tg_npy_XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

const char *tmp_path(const char *name)
{
    static char path[2][512];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", tmp_dir, name);
    return path[which];
}

/* Remove the temporary folder with the files a test named. */
void remove_tmp_dir(const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        unlink(tmp_path(names[i]));
    ck_assert_int_eq(rmdir(tmp_dir), 0);   /* nothing else was left */
}

/* The bytes of a file (malloc'd, not through tapegrad) and their count. */
unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *size = n;
    return buf;
}

/* ramp(n)[i] = (i - n/2) / 4, as make_npy_fixtures.py writes. */
tg_tensor *ramp(tg_tape *t, tg_dtype dt, int ndim,
                       const int64_t *shape)
{
    tg_tensor *x = tg_empty(t, dt, ndim, shape);
    int64_t n = tg_numel(x);
    for (int64_t i = 0; i < n; i++) {
        double v = ((double)i - (double)n / 2) / 4;
        if (dt == TG_F32)
            tg_mut_f32(x)[i] = (float)v;
        else
            tg_mut_f64(x)[i] = v;
    }
    return x;
}

/* Whether x has dtype dt, shape, and the values of ramp. */
void assert_ramp(const tg_tensor *x, tg_dtype dt, int ndim,
                        const int64_t *shape)
{
    ck_assert_msg(x != NULL, "load failed: %s", tg_last_error());
    ck_assert_int_eq(tg_dtype_of(x), dt);
    ck_assert_int_eq(tg_ndim(x), ndim);
    for (int d = 0; d < ndim; d++)
        ck_assert_int_eq(tg_shape(x)[d], shape[d]);
    int64_t n = tg_numel(x);
    for (int64_t i = 0; i < n; i++) {
        double want = ((double)i - (double)n / 2) / 4;
        double got = dt == TG_F32 ? tg_data_f32(x)[i] : tg_data_f64(x)[i];
        ck_assert_msg(got == want, "element %lld: %g, expected %g",
                      (long long)i, got, want);
    }
}

/* Whether two buffers have the same bytes. */
void assert_same_bytes(const unsigned char *a, size_t na,
                              const unsigned char *b, size_t nb)
{
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++)
        ck_assert_msg(a[i] == b[i], "byte %zu: 0x%02x, expected 0x%02x", i,
                      a[i], b[i]);
}
