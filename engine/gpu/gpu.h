/* gpu/gpu.h — the engine's Vulkan compute runtime: instance (with validation on request),
 * device choice, queues, buffers (staged or directly mapped), compute kernels and their
 * descriptor sets ("bindings"), a command recorder that places barriers itself, timestamp
 * marks, the on-disk pipeline cache and run-time GLSL. Plugins reach a subset of it through
 * the "nnxr.gpu" service (nnxr/gpu.h, whose types this header shares).
 *
 * Nothing here assumes a particular driver: limits and memory types are queried. All calls on
 * one nnxr_gpu come from one thread (the queue is not locked). */
#ifndef NNXR_GPU_GPU_H
#define NNXR_GPU_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "nnxr/error.h"
#include "nnxr/gpu.h"

typedef struct nnxr_gpu nnxr_gpu;

/* ---- creation --------------------------------------------------------------------------- */

typedef struct nnxr_gpu_options {
    const char *app_name;     /* NULL = "nnxr" */
    /* Validation layer + debug messenger. Also on when the environment has NNXR_VALIDATE=1
     * (or NNXR_VALIDATE=sync, which adds synchronization validation). */
    bool validate;
    bool validate_sync;       /* also enable synchronization validation (slow) */
    /* NULL or "" = the best ranked device; else a decimal index into the enumeration order
     * or a case-insensitive substring of the device name. Also read from NNXR_DEVICE when
     * this is NULL. */
    const char *device;
    bool graphics;            /* the queue must do graphics and compute */
    bool force_staging;       /* device-local buffers always go through a staging buffer */
    /* Pipeline cache directory; NULL = $NNXR_CACHE_DIR, else $XDG_CACHE_HOME/nnxr, else
     * ~/.cache/nnxr. */
    const char *cache_dir;
    bool no_pipeline_cache;   /* neither read nor write the cache file */
    /* Largest staging buffer for uploads and readbacks (bigger copies go in chunks);
     * 0 = 64 MiB. */
    VkDeviceSize staging_limit;
    /* Extra extensions the caller needs (surface, swapchain, XR's lists). A missing one is an
     * error naming it. */
    const char *const *instance_extensions;
    uint32_t instance_extension_count;
    const char *const *device_extensions;
    uint32_t device_extension_count;
    /* Hooks for OpenXR (XR_KHR_vulkan_enable2 creates the instance and device itself and
     * dictates the physical device). NULL = the plain Vulkan calls / our own choice. */
    void *hook_user;
    VkResult (*create_instance)(void *user, const VkInstanceCreateInfo *info,
                                VkInstance *instance);
    VkResult (*create_device)(void *user, VkPhysicalDevice physical,
                              const VkDeviceCreateInfo *info, VkDevice *device);
    /* Returns the physical device to use, or VK_NULL_HANDLE to fail. */
    VkPhysicalDevice (*pick_physical_device)(void *user, VkInstance instance);
    /* On a CPU device the driver's worker threads are found and pinned one per CPU
     * (cpu_workers.c); true, or NNXR_PIN_WORKERS=0 in the environment, finds them but leaves
     * them where the OS puts them. */
    bool leave_cpu_workers;
} nnxr_gpu_options;

#define NNXR_GPU_MAX_WORKERS 64

/* Everything about the chosen device that other modules need; valid while the gpu lives. */
typedef struct nnxr_gpu_info {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    uint32_t queue_family;
    VkQueue queue;
    bool queue_graphics;          /* the queue family also does graphics */
    VkPipelineCache pipeline_cache;
    uint32_t device_index;        /* in the enumeration order */
    uint32_t api_version;         /* the device's */
    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceMemoryProperties memory;
    VkDeviceSize max_memory_allocation_size;
    uint32_t subgroup_size;
    VkSubgroupFeatureFlags subgroup_operations;
    bool is_cpu;                  /* VK_PHYSICAL_DEVICE_TYPE_CPU */
    bool timestamps;              /* timestamp queries usable on the queue */
    uint32_t timestamp_valid_bits;
    double timestamp_period_ns;   /* nanoseconds per tick */
    bool direct_mapping;          /* DEVICE buffers are mapped directly (no staging) */
    bool validation;              /* the validation layer is on */
    size_t pipeline_cache_loaded; /* bytes of cache data read from disk at start (0 = none) */
    char pipeline_cache_path[1024];
    /* Optional features, enabled when the device has them. */
    bool shader_float64, shader_int64, shader_int16;
    bool shader_float16, shader_int8;
    bool storage_buffer_8bit, storage_buffer_16bit;
    bool atomic_float_add;        /* VK_EXT_shader_atomic_float, buffer float32 add */
    /* CPU devices: the driver threads that execute workgroups (found by a calibration kernel
     * at creation), and the CPU each is pinned to (−1: where the OS puts it). cpu_workers is 0
     * on GPUs and when none was found; cpu_workers_note says why they were not pinned. */
    uint32_t cpu_workers;
    int cpu_worker_tid[NNXR_GPU_MAX_WORKERS];
    int cpu_worker_cpu[NNXR_GPU_MAX_WORKERS];
    bool cpu_workers_pinned;
    char cpu_workers_note[160];
    double cpu_calibration_ms;
    /* The features enabled on the device (pNext cleared). */
    VkPhysicalDeviceFeatures features;
    VkPhysicalDeviceVulkan11Features features11;
    VkPhysicalDeviceVulkan12Features features12;
} nnxr_gpu_info;

bool nnxr_gpu_create(const nnxr_gpu_options *options, nnxr_gpu **out, nnxr_error *err);
/* Waits for the device, saves the pipeline cache, destroys everything. NULL is fine. Every
 * buffer, kernel, binding and recorder must be destroyed before. */
void nnxr_gpu_destroy(nnxr_gpu *gpu);

/* nnxr_gpu_destroy, returning the validation count including what teardown raised (objects
 * not destroyed are reported there): tests use it to check a clean shutdown. */
uint32_t nnxr_gpu_destroy_counted(nnxr_gpu *gpu);

const nnxr_gpu_info *nnxr_gpu_get_info(const nnxr_gpu *gpu);

/* Warnings and errors reported by the validation layer so far (INFO/VERBOSE don't count). */
uint32_t nnxr_gpu_validation_count(const nnxr_gpu *gpu);

bool nnxr_gpu_wait_idle(nnxr_gpu *gpu, nnxr_error *err);

/* The first memory type allowed by type_bits that has all `required` flags, preferring one
 * with all `preferred` flags too. False (with err) if none. */
bool nnxr_gpu_find_memory_type(const nnxr_gpu *gpu, uint32_t type_bits,
                               VkMemoryPropertyFlags required,
                               VkMemoryPropertyFlags preferred, uint32_t *index,
                               nnxr_error *err);

/* Records with `record` into a fresh command buffer, submits it and waits (for image uploads
 * and one-off transfers). The command buffer is preceded and followed by full barriers. */
bool nnxr_gpu_submit_once(nnxr_gpu *gpu, void (*record)(VkCommandBuffer cmd, void *user),
                          void *user, nnxr_error *err);

/* Fills a service table (nnxr/gpu.h) whose ctx is gpu. */
void nnxr_gpu_fill_api(nnxr_gpu *gpu, nnxr_gpu_api *api);

/* ---- device choice (pure, testable with fake data) -------------------------------------- */

typedef struct nnxr_gpu_candidate {
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    VkPhysicalDeviceType type;
    uint32_t api_version;
    bool has_compute;            /* some queue family does compute */
    bool has_graphics_compute;   /* some queue family does graphics and compute */
    VkDeviceSize device_local_bytes;
} nnxr_gpu_candidate;

/* Higher is better; negative = unusable (API < 1.2, or no suitable queue). Ranks discrete >
 * integrated > virtual > CPU > other. */
int nnxr_gpu_device_rank(const nnxr_gpu_candidate *c, bool need_graphics);

/* Picks a device: `want` NULL/"" = the best ranked (ties: more device-local memory, then
 * enumeration order); all digits = that index; otherwise the best ranked among those whose
 * name contains `want` (case-insensitive). Errors list the devices. */
bool nnxr_gpu_choose_device(const nnxr_gpu_candidate *cands, uint32_t count, const char *want,
                            bool need_graphics, uint32_t *chosen, nnxr_error *err);

/* ---- a CPU device's worker threads (cpu_workers.c) ---------------------------------------- */

typedef struct nnxr_thread_time {
    int tid;
    uint64_t ns; /* CPU time the thread has run */
} nnxr_thread_time;

/* The threads of this process and their CPU times (from /proc/self/task); at most cap. */
uint32_t nnxr_gpu_thread_times(nnxr_thread_time *out, uint32_t cap);
/* The calling thread's id (what sched_setaffinity and /proc/self/task name). */
int nnxr_gpu_thread_id(void);
/* Pure: the workers among `after` — not `self`, not in `start` (threads older than the
 * device), and running at least a fifth of the busiest such thread's time between `before`
 * and `after`. Writes at most cap thread ids to workers in increasing order; returns the
 * count. */
uint32_t nnxr_gpu_pick_workers(const nnxr_thread_time *start, uint32_t nstart,
                               const nnxr_thread_time *before, uint32_t nbefore,
                               const nnxr_thread_time *after, uint32_t nafter, int self,
                               int *workers, uint32_t cap);

/* ---- device listing (`nnxr devices`) ------------------------------------------------------ */

typedef struct nnxr_gpu_device_report {
    uint32_t index;
    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceDriverProperties driver;       /* zeroed below Vulkan 1.2 */
    VkPhysicalDeviceSubgroupProperties subgroup;
    VkDeviceSize max_memory_allocation_size;
    VkPhysicalDeviceMemoryProperties memory;
    nnxr_gpu_candidate candidate;
    uint32_t compute_family;                       /* UINT32_MAX if none */
    uint32_t timestamp_valid_bits;                 /* of compute_family */
    int rank;
    bool is_default;                               /* what nnxr_gpu_create would choose */
} nnxr_gpu_device_report;

/* Every physical device; *reports is malloc'ed (free it). Uses a temporary instance. */
bool nnxr_gpu_list_devices(nnxr_gpu_device_report **reports, uint32_t *count,
                           nnxr_error *err);

/* ---- buffers ----------------------------------------------------------------------------- */

bool nnxr_buffer_create(nnxr_gpu *gpu, const nnxr_buffer_desc *desc, nnxr_buffer **out,
                        nnxr_error *err);
void nnxr_buffer_destroy(nnxr_gpu *gpu, nnxr_buffer *buf); /* NULL is fine */

/* Synchronous copies between host memory and [offset, offset+size) of the buffer, staged or
 * mapped as the buffer's memory allows. No GPU work in flight may use the range. */
bool nnxr_buffer_upload(nnxr_gpu *gpu, nnxr_buffer *buf, VkDeviceSize offset, const void *data,
                        VkDeviceSize size, nnxr_error *err);
bool nnxr_buffer_readback(nnxr_gpu *gpu, const nnxr_buffer *buf, VkDeviceSize offset,
                          void *data, VkDeviceSize size, nnxr_error *err);

/* ---- kernels and bindings ---------------------------------------------------------------- */

bool nnxr_kernel_create(nnxr_gpu *gpu, const nnxr_kernel_desc *desc, nnxr_kernel **out,
                        nnxr_error *err);
/* As nnxr_kernel_create, with the bindings in uniform_mask uniform buffers (read only; their
 * slots need uniform usage, minUniformBufferOffsetAlignment and at most
 * maxUniformBufferRange bytes). Why an engine kernel would: CPU devices such as lavapipe
 * (Mesa 22.3) load a storage buffer one lane at a time behind a branch per lane, a uniform
 * buffer as one branch-free gather. Not in the plugin ABI (nnxr_kernel_desc is unchanged). */
bool nnxr_kernel_create_uniform(nnxr_gpu *gpu, const nnxr_kernel_desc *desc,
                                uint32_t uniform_mask, nnxr_kernel **out, nnxr_error *err);
/* What a binding slot is bound as. Texel-buffer slots read through a VkBufferView of the given
 * format (the slot's offset a multiple of minTexelBufferOffsetAlignment, its range a whole
 * number of texels, at most maxTexelBufferElements). Why: CPU devices (lavapipe, Mesa 22.3)
 * load a texel as one branch-free gather, where a storage-buffer load is a loop over the
 * lanes — ~5x the time per vec4 here. Uniform texel buffers are read only; storage texel
 * buffers may be written (imageStore), but lavapipe stores them slower than storage buffers. */
typedef enum nnxr_slot_type {
    NNXR_SLOT_STORAGE = 0,    /* storage buffer (what nnxr_kernel_create makes) */
    NNXR_SLOT_UNIFORM,        /* uniform buffer */
    NNXR_SLOT_UNIFORM_TEXEL,  /* uniform texel buffer: GLSL samplerBuffer / usamplerBuffer */
    NNXR_SLOT_STORAGE_TEXEL,  /* storage texel buffer: GLSL imageBuffer with a format */
} nnxr_slot_type;
typedef struct nnxr_slot_kind {
    nnxr_slot_type type;
    VkFormat format; /* texel slots: the view's format (its buffer features are checked) */
} nnxr_slot_kind;
/* As nnxr_kernel_create, slot i bound as kinds[i] (kinds NULL: all storage buffers). */
bool nnxr_kernel_create_typed(nnxr_gpu *gpu, const nnxr_kernel_desc *desc,
                              const nnxr_slot_kind *kinds, nnxr_kernel **out, nnxr_error *err);
void nnxr_kernel_destroy(nnxr_gpu *gpu, nnxr_kernel *kernel); /* NULL is fine */
const char *nnxr_kernel_name(const nnxr_kernel *kernel);
VkPipeline nnxr_kernel_pipeline(const nnxr_kernel *kernel);
VkPipelineLayout nnxr_kernel_layout(const nnxr_kernel *kernel);

/* One descriptor set with every slot written (count == the kernel's buffer_count). */
bool nnxr_binding_create(nnxr_gpu *gpu, const nnxr_kernel *kernel,
                         const nnxr_buffer_slot *slots, uint32_t count, nnxr_binding **out,
                         nnxr_error *err);
void nnxr_binding_destroy(nnxr_gpu *gpu, nnxr_binding *binding); /* NULL is fine */
VkDescriptorSet nnxr_binding_set(const nnxr_binding *binding);

/* Records bind + push + dispatch into any command buffer, with no barrier (see recorder). */
bool nnxr_gpu_cmd_dispatch(nnxr_gpu *gpu, VkCommandBuffer cmd, const nnxr_kernel *kernel,
                           const nnxr_binding *binding, const void *push, uint32_t push_size,
                           uint32_t gx, uint32_t gy, uint32_t gz, nnxr_error *err);
/* Global barrier: compute/transfer writes → compute/transfer reads and writes. */
void nnxr_gpu_cmd_barrier(VkCommandBuffer cmd);

/* ---- the recorder ------------------------------------------------------------------------ */

/* A command buffer with its fence and timestamp pool. Dispatches, copies and fills recorded
 * through it get barriers automatically: before any command that reads or writes a buffer
 * range written since the last barrier, or writes a range read since then. A recorded buffer
 * can be submitted again (replayed) without re-recording. */
typedef struct nnxr_recorder nnxr_recorder;

typedef struct nnxr_mark {
    const char *name;  /* as given to nnxr_recorder_mark (copied) */
    double ns;         /* nanoseconds since the first mark of the submission */
} nnxr_mark;

/* max_marks: capacity for timestamp marks (0 = none). */
bool nnxr_recorder_create(nnxr_gpu *gpu, uint32_t max_marks, nnxr_recorder **out,
                          nnxr_error *err);
/* Waits for a pending submission first. NULL is fine. */
void nnxr_recorder_destroy(nnxr_recorder *rec);

/* Starts a new recording (waits for a pending submission, discards the old recording). */
bool nnxr_recorder_begin(nnxr_recorder *rec, nnxr_error *err);
/* The command buffer being recorded (no barrier placed). */
VkCommandBuffer nnxr_recorder_cmd(const nnxr_recorder *rec);
/* For code that records its own commands (plugins, the renderer): places a full barrier (all
 * stages) if anything was recorded since the last one, so that those commands see every
 * earlier write, and returns the command buffer. Afterwards call nnxr_recorder_external. */
VkCommandBuffer nnxr_recorder_external_cmd(nnxr_recorder *rec);
/* "Commands were recorded outside the recorder that may have written anything": the next
 * command recorded through the recorder gets a full barrier (all stages). */
void nnxr_recorder_external(nnxr_recorder *rec);
/* A barrier now, whatever the tracking says. */
void nnxr_recorder_barrier(nnxr_recorder *rec);

bool nnxr_recorder_dispatch(nnxr_recorder *rec, const nnxr_kernel *kernel,
                            const nnxr_binding *binding, const void *push, uint32_t push_size,
                            uint32_t gx, uint32_t gy, uint32_t gz, nnxr_error *err);
bool nnxr_recorder_copy(nnxr_recorder *rec, const nnxr_buffer *src, VkDeviceSize src_offset,
                        const nnxr_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize size,
                        nnxr_error *err);
/* Fills with a repeated 32-bit word; offset and size multiples of 4 (size VK_WHOLE_SIZE = to
 * the end). */
bool nnxr_recorder_fill(nnxr_recorder *rec, const nnxr_buffer *buf, VkDeviceSize offset,
                        VkDeviceSize size, uint32_t word, nnxr_error *err);
/* vkCmdUpdateBuffer: at most 65536 bytes, offset and size multiples of 4; data copied into
 * the command buffer (a replay writes the same bytes). */
bool nnxr_recorder_update(nnxr_recorder *rec, const nnxr_buffer *buf, VkDeviceSize offset,
                          const void *data, VkDeviceSize size, nnxr_error *err);
/* A named timestamp after all previous commands. Quietly records nothing when the queue has
 * no timestamps (nnxr_gpu_info.timestamps); an error when the capacity is full. */
bool nnxr_recorder_mark(nnxr_recorder *rec, const char *name, nnxr_error *err);

/* Ends recording (adds a barrier that makes device writes visible to the host). Submitting
 * ends it too if it was still open. */
bool nnxr_recorder_end(nnxr_recorder *rec, nnxr_error *err);

/* Semaphores for a submission shared with presentation (optional). */
typedef struct nnxr_submit_sync {
    uint32_t wait_count;
    const VkSemaphore *wait;
    const VkPipelineStageFlags *wait_stages;
    uint32_t signal_count;
    const VkSemaphore *signal;
} nnxr_submit_sync;

/* Submits with the recorder's fence and returns at once; sync may be NULL. Submitting again
 * (replay) first waits for the previous submission. */
bool nnxr_recorder_submit(nnxr_recorder *rec, const nnxr_submit_sync *sync, nnxr_error *err);
/* Waits for the pending submission (true at once if none) and fetches the timestamps. */
bool nnxr_recorder_wait(nnxr_recorder *rec, nnxr_error *err);
/* submit + wait. */
bool nnxr_recorder_run(nnxr_recorder *rec, nnxr_error *err);
bool nnxr_recorder_pending(const nnxr_recorder *rec);

/* The marks of the last completed submission, in recording order; returns how many there
 * are (writes at most max of them to out; out may be NULL). */
uint32_t nnxr_recorder_marks(const nnxr_recorder *rec, nnxr_mark *out, uint32_t max);
/* ns of the named mark (first with that name) in the last completed submission. */
bool nnxr_recorder_mark_ns(const nnxr_recorder *rec, const char *name, double *ns);

/* For tests: with tracking off the recorder places no automatic barriers at all. */
void nnxr_recorder_set_tracking(nnxr_recorder *rec, bool on);

/* ---- run-time GLSL (libshaderc) ---------------------------------------------------------- */

/* Compiles GLSL for one stage (VK_SHADER_STAGE_*_BIT) to SPIR-V for Vulkan 1.2. *words is
 * malloc'ed (free it). On failure the error holds the compiler's messages ("name:line: ..."). */
bool nnxr_gpu_compile_glsl(const char *source, const char *name, VkShaderStageFlagBits stage,
                           uint32_t **words, size_t *word_count, nnxr_error *err);

#endif
