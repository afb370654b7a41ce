/* gpu/kernel.c — compute kernels (SPIR-V → pipeline with a set of N storage buffers, some of
 * them uniform buffers if the engine asks, a push constant range and specialization
 * constants), bindings (one descriptor set with every slot
 * written, sub-ranges checked against the device's limits) and recording a dispatch. */
#include "gpu/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "gpu/shaders.h"

#define SPIRV_MAGIC 0x07230203u
#define OP_ENTRY_POINT 15u
#define MODEL_GLCOMPUTE 5u

/* Checks what would otherwise crash or confuse the driver: the header, the SPIR-V version
 * against the device's, and a GLCompute entry point of that name. */
static bool check_spirv(const uint32_t *w, size_t bytes, const char *entry, uint32_t api,
                        const char *name, nnxr_error *err)
{
    if (!w || bytes < 20 || bytes % 4)
        return nnxr_fail(err, "kernel \"%s\": SPIR-V of %zu bytes (expected a multiple of 4, "
                              "at least 20)",
                         name, bytes);
    if (w[0] != SPIRV_MAGIC)
        return nnxr_fail(err, "kernel \"%s\": not SPIR-V (magic 0x%08x)", name, w[0]);
    uint32_t major = (w[1] >> 16) & 0xff, minor = (w[1] >> 8) & 0xff;
    uint32_t max_minor = 0;
    if (VK_API_VERSION_MAJOR(api) == 1)
        max_minor = VK_API_VERSION_MINOR(api) >= 3   ? 6
                    : VK_API_VERSION_MINOR(api) == 2 ? 5
                    : VK_API_VERSION_MINOR(api) == 1 ? 3
                                                     : 0;
    else
        max_minor = 6;
    if (major != 1 || minor > max_minor)
        return nnxr_fail(err, "kernel \"%s\": SPIR-V %u.%u is newer than the device takes "
                              "(1.%u)",
                         name, major, minor, max_minor);
    size_t n = bytes / 4;
    for (size_t i = 5; i < n;) {
        uint32_t count = w[i] >> 16, op = w[i] & 0xffff;
        if (count == 0 || i + count > n)
            return nnxr_fail(err, "kernel \"%s\": malformed SPIR-V at word %zu", name, i);
        if (op == OP_ENTRY_POINT && count >= 4 && w[i + 1] == MODEL_GLCOMPUTE) {
            const char *s = (const char *)&w[i + 3];
            size_t max = (count - 3) * 4;
            if (strnlen(s, max) < max && strcmp(s, entry) == 0)
                return true;
        }
        i += count;
    }
    return nnxr_fail(err, "kernel \"%s\": the SPIR-V has no compute entry point \"%s\"", name,
                     entry);
}

bool nnxr_kernel_create(nnxr_gpu *gpu, const nnxr_kernel_desc *d, nnxr_kernel **out,
                        nnxr_error *err)
{
    return nnxr_kernel_create_uniform(gpu, d, 0, out, err);
}

bool nnxr_kernel_create_uniform(nnxr_gpu *gpu, const nnxr_kernel_desc *d, uint32_t uniform_mask,
                                nnxr_kernel **out, nnxr_error *err)
{
    *out = NULL;
    nnxr_slot_kind kinds[NNXR_KERNEL_MAX_BUFFERS] = {{0}};
    if (d->buffer_count < 32 && (uniform_mask >> d->buffer_count))
        return nnxr_fail(err, "kernel \"%s\": uniform_mask 0x%x names bindings beyond its %u "
                              "buffers",
                         d->name ? d->name : d->shader ? d->shader : "(unnamed)", uniform_mask,
                         d->buffer_count);
    for (uint32_t i = 0; i < d->buffer_count && i < NNXR_KERNEL_MAX_BUFFERS; i++)
        kinds[i].type = (uniform_mask >> i) & 1u ? NNXR_SLOT_UNIFORM : NNXR_SLOT_STORAGE;
    return nnxr_kernel_create_typed(gpu, d, kinds, out, err);
}

static VkDescriptorType slot_descriptor(nnxr_slot_type t)
{
    switch (t) {
    case NNXR_SLOT_UNIFORM: return VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
    case NNXR_SLOT_UNIFORM_TEXEL: return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    case NNXR_SLOT_STORAGE_TEXEL: return VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
    default: return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    }
}

static bool slot_is_texel(nnxr_slot_type t)
{
    return t == NNXR_SLOT_UNIFORM_TEXEL || t == NNXR_SLOT_STORAGE_TEXEL;
}

/* Bytes per texel of the formats a texel slot may use (0: not one of them). */
static uint32_t texel_bytes(VkFormat f)
{
    switch (f) {
    case VK_FORMAT_R8_UINT: return 1;
    case VK_FORMAT_R32_UINT:
    case VK_FORMAT_R32_SFLOAT: return 4;
    case VK_FORMAT_R32G32_UINT:
    case VK_FORMAT_R32G32_SFLOAT: return 8;
    case VK_FORMAT_R32G32B32A32_UINT:
    case VK_FORMAT_R32G32B32A32_SFLOAT: return 16;
    default: return 0;
    }
}

bool nnxr_kernel_create_typed(nnxr_gpu *gpu, const nnxr_kernel_desc *d,
                              const nnxr_slot_kind *kinds, nnxr_kernel **out, nnxr_error *err)
{
    *out = NULL;
    const char *name = d->name ? d->name : d->shader ? d->shader : "(unnamed)";
    const VkPhysicalDeviceLimits *lim = &gpu->info.properties.limits;
    const uint32_t *code = d->code;
    size_t size = d->code_size;
    if (d->shader) {
        const nnxr_shader_blob *blob = nnxr_shader_find(d->shader);
        if (!blob)
            return nnxr_fail(err, "kernel \"%s\": no embedded shader \"%s\" (a path under "
                                  "shaders/, e.g. \"test/saxpy.comp\")",
                             name, d->shader);
        code = blob->code;
        size = blob->size;
    }
    const char *entry = d->entry ? d->entry : "main";
    if (!check_spirv(code, size, entry, gpu->info.api_version, name, err))
        return false;
    if (d->buffer_count > NNXR_KERNEL_MAX_BUFFERS)
        return nnxr_fail(err, "kernel \"%s\": %u buffers (at most %u)", name, d->buffer_count,
                         NNXR_KERNEL_MAX_BUFFERS);
    if (d->buffer_count < 32 && (d->written_mask >> d->buffer_count))
        return nnxr_fail(err, "kernel \"%s\": written_mask 0x%x names bindings beyond its %u "
                              "buffers",
                         name, d->written_mask, d->buffer_count);
    uint32_t count_of[4] = {0};
    for (uint32_t i = 0; i < d->buffer_count; i++) {
        nnxr_slot_kind kd = kinds ? kinds[i] : (nnxr_slot_kind){NNXR_SLOT_STORAGE, 0};
        if ((unsigned)kd.type > NNXR_SLOT_STORAGE_TEXEL)
            return nnxr_fail(err, "kernel \"%s\": slot %u has type %d", name, i, (int)kd.type);
        count_of[kd.type]++;
        bool read_only = kd.type == NNXR_SLOT_UNIFORM || kd.type == NNXR_SLOT_UNIFORM_TEXEL;
        if (read_only && ((d->written_mask >> i) & 1u))
            return nnxr_fail(err, "kernel \"%s\": slot %u is a read-only %s and written", name,
                             i, kd.type == NNXR_SLOT_UNIFORM ? "uniform buffer"
                                                             : "uniform texel buffer");
        if (!slot_is_texel(kd.type))
            continue;
        if (!texel_bytes(kd.format))
            return nnxr_fail(err, "kernel \"%s\": slot %u: texel format %d is not one the "
                                  "engine binds (R8_UINT, R32(G32)(B32A32)_UINT/SFLOAT)",
                             name, i, (int)kd.format);
        VkFormatProperties fp;
        vkGetPhysicalDeviceFormatProperties(gpu->info.physical_device, kd.format, &fp);
        VkFormatFeatureFlags need = kd.type == NNXR_SLOT_UNIFORM_TEXEL
                                        ? VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT
                                        : VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT;
        if (!(fp.bufferFeatures & need))
            return nnxr_fail(err, "kernel \"%s\": slot %u: the device cannot use format %d as "
                                  "a %s texel buffer",
                             name, i, (int)kd.format,
                             kd.type == NNXR_SLOT_UNIFORM_TEXEL ? "uniform" : "storage");
    }
    const uint32_t most[4] = {lim->maxPerStageDescriptorStorageBuffers,
                              lim->maxPerStageDescriptorUniformBuffers,
                              lim->maxPerStageDescriptorSampledImages,
                              lim->maxPerStageDescriptorStorageImages};
    static const char *const what[4] = {"storage buffers", "uniform buffers",
                                        "uniform texel buffers", "storage texel buffers"};
    for (int t = 0; t < 4; t++)
        if (count_of[t] > most[t])
            return nnxr_fail(err, "kernel \"%s\": %u %s (at most %u here)", name, count_of[t],
                             what[t], most[t]);
    if (d->push_size % 4 || d->push_size > lim->maxPushConstantsSize)
        return nnxr_fail(err, "kernel \"%s\": push constants of %u bytes (expected a multiple "
                              "of 4, at most maxPushConstantsSize = %u)",
                         name, d->push_size, lim->maxPushConstantsSize);
    if (d->spec_count && !d->specs)
        return nnxr_fail(err, "kernel \"%s\": spec_count %u without specs", name, d->spec_count);
    for (uint32_t i = 0; i < d->spec_count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (d->specs[i].id == d->specs[j].id)
                return nnxr_fail(err, "kernel \"%s\": specialization constant %u given twice",
                                 name, d->specs[i].id);

    nnxr_kernel *k = calloc(1, sizeof *k);
    VkSpecializationMapEntry *map = calloc(d->spec_count ? d->spec_count : 1, sizeof *map);
    uint32_t *values = calloc(d->spec_count ? d->spec_count : 1, sizeof *values);
    VkShaderModule module = VK_NULL_HANDLE;
    VkDevice dev = gpu->info.device;
    VkResult res = VK_SUCCESS;
    const char *step = "";
    if (!k || !map || !values) {
        free(k);
        free(map);
        free(values);
        return nnxr_fail(err, "kernel \"%s\": out of memory", name);
    }
    snprintf(k->name, sizeof k->name, "%s", name);
    k->buffer_count = d->buffer_count;
    k->written_mask = d->written_mask;
    for (uint32_t i = 0; i < d->buffer_count; i++)
        k->kinds[i] = kinds ? kinds[i] : (nnxr_slot_kind){NNXR_SLOT_STORAGE, 0};
    k->push_size = d->push_size;

    if (d->buffer_count) {
        VkDescriptorSetLayoutBinding b[NNXR_KERNEL_MAX_BUFFERS];
        for (uint32_t i = 0; i < d->buffer_count; i++)
            b[i] = (VkDescriptorSetLayoutBinding){
                .binding = i,
                .descriptorType = slot_descriptor(k->kinds[i].type),
                .descriptorCount = 1,
                .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
        VkDescriptorSetLayoutCreateInfo lci = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = d->buffer_count,
            .pBindings = b};
        step = "vkCreateDescriptorSetLayout";
        res = vkCreateDescriptorSetLayout(dev, &lci, NULL, &k->set_layout);
        if (res != VK_SUCCESS)
            goto fail;
    }
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
                              .offset = 0,
                              .size = d->push_size};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = d->buffer_count ? 1 : 0,
                                       .pSetLayouts = &k->set_layout,
                                       .pushConstantRangeCount = d->push_size ? 1 : 0,
                                       .pPushConstantRanges = &pr};
    step = "vkCreatePipelineLayout";
    res = vkCreatePipelineLayout(dev, &plci, NULL, &k->layout);
    if (res != VK_SUCCESS)
        goto fail;

    VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                     .codeSize = size,
                                     .pCode = code};
    step = "vkCreateShaderModule";
    res = vkCreateShaderModule(dev, &smci, NULL, &module);
    if (res != VK_SUCCESS)
        goto fail;

    for (uint32_t i = 0; i < d->spec_count; i++) {
        map[i] = (VkSpecializationMapEntry){.constantID = d->specs[i].id,
                                            .offset = i * 4,
                                            .size = 4};
        values[i] = d->specs[i].bits;
    }
    VkSpecializationInfo si = {.mapEntryCount = d->spec_count,
                               .pMapEntries = map,
                               .dataSize = d->spec_count * 4,
                               .pData = values};
    VkComputePipelineCreateInfo cci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module,
                  .pName = entry,
                  .pSpecializationInfo = d->spec_count ? &si : NULL},
        .layout = k->layout};
    step = "vkCreateComputePipelines";
    res = vkCreateComputePipelines(dev, gpu->info.pipeline_cache, 1, &cci, NULL, &k->pipeline);
    if (res != VK_SUCCESS) {
        k->pipeline = VK_NULL_HANDLE;
        goto fail;
    }
    vkDestroyShaderModule(dev, module, NULL);
    free(map);
    free(values);
    nnxr_gpu_name_object(gpu, VK_OBJECT_TYPE_PIPELINE, (uint64_t)k->pipeline, k->name);
    *out = k;
    return true;
fail:
    if (module)
        vkDestroyShaderModule(dev, module, NULL);
    free(map);
    free(values);
    nnxr_kernel_destroy(gpu, k);
    return nnxr_fail(err, "kernel \"%s\": %s failed: %s", name, step, nnxr_vk_result_name(res));
}

void nnxr_kernel_destroy(nnxr_gpu *gpu, nnxr_kernel *k)
{
    if (!k)
        return;
    VkDevice dev = gpu->info.device;
    if (k->pipeline)
        vkDestroyPipeline(dev, k->pipeline, NULL);
    if (k->layout)
        vkDestroyPipelineLayout(dev, k->layout, NULL);
    if (k->set_layout)
        vkDestroyDescriptorSetLayout(dev, k->set_layout, NULL);
    free(k);
}

const char *nnxr_kernel_name(const nnxr_kernel *k) { return k->name; }
VkPipeline nnxr_kernel_pipeline(const nnxr_kernel *k) { return k->pipeline; }
VkPipelineLayout nnxr_kernel_layout(const nnxr_kernel *k) { return k->layout; }

/* ---- bindings ------------------------------------------------------------------------------ */

bool nnxr_binding_create(nnxr_gpu *gpu, const nnxr_kernel *kernel,
                         const nnxr_buffer_slot *slots, uint32_t count, nnxr_binding **out,
                         nnxr_error *err)
{
    *out = NULL;
    if (!kernel)
        return nnxr_fail(err, "binding: no kernel");
    const VkPhysicalDeviceLimits *lim = &gpu->info.properties.limits;
    if (count != kernel->buffer_count)
        return nnxr_fail(err, "binding for kernel \"%s\": %u buffers given, the kernel has %u "
                              "(every slot must be written)",
                         kernel->name, count, kernel->buffer_count);
    if (count == 0)
        return nnxr_fail(err, "binding for kernel \"%s\": the kernel has no buffers (dispatch "
                              "it with no binding)",
                         kernel->name);
    if (!slots)
        return nnxr_fail(err, "binding for kernel \"%s\": no slots", kernel->name);
    nnxr_binding *b = calloc(1, sizeof *b);
    if (!b)
        return nnxr_fail(err, "binding for kernel \"%s\": out of memory", kernel->name);
    b->count = count;
    for (uint32_t i = 0; i < count; i++) {
        const nnxr_buffer *buf = slots[i].buffer;
        nnxr_slot_kind kd = kernel->kinds[i];
        const char *kind = kd.type == NNXR_SLOT_UNIFORM          ? "uniform"
                           : kd.type == NNXR_SLOT_UNIFORM_TEXEL  ? "uniform texel"
                           : kd.type == NNXR_SLOT_STORAGE_TEXEL  ? "storage texel"
                                                                 : "storage";
        VkBufferUsageFlags usage =
            kd.type == NNXR_SLOT_UNIFORM         ? VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT
            : kd.type == NNXR_SLOT_UNIFORM_TEXEL ? VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT
            : kd.type == NNXR_SLOT_STORAGE_TEXEL ? VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT
                                                 : VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
        const char *align_name = kd.type == NNXR_SLOT_UNIFORM ? "minUniformBufferOffsetAlignment"
                                 : slot_is_texel(kd.type)      ? "minTexelBufferOffsetAlignment"
                                                               : "minStorageBufferOffsetAlignment";
        VkDeviceSize align = kd.type == NNXR_SLOT_UNIFORM ? lim->minUniformBufferOffsetAlignment
                             : slot_is_texel(kd.type)      ? lim->minTexelBufferOffsetAlignment
                                                           : lim->minStorageBufferOffsetAlignment;
        if (!align)
            align = 1;
        bool ok = true;
        if (!buf)
            ok = nnxr_fail(err, "binding for kernel \"%s\": slot %u has no buffer (every slot "
                                "must be written)",
                           kernel->name, i);
        else if (!(buf->usage & usage))
            ok = nnxr_fail(err, "binding for kernel \"%s\": slot %u: buffer \"%s\" lacks %s "
                                "usage",
                           kernel->name, i, buf->name, kind);
        else if (slots[i].offset >= buf->size || slots[i].range > buf->size - slots[i].offset)
            ok = nnxr_fail(err, "binding for kernel \"%s\": slot %u: range [%llu, +%llu) lies "
                                "outside buffer \"%s\" (%llu bytes)",
                           kernel->name, i, (unsigned long long)slots[i].offset,
                           (unsigned long long)slots[i].range, buf->name,
                           (unsigned long long)buf->size);
        else if (slots[i].offset % align)
            ok = nnxr_fail(err, "binding for kernel \"%s\": slot %u: offset %llu into buffer "
                                "\"%s\" is not a multiple of %s (%llu)",
                           kernel->name, i, (unsigned long long)slots[i].offset, buf->name,
                           align_name, (unsigned long long)align);
        if (!ok) {
            free(b);
            return false;
        }
        VkDeviceSize range = slots[i].range ? slots[i].range : buf->size - slots[i].offset;
        if (slot_is_texel(kd.type)) {
            uint32_t tb = texel_bytes(kd.format);
            VkDeviceSize texels = range / tb;
            if (range % tb || texels > lim->maxTexelBufferElements) {
                free(b);
                return nnxr_fail(err, "binding for kernel \"%s\": slot %u: %llu bytes of buffer "
                                      "\"%s\" are not a whole number of %u-byte texels up to "
                                      "maxTexelBufferElements (%u)",
                                 kernel->name, i, (unsigned long long)range, buf->name, tb,
                                 lim->maxTexelBufferElements);
            }
        } else {
            uint32_t max_range = kd.type == NNXR_SLOT_UNIFORM ? lim->maxUniformBufferRange
                                                               : lim->maxStorageBufferRange;
            if (range > max_range) {
                free(b);
                return nnxr_fail(err, "binding for kernel \"%s\": slot %u: %llu bytes of "
                                      "buffer \"%s\" exceed max%sBufferRange (%u bytes); bind a "
                                      "sub-range",
                                 kernel->name, i, (unsigned long long)range, buf->name,
                                 kd.type == NNXR_SLOT_UNIFORM ? "Uniform" : "Storage", max_range);
            }
        }
        b->slots[i] = (nnxr_slot_ref){buf->buffer, slots[i].offset, range};
    }

    VkDevice dev = gpu->info.device;
    VkResult res = VK_SUCCESS;
    for (uint32_t i = 0; i < count && res == VK_SUCCESS; i++) {
        if (!slot_is_texel(kernel->kinds[i].type))
            continue;
        VkBufferViewCreateInfo vci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                                      .buffer = b->slots[i].buffer,
                                      .format = kernel->kinds[i].format,
                                      .offset = b->slots[i].offset,
                                      .range = b->slots[i].range};
        res = vkCreateBufferView(dev, &vci, NULL, &b->views[i]);
        if (res != VK_SUCCESS)
            b->views[i] = VK_NULL_HANDLE;
    }
    VkDescriptorPoolSize ps[4];
    uint32_t nps = 0;
    for (int t = NNXR_SLOT_STORAGE; t <= NNXR_SLOT_STORAGE_TEXEL; t++) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < count; i++)
            n += kernel->kinds[i].type == (nnxr_slot_type)t;
        if (n)
            ps[nps++] = (VkDescriptorPoolSize){slot_descriptor((nnxr_slot_type)t), n};
    }
    VkDescriptorPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                      .maxSets = 1,
                                      .poolSizeCount = nps,
                                      .pPoolSizes = ps};
    if (res == VK_SUCCESS)
        res = vkCreateDescriptorPool(dev, &pci, NULL, &b->pool);
    if (res == VK_SUCCESS) {
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = b->pool,
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &kernel->set_layout};
        res = vkAllocateDescriptorSets(dev, &ai, &b->set);
    }
    if (res != VK_SUCCESS) {
        nnxr_binding_destroy(gpu, b);
        return nnxr_fail(err, "binding for kernel \"%s\": making the descriptor set failed: %s",
                         kernel->name, nnxr_vk_result_name(res));
    }
    VkDescriptorBufferInfo infos[NNXR_KERNEL_MAX_BUFFERS];
    VkWriteDescriptorSet writes[NNXR_KERNEL_MAX_BUFFERS];
    for (uint32_t i = 0; i < count; i++) {
        bool texel = slot_is_texel(kernel->kinds[i].type);
        infos[i] = (VkDescriptorBufferInfo){b->slots[i].buffer, b->slots[i].offset,
                                            b->slots[i].range};
        writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                           .dstSet = b->set,
                                           .dstBinding = i,
                                           .descriptorCount = 1,
                                           .descriptorType = slot_descriptor(kernel->kinds[i].type),
                                           .pBufferInfo = texel ? NULL : &infos[i],
                                           .pTexelBufferView = texel ? &b->views[i] : NULL};
    }
    vkUpdateDescriptorSets(dev, count, writes, 0, NULL);
    *out = b;
    return true;
}

void nnxr_binding_destroy(nnxr_gpu *gpu, nnxr_binding *b)
{
    if (!b)
        return;
    if (b->pool)
        vkDestroyDescriptorPool(gpu->info.device, b->pool, NULL);
    for (uint32_t i = 0; i < NNXR_KERNEL_MAX_BUFFERS; i++)
        if (b->views[i])
            vkDestroyBufferView(gpu->info.device, b->views[i], NULL);
    free(b);
}

VkDescriptorSet nnxr_binding_set(const nnxr_binding *b) { return b->set; }

/* ---- dispatch ------------------------------------------------------------------------------ */

bool nnxr_gpu_cmd_dispatch(nnxr_gpu *gpu, VkCommandBuffer cmd, const nnxr_kernel *k,
                           const nnxr_binding *b, const void *push, uint32_t push_size,
                           uint32_t gx, uint32_t gy, uint32_t gz, nnxr_error *err)
{
    if (!k)
        return nnxr_fail(err, "dispatch: no kernel");
    if (k->buffer_count && !b)
        return nnxr_fail(err, "dispatch of kernel \"%s\": no binding for its %u buffers",
                         k->name, k->buffer_count);
    if (b && b->count != k->buffer_count)
        return nnxr_fail(err, "dispatch of kernel \"%s\": the binding has %u buffers, the "
                              "kernel %u",
                         k->name, b->count, k->buffer_count);
    if (push_size != k->push_size || (push_size && !push))
        return nnxr_fail(err, "dispatch of kernel \"%s\": %u bytes of push constants given, it "
                              "takes %u",
                         k->name, push ? push_size : 0, k->push_size);
    const uint32_t *max = gpu->info.properties.limits.maxComputeWorkGroupCount;
    if (gx > max[0] || gy > max[1] || gz > max[2])
        return nnxr_fail(err, "dispatch of kernel \"%s\": %u x %u x %u workgroups exceed "
                              "maxComputeWorkGroupCount (%u x %u x %u)",
                         k->name, gx, gy, gz, max[0], max[1], max[2]);
    if (gx == 0 || gy == 0 || gz == 0)
        return true; /* nothing to run */
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
    if (b)
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &b->set, 0,
                                NULL);
    if (push_size)
        vkCmdPushConstants(cmd, k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
    vkCmdDispatch(cmd, gx, gy, gz);
    return true;
}

void nnxr_gpu_cmd_barrier(VkCommandBuffer cmd)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask =
                              VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_UNIFORM_READ_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT |
                                           VK_ACCESS_TRANSFER_WRITE_BIT};
    VkPipelineStageFlags stages =
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
}
