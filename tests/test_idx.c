/*
 * test_idx.c — IDX files (MNIST's format), written here byte by byte:
 * every type code, labels, and every way a file can lie.
 */
#include "tg_test.h"

#include <stdint.h>

/* An IDX file in buf: magic (type, ndim), dims, then the value bytes. */
static size_t make_idx(unsigned char *buf, unsigned type, int ndim,
                       const uint32_t *dims, const void *values,
                       size_t n_bytes)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++)
            buf[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    memcpy(buf + 4 + 4 * ndim, values, n_bytes);
    return 4 + 4 * (size_t)ndim + n_bytes;
}

static unsigned char buf[1024];

START_TEST(parses_ubyte_images)
{
    tg_tape *t = tg_tape_new();
    uint32_t dims[] = {2, 2, 3};
    unsigned char px[12] = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
    size_t n = make_idx(buf, 0x08, 3, dims, px, 12);
    tg_tensor *x = tg_idx_parse(t, buf, n, TG_F32, 1.0 / 255);
    ck_assert_msg(x != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_ndim(x), 3);
    ck_assert_int_eq(tg_shape(x)[0], 2);
    ck_assert_int_eq(tg_shape(x)[1], 2);
    ck_assert_int_eq(tg_shape(x)[2], 3);
    for (int i = 0; i < 12; i++)
        ck_assert(tg_data_f32(x)[i] == (float)(px[i] * (1.0 / 255)));
    ck_assert(tg_data_f32(x)[11] == 1.0f);
    tg_tensor *raw = tg_idx_parse(t, buf, n, TG_F64, 1.0);
    for (int i = 0; i < 12; i++)
        ck_assert(tg_data_f64(raw)[i] == px[i]);
    tg_tape_free(t);
}
END_TEST

START_TEST(parses_every_type)
{
    tg_tape *t = tg_tape_new();
    uint32_t three[] = {3};
    unsigned char sb[3] = {0x80, 0xff, 0x7f};
    tg_tensor *x = tg_idx_parse(t, buf, make_idx(buf, 0x09, 1, three, sb, 3),
                                TG_F64, 1.0);
    ck_assert(tg_data_f64(x)[0] == -128 && tg_data_f64(x)[1] == -1 &&
              tg_data_f64(x)[2] == 127);
    unsigned char sh[6] = {0x80, 0x00, 0xff, 0xfe, 0x12, 0x34};
    x = tg_idx_parse(t, buf, make_idx(buf, 0x0B, 1, three, sh, 6), TG_F64,
                     2.0);
    ck_assert(tg_data_f64(x)[0] == -65536 && tg_data_f64(x)[1] == -4 &&
              tg_data_f64(x)[2] == 2 * 0x1234);
    unsigned char in[12] = {0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                            0x7f, 0xff, 0xff, 0xff};
    x = tg_idx_parse(t, buf, make_idx(buf, 0x0C, 1, three, in, 12), TG_F64,
                     1.0);
    ck_assert(tg_data_f64(x)[0] == -2147483648.0 && tg_data_f64(x)[1] == -1 &&
              tg_data_f64(x)[2] == 2147483647.0);
    /* 1.5f, -0.0f, the smallest float subnormal; big-endian. */
    unsigned char fl[12] = {0x3f, 0xc0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 1};
    x = tg_idx_parse(t, buf, make_idx(buf, 0x0D, 1, three, fl, 12), TG_F32,
                     1.0);
    ck_assert(tg_data_f32(x)[0] == 1.5f);
    ck_assert(tg_data_f32(x)[1] == 0.0f && signbit(tg_data_f32(x)[1]));
    ck_assert(tg_data_f32(x)[2] == 0x1p-149f);
    /* 0.1, -inf; big-endian doubles. */
    uint32_t two[] = {2};
    unsigned char db[16] = {0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,
                            0xff, 0xf0, 0, 0, 0, 0, 0, 0};
    x = tg_idx_parse(t, buf, make_idx(buf, 0x0E, 1, two, db, 16), TG_F64,
                     1.0);
    ck_assert(tg_data_f64(x)[0] == 0.1);
    ck_assert(tg_data_f64(x)[1] == -INFINITY);
    tg_tape_free(t);
}
END_TEST

START_TEST(parses_labels)
{
    tg_tape *t = tg_tape_new();
    uint32_t five[] = {5};
    unsigned char lab[5] = {7, 2, 1, 0, 9};
    int64_t n = -1;
    int64_t *y = tg_idx_parse_labels(t, buf, make_idx(buf, 0x08, 1, five,
                                                      lab, 5), &n);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(y[i], lab[i]);
    uint32_t two[] = {2};
    unsigned char in[8] = {0xff, 0xff, 0xff, 0xfd, 0, 1, 0, 0};
    y = tg_idx_parse_labels(t, buf, make_idx(buf, 0x0C, 1, two, in, 8), &n);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(y[0], -3);
    ck_assert_int_eq(y[1], 65536);
    tg_tape_free(t);
}
END_TEST

/* Parsing these bytes as images and as labels fails with TG_EFORMAT and
 * the fragment. */
static void assert_refused(tg_tape *t, const unsigned char *b, size_t n,
                           const char *frag)
{
    int64_t count = -1;
    tg_clear_error();
    ck_assert_null_msg(tg_idx_parse(t, b, n, TG_F32, 1.0), frag);
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    ck_assert_message("tg_idx_parse: buffer: ");
    ck_assert_null_msg(tg_idx_parse_labels(t, b, n, &count), frag);
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    ck_assert_message("tg_idx_parse_labels: buffer: ");
    ck_assert_int_eq(count, -1);
}

START_TEST(refuses_bad_files)
{
    tg_tape *t = tg_tape_new();
    uint32_t dims[] = {2, 3};
    unsigned char v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n = make_idx(buf, 0x08, 2, dims, v, 6);
    ck_assert_ptr_nonnull(tg_idx_parse(t, buf, n, TG_F32, 1.0));

    buf[0] = 0x1f;         /* gzip's first byte */
    assert_refused(t, buf, n, "bad magic number 0x1f000802 (not an IDX "
                   "file; is it still compressed?)");
    buf[0] = 0;
    buf[1] = 1;
    assert_refused(t, buf, n, "bad magic number 0x00010802");
    buf[1] = 0;
    buf[2] = 0x0a;
    assert_refused(t, buf, n, "unknown type code 0x0a");
    buf[2] = 0x08;
    buf[3] = 0;
    assert_refused(t, buf, n, "0 dimensions; 1 to 8 are supported");
    buf[3] = 9;
    assert_refused(t, buf, n, "9 dimensions; 1 to 8 are supported");
    buf[3] = 2;
    /* Lying lengths: data short by one, one byte too many, dims cut off. */
    assert_refused(t, buf, n - 1, "data is 5 bytes, but the dimensions "
                   "need 6");
    n = make_idx(buf, 0x08, 2, dims, v, 7);
    assert_refused(t, buf, n, "1 bytes of trailing garbage after the data");
    assert_refused(t, buf, 10, "truncated: a dimension needs 4 bytes at "
                   "offset 8, only 2 remain");
    assert_refused(t, buf, 3, "truncated: the magic number needs 4 bytes");
    assert_refused(t, buf, 0, "truncated");
    uint32_t zero[] = {2, 0};
    n = make_idx(buf, 0x08, 2, zero, v, 0);
    assert_refused(t, buf, n, "dimension 1 is 0; tapegrad tensors cannot "
                   "be empty");
    uint32_t huge[] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    n = make_idx(buf, 0x08, 3, huge, v, 8);
    assert_refused(t, buf, n, "the dimensions overflow");
    uint32_t big[] = {0xffffffffu, 0xffffffffu};
    n = make_idx(buf, 0x0E, 2, big, v, 8);
    assert_refused(t, buf, n, "the dimensions overflow");
    n = make_idx(buf, 0x08, 2, big, v, 8);
    if (SIZE_MAX > UINT32_MAX)
        assert_refused(t, buf, n, "data is 8 bytes, but the dimensions "
                       "need 18446744065119617025");
    else
        assert_refused(t, buf, n, "the dimensions overflow");
    tg_tape_free(t);
}
END_TEST

START_TEST(labels_must_be_integer_vectors)
{
    tg_tape *t = tg_tape_new();
    int64_t n = -1;
    uint32_t two[] = {2}, dims[] = {2, 1};
    unsigned char v[8] = {0};
    size_t size = make_idx(buf, 0x0D, 1, two, v, 8);
    ck_assert_null_msg(tg_idx_parse_labels(t, buf, size, &n),
                       "tg_idx_parse_labels: buffer: labels must be a 1-D "
                       "array of integers, not 1-D of type 0x0d");
    ck_assert_int_eq(tg_last_status(), TG_EFORMAT);
    size = make_idx(buf, 0x08, 2, dims, v, 2);
    ck_assert_null_msg(tg_idx_parse_labels(t, buf, size, &n),
                       "not 2-D of type 0x08");
    ck_assert_int_eq(n, -1);
    tg_tape_free(t);
}
END_TEST

START_TEST(reports_bad_arguments)
{
    tg_tape *t = tg_tape_new();
    int64_t n;
    ck_assert_null_msg(tg_idx_parse(NULL, buf, 4, TG_F32, 1.0),
                       "tg_idx_parse: tape is NULL");
    ck_assert_null_msg(tg_idx_parse(t, NULL, 4, TG_F32, 1.0),
                       "tg_idx_parse: data is NULL");
    ck_assert_null_msg(tg_idx_parse(t, buf, 4, (tg_dtype)5, 1.0),
                       "tg_idx_parse: unknown dtype");
    ck_assert_null_msg(tg_idx_parse(t, buf, 4, TG_F32, NAN),
                       "tg_idx_parse: scale is not finite");
    ck_assert_int_eq(tg_last_status(), TG_EINVAL);
    ck_assert_null_msg(tg_idx_parse_labels(t, buf, 4, NULL),
                       "tg_idx_parse_labels: n is NULL");
    ck_assert_null_msg(tg_idx_parse_labels(NULL, buf, 4, &n),
                       "tg_idx_parse_labels: tape is NULL");
    ck_assert_null_msg(tg_idx_parse_labels(t, NULL, 4, &n),
                       "tg_idx_parse_labels: data is NULL");
    tg_tape_free(t);
}
END_TEST

START_TEST(out_of_memory_is_reported)
{
    tg_tape *t = tg_tape_new();
    uint32_t dims[] = {3};
    unsigned char v[3] = {1, 2, 3};
    size_t size = make_idx(buf, 0x08, 1, dims, v, 3);
    int64_t n = -1;
    tg_test_fail_after(1);
    ck_assert_null_msg(tg_idx_parse(t, buf, size, TG_F32, 1.0),
                       "tg_idx_parse: buffer: out of memory for 3 values");
    ck_assert_int_eq(tg_last_status(), TG_ENOMEM);
    ck_assert_null_msg(tg_idx_parse_labels(t, buf, size, &n),
                       "tg_idx_parse_labels: buffer: out of memory for 3 "
                       "labels");
    ck_assert_int_eq(tg_last_status(), TG_ENOMEM);
    ck_assert_int_eq(n, -1);
    tg_test_fail_after(-1);
    ck_assert_ptr_nonnull(tg_idx_parse_labels(t, buf, size, &n));
    tg_tape_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tg_test_tcase("parse");
    tcase_add_test(tc, parses_ubyte_images);
    tcase_add_test(tc, parses_every_type);
    tcase_add_test(tc, parses_labels);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("refuse");
    tcase_add_test(tc, refuses_bad_files);
    tcase_add_test(tc, labels_must_be_integer_vectors);
    tcase_add_test(tc, reports_bad_arguments);
    tcase_add_test(tc, out_of_memory_is_reported);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
