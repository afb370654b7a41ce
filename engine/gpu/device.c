/* gpu/device.c — which physical device to use: the ranking (a pure function of a few
 * properties, so tests can feed it fake devices), the user's override by index or name, what
 * we learn about each device (probe), and the listing behind `nnxr devices`. */
#include "gpu/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

int nnxr_gpu_device_rank(const nnxr_gpu_candidate *c, bool need_graphics)
{
    /* Our shaders are SPIR-V 1.5 (glslc --target-env=vulkan1.2). */
    if (VK_API_VERSION_MAJOR(c->api_version) < 1 ||
        (VK_API_VERSION_MAJOR(c->api_version) == 1 && VK_API_VERSION_MINOR(c->api_version) < 2))
        return -1;
    if (!c->has_compute)
        return -1;
    if (need_graphics && !c->has_graphics_compute)
        return -1;
    switch (c->type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static const char *why_unusable(const nnxr_gpu_candidate *c, bool need_graphics)
{
    if (!c->has_compute)
        return "it has no compute queue";
    if (need_graphics && !c->has_graphics_compute)
        return "it has no queue that does both graphics and compute";
    return "it supports only Vulkan below 1.2";
}

/* "0: name (type); 1: ..." into out, for error messages. */
static void list_candidates(const nnxr_gpu_candidate *c, uint32_t n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    if (n == 0) {
        snprintf(out, size, "(none: no Vulkan device was found)");
        return;
    }
    for (uint32_t i = 0; i < n && len + 1 < size; i++) {
        int w = snprintf(out + len, size - len, "%s%u: %s (%s)", i ? "; " : "", i, c[i].name,
                         type_name(c[i].type));
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* a better than b? Rank, then device-local memory; the earlier index wins ties. */
static bool better(const nnxr_gpu_candidate *a, int ra, const nnxr_gpu_candidate *b, int rb)
{
    if (ra != rb)
        return ra > rb;
    return a->device_local_bytes > b->device_local_bytes;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

bool nnxr_gpu_choose_device(const nnxr_gpu_candidate *cands, uint32_t count, const char *want,
                            bool need_graphics, uint32_t *chosen, nnxr_error *err)
{
    char list[700];
    list_candidates(cands, count, list, sizeof list);

    if (want && *want) {
        bool digits = true;
        for (const char *p = want; *p; p++)
            if (!isdigit((unsigned char)*p))
                digits = false;
        if (digits) {
            char *end = NULL;
            unsigned long idx = strtoul(want, &end, 10);
            if (idx >= count)
                return nnxr_fail(err,
                                 "device \"%s\": no device has that index; devices: %s", want,
                                 list);
            if (nnxr_gpu_device_rank(&cands[idx], need_graphics) < 0)
                return nnxr_fail(err, "device \"%s\" (%s) cannot be used: %s", want,
                                 cands[idx].name, why_unusable(&cands[idx], need_graphics));
            *chosen = (uint32_t)idx;
            return true;
        }
        int best = -1, best_rank = -1;
        int matched = -1;
        for (uint32_t i = 0; i < count; i++) {
            if (!contains_nocase(cands[i].name, want))
                continue;
            matched = (int)i;
            int r = nnxr_gpu_device_rank(&cands[i], need_graphics);
            if (r < 0)
                continue;
            if (best < 0 || better(&cands[i], r, &cands[best], best_rank)) {
                best = (int)i;
                best_rank = r;
            }
        }
        if (best >= 0) {
            *chosen = (uint32_t)best;
            return true;
        }
        if (matched >= 0)
            return nnxr_fail(err, "device \"%s\" matches %s, which cannot be used: %s", want,
                             cands[matched].name, why_unusable(&cands[matched], need_graphics));
        return nnxr_fail(err,
                         "device \"%s\": no device has that index or a name containing it; "
                         "devices: %s",
                         want, list);
    }

    int best = -1, best_rank = -1;
    for (uint32_t i = 0; i < count; i++) {
        int r = nnxr_gpu_device_rank(&cands[i], need_graphics);
        if (r < 0)
            continue;
        if (best < 0 || better(&cands[i], r, &cands[best], best_rank)) {
            best = (int)i;
            best_rank = r;
        }
    }
    if (best < 0)
        return nnxr_fail(err,
                         "no usable Vulkan device (needs Vulkan 1.2 and a compute%s queue); "
                         "devices: %s",
                         need_graphics ? " + graphics" : "", list);
    *chosen = (uint32_t)best;
    return true;
}

void nnxr_gpu_probe(VkPhysicalDevice physical, uint32_t index, bool need_graphics,
                    nnxr_gpu_device_report *r)
{
    memset(r, 0, sizeof *r);
    r->index = index;
    vkGetPhysicalDeviceProperties(physical, &r->properties);
    vkGetPhysicalDeviceMemoryProperties(physical, &r->memory);
    uint32_t api = r->properties.apiVersion;
    bool v11 = VK_API_VERSION_MAJOR(api) > 1 || VK_API_VERSION_MINOR(api) >= 1;
    bool v12 = VK_API_VERSION_MAJOR(api) > 1 || VK_API_VERSION_MINOR(api) >= 2;

    /* Chain only what the device's version has: a 1.0 device must not see 1.1 structs. */
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    r->subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    r->driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    if (v11) {
        p2.pNext = &r->subgroup;
        r->subgroup.pNext = &m3;
        if (v12)
            m3.pNext = &r->driver;
        vkGetPhysicalDeviceProperties2(physical, &p2);
        r->subgroup.pNext = NULL;
        r->driver.pNext = NULL;
        r->max_memory_allocation_size = m3.maxMemoryAllocationSize;
    }
    if (r->max_memory_allocation_size == 0) /* the minimum the spec guarantees */
        r->max_memory_allocation_size = (VkDeviceSize)1 << 30;

    nnxr_gpu_candidate *c = &r->candidate;
    snprintf(c->name, sizeof c->name, "%s", r->properties.deviceName);
    c->type = r->properties.deviceType;
    c->api_version = api;
    for (uint32_t h = 0; h < r->memory.memoryHeapCount; h++)
        if (r->memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            c->device_local_bytes += r->memory.memoryHeaps[h].size;

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, NULL);
    VkQueueFamilyProperties *q = calloc(nq ? nq : 1, sizeof *q);
    r->compute_family = UINT32_MAX;
    if (!q)
        return;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, q);
    /* Score each family: it must do compute (and graphics if asked); then prefer one with
     * timestamps, then one that also does graphics (one family for both). */
    int best_score = -1;
    for (uint32_t i = 0; i < nq; i++) {
        VkQueueFlags f = q[i].queueFlags;
        if (q[i].queueCount == 0 || !(f & VK_QUEUE_COMPUTE_BIT))
            continue;
        c->has_compute = true;
        bool gfx = (f & VK_QUEUE_GRAPHICS_BIT) != 0;
        if (gfx)
            c->has_graphics_compute = true;
        if (need_graphics && !gfx)
            continue;
        int score = (q[i].timestampValidBits > 0 ? 2 : 0) + (gfx ? 1 : 0);
        if (score > best_score) {
            best_score = score;
            r->compute_family = i;
            r->timestamp_valid_bits = q[i].timestampValidBits;
        }
    }
    free(q);
}

/* A bare instance for listing devices: no layers, no extensions beyond portability. */
static bool list_instance(VkInstance *instance, nnxr_error *err)
{
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "nnxr devices",
                             .pEngineName = "nnxr",
                             .apiVersion = VK_API_VERSION_1_2};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pApplicationInfo = &app};
    VkResult res = vkCreateInstance(&ci, NULL, instance);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "vkCreateInstance failed: %s (is a Vulkan driver installed?)",
                         nnxr_vk_result_name(res));
    return true;
}

bool nnxr_gpu_list_devices(nnxr_gpu_device_report **reports, uint32_t *count, nnxr_error *err)
{
    *reports = NULL;
    *count = 0;
    VkInstance instance;
    if (!list_instance(&instance, err))
        return false;
    uint32_t n = 0;
    VkResult res = vkEnumeratePhysicalDevices(instance, &n, NULL);
    VkPhysicalDevice *phys = calloc(n ? n : 1, sizeof *phys);
    nnxr_gpu_device_report *out = calloc(n ? n : 1, sizeof *out);
    nnxr_gpu_candidate *cands = calloc(n ? n : 1, sizeof *cands);
    bool ok = false;
    if (!phys || !out || !cands) {
        nnxr_fail(err, "out of memory listing %u devices", n);
        goto done;
    }
    if (res == VK_SUCCESS)
        res = vkEnumeratePhysicalDevices(instance, &n, phys);
    if (res != VK_SUCCESS && res != VK_INCOMPLETE) {
        nnxr_fail(err, "vkEnumeratePhysicalDevices failed: %s", nnxr_vk_result_name(res));
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        nnxr_gpu_probe(phys[i], i, false, &out[i]);
        out[i].rank = nnxr_gpu_device_rank(&out[i].candidate, false);
        cands[i] = out[i].candidate;
    }
    uint32_t def;
    nnxr_error ignored;
    if (n && nnxr_gpu_choose_device(cands, n, NULL, false, &def, &ignored))
        out[def].is_default = true;
    *reports = out;
    *count = n;
    out = NULL;
    ok = true;
done:
    free(phys);
    free(out);
    free(cands);
    vkDestroyInstance(instance, NULL);
    return ok;
}
