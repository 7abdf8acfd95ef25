/*
 * utf8.c — reading UTF-8 one code point at a time, strictly (RFC 3629):
 * JSON escapes names by code point and XML text must be well-formed, so a
 * malformed byte has to be seen rather than copied through.
 */
#include "io/utf8.h"

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
