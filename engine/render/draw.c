/* render/draw.c — the drawing primitives of the "nnxr.render" service (nnxr/draw.h): one
 * descriptor layout and pipeline layout shared by every primitive, the pipelines of a
 * context for its target, batches (instances in a host-visible storage buffer read by the
 * vertex shaders with no vertex input, a small uniform block of parameters, a descriptor set
 * with every slot written), images and atlases, and the text layout of the built-in font. */
#include "render/renderer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CGLM_FORCE_DEPTH_ZERO_TO_ONE
#define CGLM_FORCE_RIGHT_HANDED
#include <cglm/cglm.h>

#include "core/log.h"
#include "core/status.h"
#include "gpu/shaders.h"
#include "render/font.h"

enum { P_SPHERE, P_SPHERE_GLOW, P_LINE, P_CUBE3, P_CUBE6, P_CUBE_POINT, P_QUAD, P_MARKER,
       P_COUNT };
enum { M_SPHERE_V, M_SPHERE_F, M_LINE_V, M_LINE_F, M_CUBE_V, M_CUBE_F, M_CUBEP_V, M_CUBEP_F,
       M_QUAD_V, M_QUAD_F, M_MARKER_V, M_MARKER_F, M_COUNT };
#define SHADES (NNXR_SHADE_DIVERGING + 1)

static const char *const module_names[M_COUNT] = {
    "render/sphere.vert", "render/sphere.frag", "render/line.vert",       "render/line.frag",
    "render/cube.vert",   "render/cube.frag",   "render/cube_point.vert", "render/cube_point.frag",
    "render/quad.vert",   "render/quad.frag",   "render/marker.vert",     "render/marker.frag",
};

/* The uniform block of common.glsl (std140). */
typedef struct batch_params {
    uint32_t src[4];
    uint32_t mode[4];
    float style[4];
    float cell[4];
} batch_params;

/* The push constants of common.glsl. */
typedef struct view_push {
    float view_proj[16];
    float right[4];
    float up[4];
    float eye[4];
} view_push;

struct nnxr_draw_image {
    char name[48];
    nnxr_image_format format;
    VkFormat vk_format;
    uint32_t width, height, cell_w, cell_h, cols;
    uint32_t bytes_per_pixel;
    bool linear;
    VkImage image;
    VkDeviceMemory memory;
    VkImageView view;
};

typedef struct source {
    const nnxr_buffer *buffer;
    VkDeviceSize base, range; /* the bound range */
    uint32_t offset, stride;  /* in 4-byte words from base */
} source;

struct nnxr_draw_batch {
    char name[48];
    nnxr_draw_kind kind;
    nnxr_draw_style style;
    uint32_t words;           /* per instance */
    uint32_t capacity, count;
    nnxr_buffer *instances;
    nnxr_buffer *params;
    VkDescriptorPool pool;
    VkDescriptorSet set;
    source positions, labels;
    nnxr_draw_image *image;
    /* The descriptor set is written at the next record, not when a source changes: a plugin
     * replacing both its positions and its labels buffers (a new point count) would otherwise
     * have the set name the new one beside the other's destroyed buffer in between. */
    bool set_dirty;
};

struct nnxr_draw {
    nnxr_gpu *gpu;
    VkDevice device;
    const nnxr_gpu_info *info;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkShaderModule modules[M_COUNT];
    VkPipeline pipes[P_COUNT][SHADES]; /* made when first needed (a pipeline per shade) */
    bool prepared;
    bool points;                       /* largePoints: far cubes as point sprites */
    nnxr_render_target_info target;
    VkSampler nearest, linear;
    nnxr_draw_image *font;
    nnxr_draw_image *white;
    nnxr_buffer *dummy;
    nnxr_buffer *cube_index; /* 0,1,2, 0,2,3 per face of 4 corners: cubes are indexed draws */
    uint32_t cube_index_faces; /* faces of cubes it covers */
    uint32_t live_batches, live_images;
};

static uint32_t words_of(nnxr_draw_kind k)
{
    switch (k) {
    case NNXR_DRAW_SPHERES: return sizeof(nnxr_sphere) / 4;
    case NNXR_DRAW_LINES: return sizeof(nnxr_line) / 4;
    case NNXR_DRAW_CUBES: return sizeof(nnxr_cube) / 4;
    case NNXR_DRAW_QUADS:
    case NNXR_DRAW_TEXT: return sizeof(nnxr_quad) / 4;
    case NNXR_DRAW_MARKERS: return sizeof(nnxr_marker) / 4;
    }
    return 0;
}

static const char *kind_name(nnxr_draw_kind k)
{
    switch (k) {
    case NNXR_DRAW_SPHERES: return "spheres";
    case NNXR_DRAW_LINES: return "lines";
    case NNXR_DRAW_CUBES: return "cubes";
    case NNXR_DRAW_QUADS: return "quads";
    case NNXR_DRAW_TEXT: return "text";
    case NNXR_DRAW_MARKERS: return "markers";
    }
    return "unknown";
}

/* ---- images --------------------------------------------------------------------------- */

typedef struct image_job {
    nnxr_draw_image *img;
    const nnxr_buffer *src;
    VkDeviceSize src_offset;
    uint32_t x, y, w, h;
    bool clear;
} image_job;

static void image_barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from,
                          VkImageLayout to, VkAccessFlags src_access, VkAccessFlags dst_access,
                          VkPipelineStageFlags src_stage, VkPipelineStageFlags dst_stage)
{
    VkImageMemoryBarrier b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
        .srcAccessMask = src_access,
        .dstAccessMask = dst_access,
        .oldLayout = from,
        .newLayout = to,
        .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .image = image,
        .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
    };
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 0, NULL, 0, NULL, 1, &b);
}

static const VkPipelineStageFlags shader_stages =
    VK_PIPELINE_STAGE_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT;

/* Records the copy (or the first clear) of an image job; the image is in
 * SHADER_READ_ONLY_OPTIMAL before (except when clearing a new one) and after. */
static void record_image_job(VkCommandBuffer cmd, void *user)
{
    image_job *j = user;
    VkImage im = j->img->image;
    if (j->clear) {
        image_barrier(cmd, im, VK_IMAGE_LAYOUT_UNDEFINED, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                      0, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
                      VK_PIPELINE_STAGE_TRANSFER_BIT);
        VkClearColorValue zero = {{0, 0, 0, 0}};
        VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
        vkCmdClearColorImage(cmd, im, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &zero, 1, &range);
    } else {
        image_barrier(cmd, im, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL,
                      VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_ACCESS_SHADER_READ_BIT,
                      VK_ACCESS_TRANSFER_WRITE_BIT, shader_stages,
                      VK_PIPELINE_STAGE_TRANSFER_BIT);
    }
    if (j->src) {
        VkBufferImageCopy region = {
            .bufferOffset = j->src_offset,
            .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
            .imageOffset = {(int32_t)j->x, (int32_t)j->y, 0},
            .imageExtent = {j->w, j->h, 1},
        };
        vkCmdCopyBufferToImage(cmd, j->src->buffer, im, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1,
                               &region);
    }
    image_barrier(cmd, im, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                  VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, shader_stages);
}

static void image_free(nnxr_draw *d, nnxr_draw_image *img)
{
    if (img->view)
        vkDestroyImageView(d->device, img->view, NULL);
    if (img->image)
        vkDestroyImage(d->device, img->image, NULL);
    if (img->memory)
        vkFreeMemory(d->device, img->memory, NULL);
    free(img);
}

static bool image_create(nnxr_draw *d, const nnxr_draw_image_desc *desc, nnxr_draw_image **out,
                         nnxr_error *err)
{
    const char *name = desc && desc->name ? desc->name : "image";
    if (!desc || desc->width == 0 || desc->height == 0)
        return nnxr_fail(err, "image \"%s\": width and height must be > 0", name);
    uint32_t maxdim = d->info->properties.limits.maxImageDimension2D;
    if (desc->width > maxdim || desc->height > maxdim)
        return nnxr_fail(err, "image \"%s\": %ux%u exceeds the device's maxImageDimension2D "
                         "(%u); split the atlas", name, desc->width, desc->height, maxdim);
    nnxr_draw_image *img = calloc(1, sizeof *img);
    if (!img)
        return nnxr_fail(err, "image \"%s\": out of memory", name);
    snprintf(img->name, sizeof img->name, "%s", name);
    img->format = desc->format;
    img->width = desc->width;
    img->height = desc->height;
    img->linear = desc->linear;
    switch (desc->format) {
    case NNXR_IMAGE_RGBA8:
        img->vk_format = VK_FORMAT_R8G8B8A8_SRGB;
        img->bytes_per_pixel = 4;
        break;
    case NNXR_IMAGE_R8:
        img->vk_format = VK_FORMAT_R8_UNORM;
        img->bytes_per_pixel = 1;
        break;
    case NNXR_IMAGE_R32F:
        img->vk_format = VK_FORMAT_R32_SFLOAT;
        img->bytes_per_pixel = 4;
        img->linear = false;
        break;
    default:
        free(img);
        return nnxr_fail(err, "image \"%s\": unknown format %d (expected NNXR_IMAGE_RGBA8, "
                         "_R8 or _R32F)", name, (int)desc->format);
    }
    img->cell_w = desc->cell_width ? desc->cell_width : desc->width;
    img->cell_h = desc->cell_height ? desc->cell_height : desc->height;
    if (img->cell_w > img->width || img->cell_h > img->height) {
        free(img);
        return nnxr_fail(err, "image \"%s\": cell %ux%u is larger than the image %ux%u", name,
                         desc->cell_width, desc->cell_height, desc->width, desc->height);
    }
    uint32_t vk_format = (uint32_t)img->vk_format;
    img->cols = img->width / img->cell_w;
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(d->info->physical_device, img->vk_format, &fp);
    VkFormatFeatureFlags need = VK_FORMAT_FEATURE_SAMPLED_IMAGE_BIT |
                                VK_FORMAT_FEATURE_TRANSFER_DST_BIT;
    if ((fp.optimalTilingFeatures & need) != need) {
        free(img);
        return nnxr_fail(err, "image \"%s\": the device cannot sample format %u", name,
                         vk_format);
    }
    if (img->linear && !(fp.optimalTilingFeatures &
                         VK_FORMAT_FEATURE_SAMPLED_IMAGE_FILTER_LINEAR_BIT))
        img->linear = false;
    VkImageCreateInfo ii = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = img->vk_format,
        .extent = {img->width, img->height, 1},
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VkResult r = vkCreateImage(d->device, &ii, NULL, &img->image);
    if (r != VK_SUCCESS) {
        image_free(d, img);
        return nnxr_fail(err, "image \"%s\": vkCreateImage %ux%u failed (%d)", name,
                         img->width, img->height, r);
    }
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(d->device, img->image, &req);
    uint32_t type;
    if (!nnxr_gpu_find_memory_type(d->gpu, req.memoryTypeBits, 0,
                                   VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &type, err)) {
        image_free(d, img);
        return nnxr_fail_prefix(err, "image \"%s\"", name);
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size, .memoryTypeIndex = type};
    r = vkAllocateMemory(d->device, &ai, NULL, &img->memory);
    if (r != VK_SUCCESS) {
        image_free(d, img);
        return nnxr_fail(err, "image \"%s\": cannot allocate %llu bytes (%d)", name,
                         (unsigned long long)req.size, r);
    }
    vkBindImageMemory(d->device, img->image, img->memory, 0);
    VkImageViewCreateInfo vi = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .image = img->image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = img->vk_format,
        .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
    };
    r = vkCreateImageView(d->device, &vi, NULL, &img->view);
    if (r != VK_SUCCESS) {
        image_free(d, img);
        return nnxr_fail(err, "image \"%s\": vkCreateImageView failed (%d)", name, r);
    }
    /* Cleared once, so that every image is defined and in the sampled layout from the start. */
    image_job job = {.img = img, .clear = true};
    if (!nnxr_gpu_submit_once(d->gpu, record_image_job, &job, err)) {
        image_free(d, img);
        return nnxr_fail_prefix(err, "image \"%s\": clearing", name);
    }
    d->live_images++;
    *out = img;
    return true;
}

static void image_destroy(nnxr_draw *d, nnxr_draw_image *img)
{
    if (!img)
        return;
    nnxr_gpu_wait_idle(d->gpu, NULL);
    image_free(d, img);
    d->live_images--;
}

static bool image_upload(nnxr_draw *d, nnxr_draw_image *img, uint32_t x, uint32_t y,
                         uint32_t w, uint32_t h, const void *pixels, nnxr_error *err)
{
    if (!img || !pixels)
        return nnxr_fail(err, "image upload: no image or no pixels");
    if (w == 0 || h == 0 || x > img->width || y > img->height || w > img->width - x ||
        h > img->height - y)
        return nnxr_fail(err, "image \"%s\": region %ux%u at (%u, %u) is outside the %ux%u "
                         "image", img->name, w, h, x, y, img->width, img->height);
    VkDeviceSize bytes = (VkDeviceSize)w * h * img->bytes_per_pixel;
    nnxr_buffer *staging;
    nnxr_buffer_desc bd = {.name = "image staging", .kind = NNXR_BUFFER_HOST, .size = bytes};
    if (!nnxr_buffer_create(d->gpu, &bd, &staging, err))
        return nnxr_fail_prefix(err, "image \"%s\"", img->name);
    memcpy(staging->mapped, pixels, (size_t)bytes);
    image_job job = {.img = img, .src = staging, .x = x, .y = y, .w = w, .h = h};
    bool ok = nnxr_gpu_submit_once(d->gpu, record_image_job, &job, err);
    nnxr_buffer_destroy(d->gpu, staging);
    return ok || nnxr_fail_prefix(err, "image \"%s\": upload", img->name);
}

static bool image_upload_cell(nnxr_draw *d, nnxr_draw_image *img, uint32_t cell,
                              const void *pixels, nnxr_error *err)
{
    if (!img)
        return nnxr_fail(err, "image upload: no image");
    uint32_t rows = img->height / img->cell_h;
    if (cell >= img->cols * rows)
        return nnxr_fail(err, "image \"%s\": cell %u is past its %u cells", img->name, cell,
                         img->cols * rows);
    return image_upload(d, img, (cell % img->cols) * img->cell_w,
                        (cell / img->cols) * img->cell_h, img->cell_w, img->cell_h, pixels, err);
}

static void image_cell_uv(const nnxr_draw *d, const nnxr_draw_image *img, uint32_t cell,
                          float uv[4])
{
    (void)d;
    uint32_t cx = (cell % img->cols) * img->cell_w, cy = (cell / img->cols) * img->cell_h;
    uv[0] = (float)cx / (float)img->width;
    uv[1] = (float)cy / (float)img->height;
    uv[2] = (float)(cx + img->cell_w) / (float)img->width;
    uv[3] = (float)(cy + img->cell_h) / (float)img->height;
}

static bool image_record_copy(nnxr_draw *d, nnxr_draw_image *img, VkCommandBuffer cmd,
                              const nnxr_buffer *src, VkDeviceSize offset, nnxr_error *err)
{
    (void)d;
    if (!img || !src)
        return nnxr_fail(err, "image copy: no image or no buffer");
    VkDeviceSize bytes = (VkDeviceSize)img->width * img->height * img->bytes_per_pixel;
    if (offset > src->size || bytes > src->size - offset || offset % 4)
        return nnxr_fail(err, "image \"%s\": copying %llu bytes at offset %llu from buffer "
                         "\"%s\" of %llu bytes (the offset must be a multiple of 4)", img->name,
                         (unsigned long long)bytes, (unsigned long long)offset, src->name,
                         (unsigned long long)src->size);
    /* Compute wrote the buffer earlier in this command buffer. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    image_job job = {.img = img, .src = src, .src_offset = offset, .w = img->width,
                     .h = img->height};
    record_image_job(cmd, &job);
    return true;
}

/* ---- batches ---------------------------------------------------------------------------- */

static void bind_range(const nnxr_draw *d, const nnxr_buffer *buf, VkDeviceSize offset,
                       uint32_t stride, source *s)
{
    const VkPhysicalDeviceLimits *l = &d->info->properties.limits;
    VkDeviceSize align = l->minStorageBufferOffsetAlignment ? l->minStorageBufferOffsetAlignment : 4;
    s->buffer = buf;
    s->base = offset / align * align;
    VkDeviceSize left = buf->size - s->base;
    s->range = left < l->maxStorageBufferRange ? left : l->maxStorageBufferRange;
    s->range = s->range / 4 * 4;
    s->offset = (uint32_t)((offset - s->base) / 4);
    s->stride = stride / 4;
}

static void write_params(nnxr_draw_batch *b)
{
    batch_params p;
    memset(&p, 0, sizeof p);
    p.src[0] = b->positions.offset;
    p.src[1] = b->positions.stride;
    p.src[2] = b->labels.offset;
    p.src[3] = b->labels.stride;
    p.mode[0] = (b->positions.buffer ? 1u : 0u) | (b->labels.buffer ? 2u : 0u) |
                (b->image ? 4u : 0u);
    p.mode[1] = (uint32_t)b->style.space;
    p.mode[2] = (uint32_t)b->style.shade;
    p.mode[3] = b->image ? b->image->cols : 0;
    p.style[0] = b->style.glow;
    p.style[1] = b->style.range[0];
    p.style[2] = b->style.range[1];
    p.style[3] = b->style.lod_pixels;
    if (b->image) {
        p.cell[0] = (float)b->image->cell_w / (float)b->image->width;
        p.cell[1] = (float)b->image->cell_h / (float)b->image->height;
    }
    p.cell[2] = (float)(b->style.cube_faces == 6 ? 6 : 3);
    /* Sprites only: every cube is "far" for the point pass. */
    if (b->style.cube_faces == 1)
        p.style[3] = 1e30f;
    memcpy(b->params->mapped, &p, sizeof p);
}

static void write_set(nnxr_draw *d, nnxr_draw_batch *b)
{
    VkDescriptorBufferInfo bi[4] = {
        {b->instances->buffer, 0, b->instances->size},
        {d->dummy->buffer, 0, d->dummy->size},
        {d->dummy->buffer, 0, d->dummy->size},
        {b->params->buffer, 0, sizeof(batch_params)},
    };
    if (b->positions.buffer)
        bi[1] = (VkDescriptorBufferInfo){b->positions.buffer->buffer, b->positions.base,
                                         b->positions.range};
    if (b->labels.buffer)
        bi[2] = (VkDescriptorBufferInfo){b->labels.buffer->buffer, b->labels.base,
                                         b->labels.range};
    nnxr_draw_image *img = b->image ? b->image : d->white;
    VkDescriptorImageInfo ii = {img->linear ? d->linear : d->nearest, img->view,
                                VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL};
    VkWriteDescriptorSet w[5];
    for (uint32_t i = 0; i < 5; i++) {
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = b->set, .dstBinding = i, .descriptorCount = 1};
        if (i < 3) {
            w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            w[i].pBufferInfo = &bi[i];
        } else if (i == 3) {
            w[i].descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
            w[i].pImageInfo = &ii;
        } else {
            w[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
            w[i].pBufferInfo = &bi[3];
        }
    }
    vkUpdateDescriptorSets(d->device, 5, w, 0, NULL);
    write_params(b);
}

/* Indices for `faces` faces (two triangles over four corners each), grown by doubling; a
 * cube of 3 faces shades 12 corners instead of 18 vertices. */
static bool cube_indices(nnxr_draw *d, uint64_t faces)
{
    if (faces <= d->cube_index_faces)
        return true;
    if (faces * 6 * 4 > d->info->properties.limits.maxStorageBufferRange || faces * 4 > UINT32_MAX)
        return false;
    uint64_t cap = d->cube_index_faces ? d->cube_index_faces : 1024;
    while (cap < faces)
        cap *= 2;
    nnxr_buffer *b;
    nnxr_error err;
    nnxr_buffer_desc bd = {.name = "cube indices", .kind = NNXR_BUFFER_HOST,
                           .size = cap * 6 * sizeof(uint32_t),
                           .usage = VK_BUFFER_USAGE_INDEX_BUFFER_BIT};
    if (!nnxr_buffer_create(d->gpu, &bd, &b, &err)) {
        NNXR_ERROR("renderer: %s", err.message);
        return false;
    }
    uint32_t *ix = b->mapped;
    static const uint32_t tri[6] = {0, 1, 2, 0, 2, 3};
    for (uint64_t f = 0; f < cap; f++)
        for (int k = 0; k < 6; k++)
            ix[f * 6 + k] = (uint32_t)(f * 4 + tri[k]);
    /* Grown with a batch's instances, outside any recording (nnxr/draw.h's rule), so the
     * old buffer is in no command buffer still to run. */
    nnxr_buffer_destroy(d->gpu, d->cube_index);
    d->cube_index = b;
    d->cube_index_faces = (uint32_t)cap;
    return true;
}

/* Makes room for `capacity` instances, keeping the first `keep`. */
static bool batch_grow(nnxr_draw *d, nnxr_draw_batch *b, uint32_t capacity, uint32_t keep,
                       nnxr_error *err)
{
    if (capacity <= b->capacity && b->instances)
        return true;
    uint64_t cap = b->capacity ? b->capacity : 16;
    while (cap < capacity)
        cap *= 2;
    VkDeviceSize max_bytes = d->info->properties.limits.maxStorageBufferRange;
    VkDeviceSize unit = (VkDeviceSize)b->words * 4;
    if ((VkDeviceSize)capacity * unit > max_bytes)
        return nnxr_fail(err, "batch \"%s\" (%s): %u instances of %llu bytes exceed the "
                         "device's maxStorageBufferRange (%llu bytes)", b->name,
                         kind_name(b->kind), capacity, (unsigned long long)unit,
                         (unsigned long long)max_bytes);
    if (cap * unit > max_bytes)
        cap = max_bytes / unit;
    nnxr_buffer *nb;
    nnxr_buffer_desc bd = {.name = b->name, .kind = NNXR_BUFFER_HOST, .size = cap * unit};
    if (!nnxr_buffer_create(d->gpu, &bd, &nb, err))
        return nnxr_fail_prefix(err, "batch \"%s\"", b->name);
    memset(nb->mapped, 0, (size_t)(cap * unit));
    if (b->instances) {
        memcpy(nb->mapped, b->instances->mapped, (size_t)keep * (size_t)unit);
        nnxr_buffer_destroy(d->gpu, b->instances);
    }
    b->instances = nb;
    b->capacity = (uint32_t)cap;
    b->set_dirty = true;
    /* Cubes draw indexed: enough indices for every instance with six faces. */
    if (b->kind == NNXR_DRAW_CUBES && !cube_indices(d, (uint64_t)b->capacity * 6))
        return nnxr_fail(err, "batch \"%s\": no room for the indices of %u cubes", b->name,
                         b->capacity);
    return true;
}

static void batch_destroy(nnxr_draw *d, nnxr_draw_batch *b)
{
    if (!b)
        return;
    nnxr_gpu_wait_idle(d->gpu, NULL);
    if (b->pool)
        vkDestroyDescriptorPool(d->device, b->pool, NULL);
    nnxr_buffer_destroy(d->gpu, b->instances);
    nnxr_buffer_destroy(d->gpu, b->params);
    free(b);
    d->live_batches--;
}

static nnxr_draw_style default_style(nnxr_draw_kind kind, const nnxr_draw_style *s)
{
    nnxr_draw_style out = *s;
    if (out.cube_faces != 6 && out.cube_faces != 1)
        out.cube_faces = 3;
    if (kind == NNXR_DRAW_TEXT && out.shade == NNXR_SHADE_SOLID)
        out.shade = NNXR_SHADE_MASK;
    if (!(out.glow >= 0.0f) || !isfinite(out.glow))
        out.glow = 0.0f;
    return out;
}

static bool batch_create(nnxr_draw *d, const nnxr_draw_batch_desc *desc, nnxr_draw_batch **out,
                         nnxr_error *err)
{
    const char *name = desc && desc->name ? desc->name : "batch";
    if (!desc || !words_of(desc->kind))
        return nnxr_fail(err, "batch \"%s\": unknown kind %d (expected NNXR_DRAW_SPHERES, "
                         "_LINES, _CUBES, _QUADS, _MARKERS or _TEXT)", name,
                         desc ? (int)desc->kind : -1);
    if ((unsigned)desc->style.space > NNXR_SPACE_SCREEN ||
        (unsigned)desc->style.shade > NNXR_SHADE_DIVERGING)
        return nnxr_fail(err, "batch \"%s\": unknown space %d or shade %d", name,
                         (int)desc->style.space, (int)desc->style.shade);
    nnxr_draw_batch *b = calloc(1, sizeof *b);
    if (!b)
        return nnxr_fail(err, "batch \"%s\": out of memory", name);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->kind = desc->kind;
    b->words = words_of(desc->kind);
    b->style = default_style(desc->kind, &desc->style);
    if (desc->kind == NNXR_DRAW_TEXT)
        b->image = d->font;
    d->live_batches++;
    nnxr_buffer_desc pd = {.name = "batch params", .kind = NNXR_BUFFER_HOST,
                           .size = sizeof(batch_params),
                           .usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT};
    VkDescriptorPoolSize sizes[3] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3},
                                     {VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1},
                                     {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, 1}};
    VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = 1, .poolSizeCount = 3, .pPoolSizes = sizes};
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorSetCount = 1, .pSetLayouts = &d->set_layout};
    bool ok = nnxr_buffer_create(d->gpu, &pd, &b->params, err);
    if (ok && vkCreateDescriptorPool(d->device, &pi, NULL, &b->pool) != VK_SUCCESS)
        ok = nnxr_fail(err, "batch \"%s\": vkCreateDescriptorPool failed", name);
    if (ok) {
        ai.descriptorPool = b->pool;
        if (vkAllocateDescriptorSets(d->device, &ai, &b->set) != VK_SUCCESS)
            ok = nnxr_fail(err, "batch \"%s\": vkAllocateDescriptorSets failed", name);
    }
    ok = ok && batch_grow(d, b, desc->capacity ? desc->capacity : 16, 0, err);
    if (!ok) {
        batch_destroy(d, b);
        return false;
    }
    *out = b;
    return true;
}

static void batch_set_style(nnxr_draw *d, nnxr_draw_batch *b, const nnxr_draw_style *style)
{
    (void)d;
    if (!b || !style || (unsigned)style->space > NNXR_SPACE_SCREEN ||
        (unsigned)style->shade > NNXR_SHADE_DIVERGING)
        return;
    b->style = default_style(b->kind, style);
    write_params(b);
}

static bool batch_write(nnxr_draw *d, nnxr_draw_batch *b, uint32_t first, const void *instances,
                        uint32_t count, nnxr_error *err)
{
    if (!b)
        return nnxr_fail(err, "batch write: no batch");
    if (first > b->count)
        return nnxr_fail(err, "batch \"%s\": writing at %u leaves a gap after its %u "
                         "instances", b->name, first, b->count);
    if (count && !instances)
        return nnxr_fail(err, "batch \"%s\": no instances to write", b->name);
    if ((uint64_t)first + count > UINT32_MAX)
        return nnxr_fail(err, "batch \"%s\": too many instances", b->name);
    if (!batch_grow(d, b, first + count, b->count, err))
        return false;
    if (count)
        memcpy((uint8_t *)b->instances->mapped + (size_t)first * b->words * 4, instances,
               (size_t)count * b->words * 4);
    b->count = first + count;
    return true;
}

static bool batch_resize(nnxr_draw *d, nnxr_draw_batch *b, uint32_t count, nnxr_error *err)
{
    if (!b)
        return nnxr_fail(err, "batch resize: no batch");
    if (!batch_grow(d, b, count, b->count < count ? b->count : count, err))
        return false;
    if (count > b->count)
        memset((uint8_t *)b->instances->mapped + (size_t)b->count * b->words * 4, 0,
               (size_t)(count - b->count) * b->words * 4);
    b->count = count;
    return true;
}

static void *batch_data(nnxr_draw *d, nnxr_draw_batch *b)
{
    (void)d;
    return b && b->count ? b->instances->mapped : NULL;
}

static uint32_t batch_count(const nnxr_draw *d, const nnxr_draw_batch *b)
{
    (void)d;
    return b ? b->count : 0;
}

static bool set_source(nnxr_draw *d, nnxr_draw_batch *b, source *s, const char *what,
                       const nnxr_buffer *buf, VkDeviceSize offset, uint32_t stride,
                       uint32_t min_bytes, nnxr_error *err)
{
    if (!b)
        return nnxr_fail(err, "batch %s: no batch", what);
    if (!buf) {
        memset(s, 0, sizeof *s);
        b->set_dirty = true;
        return true;
    }
    if (offset % 4 || stride % 4 || stride < min_bytes)
        return nnxr_fail(err, "batch \"%s\": %s from buffer \"%s\": offset %llu and stride %u "
                         "must be multiples of 4, the stride at least %u", b->name, what,
                         buf->name, (unsigned long long)offset, stride, min_bytes);
    if (!(buf->usage & VK_BUFFER_USAGE_STORAGE_BUFFER_BIT) || offset >= buf->size)
        return nnxr_fail(err, "batch \"%s\": %s from buffer \"%s\": offset %llu is past its "
                         "%llu bytes", b->name, what, buf->name, (unsigned long long)offset,
                         (unsigned long long)buf->size);
    bind_range(d, buf, offset, stride, s);
    b->set_dirty = true;
    return true;
}

static bool batch_positions(nnxr_draw *d, nnxr_draw_batch *b, const nnxr_buffer *buf,
                            VkDeviceSize offset, uint32_t stride, nnxr_error *err)
{
    if (b && buf && b->kind != NNXR_DRAW_SPHERES && b->kind != NNXR_DRAW_CUBES &&
        b->kind != NNXR_DRAW_MARKERS)
        return nnxr_fail(err, "batch \"%s\": positions from a buffer are for spheres, cubes "
                         "and markers, not %s", b->name, kind_name(b->kind));
    return set_source(d, b, &b->positions, "positions", buf, offset, stride, 12, err);
}

static bool batch_labels(nnxr_draw *d, nnxr_draw_batch *b, const nnxr_buffer *buf,
                         VkDeviceSize offset, uint32_t stride, nnxr_error *err)
{
    if (b && buf && b->kind != NNXR_DRAW_SPHERES && b->kind != NNXR_DRAW_CUBES &&
        b->kind != NNXR_DRAW_MARKERS)
        return nnxr_fail(err, "batch \"%s\": labels from a buffer are for spheres, cubes and "
                         "markers, not %s", b->name, kind_name(b->kind));
    return set_source(d, b, &b->labels, "labels", buf, offset, stride, 4, err);
}

static bool batch_image(nnxr_draw *d, nnxr_draw_batch *b, nnxr_draw_image *img,
                        nnxr_error *err)
{
    if (!b)
        return nnxr_fail(err, "batch image: no batch");
    if (img && b->kind != NNXR_DRAW_QUADS && b->kind != NNXR_DRAW_CUBES &&
        b->kind != NNXR_DRAW_TEXT)
        return nnxr_fail(err, "batch \"%s\": images are for quads and cubes, not %s", b->name,
                         kind_name(b->kind));
    b->image = img ? img : b->kind == NNXR_DRAW_TEXT ? d->font : NULL;
    b->set_dirty = true;
    write_params(b);
    return true;
}

static VkPipeline get_pipe(nnxr_draw *d, int i, uint32_t shade);

static void push_view(nnxr_draw *d, VkCommandBuffer cmd, const nnxr_view *view)
{
    view_push p;
    mat4 v, pr, vp;
    memcpy(v, view->view, sizeof v);
    memcpy(pr, view->proj, sizeof pr);
    glm_mat4_mul(pr, v, vp);
    memcpy(p.view_proj, vp, sizeof vp);
    /* The view matrix's rotation rows are the camera's axes in world space. */
    p.right[0] = v[0][0], p.right[1] = v[1][0], p.right[2] = v[2][0];
    p.up[0] = v[0][1], p.up[1] = v[1][1], p.up[2] = v[2][1];
    p.right[3] = (float)view->width;
    p.up[3] = (float)view->height;
    memcpy(p.eye, view->eye, 3 * sizeof(float));
    p.eye[3] = fabsf(pr[1][1]) * 0.5f * (float)view->height;
    vkCmdPushConstants(cmd, d->layout, VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT,
                       0, sizeof p, &p);
}

static void record(nnxr_draw *d, nnxr_draw_batch *b, VkCommandBuffer cmd, const nnxr_view *view)
{
    if (!d->prepared || !b || !b->count || !view)
        return;
    if (b->set_dirty) {
        write_set(d, b);
        b->set_dirty = false;
    }
    int pipes[2] = {-1, -1};
    uint32_t per = 6;
    switch (b->kind) {
    case NNXR_DRAW_SPHERES:
        pipes[0] = P_SPHERE;
        if (b->style.glow > 0.0f)
            pipes[1] = P_SPHERE_GLOW;
        break;
    case NNXR_DRAW_LINES:
        pipes[0] = P_LINE;
        per = 2;
        break;
    case NNXR_DRAW_CUBES:
        pipes[0] = b->style.cube_faces == 6 ? P_CUBE6 : P_CUBE3;
        per = b->style.cube_faces == 6 ? 36 : 18;
        if (b->style.cube_faces == 1 && d->points)
            pipes[0] = -1; /* sprites only */
        if (b->style.cube_faces != 6 && (b->style.lod_pixels > 0.0f || b->style.cube_faces == 1) &&
            d->points)
            pipes[1] = P_CUBE_POINT;
        break;
    case NNXR_DRAW_QUADS:
    case NNXR_DRAW_TEXT:
        pipes[0] = P_QUAD;
        break;
    case NNXR_DRAW_MARKERS:
        pipes[0] = P_MARKER;
        per = 18;
        break;
    }
    uint64_t verts = (uint64_t)b->count * per;
    if (verts > UINT32_MAX)
        verts = UINT32_MAX / per * per;
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, d->layout, 0, 1, &b->set, 0,
                            NULL);
    push_view(d, cmd, view);
    for (int i = 0; i < 2; i++) {
        if (pipes[i] < 0)
            continue;
        bool shaded = pipes[i] == P_CUBE3 || pipes[i] == P_CUBE6 || pipes[i] == P_CUBE_POINT ||
                      pipes[i] == P_QUAD;
        VkPipeline pl = get_pipe(d, pipes[i], shaded ? (uint32_t)b->style.shade : 0);
        if (!pl)
            continue;
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, pl);
        if (pipes[i] == P_CUBE3 || pipes[i] == P_CUBE6) {
            uint64_t faces = (uint64_t)b->count * (pipes[i] == P_CUBE6 ? 6 : 3);
            if (faces > d->cube_index_faces)
                continue; /* cannot happen: batch_grow made room */
            vkCmdBindIndexBuffer(cmd, d->cube_index->buffer, 0, VK_INDEX_TYPE_UINT32);
            vkCmdDrawIndexed(cmd, (uint32_t)(faces * 6), 1, 0, 0, 0);
        } else {
            vkCmdDraw(cmd, pipes[i] == P_CUBE_POINT ? b->count : (uint32_t)verts, 1, 0, 0);
        }
    }
}

/* ---- text ------------------------------------------------------------------------------- */

static void text_size(const nnxr_draw *d, const char *text, float height, float *width,
                      float *box_height)
{
    (void)d;
    uint32_t lines = 1, col = 0, widest = 0;
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '\n') {
            lines++;
            col = 0;
        } else if (++col > widest) {
            widest = col;
        }
    }
    float cw = height * (float)NNXR_FONT_CELL_W / (float)NNXR_FONT_CELL_H;
    if (width)
        *width = cw * (float)widest;
    if (box_height)
        *box_height = height * (float)lines;
}

static bool text_add(nnxr_draw *d, nnxr_draw_batch *b, const char *text, const float pos[3],
                     float height, const float color[4], uint32_t align, nnxr_error *err)
{
    if (!b || b->kind != NNXR_DRAW_TEXT)
        return nnxr_fail(err, "text: batch \"%s\" is not a text batch", b ? b->name : "(none)");
    if (!text || !pos || !color || !(height > 0.0f) || !isfinite(height))
        return nnxr_fail(err, "text on batch \"%s\": needs text, a position, a colour and a "
                         "height > 0", b->name);
    size_t glyphs = 0;
    for (const char *p = text; *p; p++)
        glyphs += *p != ' ' && *p != '\n';
    if (!glyphs)
        return true;
    if (b->count + glyphs > UINT32_MAX)
        return nnxr_fail(err, "text: too many glyphs on batch \"%s\"", b->name);
    if (!batch_grow(d, b, b->count + (uint32_t)glyphs, b->count, err))
        return false;
    float w, h;
    text_size(d, text, height, &w, &h);
    float cw = height * (float)NNXR_FONT_CELL_W / (float)NNXR_FONT_CELL_H;
    float ax = (align & 3u) == NNXR_ALIGN_CENTER ? -0.5f * w
               : (align & 3u) == NNXR_ALIGN_RIGHT ? -w : 0.0f;
    float ay = (align & 12u) == NNXR_ALIGN_MIDDLE ? -0.5f * h
               : (align & 12u) == NNXR_ALIGN_BOTTOM ? -h : 0.0f;
    bool screen = b->style.space == NNXR_SPACE_SCREEN;
    bool billboard = b->style.space == NNXR_SPACE_BILLBOARD;
    /* Screen space runs down (+y); world and billboard text runs down as −y. */
    float down = screen ? 1.0f : -1.0f;
    nnxr_quad *q = (nnxr_quad *)b->instances->mapped + b->count;
    uint32_t line = 0, col = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            line++;
            col = 0;
            continue;
        }
        unsigned c = *p;
        if (c < NNXR_FONT_FIRST || c >= NNXR_FONT_FIRST + NNXR_FONT_GLYPHS)
            c = '?';
        if (c != ' ') {
            uint32_t g = c - NNXR_FONT_FIRST;
            float x = ax + (float)col * cw, y = ay + (float)line * height;
            memset(q, 0, sizeof *q);
            if (billboard) {
                memcpy(q->origin, pos, 3 * sizeof(float));
                q->offset[0] = x;
                q->offset[1] = -y;
            } else {
                q->origin[0] = pos[0] + x;
                q->origin[1] = pos[1] + down * y;
                q->origin[2] = pos[2];
            }
            q->u[0] = cw;
            q->v[1] = down * height;
            uint32_t gx = (g % NNXR_FONT_COLS) * NNXR_FONT_CELL_W;
            uint32_t gy = (g / NNXR_FONT_COLS) * NNXR_FONT_CELL_H;
            q->uv[0] = (float)gx / (float)NNXR_FONT_ATLAS_W;
            q->uv[1] = (float)gy / (float)NNXR_FONT_ATLAS_H;
            q->uv[2] = (float)(gx + NNXR_FONT_CELL_W) / (float)NNXR_FONT_ATLAS_W;
            q->uv[3] = (float)(gy + NNXR_FONT_CELL_H) / (float)NNXR_FONT_ATLAS_H;
            memcpy(q->color, color, 4 * sizeof(float));
            q++;
            b->count++;
        }
        col++;
    }
    return true;
}

/* ---- pipelines -------------------------------------------------------------------------- */

typedef struct pipe_desc {
    int vert, frag;
    VkPrimitiveTopology topology;
    VkCullModeFlags cull;
    bool depth_write, blend, glow;
} pipe_desc;

static const pipe_desc pipe_descs[P_COUNT] = {
    [P_SPHERE] = {M_SPHERE_V, M_SPHERE_F, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
                  VK_CULL_MODE_NONE, true, true, false},
    [P_SPHERE_GLOW] = {M_SPHERE_V, M_SPHERE_F, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
                       VK_CULL_MODE_NONE, false, true, true},
    [P_LINE] = {M_LINE_V, M_LINE_F, VK_PRIMITIVE_TOPOLOGY_LINE_LIST, VK_CULL_MODE_NONE, false,
                true, false},
    [P_CUBE3] = {M_CUBE_V, M_CUBE_F, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST, VK_CULL_MODE_NONE,
                 true, false, false},
    [P_CUBE6] = {M_CUBE_V, M_CUBE_F, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
                 VK_CULL_MODE_BACK_BIT, true, false, false},
    [P_CUBE_POINT] = {M_CUBEP_V, M_CUBEP_F, VK_PRIMITIVE_TOPOLOGY_POINT_LIST, VK_CULL_MODE_NONE,
                      true, false, false},
    [P_QUAD] = {M_QUAD_V, M_QUAD_F, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST, VK_CULL_MODE_NONE,
                true, true, false},
    [P_MARKER] = {M_MARKER_V, M_MARKER_F, VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST,
                  VK_CULL_MODE_NONE, true, false, false},
};

static void release(nnxr_draw *d)
{
    if (!d)
        return;
    bool any = false;
    for (int i = 0; i < P_COUNT; i++)
        for (int k = 0; k < SHADES; k++)
            any = any || d->pipes[i][k];
    if (any)
        nnxr_gpu_wait_idle(d->gpu, NULL);
    for (int i = 0; i < P_COUNT; i++)
        for (int k = 0; k < SHADES; k++) {
            if (d->pipes[i][k])
                vkDestroyPipeline(d->device, d->pipes[i][k], NULL);
            d->pipes[i][k] = VK_NULL_HANDLE;
        }
    d->prepared = false;
}

static bool make_pipe(nnxr_draw *d, int i, uint32_t shade, nnxr_error *err)
{
    const nnxr_render_target_info *t = &d->target;
    const pipe_desc *pd = &pipe_descs[i];
    struct {
        VkBool32 glow;
        uint32_t shade;
    } spec = {pd->glow, shade};
    VkSpecializationMapEntry me[2] = {{0, 0, 4}, {1, 4, 4}};
    VkSpecializationInfo si = {2, me, sizeof spec, &spec};
    VkPipelineShaderStageCreateInfo stages[2] = {
        {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
         .stage = VK_SHADER_STAGE_VERTEX_BIT, .module = d->modules[pd->vert],
         .pName = "main", .pSpecializationInfo = &si},
        {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
         .stage = VK_SHADER_STAGE_FRAGMENT_BIT, .module = d->modules[pd->frag],
         .pName = "main", .pSpecializationInfo = &si},
    };
    VkPipelineVertexInputStateCreateInfo vin = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    VkPipelineInputAssemblyStateCreateInfo ia = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO,
        .topology = pd->topology};
    VkPipelineViewportStateCreateInfo vp = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO,
        .viewportCount = 1, .scissorCount = 1};
    /* Faces are counter-clockwise seen from outside in world space (cube.vert). */
    VkPipelineRasterizationStateCreateInfo rs = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO,
        .polygonMode = VK_POLYGON_MODE_FILL,
        .cullMode = pd->cull,
        .frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE,
        .lineWidth = 1.0f};
    VkPipelineMultisampleStateCreateInfo ms = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO,
        .rasterizationSamples = t->samples ? t->samples : VK_SAMPLE_COUNT_1_BIT};
    VkPipelineDepthStencilStateCreateInfo ds = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO,
        .depthTestEnable = t->depth_format != VK_FORMAT_UNDEFINED,
        .depthWriteEnable = pd->depth_write && t->depth_format != VK_FORMAT_UNDEFINED,
        .depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL};
    VkPipelineColorBlendAttachmentState cba = {
        .blendEnable = pd->blend,
        .srcColorBlendFactor = VK_BLEND_FACTOR_SRC_ALPHA,
        .dstColorBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA,
        .colorBlendOp = VK_BLEND_OP_ADD,
        .srcAlphaBlendFactor = VK_BLEND_FACTOR_ONE,
        .dstAlphaBlendFactor = VK_BLEND_FACTOR_ONE_MINUS_SRC_ALPHA,
        .alphaBlendOp = VK_BLEND_OP_ADD,
        .colorWriteMask = 0xf};
    VkPipelineColorBlendStateCreateInfo cb = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO,
        .attachmentCount = 1, .pAttachments = &cba};
    VkDynamicState dyn[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
    VkPipelineDynamicStateCreateInfo dy = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO,
        .dynamicStateCount = 2, .pDynamicStates = dyn};
    VkGraphicsPipelineCreateInfo gi = {
        .sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO,
        .stageCount = 2, .pStages = stages,
        .pVertexInputState = &vin, .pInputAssemblyState = &ia, .pViewportState = &vp,
        .pRasterizationState = &rs, .pMultisampleState = &ms, .pDepthStencilState = &ds,
        .pColorBlendState = &cb, .pDynamicState = &dy,
        .layout = d->layout, .renderPass = t->render_pass, .subpass = 0};
    VkResult r = vkCreateGraphicsPipelines(d->device, d->info->pipeline_cache, 1, &gi, NULL,
                                           &d->pipes[i][shade]);
    if (r != VK_SUCCESS) {
        d->pipes[i][shade] = VK_NULL_HANDLE;
        return nnxr_fail(err, "renderer: creating the %s pipeline (shade %u) failed (%d)",
                         module_names[pd->vert], shade, r);
    }
    return true;
}

/* The pipeline of a primitive with a shade, made on first use; NULL (logged) on failure. */
static VkPipeline get_pipe(nnxr_draw *d, int i, uint32_t shade)
{
    if (shade >= SHADES)
        return VK_NULL_HANDLE;
    if (!d->pipes[i][shade]) {
        nnxr_error err;
        if (!make_pipe(d, i, shade, &err)) {
            NNXR_ERROR("%s", err.message);
            return VK_NULL_HANDLE;
        }
    }
    return d->pipes[i][shade];
}

static bool prepare(nnxr_draw *d, const nnxr_render_target_info *t, nnxr_error *err)
{
    release(d);
    if (!t || !t->render_pass)
        return nnxr_fail(err, "renderer: prepare needs a target with a render pass");
    d->target = *t;
    /* Every primitive's plain pipeline now, so that a target the renderer cannot draw into
     * fails here with a message; the other shades follow on first use. */
    for (int i = 0; i < P_COUNT; i++)
        if ((i != P_CUBE_POINT || d->points) && !make_pipe(d, i, 0, err)) {
            release(d);
            return false;
        }
    d->prepared = true;
    return true;
}

/* ---- the context ------------------------------------------------------------------------- */

static void draw_destroy(nnxr_draw *d)
{
    if (!d)
        return;
    release(d);
    nnxr_gpu_wait_idle(d->gpu, NULL);
    if (d->font) {
        image_free(d, d->font);
        d->live_images--;
    }
    if (d->white) {
        image_free(d, d->white);
        d->live_images--;
    }
    if (d->live_batches || d->live_images)
        NNXR_WARN("renderer: a drawing context was destroyed with %u batch(es) and %u "
                  "image(s) still alive (their owner must destroy them first)",
                  d->live_batches, d->live_images);
    nnxr_buffer_destroy(d->gpu, d->dummy);
    nnxr_buffer_destroy(d->gpu, d->cube_index);
    for (int i = 0; i < M_COUNT; i++)
        if (d->modules[i])
            vkDestroyShaderModule(d->device, d->modules[i], NULL);
    if (d->layout)
        vkDestroyPipelineLayout(d->device, d->layout, NULL);
    if (d->set_layout)
        vkDestroyDescriptorSetLayout(d->device, d->set_layout, NULL);
    if (d->nearest)
        vkDestroySampler(d->device, d->nearest, NULL);
    if (d->linear)
        vkDestroySampler(d->device, d->linear, NULL);
    free(d);
}

static bool make_sampler(nnxr_draw *d, VkFilter filter, VkSampler *out, nnxr_error *err)
{
    VkSamplerCreateInfo si = {
        .sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO,
        .magFilter = filter,
        .minFilter = filter,
        .mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST,
        .addressModeU = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
        .addressModeV = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
        .addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE,
        .maxLod = 0.0f,
    };
    if (vkCreateSampler(d->device, &si, NULL, out) != VK_SUCCESS)
        return nnxr_fail(err, "renderer: vkCreateSampler failed");
    return true;
}

bool nnxr_draw_create_gpu(nnxr_gpu *gpu, nnxr_draw **out, nnxr_error *err)
{
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    if (!info->queue_graphics)
        return nnxr_fail(err, "renderer: the device's queue does not do graphics (the GPU "
                         "was made for compute only)");
    nnxr_draw *d = calloc(1, sizeof *d);
    if (!d)
        return nnxr_fail(err, "renderer: out of memory");
    d->gpu = gpu;
    d->info = info;
    d->device = info->device;
    d->points = info->features.largePoints && info->properties.limits.pointSizeRange[1] >= 16.0f;
    VkShaderStageFlags stages = VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT;
    VkDescriptorSetLayoutBinding lb[5];
    for (uint32_t i = 0; i < 5; i++)
        lb[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = i < 3 ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                              : i == 3 ? VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER
                                       : VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER,
            .descriptorCount = 1,
            .stageFlags = stages};
    VkDescriptorSetLayoutCreateInfo li = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = 5, .pBindings = lb};
    VkPushConstantRange pcr = {stages, 0, sizeof(view_push)};
    bool ok = true;
    if (vkCreateDescriptorSetLayout(d->device, &li, NULL, &d->set_layout) != VK_SUCCESS)
        ok = nnxr_fail(err, "renderer: vkCreateDescriptorSetLayout failed");
    if (ok) {
        VkPipelineLayoutCreateInfo pli = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1, .pSetLayouts = &d->set_layout,
            .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr};
        if (vkCreatePipelineLayout(d->device, &pli, NULL, &d->layout) != VK_SUCCESS)
            ok = nnxr_fail(err, "renderer: vkCreatePipelineLayout failed");
    }
    for (int i = 0; ok && i < M_COUNT; i++) {
        const nnxr_shader_blob *blob = nnxr_shader_find(module_names[i]);
        if (!blob) {
            ok = nnxr_fail(err, "renderer: the shader %s is not in this build", module_names[i]);
            break;
        }
        VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                       .codeSize = blob->size, .pCode = blob->code};
        if (vkCreateShaderModule(d->device, &mi, NULL, &d->modules[i]) != VK_SUCCESS)
            ok = nnxr_fail(err, "renderer: vkCreateShaderModule %s failed", module_names[i]);
    }
    ok = ok && make_sampler(d, VK_FILTER_NEAREST, &d->nearest, err) &&
         make_sampler(d, VK_FILTER_LINEAR, &d->linear, err);
    nnxr_buffer_desc bd = {.name = "renderer dummy", .kind = NNXR_BUFFER_DEVICE, .size = 64};
    ok = ok && nnxr_buffer_create(gpu, &bd, &d->dummy, err);
    nnxr_draw_image_desc wd = {.name = "white", .format = NNXR_IMAGE_R8, .width = 1,
                               .height = 1};
    nnxr_draw_image_desc fd = {.name = "font", .format = NNXR_IMAGE_R8,
                               .width = NNXR_FONT_ATLAS_W, .height = NNXR_FONT_ATLAS_H};
    uint8_t white = 255;
    uint8_t font_pixels[NNXR_FONT_ATLAS_W * NNXR_FONT_ATLAS_H];
    nnxr_font_rasterize(font_pixels);
    ok = ok && image_create(d, &wd, &d->white, err) &&
         image_upload(d, d->white, 0, 0, 1, 1, &white, err) &&
         image_create(d, &fd, &d->font, err) &&
         image_upload(d, d->font, 0, 0, NNXR_FONT_ATLAS_W, NNXR_FONT_ATLAS_H, font_pixels, err);
    if (!ok) {
        draw_destroy(d);
        return false;
    }
    *out = d;
    return true;
}

static bool draw_create(const nnxr_host *host, nnxr_draw **out, nnxr_error *err)
{
    const nnxr_gpu_api *g = host ? host->service(host, NNXR_SERVICE_GPU) : NULL;
    if (!g)
        return nnxr_fail(err, "renderer: the host has no GPU service (the Vulkan device could "
                         "not be made)");
    /* The engine's own gpu service: its ctx is the nnxr_gpu (gpu/gpu.h). */
    return nnxr_draw_create_gpu(g->ctx, out, err);
}

const nnxr_render_api *nnxr_render_api_get(void)
{
    static const nnxr_render_api api = {
        .size = sizeof(nnxr_render_api),
        .create = draw_create,
        .destroy = draw_destroy,
        .prepare = prepare,
        .release = release,
        .batch_create = batch_create,
        .batch_destroy = batch_destroy,
        .batch_set_style = batch_set_style,
        .batch_write = batch_write,
        .batch_resize = batch_resize,
        .batch_data = batch_data,
        .batch_count = batch_count,
        .batch_positions = batch_positions,
        .batch_labels = batch_labels,
        .batch_image = batch_image,
        .record = record,
        .image_create = image_create,
        .image_destroy = image_destroy,
        .image_upload = image_upload,
        .image_upload_cell = image_upload_cell,
        .image_cell_uv = image_cell_uv,
        .image_record_copy = image_record_copy,
        .text_add = text_add,
        .text_size = text_size,
    };
    return &api;
}
