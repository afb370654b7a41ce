/* core/fs.h — files and folders: creating output folders, atomic writes (temporary file,
 * fsync, rename, fsync of the folder), and where the running executable lives. */
#ifndef NNXR_CORE_FS_H
#define NNXR_CORE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "nnxr/error.h"

/* mkdir -p. */
bool nnxr_mkdirs(const char *path, nnxr_error *err);

/* Writes len bytes to path atomically: a reader sees the old file or the whole new one. */
bool nnxr_write_file_atomic(const char *path, const void *data, size_t len, nnxr_error *err);

/* The same for content produced by a writer callback on a FILE*. */
bool nnxr_write_atomic_with(const char *path, bool (*write)(FILE *f, void *user), void *user,
                            nnxr_error *err);

/* Reads a whole file (NUL-terminated, *len excludes the NUL). Free with free(). */
char *nnxr_read_file(const char *path, size_t *len, nnxr_error *err);

/* The folder of the running executable (from /proc/self/exe), without a trailing '/'. */
bool nnxr_exe_dir(char *out, size_t n);

bool nnxr_is_dir(const char *path);
bool nnxr_is_file(const char *path);

#endif
