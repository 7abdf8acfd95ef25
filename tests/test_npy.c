/*
 * test_npy.c — .npy and .npz files: reading what NumPy wrote (the files in
 * fixtures/npy/, made by make_npy_fixtures.py), writing what NumPy writes,
 * round trips, and every way a file can be refused.
 */
#include "tg_test.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef TG_NPY_FIXTURES
#error "TG_NPY_FIXTURES must name the folder of the .npy fixtures"
#endif

/* ---- helpers */

/* The path of fixture name (a static buffer). */
static const char *fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", TG_NPY_FIXTURES, name);
    return path;
}

/* A fresh temporary folder for the files a test writes, and paths in it. */
static char tmp_dir[256];

static void make_tmp_dir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/tg_npy_XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static const char *tmp_path(const char *name)
{
    static char path[2][512];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", tmp_dir, name);
    return path[which];
}

/* Remove the temporary folder with the files a test named. */
static void remove_tmp_dir(const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        unlink(tmp_path(names[i]));
    ck_assert_int_eq(rmdir(tmp_dir), 0);   /* nothing else was left */
}

/* The bytes of a file (malloc'd, not through tapegrad) and their count. */
static unsigned char *slurp(const char *path, size_t *size)
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
static tg_tensor *ramp(tg_tape *t, tg_dtype dt, int ndim,
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
static void assert_ramp(const tg_tensor *x, tg_dtype dt, int ndim,
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
static void assert_same_bytes(const unsigned char *a, size_t na,
                              const unsigned char *b, size_t nb)
{
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++)
        ck_assert_msg(a[i] == b[i], "byte %zu: 0x%02x, expected 0x%02x", i,
                      a[i], b[i]);
}

/* ---- reading what NumPy wrote */

START_TEST(reads_numpy_files)
{
    tg_tape *t = tg_tape_new();
    int64_t s234[] = {2, 3, 4}, s5[] = {5}, s32[] = {3, 2}, s4[] = {4};
    int64_t s8[] = {1, 1, 1, 1, 1, 1, 1, 2};
    assert_ramp(tg_npy_load(t, fixture("f4_2x3x4.npy")), TG_F32, 3, s234);
    assert_ramp(tg_npy_load(t, fixture("f8_2x3x4.npy")), TG_F64, 3, s234);
    assert_ramp(tg_npy_load(t, fixture("f8_5.npy")), TG_F64, 1, s5);
    assert_ramp(tg_npy_load(t, fixture("f8_1x1x1x1x1x1x1x2.npy")), TG_F64,
                8, s8);
    assert_ramp(tg_npy_load(t, fixture("f4_v2.npy")), TG_F32, 2, s32);
    assert_ramp(tg_npy_load(t, fixture("f8_v3.npy")), TG_F64, 1, s4);
    tg_tensor *a = tg_npy_load(t, fixture("f4_scalar.npy"));
    ck_assert_int_eq(tg_ndim(a), 0);
    ck_assert(tg_item(a) == -2.5);
    tg_tensor *b = tg_npy_load(t, fixture("f8_scalar.npy"));
    ck_assert_int_eq(tg_dtype_of(b), TG_F64);
    ck_assert(tg_item(b) == 3.141592653589793);
    ck_assert(!tg_requires_grad(b));
    tg_tape_free(t);
}
END_TEST

START_TEST(reads_special_values_bit_for_bit)
{
    tg_tape *t = tg_tape_new();
    const float *f = tg_data_f32(tg_npy_load(t, fixture("f4_specials.npy")));
    const double *d = tg_data_f64(tg_npy_load(t, fixture("f8_specials.npy")));
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(d);
    float fw[8] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f,
                   FLT_MAX, 0.1f};
    double dw[8] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-1074,
                    DBL_MAX, 0.1};
    for (int i = 0; i < 8; i++) {
        ck_assert_msg(i == 4 ? isnan(f[i]) : memcmp(&f[i], &fw[i], 4) == 0,
                      "f4 special %d", i);
        ck_assert_msg(i == 4 ? isnan(d[i]) : memcmp(&d[i], &dw[i], 8) == 0,
                      "f8 special %d", i);
    }
    tg_tape_free(t);
}
END_TEST

/* ---- writing what NumPy writes */

/* Save x, compare the file with NumPy's fixture byte for byte. */
static void assert_writes_like_numpy(const tg_tensor *x, const char *name)
{
    const char *path = tmp_path(name);
    ck_assert_msg(tg_npy_save(path, x) == TG_OK, "%s", tg_last_error());
    size_t na, nb;
    unsigned char *a = slurp(path, &na), *b = slurp(fixture(name), &nb);
    assert_same_bytes(a, na, b, nb);
    free(a);
    free(b);
}

START_TEST(writes_numpy_bytes)
{
    tg_tape *t = tg_tape_new();
    make_tmp_dir();
    int64_t s234[] = {2, 3, 4}, s5[] = {5};
    int64_t s8[] = {1, 1, 1, 1, 1, 1, 1, 2};
    assert_writes_like_numpy(ramp(t, TG_F32, 3, s234), "f4_2x3x4.npy");
    assert_writes_like_numpy(ramp(t, TG_F64, 3, s234), "f8_2x3x4.npy");
    assert_writes_like_numpy(ramp(t, TG_F64, 1, s5), "f8_5.npy");
    assert_writes_like_numpy(ramp(t, TG_F64, 8, s8), "f8_1x1x1x1x1x1x1x2.npy");
    assert_writes_like_numpy(tg_scalar(t, TG_F32, -2.5), "f4_scalar.npy");
    assert_writes_like_numpy(tg_scalar(t, TG_F64, 3.141592653589793),
                             "f8_scalar.npy");
    double dw[8] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 0x1p-1074,
                    DBL_MAX, 0.1};
    int64_t s8x[] = {8};
    assert_writes_like_numpy(tg_from_data(t, TG_F64, 1, s8x, dw),
                             "f8_specials.npy");
    const char *names[] = {"f4_2x3x4.npy", "f8_2x3x4.npy", "f8_5.npy",
                           "f8_1x1x1x1x1x1x1x2.npy", "f4_scalar.npy",
                           "f8_scalar.npy", "f8_specials.npy"};
    remove_tmp_dir(names, 7);
    tg_tape_free(t);
}
END_TEST

START_TEST(round_trips)
{
    tg_tape *t = tg_tape_new();
    make_tmp_dir();
    int64_t shapes[3][3] = {{0}, {5}, {2, 3, 4}};
    int ndims[3] = {0, 1, 3};
    for (int dt = 0; dt < 2; dt++)
        for (int k = 0; k < 3; k++) {
            tg_tensor *x = ramp(t, (tg_dtype)dt, ndims[k], shapes[k]);
            const char *path = tmp_path("x.npy");
            ck_assert_int_eq(tg_npy_save(path, x), TG_OK);
            assert_ramp(tg_npy_load(t, path), (tg_dtype)dt, ndims[k],
                        shapes[k]);
            size_t n;
            unsigned char *bytes = slurp(path, &n);
            assert_ramp(tg_npy_parse(t, bytes, n), (tg_dtype)dt, ndims[k],
                        shapes[k]);
            free(bytes);
        }
    /* Saving over an existing file replaces it. */
    ck_assert_int_eq(tg_npy_save(tmp_path("x.npy"), tg_scalar(t, TG_F64, 9)),
                     TG_OK);
    ck_assert(tg_item(tg_npy_load(t, tmp_path("x.npy"))) == 9.0);
    const char *names[] = {"x.npy"};
    remove_tmp_dir(names, 1);
    tg_tape_free(t);
}
END_TEST

/* ---- refusing what is not supported */

/* Loading fixture name fails with TG_EFORMAT and the fragment. */
static void assert_refused(tg_tape *t, const char *name, const char *frag)
{
    ck_assert_null_msg(tg_npy_load(t, fixture(name)), frag);
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    ck_assert_message("tg_npy_load: '");
    ck_assert_message(name);
}

START_TEST(refuses_unsupported_numpy_files)
{
    tg_tape *t = tg_tape_new();
    assert_refused(t, "i8.npy", "unsupported dtype '<i8' (only '<f4' and "
                   "'<f8')");
    assert_refused(t, "f2.npy", "unsupported dtype '<f2'");
    assert_refused(t, "big_endian.npy", "big-endian dtype '>f4' is not "
                   "supported");
    assert_refused(t, "fortran.npy", "fortran_order True is not supported");
    assert_refused(t, "empty.npy", "shape: dimension 1 is 0; tapegrad "
                   "tensors cannot be empty");
    assert_refused(t, "nine_dims.npy", "shape: more than 8 dimensions");
    assert_refused(t, "model.npz", "bad magic string (not a .npy file)");
    tg_tape_free(t);
}
END_TEST

/* A .npy file in memory: preamble for version major.0 and header text,
 * then data_len bytes of data. */
static size_t make_npy(unsigned char *buf, int major, const char *header,
                       size_t data_len)
{
    size_t h = strlen(header), at = major == 1 ? 10 : 12;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < at - 8; i++)
        buf[8 + i] = (unsigned char)(h >> (8 * i));
    memcpy(buf + at, header, h);
    memset(buf + at + h, 0x3f, data_len);
    return at + h + data_len;
}

/* Parsing a made-up file with this header and data fails with TG_EFORMAT
 * naming the buffer and the problem. */
static void assert_header_refused(tg_tape *t, const char *header,
                                  size_t data_len, const char *frag)
{
    static unsigned char buf[4096];
    size_t n = make_npy(buf, 1, header, data_len);
    tg_clear_error();
    ck_assert_null_msg(tg_npy_parse(t, buf, n), frag);
    ck_assert_msg(tg_last_status() == TG_EFORMAT, "status %d for %s",
                  tg_last_status(), header);
    ck_assert_message("tg_npy_parse: buffer: ");
}

#define DICT(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " \
                    shape ", }\n"

START_TEST(refuses_malformed_headers)
{
    tg_tape *t = tg_tape_new();
    /* The accepted baseline, so that each case below breaks one thing. */
    static unsigned char ok[256];
    size_t n = make_npy(ok, 1, DICT("(2, 3)"), 24);
    ck_assert_ptr_nonnull(tg_npy_parse(t, ok, n));
    n = make_npy(ok, 1, "{\"shape\":(2,3,),\"fortran_order\":False,"
                 "\"descr\":\"<f4\"}", 24);
    ck_assert_ptr_nonnull(tg_npy_parse(t, ok, n));

    assert_header_refused(t, DICT("(2, -3)"), 24,
                          "shape: dimension 1 is negative");
    assert_header_refused(t, DICT("(99999999999999999999,)"), 24,
                          "shape: dimension 0 overflows 64 bits");
    assert_header_refused(t, DICT("(4611686018427387904, 4)"), 24,
                          "shape (4611686018427387904,4) overflows");
    assert_header_refused(t, DICT("(5)"), 20, "expected ',' in (n,)");
    assert_header_refused(t, DICT("(2 3)"), 24, "expected ',' or ')'");
    assert_header_refused(t, DICT("(02, 3)"), 24, "without leading zeros");
    assert_header_refused(t, DICT("[2, 3]"), 24, "expected a tuple");
    assert_header_refused(t, DICT("(2, 3)"), 20, "data is 20 bytes, but "
                          "shape (2,3) of '<f4' needs 24");
    assert_header_refused(t, DICT("(2, 3)"), 25, "1 bytes of trailing "
                          "garbage after the data");
    assert_header_refused(t, "{'descr': '<f4', 'shape': (2,), }", 8,
                          "header lacks 'fortran_order'");
    assert_header_refused(t, "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (2,), 'extra': 1}", 8,
                          "header: unexpected key 'extra'");
    assert_header_refused(t, "{'descr': '<f4', 'descr': '<f4', "
                          "'fortran_order': False, 'shape': (2,)}", 8,
                          "header: repeated key 'descr'");
    assert_header_refused(t, "{'descr': '<f4, 'fortran_order': False}", 8,
                          "expected ',' or '}'");
    assert_header_refused(t, "{'descr': '<f4', 'fortran_order': Falsey, "
                          "'shape': (2,)}", 8, "expected True or False");
    assert_header_refused(t, "{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (2,)} x", 8, "nothing after the dict");
    assert_header_refused(t, "{'descr': '<f4' 'fortran_order': False}", 8,
                          "expected ',' or '}'");
    assert_header_refused(t, "'descr': '<f4'", 8, "expected '{'");
    assert_header_refused(t, "{'descr': '<f\\x34', 'fortran_order': False, "
                          "'shape': (2,)}", 8, "the end of a string");
    assert_header_refused(t, "{'descr': [('a', '<f4')], 'fortran_order': "
                          "False, 'shape': (2,)}", 8, "expected a string");
    assert_header_refused(t, "", 0, "expected '{'");
    tg_tape_free(t);
}
END_TEST

START_TEST(refuses_malformed_preambles)
{
    tg_tape *t = tg_tape_new();
    static unsigned char buf[256];
    size_t n = make_npy(buf, 1, DICT("(2,)"), 8);
    buf[1] = 'n';
    ck_assert_null_msg(tg_npy_parse(t, buf, n), "tg_npy_parse: buffer: bad "
                       "magic string (not a .npy file)");
    buf[1] = 'N';
    buf[6] = 4;
    ck_assert_null_msg(tg_npy_parse(t, buf, n), "unsupported format version "
                       "4.0");
    buf[6] = 1;
    buf[7] = 1;
    ck_assert_null_msg(tg_npy_parse(t, buf, n), "unsupported format version "
                       "1.1");
    buf[7] = 0;
    buf[8] = 0xff;
    ck_assert_null_msg(tg_npy_parse(t, buf, n), "header length ");
    ck_assert_message("runs past the end");
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    ck_assert_null_msg(tg_npy_parse(t, buf, 9), "truncated: the header "
                       "length needs 2 bytes at offset 8, only 1 remain");
    ck_assert_null_msg(tg_npy_parse(t, buf, 3), "truncated: the magic "
                       "string needs 8 bytes at offset 0, only 3 remain");
    ck_assert_null_msg(tg_npy_parse(t, buf, 0), "truncated");
    ck_assert_null_msg(tg_npy_parse(t, NULL, 0), "truncated");
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    /* Version 2.0: a 4-byte length, here over the limit of 1 MiB. */
    size_t big = (1u << 20) + 64;
    unsigned char *huge = malloc(big);
    memcpy(huge, "\x93NUMPY\x02\x00", 8);
    uint32_t len = (1u << 20) + 1;
    for (int i = 0; i < 4; i++)
        huge[8 + i] = (unsigned char)(len >> (8 * i));
    memset(huge + 12, ' ', big - 12);
    ck_assert_null_msg(tg_npy_parse(t, huge, big), "header length 1048577 "
                       "is over the limit of 1048576");
    free(huge);
    tg_tape_free(t);
}
END_TEST

START_TEST(reports_bad_arguments_and_paths)
{
    tg_tape *t = tg_tape_new();
    ck_assert_null_msg(tg_npy_load(NULL, "x.npy"), "tg_npy_load: tape is "
                       "NULL");
    ck_assert_null_msg(tg_npy_load(t, NULL), "tg_npy_load: path is NULL");
    ck_assert_null_msg(tg_npy_parse(t, NULL, 5), "tg_npy_parse: data is "
                       "NULL");
    ck_assert_null_msg(tg_npy_load(t, "/nonexistent/x.npy"),
                       "tg_npy_load: '/nonexistent/x.npy': cannot open: ");
    ck_assert_int_eq(tg_last_status(), TG_EIO);
    ck_assert_null_msg(tg_npy_load(t, TG_NPY_FIXTURES), "cannot read: ");
    ck_assert_int_eq(tg_last_status(), TG_EIO);
    tg_tensor *x = tg_scalar(t, TG_F32, 1);
    ck_assert_status(tg_npy_save(NULL, x), TG_EINVAL,
                     "tg_npy_save: path is NULL");
    ck_assert_status(tg_npy_save("/nonexistent/x.npy", x), TG_EIO,
                     "tg_npy_save: cannot write '/nonexistent/x.npy': ");
    tg_clear_error();
    ck_assert_status(tg_npy_save("x.npy", NULL), TG_EINVAL,
                     "tg_npy_save: tensor is NULL");
    tg_tape_reset(t);
    ck_assert_status(tg_npy_save("x.npy", x), TG_ESTATE,
                     "tg_npy_save: tensor was freed by a reset");
    tg_tape_free(t);
}
END_TEST

/* ---- .npz */

START_TEST(reads_numpy_archives)
{
    tg_tape *t = tg_tape_new();
    const tg_npz *z = tg_npz_load(t, fixture("model.npz"));
    ck_assert_msg(z != NULL, "%s", tg_last_error());
    ck_assert_int_eq(z->n, 3);
    ck_assert_str_eq(z->names[0], "w");
    ck_assert_str_eq(z->names[1], "b");
    ck_assert_str_eq(z->names[2], "step");
    int64_t s23[] = {2, 3}, s3[] = {3};
    assert_ramp(z->arrays[0], TG_F32, 2, s23);
    assert_ramp(tg_npz_get(z, "b"), TG_F64, 1, s3);
    ck_assert(tg_item(tg_npz_get(z, "step")) == 7.0);
    ck_assert_null_msg(tg_npz_get(z, "bias"), "tg_npz_get: no array named "
                       "'bias'");
    ck_assert_int_eq(tg_last_status(), TG_ENOTFOUND);
    assert_ramp(tg_npz_load_entry(t, fixture("model.npz"), "b"), TG_F64, 1,
                s3);
    ck_assert_null_msg(tg_npz_load_entry(t, fixture("model.npz"), "st"),
                       "tg_npz_load_entry: '");
    ck_assert_message("model.npz': no array named 'st'");
    ck_assert_int_eq(tg_last_status(), TG_ENOTFOUND);
    const tg_npz *e = tg_npz_load(t, fixture("empty.npz"));
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->n, 0);
    /* From memory, too. */
    size_t n;
    unsigned char *bytes = slurp(fixture("model.npz"), &n);
    const tg_npz *m = tg_npz_parse(t, bytes, n);
    ck_assert_ptr_nonnull(m);
    assert_ramp(tg_npz_get(m, "w"), TG_F32, 2, s23);
    free(bytes);
    tg_tape_free(t);
}
END_TEST

START_TEST(refuses_unsupported_archives)
{
    tg_tape *t = tg_tape_new();
    ck_assert_null_msg(tg_npz_load(t, fixture("compressed.npz")),
                       "entry 'w.npy' is compressed (method 8, deflate); "
                       "only stored entries can be read (np.savez, not "
                       "np.savez_compressed)");
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    ck_assert_null_msg(tg_npz_load(t, fixture("has_int.npz")),
                       "has_int.npz' entry 'labels.npy': unsupported dtype "
                       "'<i8'");
    ck_assert_message("tg_npz_load: '");
    /* Only the entry asked for is read. */
    int64_t s2[] = {2};
    assert_ramp(tg_npz_load_entry(t, fixture("has_int.npz"), "w"), TG_F32,
                1, s2);
    ck_assert_null_msg(tg_npz_load(t, fixture("f8_5.npy")),
                       "f8_5.npy': not a ZIP archive (no end of central "
                       "directory record)");
    ck_assert_null_msg(tg_npz_load(t, "/nonexistent.npz"),
                       "tg_npz_load: '/nonexistent.npz': cannot open");
    ck_assert_int_eq(tg_last_status(), TG_EIO);
    ck_assert_null_msg(tg_npz_load(NULL, "a"), "tg_npz_load: tape is NULL");
    ck_assert_null_msg(tg_npz_load_entry(t, "a", NULL),
                       "tg_npz_load_entry: name is NULL");
    ck_assert_null_msg(tg_npz_parse(t, NULL, 3), "tg_npz_parse: data is "
                       "NULL");
    tg_clear_error();
    ck_assert_null_msg(tg_npz_get(NULL, "a"), "tg_npz_get: archive is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(archives_round_trip)
{
    tg_tape *t = tg_tape_new();
    make_tmp_dir();
    int64_t s234[] = {2, 3, 4}, s5[] = {5};
    const tg_tensor *arrays[] = {ramp(t, TG_F32, 3, s234),
                                 ramp(t, TG_F64, 1, s5),
                                 tg_scalar(t, TG_F32, 0.25)};
    const char *names[] = {"layer1.weight", "b", "\xc3\xa9t\xc3\xa9"};
    const char *path = tmp_path("m.npz");
    ck_assert_int_eq(tg_npz_save(path, 3, names, arrays), TG_OK);
    const tg_npz *z = tg_npz_load(t, path);
    ck_assert_msg(z != NULL, "%s", tg_last_error());
    ck_assert_int_eq(z->n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(z->names[i], names[i]);
    assert_ramp(z->arrays[0], TG_F32, 3, s234);
    assert_ramp(z->arrays[1], TG_F64, 1, s5);
    ck_assert(tg_item(tg_npz_get(z, "\xc3\xa9t\xc3\xa9")) == 0.25);
    assert_ramp(tg_npz_load_entry(t, path, "b"), TG_F64, 1, s5);
    /* No arrays at all is an empty archive, as np.savez writes one. */
    const char *empty = tmp_path("e.npz");
    ck_assert_int_eq(tg_npz_save(empty, 0, NULL, NULL), TG_OK);
    size_t na, nb;
    unsigned char *a = slurp(empty, &na), *b = slurp(fixture("empty.npz"),
                                                       &nb);
    assert_same_bytes(a, na, b, nb);
    free(a);
    free(b);
    ck_assert_int_eq(tg_npz_load(t, empty)->n, 0);
    const char *files[] = {"m.npz", "e.npz"};
    remove_tmp_dir(files, 2);
    tg_tape_free(t);
}
END_TEST

START_TEST(save_npz_checks_arguments)
{
    tg_tape *t = tg_tape_new();
    const tg_tensor *x[] = {tg_scalar(t, TG_F32, 1), tg_scalar(t, TG_F32, 2)};
    const char *dup[] = {"a", "a"}, *blank[] = {"a", ""},
               *null[] = {"a", NULL};
    ck_assert_status(tg_npz_save("m.npz", 2, dup, x), TG_EINVAL,
                     "tg_npz_save: name 'a' is given twice");
    ck_assert_status(tg_npz_save("m.npz", 2, blank, x), TG_EINVAL,
                     "tg_npz_save: name 1 is empty");
    ck_assert_status(tg_npz_save("m.npz", 2, null, x), TG_EINVAL,
                     "tg_npz_save: name 1 is NULL");
    ck_assert_status(tg_npz_save("m.npz", -1, dup, x), TG_EINVAL,
                     "tg_npz_save: n must be in 0..65535");
    ck_assert_status(tg_npz_save(NULL, 2, dup, x), TG_EINVAL,
                     "tg_npz_save: path is NULL");
    ck_assert_status(tg_npz_save("m.npz", 2, NULL, x), TG_EINVAL,
                     "tg_npz_save: names or arrays is NULL");
    const tg_tensor *bad[] = {x[0], NULL};
    const char *ab[] = {"a", "b"};
    tg_clear_error();
    ck_assert_status(tg_npz_save("m.npz", 2, ab, bad), TG_EINVAL,
                     "tg_npz_save: tensor is NULL");
    ck_assert_status(tg_npz_save("/nonexistent/m.npz", 2, ab, x), TG_EIO,
                     "tg_npz_save: cannot write '/nonexistent/m.npz'");
    tg_tape_free(t);
}
END_TEST

/* model.npz in memory, to be broken in one place by each case. */
static unsigned char *model;
static size_t model_size;

/* Offsets in model.npz (as np.savez writes it: local header, name, ZIP64
 * extra field of 20 bytes, data; then the central directory). */
static size_t find(const unsigned char *buf, size_t n, const char *sig)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(buf + i, sig, 4) == 0)
            return i;
    ck_abort_msg("signature not found");
    return 0;
}

static void assert_model_refused(tg_tape *t, const unsigned char *buf,
                                 size_t n, const char *frag)
{
    tg_clear_error();
    ck_assert_null_msg(tg_npz_parse(t, buf, n), frag);
    ck_assert_msg(tg_last_status() == TG_EFORMAT, "status %d: %s",
                  tg_last_status(), tg_last_error());
    ck_assert_message("tg_npz_parse: buffer");
}

START_TEST(refuses_corrupt_archives)
{
    tg_tape *t = tg_tape_new();
    model = slurp(fixture("model.npz"), &model_size);
    unsigned char *b = malloc(model_size);
    size_t n = model_size;
    size_t cd = find(model, n, "PK\x01\x02"), end = n - 22;
    size_t data0 = 30 + 5 + 20;   /* "w.npy", then the ZIP64 extra field */
#define RESET() memcpy(b, model, n)
    RESET();
    ck_assert_ptr_nonnull(tg_npz_parse(t, b, n));
    b[data0 + 130] ^= 1;   /* a value of w */
    assert_model_refused(t, b, n, "buffer entry 'w.npy': CRC-32 mismatch");
    RESET();
    b[cd + 10] = 8;        /* method: deflate */
    assert_model_refused(t, b, n, "entry 'w.npy' is compressed");
    RESET();
    b[cd + 8] = 1;         /* flags: encrypted */
    assert_model_refused(t, b, n, "entry 'w.npy' is encrypted");
    RESET();
    b[cd + 24] ^= 0x40;    /* uncompressed size */
    assert_model_refused(t, b, n, "is stored but its sizes differ");
    RESET();
    b[cd + 20] += 2;       /* both sizes: past the next entry's header */
    b[cd + 24] += 2;
    assert_model_refused(t, b, n, "buffer entry 'w.npy': ");
    RESET();
    b[cd + 21] += 4;       /* both sizes + 1024: past the directory */
    b[cd + 25] += 4;
    assert_model_refused(t, b, n, "entry 'w.npy': its ");
    ck_assert_message("run past the central directory");
    RESET();
    b[0] = 'Q';            /* local header signature */
    assert_model_refused(t, b, n, "entry 'w.npy': bad local header at "
                         "offset 0");
    RESET();
    b[30] = 'v';           /* the local name */
    assert_model_refused(t, b, n, "the local header names another file");
    RESET();
    b[cd + 46 + 2] = 'x';  /* "w.xpy" in the directory and locally */
    b[32] = 'x';
    assert_model_refused(t, b, n, "entry 'w.xpy' is not a .npy file");
    RESET();
    b[cd + 46] = 0;        /* a NUL in the name */
    assert_model_refused(t, b, n, "an entry name is empty or holds a NUL");
    RESET();
    b[end + 16] ^= 1;      /* the directory's offset */
    assert_model_refused(t, b, n, "the central directory (");
    ck_assert_message("does not end where the end record starts");
    RESET();
    b[end + 10] = 2;       /* two entries where there are three */
    b[end + 8] = 2;
    assert_model_refused(t, b, n, "bytes more than its 2 records");
    RESET();
    b[end + 10] = 4;       /* four entries where there are three */
    b[end + 8] = 4;
    assert_model_refused(t, b, n, "bad central directory record at offset");
    RESET();
    b[end + 4] = 1;        /* another disk */
    assert_model_refused(t, b, n, "multi-disk ZIP archives are not "
                         "supported");
    RESET();
    /* Saturated counts without a ZIP64 locator are taken as they are (as
     * Python's zipfile does): 65,535 entries cannot fit in the directory. */
    memset(b + end + 8, 0xff, 4);
    assert_model_refused(t, b, n, "the archive claims 65535 entries in a "
                         "central directory of");
    RESET();
    b[end + 20] = 1;       /* a comment longer than what is there */
    assert_model_refused(t, b, n, "no end of central directory record");
    RESET();
    assert_model_refused(t, b, end - 1, "no end of central directory");
    assert_model_refused(t, b, 21, "not a ZIP archive (21 bytes is too "
                         "short)");
    RESET();
    /* The second entry renamed to the first's name. */
    size_t cd2 = cd + 46 + 5;
    b[cd2 + 46] = 'w';
    size_t local2 = find(b + 1, n - 1, "PK\x03\x04") + 1;
    b[local2 + 30] = 'w';
    assert_model_refused(t, b, n, "entry 'w.npy' appears twice");
#undef RESET
    free(b);
    free(model);
    tg_tape_free(t);
}
END_TEST

/* Put v in 4 or 8 bytes, least significant first. */
static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

START_TEST(reads_zip64_sizes)
{
    /* The first entry of model.npz alone, its directory record giving
     * the sizes in a ZIP64 extra field, as archives past 4 GiB do. */
    tg_tape *t = tg_tape_new();
    size_t n;
    unsigned char *m = slurp(fixture("model.npz"), &n);
    size_t cd = find(m, n, "PK\x01\x02"), entry = 30 + 5 + 20 + 152;
    unsigned char b[512];
    memcpy(b, m, entry);
    unsigned char *r = b + entry;
    memcpy(r, m + cd, 46 + 5);
    put_le(r + 20, 0xffffffffu, 4);
    put_le(r + 24, 0xffffffffu, 4);
    put_le(r + 30, 20, 2);
    unsigned char *x = r + 46 + 5;
    put_le(x, 1, 2);
    put_le(x + 2, 16, 2);
    put_le(x + 4, 152, 8);
    put_le(x + 12, 152, 8);
    unsigned char *e = x + 20;
    memcpy(e, "PK\x05\x06\0\0\0\0\x01\0\x01\0", 12);
    put_le(e + 12, 46 + 5 + 20, 4);
    put_le(e + 16, entry, 4);
    put_le(e + 20, 0, 2);
    size_t size = (size_t)(e + 22 - b);
    const tg_npz *z = tg_npz_parse(t, b, size);
    ck_assert_msg(z != NULL, "%s", tg_last_error());
    int64_t s23[] = {2, 3};
    assert_ramp(tg_npz_get(z, "w"), TG_F32, 2, s23);
    put_le(x + 2, 8, 2);           /* room for one size of the two */
    assert_model_refused(t, b, size, "entry 'w.npy': short ZIP64 extra "
                         "field");
    put_le(x, 2, 2);               /* not tag 1 */
    put_le(x + 2, 16, 2);
    assert_model_refused(t, b, size, "ZIP64 sizes without a ZIP64 extra "
                         "field");
    put_le(x + 2, 17, 2);          /* longer than the extra area */
    assert_model_refused(t, b, size, "entry 'w.npy': malformed extra field");
    free(m);
    tg_tape_free(t);
}
END_TEST

/* ---- out of memory */

/* Run call with the k-th allocation failing, for k = 1, 2, ... until it
 * succeeds; each failure must be TG_ENOMEM (and leak nothing, which the
 * test's teardown checks). */
#define ASSERT_OOM_SAFE(setup, call, ok)                                     \
    for (long k = 1;; k++) {                                                 \
        setup;                                                               \
        tg_test_fail_after(k);                                               \
        call;                                                                \
        tg_test_fail_after(-1);                                              \
        if (ok)                                                              \
            break;                                                           \
        ck_assert_msg(tg_last_status() == TG_ENOMEM, "k = %ld: %s", k,      \
                      tg_last_error());                                      \
        ck_assert_message("out of memory");                                  \
        ck_assert_int_lt(k, 100);                                            \
    }

START_TEST(out_of_memory_is_reported)
{
    make_tmp_dir();
    tg_tape *t = NULL;
    tg_tensor *x = NULL;
    const tg_npz *z = NULL;
    int rc = TG_OK;
    ASSERT_OOM_SAFE((tg_tape_free(t), t = tg_tape_new()),
                    x = tg_npy_load(t, fixture("f4_2x3x4.npy")), x != NULL);
    ASSERT_OOM_SAFE((tg_tape_free(t), t = tg_tape_new()),
                    z = tg_npz_load(t, fixture("model.npz")), z != NULL);
    ASSERT_OOM_SAFE((tg_tape_free(t), t = tg_tape_new()),
                    x = tg_npz_load_entry(t, fixture("model.npz"), "b"),
                    x != NULL);
    const tg_tensor *arrays[] = {x, x};
    const char *names[] = {"p", "q"};
    ASSERT_OOM_SAFE((void)0, rc = tg_npz_save(tmp_path("o.npz"), 2, names,
                                              arrays), rc == TG_OK);
    ASSERT_OOM_SAFE((void)0, rc = tg_npy_save(tmp_path("o.npy"), x),
                    rc == TG_OK);
    tg_tape_free(t);
    const char *files[] = {"o.npz", "o.npy"};
    remove_tmp_dir(files, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tg_test_tcase("read_numpy");
    tcase_add_test(tc, reads_numpy_files);
    tcase_add_test(tc, reads_special_values_bit_for_bit);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("write_numpy");
    tcase_add_test(tc, writes_numpy_bytes);
    tcase_add_test(tc, round_trips);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("refuse");
    tcase_add_test(tc, refuses_unsupported_numpy_files);
    tcase_add_test(tc, refuses_malformed_headers);
    tcase_add_test(tc, refuses_malformed_preambles);
    tcase_add_test(tc, reports_bad_arguments_and_paths);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("npz");
    tcase_add_test(tc, reads_numpy_archives);
    tcase_add_test(tc, refuses_unsupported_archives);
    tcase_add_test(tc, archives_round_trip);
    tcase_add_test(tc, save_npz_checks_arguments);
    tcase_add_test(tc, refuses_corrupt_archives);
    tcase_add_test(tc, reads_zip64_sizes);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("out_of_memory");
    tcase_add_test(tc, out_of_memory_is_reported);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
