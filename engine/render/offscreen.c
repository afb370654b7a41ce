/* render/offscreen.c — the headless render target (colour, optional MSAA resolve, depth, one
 * render pass) and its readback into host memory. */
#include "render/offscreen.h"

#include <stdlib.h>
#include <string.h>

#define CGLM_FORCE_DEPTH_ZERO_TO_ONE
#define CGLM_FORCE_RIGHT_HANDED
#include <cglm/cglm.h>

#include "core/status.h"
#include "render/attachments.h"

struct nnxr_offscreen {
    nnxr_gpu *gpu;
    VkDevice device;
    uint32_t width, height;
    VkFormat color_format, depth_format;
    VkSampleCountFlagBits samples;
    nnxr_attachment color;   /* multisampled when samples > 1 */
    nnxr_attachment resolve; /* single-sampled result when samples > 1 */
    nnxr_attachment depth;
    VkRenderPass render_pass;
    VkFramebuffer framebuffer;
    nnxr_buffer *readback;
    float clear[4];
};

static bool make_image(nnxr_offscreen *t, VkFormat format, VkSampleCountFlagBits samples,
                       VkImageUsageFlags usage, VkImageAspectFlags aspect,
                       nnxr_attachment *out, nnxr_error *err)
{
    return nnxr_attachment_create(t->gpu, t->width, t->height, format, samples, usage, aspect,
                                  "offscreen target", out, err);
}

static bool make_render_pass(nnxr_offscreen *t, nnxr_error *err)
{
    bool msaa = t->samples != VK_SAMPLE_COUNT_1_BIT;
    if (!nnxr_target_render_pass(t->device, t->color_format, t->depth_format, t->samples,
                                 VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, "offscreen target",
                                 &t->render_pass, err))
        return false;
    VkImageView views[3] = {t->color.view, t->depth.view, t->resolve.view};
    VkFramebufferCreateInfo fi = {
        .sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
        .renderPass = t->render_pass,
        .attachmentCount = msaa ? 3 : 2,
        .pAttachments = views,
        .width = t->width,
        .height = t->height,
        .layers = 1,
    };
    VkResult r = vkCreateFramebuffer(t->device, &fi, NULL, &t->framebuffer);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "offscreen target: vkCreateFramebuffer failed (%d)", r);
    return true;
}

bool nnxr_offscreen_create(nnxr_gpu *gpu, uint32_t width, uint32_t height, uint32_t samples,
                           const float clear_rgb[3], nnxr_offscreen **out, nnxr_error *err)
{
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    const VkPhysicalDeviceLimits *lim = &info->properties.limits;
    if (width > lim->maxFramebufferWidth || height > lim->maxFramebufferHeight ||
        width > lim->maxImageDimension2D || height > lim->maxImageDimension2D)
        return nnxr_fail(err, "offscreen target: %ux%u is larger than the device allows "
                         "(%ux%u)", width, height, lim->maxFramebufferWidth,
                         lim->maxFramebufferHeight);
    nnxr_offscreen *t = calloc(1, sizeof *t);
    if (!t)
        return nnxr_fail(err, "out of memory");
    t->gpu = gpu;
    t->device = info->device;
    t->width = width;
    t->height = height;
    for (int i = 0; i < 3; i++)
        t->clear[i] = clear_rgb[i];
    t->clear[3] = 1.0f;

    VkFormatFeatureFlags color_need = VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT |
                                      VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BLEND_BIT |
                                      VK_FORMAT_FEATURE_TRANSFER_SRC_BIT;
    t->color_format = nnxr_format_supports(info->physical_device, VK_FORMAT_R8G8B8A8_SRGB,
                                           color_need)
                          ? VK_FORMAT_R8G8B8A8_SRGB
                          : VK_FORMAT_R8G8B8A8_UNORM;
    t->depth_format = nnxr_pick_depth_format(info->physical_device);
    t->samples = nnxr_pick_samples(lim, samples ? samples : 1);
    bool msaa = t->samples != VK_SAMPLE_COUNT_1_BIT;

    bool ok = t->depth_format != VK_FORMAT_UNDEFINED ||
              nnxr_fail(err, "offscreen target: the device has no depth format");
    ok = ok && make_image(t, t->color_format, t->samples,
                          VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                              (msaa ? VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT
                                    : VK_IMAGE_USAGE_TRANSFER_SRC_BIT),
                          VK_IMAGE_ASPECT_COLOR_BIT, &t->color, err);
    ok = ok && (!msaa || make_image(t, t->color_format, VK_SAMPLE_COUNT_1_BIT,
                                    VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                        VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                    VK_IMAGE_ASPECT_COLOR_BIT, &t->resolve, err));
    ok = ok && make_image(t, t->depth_format, t->samples,
                          VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                          VK_IMAGE_ASPECT_DEPTH_BIT, &t->depth, err);
    ok = ok && make_render_pass(t, err);
    nnxr_buffer_desc bd = {.name = "offscreen readback", .kind = NNXR_BUFFER_READBACK,
                           .size = (VkDeviceSize)width * height * 4};
    ok = ok && nnxr_buffer_create(gpu, &bd, &t->readback, err);
    if (!ok) {
        nnxr_offscreen_destroy(t);
        return false;
    }
    *out = t;
    return true;
}

void nnxr_offscreen_destroy(nnxr_offscreen *t)
{
    if (!t)
        return;
    nnxr_gpu_wait_idle(t->gpu, NULL);
    if (t->framebuffer)
        vkDestroyFramebuffer(t->device, t->framebuffer, NULL);
    if (t->render_pass)
        vkDestroyRenderPass(t->device, t->render_pass, NULL);
    nnxr_attachment_free(t->device, &t->color);
    nnxr_attachment_free(t->device, &t->resolve);
    nnxr_attachment_free(t->device, &t->depth);
    nnxr_buffer_destroy(t->gpu, t->readback);
    free(t);
}

void nnxr_offscreen_info(const nnxr_offscreen *t, nnxr_render_target_info *info)
{
    *info = (nnxr_render_target_info){
        .render_pass = t->render_pass,
        .color_format = t->color_format,
        .depth_format = t->depth_format,
        .samples = t->samples,
        .width = t->width,
        .height = t->height,
        .view_count = 1,
    };
}

void nnxr_offscreen_begin(nnxr_offscreen *t, VkCommandBuffer cmd)
{
    VkClearValue clears[2] = {
        {.color = {{t->clear[0], t->clear[1], t->clear[2], t->clear[3]}}},
        {.depthStencil = {1.0f, 0}},
    };
    VkRenderPassBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
        .renderPass = t->render_pass,
        .framebuffer = t->framebuffer,
        .renderArea = {{0, 0}, {t->width, t->height}},
        .clearValueCount = 2,
        .pClearValues = clears,
    };
    vkCmdBeginRenderPass(cmd, &bi, VK_SUBPASS_CONTENTS_INLINE);
    VkViewport vp = {0, 0, (float)t->width, (float)t->height, 0.0f, 1.0f};
    VkRect2D sc = {{0, 0}, {t->width, t->height}};
    vkCmdSetViewport(cmd, 0, 1, &vp);
    vkCmdSetScissor(cmd, 0, 1, &sc);
}

void nnxr_offscreen_end(nnxr_offscreen *t, VkCommandBuffer cmd, bool readback)
{
    vkCmdEndRenderPass(cmd);
    if (!readback)
        return;
    VkBufferImageCopy region = {
        .bufferOffset = 0,
        .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
        .imageExtent = {t->width, t->height, 1},
    };
    VkImage src = t->samples != VK_SAMPLE_COUNT_1_BIT ? t->resolve.image : t->color.image;
    vkCmdCopyImageToBuffer(cmd, src, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, t->readback->buffer,
                           1, &region);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
}

bool nnxr_offscreen_pixels(nnxr_offscreen *t, uint8_t *rgba, nnxr_error *err)
{
    return nnxr_buffer_readback(t->gpu, t->readback, 0, rgba,
                                (VkDeviceSize)t->width * t->height * 4, err);
}

void nnxr_view_look_at(nnxr_view *view, const float eye[3], const float target[3],
                       float fov_y_degrees, uint32_t width, uint32_t height)
{
    memset(view, 0, sizeof *view);
    view->width = width;
    view->height = height;
    vec3 e = {eye[0], eye[1], eye[2]}, c = {target[0], target[1], target[2]};
    vec3 up = {0.0f, 1.0f, 0.0f};
    mat4 v, p;
    glm_lookat(e, c, up, v);
    glm_perspective(glm_rad(fov_y_degrees), (float)width / (float)height, 0.05f, 200.0f, p);
    p[1][1] *= -1.0f; /* Vulkan's clip space has y pointing down */
    memcpy(view->view, v, sizeof v);
    memcpy(view->proj, p, sizeof p);
    memcpy(view->eye, eye, 3 * sizeof(float));
}
