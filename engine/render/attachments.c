/* render/attachments.c — attachment images, format and sample choice, and the targets' render
 * pass (see attachments.h). */
#include "render/attachments.h"

#include <string.h>

#include "core/status.h"

bool nnxr_attachment_create(nnxr_gpu *gpu, uint32_t width, uint32_t height, VkFormat format,
                            VkSampleCountFlagBits samples, VkImageUsageFlags usage,
                            VkImageAspectFlags aspect, const char *who, nnxr_attachment *out,
                            nnxr_error *err)
{
    VkDevice dev = nnxr_gpu_get_info(gpu)->device;
    memset(out, 0, sizeof *out);
    VkImageCreateInfo ii = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = format,
        .extent = {width, height, 1},
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = samples,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkResult r = vkCreateImage(dev, &ii, NULL, &out->image);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "%s: vkCreateImage %ux%u failed (%d)", who, width, height, r);
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(dev, out->image, &req);
    uint32_t type;
    if (!nnxr_gpu_find_memory_type(gpu, req.memoryTypeBits, 0,
                                   VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &type, err))
        return false;
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size, .memoryTypeIndex = type};
    if ((r = vkAllocateMemory(dev, &ai, NULL, &out->memory)) != VK_SUCCESS)
        return nnxr_fail(err, "%s: cannot allocate %llu bytes for an image (%d)", who,
                         (unsigned long long)req.size, r);
    vkBindImageMemory(dev, out->image, out->memory, 0);
    VkImageViewCreateInfo vi = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
                                .image = out->image, .viewType = VK_IMAGE_VIEW_TYPE_2D,
                                .format = format, .subresourceRange = {aspect, 0, 1, 0, 1}};
    if ((r = vkCreateImageView(dev, &vi, NULL, &out->view)) != VK_SUCCESS)
        return nnxr_fail(err, "%s: vkCreateImageView failed (%d)", who, r);
    return true;
}

void nnxr_attachment_free(VkDevice device, nnxr_attachment *a)
{
    if (a->view)
        vkDestroyImageView(device, a->view, NULL);
    if (a->image)
        vkDestroyImage(device, a->image, NULL);
    if (a->memory)
        vkFreeMemory(device, a->memory, NULL);
    memset(a, 0, sizeof *a);
}

bool nnxr_format_supports(VkPhysicalDevice pd, VkFormat f, VkFormatFeatureFlags need)
{
    VkFormatProperties p;
    vkGetPhysicalDeviceFormatProperties(pd, f, &p);
    return (p.optimalTilingFeatures & need) == need;
}

VkFormat nnxr_pick_depth_format(VkPhysicalDevice pd)
{
    static const VkFormat depths[] = {VK_FORMAT_D32_SFLOAT, VK_FORMAT_X8_D24_UNORM_PACK32,
                                      VK_FORMAT_D24_UNORM_S8_UINT, VK_FORMAT_D16_UNORM};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++)
        if (nnxr_format_supports(pd, depths[i], VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT))
            return depths[i];
    return VK_FORMAT_UNDEFINED;
}

VkSampleCountFlagBits nnxr_pick_samples(const VkPhysicalDeviceLimits *l, uint32_t want)
{
    VkSampleCountFlags ok = l->framebufferColorSampleCounts & l->framebufferDepthSampleCounts;
    VkSampleCountFlagBits s = VK_SAMPLE_COUNT_1_BIT;
    for (uint32_t c = 2; c <= want && c <= 64; c *= 2)
        if (ok & c)
            s = (VkSampleCountFlagBits)c;
    return s;
}

bool nnxr_target_render_pass(VkDevice device, VkFormat color, VkFormat depth,
                             VkSampleCountFlagBits samples, VkImageLayout final_layout,
                             const char *who, VkRenderPass *out, nnxr_error *err)
{
    bool msaa = samples != VK_SAMPLE_COUNT_1_BIT;
    VkAttachmentDescription att[3] = {
        {.format = color, .samples = samples,
         .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
         .storeOp = msaa ? VK_ATTACHMENT_STORE_OP_DONT_CARE : VK_ATTACHMENT_STORE_OP_STORE,
         .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
         .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
         .finalLayout = msaa ? VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL : final_layout},
        {.format = depth, .samples = samples,
         .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR, .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
         .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
         .finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL},
        {.format = color, .samples = VK_SAMPLE_COUNT_1_BIT,
         .loadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE, .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
         .stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE,
         .stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
         .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
         .finalLayout = final_layout},
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
    /* Compute (simulations, training) writes buffers that draws read as vertices, indices,
     * storage or uniforms, and transfers fill images and buffers they sample; after the pass a
     * transfer reads the image (readback). A swapchain image's layout transition also waits
     * for the acquire semaphore, which the submission waits for at the colour output stage. */
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
    VkRenderPassCreateInfo ri = {.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO,
                                 .attachmentCount = msaa ? 3 : 2, .pAttachments = att,
                                 .subpassCount = 1, .pSubpasses = &sub,
                                 .dependencyCount = 2, .pDependencies = deps};
    VkResult r = vkCreateRenderPass(device, &ri, NULL, out);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "%s: vkCreateRenderPass failed (%d)", who, r);
    return true;
}
