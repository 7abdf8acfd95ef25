/*
 * test_files.c — what the readers and writers do with the file system and
 * with file bytes in messages (issue 17, classes 8 and 9): FIFOs, devices,
 * symlinks, permissions, long names, long paths, "" paths, archive names.
 */
#include "tg_test.h"
#include "tapegrad/io.h"
#include "tapegrad/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/tg_test_files.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static const char *in_dir(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static tg_tensor *vec3(tg_tape *t)
{
    return tg_linspace(t, TG_F32, 1, 3, 3);
}

/* Reading a FIFO returns at once (it used to block in fopen). */
START_TEST(fifo_is_refused_without_blocking)
{
    make_dir();
    tg_tape *t = tg_tape_new();
    char fifo[1024];
    snprintf(fifo, sizeof fifo, "%s", in_dir("pipe"));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_null_status(tg_npy_load(t, fifo), TG_EIO,
                          "not a regular file");
    ck_assert_null_status(tg_npz_load(t, fifo), TG_EIO,
                          "not a regular file");
    ck_assert_null_status(tg_npz_load_entry(t, fifo, "a"), TG_EIO,
                          "not a regular file");
    /* Writing to it is refused too, and it stays a FIFO. */
    ck_assert_status(tg_npy_save(fifo, vec3(t)), TG_EIO, "not a regular file");
    struct stat st;
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    tg_tape_free(t);
    remove_dir();
}
END_TEST

/* A device is not replaced (as root, rename would replace /dev/null). */
START_TEST(device_and_directory_targets_are_refused)
{
    tg_tape *t = tg_tape_new();
    ck_assert_status(tg_npy_save("/dev/null", vec3(t)), TG_EIO,
                     "tg_npy_save: cannot write '/dev/null': not a regular "
                     "file");
    struct stat st;
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    ck_assert_status(tg_npz_save("/tmp", 1, (const char *[]){"a"},
                                 (const tg_tensor *[]){vec3(t)}),
                     TG_EIO, "not a regular file");
    tg_tape_free(t);
}
END_TEST

/* Saving through a symlink replaces the file it leads to and keeps the
 * link; the file keeps its permission bits. */
START_TEST(symlinks_are_followed_and_modes_kept)
{
    make_dir();
    tg_tape *t = tg_tape_new();
    char file[1024], link[1024];
    snprintf(file, sizeof file, "%s", in_dir("real.npy"));
    snprintf(link, sizeof link, "%s", in_dir("link.npy"));
    ck_assert_int_eq(tg_npy_save(file, tg_scalar(t, TG_F64, 1)), TG_OK);
    ck_assert_int_eq(chmod(file, 0640), 0);
    ck_assert_int_eq(symlink("real.npy", link), 0);
    ck_assert_int_eq(tg_npy_save(link, vec3(t)), TG_OK);
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert_msg(S_ISLNK(st.st_mode), "the link was replaced by a file");
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    tg_tensor *back = tg_npy_load(t, file);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(tg_numel(back), 3);
    /* Directly, too: the mode is kept, not reset by the umask. */
    ck_assert_int_eq(chmod(file, 0604), 0);
    ck_assert_int_eq(tg_npy_save(file, vec3(t)), TG_OK);
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0604);
    /* A dangling link is refused with the system's reason. */
    ck_assert_int_eq(unlink(file), 0);
    ck_assert_status(tg_npy_save(link, vec3(t)), TG_EIO,
                     "No such file or directory");
    tg_tape_free(t);
    remove_dir();
}
END_TEST

/* A 250-byte file name is legal (NAME_MAX 255): the temporary name must
 * not be longer. */
START_TEST(long_file_names_can_be_saved)
{
    make_dir();
    tg_tape *t = tg_tape_new();
    char name[251];
    memset(name, 'n', 246);
    memcpy(name + 246, ".npy", 5);
    char path[1024];
    snprintf(path, sizeof path, "%s", in_dir(name));
    ck_assert_int_eq(tg_npy_save(path, vec3(t)), TG_OK);
    ck_assert_ptr_nonnull(tg_npy_load(t, path));
    ck_assert_int_eq(tg_npz_save(path, 1, (const char *[]){"a"},
                                 (const tg_tensor *[]){vec3(t)}), TG_OK);
    tg_tape_free(t);
    remove_dir();
}
END_TEST

/* "" is EINVAL for every writer, as tg_json_write, before touching the
 * file system. */
START_TEST(empty_paths_are_einval)
{
    tg_tape *t = tg_tape_new();
    ck_assert_status(tg_npy_save("", vec3(t)), TG_EINVAL,
                     "tg_npy_save: path is empty");
    ck_assert_status(tg_npz_save("", 1, (const char *[]){"a"},
                                 (const tg_tensor *[]){vec3(t)}),
                     TG_EINVAL, "tg_npz_save: path is empty");
    tg_tape_free(t);
}
END_TEST

/* A message cut at 511 bytes keeps the system's reason: the path is
 * shortened in the middle instead. */
START_TEST(long_paths_keep_the_reason)
{
    tg_tape *t = tg_tape_new();
    char path[3000];
    memcpy(path, "/nonexistent-dir/", 17);
    memset(path + 17, 'd', sizeof path - 17 - 8);
    memcpy(path + sizeof path - 8, "/x.npy", 7);
    ck_assert_status(tg_npy_save(path, vec3(t)), TG_EIO,
                     "No such file or directory");
    ck_assert_message("tg_npy_save: cannot write '/nonexistent-dir/ddd");
    ck_assert_message("ddd...ddd");
    ck_assert_message("d/x.npy': No such file or directory");
    ck_assert(strlen(tg_last_error()) <= 511);
    ck_assert_null_status(tg_npy_load(t, path), TG_EIO,
                          "No such file or directory");
    ck_assert_message("tg_npy_load: '/nonexistent-dir/ddd");
    ck_assert_message("ddd...ddd");
    ck_assert_message("d/x.npy': cannot open: No such file or directory");
    ck_assert(strlen(tg_last_error()) <= 511);
    tg_tape_free(t);
}
END_TEST

/* Names with a newline or bytes that are not UTF-8 are escaped in
 * messages; a path too. */
START_TEST(names_and_paths_are_escaped_in_messages)
{
    tg_tape *t = tg_tape_new();
    ck_assert_null_status(tg_npy_load(t, "/nonexistent\n\x01\xff.npy"), TG_EIO,
                          "'/nonexistent\\n\\x01\\xff.npy'");
    ck_assert(strchr(tg_last_error(), '\n') == NULL);
    tg_tape_free(t);
}
END_TEST

/* An array name that is not UTF-8 is refused, as tg_json_write refuses it:
 * the archive would flag it UTF-8 and numpy could not read it. */
START_TEST(npz_names_must_be_utf8)
{
    make_dir();
    tg_tape *t = tg_tape_new();
    char path[1024];
    snprintf(path, sizeof path, "%s", in_dir("a.npz"));
    ck_assert_status(tg_npz_save(path, 2, (const char *[]){"ok", "bad\xff"},
                                 (const tg_tensor *[]){vec3(t), vec3(t)}),
                     TG_EINVAL, "tg_npz_save: name 1 is not valid UTF-8");
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(tg_npz_save(path, 1, (const char *[]){"caf\xc3\xa9"},
                                 (const tg_tensor *[]){vec3(t)}), TG_OK);
    /* The duplicate check names the pair, escaped. */
    ck_assert_status(tg_npz_save(path, 3, (const char *[]){"x\n", "y", "x\n"},
                                 (const tg_tensor *[]){vec3(t), vec3(t),
                                                       vec3(t)}),
                     TG_EINVAL, "name 'x\\n' is given twice (names 0 and 2)");
    /* tg_json_write's duplicate check: the first repeated pair, escaped. */
    snprintf(path, sizeof path, "%s", in_dir("a.json"));
    ck_assert_status(tg_json_write(path, 4, (const char *[]){"a", "x\n",
                                                            "b", "x\n"},
                                   (const tg_tensor *[]){vec3(t), vec3(t),
                                                         vec3(t), vec3(t)}),
                     TG_EINVAL, "names[1] and names[3] are both \"x\\n\"");
    tg_tape_free(t);
    remove_dir();
}
END_TEST

/* tg_npz_load_entry(path, "") is ENOTFOUND, even when the archive has an
 * entry that is not a .npy file (its array name is "" too). */
START_TEST(npz_empty_entry_name_is_not_found)
{
    make_dir();
    tg_tape *t = tg_tape_new();
    char path[1024];
    snprintf(path, sizeof path, "%s", in_dir("a.npz"));
    ck_assert_int_eq(tg_npz_save(path, 2, (const char *[]){"readme", "w"},
                                 (const tg_tensor *[]){vec3(t), vec3(t)}),
                     TG_OK);
    /* Rename the entry readme.npy to readme.txt, in both of its headers. */
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    int renamed = 0;
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(buf + i, "readme.npy", 10) == 0) {
            memcpy(buf + i + 7, "txt", 3);
            renamed++;
        }
    ck_assert_int_eq(renamed, 2);
    rewind(f);
    ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
    ck_assert_null_status(tg_npz_load_entry(t, path, ""), TG_ENOTFOUND,
                          "tg_npz_load_entry: ");
    ck_assert_message("no array named ''");
    ck_assert_ptr_nonnull(tg_npz_load_entry(t, path, "w"));
    tg_tape_free(t);
    remove_dir();
}
END_TEST

/* 65,534 entries (the most without ZIP64) load in well under a second:
 * the duplicate-name check sorts instead of comparing every pair (2.1
 * billion comparisons, 4.3 s before). */
START_TEST(npz_many_entries_load_fast)
{
    make_dir();
    enum { N = 65534 };
    tg_tape *t = tg_tape_new();
    char (*names)[16] = malloc(N * sizeof *names);
    const char **np = malloc(N * sizeof *np);
    const tg_tensor **arrays = malloc(N * sizeof *arrays);
    tg_tensor *x = tg_scalar(t, TG_F32, 1);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "a%d", i);
        np[i] = names[i];
        arrays[i] = x;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s", in_dir("many.npz"));
    ck_assert_int_eq(tg_npz_save(path, N, np, arrays), TG_OK);
    clock_t start = clock();
    const tg_npz *z = tg_npz_load(t, path);
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    ck_assert_ptr_nonnull(z);
    ck_assert_ptr_nonnull(tg_npz_get(z, "a65533"));
    /* Under valgrind everything is ~50 times slower: the bound is only
     * for native runs. */
    if (getenv("TG_VALGRIND") == NULL)
        ck_assert_msg(secs < 1.0, "loading %d entries took %.2f s", N, secs);
    printf("# loading %d entries took %.3f s\n", N, secs);
    free(names);
    free(np);
    free(arrays);
    tg_tape_free(t);
    remove_dir();
}
END_TEST

/* An .npy file of version 1.0 whose header is dict (padded with spaces and
 * a newline to 128 bytes), and 4 bytes of data; its size in *n. */
static unsigned char *npy_with(const char *dict, size_t dict_len, size_t *n)
{
    static unsigned char buf[132];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(buf + 10, dict, dict_len);
    buf[127] = '\n';
    memset(buf + 128, 0, 4);
    *n = sizeof buf;
    return buf;
}

/* The parser's messages show what the file has (issue 17, class 8). */
START_TEST(npy_messages_show_the_file_bytes)
{
    tg_tape *t = tg_tape_new();
    size_t n;
    static const char nul_dtype[] =
        "{'descr': '<f4\0', 'fortran_order': False, 'shape': (1,), }";
    const unsigned char *b = npy_with(nul_dtype, sizeof nul_dtype - 1, &n);
    ck_assert_null_status(tg_npy_parse(t, b, n), TG_EFORMAT,
                          "unsupported dtype '<f4\\x00'");
    static const char hex[] =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (0x1,), }";
    b = npy_with(hex, sizeof hex - 1, &n);
    ck_assert_null_status(tg_npy_parse(t, b, n), TG_EFORMAT,
                          "expected a decimal dimension");
    ck_assert(strstr(tg_last_error(), "is 0") == NULL);
    static const char ok[] =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1L,), }";
    b = npy_with(ok, sizeof ok - 1, &n);
    ck_assert_ptr_nonnull(tg_npy_parse(t, b, n));
    tg_tape_free(t);
}
END_TEST

/* 65,535 arrays, the most tg_npz_save takes: the count needs the ZIP64
 * end record, which is written and read (it used to be refused). */
START_TEST(npz_65535_entries_round_trip)
{
    make_dir();
    enum { N = 65535 };
    tg_tape *t = tg_tape_new();
    char (*names)[16] = malloc(N * sizeof *names);
    const char **np = malloc(N * sizeof *np);
    const tg_tensor **arrays = malloc(N * sizeof *arrays);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "w%d", i);
        np[i] = names[i];
        arrays[i] = tg_scalar(t, TG_F64, i);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s", in_dir("max.npz"));
    ck_assert_int_eq(tg_npz_save(path, N, np, arrays), TG_OK);
    const tg_npz *z = tg_npz_load(t, path);
    ck_assert_msg(z != NULL, "%s", tg_last_error());
    ck_assert_int_eq(z->n, N);
    ck_assert_str_eq(z->names[N - 1], "w65534");
    ck_assert(tg_item(z->arrays[N - 1]) == 65534.0);
    tg_tensor *one = tg_npz_load_entry(t, path, "w40000");
    ck_assert_ptr_nonnull(one);
    ck_assert(tg_item(one) == 40000.0);
    free(names);
    free(np);
    free(arrays);
    tg_tape_free(t);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tg_test_tcase("targets");
    tcase_add_test(tc, fifo_is_refused_without_blocking);
    tcase_add_test(tc, device_and_directory_targets_are_refused);
    tcase_add_test(tc, symlinks_are_followed_and_modes_kept);
    tcase_add_test(tc, long_file_names_can_be_saved);
    tcase_add_test(tc, empty_paths_are_einval);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("messages");
    tcase_add_test(tc, long_paths_keep_the_reason);
    tcase_add_test(tc, names_and_paths_are_escaped_in_messages);
    tcase_add_test(tc, npz_names_must_be_utf8);
    tcase_add_test(tc, npz_empty_entry_name_is_not_found);
    tcase_add_test(tc, npz_many_entries_load_fast);
    tcase_add_test(tc, npz_65535_entries_round_trip);
    tcase_add_test(tc, npy_messages_show_the_file_bytes);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
