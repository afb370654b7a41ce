/* core/log.c — leveled logging to stderr, one line per message, prefixed by the level. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static nnxr_log_level g_level = NNXR_LOG_WARN;

void nnxr_log_set_level(nnxr_log_level level) { g_level = level; }
nnxr_log_level nnxr_log_get_level(void) { return g_level; }

void nnxr_log(nnxr_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    if (level < g_level)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "nnxr: %s: %s\n", names[level], line);
}
