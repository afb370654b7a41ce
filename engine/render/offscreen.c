/* render/offscreen.c — the headless render target (colour, optional MSAA resolve, depth, one
 * render pass) and its readback into host memory. */
#include "render/offscreen.h"

#include <stdlib.h>
#include <string.h>

#define CGLM_FORCE_DEPTH_ZERO_TO_ONE
#define CGLM_FORCE_RIGHT_HANDED
#include <cglm/cglm.h>

#include "core/status.h"

typedef struct image {
    VkImage image;
    VkDeviceMemory memory;
    VkImageView view;
} image;

struct nnxr_offscreen {
    nnxr_gpu *gpu;
    VkDevice device;
    uint32_t width, height;
    VkFormat color_format, depth_format;
    VkSampleCountFlagBits samples;
    image color;   /* multisampled when samples > 1 */
    image resolve; /* single-sampled result when samples > 1 */
    image depth;
    VkRenderPass render_pass;
    VkFramebuffer framebuffer;
    nnxr_buffer *readback;
    float clear[4];
};

static bool make_image(nnxr_offscreen *t, VkFormat format, VkSampleCountFlagBits samples,
                       VkImageUsageFlags usage, VkImageAspectFlags aspect, image *out,
                       nnxr_error *err)
{
    VkImageCreateInfo ii = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = format,
        .extent = {t->width, t->height, 1},
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = samples,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkResult r = vkCreateImage(t->device, &ii, NULL, &out->image);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "offscreen target: vkCreateImage %ux%u failed (%d)", t->width,
                         t->height, r);
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(t->device, out->image, &req);
    uint32_t type;
    if (!nnxr_gpu_find_memory_type(t->gpu, req.memoryTypeBits, 0,
                                   VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &type, err))
        return false;
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size, .memoryTypeIndex = type};
    r = vkAllocateMemory(t->device, &ai, NULL, &out->memory);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "offscreen target: cannot allocate %llu bytes for an image (%d)",
                         (unsigned long long)req.size, r);
    vkBindImageMemory(t->device, out->image, out->memory, 0);
    VkImageViewCreateInfo vi = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .image = out->image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = format,
        .subresourceRange = {aspect, 0, 1, 0, 1},
    };
    r = vkCreateImageView(t->device, &vi, NULL, &out->view);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "offscreen target: vkCreateImageView failed (%d)", r);
    return true;
}

static void free_image(VkDevice dev, image *im)
{
    if (im->view)
        vkDestroyImageView(dev, im->view, NULL);
    if (im->image)
        vkDestroyImage(dev, im->image, NULL);
    if (im->memory)
        vkFreeMemory(dev, im->memory, NULL);
    memset(im, 0, sizeof *im);
}

static bool format_supports(VkPhysicalDevice pd, VkFormat f, VkFormatFeatureFlags need)
{
    VkFormatProperties p;
    vkGetPhysicalDeviceFormatProperties(pd, f, &p);
    return (p.optimalTilingFeatures & need) == need;
}

static VkSampleCountFlagBits pick_samples(const VkPhysicalDeviceLimits *l, uint32_t want)
{
    VkSampleCountFlags ok = l->framebufferColorSampleCounts & l->framebufferDepthSampleCounts;
    VkSampleCountFlagBits s = VK_SAMPLE_COUNT_1_BIT;
    for (uint32_t c = 2; c <= want && c <= 64; c *= 2)
        if (ok & c)
            s = (VkSampleCountFlagBits)c;
    return s;
}

static bool make_render_pass(nnxr_offscreen *t, nnxr_error *err)
{
    bool msaa = t->samples != VK_SAMPLE_COUNT_1_BIT;
    VkAttachmentDescription att[3] = {
        {.format = t->color_format, .samples = t->samples,
         .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
         .storeOp = msaa ? VK_ATTACHMENT_STORE_OP_DONT_CARE : VK_ATTACHMENT_STORE_OP_STORE,
         .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
         .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
         .finalLayout = msaa ? VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL
                             : VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL},
        {.format = t->depth_format, .samples = t->samples,
         .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR, .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
         .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
         .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL},
        {.format = t->color_format, .samples = VK_SAMPLE_COUNT_1_BIT,
         .loadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE, .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
         .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
         .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
         .finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL},
    };
    VkAttachmentReference color_ref = {0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkAttachmentReference depth_ref = {1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
    VkAttachmentReference resolve_ref = {2, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkSubpassDescription sub = {
        .pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS,
        .colorAttachmentCount = 1,
        .pColorAttachments = &color_ref,
        .pResolveAttachments = msaa ? &resolve_ref : NULL,
        .pDepthStencilAttachment = &depth_ref,
    };
    /* Compute (simulations) writes buffers that draws read as vertices, storage or uniforms;
     * the image copy after the pass reads what the pass wrote. */
    VkSubpassDependency deps[2] = {
        {.srcSubpass = VK_SUBPASS_EXTERNAL, .dstSubpass = 0,
         .srcStageMask = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                         VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                         VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT,
         .dstStageMask = VK_PIPELINE_STAGE_VERTEX_INPUT_BIT | VK_PIPELINE_STAGE_VERTEX_SHADER_BIT |
                         VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT |
                         VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                         VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT,
         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                          VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_INDEX_READ_BIT |
                          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_UNIFORM_READ_BIT |
                          VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_READ_BIT |
                          VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT},
        {.srcSubpass = 0, .dstSubpass = VK_SUBPASS_EXTERNAL,
         .srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
         .dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT,
         .srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT},
    };
    VkRenderPassCreateInfo ri = {
        .sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
        .attachmentCount = msaa ? 3 : 2,
        .pAttachments = att,
        .subpassCount = 1,
        .pSubpasses = &sub,
        .dependencyCount = 2,
        .pDependencies = deps,
    };
    VkResult r = vkCreateRenderPass(t->device, &ri, NULL, &t->render_pass);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "offscreen target: vkCreateRenderPass failed (%d)", r);
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
    r = vkCreateFramebuffer(t->device, &fi, NULL, &t->framebuffer);
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
    t->color_format = format_supports(info->physical_device, VK_FORMAT_R8G8B8A8_SRGB, color_need)
                          ? VK_FORMAT_R8G8B8A8_SRGB
                          : VK_FORMAT_R8G8B8A8_UNORM;
    static const VkFormat depths[] = {VK_FORMAT_D32_SFLOAT, VK_FORMAT_X8_D24_UNORM_PACK32,
                                      VK_FORMAT_D24_UNORM_S8_UINT, VK_FORMAT_D16_UNORM};
    t->depth_format = VK_FORMAT_UNDEFINED;
    for (size_t i = 0; i < 4 && !t->depth_format; i++)
        if (format_supports(info->physical_device, depths[i],
                            VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT))
            t->depth_format = depths[i];
    t->samples = pick_samples(lim, samples ? samples : 1);
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
    free_image(t->device, &t->color);
    free_image(t->device, &t->resolve);
    free_image(t->device, &t->depth);
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
