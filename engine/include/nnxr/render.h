/* nnxr/render.h — the "nnxr.draw" plugin extension: what a plugin is told about the image it
 * draws into, and the per-view call in which it records its draws. The same calls serve every
 * target (offscreen PNG, a desktop window, an XR swapchain with one view per eye). */
#ifndef NNXR_RENDER_H
#define NNXR_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "nnxr/error.h"
#include "nnxr/plugin.h"

/* What a plugin builds its graphics pipelines against. Pipelines made with this render pass
 * and subpass 0 are valid for every frame until the next prepare call. */
typedef struct nnxr_render_target_info {
    VkRenderPass render_pass;
    VkFormat color_format;        /* an sRGB or UNORM RGBA format */
    VkFormat depth_format;        /* VK_FORMAT_UNDEFINED when the target has no depth */
    VkSampleCountFlagBits samples;
    uint32_t width, height;       /* of the whole image (all views) */
    uint32_t view_count;          /* 1 (mono) or 2 (stereo) */
} nnxr_render_target_info;

/* One view: a viewport of the target and its camera. Matrices are column-major (cglm's
 * mat4 layout), for Vulkan clip space (y down, depth 0..1). */
typedef struct nnxr_view {
    uint32_t index;               /* 0 = mono or left eye, 1 = right eye */
    int32_t x, y;                 /* viewport origin in the image, pixels */
    uint32_t width, height;       /* viewport size, pixels */
    float view[16];               /* world → eye */
    float proj[16];               /* eye → clip */
    float eye[3];                 /* camera position in world space */
} nnxr_view;

/* "nnxr.draw": prepare is called when a target is created or changes (size, format);
 * record_draw once per view per frame, inside the target's render pass with the viewport and
 * scissor of that view already set (dynamic state); release before the target goes away. */
#define NNXR_EXT_DRAW "nnxr.draw"
typedef struct nnxr_draw_ext {
    bool (*prepare)(void *self, const nnxr_render_target_info *target, nnxr_error *err);
    void (*record_draw)(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame);
    void (*release)(void *self);
} nnxr_draw_ext;

#endif
