/* plugins/activation_grid/ag_gpu.h — the activation grid's compute kernels (GLSL compiled at
 * run time through the "nnxr.gpu" service): packing a layer's activations into the image the
 * grid shows, the layer's min/max and the normalisation to [0, 1], and the covariance of the
 * PCA's features. Shared with the tests, which run them on known data. */
#ifndef NNXR_AG_GPU_H
#define NNXR_AG_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include "nnxr/gpu.h"

/* Workgroups of the min/max pass: each writes one (min, max) pair of partial results. */
#define NNXR_AG_MINMAX_GROUPS 16

typedef struct nnxr_ag_kernels {
    const nnxr_gpu_api *gpu;
    nnxr_kernel *pack, *minmax, *normalize, *cov;
} nnxr_ag_kernels;

/* pack: binding 0 the source (read), 1 the destination. Element e of the destination image
 * (width × rows·tile_h, row-major) is, for x = e % width, y = e / width, sample r = y / th and
 * cell c = x / tw: the source value at src_off + r·sample_size + c·ch_size + (y % th)·tw +
 * x % tw, or with mean != 0 (tw = th = 1) the mean of the ch_size values of channel c. */
typedef struct nnxr_ag_pack_push {
    uint32_t src_off, sample_size, ch_size, tw, th, width, total, mean, dst_off, pad;
} nnxr_ag_pack_push;

/* minmax: binding 0 the data (read), 1 the partials (written): NNXR_AG_MINMAX_GROUPS pairs
 * (min, max) of the finite values of data[off, off + n) at part_off. normalize: binding 0 the
 * data (rewritten as (v − min) / (max − min), 0 when max <= min), 1 the partials (read). */
typedef struct nnxr_ag_range_push {
    uint32_t off, n, part_off, groups;
} nnxr_ag_range_push;

/* cov: binding 0 x [count][dim] at x_off (read), 1 the output at out_off: the covariance
 * [dim][dim] (divisor count − 1), then the mean [dim], then a copy of x [count][dim]. */
typedef struct nnxr_ag_cov_push {
    uint32_t x_off, count, dim, out_off;
} nnxr_ag_cov_push;

bool nnxr_ag_kernels_create(const nnxr_gpu_api *gpu, nnxr_ag_kernels *k, nnxr_error *err);
void nnxr_ag_kernels_destroy(nnxr_ag_kernels *k);

/* A descriptor slot for a region that starts at any multiple of 4 bytes: the slot starts at
 * the offset rounded down to the device's alignment and reaches as far as a binding may;
 * *float_off is where the region starts inside it, in floats. */
void nnxr_ag_slot(const nnxr_gpu_api *gpu, const nnxr_buffer *buf, VkDeviceSize offset,
                  nnxr_buffer_slot *slot, uint32_t *float_off);

bool nnxr_ag_record_pack(const nnxr_ag_kernels *k, VkCommandBuffer cmd, const nnxr_binding *b,
                         const nnxr_ag_pack_push *push, nnxr_error *err);
/* minmax, a barrier, normalize. */
bool nnxr_ag_record_range(const nnxr_ag_kernels *k, VkCommandBuffer cmd,
                          const nnxr_binding *minmax, const nnxr_binding *normalize,
                          const nnxr_ag_range_push *push, nnxr_error *err);
bool nnxr_ag_record_cov(const nnxr_ag_kernels *k, VkCommandBuffer cmd, const nnxr_binding *b,
                        const nnxr_ag_cov_push *push, nnxr_error *err);

#endif
