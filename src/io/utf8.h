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

#endif /* TG_IO_UTF8_H */
