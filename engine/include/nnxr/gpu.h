/* nnxr/gpu.h — the "nnxr.gpu" service: the engine's Vulkan device, buffers, compute kernels
 * and run-time GLSL, for plugins (which never link the engine). Also the types the engine's
 * own gpu module shares with them (engine/gpu/gpu.h includes this header), and the
 * "nnxr.compute" plugin extension.
 *
 * Ownership: whatever a create function hands out, the matching destroy function frees;
 * a plugin destroys what it created before its own destroy returns. */
#ifndef NNXR_GPU_H
#define NNXR_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "nnxr/error.h"
#include "nnxr/plugin.h"

#define NNXR_SERVICE_GPU "nnxr.gpu"

/* ---- buffers ------------------------------------------------------------------------------ */

typedef enum nnxr_buffer_kind {
    /* Device-local. Upload/readback go through a staging buffer, or map directly when the
     * device-local memory is also host-visible (unified memory, CPU devices). */
    NNXR_BUFFER_DEVICE = 0,
    /* Host-visible and coherent, persistently mapped (`mapped`): small per-frame data
     * written by the CPU and read by shaders. Device-local too when the device offers it. */
    NNXR_BUFFER_HOST = 1,
    /* Host-visible, cached where possible, persistently mapped: results the CPU reads. */
    NNXR_BUFFER_READBACK = 2,
} nnxr_buffer_kind;

typedef struct nnxr_buffer_desc {
    const char *name;         /* for messages and debug labels; may be NULL */
    nnxr_buffer_kind kind;
    VkDeviceSize size;        /* bytes, > 0 */
    VkBufferUsageFlags usage; /* extra usage (vertex, index, indirect, uniform); STORAGE,
                                 TRANSFER_SRC and TRANSFER_DST are always added */
    /* A storage buffer larger than maxStorageBufferRange is refused unless this is set, in
     * which case it may only be bound in sub-ranges of at most maxStorageBufferRange. */
    bool split_binding;
} nnxr_buffer_desc;

/* Created by the engine (never allocated by a plugin); the fields are read-only for users. */
typedef struct nnxr_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;        /* the size asked for */
    VkBufferUsageFlags usage; /* the usage the VkBuffer was created with */
    nnxr_buffer_kind kind;
    void *mapped;             /* host pointer to byte 0 while mapped (HOST, READBACK, and
                                 DEVICE when mapped directly), else NULL */
    bool coherent;            /* mapped memory is HOST_COHERENT (no flush/invalidate) */
    uint32_t memory_type;     /* index into VkPhysicalDeviceMemoryProperties.memoryTypes */
    char name[48];
} nnxr_buffer;

/* One descriptor slot of a binding: a buffer and a byte range of it. range 0 means "from
 * offset to the end of the buffer". offset must be a multiple of
 * minStorageBufferOffsetAlignment, range at most maxStorageBufferRange. */
typedef struct nnxr_buffer_slot {
    const nnxr_buffer *buffer;
    VkDeviceSize offset;
    VkDeviceSize range;
} nnxr_buffer_slot;

/* ---- kernels ------------------------------------------------------------------------------- */

#define NNXR_KERNEL_MAX_BUFFERS 32

/* A specialization constant: constant_id → 32-bit value (uint, int, float or bool). */
typedef struct nnxr_spec_constant {
    uint32_t id;
    uint32_t bits; /* the value's 4 bytes */
} nnxr_spec_constant;

static inline nnxr_spec_constant nnxr_spec_u32(uint32_t id, uint32_t v)
{
    nnxr_spec_constant s = {id, v};
    return s;
}

static inline nnxr_spec_constant nnxr_spec_i32(uint32_t id, int32_t v)
{
    nnxr_spec_constant s = {id, (uint32_t)v};
    return s;
}

static inline nnxr_spec_constant nnxr_spec_f32(uint32_t id, float v)
{
    union {
        float f;
        uint32_t u;
    } c;
    c.f = v;
    nnxr_spec_constant s = {id, c.u};
    return s;
}

typedef struct nnxr_kernel_desc {
    const char *name;         /* for messages; defaults to `shader` */
    /* SPIR-V: an embedded module by its path under shaders/ ("test/saxpy.comp") — only the
     * engine has these — or the words themselves (code, code_size in bytes). */
    const char *shader;
    const uint32_t *code;
    size_t code_size;
    const char *entry;        /* entry point; NULL = "main" */
    /* Storage buffers at set 0, bindings 0..buffer_count-1. Bit i of written_mask set means
     * binding i is written by the kernel (the others are only read): barriers are placed
     * from this. */
    uint32_t buffer_count;
    uint32_t written_mask;
    uint32_t push_size;       /* bytes of push constants (multiple of 4, may be 0) */
    const nnxr_spec_constant *specs;
    uint32_t spec_count;
} nnxr_kernel_desc;

typedef struct nnxr_kernel nnxr_kernel;   /* opaque: pipeline + layouts */
typedef struct nnxr_binding nnxr_binding; /* opaque: one descriptor set, every slot written */

/* ---- the service ---------------------------------------------------------------------------- */

/* Every function takes the table's ctx as its first argument. `size` is sizeof the table the
 * host filled: a plugin built against a newer header checks it before using later members. */
typedef struct nnxr_gpu_api {
    void *ctx;
    size_t size;

    VkInstance (*instance)(void *ctx);
    VkPhysicalDevice (*physical_device)(void *ctx);
    VkDevice (*device)(void *ctx);
    uint32_t (*queue_family)(void *ctx);
    VkQueue (*queue)(void *ctx);
    VkPipelineCache (*pipeline_cache)(void *ctx);
    const VkPhysicalDeviceProperties *(*properties)(void *ctx); /* limits */
    const VkPhysicalDeviceMemoryProperties *(*memory_properties)(void *ctx);
    bool (*is_cpu)(void *ctx);             /* VK_PHYSICAL_DEVICE_TYPE_CPU */
    uint32_t (*subgroup_size)(void *ctx);

    bool (*buffer_create)(void *ctx, const nnxr_buffer_desc *desc, nnxr_buffer **out,
                          nnxr_error *err);
    void (*buffer_destroy)(void *ctx, nnxr_buffer *buf); /* NULL is fine */
    /* Synchronous: returns when the data is in place. The caller makes sure no submitted
     * GPU work still uses the range. */
    bool (*buffer_upload)(void *ctx, nnxr_buffer *buf, VkDeviceSize offset, const void *data,
                          VkDeviceSize size, nnxr_error *err);
    bool (*buffer_readback)(void *ctx, const nnxr_buffer *buf, VkDeviceSize offset,
                            void *data, VkDeviceSize size, nnxr_error *err);

    /* GLSL source → SPIR-V words (free them with free_spirv). stage is one
     * VkShaderStageFlagBits; name appears in the compiler's messages, which the error holds. */
    bool (*compile_glsl)(void *ctx, const char *source, const char *name,
                         VkShaderStageFlagBits stage, uint32_t **words, size_t *word_count,
                         nnxr_error *err);
    void (*free_spirv)(void *ctx, uint32_t *words);

    bool (*kernel_create)(void *ctx, const nnxr_kernel_desc *desc, nnxr_kernel **out,
                          nnxr_error *err);
    void (*kernel_destroy)(void *ctx, nnxr_kernel *kernel);
    /* A descriptor set for the kernel's layout with every slot written: count must equal
     * the kernel's buffer_count and no slot may lack a buffer. */
    bool (*kernel_bind)(void *ctx, const nnxr_kernel *kernel, const nnxr_buffer_slot *slots,
                        uint32_t count, nnxr_binding **out, nnxr_error *err);
    void (*binding_destroy)(void *ctx, nnxr_binding *binding);
    /* Records pipeline + set + push constants + vkCmdDispatch into cmd. No barrier is
     * placed: recording into a raw command buffer, call cmd_barrier between dependent
     * dispatches. */
    bool (*cmd_dispatch)(void *ctx, VkCommandBuffer cmd, const nnxr_kernel *kernel,
                         const nnxr_binding *binding, const void *push, uint32_t push_size,
                         uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
                         nnxr_error *err);
    /* A global memory barrier: compute/transfer writes → compute/transfer reads and writes. */
    void (*cmd_barrier)(void *ctx, VkCommandBuffer cmd);
} nnxr_gpu_api;

/* ---- the "nnxr.compute" plugin extension ---------------------------------------------------- */

/* Once per frame after training: the plugin records its dispatches into cmd (the engine's
 * frame command buffer). Everything recorded before is complete and visible to compute
 * shaders; the engine places a barrier after it, assuming the plugin wrote anything. */
#define NNXR_EXT_COMPUTE "nnxr.compute"
typedef struct nnxr_compute_ext {
    void (*record_compute)(void *self, VkCommandBuffer cmd, const struct nnxr_frame *frame);
} nnxr_compute_ext;

#endif
