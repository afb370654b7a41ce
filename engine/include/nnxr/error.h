/* nnxr/error.h — the error record every fallible call fills: one message that names the
 * file and line:column, or the key, and what was expected. Shared by the engine and plugins. */
#ifndef NNXR_ERROR_H
#define NNXR_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#define NNXR_ERROR_MAX 1024

typedef struct nnxr_error {
    char message[NNXR_ERROR_MAX];
} nnxr_error;

/* Lets the compiler check printf-style arguments of a function's format string. */
#if defined(__GNUC__)
#define NNXR_PRINTF(fmt_arg, first) __attribute__((format(printf, fmt_arg, first)))
#else
#define NNXR_PRINTF(fmt_arg, first)
#endif

#endif
