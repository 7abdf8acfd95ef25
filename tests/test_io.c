/*
 * test_io.c — floats as Python's repr prints them, JSON as Python's json
 * module writes it, SVG plots, and the files they land in.
 *
 * Run with TG_TEST_LOCALE set (meson's io-locale test sets a locale whose
 * decimal point is a comma), every case must still pass unchanged.
 */
#include "tg_test.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures/repr_table.h"

/* ---- Helpers: a scratch directory and whole files */

/* A new empty directory under $TMPDIR (or /tmp); its path, malloc'd. */
static char *make_dir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *dir = malloc(strlen(base) + 32);
    ck_assert_ptr_nonnull(dir);
    sprintf(dir, "%s/tg_test_io.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

/* dir/name in a static buffer. */
static const char *in_dir(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* How many entries dir holds (not counting . and ..). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Remove dir's files, then dir (it holds no subdirectories but "sub"). */
static void remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        const char *p = in_dir(dir, e->d_name);
        if (remove(p) != 0)
            ck_abort_msg("cannot remove %s: %s", p, strerror(errno));
    }
    closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
    free(dir);
}

/* The whole file, NUL-terminated, malloc'd; NULL if it cannot be read. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    for (size_t got; (got = fread(s + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(s, cap *= 2);
            ck_assert_ptr_nonnull(bigger);
            s = bigger;
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

/* How many times needle occurs in s. */
static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- tg_format_double */

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* repr(v) from the table as tg_format_double writes it. */
START_TEST(format_matches_python_repr_table)
{
    size_t n = sizeof repr_table / sizeof repr_table[0];
    ck_assert_uint_ge(n, 2000);
    for (size_t i = 0; i < n; i++) {
        char buf[TG_FLOAT_BUFSIZE];
        double v = from_bits(repr_table[i].bits);
        int len = tg_format_double(buf, sizeof buf, v);
        ck_assert_msg(strcmp(buf, repr_table[i].repr) == 0,
                      "bits 0x%016llx: got \"%s\", Python says \"%s\"",
                      (unsigned long long)repr_table[i].bits, buf,
                      repr_table[i].repr);
        ck_assert_int_eq(len, (int)strlen(buf));
    }
}
END_TEST

static void check_format(double v, const char *want)
{
    char buf[TG_FLOAT_BUFSIZE];
    int len = tg_format_double(buf, sizeof buf, v);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(len, (int)strlen(want));
}

START_TEST(format_specials_and_layout_edges)
{
    check_format(NAN, "nan");
    check_format(-NAN, "nan");
    check_format(INFINITY, "inf");
    check_format(-INFINITY, "-inf");
    check_format(0.0, "0.0");
    check_format(-0.0, "-0.0");
    check_format(-2.0, "-2.0");
    check_format((double)-1.9959959983825684f, "-1.9959959983825684");
    check_format(0.0001, "0.0001");
    check_format(1e-5, "1e-05");
    check_format(1e16, "1e+16");
    check_format(1.5e16, "1.5e+16");
    check_format(1234567890123456.0, "1234567890123456.0");
    check_format(9999999999999998.0, "9999999999999998.0");
    check_format(1e22, "1e+22");
    check_format(5e-324, "5e-324");
    check_format(-2.2250738585072014e-308, "-2.2250738585072014e-308");
    check_format(1.7976931348623157e308, "1.7976931348623157e+308");
    check_format(0.1 + 0.2, "0.30000000000000004");
    /* 2^-1017: its 16-digit rounding is too low to read back; the next
     * 16-digit decimal up does (the lopsided interval at a power of 2). */
    check_format(ldexp(1, -1017), "7.120236347223045e-307");
}
END_TEST

START_TEST(format_rejects_small_buffer)
{
    char buf[TG_FLOAT_BUFSIZE];
    ck_assert_status(tg_format_double(NULL, sizeof buf, 1.0), TG_EINVAL,
                     "tg_format_double: buffer");
    ck_assert_status(tg_format_double(buf, TG_FLOAT_BUFSIZE - 1, 1.0),
                     TG_EINVAL, "31 bytes, needs at least 32");
}
END_TEST

/* ---- tg_json_write */

/* Write one JSON file in a fresh directory and compare it byte for byte. */
static void check_json(int n, const char *const *names,
                       const tg_tensor *const *values, const char *want)
{
    char *dir = make_dir();
    const char *path = in_dir(dir, "out.json");
    ck_assert_status(tg_json_write(path, n, names, values), TG_OK, "");
    char *got = read_all(path);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
    ck_assert_int_eq(count_entries(dir), 1);   /* no temporary file left */
    remove_dir(dir);
}

START_TEST(json_f64_with_specials)
{
    tg_tape *t = tg_tape_new();
    double v[] = {1.0, -0.0, NAN, INFINITY, -INFINITY, 1e16, 0.1, 5e-324};
    int64_t n = 8;
    const char *names[] = {"a"};
    const tg_tensor *values[] = {tg_from_data(t, TG_F64, 1, &n, v)};
    check_json(1, names, values,
               "{\n    \"a\": [\n        1.0,\n        -0.0,\n        NaN,\n"
               "        Infinity,\n        -Infinity,\n        1e+16,\n"
               "        0.1,\n        5e-324\n    ]\n}");
    tg_tape_free(t);
}
END_TEST

START_TEST(json_f32_2d_flattened_and_scalar)
{
    tg_tape *t = tg_tape_new();
    float m[] = {-1.9959959983825684f, 0.1f, 1e-45f, 3.4028235e38f};
    int64_t shape[] = {2, 2};
    const char *names[] = {"m", "s"};
    const tg_tensor *values[] = {tg_from_data(t, TG_F32, 2, shape, m),
                                 tg_scalar(t, TG_F64, -2.5)};
    check_json(2, names, values,
               "{\n    \"m\": [\n        -1.9959959983825684,\n"
               "        0.10000000149011612,\n        1.401298464324817e-45,\n"
               "        3.4028234663852886e+38\n    ],\n"
               "    \"s\": [\n        -2.5\n    ]\n}");
    tg_tape_free(t);
}
END_TEST

START_TEST(json_escapes_names_as_python)
{
    tg_tape *t = tg_tape_new();
    const char *names[] = {"q\"b\\s/\b\f\n\r\t\x01\x7f \xc3\xa9 \xe2\x88\x82 "
                           "\xf0\x9f\x98\x80"};
    const tg_tensor *values[] = {tg_scalar(t, TG_F32, 0)};
    check_json(1, names, values,
               "{\n    \"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u007f \\u00e9 "
               "\\u2202 \\ud83d\\ude00\": [\n        0.0\n    ]\n}");
    tg_tape_free(t);
}
END_TEST

START_TEST(json_replaces_an_existing_file)
{
    tg_tape *t = tg_tape_new();
    char *dir = make_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir(dir, "out.json"));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("old content that is longer than the new one", f);
    fclose(f);
    const char *names[] = {"x"};
    const tg_tensor *values[] = {tg_scalar(t, TG_F64, 3)};
    ck_assert_status(tg_json_write(path, 1, names, values), TG_OK, "");
    char *got = read_all(path);
    ck_assert_str_eq(got, "{\n    \"x\": [\n        3.0\n    ]\n}");
    free(got);
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
    tg_tape_free(t);
}
END_TEST

START_TEST(json_rejects_bad_arguments)
{
    tg_tape *t = tg_tape_new();
    char *dir = make_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir(dir, "out.json"));
    const tg_tensor *one[] = {tg_scalar(t, TG_F32, 1)};
    const tg_tensor *two[] = {one[0], one[0]};
    const char *name[] = {"x"};
    ck_assert_status(tg_json_write(NULL, 1, name, one), TG_EINVAL,
                     "tg_json_write: path is NULL");
    ck_assert_status(tg_json_write("", 1, name, one), TG_EINVAL,
                     "path is empty");
    ck_assert_status(tg_json_write(path, 0, name, one), TG_EINVAL,
                     "n is 0, need at least 1");
    ck_assert_status(tg_json_write(path, 1, NULL, one), TG_EINVAL,
                     "names is NULL");
    ck_assert_status(tg_json_write(path, 1, name, NULL), TG_EINVAL,
                     "values is NULL");
    const char *null_name[] = {"x", NULL};
    ck_assert_status(tg_json_write(path, 2, null_name, two), TG_EINVAL,
                     "names[1] is NULL");
    const char *bad_utf8[] = {"x\xc3("};
    ck_assert_status(tg_json_write(path, 1, bad_utf8, one), TG_EINVAL,
                     "names[0] is not valid UTF-8");
    const char *same[] = {"x", "x"};
    ck_assert_status(tg_json_write(path, 2, same, two), TG_EINVAL,
                     "names[0] and names[1] are both \"x\"");
    ck_assert_int_eq(count_entries(dir), 0);
    remove_dir(dir);
    tg_tape_free(t);
}
END_TEST

START_TEST(json_null_tensor_keeps_the_first_message)
{
    tg_tape *t = tg_tape_new();
    char *dir = make_dir();
    const char *names[] = {"x", "y"};
    const tg_tensor *values[] = {tg_scalar(t, TG_F32, 1),
                                 tg_linspace(t, TG_F32, 0, 1, 0)};
    ck_assert_status(tg_json_write(in_dir(dir, "a.json"), 2, names, values),
                     TG_EINVAL, "tg_linspace: steps is 0");
    tg_clear_error();
    ck_assert_status(tg_json_write(in_dir(dir, "a.json"), 2, names, values),
                     TG_EINVAL, "tg_json_write: values[1]: tensor is NULL");
    tg_tape_reset(t);   /* values[0] is now freed */
    ck_assert_status(tg_json_write(in_dir(dir, "a.json"), 1, names, values),
                     TG_ESTATE, "values[0]: tensor was freed");
    ck_assert_int_eq(count_entries(dir), 0);
    remove_dir(dir);
    tg_tape_free(t);
}
END_TEST

START_TEST(json_reports_io_errors)
{
    tg_tape *t = tg_tape_new();
    char *dir = make_dir();
    const char *names[] = {"x"};
    const tg_tensor *values[] = {tg_scalar(t, TG_F32, 1)};
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir(dir, "no/such/dir/a.json"));
    ck_assert_status(tg_json_write(path, 1, names, values), TG_EIO,
                     "No such file or directory");
    ck_assert_message("tg_json_write: cannot write '");
    ck_assert_message(path);
    /* A directory is not a regular file: refused before anything is
     * written, and no temporary file is left (issue 17, class 9). */
    snprintf(path, sizeof path, "%s", in_dir(dir, "sub"));
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_status(tg_json_write(path, 1, names, values), TG_EIO,
                     "not a regular file");
    ck_assert_message("tg_json_write: cannot write '");
    ck_assert_message(path);
    ck_assert_int_eq(count_entries(dir), 1);
    ck_assert_int_eq(rmdir(path), 0);
    remove_dir(dir);
    tg_tape_free(t);
}
END_TEST

/*
 * A write that fails half-way (here: the file size limit, as a full disk
 * would) leaves the old file as it was and no temporary file.
 */
START_TEST(json_failed_write_keeps_the_old_file)
{
    tg_tape *t = tg_tape_new();
    char *dir = make_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir(dir, "a.json"));
    const char *names[] = {"x"};
    const tg_tensor *small[] = {tg_scalar(t, TG_F64, 1)};
    ck_assert_status(tg_json_write(path, 1, names, small), TG_OK, "");
    char *before = read_all(path);

    const tg_tensor *big[] = {tg_linspace(t, TG_F64, 0, 1, 20000)};
    struct rlimit old, low;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &low), 0);
    int rc = tg_json_write(path, 1, names, big);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    ck_assert_status(rc, TG_EIO, "File too large");
    ck_assert_message(path);

    char *after = read_all(path);
    ck_assert_str_eq(after, before);
    free(before);
    free(after);
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
    tg_tape_free(t);
}
END_TEST

START_TEST(json_out_of_memory_leaks_nothing)
{
    tg_tape *t = tg_tape_new();
    char *dir = make_dir();
    const char *names[] = {"x"};
    const tg_tensor *values[] = {tg_scalar(t, TG_F32, 1)};
    tg_test_fail_after(1);
    ck_assert_status(tg_json_write(in_dir(dir, "a.json"), 1, names, values),
                     TG_ENOMEM, "tg_json_write: out of memory");
    tg_test_fail_after(-1);
    ck_assert_int_eq(count_entries(dir), 0);
    remove_dir(dir);
    tg_tape_free(t);
}
END_TEST

/* ---- tg_svg_write_plot */

/* Write a plot in a fresh directory; its text, malloc'd. */
static char *svg_of(const tg_plot *plot, const tg_plot_series *s, int n)
{
    char *dir = make_dir();
    const char *path = in_dir(dir, "plot.svg");
    ck_assert_status(tg_svg_write_plot(path, plot, n, s), TG_OK, "");
    char *svg = read_all(path);
    ck_assert_ptr_nonnull(svg);
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
    ck_assert_msg(strncmp(svg, "<?xml", 5) == 0 || strncmp(svg, "<svg", 4) == 0,
                  "starts with \"%.20s\"", svg);
    ck_assert_ptr_nonnull(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    ck_assert_int_eq(count_of(svg, "</svg>"), 1);
    ck_assert_ptr_null(strstr(svg, "nan"));   /* no NaN coordinate */
    ck_assert_ptr_null(strstr(svg, "inf"));
    return svg;
}

/* The seed's picture: relu and its derivative on [-2, 2]. */
START_TEST(svg_seed_plot)
{
    double x[1000], y[1000], yp[1000];
    for (int i = 0; i < 1000; i++) {
        x[i] = -2.0 + 4.0 * i / 999;
        y[i] = x[i] > 0 ? x[i] : 0;
        yp[i] = x[i] > 0 ? 1 : 0;
    }
    tg_plot_series s[] = {{"relu(x)", x, y, 1000, NULL},
                          {"relu'(x)", x, yp, 1000, NULL}};
    tg_plot plot = {"ReLU", "x", "y", 0, 0};
    char *svg = svg_of(&plot, s, 2);
    ck_assert_ptr_nonnull(strstr(svg, "width=\"640\" height=\"420\""));
    ck_assert_ptr_nonnull(strstr(svg, "<title>ReLU</title>"));
    ck_assert_ptr_nonnull(strstr(svg, ">ReLU</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">relu(x)</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">relu&apos;(x)</text>"));
    ck_assert_int_eq(count_of(svg, "<polyline"), 2);
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#1f77b4\""));
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#ff7f0e\""));
    /* Ticks every 0.5 on both axes, with real minus signs. */
    ck_assert_ptr_nonnull(strstr(svg, ">\xe2\x88\x92" "1.5</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">0.5</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">2</text>"));
    free(svg);
}
END_TEST

START_TEST(svg_ticks_are_round_numbers)
{
    double x[] = {0, 1, 2, 3}, y[] = {0, 0.1, 0.2, 0.3};
    tg_plot_series s[] = {{NULL, x, y, 4, "red"}};
    tg_plot plot = {"t", NULL, NULL, 0, 0};
    char *svg = svg_of(&plot, s, 1);
    ck_assert_ptr_nonnull(strstr(svg, ">0.3</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">0.05</text>"));
    ck_assert_ptr_null(strstr(svg, "0000000"));   /* no 0.30000000000000004 */
    ck_assert_ptr_null(strstr(svg, "fill-opacity"));   /* no legend */
    free(svg);
}
END_TEST

START_TEST(svg_escapes_text_and_breaks_lines)
{
    double x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    double y[] = {1, 2, NAN, 1.5, 3, INFINITY, 2.5, NAN, -1};
    tg_plot_series s[] = {{"a<b & \"c\" \x01\xff", x, y, 9, "#123456"},
                          {"empty", NULL, NULL, 0, NULL}};
    tg_plot plot = {"<T> & 'q'", "x < 1", "y > 2", 800, 300};
    char *svg = svg_of(&plot, s, 2);
    ck_assert_ptr_nonnull(strstr(svg, "width=\"800\" height=\"300\""));
    ck_assert_ptr_nonnull(strstr(svg, "&lt;T&gt; &amp; &apos;q&apos;"));
    ck_assert_ptr_nonnull(strstr(svg, ">x &lt; 1</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">y &gt; 2</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">a&lt;b &amp; &quot;c&quot; "
                                      "\xef\xbf\xbd\xef\xbf\xbd</text>"));
    ck_assert_ptr_null(strstr(svg, "<T>"));
    ck_assert_ptr_null(strstr(svg, "\x01"));
    /* Runs (0,1) and (3,4) are lines; 6 and 8 stand alone as dots. */
    ck_assert_int_eq(count_of(svg, "<polyline"), 2);
    ck_assert_int_eq(count_of(svg, "<circle"), 2);
    ck_assert_ptr_nonnull(strstr(svg, ">empty</text>"));
    free(svg);
}
END_TEST

START_TEST(svg_survives_degenerate_data)
{
    double x[] = {NAN, 1, 2}, y[] = {NAN, 5, 5};
    double big_x[] = {-DBL_MAX, DBL_MAX}, big_y[] = {DBL_MAX, -DBL_MAX};
    double tiny[] = {5e-324, 1e-323};
    tg_plot plot = {"d", NULL, NULL, 0, 0};
    tg_plot_series constant[] = {{"c", x, y, 3, NULL}};
    free(svg_of(&plot, constant, 1));
    tg_plot_series none[] = {{"n", x, y, 1, NULL}};
    free(svg_of(&plot, none, 1));
    tg_plot_series huge[] = {{"h", big_x, big_y, 2, NULL}};
    free(svg_of(&plot, huge, 1));
    tg_plot_series sub[] = {{"s", tiny, tiny, 2, NULL}};
    free(svg_of(&plot, sub, 1));
}
END_TEST

START_TEST(svg_rejects_bad_arguments)
{
    char *dir = make_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s", in_dir(dir, "p.svg"));
    double v[] = {1, 2};
    tg_plot_series s[] = {{"a", v, v, 2, NULL}};
    tg_plot plot = {"t", NULL, NULL, 0, 0};
    ck_assert_status(tg_svg_write_plot(NULL, &plot, 1, s), TG_EINVAL,
                     "tg_svg_write_plot: path is NULL");
    ck_assert_status(tg_svg_write_plot(path, NULL, 1, s), TG_EINVAL,
                     "plot is NULL");
    ck_assert_status(tg_svg_write_plot(path, &plot, 1, NULL), TG_EINVAL,
                     "series is NULL");
    ck_assert_status(tg_svg_write_plot(path, &plot, 0, s), TG_EINVAL,
                     "n is 0, need at least 1");
    tg_plot narrow = {"t", NULL, NULL, 100, 0};
    ck_assert_status(tg_svg_write_plot(path, &narrow, 1, s), TG_EINVAL,
                     "width 100 is not 0 or 160 to 20000");
    tg_plot flat = {"t", NULL, NULL, 0, -5};
    ck_assert_status(tg_svg_write_plot(path, &flat, 1, s), TG_EINVAL,
                     "height -5");
    tg_plot_series negative[] = {{"a", v, v, -1, NULL}};
    ck_assert_status(tg_svg_write_plot(path, &plot, 1, negative), TG_EINVAL,
                     "series[0] has -1 points");
    tg_plot_series no_y[] = {s[0], {"b", v, NULL, 2, NULL}};
    ck_assert_status(tg_svg_write_plot(path, &plot, 2, no_y), TG_EINVAL,
                     "series[1].y is NULL");
    ck_assert_int_eq(count_entries(dir), 0);
    remove_dir(dir);
}
END_TEST

START_TEST(svg_reports_io_errors_and_out_of_memory)
{
    char *dir = make_dir();
    double v[] = {1, 2};
    tg_plot_series s[] = {{"a", v, v, 2, NULL}};
    tg_plot plot = {"t", NULL, NULL, 0, 0};
    ck_assert_status(tg_svg_write_plot(in_dir(dir, "none/p.svg"), &plot, 1,
                                       s), TG_EIO,
                     "No such file or directory");
    ck_assert_message("tg_svg_write_plot: cannot write '");
    ck_assert_message("none/p.svg'");
    tg_test_fail_after(1);
    ck_assert_status(tg_svg_write_plot(in_dir(dir, "p.svg"), &plot, 1, s),
                     TG_ENOMEM, "tg_svg_write_plot: out of memory");
    tg_test_fail_after(-1);
    ck_assert_int_eq(count_entries(dir), 0);
    remove_dir(dir);
}
END_TEST

/* Use the locale TG_TEST_LOCALE names for numbers, and check that its
 * decimal point really is not '.', so that the run means something. */
static int use_test_locale(void)
{
    const char *name = getenv("TG_TEST_LOCALE");
    if (name == NULL)
        return 0;
    if (setlocale(LC_NUMERIC, name) == NULL) {
        fprintf(stderr, "test_io: cannot use locale %s (LOCPATH=%s)\n", name,
                getenv("LOCPATH") ? getenv("LOCPATH") : "");
        return -1;
    }
    char buf[16];
    snprintf(buf, sizeof buf, "%.1f", 1.5);
    if (strcmp(buf, "1.5") == 0) {
        fprintf(stderr, "test_io: locale %s writes 1.5 with a '.'\n", name);
        return -1;
    }
    printf("# LC_NUMERIC=%s: printf writes 1.5 as %s\n", name, buf);
    return 0;
}

int main(void)
{
    if (use_test_locale() != 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("io");
    TCase *tc = tg_test_tcase("format");
    tcase_add_test(tc, format_matches_python_repr_table);
    tcase_add_test(tc, format_specials_and_layout_edges);
    tcase_add_test(tc, format_rejects_small_buffer);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("json");
    tcase_add_test(tc, json_f64_with_specials);
    tcase_add_test(tc, json_f32_2d_flattened_and_scalar);
    tcase_add_test(tc, json_escapes_names_as_python);
    tcase_add_test(tc, json_replaces_an_existing_file);
    tcase_add_test(tc, json_rejects_bad_arguments);
    tcase_add_test(tc, json_null_tensor_keeps_the_first_message);
    tcase_add_test(tc, json_reports_io_errors);
    tcase_add_test(tc, json_failed_write_keeps_the_old_file);
    tcase_add_test(tc, json_out_of_memory_leaks_nothing);
    suite_add_tcase(s, tc);
    tc = tg_test_tcase("svg");
    tcase_add_test(tc, svg_seed_plot);
    tcase_add_test(tc, svg_ticks_are_round_numbers);
    tcase_add_test(tc, svg_escapes_text_and_breaks_lines);
    tcase_add_test(tc, svg_survives_degenerate_data);
    tcase_add_test(tc, svg_rejects_bad_arguments);
    tcase_add_test(tc, svg_reports_io_errors_and_out_of_memory);
    suite_add_tcase(s, tc);
    return tg_test_main(s);
}
