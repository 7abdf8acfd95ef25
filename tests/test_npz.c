/*
 * test_npz.c — .npz archives (zip files of .npy entries): reading what
 * NumPy's savez wrote (fixtures/npy/), round trips, argument checks, every
 * way a corrupt or unsupported archive is refused, zip64 sizes, and running
 * out of memory while doing it. The helpers are in support/tg_npy_files.h,
 * shared with test_npy.c.
 */
#include "tg_npy_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

START_TEST(archive_out_of_memory_is_reported)
{
    make_tmp_dir();
    tg_tape *t = NULL;
    tg_tensor *x = NULL;
    const tg_npz *z = NULL;
    int rc = TG_OK;
    ASSERT_OOM_SAFE((tg_tape_free(t), t = tg_tape_new()),
                    z = tg_npz_load(t, fixture("model.npz")), z != NULL);
    ASSERT_OOM_SAFE((tg_tape_free(t), t = tg_tape_new()),
                    x = tg_npz_load_entry(t, fixture("model.npz"), "b"),
                    x != NULL);
    const tg_tensor *arrays[] = {x, x};
    const char *names[] = {"p", "q"};
    ASSERT_OOM_SAFE((void)0, rc = tg_npz_save(tmp_path("o.npz"), 2, names,
                                              arrays), rc == TG_OK);
    tg_tape_free(t);
    const char *files[] = {"o.npz"};
    remove_tmp_dir(files, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("npz");
    TCase *tc = tg_test_tcase("npz");
    tcase_add_test(tc, reads_numpy_archives);
    tcase_add_test(tc, refuses_unsupported_archives);
    tcase_add_test(tc, archives_round_trip);
    tcase_add_test(tc, save_npz_checks_arguments);
    tcase_add_test(tc, refuses_corrupt_archives);
    tcase_add_test(tc, reads_zip64_sizes);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("out_of_memory");
    tcase_add_test(tc, archive_out_of_memory_is_reported);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
