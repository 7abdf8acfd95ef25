/*
 * utf8.h — UTF-8 decoding (src/io/utf8.c), for escaping text in JSON and
 * XML and for checking names.
 */
#ifndef TG_IO_UTF8_H
#define TG_IO_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decode the code point starting at s[*i] and advance *i past it. Returns
 * -1 (and advances one byte) for a byte that does not start a well-formed
 * sequence: overlong forms, surrogates and values above U+10FFFF included.
 */
int32_t tg__utf8_next(const char *s, size_t *i);

/* Whether s is entirely well-formed UTF-8. */
bool tg__utf8_valid(const char *s);

/*
 * s made safe to print on one line, into buf (n bytes, NUL-terminated,
 * cut only between whole characters): well-formed printable UTF-8 is
 * copied; a backslash becomes \\, newline, return and tab \n \r \t, other
 * control bytes and malformed bytes \xNN, C1 controls and the Unicode line
 * separators \uNNNN. Returns the length written. For names and file bytes
 * in messages, tg_tape_print and tg_tape_dot (docs/errors.md).
 */
size_t tg__escape_text(const char *s, char *buf, size_t n);
/* The same for len bytes that may hold NULs (escaped as \x00), such as a
 * field read from a file; at most the first 256 bytes. */
size_t tg__escape_bytes(const void *bytes, size_t len, char *buf, size_t n);

/*
 * s escaped as tg__escape_text into buf (n bytes), in at most room bytes:
 * a longer text keeps its first third and its end with "..." between them,
 * cut between whole characters. For paths in messages, so that a long
 * path is shortened rather than the system's reason after it.
 */
void tg__escape_fit(const char *s, size_t room, char *buf, size_t n);

#endif /* TG_IO_UTF8_H */
