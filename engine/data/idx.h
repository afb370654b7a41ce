/* data/idx.h — the IDX array files of MNIST and Fashion-MNIST, plain or gzip-compressed:
 * strict readers for uint8 image files (n, rows, cols) and label files (n), and a writer (used
 * for fixtures and exports). Layout: 0x00 0x00 type ndims, ndims big-endian uint32 dimensions,
 * then the data. Only type 0x08 (unsigned byte) is accepted: images stay uint8 in memory
 * (60k x 784 as float would be 188 MB) and are normalised where they are used.
 *
 * Every failure names the file and what was expected, e.g.
 *   "t.idx: truncated: expected 7840 bytes of pixel data, found 5000". */
#ifndef NNXR_DATA_IDX_H
#define NNXR_DATA_IDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

/* Limits that reject nonsense headers before any allocation. */
#define NNXR_IDX_MAX_SIDE 4096u          /* rows and cols each in 1..4096 */
#define NNXR_IDX_MAX_IMAGE (1u << 20)    /* rows*cols at most 1 Mi pixels */
#define NNXR_IDX_MAX_BYTES (UINT64_C(1) << 32) /* whole payload at most 4 GiB */

/* IDX type bytes (only NNXR_IDX_U8 is read). */
enum {
    NNXR_IDX_U8 = 0x08,
    NNXR_IDX_I8 = 0x09,
    NNXR_IDX_I16 = 0x0B,
    NNXR_IDX_I32 = 0x0C,
    NNXR_IDX_F32 = 0x0D,
    NNXR_IDX_F64 = 0x0E,
};

typedef struct nnxr_idx_images {
    uint32_t count, rows, cols;
    uint8_t *pixels; /* count*rows*cols bytes, image-major, row-major; malloc'd, owned */
} nnxr_idx_images;

typedef struct nnxr_idx_labels {
    uint32_t count;
    uint8_t *labels; /* count bytes; malloc'd, owned */
} nnxr_idx_labels;

/* Reads an images file (ndims 3). The file may be gzip-compressed whatever its name. Fails on a
 * bad magic, a type other than 0x08, ndims != 3, zero or insane sizes, a short payload
 * ("truncated: expected N bytes of pixel data, found M") or bytes after it ("trailing"). */
bool nnxr_idx_read_images(const char *path, nnxr_idx_images *out, nnxr_error *err);

/* Reads a labels file (ndims 1); every label must be < num_classes (the error names the first
 * bad index and value). num_classes 0 skips that check. */
bool nnxr_idx_read_labels(const char *path, uint32_t num_classes, nnxr_idx_labels *out,
                          nnxr_error *err);

void nnxr_idx_images_free(nnxr_idx_images *img);
void nnxr_idx_labels_free(nnxr_idx_labels *lab);

/* Writes a uint8 IDX file with the given dimensions (1..4 of them), gzip-compressed when
 * `gzip` is true (conventionally the path then ends in ".gz"). Atomic: temp file + rename. */
bool nnxr_idx_write_u8(const char *path, const uint32_t *dims, uint32_t ndims,
                       const uint8_t *data, bool gzip, nnxr_error *err);

#endif
