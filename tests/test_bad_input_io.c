/*
 * test_bad_input_io.c — bad input: writing files (JSON, SVG), reading and
 * writing model files (npy, npz, idx, checkpoints), looking inside (names,
 * anomaly mode, tg_tape_print). One row per mistake: the status and the
 * message fragment it must give back. tests/support/tg_bad_input.h says how
 * a row is run and what it must leave behind.
 */
#include "tg_bad_input.h"

/* ---- Helpers for rows that take more than one call. */

static int set_name_of_stale(fx *f)
{
    tg_tensor *x = f->a34;
    tg_tape_reset(f->t);
    return tg_set_name(x, "x");
}

/* Anomaly mode: log of a negative number is caught where it happens. */
static int anomaly_log_negative(fx *f)
{
    tg_tape_set_anomaly(f->t, true);
    tg_tensor *y = tg_log(f->t, f->a34);      /* a34 holds -1 .. 1 */
    tg_tape_set_anomaly(f->t, false);
    return ptr(y);
}

/* A name longer than the 63 bytes kept is cut, not overrun. */
static int set_name_long(fx *f)
{
    char name[1000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    int rc = tg_set_name(f->a34, name);
    if (rc != TG_OK)
        return rc;
    return expect(tg_name(f->a34) != NULL && strlen(tg_name(f->a34)) == 63,
                  "a long name is cut to 63 bytes");
}

/* ---- Writing files. */

static int json_one(fx *f, const char *path, const char *name,
                    const tg_tensor *x)
{
    (void)f;
    return tg_json_write(path, 1, (const char *[]){name},
                         (const tg_tensor *[]){x});
}

/* A folder where the file should go: nothing is written, nothing left. */
static int json_onto_folder(fx *f)
{
    char sub[320];
    snprintf(sub, sizeof sub, "%s", in_dir(f, "sub"));
    if (mkdir(sub, 0700) != 0)
        return expect(false, "mkdir of a scratch folder");
    int rc = json_one(f, sub, "x", f->a34);
    if (rmdir(sub) != 0)
        return expect(false, "the folder is left alone and empty");
    return rc;
}

static int json_repeated_name(fx *f)
{
    return tg_json_write(in_dir(f, "a.json"), 2, (const char *[]){"x", "x"},
                         (const tg_tensor *[]){f->a34, f->b5});
}

static int json_stale_tensor(fx *f)
{
    tg_tensor *x = f->b5;
    tg_tape_reset(f->t);
    return json_one(f, in_dir(f, "a.json"), "x", x);
}

static int svg_one(fx *f, const char *path, const tg_plot *plot, int64_t n,
                   const double *x)
{
    (void)f;
    static const double y[3] = {1, 2, 3};
    tg_plot_series s = {.label = "s", .x = x, .y = y, .n = n};
    return tg_svg_write_plot(path, plot, 1, &s);
}

static const double xs3[3] = {0, 1, 2};

/* ---- Reading files. */

static int write_bytes(fx *f, const char *name, const void *p, size_t n)
{
    FILE *fp = fopen(in_dir(f, name), "wb");
    if (fp == NULL || fwrite(p, 1, n, fp) != n)
        return expect(false, "writing a scratch file");
    fclose(fp);
    return TG_OK;
}

/* A .npy file whose header claims far more data than there is. */
static int npy_lying_shape(fx *f)
{
    static const char head[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', "
                               "'fortran_order': False, 'shape': "
                               "(1000000000000, 1000), }";
    char file[128 + 16];
    memset(file, ' ', sizeof file);
    memcpy(file, head, sizeof head - 1);
    file[127] = '\n';
    int rc = write_bytes(f, "lie.npy", file, sizeof file);
    if (rc == TG_OK)
        rc = ptr(tg_npy_load(f->t, f->path));
    unlink(in_dir(f, "lie.npy"));
    return rc;
}

static int npy_parse_garbage(fx *f)
{
    static const char junk[] = "not a numpy file at all";
    return ptr(tg_npy_parse(f->t, junk, sizeof junk));
}

static int npz_get_missing(fx *f)
{
    int rc = tg_npz_save(in_dir(f, "m.npz"), 1, (const char *[]){"w"},
                         (const tg_tensor *[]){f->a34});
    const tg_npz *z = rc == TG_OK ? tg_npz_load(f->t, f->path) : NULL;
    rc = z == NULL ? tg_last_status() : ptr(tg_npz_get(z, "nonesuch"));
    unlink(in_dir(f, "m.npz"));
    return rc;
}

static int npz_entry_missing(fx *f)
{
    int rc = tg_npz_save(in_dir(f, "m.npz"), 1, (const char *[]){"w"},
                         (const tg_tensor *[]){f->a34});
    if (rc == TG_OK)
        rc = ptr(tg_npz_load_entry(f->t, f->path, "b"));
    unlink(in_dir(f, "m.npz"));
    return rc;
}

static int idx_truncated(fx *f)
{
    /* Unsigned bytes, 2 dims of 3 x 4, but only 5 values. */
    static const unsigned char b[] = {0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 4,
                                      1, 2, 3, 4, 5};
    return ptr(tg_idx_parse(f->t, b, sizeof b, TG_F32, 1.0));
}

static int idx_huge_dims(fx *f)
{
    /* 0xFFFFFFFF^3 elements declared, none present. */
    static const unsigned char b[] = {0, 0, 8, 3, 255, 255, 255, 255, 255,
                                      255, 255, 255, 255, 255, 255, 255};
    return ptr(tg_idx_parse(f->t, b, sizeof b, TG_F64, 1.0));
}

static int idx_labels_of_floats(fx *f)
{
    static const unsigned char b[] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    int64_t n = -7;
    int rc = ptr(tg_idx_parse_labels(f->t, b, sizeof b, &n));
    return n == -7 ? rc : expect(false, "n is untouched on error");
}

/* ---- The table: X(id, expected status, message fragment, expression
 * giving the status); the expression sees the fixture as f. */

#define ROWS(X)                                                              \
    /* Writing files. */                                                     \
    X(json_missing_folder, TG_EIO, "No such file or directory",              \
      json_one(f, in_dir(f, "missing/a.json"), "x", f->a34))                 \
    X(json_onto_folder, TG_EIO, "tg_json_write: ", json_onto_folder(f))      \
    X(json_null_path, TG_EINVAL, "tg_json_write: path is NULL",              \
      json_one(f, NULL, "x", f->a34))                                        \
    X(json_empty_path, TG_EINVAL, "tg_json_write: path is empty",            \
      json_one(f, "", "x", f->a34))                                          \
    X(json_no_entries, TG_EINVAL, "tg_json_write: n is 0",                   \
      tg_json_write(in_dir(f, "a.json"), 0, NULL, NULL))                     \
    X(json_null_names, TG_EINVAL, "tg_json_write: names is NULL",            \
      tg_json_write(in_dir(f, "a.json"), 1, NULL,                            \
                    (const tg_tensor *[]){f->a34}))                          \
    X(json_null_name, TG_EINVAL, "tg_json_write: names[0] is NULL",          \
      json_one(f, in_dir(f, "a.json"), NULL, f->a34))                        \
    X(json_bad_utf8_name, TG_EINVAL, "names[0] is not valid UTF-8",          \
      json_one(f, in_dir(f, "a.json"), "\xff\xfe", f->a34))                  \
    X(json_repeated_name, TG_EINVAL, "names[0] and names[1] are both",       \
      json_repeated_name(f))                                                 \
    X(json_null_tensor, TG_EINVAL, "tg_json_write: values[0]: tensor is "    \
      "NULL", json_one(f, in_dir(f, "a.json"), "x", NULL))                   \
    X(json_stale_tensor, TG_ESTATE, "values[0]: tensor was freed by a reset", \
      json_stale_tensor(f))                                                  \
    X(format_double_small_buffer, TG_EINVAL, "tg_format_double: buffer of",  \
      tg_format_double((char[8]){0}, 8, 1.0))                                \
    X(format_double_null_buffer, TG_EINVAL, "tg_format_double: buffer is "   \
      "NULL", tg_format_double(NULL, 64, 1.0))                               \
    X(svg_missing_folder, TG_EIO, "tg_svg_write_plot: ",                     \
      svg_one(f, in_dir(f, "missing/p.svg"), &(tg_plot){.title = "t"}, 3,    \
              xs3))                                                          \
    X(svg_null_plot, TG_EINVAL, "tg_svg_write_plot: plot is NULL",           \
      svg_one(f, in_dir(f, "p.svg"), NULL, 3, xs3))                          \
    X(svg_tiny_width, TG_EINVAL, "tg_svg_write_plot: width 5 is not 0",      \
      svg_one(f, in_dir(f, "p.svg"), &(tg_plot){.width = 5}, 3, xs3))        \
    X(svg_negative_points, TG_EINVAL, "series[0] has -1",                    \
      svg_one(f, in_dir(f, "p.svg"), &(tg_plot){.title = "t"}, -1, xs3))     \
    X(svg_null_x, TG_EINVAL, "series[0].x is NULL",                          \
      svg_one(f, in_dir(f, "p.svg"), &(tg_plot){.title = "t"}, 3, NULL))     \
    X(svg_null_series, TG_EINVAL, "tg_svg_write_plot: series is NULL",       \
      tg_svg_write_plot(in_dir(f, "p.svg"), &(tg_plot){.title = "t"}, 1,     \
                        NULL))                                               \
    /* Reading and writing model files. */                                   \
    X(load_npy_missing_file, TG_EIO, "No such file or directory",            \
      ptr(tg_npy_load(f->t, in_dir(f, "missing.npy"))))                      \
    X(load_npz_missing_file, TG_EIO, "No such file or directory",            \
      ptr(tg_npz_load(f->t, in_dir(f, "missing.npz"))))                      \
    X(load_npz_entry_missing_file, TG_EIO, "No such file or directory",      \
      ptr(tg_npz_load_entry(f->t, in_dir(f, "missing.npz"), "w")))           \
    X(load_npy_folder, TG_EIO, "tg_npy_load: ", ptr(tg_npy_load(f->t,        \
                                                                f->dir)))    \
    X(save_npy_missing_folder, TG_EIO, "No such file or directory",          \
      tg_npy_save(in_dir(f, "missing/w.npy"), f->a34))                       \
    X(save_npz_missing_folder, TG_EIO, "No such file or directory",          \
      tg_npz_save(in_dir(f, "missing/m.npz"), 1, (const char *[]){"w"},      \
                  (const tg_tensor *[]){f->a34}))                            \
    X(save_npy_null_path, TG_EINVAL, "tg_npy_save: path is NULL",            \
      tg_npy_save(NULL, f->a34))                                             \
    X(save_npy_null_tensor, TG_EINVAL, "tensor is NULL",                     \
      tg_npy_save(in_dir(f, "w.npy"), NULL))                                 \
    X(save_npz_repeated_name, TG_EINVAL, "tg_npz_save: name 'w' is given",   \
      tg_npz_save(in_dir(f, "m.npz"), 2, (const char *[]){"w", "w"},         \
                  (const tg_tensor *[]){f->a34, f->b5}))                     \
    X(save_npz_empty_name, TG_EINVAL, "tg_npz_save: name 0 is",              \
      tg_npz_save(in_dir(f, "m.npz"), 1, (const char *[]){""},               \
                  (const tg_tensor *[]){f->a34}))                            \
    X(load_npy_lying_shape, TG_EFORMAT, "tg_npy_load: ", npy_lying_shape(f)) \
    X(npy_parse_garbage, TG_EFORMAT, "tg_npy_parse: ", npy_parse_garbage(f)) \
    X(npy_parse_null, TG_EINVAL, "tg_npy_parse: ",                           \
      ptr(tg_npy_parse(f->t, NULL, 10)))                                     \
    X(npz_get_missing, TG_ENOTFOUND, "tg_npz_get: no array named "           \
      "'nonesuch'", npz_get_missing(f))                                      \
    X(npz_entry_missing, TG_ENOTFOUND, "tg_npz_load_entry: ",                \
      npz_entry_missing(f))                                                  \
    X(idx_truncated, TG_EFORMAT, "tg_idx_parse: ", idx_truncated(f))         \
    X(idx_huge_dims, TG_EFORMAT, "tg_idx_parse: ", idx_huge_dims(f))         \
    X(idx_labels_of_floats, TG_EFORMAT, "tg_idx_parse_labels: ",             \
      idx_labels_of_floats(f))                                               \
    X(idx_null_data, TG_EINVAL, "tg_idx_parse: ",                            \
      ptr(tg_idx_parse(f->t, NULL, 16, TG_F32, 1.0)))                        \
    /* Looking inside. */                                                    \
    X(tape_print_null_file, TG_EINVAL, "tg_tape_print: tape or file is "     \
      "NULL", tg_tape_print(f->t, NULL))                                     \
    X(tape_dot_null_tape, TG_EINVAL, "tg_tape_dot: ",                        \
      tg_tape_dot(NULL, stderr))                                             \
    X(set_name_null, TG_EINVAL, "tg_set_name: name is NULL",                 \
      tg_set_name(f->a34, NULL))                                             \
    X(set_name_long, TG_OK, "", set_name_long(f))                            \
    X(anomaly_log_negative, TG_ENUMERIC, "anomaly: the output of log",       \
      anomaly_log_negative(f))                                               \
    X(set_name_stale, TG_ESTATE, "freed by a reset", set_name_of_stale(f))

TG_BAD_INPUT_TABLE(ROWS)

int main(void)
{
    return tg_bad_input_main("bad_input_io", rows, N_ROWS);
}
