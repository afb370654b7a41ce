/* nn/layers_internal.h — what the files of the nn kernel module (layers*.c) share and nothing
 * else includes: the kernel table (pipelines created lazily, on first use), the tape's binding
 * and scratch bookkeeping, and the helper that turns nnxr_nn_mem arguments into checked
 * descriptor slots plus element offsets. */
#ifndef NNXR_NN_LAYERS_INTERNAL_H
#define NNXR_NN_LAYERS_INTERNAL_H

#include "nn/layers.h"

/* Every kernel the module uses; a kernel id plus a variant index names one pipeline. */
typedef enum nn_kernel_id {
    NN_K_GEMM_CPU = 0,  /* variant: nn_gemm_cpu_variant() */
    NN_K_GEMM_GPU,      /* variant: 0 NN, 1 NT, 2 TN */
    NN_K_IM2COL,
    NN_K_COL2IM,
    NN_K_MAXPOOL_FWD,
    NN_K_MAXPOOL_BWD,
    NN_K_ACT_FWD,
    NN_K_ACT_BWD,
    NN_K_SOFTMAX_CE,
    NN_K_MSE,
    NN_K_BCE,
    NN_K_REPARAM,
    NN_K_VAE_LATENT,
    NN_K_GATHER,
    NN_K_REDUCE,
    NN_K_CHECK_FINITE,
    NN_K_CLASS_SUMS,
    NN_K_OPTIMIZE,
    NN_K_COUNT
} nn_kernel_id;

#define NN_MAX_VARIANTS 64

/* A GEMM tile configuration. */
typedef struct nn_gemm_config {
    const char *name;
    bool cpu;           /* gemm_cpu.comp (register blocks) or gemm_gpu.comp (shared tiles) */
    uint32_t wg;        /* invocations per workgroup (x) */
    uint32_t rm, cn;    /* cpu: outputs per invocation; gpu: per-thread block (rm x cn) */
    uint32_t tile;      /* gpu: workgroup tile edge (tile x tile outputs, 16x16 threads) */
} nn_gemm_config;

extern const nn_gemm_config nn_gemm_configs[];
extern const uint32_t nn_gemm_config_total;

#define NN_FUSED_SPECS 27
#define NN_FUSED_CACHE 16

/* A fused-MLP pipeline and the specialization values it was made with. */
typedef struct nn_fused_kernel {
    bool sg;                        /* fused_mlp_sg.comp (else fused_mlp.comp) */
    uint32_t specs[NN_FUSED_SPECS];
    nnxr_kernel *kernel;
} nn_fused_kernel;

struct nnxr_nn {
    nnxr_gpu *gpu;
    const nnxr_gpu_info *info;
    uint32_t gemm_config;
    bool gemm_texel;             /* CPU GEMM: B's vector loads through a texel view */
    uint32_t gemm_share;         /* gemm_cpu.comp's SG: the subgroup size when A's loads can
                                  * be shared by shuffles, else 0 */
    nnxr_kernel *kernels[NN_K_COUNT][NN_MAX_VARIANTS];
    /* CPU GEMM pipelines, one per variant with its epilogue (too many keys for the table) */
    struct nn_keyed_kernel {
        uint32_t key;
        nnxr_kernel *kernel;
    } *gemm_cpu;
    uint32_t gemm_cpu_count, gemm_cpu_cap;
    nnxr_buffer *dummy;          /* bound to every absent optional argument */
    VkDeviceSize align;          /* the larger of the storage and texel-buffer offset
                                  * alignments (>= 4) */
    VkDeviceSize max_range;      /* maxStorageBufferRange */
    uint32_t tapes;              /* live tapes (destroy checks) */
    nn_fused_kernel fused[NN_FUSED_CACHE];
    uint32_t fused_count;
};

typedef struct nn_cached_binding {
    const nnxr_kernel *kernel;
    uint32_t count;
    nnxr_buffer_slot slots[NNXR_KERNEL_MAX_BUFFERS];
    nnxr_binding *binding;
} nn_cached_binding;

#define NN_SCRATCH_SLOTS 3

struct nnxr_nn_tape {
    nnxr_nn *nn;
    nnxr_recorder *rec;
    uint32_t step;
    uint32_t dispatches;
    nn_cached_binding *bindings;
    uint32_t binding_count, binding_cap;
    nnxr_buffer *scratch[NN_SCRATCH_SLOTS];
    nnxr_buffer **retired;       /* outgrown scratch buffers still used by the recording */
    uint32_t retired_count, retired_cap;
    bool profile;                /* mark after every dispatch (nnxr_nn_tape_set_profile) */
    const char *what;            /* the call of the last binding, the name of its mark */
    /* What scratch slot 0 holds: the im2col of col_x (whole batch) for shape col_shape. */
    bool col_valid;
    nnxr_nn_mem col_x;
    nnxr_nn_conv col_shape;
};

/* One argument of a call: where it is, how many floats (4-byte elements) it spans, whether
 * it may be absent, and its name for messages. */
typedef struct nn_arg {
    const char *name;
    nnxr_nn_mem mem;
    uint64_t elems;
    bool optional;
    uint32_t texel; /* bound as a texel view: its bytes per texel (the range is cut to whole
                     * texels); 0 = a storage buffer */
} nn_arg;

/* The pipeline of (id, variant), created on first use. */
bool nn_kernel_get(nnxr_nn *nn, nn_kernel_id id, uint32_t variant, nnxr_kernel **out,
                   nnxr_error *err);

/* Checks args against their buffers (inside, 4-byte aligned, within maxStorageBufferRange)
 * and returns the binding (shared when identical) and each argument's element offset from
 * its bound range start in offs[] (0 for absent ones). `what` names the call in messages. */
bool nn_bind(nnxr_nn_tape *tape, nn_kernel_id id, uint32_t variant, const char *what,
             const nn_arg *args, uint32_t count, nnxr_kernel **kernel,
             nnxr_binding **binding, uint32_t *offs, nnxr_error *err);

/* nn_bind with a kernel made elsewhere (given != NULL; id and variant are then unused). */
bool nn_bind_kernel(nnxr_nn_tape *tape, nnxr_kernel *given, nn_kernel_id id, uint32_t variant,
                    const char *what, const nn_arg *args, uint32_t count, nnxr_kernel **kernel,
                    nnxr_binding **binding, uint32_t *offs, nnxr_error *err);

/* Records one dispatch of a bound kernel. */
bool nn_dispatch(nnxr_nn_tape *tape, nnxr_kernel *kernel, nnxr_binding *binding,
                 const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz,
                 nnxr_error *err);

/* A scratch buffer of the tape of at least `bytes` (slot 0..NN_SCRATCH_SLOTS-1). */
bool nn_scratch(nnxr_nn_tape *tape, uint32_t slot, VkDeviceSize bytes, nnxr_buffer **out,
                nnxr_error *err);

static inline bool nn_present(nnxr_nn_mem m) { return m.buf != NULL; }

/* The element (float) offset nn_bind will give m from the start of its bound range: what
 * decides whether a kernel may read or write it in aligned vectors. */
static inline uint32_t nn_bound_elem(const nnxr_nn *nn, nnxr_nn_mem m)
{
    return (uint32_t)((m.offset % nn->align) / 4);
}

/* Workgroups for count invocations of size wg, at most 65535 (kernels loop over the rest). */
uint32_t nn_groups(uint64_t count, uint32_t wg);

/* Register block of a CPU GEMM variant: the configuration's for the fully vectorised variant
 * (both operands 8-float loads: the fast path of large aligned GEMMs), 8x8 for the others
 * (odd shapes), whose JIT compile on lavapipe is ~3x cheaper. */
static inline void nn_gemm_cpu_tile(const nn_gemm_config *cfg, uint32_t variant, uint32_t *rm,
                                    uint32_t *cn)
{
    bool fast = (variant & 3u) == 3u;
    *rm = fast ? cfg->rm : 8u;
    *cn = fast ? cfg->cn : 8u;
}

/* A CPU GEMM variant: the layout, which operands load 8 floats at a time, and whether B's
 * loads go through its texel view (slot 6) instead of the storage buffer. The recorded
 * pipeline adds NN_GEMM_CPU_CVEC (C written in aligned octets) and the epilogue flags from
 * NN_GEMM_CPU_EPI_SHIFT up (gemm_cpu.comp's EPI). */
#define NN_GEMM_CPU_CVEC 32u
#define NN_GEMM_CPU_EPI_SHIFT 6u

static inline uint32_t nn_gemm_cpu_variant(uint32_t trans /* 0 NN 1 NT 2 TN */, bool avec,
                                           bool bvec, bool btex)
{
    return trans * 8u + (btex ? 4u : 0u) + (avec ? 2u : 0u) + (bvec ? 1u : 0u);
}

#endif
