/* nn/layers.c — the core of the nn kernel module: the nnxr_nn object (its kernel table, whose
 * pipelines are created on first use so that a program compiles only what it records), the
 * tapes (the descriptor sets and scratch buffers a recording uses, kept until the tape is
 * cleared), and the argument checking shared by every recording call. The calls themselves
 * live in layers_gemm.c (GEMM, dense, conv), layers_ops.c (everything elementwise, losses,
 * data, optimizers), layers_fused.c (the fused tiny-MLP step) and layers_bench.c. */
#include "nn/layers_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "nn/layers_push.h"

/* Index 0 is the CPU default, 1 the GPU default; the rest are for the benchmark. The CPU
 * default (16x8 outputs per invocation, 16 invocations) was chosen with tests/bench/gemm_bench
 * on lavapipe: 16x16 is up to ~25 % faster in some layouts, but the JIT compile of its
 * scalar-load variants (odd shapes) takes minutes, against seconds for 16x8. */
const nn_gemm_config nn_gemm_configs[] = {
    {"cpu-r16c8-w16", true, 16, 16, 8, 0},
    {"gpu-tile64", false, 256, 4, 4, 64},
    {"cpu-r8c8-w16", true, 16, 8, 8, 0},
    {"cpu-r16c16-w16", true, 16, 16, 16, 0},
    {"cpu-r24c8-w16", true, 16, 24, 8, 0},
    {"cpu-r16c8-w64", true, 64, 16, 8, 0},
};
const uint32_t nn_gemm_config_total = sizeof nn_gemm_configs / sizeof nn_gemm_configs[0];

uint32_t nnxr_nn_gemm_config_count(void) { return nn_gemm_config_total; }

const char *nnxr_nn_gemm_config_name(uint32_t index)
{
    return index < nn_gemm_config_total ? nn_gemm_configs[index].name : NULL;
}

nnxr_nn_options nnxr_nn_options_default(void)
{
    nnxr_nn_options o;
    memset(&o, 0, sizeof o);
    o.gemm_config = -1;
    return o;
}

nnxr_nn_hparams nnxr_nn_hparams_default(void)
{
    nnxr_nn_hparams h;
    memset(&h, 0, sizeof h);
    h.lr = 0.01f;
    h.momentum = 0.9f;
    h.beta1 = 0.9f;
    h.beta2 = 0.999f;
    h.adam_eps = 1e-8f;
    h.kl_beta = 1.0f;
    return h;
}

uint32_t nn_groups(uint64_t count, uint32_t wg)
{
    uint64_t g = (count + wg - 1) / wg;
    if (g < 1)
        g = 1;
    return g > 65535 ? 65535u : (uint32_t)g;
}

/* ---- the kernel table ------------------------------------------------------------------------ */

typedef struct kernel_info {
    const char *shader;
    uint32_t buffers;
    uint32_t written;
    uint32_t push;
    const nnxr_slot_kind *kinds; /* NULL: every slot a storage buffer */
} kernel_info;

/* gemm_cpu.comp: A, B, C, bias, aux, col_sum, and B again as a texel view. */
static const nnxr_slot_kind gemm_cpu_kinds[7] = {
    [6] = {NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32G32B32A32_SFLOAT},
};

/* im2col.comp and col2im.comp: their column-side input again as a texel view (last slot). */
static const nnxr_slot_kind im2col_kinds[3] = {
    [2] = {NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32_SFLOAT},
};
static const nnxr_slot_kind col2im_kinds[4] = {
    [3] = {NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32_SFLOAT},
};

static const kernel_info kernel_infos[NN_K_COUNT] = {
    [NN_K_GEMM_CPU] = {"nn/gemm_cpu.comp", 7, (1u << 2) | (1u << 5), sizeof(nn_gemm_push),
                       gemm_cpu_kinds},
    [NN_K_GEMM_GPU] = {"nn/gemm_gpu.comp", 6, (1u << 2) | (1u << 5), sizeof(nn_gemm_push)},
    [NN_K_IM2COL] = {"nn/im2col.comp", 3, 1u << 1, sizeof(nn_conv_push), im2col_kinds},
    [NN_K_COL2IM] = {"nn/col2im.comp", 4, 1u << 1, sizeof(nn_conv_push), col2im_kinds},
    [NN_K_MAXPOOL_FWD] = {"nn/maxpool_fwd.comp", 2, 1u << 1, sizeof(nn_pool_push)},
    [NN_K_MAXPOOL_BWD] = {"nn/maxpool_bwd.comp", 3, 1u << 2, sizeof(nn_pool_push)},
    [NN_K_ACT_FWD] = {"nn/act_fwd.comp", 2, 1u << 1, sizeof(nn_act_push)},
    [NN_K_ACT_BWD] = {"nn/act_bwd.comp", 3, 1u << 2, sizeof(nn_act_push)},
    [NN_K_SOFTMAX_CE] = {"nn/softmax_ce.comp", 6, (1u << 3) | (1u << 4) | (1u << 5),
                         sizeof(nn_ce_push)},
    [NN_K_MSE] = {"nn/mse.comp", 4, (1u << 2) | (1u << 3), sizeof(nn_mse_push)},
    [NN_K_BCE] = {"nn/bce.comp", 5, (1u << 2) | (1u << 3) | (1u << 4), sizeof(nn_bce_push)},
    [NN_K_REPARAM] = {"nn/reparam.comp", 5, (1u << 3) | (1u << 4), sizeof(nn_reparam_push)},
    [NN_K_VAE_LATENT] = {"nn/vae_latent.comp", 8, (1u << 5) | (1u << 6) | (1u << 7),
                         sizeof(nn_latent_push)},
    [NN_K_GATHER] = {"nn/gather.comp", 8, (1u << 5) | (1u << 6) | (1u << 7),
                     sizeof(nn_gather_push)},
    [NN_K_REDUCE] = {"nn/reduce.comp", 2, 1u << 1, sizeof(nn_reduce_push)},
    [NN_K_CHECK_FINITE] = {"nn/check_finite.comp", 2, 1u << 1, sizeof(nn_finite_push)},
    [NN_K_CLASS_SUMS] = {"nn/class_sums.comp", 4, (1u << 2) | (1u << 3),
                         sizeof(nn_class_push)},
    [NN_K_OPTIMIZE] = {"nn/optimize.comp", 6, 0xFu, sizeof(nn_opt_push)},
};

/* Specialization constants of (id, variant). */
static uint32_t kernel_specs(const nnxr_nn *nn, nn_kernel_id id, uint32_t variant,
                             nnxr_spec_constant *s)
{
    const nn_gemm_config *g = &nn_gemm_configs[nn->gemm_config];
    uint32_t n = 0;
    switch (id) {
    case NN_K_GEMM_CPU: {
        uint32_t trans = (variant / 8u) & 3u, rm, cn;
        nn_gemm_cpu_tile(g, variant, &rm, &cn);
        s[n++] = nnxr_spec_u32(0, g->wg);
        s[n++] = nnxr_spec_u32(1, rm);
        s[n++] = nnxr_spec_u32(2, cn);
        s[n++] = nnxr_spec_u32(3, trans == 2u);
        s[n++] = nnxr_spec_u32(4, trans == 1u);
        s[n++] = nnxr_spec_u32(5, (variant >> 1) & 1u);
        s[n++] = nnxr_spec_u32(6, variant & 1u);
        s[n++] = nnxr_spec_u32(7, (variant >> 2) & 1u);
        s[n++] = nnxr_spec_u32(8, nn->gemm_share);
        s[n++] = nnxr_spec_u32(9, variant >> NN_GEMM_CPU_EPI_SHIFT);
        s[n++] = nnxr_spec_u32(10, (variant & NN_GEMM_CPU_CVEC) != 0u);
        break;
    }
    case NN_K_GEMM_GPU:
        s[n++] = nnxr_spec_u32(0, variant == 2u);
        s[n++] = nnxr_spec_u32(1, variant == 1u);
        break;
    case NN_K_MAXPOOL_FWD:
    case NN_K_MAXPOOL_BWD:
        s[n++] = nnxr_spec_u32(0, variant); /* PAIR */
        break;
    case NN_K_GATHER:
        s[n++] = nnxr_spec_u32(0, variant); /* WIDE */
        break;
    case NN_K_OPTIMIZE:
        s[n++] = nnxr_spec_u32(0, variant & 1u); /* ADAM */
        s[n++] = nnxr_spec_u32(1, (variant >> 1) & 1u); /* VEC4 */
        s[n++] = nnxr_spec_u32(2, (variant >> 2) & 1u); /* S1_VEC */
        s[n++] = nnxr_spec_u32(3, (variant >> 3) & 1u); /* S2_VEC */
        break;
    case NN_K_IM2COL:
    case NN_K_COL2IM:
        s[n++] = nnxr_spec_u32(0, variant & 1u);        /* ROWS */
        s[n++] = nnxr_spec_u32(1, (variant >> 1) & 1u); /* TEX */
        s[n++] = nnxr_spec_u32(2, (variant >> 2) & 1u); /* VEC4 */
        break;
    default:
        break;
    }
    return n;
}

bool nn_kernel_get(nnxr_nn *nn, nn_kernel_id id, uint32_t variant, nnxr_kernel **out,
                   nnxr_error *err)
{
    if ((unsigned)id >= NN_K_COUNT || (variant >= NN_MAX_VARIANTS && id != NN_K_GEMM_CPU))
        return nnxr_fail(err, "nn: no kernel %d variant %u", (int)id, variant);
    nnxr_kernel **slot;
    if (id == NN_K_GEMM_CPU) {
        slot = NULL;
        for (uint32_t i = 0; i < nn->gemm_cpu_count && !slot; i++)
            if (nn->gemm_cpu[i].key == variant)
                slot = &nn->gemm_cpu[i].kernel;
        if (!slot) {
            if (nn->gemm_cpu_count == nn->gemm_cpu_cap) {
                uint32_t cap = nn->gemm_cpu_cap ? nn->gemm_cpu_cap * 2 : 16;
                struct nn_keyed_kernel *k = realloc(nn->gemm_cpu, cap * sizeof *k);
                if (!k)
                    return nnxr_fail(err, "nn: out of memory");
                nn->gemm_cpu = k;
                nn->gemm_cpu_cap = cap;
            }
            nn->gemm_cpu[nn->gemm_cpu_count] = (struct nn_keyed_kernel){variant, NULL};
            slot = &nn->gemm_cpu[nn->gemm_cpu_count].kernel;
        }
    } else {
        slot = &nn->kernels[id][variant];
    }
    if (!*slot) {
        const kernel_info *ki = &kernel_infos[id];
        nnxr_spec_constant specs[16];
        uint32_t ns = kernel_specs(nn, id, variant, specs);
        char name[64];
        snprintf(name, sizeof name, "%s#%u", ki->shader, variant);
        nnxr_kernel_desc d = {.name = name,
                              .shader = ki->shader,
                              .buffer_count = ki->buffers,
                              .written_mask = ki->written,
                              .push_size = ki->push,
                              .specs = ns ? specs : NULL,
                              .spec_count = ns};
        if (!nnxr_kernel_create_typed(nn->gpu, &d, ki->kinds, slot, err))
            return nnxr_fail_prefix(err, "nn");
        if (id == NN_K_GEMM_CPU)
            nn->gemm_cpu_count++;
    }
    *out = *slot;
    return true;
}

/* ---- creation ------------------------------------------------------------------------------- */

bool nnxr_nn_create(nnxr_gpu *gpu, const nnxr_nn_options *options, nnxr_nn **out,
                    nnxr_error *err)
{
    *out = NULL;
    nnxr_nn_options o = options ? *options : nnxr_nn_options_default();
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    uint32_t config;
    if (o.gemm_config < 0) {
        /* The register-block kernel needs 64-bit integers for its 8-float loads. */
        config = info->is_cpu && info->shader_int64 ? 0u : 1u;
    } else if ((uint32_t)o.gemm_config >= nn_gemm_config_total) {
        return nnxr_fail(err, "nn: gemm_config %d out of range (0..%u)", o.gemm_config,
                         nn_gemm_config_total - 1);
    } else {
        config = (uint32_t)o.gemm_config;
        if (nn_gemm_configs[config].cpu && !info->shader_int64)
            return nnxr_fail(err, "nn: gemm config \"%s\" needs shaderInt64, which the device "
                                  "lacks",
                             nn_gemm_configs[config].name);
    }
    nnxr_nn *nn = calloc(1, sizeof *nn);
    if (!nn)
        return nnxr_fail(err, "nn: out of memory");
    nn->gpu = gpu;
    nn->info = info;
    nn->gemm_config = config;
    nn->gemm_texel = !o.gemm_plain_loads;
    /* Sharing A's loads across a subgroup needs shuffles, whole subgroups in a workgroup and
     * a subgroup size dividing the register block's rows (multiples of 8). */
    VkSubgroupFeatureFlags share = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    uint32_t sgs = info->subgroup_size;
    if (!o.gemm_plain_loads && (info->subgroup_operations & share) == share && sgs >= 1 &&
        8 % sgs == 0 && nn_gemm_configs[config].wg % sgs == 0)
        nn->gemm_share = sgs;
    /* Ranges start where both storage and texel-buffer views may (fused_mlp_sg.comp reads its
     * data through a texel view of the same range); both alignments are powers of two. */
    nn->align = info->properties.limits.minStorageBufferOffsetAlignment;
    if (info->properties.limits.minTexelBufferOffsetAlignment > nn->align)
        nn->align = info->properties.limits.minTexelBufferOffsetAlignment;
    if (nn->align < 4)
        nn->align = 4;
    nn->max_range = info->properties.limits.maxStorageBufferRange;
    nnxr_buffer_desc bd = {.name = "nn dummy", .kind = NNXR_BUFFER_DEVICE, .size = 256};
    if (!nnxr_buffer_create(gpu, &bd, &nn->dummy, err)) {
        free(nn);
        return nnxr_fail_prefix(err, "nn");
    }
    *out = nn;
    return true;
}

void nnxr_nn_destroy(nnxr_nn *nn)
{
    if (!nn)
        return;
    for (uint32_t i = 0; i < NN_K_COUNT; i++)
        for (uint32_t v = 0; v < NN_MAX_VARIANTS; v++)
            nnxr_kernel_destroy(nn->gpu, nn->kernels[i][v]);
    for (uint32_t i = 0; i < nn->gemm_cpu_count; i++)
        nnxr_kernel_destroy(nn->gpu, nn->gemm_cpu[i].kernel);
    free(nn->gemm_cpu);
    for (uint32_t i = 0; i < nn->fused_count; i++)
        nnxr_kernel_destroy(nn->gpu, nn->fused[i].kernel);
    nnxr_buffer_destroy(nn->gpu, nn->dummy);
    free(nn);
}

nnxr_gpu *nnxr_nn_gpu(const nnxr_nn *nn) { return nn->gpu; }

const char *nnxr_nn_gemm_config(const nnxr_nn *nn)
{
    return nn_gemm_configs[nn->gemm_config].name;
}

/* ---- tapes ---------------------------------------------------------------------------------- */

bool nnxr_nn_tape_create(nnxr_nn *nn, nnxr_recorder *rec, nnxr_nn_tape **out, nnxr_error *err)
{
    *out = NULL;
    if (!nn || !rec)
        return nnxr_fail(err, "nn tape: no %s", nn ? "recorder" : "nn kernels");
    nnxr_nn_tape *t = calloc(1, sizeof *t);
    if (!t)
        return nnxr_fail(err, "nn tape: out of memory");
    t->nn = nn;
    t->rec = rec;
    nn->tapes++;
    *out = t;
    return true;
}

void nnxr_nn_tape_clear(nnxr_nn_tape *t)
{
    if (!t)
        return;
    nnxr_gpu *gpu = t->nn->gpu;
    for (uint32_t i = 0; i < t->binding_count; i++)
        nnxr_binding_destroy(gpu, t->bindings[i].binding);
    t->binding_count = 0;
    t->col_valid = false;
    for (uint32_t i = 0; i < NN_SCRATCH_SLOTS; i++) {
        nnxr_buffer_destroy(gpu, t->scratch[i]);
        t->scratch[i] = NULL;
    }
    for (uint32_t i = 0; i < t->retired_count; i++)
        nnxr_buffer_destroy(gpu, t->retired[i]);
    t->retired_count = 0;
    t->step = 0;
    t->dispatches = 0;
}

void nnxr_nn_tape_destroy(nnxr_nn_tape *t)
{
    if (!t)
        return;
    nnxr_nn_tape_clear(t);
    t->nn->tapes--;
    free(t->bindings);
    free(t->retired);
    free(t);
}

void nnxr_nn_tape_set_step(nnxr_nn_tape *t, uint32_t step_index) { t->step = step_index; }
void nnxr_nn_tape_set_profile(nnxr_nn_tape *t, bool on) { t->profile = on; }
nnxr_recorder *nnxr_nn_tape_recorder(const nnxr_nn_tape *t) { return t->rec; }
nnxr_nn *nnxr_nn_tape_nn(const nnxr_nn_tape *t) { return t->nn; }
uint32_t nnxr_nn_tape_dispatches(const nnxr_nn_tape *t) { return t->dispatches; }

bool nn_scratch(nnxr_nn_tape *t, uint32_t slot, VkDeviceSize bytes, nnxr_buffer **out,
                nnxr_error *err)
{
    if (bytes < 256)
        bytes = 256;
    nnxr_buffer *cur = t->scratch[slot];
    if (cur && cur->size >= bytes) {
        *out = cur;
        return true;
    }
    if (bytes > t->nn->max_range)
        return nnxr_fail(err, "nn scratch: %llu bytes needed, above maxStorageBufferRange (%llu)",
                         (unsigned long long)bytes, (unsigned long long)t->nn->max_range);
    if (slot == 0)
        t->col_valid = false; /* a new buffer holds no column matrix */
    if (cur) {
        /* The recording may already use it: keep it until the tape is cleared. */
        if (t->retired_count == t->retired_cap) {
            uint32_t cap = t->retired_cap ? t->retired_cap * 2 : 8;
            nnxr_buffer **r = realloc(t->retired, cap * sizeof *r);
            if (!r)
                return nnxr_fail(err, "nn scratch: out of memory");
            t->retired = r;
            t->retired_cap = cap;
        }
        t->retired[t->retired_count++] = cur;
        t->scratch[slot] = NULL;
        VkDeviceSize twice = cur->size * 2;
        if (twice > bytes && twice <= t->nn->max_range)
            bytes = twice;
    }
    char name[32];
    snprintf(name, sizeof name, "nn scratch %u", slot);
    nnxr_buffer_desc d = {.name = name, .kind = NNXR_BUFFER_DEVICE, .size = bytes};
    if (!nnxr_buffer_create(t->nn->gpu, &d, &t->scratch[slot], err))
        return nnxr_fail_prefix(err, "nn scratch");
    *out = t->scratch[slot];
    return true;
}

/* ---- binding arguments ---------------------------------------------------------------------- */

static bool same_binding(const nn_cached_binding *b, const nnxr_kernel *k,
                         const nnxr_buffer_slot *slots, uint32_t count)
{
    if (b->kernel != k || b->count != count)
        return false;
    for (uint32_t i = 0; i < count; i++)
        if (b->slots[i].buffer != slots[i].buffer || b->slots[i].offset != slots[i].offset ||
            b->slots[i].range != slots[i].range)
            return false;
    return true;
}

bool nn_bind(nnxr_nn_tape *t, nn_kernel_id id, uint32_t variant, const char *what,
             const nn_arg *args, uint32_t count, nnxr_kernel **kernel,
             nnxr_binding **binding, uint32_t *offs, nnxr_error *err)
{
    return nn_bind_kernel(t, NULL, id, variant, what, args, count, kernel, binding, offs, err);
}

bool nn_bind_kernel(nnxr_nn_tape *t, nnxr_kernel *given, nn_kernel_id id, uint32_t variant,
                    const char *what, const nn_arg *args, uint32_t count, nnxr_kernel **kernel,
                    nnxr_binding **binding, uint32_t *offs, nnxr_error *err)
{
    nnxr_nn *nn = t->nn;
    nnxr_buffer_slot slots[NNXR_KERNEL_MAX_BUFFERS];
    t->what = what;
    if (count > NNXR_KERNEL_MAX_BUFFERS)
        return nnxr_fail(err, "%s: %u buffers", what, count);
    for (uint32_t i = 0; i < count; i++) {
        const nn_arg *a = &args[i];
        if (!a->mem.buf) {
            if (!a->optional)
                return nnxr_fail(err, "%s: argument '%s' is missing (expected a buffer)", what,
                                 a->name);
            slots[i] = (nnxr_buffer_slot){nn->dummy, 0, nn->dummy->size};
            offs[i] = 0;
            continue;
        }
        const nnxr_buffer *buf = a->mem.buf;
        VkDeviceSize off = a->mem.offset;
        VkDeviceSize bytes = (VkDeviceSize)a->elems * 4u;
        if (off % 4)
            return nnxr_fail(err, "%s: argument '%s': offset %llu into buffer \"%s\" is not a "
                                  "multiple of 4",
                             what, a->name, (unsigned long long)off, buf->name);
        if (off > buf->size || bytes > buf->size - off)
            return nnxr_fail(err, "%s: argument '%s' needs %llu bytes at offset %llu but buffer "
                                  "\"%s\" has %llu bytes",
                             what, a->name, (unsigned long long)bytes, (unsigned long long)off,
                             buf->name, (unsigned long long)buf->size);
        VkDeviceSize base = off - off % nn->align;
        VkDeviceSize range = off + (bytes ? bytes : 4) - base;
        if (base + range > buf->size)
            range = buf->size - base;
        if (range > nn->max_range)
            return nnxr_fail(err, "%s: argument '%s' spans %llu bytes, above "
                                  "maxStorageBufferRange (%llu)",
                             what, a->name, (unsigned long long)range,
                             (unsigned long long)nn->max_range);
        if ((off - base) / 4 > UINT32_MAX)
            return nnxr_fail(err, "%s: argument '%s': offset too large", what, a->name);
        if (a->texel) /* a texel view: whole texels */
            range -= range % a->texel;
        slots[i] = (nnxr_buffer_slot){buf, base, range};
        offs[i] = (uint32_t)((off - base) / 4);
    }
    nnxr_kernel *k = given;
    if (!k && !nn_kernel_get(nn, id, variant, &k, err))
        return nnxr_fail_prefix(err, "%s", what);
    for (uint32_t i = 0; i < t->binding_count; i++)
        if (same_binding(&t->bindings[i], k, slots, count)) {
            *kernel = k;
            *binding = t->bindings[i].binding;
            return true;
        }
    if (t->binding_count == t->binding_cap) {
        uint32_t cap = t->binding_cap ? t->binding_cap * 2 : 32;
        nn_cached_binding *b = realloc(t->bindings, cap * sizeof *b);
        if (!b)
            return nnxr_fail(err, "%s: out of memory", what);
        t->bindings = b;
        t->binding_cap = cap;
    }
    nn_cached_binding *cb = &t->bindings[t->binding_count];
    memset(cb, 0, sizeof *cb);
    if (!nnxr_binding_create(nn->gpu, k, slots, count, &cb->binding, err))
        return nnxr_fail_prefix(err, "%s", what);
    cb->kernel = k;
    cb->count = count;
    memcpy(cb->slots, slots, count * sizeof slots[0]);
    t->binding_count++;
    *kernel = k;
    *binding = cb->binding;
    return true;
}

bool nn_dispatch(nnxr_nn_tape *t, nnxr_kernel *kernel, nnxr_binding *binding, const void *push,
                 uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, nnxr_error *err)
{
    if (!nnxr_recorder_dispatch(t->rec, kernel, binding, push, push_size, gx, gy, gz, err))
        return nnxr_fail_prefix(err, "nn");
    t->dispatches++;
    if (t->profile && !nnxr_recorder_mark(t->rec, t->what ? t->what : "nn", err))
        return nnxr_fail_prefix(err, "nn profile");
    return true;
}
