/* gpu/internal.h — the layout of nnxr_gpu and the helpers the files of engine/gpu/ share.
 * Nothing outside engine/gpu/ includes this. */
#ifndef NNXR_GPU_INTERNAL_H
#define NNXR_GPU_INTERNAL_H

#include <stdatomic.h>

#include "gpu/gpu.h"

struct nnxr_gpu {
    nnxr_gpu_info info;
    /* Counted from the debug messenger callback, which the layer may call from any thread
     * that makes a Vulkan call. */
    atomic_uint validation_count;
    VkDebugUtilsMessengerEXT messenger;
    PFN_vkSetDebugUtilsObjectNameEXT set_object_name; /* NULL without debug utils */
    bool force_staging;
    VkCommandPool transfer_pool; /* one-shot command buffers (uploads, readbacks) */
    VkFence transfer_fence;
    /* A staging buffer reused by uploads and readbacks, grown on demand up to a cap. */
    VkBuffer staging;
    VkDeviceMemory staging_memory;
    VkDeviceSize staging_size;
    VkDeviceSize staging_limit;
    VkDeviceSize staging_alloc; /* bytes of its memory */
    void *staging_mapped;
    bool staging_coherent;
    bool cache_enabled;
};

struct nnxr_kernel {
    char name[64];
    VkDescriptorSetLayout set_layout; /* NULL when the kernel has no buffers */
    VkPipelineLayout layout;
    VkPipeline pipeline;
    uint32_t buffer_count;
    uint32_t written_mask;
    nnxr_slot_kind kinds[NNXR_KERNEL_MAX_BUFFERS];
    uint32_t push_size;
};

/* What a binding's slot resolved to (range never VK_WHOLE_SIZE), for barrier tracking. */
typedef struct nnxr_slot_ref {
    VkBuffer buffer;
    VkDeviceSize offset;
    VkDeviceSize range;
} nnxr_slot_ref;

struct nnxr_binding {
    VkDescriptorPool pool;
    VkBufferView views[NNXR_KERNEL_MAX_BUFFERS]; /* texel slots only */
    VkDescriptorSet set;
    uint32_t count;
    nnxr_slot_ref slots[NNXR_KERNEL_MAX_BUFFERS];
};

/* What device.c learns about one physical device (also used by nnxr_gpu_create). */
void nnxr_gpu_probe(VkPhysicalDevice physical, uint32_t index, bool need_graphics,
                    nnxr_gpu_device_report *r);

/* The enumeration name of a VkResult ("VK_ERROR_OUT_OF_DEVICE_MEMORY"). */
const char *nnxr_vk_result_name(VkResult r);

/* Labels a Vulkan object for validation messages (no-op without debug utils). */
void nnxr_gpu_name_object(nnxr_gpu *gpu, VkObjectType type, uint64_t handle,
                          const char *name);

/* Pipeline cache (pipeline_cache.c). */
void nnxr_gpu_cache_dir(const char *override, char *out, size_t out_size);
void nnxr_gpu_cache_open(nnxr_gpu *gpu, const char *dir);
void nnxr_gpu_cache_save(nnxr_gpu *gpu);

/* Flush or invalidate a mapped range of non-coherent memory, widened to nonCoherentAtomSize. */
VkResult nnxr_gpu_flush_range(nnxr_gpu *gpu, VkDeviceMemory memory, VkDeviceSize alloc_size,
                              VkDeviceSize offset, VkDeviceSize size, bool invalidate);

/* CPU devices, at the end of nnxr_gpu_create: finds the driver's worker threads (those not in
 * `start`, the threads before the instance existed) and, if `pin`, pins them one per CPU.
 * Fills info.cpu_*; never fails creation. */
void nnxr_gpu_place_cpu_workers(nnxr_gpu *gpu, const nnxr_thread_time *start, uint32_t nstart,
                                bool pin);

/* The staging buffer at least min(want, cap) bytes; returns its size in *got. */
bool nnxr_gpu_staging(nnxr_gpu *gpu, VkDeviceSize want, VkDeviceSize *got, nnxr_error *err);
void nnxr_gpu_staging_release(nnxr_gpu *gpu);

#endif
