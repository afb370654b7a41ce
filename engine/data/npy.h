/* data/npy.h — NumPy's .npy and .npz files: n-dimensional arrays of float32, float64, int32,
 * int64 and uint8 in C order (checkpoints hold many named arrays in one .npz; exports are
 * single .npy files). Written files are version 1.0 with the header padded so the data starts
 * on a 64-byte boundary; .npz archives are zip files of STORED .npy members with correct CRC-32,
 * readable by np.load. Writes are atomic (temp file in the same folder, fsync, rename, fsync of
 * the folder). Readers accept versions 1.0, 2.0 and 3.0, little- or big-endian data of the five
 * types, numpy's own .npz (including its zip64 extras) and deflated members; they refuse
 * Fortran order, other dtypes, truncated or malformed files with a message naming the file,
 * the member and the field. Archives over 4 GiB (or 65535 members) are refused when writing. */
#ifndef NNXR_DATA_NPY_H
#define NNXR_DATA_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

typedef enum nnxr_dtype {
    NNXR_DTYPE_F32 = 0,
    NNXR_DTYPE_F64,
    NNXR_DTYPE_I32,
    NNXR_DTYPE_I64,
    NNXR_DTYPE_U8,
    NNXR_DTYPE_COUNT
} nnxr_dtype;

#define NNXR_NPY_MAX_DIMS 8

/* An array view (when writing: data is borrowed) or an owned array (when read: free it with
 * nnxr_array_free). Data is little-endian host order, C order. */
typedef struct nnxr_array {
    nnxr_dtype dtype;
    uint32_t ndim;                      /* 0 (a scalar) .. NNXR_NPY_MAX_DIMS */
    uint64_t shape[NNXR_NPY_MAX_DIMS];
    void *data;
} nnxr_array;

size_t nnxr_dtype_size(nnxr_dtype dt);
const char *nnxr_dtype_name(nnxr_dtype dt);  /* "float32", ... */
const char *nnxr_dtype_descr(nnxr_dtype dt); /* numpy's descr: "<f4", "<f8", "<i4", "<i8", "|u1" */

/* A borrowed view of existing data (shape copied from dims[0..ndim)). */
nnxr_array nnxr_array_view(nnxr_dtype dt, uint32_t ndim, const uint64_t *dims, const void *data);

/* Number of elements (1 for a scalar) and of bytes. false on overflow. */
bool nnxr_array_count(const nnxr_array *a, uint64_t *elements, uint64_t *bytes);

/* Frees the data of an array that a reader filled, and zeroes it. */
void nnxr_array_free(nnxr_array *a);

/* ---- .npy ---- */

bool nnxr_npy_write(const char *path, const nnxr_array *a, nnxr_error *err);
bool nnxr_npy_read(const char *path, nnxr_array *out, nnxr_error *err);

/* The v1.0 header (magic through the '\n' padding) of an array; *len is a multiple of 64.
 * buf must hold NNXR_NPY_HEADER_MAX bytes. */
#define NNXR_NPY_HEADER_MAX 512
bool nnxr_npy_header(const nnxr_array *a, char *buf, size_t *len, nnxr_error *err);

/* Parses a whole .npy image held in memory (`what` names it in messages). */
bool nnxr_npy_parse(const void *bytes, size_t size, const char *what, nnxr_array *out,
                    nnxr_error *err);

/* ---- .npz ---- */

/* Streaming writer: add members one by one (data is written at once, not kept), then commit.
 * On any failure the writer is aborted: the target file is untouched and the temp removed. */
typedef struct nnxr_npz_writer nnxr_npz_writer;

bool nnxr_npz_writer_open(const char *path, nnxr_npz_writer **out, nnxr_error *err);
/* name is the key np.load will show ("layer0.w"); ".npy" is appended inside the archive.
 * Names must be non-empty, unique, at most 255 bytes, without "/" prefix or "..". */
bool nnxr_npz_writer_add(nnxr_npz_writer *w, const char *name, const nnxr_array *a,
                         nnxr_error *err);
/* Writes the central directory and moves the file into place; frees w either way. */
bool nnxr_npz_writer_commit(nnxr_npz_writer *w, nnxr_error *err);
/* Discards everything written; frees w (NULL is fine). */
void nnxr_npz_writer_abort(nnxr_npz_writer *w);

typedef struct nnxr_npz_entry {
    const char *name;
    nnxr_array array;
} nnxr_npz_entry;

/* One call for a whole archive. */
bool nnxr_npz_write(const char *path, const nnxr_npz_entry *entries, size_t count,
                    nnxr_error *err);

/* A whole archive read into memory: names without ".npy", arrays owned. */
typedef struct nnxr_npz {
    size_t count;
    char **names;
    nnxr_array *arrays;
} nnxr_npz;

bool nnxr_npz_read(const char *path, nnxr_npz *out, nnxr_error *err);
/* The array called name, or NULL. */
const nnxr_array *nnxr_npz_find(const nnxr_npz *npz, const char *name);
void nnxr_npz_free(nnxr_npz *npz);

#endif
