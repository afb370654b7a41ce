/* render/attachments.h — what the offscreen and window targets share: the attachment images
 * (colour, MSAA colour, depth) with their memory and views, the choice of depth format and
 * sample count from the device's limits, and the one-subpass render pass (colour, depth,
 * optional MSAA resolve) whose dependencies let compute output feed the draws and a transfer
 * read the result. */
#ifndef NNXR_RENDER_ATTACHMENTS_H
#define NNXR_RENDER_ATTACHMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "gpu/gpu.h"
#include "nnxr/error.h"

typedef struct nnxr_attachment {
    VkImage image;
    VkDeviceMemory memory;
    VkImageView view;
} nnxr_attachment;

/* A width × height device-local 2D image with a view; `who` prefixes messages. */
bool nnxr_attachment_create(nnxr_gpu *gpu, uint32_t width, uint32_t height, VkFormat format,
                            VkSampleCountFlagBits samples, VkImageUsageFlags usage,
                            VkImageAspectFlags aspect, const char *who, nnxr_attachment *out,
                            nnxr_error *err);
/* Frees what it holds and zeroes it; a zeroed attachment is fine. */
void nnxr_attachment_free(VkDevice device, nnxr_attachment *a);

/* Whether optimal tiling of format f has every feature in need. */
bool nnxr_format_supports(VkPhysicalDevice pd, VkFormat f, VkFormatFeatureFlags need);
/* The first depth format the device can attach (D32, X8D24, D24S8, D16), else UNDEFINED. */
VkFormat nnxr_pick_depth_format(VkPhysicalDevice pd);
/* The largest power-of-two sample count ≤ want that colour and depth framebuffers allow. */
VkSampleCountFlagBits nnxr_pick_samples(const VkPhysicalDeviceLimits *l, uint32_t want);

/* The render pass of a target: attachment 0 colour (multisampled when samples > 1), 1 depth,
 * 2 the single-sampled resolve when samples > 1. The image the frame ends in (the colour
 * when samples = 1, else the resolve) is left in final_layout (TRANSFER_SRC_OPTIMAL for a
 * readback, PRESENT_SRC_KHR for a swapchain). */
bool nnxr_target_render_pass(VkDevice device, VkFormat color, VkFormat depth,
                             VkSampleCountFlagBits samples, VkImageLayout final_layout,
                             const char *who, VkRenderPass *out, nnxr_error *err);

#endif
