/*
 * test_npy.c — .npy files: reading what NumPy wrote (the files in
 * fixtures/npy/, made by make_npy_fixtures.py), writing what NumPy writes,
 * round trips, every way a file can be refused, and running out of memory
 * while doing it. The .npz archives have their own suite, test_npz.c; the
 * helpers both use are in support/tg_npy_files.h.
 */
#include "tg_npy_files.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

/* ---- out of memory */

START_TEST(out_of_memory_is_reported)
{
    make_tmp_dir();
    tg_tape *t = NULL;
    tg_tensor *x = NULL;
    int rc = TG_OK;
    ASSERT_OOM_SAFE((tg_tape_free(t), t = tg_tape_new()),
                    x = tg_npy_load(t, fixture("f4_2x3x4.npy")), x != NULL);
    ASSERT_OOM_SAFE((void)0, rc = tg_npy_save(tmp_path("o.npy"), x),
                    rc == TG_OK);
    tg_tape_free(t);
    const char *files[] = {"o.npy"};
    remove_tmp_dir(files, 1);
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
    tc = tg_test_tcase("out_of_memory");
    tcase_add_test(tc, out_of_memory_is_reported);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
