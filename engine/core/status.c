/* core/status.c — formatting of nnxr_error messages. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool nnxr_fail(nnxr_error *err, const char *fmt, ...)
{
    if (!err)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

bool nnxr_fail_prefix(nnxr_error *err, const char *fmt, ...)
{
    if (!err)
        return false;
    char prefix[NNXR_ERROR_MAX];
    char old[NNXR_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    /* Truncation of a very long chain of context is acceptable; the start matters most. */
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t rest = sizeof err->message - n - 3;
    size_t ol = strlen(old);
    if (ol > rest)
        ol = rest;
    memcpy(err->message + n + 2, old, ol);
    err->message[n + 2 + ol] = '\0';
    return false;
}

void nnxr_error_clear(nnxr_error *err)
{
    if (err)
        err->message[0] = '\0';
}
