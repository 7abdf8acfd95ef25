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

/* The loop of both escapers: s[len] must be readable and NUL (bytes in
 * s before it may be NUL too; they are escaped). */
static size_t escape(const char *s, size_t len, char *buf, size_t n)
{
    size_t out = 0, i = 0;
    if (n == 0)
        return 0;
    while (i < len) {
        size_t start = i;
        int32_t c = s[i] == '\0' ? (i++, 0) : tg__utf8_next(s, &i);
        char e[11];
        const char *piece = s + start;
        size_t k = i - start;
        if (c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c < 0xa0) ||
            c == 0x2028 || c == 0x2029) {
            escape_one(c, (unsigned char)s[start], e);
            piece = e;
            k = strlen(e);
        }
        if (out + k >= n)
            break;
        memcpy(buf + out, piece, k);
        out += k;
    }
    buf[out] = '\0';
    return out;
}

size_t tg__escape_text(const char *s, char *buf, size_t n)
{
    return escape(s, strlen(s), buf, n);
}

size_t tg__escape_bytes(const void *bytes, size_t len, char *buf, size_t n)
{
    char copy[257];   /* NUL-terminated, so decoding stops inside it */
    if (len > sizeof copy - 1)
        len = sizeof copy - 1;
    memcpy(copy, bytes, len);
    copy[len] = '\0';
    return escape(copy, len, buf, n);
}

/* head bytes of esc, "...", and esc from from on, into buf. */
static size_t join_cut(const char *esc, size_t head, size_t from, size_t len,
                       char *buf)
{
    while (head > 0 && ((unsigned char)esc[head] & 0xc0) == 0x80)
        head--;
    while (from < len && ((unsigned char)esc[from] & 0xc0) == 0x80)
        from++;
    memmove(buf, esc, head);
    memcpy(buf + head, "...", 3);
    memmove(buf + head + 3, esc + from, len - from + 1);
    return head + 3 + len - from;
}

void tg__escape_fit(const char *s, size_t room, char *buf, size_t n)
{
    if (n == 0)
        return;
    if (room < 16)
        room = 16;
    if (room > n - 1)
        room = n - 1;
    /* Escape it whole, or for a very long text its start and its end
     * (the escapes are at most 4 bytes a byte, so these fit). */
    char esc[4096], tail[2900];
    size_t raw = strlen(s), len;
    if (raw <= 1000) {
        len = escape(s, raw, esc, sizeof esc);
    } else {
        len = escape(s, 200, esc, 1000);
        size_t from = raw - 700;
        while (((unsigned char)s[from] & 0xc0) == 0x80)
            from++;
        size_t t = escape(s + from, raw - from, tail, sizeof tail);
        memcpy(esc + len, "...", 3);
        memcpy(esc + len + 3, tail, t + 1);
        len += 3 + t;
    }
    if (len <= room) {
        memcpy(buf, esc, len + 1);
        return;
    }
    /* Keep the first third and the end (the file's own name). */
    size_t head = (room - 3) / 3;
    join_cut(esc, head, len - (room - 3 - head), len, esc);
    memcpy(buf, esc, strlen(esc) + 1);
}
