/* gpu/buffer.c — buffers and their memory: the memory type for each kind, size limits
 * (maxStorageBufferRange, maxMemoryAllocationSize, heap size), and synchronous upload and
 * readback, either through the shared staging buffer or by mapping device memory directly when
 * it is host-visible. */
#include "gpu/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* The size of the buffer's memory (flushes must not run past it). */
static VkDeviceSize alloc_size_of(nnxr_gpu *gpu, const nnxr_buffer *b)
{
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(gpu->info.device, b->buffer, &req);
    return req.size;
}

VkResult nnxr_gpu_flush_range(nnxr_gpu *gpu, VkDeviceMemory memory, VkDeviceSize alloc_size,
                              VkDeviceSize offset, VkDeviceSize size, bool invalidate)
{
    VkDeviceSize atom = gpu->info.properties.limits.nonCoherentAtomSize;
    if (atom == 0)
        atom = 1;
    VkDeviceSize start = offset / atom * atom;
    VkDeviceSize end = (offset + size + atom - 1) / atom * atom;
    VkMappedMemoryRange r = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                             .memory = memory,
                             .offset = start,
                             .size = end >= alloc_size ? VK_WHOLE_SIZE : end - start};
    return invalidate ? vkInvalidateMappedMemoryRanges(gpu->info.device, 1, &r)
                      : vkFlushMappedMemoryRanges(gpu->info.device, 1, &r);
}

/* Allocates and binds memory for b; tries the preferred type first, then any type with the
 * required flags (a small device-local + host-visible heap may be full). */
static bool allocate(nnxr_gpu *gpu, VkBuffer b, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags preferred, VkDeviceMemory *memory, uint32_t *type,
                     VkDeviceSize *alloc_size, const char *name, nnxr_error *err)
{
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(gpu->info.device, b, &req);
    const VkPhysicalDeviceMemoryProperties *mp = &gpu->info.memory;
    VkResult res = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint32_t t;
        if (!nnxr_gpu_find_memory_type(gpu, req.memoryTypeBits, required,
                                       attempt == 0 ? preferred : 0, &t, err))
            return nnxr_fail_prefix(err, "buffer \"%s\"", name);
        if (attempt == 1 && t == *type)
            break; /* the same type failed already */
        VkDeviceSize heap = mp->memoryHeaps[mp->memoryTypes[t].heapIndex].size;
        if (req.size > heap) {
            res = VK_ERROR_OUT_OF_DEVICE_MEMORY;
            *type = t;
            continue;
        }
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                   .allocationSize = req.size,
                                   .memoryTypeIndex = t};
        res = vkAllocateMemory(gpu->info.device, &ai, NULL, memory);
        *type = t;
        if (res == VK_SUCCESS)
            break;
        if (res != VK_ERROR_OUT_OF_DEVICE_MEMORY && res != VK_ERROR_OUT_OF_HOST_MEMORY)
            break;
    }
    if (res != VK_SUCCESS) {
        *memory = VK_NULL_HANDLE;
        return nnxr_fail(err, "buffer \"%s\": allocating %llu bytes failed: %s", name,
                         (unsigned long long)req.size, nnxr_vk_result_name(res));
    }
    *alloc_size = req.size;
    res = vkBindBufferMemory(gpu->info.device, b, *memory, 0);
    if (res != VK_SUCCESS) {
        vkFreeMemory(gpu->info.device, *memory, NULL);
        *memory = VK_NULL_HANDLE;
        return nnxr_fail(err, "buffer \"%s\": vkBindBufferMemory failed: %s", name,
                         nnxr_vk_result_name(res));
    }
    return true;
}

bool nnxr_buffer_create(nnxr_gpu *gpu, const nnxr_buffer_desc *desc, nnxr_buffer **out,
                        nnxr_error *err)
{
    *out = NULL;
    const char *name = desc->name ? desc->name : "(unnamed)";
    const VkPhysicalDeviceLimits *lim = &gpu->info.properties.limits;
    if (desc->kind != NNXR_BUFFER_DEVICE && desc->kind != NNXR_BUFFER_HOST &&
        desc->kind != NNXR_BUFFER_READBACK)
        return nnxr_fail(err, "buffer \"%s\": unknown kind %d", name, (int)desc->kind);
    if (desc->size == 0)
        return nnxr_fail(err, "buffer \"%s\": size is 0 (expected at least 1 byte)", name);
    if (desc->size > gpu->info.max_memory_allocation_size)
        return nnxr_fail(err,
                         "buffer \"%s\": %llu bytes exceed the device's "
                         "maxMemoryAllocationSize (%llu bytes); split the data",
                         name, (unsigned long long)desc->size,
                         (unsigned long long)gpu->info.max_memory_allocation_size);
    if (desc->size > lim->maxStorageBufferRange && !desc->split_binding)
        return nnxr_fail(err,
                         "buffer \"%s\": %llu bytes exceed the device's maxStorageBufferRange "
                         "(%u bytes), the most a shader can see; split the data across "
                         "buffers, or set split_binding and bind it in sub-ranges",
                         name, (unsigned long long)desc->size, lim->maxStorageBufferRange);

    nnxr_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return nnxr_fail(err, "buffer \"%s\": out of memory", name);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->size = desc->size;
    b->kind = desc->kind;
    /* Texel usage too: engine kernels may read any buffer through texel-buffer views
     * (nnxr_kernel_create_typed). */
    b->usage = desc->usage | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
               VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = desc->size,
                              .usage = b->usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult res = vkCreateBuffer(gpu->info.device, &bci, NULL, &b->buffer);
    if (res != VK_SUCCESS) {
        free(b);
        return nnxr_fail(err, "buffer \"%s\" (%llu bytes): vkCreateBuffer failed: %s", name,
                         (unsigned long long)desc->size, nnxr_vk_result_name(res));
    }

    VkMemoryPropertyFlags required = 0, preferred = 0;
    switch (desc->kind) {
    case NNXR_BUFFER_DEVICE:
        /* The first device-local type is the driver's fastest (types are ordered so). */
        required = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
        break;
    case NNXR_BUFFER_HOST:
        required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
        break;
    case NNXR_BUFFER_READBACK:
        required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
        preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
        break;
    }
    VkDeviceSize alloc_size = 0;
    b->memory_type = UINT32_MAX;
    nnxr_error sub;
    bool ok = allocate(gpu, b->buffer, required, preferred, &b->memory, &b->memory_type,
                       &alloc_size, name, &sub);
    if (!ok && desc->kind == NNXR_BUFFER_DEVICE) {
        /* A device with no device-local type for buffers (unusual): any memory will do. */
        b->memory_type = UINT32_MAX;
        ok = allocate(gpu, b->buffer, 0, 0, &b->memory, &b->memory_type, &alloc_size, name,
                      &sub);
    }
    if (!ok) {
        vkDestroyBuffer(gpu->info.device, b->buffer, NULL);
        free(b);
        if (err)
            *err = sub;
        return false;
    }
    VkMemoryPropertyFlags flags = gpu->info.memory.memoryTypes[b->memory_type].propertyFlags;
    b->coherent = (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    bool map = (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
               (desc->kind != NNXR_BUFFER_DEVICE || !gpu->force_staging);
    if (map) {
        res = vkMapMemory(gpu->info.device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (res != VK_SUCCESS) {
            vkDestroyBuffer(gpu->info.device, b->buffer, NULL);
            vkFreeMemory(gpu->info.device, b->memory, NULL);
            free(b);
            return nnxr_fail(err, "buffer \"%s\": vkMapMemory failed: %s", name,
                             nnxr_vk_result_name(res));
        }
    }
    nnxr_gpu_name_object(gpu, VK_OBJECT_TYPE_BUFFER, (uint64_t)b->buffer, b->name);
    *out = b;
    return true;
}

void nnxr_buffer_destroy(nnxr_gpu *gpu, nnxr_buffer *b)
{
    if (!b)
        return;
    if (b->mapped)
        vkUnmapMemory(gpu->info.device, b->memory);
    vkDestroyBuffer(gpu->info.device, b->buffer, NULL);
    vkFreeMemory(gpu->info.device, b->memory, NULL);
    free(b);
}

/* ---- staging ------------------------------------------------------------------------------ */

void nnxr_gpu_staging_release(nnxr_gpu *gpu)
{
    VkDevice dev = gpu->info.device;
    if (gpu->staging_mapped)
        vkUnmapMemory(dev, gpu->staging_memory);
    if (gpu->staging)
        vkDestroyBuffer(dev, gpu->staging, NULL);
    if (gpu->staging_memory)
        vkFreeMemory(dev, gpu->staging_memory, NULL);
    gpu->staging = VK_NULL_HANDLE;
    gpu->staging_memory = VK_NULL_HANDLE;
    gpu->staging_mapped = NULL;
    gpu->staging_size = 0;
}

bool nnxr_gpu_staging(nnxr_gpu *gpu, VkDeviceSize want, VkDeviceSize *got, nnxr_error *err)
{
    VkDeviceSize cap = gpu->staging_limit;
    if (cap > gpu->info.max_memory_allocation_size)
        cap = gpu->info.max_memory_allocation_size & ~(VkDeviceSize)3;
    if (want > cap)
        want = cap;
    want = (want + 3) & ~(VkDeviceSize)3;
    if (gpu->staging && gpu->staging_size >= want) {
        *got = gpu->staging_size;
        return true;
    }
    nnxr_gpu_staging_release(gpu);
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = want,
                              .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult res = vkCreateBuffer(gpu->info.device, &bci, NULL, &gpu->staging);
    if (res != VK_SUCCESS) {
        gpu->staging = VK_NULL_HANDLE;
        return nnxr_fail(err, "staging buffer (%llu bytes): vkCreateBuffer failed: %s",
                         (unsigned long long)want, nnxr_vk_result_name(res));
    }
    uint32_t type = UINT32_MAX;
    VkDeviceSize alloc_size;
    /* Cached + coherent suits both directions on most drivers; any host-visible type works. */
    if (!allocate(gpu, gpu->staging, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                  VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                  &gpu->staging_memory, &type, &alloc_size, "staging", err)) {
        vkDestroyBuffer(gpu->info.device, gpu->staging, NULL);
        gpu->staging = VK_NULL_HANDLE;
        return false;
    }
    res = vkMapMemory(gpu->info.device, gpu->staging_memory, 0, VK_WHOLE_SIZE, 0,
                      &gpu->staging_mapped);
    if (res != VK_SUCCESS) {
        gpu->staging_mapped = NULL;
        nnxr_gpu_staging_release(gpu);
        return nnxr_fail(err, "staging buffer: vkMapMemory failed: %s",
                         nnxr_vk_result_name(res));
    }
    gpu->staging_coherent =
        gpu->info.memory.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    gpu->staging_size = want;
    gpu->staging_alloc = alloc_size;
    *got = want;
    return true;
}

/* ---- upload / readback ---------------------------------------------------------------------- */

typedef struct copy_job {
    VkBuffer src, dst;
    VkBufferCopy region;
} copy_job;

static void record_copy(VkCommandBuffer cmd, void *user)
{
    copy_job *j = user;
    vkCmdCopyBuffer(cmd, j->src, j->dst, 1, &j->region);
}

static bool check_range(const nnxr_buffer *buf, VkDeviceSize offset, VkDeviceSize size,
                        const char *what, nnxr_error *err)
{
    if (!buf)
        return nnxr_fail(err, "%s: no buffer", what);
    if (offset > buf->size || size > buf->size - offset)
        return nnxr_fail(err,
                         "%s of buffer \"%s\": bytes [%llu, %llu) lie outside its %llu bytes",
                         what, buf->name, (unsigned long long)offset,
                         (unsigned long long)(offset + size), (unsigned long long)buf->size);
    return true;
}

bool nnxr_buffer_upload(nnxr_gpu *gpu, nnxr_buffer *buf, VkDeviceSize offset, const void *data,
                        VkDeviceSize size, nnxr_error *err)
{
    if (!check_range(buf, offset, size, "upload", err))
        return false;
    if (size == 0)
        return true;
    if (!data)
        return nnxr_fail(err, "upload to buffer \"%s\": no data", buf->name);
    if (buf->mapped) {
        memcpy((char *)buf->mapped + offset, data, size);
        if (!buf->coherent) {
            VkResult res = nnxr_gpu_flush_range(gpu, buf->memory, alloc_size_of(gpu, buf),
                                                offset, size, false);
            if (res != VK_SUCCESS)
                return nnxr_fail(err, "upload to buffer \"%s\": flush failed: %s", buf->name,
                                 nnxr_vk_result_name(res));
        }
        return true;
    }
    VkDeviceSize chunk;
    if (!nnxr_gpu_staging(gpu, size, &chunk, err))
        return nnxr_fail_prefix(err, "upload to buffer \"%s\"", buf->name);
    for (VkDeviceSize done = 0; done < size; done += chunk) {
        VkDeviceSize n = size - done < chunk ? size - done : chunk;
        memcpy(gpu->staging_mapped, (const char *)data + done, n);
        if (!gpu->staging_coherent)
            nnxr_gpu_flush_range(gpu, gpu->staging_memory, gpu->staging_alloc, 0, n, false);
        copy_job j = {gpu->staging, buf->buffer, {0, offset + done, n}};
        if (!nnxr_gpu_submit_once(gpu, record_copy, &j, err))
            return nnxr_fail_prefix(err, "upload to buffer \"%s\"", buf->name);
    }
    return true;
}

bool nnxr_buffer_readback(nnxr_gpu *gpu, const nnxr_buffer *buf, VkDeviceSize offset,
                          void *data, VkDeviceSize size, nnxr_error *err)
{
    if (!check_range(buf, offset, size, "readback", err))
        return false;
    if (size == 0)
        return true;
    if (!data)
        return nnxr_fail(err, "readback of buffer \"%s\": no destination", buf->name);
    if (buf->mapped) {
        if (!buf->coherent) {
            VkResult res = nnxr_gpu_flush_range(gpu, buf->memory, alloc_size_of(gpu, buf),
                                                offset, size, true);
            if (res != VK_SUCCESS)
                return nnxr_fail(err, "readback of buffer \"%s\": invalidate failed: %s",
                                 buf->name, nnxr_vk_result_name(res));
        }
        memcpy(data, (const char *)buf->mapped + offset, size);
        return true;
    }
    VkDeviceSize chunk;
    if (!nnxr_gpu_staging(gpu, size, &chunk, err))
        return nnxr_fail_prefix(err, "readback of buffer \"%s\"", buf->name);
    for (VkDeviceSize done = 0; done < size; done += chunk) {
        VkDeviceSize n = size - done < chunk ? size - done : chunk;
        copy_job j = {buf->buffer, gpu->staging, {offset + done, 0, n}};
        if (!nnxr_gpu_submit_once(gpu, record_copy, &j, err))
            return nnxr_fail_prefix(err, "readback of buffer \"%s\"", buf->name);
        if (!gpu->staging_coherent)
            nnxr_gpu_flush_range(gpu, gpu->staging_memory, gpu->staging_alloc, 0, n, true);
        memcpy((char *)data + done, gpu->staging_mapped, n);
    }
    return true;
}
