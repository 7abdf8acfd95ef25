/*
 * json.c — tensors as the JSON Python's json.dump(obj, f, indent=4) writes
 * for a dict of lists of floats, byte for byte:
 *
 *     {
 *         "x": [
 *             -2.0,
 *             -1.9959959983825684
 *         ],
 *         "y": [
 *             NaN
 *         ]
 *     }
 *
 * with no newline after the last brace. Numbers are repr(float) (see
 * format.c); NaN and the infinities are written NaN, Infinity and -Infinity
 * as Python does (JSON itself has no such numbers, but Python, JavaScript's
 * JSON5 readers and most tools accept them). Names are escaped as with
 * ensure_ascii=True: quote, backslash and the control characters \b \f \n
 * \r \t by name, every other character outside ' '..'~' as \uXXXX (two
 * surrogates above U+FFFF).
 */
#include "tapegrad/io.h"

#include "io/atomic_file.h"
#include "io/names.h"
#include "io/utf8.h"
#include "tensor/tensor_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FN "tg_json_write"

/* Names must be well-formed UTF-8 (a Python str) and distinct (a dict). */
static int check_names(int n, const char *const *names)
{
    for (int i = 0; i < n; i++) {
        if (names[i] == NULL)
            return tg_set_error(TG_EINVAL, FN ": names[%d] is NULL", i);
        if (!tg__utf8_valid(names[i]))
            return tg_set_error(TG_EINVAL, FN ": names[%d] is not valid "
                                "UTF-8", i);
    }
    int a, b;
    if (tg__find_duplicate(n, names, &a, &b) != TG_OK)
        return tg_set_error(TG_ENOMEM, FN ": out of memory");
    if (a >= 0) {
        char esc[256];   /* a name may hold a newline: escaped */
        tg__escape_text(names[b], esc, sizeof esc);
        return tg_set_error(TG_EINVAL, FN ": names[%d] and names[%d] are "
                            "both \"%s\"", a, b, esc);
    }
    return TG_OK;
}

/* Everything is checked before the file is touched. */
static int check_args(const char *path, int n, const char *const *names,
                      const tg_tensor *const *values)
{
    if (path == NULL || path[0] == '\0')
        return tg_set_error(TG_EINVAL, FN ": path is %s",
                            path == NULL ? "NULL" : "empty");
    if (n < 1)
        return tg_set_error(TG_EINVAL, FN ": n is %d, need at least 1", n);
    if (names == NULL || values == NULL)
        return tg_set_error(TG_EINVAL, FN ": %s is NULL",
                            names == NULL ? "names" : "values");
    int rc = check_names(n, names);
    for (int i = 0; i < n && rc == TG_OK; i++) {
        char what[48];
        snprintf(what, sizeof what, FN ": values[%d]", i);
        rc = tg__check_read(what, values[i]);
    }
    return rc;
}

/* A name as a JSON string, quotes included. */
static int write_string(tg__atomic_file *af, const char *s)
{
    tg__atomic_puts(af, "\"");
    for (size_t i = 0; s[i] != '\0';) {
        size_t start = i;
        int32_t c = tg__utf8_next(s, &i);   /* valid: checked */
        const char *named = c == '"' ? "\\\"" : c == '\\' ? "\\\\" :
                            c == '\b' ? "\\b" : c == '\f' ? "\\f" :
                            c == '\n' ? "\\n" : c == '\r' ? "\\r" :
                            c == '\t' ? "\\t" : NULL;
        if (named != NULL)
            tg__atomic_puts(af, named);
        else if (c >= ' ' && c <= '~')
            tg__atomic_write(af, s + start, 1);
        else if (c < 0x10000)
            tg__atomic_printf(af, "\\u%04x", (unsigned)c);
        else
            tg__atomic_printf(af, "\\u%04x\\u%04x",
                              (unsigned)(0xd800 + ((c - 0x10000) >> 10)),
                              (unsigned)(0xdc00 + ((c - 0x10000) & 0x3ff)));
    }
    return tg__atomic_puts(af, "\"");
}

/* One element, as Python's json module writes a float. */
static int format_number(char *buf, double v)
{
    if (isnan(v))
        return (int)(stpcpy(buf, "NaN") - buf);
    if (isinf(v))
        return (int)(stpcpy(buf, v > 0 ? "Infinity" : "-Infinity") - buf);
    return tg_format_double(buf, TG_FLOAT_BUFSIZE, v);
}

/* The list of x's values, one a line at indent 8, closed at indent 4. */
static int write_values(tg__atomic_file *af, const tg_tensor *x)
{
    int64_t n = tg_numel(x);
    if (n == 0)
        return tg__atomic_puts(af, "[]");
    const float *f32 = tg_dtype_of(x) == TG_F32 ? tg_data_f32(x) : NULL;
    const double *f64 = f32 == NULL ? tg_data_f64(x) : NULL;
    char line[TG_FLOAT_BUFSIZE + 16] = "        ";
    tg__atomic_puts(af, "[\n");
    for (int64_t i = 0; i < n; i++) {
        double v = f32 != NULL ? (double)f32[i] : f64[i];
        int len = 8 + format_number(line + 8, v);
        if (i + 1 < n)
            line[len++] = ',';
        line[len++] = '\n';
        if (tg__atomic_write(af, line, (size_t)len) != TG_OK)
            return TG_EIO;
    }
    return tg__atomic_puts(af, "    ]");
}

/* The whole object; stops at the first failed write. */
static int write_object(tg__atomic_file *af, int n, const char *const *names,
                        const tg_tensor *const *values)
{
    tg__atomic_puts(af, "{\n");
    for (int i = 0; i < n; i++) {
        tg__atomic_puts(af, "    ");
        write_string(af, names[i]);
        tg__atomic_puts(af, ": ");
        if (write_values(af, values[i]) != TG_OK)
            return TG_EIO;
        tg__atomic_puts(af, i + 1 < n ? ",\n" : "\n");
    }
    return tg__atomic_puts(af, "}");
}

int tg_json_write(const char *path, int n, const char *const *names,
                  const tg_tensor *const *values)
{
    int rc = check_args(path, n, names, values);
    if (rc != TG_OK)
        return rc;
    tg__atomic_file af;
    rc = tg__atomic_open(&af, FN, path);
    if (rc != TG_OK)
        return rc;
    write_object(&af, n, names, values);
    /* A failed write is remembered in af; commit reports it. */
    return tg__atomic_commit(&af);
}
