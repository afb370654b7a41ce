/* gpu/gpu.c — the nnxr_gpu object: instance (validation layer and the messenger that counts
 * its warnings and errors), physical device choice, logical device with the optional features
 * we use, the queue, memory-type choice, one-shot submissions, and the "nnxr.gpu" service
 * table for plugins. */
#include "gpu/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

const char *nnxr_vk_result_name(VkResult r)
{
    switch (r) {
#define C(x) \
    case x: return #x;
        C(VK_SUCCESS)
        C(VK_NOT_READY)
        C(VK_TIMEOUT)
        C(VK_EVENT_SET)
        C(VK_EVENT_RESET)
        C(VK_INCOMPLETE)
        C(VK_ERROR_OUT_OF_HOST_MEMORY)
        C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        C(VK_ERROR_INITIALIZATION_FAILED)
        C(VK_ERROR_DEVICE_LOST)
        C(VK_ERROR_MEMORY_MAP_FAILED)
        C(VK_ERROR_LAYER_NOT_PRESENT)
        C(VK_ERROR_EXTENSION_NOT_PRESENT)
        C(VK_ERROR_FEATURE_NOT_PRESENT)
        C(VK_ERROR_INCOMPATIBLE_DRIVER)
        C(VK_ERROR_TOO_MANY_OBJECTS)
        C(VK_ERROR_FORMAT_NOT_SUPPORTED)
        C(VK_ERROR_FRAGMENTED_POOL)
        C(VK_ERROR_UNKNOWN)
        C(VK_ERROR_OUT_OF_POOL_MEMORY)
        C(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        C(VK_ERROR_FRAGMENTATION)
        C(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
        C(VK_ERROR_SURFACE_LOST_KHR)
        C(VK_ERROR_NATIVE_WINDOW_IN_USE_KHR)
        C(VK_SUBOPTIMAL_KHR)
        C(VK_ERROR_OUT_OF_DATE_KHR)
        C(VK_ERROR_VALIDATION_FAILED_EXT)
        C(VK_ERROR_INVALID_SHADER_NV)
#undef C
    default: return "VK_ERROR_(unknown)";
    }
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    nnxr_gpu *gpu = user;
    const char *msg = data && data->pMessage ? data->pMessage : "(no message)";
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        atomic_fetch_add(&gpu->validation_count, 1);
        NNXR_ERROR("vulkan: %s", msg);
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        atomic_fetch_add(&gpu->validation_count, 1);
        NNXR_WARN("vulkan: %s", msg);
    }
    /* INFO and VERBOSE (the loader's chatter) are neither shown nor counted. */
    return VK_FALSE;
}

uint32_t nnxr_gpu_validation_count(const nnxr_gpu *gpu)
{
    return gpu ? atomic_load(&((nnxr_gpu *)gpu)->validation_count) : 0;
}

const nnxr_gpu_info *nnxr_gpu_get_info(const nnxr_gpu *gpu) { return &gpu->info; }

void nnxr_gpu_name_object(nnxr_gpu *gpu, VkObjectType type, uint64_t handle, const char *name)
{
    if (!gpu->set_object_name || !name || !*name)
        return;
    VkDebugUtilsObjectNameInfoEXT ni = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT,
                                        .objectType = type,
                                        .objectHandle = handle,
                                        .pObjectName = name};
    gpu->set_object_name(gpu->info.device, &ni);
}

/* ---- instance ------------------------------------------------------------------------------ */

static bool has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS)
        return false;
    VkLayerProperties *props = calloc(n ? n : 1, sizeof *props);
    if (!props)
        return false;
    bool found = false;
    if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

static bool in_ext_list(const VkExtensionProperties *props, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(props[i].extensionName, name) == 0)
            return true;
    return false;
}

/* Instance extensions of the implementation and, with validation, of the layer. */
static VkExtensionProperties *instance_extensions(bool with_layer, uint32_t *count)
{
    uint32_t n = 0, m = 0;
    vkEnumerateInstanceExtensionProperties(NULL, &n, NULL);
    if (with_layer)
        vkEnumerateInstanceExtensionProperties(VALIDATION_LAYER, &m, NULL);
    VkExtensionProperties *p = calloc(n + m + 1, sizeof *p);
    if (!p) {
        *count = 0;
        return NULL;
    }
    if (vkEnumerateInstanceExtensionProperties(NULL, &n, p) != VK_SUCCESS)
        n = 0;
    if (with_layer && vkEnumerateInstanceExtensionProperties(VALIDATION_LAYER, &m, p + n) !=
                          VK_SUCCESS)
        m = 0;
    *count = n + m;
    return p;
}

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && strcmp(v, value) == 0;
}

#define MAX_EXTS 64

static bool create_instance(nnxr_gpu *gpu, const nnxr_gpu_options *o, bool validate,
                            bool sync, nnxr_error *err)
{
    if (validate && !has_layer(VALIDATION_LAYER))
        return nnxr_fail(err,
                         "Vulkan validation was requested (NNXR_VALIDATE=1 or the validate "
                         "option) but the layer %s is not installed (Debian package "
                         "vulkan-validationlayers)",
                         VALIDATION_LAYER);
    uint32_t avail_n = 0;
    VkExtensionProperties *avail = instance_extensions(validate, &avail_n);
    const char *exts[MAX_EXTS];
    uint32_t n = 0;
    bool ok = true;
    if (o->instance_extension_count > MAX_EXTS - 4) {
        ok = nnxr_fail(err, "too many instance extensions requested (%u)",
                       o->instance_extension_count);
        goto done;
    }
    for (uint32_t i = 0; i < o->instance_extension_count; i++) {
        if (!in_ext_list(avail, avail_n, o->instance_extensions[i])) {
            ok = nnxr_fail(err, "the Vulkan instance lacks the extension %s",
                           o->instance_extensions[i]);
            goto done;
        }
        exts[n++] = o->instance_extensions[i];
    }
    bool debug_utils = false;
    if (validate) {
        if (!in_ext_list(avail, avail_n, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
            ok = nnxr_fail(err, "validation was requested but the instance lacks %s",
                           VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
            goto done;
        }
        exts[n++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        debug_utils = true;
        if (sync) {
            if (!in_ext_list(avail, avail_n, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
                ok = nnxr_fail(err,
                               "synchronization validation was requested but the layer lacks "
                               "%s",
                               VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
                goto done;
            }
            exts[n++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
        }
    }
    VkInstanceCreateFlags flags = 0;
    /* Portability drivers (MoltenVK) are hidden unless the app says it can take them. */
    if (in_ext_list(avail, avail_n, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        exts[n++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }

    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = o->app_name ? o->app_name : "nnxr",
                             .pEngineName = "nnxr",
                             .engineVersion = VK_MAKE_API_VERSION(0, 0, 1, 0),
                             .apiVersion = VK_API_VERSION_1_2};
    /* Chained into the instance's creation so that messages from vkCreateInstance and
     * vkDestroyInstance are counted too. */
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = gpu};
    VkValidationFeatureEnableEXT sync_feature =
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = &sync_feature};
    const char *layers[] = {VALIDATION_LAYER};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .flags = flags,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = validate ? 1 : 0,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = n,
                               .ppEnabledExtensionNames = exts};
    if (debug_utils) {
        ci.pNext = &mci;
        if (sync)
            mci.pNext = &features;
    }
    VkResult res = o->create_instance ? o->create_instance(o->hook_user, &ci, &gpu->info.instance)
                                      : vkCreateInstance(&ci, NULL, &gpu->info.instance);
    if (res != VK_SUCCESS) {
        gpu->info.instance = VK_NULL_HANDLE;
        ok = nnxr_fail(err, "vkCreateInstance failed: %s%s", nnxr_vk_result_name(res),
                       res == VK_ERROR_INCOMPATIBLE_DRIVER
                           ? " (no Vulkan 1.2 driver; Debian: mesa-vulkan-drivers)"
                           : "");
        goto done;
    }
    gpu->info.validation = validate;
    if (debug_utils) {
        PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                gpu->info.instance, "vkCreateDebugUtilsMessengerEXT");
        gpu->set_object_name = (PFN_vkSetDebugUtilsObjectNameEXT)vkGetInstanceProcAddr(
            gpu->info.instance, "vkSetDebugUtilsObjectNameEXT");
        mci.pNext = NULL;
        if (!create_messenger ||
            create_messenger(gpu->info.instance, &mci, NULL, &gpu->messenger) != VK_SUCCESS) {
            ok = nnxr_fail(err, "vkCreateDebugUtilsMessengerEXT failed");
            goto done;
        }
    }
done:
    free(avail);
    return ok;
}

/* ---- device ------------------------------------------------------------------------------- */

static bool pick_device(nnxr_gpu *gpu, const nnxr_gpu_options *o, nnxr_gpu_device_report *rep,
                        nnxr_error *err)
{
    uint32_t n = 0;
    VkResult res = vkEnumeratePhysicalDevices(gpu->info.instance, &n, NULL);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "vkEnumeratePhysicalDevices failed: %s",
                         nnxr_vk_result_name(res));
    VkPhysicalDevice *phys = calloc(n ? n : 1, sizeof *phys);
    nnxr_gpu_candidate *cands = calloc(n ? n : 1, sizeof *cands);
    nnxr_gpu_device_report *reps = calloc(n ? n : 1, sizeof *reps);
    bool ok = false;
    if (!phys || !cands || !reps) {
        nnxr_fail(err, "out of memory enumerating %u devices", n);
        goto done;
    }
    res = vkEnumeratePhysicalDevices(gpu->info.instance, &n, phys);
    if (res != VK_SUCCESS && res != VK_INCOMPLETE) {
        nnxr_fail(err, "vkEnumeratePhysicalDevices failed: %s", nnxr_vk_result_name(res));
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        nnxr_gpu_probe(phys[i], i, o->graphics, &reps[i]);
        cands[i] = reps[i].candidate;
    }
    uint32_t chosen = 0;
    if (o->pick_physical_device) {
        VkPhysicalDevice want = o->pick_physical_device(o->hook_user, gpu->info.instance);
        bool found = false;
        for (uint32_t i = 0; i < n && !found; i++)
            if (phys[i] == want) {
                chosen = i;
                found = true;
            }
        if (!found) {
            nnxr_fail(err, "the physical device the caller dictated (OpenXR) is not one of the "
                           "instance's devices");
            goto done;
        }
        if (nnxr_gpu_device_rank(&cands[chosen], o->graphics) < 0) {
            nnxr_fail(err, "the dictated device %s cannot be used (needs Vulkan 1.2 and a "
                           "compute%s queue)",
                      cands[chosen].name, o->graphics ? " + graphics" : "");
            goto done;
        }
    } else {
        const char *want = o->device;
        if (!want)
            want = getenv("NNXR_DEVICE");
        if (!nnxr_gpu_choose_device(cands, n, want, o->graphics, &chosen, err))
            goto done;
    }
    *rep = reps[chosen];
    gpu->info.physical_device = phys[chosen];
    ok = true;
done:
    free(phys);
    free(cands);
    free(reps);
    return ok;
}

/* Turn on the optional features we (and the other modules) may use, where present. */
static void choose_features(const VkPhysicalDeviceFeatures *have,
                            const VkPhysicalDeviceVulkan11Features *have11,
                            const VkPhysicalDeviceVulkan12Features *have12,
                            VkPhysicalDeviceFeatures *on, VkPhysicalDeviceVulkan11Features *on11,
                            VkPhysicalDeviceVulkan12Features *on12)
{
#define TAKE(dst, src, f) dst->f = src->f
    TAKE(on, have, shaderFloat64);
    TAKE(on, have, shaderInt64);
    TAKE(on, have, shaderInt16);
    TAKE(on, have, fillModeNonSolid);
    TAKE(on, have, wideLines);
    TAKE(on, have, largePoints);
    TAKE(on, have, samplerAnisotropy);
    TAKE(on, have, independentBlend);
    TAKE(on, have, sampleRateShading);
    TAKE(on, have, multiDrawIndirect);
    TAKE(on, have, drawIndirectFirstInstance);
    TAKE(on, have, shaderStorageImageWriteWithoutFormat);
    TAKE(on, have, fragmentStoresAndAtomics);
    TAKE(on, have, vertexPipelineStoresAndAtomics);
    TAKE(on11, have11, storageBuffer16BitAccess);
    TAKE(on11, have11, uniformAndStorageBuffer16BitAccess);
    TAKE(on11, have11, multiview);
    TAKE(on11, have11, shaderDrawParameters);
    TAKE(on12, have12, shaderFloat16);
    TAKE(on12, have12, shaderInt8);
    TAKE(on12, have12, storageBuffer8BitAccess);
    TAKE(on12, have12, uniformAndStorageBuffer8BitAccess);
    TAKE(on12, have12, scalarBlockLayout);
    TAKE(on12, have12, timelineSemaphore);
    TAKE(on12, have12, hostQueryReset);
    TAKE(on12, have12, shaderSubgroupExtendedTypes);
    TAKE(on12, have12, uniformBufferStandardLayout);
    TAKE(on12, have12, vulkanMemoryModel);
    TAKE(on12, have12, vulkanMemoryModelDeviceScope);
#undef TAKE
}

static bool create_device(nnxr_gpu *gpu, const nnxr_gpu_options *o,
                          const nnxr_gpu_device_report *rep, nnxr_error *err)
{
    VkPhysicalDevice phys = gpu->info.physical_device;
    if (rep->compute_family == UINT32_MAX)
        return nnxr_fail(err, "device %s has no %s queue", rep->properties.deviceName,
                         o->graphics ? "graphics + compute" : "compute");

    uint32_t avail_n = 0;
    vkEnumerateDeviceExtensionProperties(phys, NULL, &avail_n, NULL);
    VkExtensionProperties *avail = calloc(avail_n ? avail_n : 1, sizeof *avail);
    if (!avail)
        return nnxr_fail(err, "out of memory");
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &avail_n, avail) != VK_SUCCESS)
        avail_n = 0;

    const char *exts[MAX_EXTS];
    uint32_t n = 0;
    bool ok = true;
    if (o->device_extension_count > MAX_EXTS - 2) {
        ok = nnxr_fail(err, "too many device extensions requested (%u)",
                       o->device_extension_count);
        goto done;
    }
    for (uint32_t i = 0; i < o->device_extension_count; i++) {
        if (!in_ext_list(avail, avail_n, o->device_extensions[i])) {
            ok = nnxr_fail(err, "device %s lacks the extension %s", rep->properties.deviceName,
                           o->device_extensions[i]);
            goto done;
        }
        exts[n++] = o->device_extensions[i];
    }

    VkPhysicalDeviceShaderAtomicFloatFeaturesEXT have_af = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
    VkPhysicalDeviceVulkan12Features have12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features have11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &have12};
    VkPhysicalDeviceFeatures2 have = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                      .pNext = &have11};
    bool atomic_ext = in_ext_list(avail, avail_n, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME);
    if (atomic_ext)
        have12.pNext = &have_af;
    vkGetPhysicalDeviceFeatures2(phys, &have);

    VkPhysicalDeviceShaderAtomicFloatFeaturesEXT on_af = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
    VkPhysicalDeviceVulkan12Features on12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features on11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &on12};
    VkPhysicalDeviceFeatures2 on = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &on11};
    choose_features(&have.features, &have11, &have12, &on.features, &on11, &on12);
    if (atomic_ext && have_af.shaderBufferFloat32AtomicAdd) {
        bool listed = false;
        for (uint32_t i = 0; i < n; i++)
            listed |= strcmp(exts[i], VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME) == 0;
        if (!listed)
            exts[n++] = VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME;
        on_af.shaderBufferFloat32Atomics = have_af.shaderBufferFloat32Atomics;
        on_af.shaderBufferFloat32AtomicAdd = VK_TRUE;
        on12.pNext = &on_af;
    }

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = rep->compute_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &on,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = n,
                              .ppEnabledExtensionNames = exts};
    VkResult res = o->create_device
                       ? o->create_device(o->hook_user, phys, &dci, &gpu->info.device)
                       : vkCreateDevice(phys, &dci, NULL, &gpu->info.device);
    if (res != VK_SUCCESS) {
        gpu->info.device = VK_NULL_HANDLE;
        ok = nnxr_fail(err, "vkCreateDevice on %s failed: %s", rep->properties.deviceName,
                       nnxr_vk_result_name(res));
        goto done;
    }
    vkGetDeviceQueue(gpu->info.device, rep->compute_family, 0, &gpu->info.queue);

    nnxr_gpu_info *in = &gpu->info;
    in->features = on.features;
    in->features11 = on11;
    in->features11.pNext = NULL;
    in->features12 = on12;
    in->features12.pNext = NULL;
    in->shader_float64 = on.features.shaderFloat64;
    in->shader_int64 = on.features.shaderInt64;
    in->shader_int16 = on.features.shaderInt16;
    in->shader_float16 = on12.shaderFloat16;
    in->shader_int8 = on12.shaderInt8;
    in->storage_buffer_8bit = on12.storageBuffer8BitAccess;
    in->storage_buffer_16bit = on11.storageBuffer16BitAccess;
    in->atomic_float_add = on_af.shaderBufferFloat32AtomicAdd;
done:
    free(avail);
    return ok;
}

bool nnxr_gpu_find_memory_type(const nnxr_gpu *gpu, uint32_t type_bits,
                               VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred,
                               uint32_t *index, nnxr_error *err)
{
    const VkPhysicalDeviceMemoryProperties *m = &gpu->info.memory;
    /* Types we never want by accident: protected memory needs protected queues, and AMD's
     * device-coherent memory is uncached and slow. */
    VkMemoryPropertyFlags avoid = VK_MEMORY_PROPERTY_PROTECTED_BIT |
                                  VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD |
                                  VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT;
    avoid &= ~(required | preferred);
    for (int pass = 0; pass < 2; pass++) {
        VkMemoryPropertyFlags want = required | (pass == 0 ? preferred : 0);
        for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
            if ((type_bits & (1u << i)) && (f & want) == want && !(f & avoid)) {
                *index = i;
                return true;
            }
        }
    }
    return nnxr_fail(err, "no memory type with flags 0x%x among the allowed types 0x%x",
                     (unsigned)required, (unsigned)type_bits);
}

/* Whether device-local storage buffers land in host-visible memory (then we map them). */
static void probe_direct_mapping(nnxr_gpu *gpu)
{
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = 256,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer b;
    if (vkCreateBuffer(gpu->info.device, &bci, NULL, &b) != VK_SUCCESS)
        return;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(gpu->info.device, b, &req);
    vkDestroyBuffer(gpu->info.device, b, NULL);
    uint32_t type;
    if (nnxr_gpu_find_memory_type(gpu, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                  0, &type, NULL))
        gpu->info.direct_mapping =
            !gpu->force_staging && (gpu->info.memory.memoryTypes[type].propertyFlags &
                                    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
}

bool nnxr_gpu_create(const nnxr_gpu_options *options, nnxr_gpu **out, nnxr_error *err)
{
    nnxr_gpu_options defaults = {0};
    const nnxr_gpu_options *o = options ? options : &defaults;
    *out = NULL;
    nnxr_gpu *gpu = calloc(1, sizeof *gpu);
    if (!gpu)
        return nnxr_fail(err, "out of memory");
    atomic_init(&gpu->validation_count, 0);
    gpu->force_staging = o->force_staging;
    gpu->staging_limit = o->staging_limit ? o->staging_limit : (VkDeviceSize)64 << 20;
    gpu->staging_limit = (gpu->staging_limit + 3) & ~(VkDeviceSize)3;

    /* The threads that exist before the driver's: none of them can be its workers. */
    enum { START_CAP = 4096 };
    nnxr_thread_time *start = NULL;
    uint32_t nstart = 0;

    bool sync = o->validate_sync || env_is("NNXR_VALIDATE", "sync");
    bool validate = o->validate || sync || env_is("NNXR_VALIDATE", "1");
    nnxr_gpu_device_report rep;
    start = malloc(START_CAP * sizeof *start);
    if (!start) {
        nnxr_fail(err, "out of memory");
        goto fail;
    }
    nstart = nnxr_gpu_thread_times(start, START_CAP);
    if (!create_instance(gpu, o, validate, sync, err) || !pick_device(gpu, o, &rep, err) ||
        !create_device(gpu, o, &rep, err))
        goto fail;

    nnxr_gpu_info *in = &gpu->info;
    in->queue_family = rep.compute_family;
    in->device_index = rep.index;
    in->api_version = rep.properties.apiVersion;
    in->properties = rep.properties;
    in->memory = rep.memory;
    in->max_memory_allocation_size = rep.max_memory_allocation_size;
    in->subgroup_size = rep.subgroup.subgroupSize;
    /* Our subgroup operations all run in compute shaders. */
    in->subgroup_operations = rep.subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT
                                  ? rep.subgroup.supportedOperations
                                  : 0;
    in->is_cpu = rep.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    in->timestamp_valid_bits = rep.timestamp_valid_bits;
    in->timestamp_period_ns = rep.properties.limits.timestampPeriod;
    in->timestamps = in->timestamp_valid_bits > 0 && in->timestamp_period_ns > 0;
    {
        uint32_t nq = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(in->physical_device, &nq, NULL);
        VkQueueFamilyProperties *q = calloc(nq ? nq : 1, sizeof *q);
        if (q) {
            vkGetPhysicalDeviceQueueFamilyProperties(in->physical_device, &nq, q);
            in->queue_graphics =
                in->queue_family < nq && (q[in->queue_family].queueFlags & VK_QUEUE_GRAPHICS_BIT);
            free(q);
        }
    }
    probe_direct_mapping(gpu);

    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT |
                                            VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = in->queue_family};
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkResult res = vkCreateCommandPool(in->device, &pci, NULL, &gpu->transfer_pool);
    if (res == VK_SUCCESS)
        res = vkCreateFence(in->device, &fci, NULL, &gpu->transfer_fence);
    if (res != VK_SUCCESS) {
        nnxr_fail(err, "creating the transfer command pool failed: %s",
                  nnxr_vk_result_name(res));
        goto fail;
    }

    char dir[900];
    nnxr_gpu_cache_dir(o->cache_dir, dir, sizeof dir);
    gpu->cache_enabled = !o->no_pipeline_cache && dir[0];
    nnxr_gpu_cache_open(gpu, gpu->cache_enabled ? dir : NULL);
    if (!in->pipeline_cache) {
        nnxr_fail(err, "vkCreatePipelineCache failed");
        goto fail;
    }
    NNXR_INFO("gpu: %s (%s), queue family %u, %s", in->properties.deviceName,
              in->is_cpu ? "cpu" : "gpu", in->queue_family,
              in->direct_mapping ? "device memory mapped directly" : "staged transfers");
    if (in->is_cpu)
        nnxr_gpu_place_cpu_workers(gpu, start, nstart,
                                   !o->leave_cpu_workers && !env_is("NNXR_PIN_WORKERS", "0"));
    free(start);
    *out = gpu;
    return true;
fail:
    free(start);
    nnxr_fail_prefix(err, "gpu");
    gpu->cache_enabled = false;
    nnxr_gpu_destroy(gpu);
    return false;
}

void nnxr_gpu_destroy(nnxr_gpu *gpu) { nnxr_gpu_destroy_counted(gpu); }

uint32_t nnxr_gpu_destroy_counted(nnxr_gpu *gpu)
{
    if (!gpu)
        return 0;
    nnxr_gpu_info *in = &gpu->info;
    if (in->device) {
        vkDeviceWaitIdle(in->device);
        if (in->pipeline_cache) {
            if (gpu->cache_enabled)
                nnxr_gpu_cache_save(gpu);
            vkDestroyPipelineCache(in->device, in->pipeline_cache, NULL);
        }
        nnxr_gpu_staging_release(gpu);
        if (gpu->transfer_fence)
            vkDestroyFence(in->device, gpu->transfer_fence, NULL);
        if (gpu->transfer_pool)
            vkDestroyCommandPool(in->device, gpu->transfer_pool, NULL);
        vkDestroyDevice(in->device, NULL);
    }
    if (in->instance) {
        if (gpu->messenger) {
            PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
                (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                    in->instance, "vkDestroyDebugUtilsMessengerEXT");
            if (destroy_messenger)
                destroy_messenger(in->instance, gpu->messenger, NULL);
        }
        vkDestroyInstance(in->instance, NULL);
    }
    uint32_t count = atomic_load(&gpu->validation_count);
    free(gpu);
    return count;
}

bool nnxr_gpu_wait_idle(nnxr_gpu *gpu, nnxr_error *err)
{
    VkResult res = vkDeviceWaitIdle(gpu->info.device);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "vkDeviceWaitIdle failed: %s", nnxr_vk_result_name(res));
    return true;
}

/* ---- one-shot submissions ------------------------------------------------------------------ */

static void full_barrier(VkCommandBuffer cmd, bool to_host)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
    VkPipelineStageFlags dst = VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    if (to_host) {
        mb.dstAccessMask |= VK_ACCESS_HOST_READ_BIT;
        dst |= VK_PIPELINE_STAGE_HOST_BIT;
    }
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, dst, 0, 1, &mb, 0, NULL, 0,
                         NULL);
}

/* Waiting on a fence: long enough for slow CPU devices, but a hung device still ends. */
#define FENCE_TIMEOUT_NS (600ull * 1000 * 1000 * 1000)

bool nnxr_gpu_submit_once(nnxr_gpu *gpu, void (*record)(VkCommandBuffer cmd, void *user),
                          void *user, nnxr_error *err)
{
    VkDevice dev = gpu->info.device;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = gpu->transfer_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBuffer cmd;
    VkResult res = vkAllocateCommandBuffers(dev, &ai, &cmd);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "vkAllocateCommandBuffers failed: %s", nnxr_vk_result_name(res));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    vkBeginCommandBuffer(cmd, &bi);
    /* Order against whatever was submitted before and whatever comes after. */
    full_barrier(cmd, false);
    record(cmd, user);
    full_barrier(cmd, true);
    res = vkEndCommandBuffer(cmd);
    if (res == VK_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &cmd};
        res = vkQueueSubmit(gpu->info.queue, 1, &si, gpu->transfer_fence);
        if (res == VK_SUCCESS) {
            res = vkWaitForFences(dev, 1, &gpu->transfer_fence, VK_TRUE, FENCE_TIMEOUT_NS);
            vkResetFences(dev, 1, &gpu->transfer_fence);
        }
    }
    vkFreeCommandBuffers(dev, gpu->transfer_pool, 1, &cmd);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "one-shot submission failed: %s", nnxr_vk_result_name(res));
    return true;
}

/* ---- the "nnxr.gpu" service --------------------------------------------------------------- */

static VkInstance api_instance(void *ctx) { return ((nnxr_gpu *)ctx)->info.instance; }
static VkPhysicalDevice api_physical(void *ctx) { return ((nnxr_gpu *)ctx)->info.physical_device; }
static VkDevice api_device(void *ctx) { return ((nnxr_gpu *)ctx)->info.device; }
static uint32_t api_family(void *ctx) { return ((nnxr_gpu *)ctx)->info.queue_family; }
static VkQueue api_queue(void *ctx) { return ((nnxr_gpu *)ctx)->info.queue; }
static VkPipelineCache api_cache(void *ctx) { return ((nnxr_gpu *)ctx)->info.pipeline_cache; }
static const VkPhysicalDeviceProperties *api_props(void *ctx)
{
    return &((nnxr_gpu *)ctx)->info.properties;
}
static const VkPhysicalDeviceMemoryProperties *api_memprops(void *ctx)
{
    return &((nnxr_gpu *)ctx)->info.memory;
}
static bool api_is_cpu(void *ctx) { return ((nnxr_gpu *)ctx)->info.is_cpu; }
static uint32_t api_subgroup(void *ctx) { return ((nnxr_gpu *)ctx)->info.subgroup_size; }
static bool api_buffer_create(void *ctx, const nnxr_buffer_desc *d, nnxr_buffer **out,
                              nnxr_error *err)
{
    return nnxr_buffer_create(ctx, d, out, err);
}
static void api_buffer_destroy(void *ctx, nnxr_buffer *b) { nnxr_buffer_destroy(ctx, b); }
static bool api_upload(void *ctx, nnxr_buffer *b, VkDeviceSize off, const void *data,
                       VkDeviceSize size, nnxr_error *err)
{
    return nnxr_buffer_upload(ctx, b, off, data, size, err);
}
static bool api_readback(void *ctx, const nnxr_buffer *b, VkDeviceSize off, void *data,
                         VkDeviceSize size, nnxr_error *err)
{
    return nnxr_buffer_readback(ctx, b, off, data, size, err);
}
static bool api_compile(void *ctx, const char *src, const char *name, VkShaderStageFlagBits st,
                        uint32_t **words, size_t *n, nnxr_error *err)
{
    (void)ctx;
    return nnxr_gpu_compile_glsl(src, name, st, words, n, err);
}
static void api_free_spirv(void *ctx, uint32_t *words)
{
    (void)ctx;
    free(words);
}
static bool api_kernel_create(void *ctx, const nnxr_kernel_desc *d, nnxr_kernel **out,
                              nnxr_error *err)
{
    return nnxr_kernel_create(ctx, d, out, err);
}
static void api_kernel_destroy(void *ctx, nnxr_kernel *k) { nnxr_kernel_destroy(ctx, k); }
static bool api_bind(void *ctx, const nnxr_kernel *k, const nnxr_buffer_slot *slots,
                     uint32_t count, nnxr_binding **out, nnxr_error *err)
{
    return nnxr_binding_create(ctx, k, slots, count, out, err);
}
static void api_binding_destroy(void *ctx, nnxr_binding *b) { nnxr_binding_destroy(ctx, b); }
static bool api_dispatch(void *ctx, VkCommandBuffer cmd, const nnxr_kernel *k,
                         const nnxr_binding *b, const void *push, uint32_t push_size,
                         uint32_t gx, uint32_t gy, uint32_t gz, nnxr_error *err)
{
    return nnxr_gpu_cmd_dispatch(ctx, cmd, k, b, push, push_size, gx, gy, gz, err);
}
static void api_barrier(void *ctx, VkCommandBuffer cmd)
{
    (void)ctx;
    nnxr_gpu_cmd_barrier(cmd);
}

void nnxr_gpu_fill_api(nnxr_gpu *gpu, nnxr_gpu_api *api)
{
    memset(api, 0, sizeof *api);
    api->ctx = gpu;
    api->size = sizeof *api;
    api->instance = api_instance;
    api->physical_device = api_physical;
    api->device = api_device;
    api->queue_family = api_family;
    api->queue = api_queue;
    api->pipeline_cache = api_cache;
    api->properties = api_props;
    api->memory_properties = api_memprops;
    api->is_cpu = api_is_cpu;
    api->subgroup_size = api_subgroup;
    api->buffer_create = api_buffer_create;
    api->buffer_destroy = api_buffer_destroy;
    api->buffer_upload = api_upload;
    api->buffer_readback = api_readback;
    api->compile_glsl = api_compile;
    api->free_spirv = api_free_spirv;
    api->kernel_create = api_kernel_create;
    api->kernel_destroy = api_kernel_destroy;
    api->kernel_bind = api_bind;
    api->binding_destroy = api_binding_destroy;
    api->cmd_dispatch = api_dispatch;
    api->cmd_barrier = api_barrier;
}
