/*
 * error.c — status messages and the thread-local last error.
 */
#include "tapegrad/base.h"

#include "tensor/error_internal.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];
static _Thread_local int last_status;
/* Counts the errors set on this thread, so tg_apply and tg_backward can
 * tell whether a user op's function that failed said why. Read on every
 * op call: in the initial-exec model (ELF) it is one load, where the
 * default model of a shared library calls __tls_get_addr. Eight bytes of
 * the static TLS that glibc keeps spare for libraries loaded later. */
#if defined(__GNUC__) && defined(__ELF__)
__attribute__((tls_model("initial-exec")))
#endif
static _Thread_local unsigned long error_count;

const char *tg_strerror(int status)
{
    switch (status) {
#define TG__STATUS_CASE(name, code, text) \
    case code:                            \
        return text;
        TG_STATUS_LIST(TG__STATUS_CASE)
#undef TG__STATUS_CASE
    }
    return "unknown status";
}

const char *tg_last_error(void)
{
    return last_error;
}

int tg_last_status(void)
{
    return last_status;
}

void tg_clear_error(void)
{
    last_error[0] = '\0';
    last_status = TG_OK;
}

int tg__verror(int status, const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    last_status = status;
    error_count++;
    return status;
}

int tg__error_in(const char *fn)
{
    size_t n = strlen(fn);
    if (strncmp(last_error, fn, n) == 0 && last_error[n] == ':')
        return last_status;
    char old[sizeof last_error];
    memcpy(old, last_error, sizeof old);
    return tg_set_error(last_status, "%s: %s", fn, old);
}

int tg__error_in_op(const char *name)
{
    char fn[80];
    snprintf(fn, sizeof fn, "tg_%s", name);
    size_t n = strlen(name);
    if (strncmp(last_error, name, n) == 0 && last_error[n] == ':') {
        /* "name: detail": the op named itself without "tg_". */
        const char *detail = last_error + n + 1;
        detail += *detail == ' ';
        char old[sizeof last_error];
        memcpy(old, detail, strlen(detail) + 1);
        return tg_set_error(last_status, "%s: %s", fn, old);
    }
    return tg__error_in(fn);
}

unsigned long tg__error_count(void)
{
    return error_count;
}

int tg_set_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tg__verror(status, fmt, ap);
    va_end(ap);
    return status;
}

const char *tg_version(void)
{
    return TG_VERSION_STRING;
}
