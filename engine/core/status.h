/* core/status.h — helpers to fill an nnxr_error and return failure in one statement. */
#ifndef NNXR_CORE_STATUS_H
#define NNXR_CORE_STATUS_H

#include "nnxr/error.h"

/* Formats the message into err (if non-NULL) and returns false, so callers can write
 * `return nnxr_fail(err, "...", ...);`. */
bool nnxr_fail(nnxr_error *err, const char *fmt, ...) NNXR_PRINTF(2, 3);

/* Prepends "prefix: " to an existing message (context as an error travels up). */
bool nnxr_fail_prefix(nnxr_error *err, const char *fmt, ...) NNXR_PRINTF(2, 3);

void nnxr_error_clear(nnxr_error *err);

#endif
