/* core/atomic_file.h — files that appear whole or not at all: written to a temp file in the
 * target's folder, fsync'd, renamed over the target, and the folder fsync'd, so a crash or a
 * full disk never leaves a half-written checkpoint or export under the real name. Buffered. */
#ifndef NNXR_CORE_ATOMIC_FILE_H
#define NNXR_CORE_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

typedef struct nnxr_atomic_file {
    int fd;
    char *path;     /* target */
    char *tmp_path; /* the temp file beside it */
    uint8_t *buf;
    size_t used;
    uint64_t written; /* bytes handed to nnxr_atomic_write so far */
} nnxr_atomic_file;

/* Creates the temp file (mode 0666 minus umask, as a plain fopen would). */
bool nnxr_atomic_open(nnxr_atomic_file *af, const char *path, nnxr_error *err);
/* Appends bytes; on failure the file is aborted (af released). */
bool nnxr_atomic_write(nnxr_atomic_file *af, const void *data, size_t size, nnxr_error *err);
/* Flushes, fsyncs, renames onto the target, fsyncs the folder; releases af either way. */
bool nnxr_atomic_commit(nnxr_atomic_file *af, nnxr_error *err);
/* Closes and removes the temp file; releases af. Safe on a released or zeroed af. */
void nnxr_atomic_abort(nnxr_atomic_file *af);

#endif
