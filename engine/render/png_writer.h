/* render/png_writer.h — writes RGBA images as PNG files on a thread of its own, so that the
 * frame loop never waits for compression (encoding costs ~100x the readback). The queue is
 * bounded: when it is full, submit waits for a slot rather than dropping a frame. */
#ifndef NNXR_RENDER_PNG_WRITER_H
#define NNXR_RENDER_PNG_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "nnxr/error.h"

typedef struct nnxr_png_writer nnxr_png_writer;

bool nnxr_png_writer_create(int compression_level, nnxr_png_writer **out, nnxr_error *err);
/* Takes ownership of rgba (malloc'ed, width*height*4 bytes, top row first). */
void nnxr_png_writer_submit(nnxr_png_writer *w, const char *path, uint8_t *rgba,
                            uint32_t width, uint32_t height);
/* Waits for every queued image, stops the thread; returns false (with the first error) if any
 * write failed. */
bool nnxr_png_writer_finish(nnxr_png_writer *w, nnxr_error *err);

/* Synchronous write, also used by the thread: level 0-9, SUB filter. Atomic (temp, rename). */
bool nnxr_png_write(const char *path, const uint8_t *rgba, uint32_t width, uint32_t height,
                    int compression_level, nnxr_error *err);

/* Reads a PNG as RGBA8 (for tests and tools); *rgba is malloc'ed. */
bool nnxr_png_read(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height,
                   nnxr_error *err);

#endif
