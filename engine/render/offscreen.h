/* render/offscreen.h — the headless render target: a colour image (multisampled and resolved
 * when MSAA is on), a depth buffer, the render pass plugins build their pipelines against,
 * and the copy of each finished image into host memory for PNG files. */
#ifndef NNXR_RENDER_OFFSCREEN_H
#define NNXR_RENDER_OFFSCREEN_H

#include <stdint.h>

#include "gpu/gpu.h"
#include "nnxr/render.h"

typedef struct nnxr_offscreen nnxr_offscreen;

/* samples is lowered to what the device supports for both colour and depth. */
bool nnxr_offscreen_create(nnxr_gpu *gpu, uint32_t width, uint32_t height, uint32_t samples,
                           const float clear_rgb[3], nnxr_offscreen **out, nnxr_error *err);
void nnxr_offscreen_destroy(nnxr_offscreen *t);

void nnxr_offscreen_info(const nnxr_offscreen *t, nnxr_render_target_info *info);

/* Begins the render pass (clearing colour and depth) and sets a full-image viewport and
 * scissor. */
void nnxr_offscreen_begin(nnxr_offscreen *t, VkCommandBuffer cmd);
/* Ends the render pass; with `readback`, also records the copy of the image into the host
 * buffer that nnxr_offscreen_pixels reads once the submission has completed. */
void nnxr_offscreen_end(nnxr_offscreen *t, VkCommandBuffer cmd, bool readback);

/* Tightly packed RGBA8 rows, top row first, sRGB-encoded; valid after the submission that
 * recorded a readback completed. */
bool nnxr_offscreen_pixels(nnxr_offscreen *t, uint8_t *rgba, nnxr_error *err);

/* Views of a mono camera over the whole image (Vulkan clip space). */
void nnxr_view_look_at(nnxr_view *view, const float eye[3], const float target[3],
                       float fov_y_degrees, uint32_t width, uint32_t height);

#endif
