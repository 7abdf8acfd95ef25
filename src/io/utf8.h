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

#endif /* TG_IO_UTF8_H */
