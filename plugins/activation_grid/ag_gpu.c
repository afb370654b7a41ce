/* plugins/activation_grid/ag_gpu.c — the activation grid's compute kernels: GLSL sources,
 * their compilation through the "nnxr.gpu" service, and recording their dispatches. Loops
 * that grow with the data are strided over many invocations (lavapipe stops a shader's loops
 * after 65,535 iterations). */
#include "ag_gpu.h"

#include <stdio.h>
#include <string.h>

#define GLSL_HEAD "#version 450\nlayout(local_size_x = 64) in;\n"
/* The flat index of this invocation in a dispatch of up to 65,535 × N groups. */
#define GLSL_INDEX                                                                           \
    "uint flat_index() { return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * "        \
    "gl_NumWorkGroups.x * 64u; }\n"

static const char pack_src[] =
    GLSL_HEAD GLSL_INDEX
    "layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };\n"
    "layout(std430, set = 0, binding = 1) buffer Dst { float dst[]; };\n"
    "layout(push_constant) uniform P { uint src_off, sample_size, ch_size, tw, th, width,\n"
    "  total, mean, dst_off, pad; } p;\n"
    "void main() {\n"
    "  uint e = flat_index();\n"
    "  if (e >= p.total) return;\n"
    "  uint x = e % p.width, y = e / p.width;\n"
    "  uint base = p.src_off + (y / p.th) * p.sample_size + (x / p.tw) * p.ch_size;\n"
    "  float v;\n"
    "  if (p.mean != 0u) {\n"
    "    float s = 0.0;\n"
    "    for (uint k = 0u; k < p.ch_size; k++) s += src[base + k];\n"
    "    v = s / float(max(p.ch_size, 1u));\n"
    "  } else {\n"
    "    v = src[base + (y % p.th) * p.tw + x % p.tw];\n"
    "  }\n"
    "  dst[p.dst_off + e] = v;\n"
    "}\n";

static const char minmax_src[] =
    GLSL_HEAD
    "layout(std430, set = 0, binding = 0) readonly buffer Data { float data[]; };\n"
    "layout(std430, set = 0, binding = 1) buffer Part { float part[]; };\n"
    "layout(push_constant) uniform P { uint off, n, part_off, groups; } p;\n"
    "shared float lo_s[64];\n"
    "shared float hi_s[64];\n"
    "void main() {\n"
    "  uint lane = gl_LocalInvocationID.x, g = gl_WorkGroupID.x;\n"
    "  uint stride = gl_NumWorkGroups.x * 64u;\n"
    "  float lo = 3.0e38, hi = -3.0e38;\n"
    "  for (uint i = g * 64u + lane; i < p.n; i += stride) {\n"
    "    float v = data[p.off + i];\n"
    "    if (!isnan(v) && !isinf(v)) { lo = min(lo, v); hi = max(hi, v); }\n"
    "  }\n"
    "  lo_s[lane] = lo;\n"
    "  hi_s[lane] = hi;\n"
    "  barrier();\n"
    "  for (uint s = 32u; s > 0u; s >>= 1u) {\n"
    "    if (lane < s) {\n"
    "      lo_s[lane] = min(lo_s[lane], lo_s[lane + s]);\n"
    "      hi_s[lane] = max(hi_s[lane], hi_s[lane + s]);\n"
    "    }\n"
    "    barrier();\n"
    "  }\n"
    "  if (lane == 0u) {\n"
    "    part[p.part_off + 2u * g] = lo_s[0];\n"
    "    part[p.part_off + 2u * g + 1u] = hi_s[0];\n"
    "  }\n"
    "}\n";

static const char normalize_src[] =
    GLSL_HEAD GLSL_INDEX
    "layout(std430, set = 0, binding = 0) buffer Data { float data[]; };\n"
    "layout(std430, set = 0, binding = 1) readonly buffer Part { float part[]; };\n"
    "layout(push_constant) uniform P { uint off, n, part_off, groups; } p;\n"
    "void main() {\n"
    "  uint e = flat_index();\n"
    "  if (e >= p.n) return;\n"
    "  float lo = 3.0e38, hi = -3.0e38;\n"
    "  for (uint g = 0u; g < p.groups; g++) {\n"
    "    lo = min(lo, part[p.part_off + 2u * g]);\n"
    "    hi = max(hi, part[p.part_off + 2u * g + 1u]);\n"
    "  }\n"
    "  float v = data[p.off + e];\n"
    "  data[p.off + e] = hi > lo ? (v - lo) / (hi - lo) : 0.0;\n"
    "}\n";

static const char cov_src[] =
    GLSL_HEAD GLSL_INDEX
    "layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };\n"
    "layout(std430, set = 0, binding = 1) buffer Out { float o[]; };\n"
    "layout(push_constant) uniform P { uint x_off, count, dim, out_off; } p;\n"
    "void main() {\n"
    "  uint e = flat_index();\n"
    "  if (e >= p.dim * p.dim) return;\n"
    "  uint i = e / p.dim, j = e % p.dim;\n"
    "  float mi = 0.0, mj = 0.0;\n"
    "  for (uint k = 0u; k < p.count; k++) {\n"
    "    mi += x[p.x_off + k * p.dim + i];\n"
    "    mj += x[p.x_off + k * p.dim + j];\n"
    "  }\n"
    "  mi /= float(max(p.count, 1u));\n"
    "  mj /= float(max(p.count, 1u));\n"
    "  float c = 0.0;\n"
    "  for (uint k = 0u; k < p.count; k++)\n"
    "    c += (x[p.x_off + k * p.dim + i] - mi) * (x[p.x_off + k * p.dim + j] - mj);\n"
    "  o[p.out_off + e] = p.count > 1u ? c / float(p.count - 1u) : 0.0;\n"
    "  if (j == 0u) {\n"
    "    uint m = p.out_off + p.dim * p.dim;\n"
    "    o[m + i] = mi;\n"
    "    for (uint k = 0u; k < p.count; k++)\n"
    "      o[m + p.dim + k * p.dim + i] = x[p.x_off + k * p.dim + i];\n"
    "  }\n"
    "}\n";

static bool make(const nnxr_gpu_api *gpu, const char *src, const char *name, uint32_t nbuf,
                 uint32_t written, uint32_t push, nnxr_kernel **out, nnxr_error *err)
{
    uint32_t *words = NULL;
    size_t count = 0;
    if (!gpu->compile_glsl(gpu->ctx, src, name, VK_SHADER_STAGE_COMPUTE_BIT, &words, &count,
                           err))
        return false;
    nnxr_kernel_desc kd = {.name = name, .code = words, .code_size = count * 4,
                           .buffer_count = nbuf, .written_mask = written, .push_size = push};
    bool ok = gpu->kernel_create(gpu->ctx, &kd, out, err);
    gpu->free_spirv(gpu->ctx, words);
    return ok;
}

bool nnxr_ag_kernels_create(const nnxr_gpu_api *gpu, nnxr_ag_kernels *k, nnxr_error *err)
{
    memset(k, 0, sizeof *k);
    k->gpu = gpu;
    if (make(gpu, pack_src, "activation_grid/pack", 2, 2, sizeof(nnxr_ag_pack_push), &k->pack,
             err) &&
        make(gpu, minmax_src, "activation_grid/minmax", 2, 2, sizeof(nnxr_ag_range_push),
             &k->minmax, err) &&
        make(gpu, normalize_src, "activation_grid/normalize", 2, 1, sizeof(nnxr_ag_range_push),
             &k->normalize, err) &&
        make(gpu, cov_src, "activation_grid/cov", 2, 2, sizeof(nnxr_ag_cov_push), &k->cov, err))
        return true;
    nnxr_ag_kernels_destroy(k);
    return false;
}

void nnxr_ag_kernels_destroy(nnxr_ag_kernels *k)
{
    if (!k->gpu)
        return;
    nnxr_kernel *all[4] = {k->pack, k->minmax, k->normalize, k->cov};
    for (int i = 0; i < 4; i++)
        if (all[i])
            k->gpu->kernel_destroy(k->gpu->ctx, all[i]);
    memset(k, 0, sizeof *k);
}

void nnxr_ag_slot(const nnxr_gpu_api *gpu, const nnxr_buffer *buf, VkDeviceSize offset,
                  nnxr_buffer_slot *slot, uint32_t *float_off)
{
    const VkPhysicalDeviceLimits *l = &gpu->properties(gpu->ctx)->limits;
    VkDeviceSize align = l->minStorageBufferOffsetAlignment ? l->minStorageBufferOffsetAlignment
                                                            : 4;
    VkDeviceSize base = offset / align * align;
    VkDeviceSize left = buf->size - base;
    slot->buffer = buf;
    slot->offset = base;
    slot->range = (left < l->maxStorageBufferRange ? left : l->maxStorageBufferRange) / 4 * 4;
    *float_off = (uint32_t)((offset - base) / 4);
}

/* Enough groups of 64 for n invocations, as x × y with x ≤ 65,535. */
static bool dispatch(const nnxr_gpu_api *gpu, VkCommandBuffer cmd, const nnxr_kernel *k,
                     const nnxr_binding *b, const void *push, uint32_t push_size, uint64_t n,
                     nnxr_error *err)
{
    uint64_t groups = (n + 63) / 64;
    if (groups == 0)
        return true;
    uint32_t gx = groups > 4096 ? 4096 : (uint32_t)groups;
    uint64_t gy = (groups + gx - 1) / gx;
    if (gy > 65535) {
        snprintf(err->message, sizeof err->message,
                 "activation grid: %llu values are too many for one dispatch",
                 (unsigned long long)n);
        return false;
    }
    return gpu->cmd_dispatch(gpu->ctx, cmd, k, b, push, push_size, gx, (uint32_t)gy, 1, err);
}

bool nnxr_ag_record_pack(const nnxr_ag_kernels *k, VkCommandBuffer cmd, const nnxr_binding *b,
                         const nnxr_ag_pack_push *push, nnxr_error *err)
{
    return dispatch(k->gpu, cmd, k->pack, b, push, sizeof *push, push->total, err);
}

bool nnxr_ag_record_range(const nnxr_ag_kernels *k, VkCommandBuffer cmd,
                          const nnxr_binding *minmax, const nnxr_binding *normalize,
                          const nnxr_ag_range_push *push, nnxr_error *err)
{
    nnxr_ag_range_push p = *push;
    p.groups = NNXR_AG_MINMAX_GROUPS;
    if (!k->gpu->cmd_dispatch(k->gpu->ctx, cmd, k->minmax, minmax, &p, sizeof p,
                              NNXR_AG_MINMAX_GROUPS, 1, 1, err))
        return false;
    k->gpu->cmd_barrier(k->gpu->ctx, cmd);
    return dispatch(k->gpu, cmd, k->normalize, normalize, &p, sizeof p, p.n, err);
}

bool nnxr_ag_record_cov(const nnxr_ag_kernels *k, VkCommandBuffer cmd, const nnxr_binding *b,
                        const nnxr_ag_cov_push *push, nnxr_error *err)
{
    return dispatch(k->gpu, cmd, k->cov, b, push, sizeof *push,
                    (uint64_t)push->dim * push->dim, err);
}
