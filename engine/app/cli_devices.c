/* app/cli_devices.c — `nnxr devices`: every Vulkan device with the properties and limits that
 * matter to nnxr's kernels, and which one a run would choose by default. Text or --json. */
#include "app/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"

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

/* Driver versions are vendor-encoded; NVIDIA packs 10.8.8.6 bits, most others follow the
 * Vulkan version macros. */
static void driver_version(uint32_t vendor, uint32_t v, char *out, size_t size)
{
    if (vendor == 0x10DE)
        snprintf(out, size, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
    else
        snprintf(out, size, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                 VK_API_VERSION_PATCH(v));
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void heap_flags(VkMemoryHeapFlags fl, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s", (fl & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) ? "device-local" : "",
             (fl & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && (fl & VK_MEMORY_HEAP_MULTI_INSTANCE_BIT)
                 ? ","
                 : "",
             (fl & VK_MEMORY_HEAP_MULTI_INSTANCE_BIT) ? "multi-instance" : "");
    if (!out[0])
        snprintf(out, size, "host");
}

static void print_text(const nnxr_gpu_device_report *r)
{
    const VkPhysicalDeviceProperties *p = &r->properties;
    const VkPhysicalDeviceLimits *l = &p->limits;
    char dv[32];
    driver_version(p->vendorID, p->driverVersion, dv, sizeof dv);
    printf("device %u: %s%s\n", r->index, p->deviceName, r->is_default ? "  [default]" : "");
    printf("  type:                 %s\n", type_name(p->deviceType));
    printf("  usable:               %s\n",
           r->rank >= 0 ? "yes" : "no (needs Vulkan 1.2 and a compute queue)");
    printf("  driver:               %s, %s, version %s (0x%x)\n",
           r->driver.driverName[0] ? r->driver.driverName : "?",
           r->driver.driverInfo[0] ? r->driver.driverInfo : "?", dv, p->driverVersion);
    printf("  api:                  %u.%u.%u\n", VK_API_VERSION_MAJOR(p->apiVersion),
           VK_API_VERSION_MINOR(p->apiVersion), VK_API_VERSION_PATCH(p->apiVersion));
    printf("  vendor/device id:     0x%04x / 0x%04x\n", p->vendorID, p->deviceID);
    printf("  shared memory:        %u bytes\n", l->maxComputeSharedMemorySize);
    printf("  workgroup size:       %u x %u x %u, %u invocations\n",
           l->maxComputeWorkGroupSize[0], l->maxComputeWorkGroupSize[1],
           l->maxComputeWorkGroupSize[2], l->maxComputeWorkGroupInvocations);
    printf("  workgroup count:      %u x %u x %u\n", l->maxComputeWorkGroupCount[0],
           l->maxComputeWorkGroupCount[1], l->maxComputeWorkGroupCount[2]);
    printf("  subgroup size:        %u\n", r->subgroup.subgroupSize);
    printf("  storage buffer range: %u bytes\n", l->maxStorageBufferRange);
    printf("  max allocation:       %llu bytes\n",
           (unsigned long long)r->max_memory_allocation_size);
    printf("  push constants:       %u bytes\n", l->maxPushConstantsSize);
    if (r->timestamp_valid_bits && l->timestampPeriod > 0)
        printf("  timestamps:           yes, %u valid bits, %g ns per tick\n",
               r->timestamp_valid_bits, (double)l->timestampPeriod);
    else
        printf("  timestamps:           no\n");
    for (uint32_t h = 0; h < r->memory.memoryHeapCount; h++) {
        char fl[64];
        heap_flags(r->memory.memoryHeaps[h].flags, fl, sizeof fl);
        printf("  heap %u:               %.1f MiB (%s)\n", h,
               (double)r->memory.memoryHeaps[h].size / (1024.0 * 1024.0), fl);
    }
}

static void print_json(const nnxr_gpu_device_report *r, bool last)
{
    const VkPhysicalDeviceProperties *p = &r->properties;
    const VkPhysicalDeviceLimits *l = &p->limits;
    char dv[32];
    driver_version(p->vendorID, p->driverVersion, dv, sizeof dv);
    printf("  {\"index\": %u, \"name\": ", r->index);
    json_string(stdout, p->deviceName);
    printf(", \"type\": \"%s\", \"default\": %s, \"usable\": %s,\n", type_name(p->deviceType),
           r->is_default ? "true" : "false", r->rank >= 0 ? "true" : "false");
    printf("   \"driver_name\": ");
    json_string(stdout, r->driver.driverName);
    printf(", \"driver_info\": ");
    json_string(stdout, r->driver.driverInfo);
    printf(", \"driver_version\": \"%s\", \"api_version\": \"%u.%u.%u\",\n", dv,
           VK_API_VERSION_MAJOR(p->apiVersion), VK_API_VERSION_MINOR(p->apiVersion),
           VK_API_VERSION_PATCH(p->apiVersion));
    printf("   \"vendor_id\": %u, \"device_id\": %u,\n", p->vendorID, p->deviceID);
    printf("   \"max_compute_shared_memory_size\": %u,\n", l->maxComputeSharedMemorySize);
    printf("   \"max_compute_work_group_size\": [%u, %u, %u],\n", l->maxComputeWorkGroupSize[0],
           l->maxComputeWorkGroupSize[1], l->maxComputeWorkGroupSize[2]);
    printf("   \"max_compute_work_group_count\": [%u, %u, %u],\n",
           l->maxComputeWorkGroupCount[0], l->maxComputeWorkGroupCount[1],
           l->maxComputeWorkGroupCount[2]);
    printf("   \"max_compute_work_group_invocations\": %u,\n",
           l->maxComputeWorkGroupInvocations);
    printf("   \"subgroup_size\": %u,\n", r->subgroup.subgroupSize);
    printf("   \"max_storage_buffer_range\": %u,\n", l->maxStorageBufferRange);
    printf("   \"max_memory_allocation_size\": %llu,\n",
           (unsigned long long)r->max_memory_allocation_size);
    printf("   \"max_push_constants_size\": %u,\n", l->maxPushConstantsSize);
    bool ts = r->timestamp_valid_bits && l->timestampPeriod > 0;
    printf("   \"timestamps\": %s, \"timestamp_valid_bits\": %u, \"timestamp_period_ns\": %g,\n",
           ts ? "true" : "false", r->timestamp_valid_bits, (double)l->timestampPeriod);
    printf("   \"heaps\": [");
    for (uint32_t h = 0; h < r->memory.memoryHeapCount; h++) {
        char fl[64];
        heap_flags(r->memory.memoryHeaps[h].flags, fl, sizeof fl);
        printf("%s{\"size\": %llu, \"flags\": \"%s\"}", h ? ", " : "",
               (unsigned long long)r->memory.memoryHeaps[h].size, fl);
    }
    printf("]}%s\n", last ? "" : ",");
}

int nnxr_cli_devices(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: nnxr devices [--json]\n"
                   "Lists the Vulkan devices with the limits nnxr's kernels use, and marks the\n"
                   "one chosen by default (override it with a scene's device key or\n"
                   "NNXR_DEVICE=<index or part of the name>).\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "nnxr devices: unknown argument \"%s\" (expected --json or --help)\n",
                    argv[i]);
            return 2;
        }
    }
    nnxr_gpu_device_report *reps = NULL;
    uint32_t n = 0;
    nnxr_error err;
    if (!nnxr_gpu_list_devices(&reps, &n, &err)) {
        fprintf(stderr, "nnxr devices: %s\n", err.message);
        if (json)
            printf("[]\n");
        return 0;
    }
    if (json) {
        printf("[\n");
        for (uint32_t i = 0; i < n; i++)
            print_json(&reps[i], i + 1 == n);
        printf("]\n");
    } else {
        if (n == 0)
            fprintf(stderr, "nnxr devices: no Vulkan device found\n");
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                printf("\n");
            print_text(&reps[i]);
        }
    }
    free(reps);
    return 0;
}
