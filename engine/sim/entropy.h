/* sim/entropy.h — per-point entropy of class probabilities on the GPU (shaders/sim/
 * entropy.comp): H_i = −Σ_c p_ic ln p_ic in nats, 0 for a certain prediction, ln(classes) for
 * a uniform one. The latent cloud shows it so that a user sees which points are worth
 * labelling next. */
#ifndef NNXR_SIM_ENTROPY_H
#define NNXR_SIM_ENTROPY_H

#include <stdbool.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nnxr/error.h"

typedef struct nnxr_entropy nnxr_entropy;

/* The kernel and its own float[n] output buffer. classes 1 .. 64. */
bool nnxr_entropy_create(nnxr_gpu *gpu, uint32_t n, uint32_t classes, nnxr_entropy **out,
                         nnxr_error *err);
void nnxr_entropy_destroy(nnxr_entropy *e); /* NULL is fine */

/* The probabilities: n rows of `classes` floats starting at byte `offset` (a multiple of 4)
 * of `probs`. The whole buffer is bound, so any offset works. Binding again replaces the
 * previous binding (waits for the device when one exists: a recorded submission may use it). */
bool nnxr_entropy_bind(nnxr_entropy *e, const nnxr_buffer *probs, VkDeviceSize offset,
                       nnxr_error *err);
/* Records the computation into rec. */
bool nnxr_entropy_record(nnxr_entropy *e, nnxr_recorder *rec, nnxr_error *err);

const nnxr_buffer *nnxr_entropy_buffer(const nnxr_entropy *e); /* float [n] */

#endif
