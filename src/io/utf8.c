/*
 * utf8.c — reading UTF-8 one code point at a time, strictly (RFC 3629):
 * JSON escapes names by code point and XML text must be well-formed, so a
 * malformed byte has to be seen rather than copied through.
 */
#include "io/utf8.h"

#include <stdio.h>
#include <string.h>

int32_t tg__utf8_next(const char *s, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    int32_t cp;
    size_t len;
    if (p[0] < 0x80) {
        *i += 1;
        return p[0];
    } else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        cp = p[0] & 0x1f;
        len = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        cp = p[0] & 0x0f;
        len = 3;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        cp = p[0] & 0x07;
        len = 4;
    } else {
        *i += 1;
        return -1;
    }
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80) {   /* also stops at the NUL */
            *i += 1;
            return -1;
        }
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    /* Overlong three- and four-byte forms, surrogates, beyond U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        *i += 1;
        return -1;
    }
    *i += len;
    return cp;
}

bool tg__utf8_valid(const char *s)
{
    size_t i = 0;
    while (s[i] != '\0')
        if (tg__utf8_next(s, &i) < 0)
            return false;
    return true;
}

/* The escape for one unprintable byte or code point, into e (>= 11 bytes). */
static void escape_one(int32_t c, unsigned char byte, char *e)
{
    if (c == '\\')
        snprintf(e, 11, "\\\\");
    else if (c == '\n')
        snprintf(e, 11, "\\n");
    else if (c == '\r')
        snprintf(e, 11, "\\r");
    else if (c == '\t')
        snprintf(e, 11, "\\t");
    else if (c < 0 || c < 0x80) /* a malformed byte, or a control */
        snprintf(e, 11, "\\x%02x", byte);
    else
        snprintf(e, 11, "\\u%04x", (unsigned)c);
}

size_t tg__escape_text(const char *s, char *buf, size_t n)
{
    size_t len = 0, i = 0;
    if (n == 0)
        return 0;
    while (s[i] != '\0') {
        size_t start = i;
        int32_t c = tg__utf8_next(s, &i);
        char e[11];
        const char *piece = s + start;
        size_t k = i - start;
        if (c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c < 0xa0) ||
            c == 0x2028 || c == 0x2029) {
            escape_one(c, (unsigned char)s[start], e);
            piece = e;
            k = strlen(e);
        }
        if (len + k >= n)
            break;
        memcpy(buf + len, piece, k);
        len += k;
    }
    buf[len] = '\0';
    return len;
}
