/*
 * error_internal.h — the library's side of tg_last_error
 * (src/tensor/error.c): setting an error from a va_list, and naming the
 * user's call in front of an error set by a call inside it.
 */
#ifndef TG_TENSOR_ERROR_INTERNAL_H
#define TG_TENSOR_ERROR_INTERNAL_H

#include <stdarg.h>

int tg__verror(int status, const char *fmt, va_list ap);
/*
 * Make the last error name fn, the call the user made, when it was set by
 * a call inside it ("tg_relu: tg_empty_like: out of memory for 1000
 * elements"); unchanged if it already starts with "fn:". Returns the status.
 */
int tg__error_in(const char *fn);
/* How many errors this thread has set so far (to notice a callback that
 * failed without setting one). */
unsigned long tg__error_count(void);

/* The prefix rule for an op's own messages (base.h, tg_set_error): make
 * the last error start with "tg_<name>: " exactly once, whether the op
 * wrote only the detail, "<name>: detail" or "tg_<name>: detail".
 * Returns the last status. */
int tg__error_in_op(const char *name);

#endif /* TG_TENSOR_ERROR_INTERNAL_H */
