/*
 * error.c — status messages and the thread-local last error.
 */
#include "internal.h"

#include <stdio.h>

static _Thread_local char last_error[512];
static _Thread_local int last_status;

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
    return status;
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
