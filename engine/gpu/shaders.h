/* gpu/shaders.h — the SPIR-V modules compiled from shaders/ at build time and embedded in the
 * binary, looked up by their path under shaders/ ("test/saxpy.comp"). */
#ifndef NNXR_GPU_SHADERS_H
#define NNXR_GPU_SHADERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct nnxr_shader_blob {
    const char *name;
    const uint32_t *code;
    size_t size; /* bytes */
} nnxr_shader_blob;

extern const nnxr_shader_blob nnxr_shader_blobs[]; /* ends with a NULL name */

/* The embedded module of that name, or NULL. */
const nnxr_shader_blob *nnxr_shader_find(const char *name);

#endif
