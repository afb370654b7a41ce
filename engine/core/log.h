/* core/log.h — leveled logging to stderr. The level and an optional capture hook are process
 * state set once by the app at start (and by tests), never by library code. */
#ifndef NNXR_CORE_LOG_H
#define NNXR_CORE_LOG_H

#include "core/status.h"

typedef enum nnxr_log_level {
    NNXR_LOG_DEBUG = 0,
    NNXR_LOG_INFO = 1,
    NNXR_LOG_WARN = 2,
    NNXR_LOG_ERROR = 3,
} nnxr_log_level;

void nnxr_log(nnxr_log_level level, const char *fmt, ...) NNXR_PRINTF(2, 3);
void nnxr_log_set_level(nnxr_log_level level);
nnxr_log_level nnxr_log_get_level(void);

#define NNXR_DEBUG(...) nnxr_log(NNXR_LOG_DEBUG, __VA_ARGS__)
#define NNXR_INFO(...) nnxr_log(NNXR_LOG_INFO, __VA_ARGS__)
#define NNXR_WARN(...) nnxr_log(NNXR_LOG_WARN, __VA_ARGS__)
#define NNXR_ERROR(...) nnxr_log(NNXR_LOG_ERROR, __VA_ARGS__)

#endif
