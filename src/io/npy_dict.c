/*
 * npy_dict.c — parsing a .npy header's dict literal (see npy_dict.h).
 */
#include "io/npy_dict.h"

#include <string.h>

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

/* A position in the header text, and the source for messages. */
typedef struct cursor {
    const char *start, *p, *end;
    const tg__src *s;
} cursor;

static int syntax(const cursor *c, const char *expected)
{
    return tg__src_error(c->s, TG_EFORMAT, "header: expected %s at byte "
                         "%zu of the header", expected,
                         (size_t)(c->p - c->start));
}

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
                             *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consume ch (after spaces) if it comes next. */
static bool eat(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A string in single or double quotes, without escapes. */
static int read_string(cursor *c, const char **str, size_t *len)
{
    skip_space(c);
    if (c->p == c->end || (*c->p != '\'' && *c->p != '"'))
        return syntax(c, "a string");
    char quote = *c->p++;
    const char *begin = c->p;
    while (c->p < c->end && *c->p != quote && *c->p != '\\')
        c->p++;
    if (c->p == c->end || *c->p != quote)
        return syntax(c, "the end of a string");
    *str = begin;
    *len = (size_t)(c->p++ - begin);
    return TG_OK;
}

static bool is_word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_';
}

/* Consume the word w if it comes next (and is not the start of a longer
 * one). */
static bool eat_word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    skip_space(c);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0 ||
        (c->p + n < c->end && is_word_char(c->p[n])))
        return false;
    c->p += n;
    return true;
}

static int read_bool(cursor *c, bool *v)
{
    if (eat_word(c, "True"))
        *v = true;
    else if (eat_word(c, "False"))
        *v = false;
    else
        return syntax(c, "True or False");
    return TG_OK;
}

/* A dimension: a decimal integer (Python 2's "3L" too), at least 1. */
static int read_dim(cursor *c, int i, int64_t *v)
{
    skip_space(c);
    if (c->p < c->end && *c->p == '-')
        return tg__src_error(c->s, TG_EFORMAT, "shape: dimension %d is "
                             "negative", i);
    if (c->p == c->end || *c->p < '0' || *c->p > '9')
        return syntax(c, "a dimension");
    int64_t n = 0;
    const char *first = c->p;
    for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
        if (n > (INT64_MAX - (*c->p - '0')) / 10)
            return tg__src_error(c->s, TG_EFORMAT, "shape: dimension %d "
                                 "overflows 64 bits", i);
        n = n * 10 + (*c->p - '0');
    }
    if (*first == '0' && c->p - first > 1)
        return syntax(c, "a dimension without leading zeros");
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    /* "0x10", "1e3", "3Lx": not the decimal integer NumPy writes (checked
     * before the value, so a hex literal is not reported as a 0). */
    if (c->p < c->end && (is_word_char(*c->p) || *c->p == '.'))
        return syntax(c, "a decimal dimension");
    if (n == 0)
        return tg__src_error(c->s, TG_EFORMAT, "shape: dimension %d is 0; "
                             "tapegrad tensors cannot be empty", i);
    *v = n;
    return TG_OK;
}

/* A tuple of dimensions: (), (5,), (2, 3) or (2, 3,). */
static int read_shape(cursor *c, tg__npy_dict *h)
{
    if (!eat(c, '('))
        return syntax(c, "a tuple");
    h->ndim = 0;
    if (eat(c, ')'))
        return TG_OK;
    for (;;) {
        if (h->ndim == TG_MAX_DIMS)
            return tg__src_error(c->s, TG_EFORMAT, "shape: more than %d "
                                 "dimensions", TG_MAX_DIMS);
        int rc = read_dim(c, h->ndim, &h->shape[h->ndim]);
        if (rc != TG_OK)
            return rc;
        h->ndim++;
        bool comma = eat(c, ',');
        if (eat(c, ')'))
            return comma || h->ndim > 1 ? TG_OK : syntax(c, "',' in (n,)");
        if (!comma)
            return syntax(c, "',' or ')'");
    }
}

/* The KEY_ bit of a key, 0 for one NumPy does not write. */
static unsigned key_bit(const char *key, size_t len)
{
    if (len == 5 && memcmp(key, "descr", 5) == 0)
        return KEY_DESCR;
    if (len == 13 && memcmp(key, "fortran_order", 13) == 0)
        return KEY_FORTRAN;
    if (len == 5 && memcmp(key, "shape", 5) == 0)
        return KEY_SHAPE;
    return 0;
}

/* One "'key': value" of the dict. */
static int read_item(cursor *c, tg__npy_dict *h)
{
    const char *key;
    size_t len;
    int rc = read_string(c, &key, &len);
    if (rc != TG_OK)
        return rc;
    if (!eat(c, ':'))
        return syntax(c, "':'");
    unsigned bit = key_bit(key, len);
    if (bit == 0 || (h->seen & bit))
        return tg__src_error(c->s, TG_EFORMAT, "header: %s key '%.*s'",
                             bit ? "repeated" : "unexpected",
                             (int)(len < 40 ? len : 40), key);
    h->seen |= bit;
    if (bit == KEY_DESCR)
        return read_string(c, &h->descr, &h->descr_len);
    if (bit == KEY_FORTRAN)
        return read_bool(c, &h->fortran_order);
    return read_shape(c, h);
}

/* The dict, each of its three keys once, nothing but spaces after it. */
static int read_dict(cursor *c, tg__npy_dict *h)
{
    if (!eat(c, '{'))
        return syntax(c, "'{'");
    while (!eat(c, '}')) {
        int rc = read_item(c, h);
        if (rc != TG_OK)
            return rc;
        bool comma = eat(c, ',');
        if (eat(c, '}'))
            break;
        if (!comma)
            return syntax(c, "',' or '}'");
    }
    skip_space(c);
    if (c->p != c->end)
        return syntax(c, "nothing after the dict");
    static const char *const names[] = {"'descr'", "'fortran_order'",
                                        "'shape'"};
    for (int k = 0; k < 3; k++)
        if (!(h->seen & (1u << k)))
            return tg__src_error(c->s, TG_EFORMAT, "header lacks %s",
                                 names[k]);
    return TG_OK;
}

int tg__npy_parse_dict(const tg__src *s, const char *text, size_t len,
                       tg__npy_dict *h)
{
    cursor c = {text, text, text + len, s};
    memset(h, 0, sizeof *h);
    return read_dict(&c, h);
}
