/* sim/forces.c — the latent cloud on the GPU (sim/forces.h): buffers and kernels, the force
 * step split into j-range dispatches (the PAIRS shape's fold after each), the room
 * mapping of latents, sphere annotation with its journal-first ordering, machine-label
 * merging and the label exports. */
#include "sim/forces.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/status.h"
#include "data/npy.h"

#define SLICE_LEN 1024u          /* points per class-sum slice; SIM_SLICE_LEN in sim/common.glsl */
#define PAIRS_PER_DISPATCH (1u << 28)
#define MIN_AUTO_CHUNK 1024u
#define PAIRS_MAX_SLOTS 64u      /* the register block of forces_pairs.comp */
#define PAIRS_MAX_LANES 8u       /* its unrolled turns of the j's through the lanes */
#define MAX_LOOP 65535u          /* lavapipe stops a loop silently after this many iterations */
#define SEL_HEADER 16u           /* count + padding before the selection entries */

/* Push constants; must match the shaders. */
struct forces_push {             /* ForcePush in shaders/include/sim/common.glsl */
    uint32_t n, j0, j1, first;
    float k_s, k_a, k_r, eps2;
    uint32_t jstride, classes;
};
struct fold_push {               /* forces_fold.comp */
    uint32_t j0, j1, p0, p1, block, jstride, classes, slices;
    float k_r, k_a;
    uint32_t integrate;
    float damping, dt;
};
struct sums_push {               /* class_sums.comp, class_means.comp (not PAIRS) */
    uint32_t n, slice_len, classes, slices;
};
struct integrate_push {
    uint32_t n;
    float damping, dt;
};
struct map_push {
    uint32_t n, stride, offset, pad;
    float centre[4], scale[4];
};
struct select_push {
    float sphere[4];
    uint32_t n;
};
struct scatter_push {
    uint32_t count, mode;
    int32_t label;
    uint32_t n;
};
struct merge_push {
    uint32_t n;
    int32_t classes;
};

struct nnxr_cloud {
    nnxr_gpu *gpu;
    uint32_t n, classes;
    nnxr_cloud_shape shape;
    uint32_t ppi, wg, chunk, slices;
    uint32_t window;          /* vec4s of the BLOCK shape's uniform window, 0 = storage loads */
    uint32_t chunks;          /* forces dispatches per step, one binding each */
    uint32_t blocks;          /* PAIRS: workgroups of wg × ppi points, the length of a jpart row */
    nnxr_cloud_buffers b;
    nnxr_buffer *partial, *means, *sel;
    nnxr_buffer *jpart;       /* PAIRS only: chunk × blocks j-side sums (a row per j) */
    nnxr_buffer *order;       /* PAIRS only: workgroup → work, first and later dispatches */
    VkDeviceSize order_later; /* the later dispatches' map: its offset in `order` */
    nnxr_kernel *k_forces, *k_sums, *k_means, *k_integrate, *k_map, *k_select, *k_scatter,
        *k_merge, *k_fold;
    nnxr_binding *b_fold;
    nnxr_binding **b_forces; /* per chunk: its window of pos as the uniform buffer */
    nnxr_binding *b_sums, *b_means, *b_integrate, *b_select, *b_scatter, *b_merge;
    nnxr_recorder *rec;
    nnxr_label_state labels;
    uint64_t gpu_bytes;
};

/* ---- parameters ---------------------------------------------------------------------------- */

nnxr_cloud_params nnxr_cloud_params_default(void)
{
    nnxr_cloud_params p = {
        .k_s = 1.0f,
        .k_a = 0.5f,
        .k_r = 1e-5f,
        .eps = 0.02f,
        .damping = 0.1f,
        .dt = 0.05f,
        .room = 4.0f,
    };
    return p;
}

bool nnxr_cloud_params_check(const nnxr_cloud_params *p, nnxr_error *err)
{
    struct {
        const char *key;
        float v, lo, hi;
        bool open_lo;
    } k[] = {
        {"k_s", p->k_s, 0, 1e6f, false},      {"k_a", p->k_a, 0, 1e6f, false},
        {"k_r", p->k_r, 0, 1e6f, false},      {"eps", p->eps, 0, 1e3f, true},
        {"damping", p->damping, 0, 1, false}, {"dt", p->dt, 0, 10, true},
        {"room", p->room, 0, 1e4f, true},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (!isfinite(k[i].v) || k[i].v > k[i].hi || k[i].v < k[i].lo ||
            (k[i].open_lo && k[i].v <= k[i].lo))
            return nnxr_fail(err, "latent cloud parameter %s: expected a number in %s%g, %g], "
                             "got %g", k[i].key, k[i].open_lo ? "(" : "[", (double)k[i].lo,
                             (double)k[i].hi, (double)k[i].v);
    }
    return true;
}

/* ---- creation ------------------------------------------------------------------------------ */

static bool make_buffer_usage(nnxr_cloud *c, const char *name, VkDeviceSize size,
                              VkBufferUsageFlags usage, nnxr_buffer **out, nnxr_error *err)
{
    nnxr_buffer_desc d = {.name = name, .kind = NNXR_BUFFER_DEVICE, .size = size,
                          .usage = usage};
    if (!nnxr_buffer_create(c->gpu, &d, out, err))
        return nnxr_fail_prefix(err, "latent cloud");
    c->gpu_bytes += size;
    return true;
}

static bool make_buffer(nnxr_cloud *c, const char *name, VkDeviceSize size, nnxr_buffer **out,
                        nnxr_error *err)
{
    return make_buffer_usage(c, name, size, 0, out, err);
}

static bool make_kernel(nnxr_cloud *c, const char *shader, uint32_t buffers, uint32_t written,
                        uint32_t uniform, uint32_t push, const nnxr_spec_constant *specs,
                        uint32_t spec_count, nnxr_kernel **out, nnxr_error *err)
{
    nnxr_kernel_desc d = {.shader = shader, .buffer_count = buffers, .written_mask = written,
                          .push_size = push, .specs = specs, .spec_count = spec_count};
    if (!nnxr_kernel_create_uniform(c->gpu, &d, uniform, out, err))
        return nnxr_fail_prefix(err, "latent cloud");
    return true;
}

static bool make_kernel_typed(nnxr_cloud *c, const char *shader, uint32_t buffers,
                              uint32_t written, const nnxr_slot_kind *kinds, uint32_t push,
                              const nnxr_spec_constant *specs, uint32_t spec_count,
                              nnxr_kernel **out, nnxr_error *err)
{
    nnxr_kernel_desc d = {.shader = shader, .buffer_count = buffers, .written_mask = written,
                          .push_size = push, .specs = specs, .spec_count = spec_count};
    if (!nnxr_kernel_create_typed(c->gpu, &d, kinds, out, err))
        return nnxr_fail_prefix(err, "latent cloud");
    return true;
}

/* The PAIRS kernels' slots: forces_pairs.comp reads the window as a uniform buffer and pos
 * and labels again as texel views; forces_fold.comp reads jpart, labels and partial as texel
 * views (why: sim/forces_fold.comp). */
#define TEXEL_VEC4 {NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32G32B32A32_SFLOAT}
#define TEXEL_UINT {NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32_UINT}
static const nnxr_slot_kind pairs_kinds[11] = {
    [5] = {NNXR_SLOT_UNIFORM, VK_FORMAT_UNDEFINED}, [9] = TEXEL_VEC4, [10] = TEXEL_UINT,
};
static const nnxr_slot_kind fold_kinds[6] = {[0] = TEXEL_VEC4, [4] = TEXEL_UINT, [5] = TEXEL_VEC4};

static bool make_binding_slots(nnxr_cloud *c, const nnxr_kernel *k, const nnxr_buffer_slot *slots,
                               uint32_t count, nnxr_binding **out, nnxr_error *err)
{
    if (!nnxr_binding_create(c->gpu, k, slots, count, out, err))
        return nnxr_fail_prefix(err, "latent cloud");
    return true;
}

static bool make_binding(nnxr_cloud *c, const nnxr_kernel *k, const nnxr_buffer *const *bufs,
                         uint32_t count, nnxr_binding **out, nnxr_error *err)
{
    nnxr_buffer_slot slots[8];
    for (uint32_t i = 0; i < count; i++)
        slots[i] = (nnxr_buffer_slot){bufs[i], 0, 0};
    return make_binding_slots(c, k, slots, count, out, err);
}

static uint32_t chunk_end(const nnxr_cloud *c, uint32_t j0)
{
    return c->n - j0 < c->chunk ? c->n : j0 + c->chunk;
}

static uint32_t div_up(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }

/* The PAIRS shape's workgroup → work maps, one for the first dispatch of a step (blocks +
 * slices entries: block b as b, the class sums of slice s as blocks + s) and one for the
 * later ones (blocks only). Block b works on every j after it, so in the dispatch for a
 * j-range only the blocks before that range's end are busy. CPU devices (lavapipe) split a
 * dispatch into contiguous runs of workgroups, one per thread: in block order the first
 * thread got nearly all the work (measured: 4.6 → 7.1 G pairs/s on two cores once spread).
 *
 * Later dispatches: bit-reversed order spreads every prefix of blocks evenly over any
 * power-of-two split (modelled imbalance between two threads over a step's later
 * dispatches: 0.8 % at n = 16,384, less beyond). The first dispatch is a ramp (block b meets
 * the j's from its own start on) plus light work for every block and the slices, where
 * bit-reversal left 3 % (272 : 256) at n = 4,096: its order halves the workgroups
 * recursively into halves of equal count and nearly equal estimated cost (modelled: exact
 * for two and four threads at n = 4,096 and 16,384, 0.2 % for two at 70,000). */
static void order_later(uint32_t blocks, uint32_t *order)
{
    uint32_t bits = 0;
    while ((1u << bits) < blocks)
        bits++;
    uint32_t k = 0;
    for (uint32_t i = 0; k < blocks; i++) {
        uint32_t r = 0;
        for (uint32_t b = 0; b < bits; b++)
            r |= ((i >> b) & 1u) << (bits - 1u - b);
        if (r < blocks)
            order[k++] = r;
    }
}

typedef struct work_cost {
    double cost;
    uint32_t id;
} work_cost;

static int by_cost_down(const void *a, const void *b)
{
    const work_cost *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Orders w[0 .. count) into out: the first ceil(count / 2) entries and the rest cost about
 * the same, and so, recursively, do the halves of each. Sorted by cost, the workgroups go to
 * the halves two at a time, the heavier of the two to the half that is lighter so far. */
static void order_halves(work_cost *w, uint32_t count, work_cost *tmp, uint32_t *out)
{
    if (count <= 1) {
        if (count)
            out[0] = w[0].id;
        return;
    }
    qsort(w, count, sizeof *w, by_cost_down);
    uint32_t big = (count + 1) / 2, na = 0, nb = 0;
    work_cost *a = tmp, *b = tmp + big;
    double sa = 0, sb = 0;
    for (uint32_t k = 0; k + 1 < count; k += 2) {
        bool a_lighter = sa <= sb;
        a[na] = w[a_lighter ? k : k + 1];
        b[nb] = w[a_lighter ? k + 1 : k];
        sa += a[na++].cost;
        sb += b[nb++].cost;
    }
    if (count % 2) /* the lightest, to the half that takes the odd count */
        a[na++] = w[count - 1];
    memcpy(w, tmp, count * sizeof *w);
    order_halves(w, big, tmp, out);
    order_halves(w + big, count - big, tmp, out + big);
}

/* Costs in pair evaluations; the per-point and per-class figures are estimates of the
 * fixed work (loads, the spring, the stores) and of a class-sum visit, not measurements. */
#define FIXED_COST_PER_POINT 8.0
#define CLASS_COST_PER_POINT 0.5

static bool order_first(const nnxr_cloud *c, uint32_t j1, uint32_t *order)
{
    uint32_t total = c->blocks + c->slices, block = c->wg * c->ppi;
    work_cost *w = malloc(2u * total * sizeof *w);
    if (!w)
        return false;
    for (uint32_t b = 0; b < c->blocks; b++) {
        uint64_t b0 = (uint64_t)b * block;
        double met = b0 < j1 ? (double)div_up(j1 - b0, c->wg) * c->wg : 0.0;
        w[b] = (work_cost){(met + FIXED_COST_PER_POINT) * block, b};
    }
    for (uint32_t s = 0; s < c->slices; s++) {
        uint32_t len = s + 1 < c->slices ? SLICE_LEN : c->n - s * SLICE_LEN;
        w[c->blocks + s] = (work_cost){CLASS_COST_PER_POINT * len * c->classes, c->blocks + s};
    }
    order_halves(w, total, w + total, order);
    free(w);
    return true;
}

static uint32_t forces_groups(const nnxr_cloud *c)
{
    if (c->shape == NNXR_CLOUD_SHAPE_PAIRS) /* the first dispatch's: blocks and slices */
        return c->blocks + c->slices;
    return c->shape == NNXR_CLOUD_SHAPE_TILES ? div_up(c->n, c->wg)
                                              : div_up(c->n, (uint64_t)c->wg * c->ppi);
}

bool nnxr_cloud_create(nnxr_gpu *gpu, const nnxr_cloud_desc *desc, nnxr_cloud **out,
                       nnxr_error *err)
{
    *out = NULL;
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    if (desc->n == 0 || desc->n > NNXR_CLOUD_MAX_POINTS)
        return nnxr_fail(err, "latent cloud: n = %u points, expected 1 .. %u", desc->n,
                         NNXR_CLOUD_MAX_POINTS);
    if (desc->classes == 0 || desc->classes > NNXR_CLOUD_MAX_CLASSES)
        return nnxr_fail(err, "latent cloud: %u classes, expected 1 .. %u", desc->classes,
                         NNXR_CLOUD_MAX_CLASSES);
    /* PAIRS: a workgroup is one subgroup whose lanes pass the j's round with shuffles, eight
     * turns unrolled in forces_pairs.comp (so at most 8 lanes: lavapipe has 8 at 256 bits,
     * 4 at 128). */
    const VkSubgroupFeatureFlags pairs_ops =
        VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    bool pairs_ok = (info->subgroup_operations & pairs_ops) == pairs_ops &&
                    info->subgroup_size >= 1 && info->subgroup_size <= PAIRS_MAX_LANES &&
                    info->subgroup_size <= info->properties.limits.maxComputeWorkGroupSize[0] &&
                    info->subgroup_size <= info->properties.limits.maxComputeWorkGroupInvocations &&
                    desc->n <= info->properties.limits.maxTexelBufferElements;
    nnxr_cloud_shape shape = desc->shape;
    if (shape == NNXR_CLOUD_SHAPE_AUTO)
        shape = !info->is_cpu ? NNXR_CLOUD_SHAPE_TILES
                : pairs_ok && !desc->plain_loads && !desc->workgroup ? NNXR_CLOUD_SHAPE_PAIRS
                                                                     : NNXR_CLOUD_SHAPE_BLOCK;
    if (shape == NNXR_CLOUD_SHAPE_PAIRS) {
        if (!pairs_ok)
            return nnxr_fail(err, "latent cloud: the pairs shape needs subgroup shuffles in "
                             "compute shaders, subgroups of at most %u lanes and texel buffers "
                             "of %u elements; %s has %u lanes and %u elements",
                             PAIRS_MAX_LANES, desc->n, info->properties.deviceName,
                             info->subgroup_size,
                             info->properties.limits.maxTexelBufferElements);
        if (desc->plain_loads)
            return nnxr_fail(err, "latent cloud: the pairs shape reads x_j from the uniform "
                             "window only (plain_loads is a block-shape option)");
        if (desc->workgroup && desc->workgroup != info->subgroup_size)
            return nnxr_fail(err, "latent cloud: the pairs shape's workgroup is one subgroup "
                             "(%u invocations), not %u", info->subgroup_size, desc->workgroup);
    }
    uint32_t max_ppi = shape == NNXR_CLOUD_SHAPE_PAIRS ? PAIRS_MAX_SLOTS : 16u;
    if (desc->points_per_invocation > max_ppi)
        return nnxr_fail(err, "latent cloud: points_per_invocation = %u, expected 0 .. %u",
                         desc->points_per_invocation, max_ppi);
    nnxr_cloud *c = calloc(1, sizeof *c);
    if (!c)
        return nnxr_fail(err, "latent cloud: out of memory");
    c->gpu = gpu;
    c->n = desc->n;
    c->classes = desc->classes;
    c->shape = shape;
    c->ppi = c->shape == NNXR_CLOUD_SHAPE_BLOCK
                 ? (desc->points_per_invocation ? desc->points_per_invocation : 16)
                 : 1;
    c->wg = desc->workgroup ? desc->workgroup
                            : (c->shape == NNXR_CLOUD_SHAPE_BLOCK ? 64u : 128u);
    if (c->shape == NNXR_CLOUD_SHAPE_PAIRS) {
        c->wg = info->subgroup_size;
        /* 16 slots, measured on lavapipe with one thread: at n = 16,384 3.8 G pairs/s against
         * 3.1–3.7 with 8, 12, 20, 24 or 32; ahead of 8 at 4,096 and of 32 at 65,536 too (a
         * loop body the CPU's front end holds; blocks small enough that the pairs inside
         * one, met from both sides, cost little). More when the blocks would pass the fold's
         * loop cap. */
        uint32_t ppi = desc->points_per_invocation;
        if (!ppi) {
            ppi = div_up(c->n, (uint64_t)c->wg * MAX_LOOP);
            ppi = ppi < 16u ? 16u : ppi > PAIRS_MAX_SLOTS ? PAIRS_MAX_SLOTS : ppi;
        }
        c->ppi = ppi;
        c->blocks = div_up(c->n, (uint64_t)c->wg * c->ppi);
        /* forces_fold.comp loops over the blocks before j's own. */
        if (c->blocks > MAX_LOOP) {
            uint32_t blocks = c->blocks, block = c->wg * ppi;
            nnxr_cloud_destroy(c);
            return nnxr_fail(err, "latent cloud: %u blocks of %u points; at most %u (raise "
                             "points_per_invocation)", blocks, block, MAX_LOOP);
        }
    }
    uint32_t max_wg = info->properties.limits.maxComputeWorkGroupSize[0];
    if (max_wg > info->properties.limits.maxComputeWorkGroupInvocations)
        max_wg = info->properties.limits.maxComputeWorkGroupInvocations;
    if (c->wg > max_wg || c->wg > 1024) {
        nnxr_cloud_destroy(c);
        return nnxr_fail(err, "latent cloud: workgroup of %u invocations, the device allows %u",
                         desc->workgroup, max_wg);
    }
    /* Shared memory of the tile shape: one vec4 per invocation. */
    if (c->shape == NNXR_CLOUD_SHAPE_TILES &&
        c->wg * 16u > info->properties.limits.maxComputeSharedMemorySize) {
        nnxr_cloud_destroy(c);
        return nnxr_fail(err, "latent cloud: a tile of %u points needs %u bytes of shared "
                         "memory, the device has %u", c->wg, c->wg * 16u,
                         info->properties.limits.maxComputeSharedMemorySize);
    }
    uint32_t chunk = desc->chunk;
    if (chunk == 0) {
        chunk = PAIRS_PER_DISPATCH / c->n;
        if (chunk < MIN_AUTO_CHUNK)
            chunk = MIN_AUTO_CHUNK;
    }
    if (chunk > NNXR_CLOUD_MAX_CHUNK)
        chunk = NNXR_CLOUD_MAX_CHUNK;
    /* Every chunk's x_j are also bound as a uniform-buffer window: at most
     * maxUniformBufferRange bytes, starting at a multiple of its offset alignment. */
    const VkPhysicalDeviceLimits *lim = &info->properties.limits;
    uint32_t window_max = lim->maxUniformBufferRange / 16u;
    if (chunk > window_max)
        chunk = window_max;
    /* PAIRS: the j-side sums of a dispatch, blocks × chunk vec4s, in one storage buffer that
     * the fold reads as a texel view. */
    if (c->shape == NNXR_CLOUD_SHAPE_PAIRS) {
        uint64_t vec4s = lim->maxStorageBufferRange / 16u;
        if (vec4s > lim->maxTexelBufferElements)
            vec4s = lim->maxTexelBufferElements;
        uint64_t fit = vec4s / c->blocks;
        if (chunk > fit)
            chunk = (uint32_t)fit;
    }
    /* A multiple of 8 at least: forces_pairs.comp takes j's in groups of wg ≤ 8 that must
     * not straddle the end of a block. */
    uint32_t granule = 8;
    while ((VkDeviceSize)granule * 16u % (lim->minUniformBufferOffsetAlignment
                                              ? lim->minUniformBufferOffsetAlignment
                                              : 1u))
        granule *= 2;
    chunk -= chunk % granule;
    if (chunk < granule)
        chunk = granule;
    c->chunk = chunk;
    c->chunks = div_up(c->n, chunk);
    c->window = (c->shape == NNXR_CLOUD_SHAPE_BLOCK && !desc->plain_loads) ||
                        c->shape == NNXR_CLOUD_SHAPE_PAIRS
                    ? chunk
                    : 0;
    c->slices = div_up(c->n, SLICE_LEN);
    uint32_t groups = forces_groups(c);
    if (groups > info->properties.limits.maxComputeWorkGroupCount[0]) {
        nnxr_cloud_destroy(c);
        return nnxr_fail(err, "latent cloud: %u points need %u workgroups, the device allows "
                         "%u", c->n, groups, info->properties.limits.maxComputeWorkGroupCount[0]);
    }

    VkDeviceSize v4 = (VkDeviceSize)c->n * 16u, s4 = (VkDeviceSize)c->n * 4u;
    /* Positions are also read as uniform-buffer windows (sim/forces.comp). */
    bool ok = make_buffer_usage(c, "cloud.pos", v4,
                                VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                                    VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT,
                                &c->b.pos, err) &&
              make_buffer(c, "cloud.vel", v4, &c->b.vel, err) &&
              make_buffer(c, "cloud.force", v4, &c->b.force, err) &&
              make_buffer(c, "cloud.target", v4, &c->b.target, err) &&
              make_buffer_usage(c, "cloud.labels", s4, VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT,
                                &c->b.labels, err) &&
              make_buffer(c, "cloud.user", s4, &c->b.user, err) &&
              make_buffer_usage(c, "cloud.partial", (VkDeviceSize)c->slices * c->classes * 16u,
                                VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, &c->partial, err) &&
              make_buffer(c, "cloud.means", (VkDeviceSize)c->classes * 16u, &c->means, err) &&
              make_buffer(c, "cloud.sel", SEL_HEADER + v4, &c->sel, err);
    bool pairs = c->shape == NNXR_CLOUD_SHAPE_PAIRS;
    if (ok && pairs) {
        ok = make_buffer_usage(c, "cloud.jpart", (VkDeviceSize)c->blocks * c->chunk * 16u,
                               VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, &c->jpart, err);
        /* Two maps, the later one at a storage-buffer offset the device accepts. */
        VkDeviceSize align = lim->minStorageBufferOffsetAlignment;
        if (align < 4u)
            align = 4u;
        c->order_later = ((VkDeviceSize)groups * 4u + align - 1u) / align * align;
        VkDeviceSize bytes = c->order_later + (VkDeviceSize)c->blocks * 4u;
        ok = ok && make_buffer(c, "cloud.order", bytes, &c->order, err);
        uint32_t *order = ok ? calloc(1, bytes) : NULL;
        bool built = order && order_first(c, chunk_end(c, 0), order);
        if (built)
            order_later(c->blocks, order + c->order_later / 4u);
        ok = ok && (built ? nnxr_buffer_upload(gpu, c->order, 0, order, bytes, err)
                          : nnxr_fail(err, "latent cloud: out of memory"));
        free(order);
    }
    nnxr_spec_constant specs[5] = {
        nnxr_spec_u32(0, c->wg),
        nnxr_spec_u32(1, c->shape == NNXR_CLOUD_SHAPE_BLOCK ? 1u : 0u),
        nnxr_spec_u32(2, c->ppi),
        nnxr_spec_u32(3, c->wg),
        nnxr_spec_u32(4, c->window),
    };
    c->b_forces = calloc(c->chunks, sizeof *c->b_forces);
    if (!c->b_forces)
        ok = ok && nnxr_fail(err, "latent cloud: out of memory");
    ok = ok &&
         (pairs ? make_kernel_typed(c, "sim/forces_pairs.comp", 11,
                                    (1u << 4) | (1u << 6) | (1u << 8), pairs_kinds,
                                    sizeof(struct forces_push), specs, 5, &c->k_forces, err) &&
                      make_kernel_typed(c, "sim/forces_fold.comp", 6, 0xeu, fold_kinds,
                                        sizeof(struct fold_push), NULL, 0, &c->k_fold, err)
                /* The PAIRS step sums classes and integrates inside its own two kernels. */
                : make_kernel(c, "sim/forces.comp", 6, 1u << 4, 1u << 5,
                              sizeof(struct forces_push), specs, 5, &c->k_forces, err) &&
                      make_kernel(c, "sim/class_sums.comp", 3, 1u << 2, 0,
                                  sizeof(struct sums_push), NULL, 0, &c->k_sums, err) &&
                      make_kernel(c, "sim/class_means.comp", 2, 1u << 1, 0,
                                  sizeof(struct sums_push), NULL, 0, &c->k_means, err) &&
                      make_kernel(c, "sim/integrate.comp", 3, 3u, 0,
                                  sizeof(struct integrate_push), NULL, 0, &c->k_integrate,
                                  err)) &&
         make_kernel(c, "sim/map_targets.comp", 2, 1u << 1, 0, sizeof(struct map_push), NULL, 0,
                     &c->k_map, err) &&
         make_kernel(c, "sim/select_sphere.comp", 4, 1u << 3, 0, sizeof(struct select_push), NULL,
                     0, &c->k_select, err) &&
         make_kernel(c, "sim/scatter_labels.comp", 3, 6u, 0, sizeof(struct scatter_push), NULL, 0,
                     &c->k_scatter, err) &&
         make_kernel(c, "sim/merge_labels.comp", 3, 1u << 1, 0, sizeof(struct merge_push), NULL, 0,
                     &c->k_merge, err);
    if (ok) {
        for (uint32_t k = 0; ok && k < c->chunks; k++) {
            uint32_t j0 = k * c->chunk;
            nnxr_buffer_slot f[11] = {
                {c->b.pos, 0, 0},   {c->b.target, 0, 0}, {c->b.labels, 0, 0},
                {c->means, 0, 0},   {c->b.force, 0, 0},
                {c->b.pos, (VkDeviceSize)j0 * 16u, (VkDeviceSize)(chunk_end(c, j0) - j0) * 16u},
                {c->jpart, 0, 0},
                {c->order, k ? c->order_later : 0,
                 (VkDeviceSize)(k ? c->blocks : groups) * 4u},
                {c->partial, 0, 0}, {c->b.pos, 0, 0},   {c->b.labels, 0, 0},
            };
            ok = make_binding_slots(c, c->k_forces, f, pairs ? 11 : 6, &c->b_forces[k], err);
        }
        const nnxr_buffer *fo[6] = {c->jpart, c->b.force, c->b.pos,
                                    c->b.vel, c->b.labels, c->partial};
        const nnxr_buffer *s[3] = {c->b.pos, c->b.labels, c->partial};
        const nnxr_buffer *m[2] = {c->partial, c->means};
        const nnxr_buffer *i[3] = {c->b.pos, c->b.vel, c->b.force};
        ok = ok && (pairs ? make_binding(c, c->k_fold, fo, 6, &c->b_fold, err)
                          : make_binding(c, c->k_sums, s, 3, &c->b_sums, err) &&
                                make_binding(c, c->k_means, m, 2, &c->b_means, err) &&
                                make_binding(c, c->k_integrate, i, 3, &c->b_integrate, err));
        const nnxr_buffer *sel[4] = {c->b.pos, c->b.labels, c->b.user, c->sel};
        const nnxr_buffer *sc[3] = {c->sel, c->b.labels, c->b.user};
        ok = ok && make_binding(c, c->k_select, sel, 4, &c->b_select, err) &&
             make_binding(c, c->k_scatter, sc, 3, &c->b_scatter, err);
    }
    ok = ok && nnxr_recorder_create(gpu, 0, &c->rec, err) &&
         nnxr_label_state_init(&c->labels, c->n, c->classes, err);
    /* Initial state: everything zero, labels none. */
    ok = ok && nnxr_recorder_begin(c->rec, err) &&
         nnxr_recorder_fill(c->rec, c->b.pos, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->b.vel, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->b.force, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->b.target, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->b.labels, 0, VK_WHOLE_SIZE, 0xffffffffu, err) &&
         nnxr_recorder_fill(c->rec, c->b.user, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->means, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->partial, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_fill(c->rec, c->sel, 0, VK_WHOLE_SIZE, 0, err) &&
         nnxr_recorder_run(c->rec, err);
    if (!ok) {
        nnxr_cloud_destroy(c);
        return false;
    }
    *out = c;
    return true;
}

void nnxr_cloud_destroy(nnxr_cloud *c)
{
    if (!c)
        return;
    nnxr_recorder_destroy(c->rec);
    for (uint32_t k = 0; c->b_forces && k < c->chunks; k++)
        nnxr_binding_destroy(c->gpu, c->b_forces[k]);
    free(c->b_forces);
    nnxr_binding *bindings[] = {c->b_sums, c->b_means, c->b_integrate,
                                c->b_select, c->b_scatter, c->b_merge, c->b_fold};
    for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++)
        nnxr_binding_destroy(c->gpu, bindings[i]);
    nnxr_kernel *kernels[] = {c->k_forces, c->k_sums, c->k_means, c->k_integrate,
                              c->k_map, c->k_select, c->k_scatter, c->k_merge, c->k_fold};
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        nnxr_kernel_destroy(c->gpu, kernels[i]);
    nnxr_buffer *buffers[] = {c->b.pos, c->b.vel, c->b.force, c->b.target, c->b.labels,
                              c->b.user, c->partial, c->means, c->sel, c->jpart,
                              c->order};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        nnxr_buffer_destroy(c->gpu, buffers[i]);
    nnxr_label_state_free(&c->labels);
    free(c);
}

const nnxr_cloud_buffers *nnxr_cloud_get_buffers(const nnxr_cloud *c) { return &c->b; }
uint32_t nnxr_cloud_count(const nnxr_cloud *c) { return c->n; }
uint32_t nnxr_cloud_classes(const nnxr_cloud *c) { return c->classes; }
nnxr_cloud_shape nnxr_cloud_get_shape(const nnxr_cloud *c) { return c->shape; }
uint32_t nnxr_cloud_chunk(const nnxr_cloud *c) { return c->chunk; }
uint32_t nnxr_cloud_points_per_invocation(const nnxr_cloud *c) { return c->ppi; }
uint32_t nnxr_cloud_workgroup(const nnxr_cloud *c) { return c->wg; }
uint64_t nnxr_cloud_gpu_bytes(const nnxr_cloud *c) { return c->gpu_bytes; }
const nnxr_label_state *nnxr_cloud_label_state(const nnxr_cloud *c) { return &c->labels; }

uint32_t nnxr_cloud_dispatches_per_step(const nnxr_cloud *c)
{
    /* PAIRS: a forces and a fold dispatch per j-range (record_forces); others: class sums,
     * class means, a forces dispatch per j-range, the integration. */
    return c->shape == NNXR_CLOUD_SHAPE_PAIRS ? 2u * c->chunks : 2u + c->chunks + 1u;
}

/* ---- state ----------------------------------------------------------------------------- */

bool nnxr_cloud_upload(nnxr_cloud *c, const float *pos4, const float *vel4,
                       const float *target4, nnxr_error *err)
{
    VkDeviceSize bytes = (VkDeviceSize)c->n * 16u;
    if (!nnxr_recorder_wait(c->rec, err))
        return false;
    if ((pos4 && !nnxr_buffer_upload(c->gpu, c->b.pos, 0, pos4, bytes, err)) ||
        (vel4 && !nnxr_buffer_upload(c->gpu, c->b.vel, 0, vel4, bytes, err)) ||
        (target4 && !nnxr_buffer_upload(c->gpu, c->b.target, 0, target4, bytes, err)))
        return nnxr_fail_prefix(err, "latent cloud upload");
    return true;
}

bool nnxr_cloud_download(nnxr_cloud *c, float *pos4, float *vel4, float *force4,
                         nnxr_error *err)
{
    VkDeviceSize bytes = (VkDeviceSize)c->n * 16u;
    if (!nnxr_recorder_wait(c->rec, err))
        return false;
    if ((pos4 && !nnxr_buffer_readback(c->gpu, c->b.pos, 0, pos4, bytes, err)) ||
        (vel4 && !nnxr_buffer_readback(c->gpu, c->b.vel, 0, vel4, bytes, err)) ||
        (force4 && !nnxr_buffer_readback(c->gpu, c->b.force, 0, force4, bytes, err)))
        return nnxr_fail_prefix(err, "latent cloud download");
    return true;
}

bool nnxr_cloud_reset_to_targets(nnxr_cloud *c, nnxr_error *err)
{
    VkDeviceSize bytes = (VkDeviceSize)c->n * 16u;
    return nnxr_recorder_begin(c->rec, err) &&
           nnxr_recorder_copy(c->rec, c->b.target, 0, c->b.pos, 0, bytes, err) &&
           nnxr_recorder_fill(c->rec, c->b.vel, 0, VK_WHOLE_SIZE, 0, err) &&
           nnxr_recorder_run(c->rec, err);
}

/* ---- room mapping ------------------------------------------------------------------------ */

/* The k-th smallest of v[0..n) (v is reordered): quickselect, Hoare partition around a
 * median of three. */
static double select_kth(double *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, want = (ptrdiff_t)k;
    while (hi > lo) {
        double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        /* v[lo..j] <= pivot <= v[i..hi], and everything strictly between equals pivot. */
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return v[want];
    }
    return v[want];
}

bool nnxr_room_mapping_compute(const float *z, uint32_t n, uint32_t stride, float room,
                               nnxr_room_mapping *out, nnxr_error *err)
{
    if (n == 0)
        return nnxr_fail(err, "room mapping: no points");
    if (stride != 3 && stride != 4)
        return nnxr_fail(err, "room mapping: stride %u floats, expected 3 or 4", stride);
    if (!(room > 0) || !isfinite(room))
        return nnxr_fail(err, "room mapping: room size %g, expected > 0", (double)room);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t a = 0; a < 3; a++)
            if (!isfinite(z[(size_t)i * stride + a]))
                return nnxr_fail(err, "room mapping: latent of point %u, axis %u is %g", i, a,
                                 (double)z[(size_t)i * stride + a]);
    double *v = malloc((size_t)n * sizeof *v), *u = malloc((size_t)n * sizeof *u);
    if (!v || !u) {
        free(v);
        free(u);
        return nnxr_fail(err, "room mapping: out of memory for %u points", n);
    }
    /* The order statistic at or below which ceil(0.98 n) of the values lie. */
    size_t k98 = (size_t)ceil(0.98 * n) - 1;
    double median[3], spread[3];
    for (uint32_t a = 0; a < 3; a++) {
        for (uint32_t i = 0; i < n; i++)
            v[i] = z[(size_t)i * stride + a];
        median[a] = select_kth(v, n, (n - 1) / 2);
        for (uint32_t i = 0; i < n; i++)
            v[i] = fabs(z[(size_t)i * stride + a] - median[a]);
        spread[a] = select_kth(v, n, k98);
    }
    for (uint32_t i = 0; i < n; i++) {
        double m = 0;
        for (uint32_t a = 0; a < 3; a++)
            if (spread[a] > 0) {
                double t = fabs(z[(size_t)i * stride + a] - median[a]) / spread[a];
                if (t > m)
                    m = t;
            }
        u[i] = m;
    }
    double g = select_kth(u, n, k98);
    if (!(g > 0))
        g = 1;
    for (uint32_t a = 0; a < 3; a++) {
        out->centre[a] = (float)median[a];
        out->scale[a] = spread[a] > 0 ? (float)(0.5 * room / (g * spread[a])) : 1.0f;
    }
    free(v);
    free(u);
    return true;
}

bool nnxr_cloud_set_latents(nnxr_cloud *c, const nnxr_buffer *z, VkDeviceSize offset,
                            uint32_t stride, float room, nnxr_room_mapping *mapping,
                            nnxr_error *err)
{
    if (stride != 3 && stride != 4)
        return nnxr_fail(err, "latent cloud: latent stride %u floats, expected 3 or 4", stride);
    VkDeviceSize bytes = (VkDeviceSize)c->n * stride * 4u;
    if (offset % 4 || offset > z->size || z->size - offset < bytes)
        return nnxr_fail(err, "latent cloud: latents '%s' hold %llu bytes; %u points of %u "
                         "floats at byte %llu need %llu (offset a multiple of 4)", z->name,
                         (unsigned long long)z->size, c->n, stride,
                         (unsigned long long)offset, (unsigned long long)(offset + bytes));
    if (!nnxr_recorder_wait(c->rec, err))
        return false;
    float *host = malloc((size_t)bytes);
    if (!host)
        return nnxr_fail(err, "latent cloud: out of memory for %u latents", c->n);
    nnxr_room_mapping m;
    bool ok = nnxr_buffer_readback(c->gpu, z, offset, host, bytes, err) &&
              nnxr_room_mapping_compute(host, c->n, stride, room, &m, err);
    free(host);
    if (!ok)
        return nnxr_fail_prefix(err, "latent cloud: mapping latents into the room");
    nnxr_binding *bind = NULL;
    const nnxr_buffer *bufs[2] = {z, c->b.target};
    struct map_push push = {.n = c->n, .stride = stride, .offset = (uint32_t)(offset / 4)};
    for (int a = 0; a < 3; a++) {
        push.centre[a] = m.centre[a];
        push.scale[a] = m.scale[a];
    }
    ok = make_binding(c, c->k_map, bufs, 2, &bind, err) && nnxr_recorder_begin(c->rec, err) &&
         nnxr_recorder_dispatch(c->rec, c->k_map, bind, &push, sizeof push, div_up(c->n, 64),
                                1, 1, err) &&
         nnxr_recorder_run(c->rec, err);
    nnxr_binding_destroy(c->gpu, bind);
    if (ok && mapping)
        *mapping = m;
    return ok;
}

/* ---- simulation ---------------------------------------------------------------------------- */

/* The forces of one step into c->force; with `integrate`, the integration too. PAIRS: per
 * j-range a forces dispatch (the first also sums the classes per slice) and a fold; the
 * last fold integrates. Other shapes: class sums, class means, the forces dispatches, and
 * the integration on its own. */
static bool record_step(nnxr_cloud *c, nnxr_recorder *rec, const nnxr_cloud_params *p,
                        bool integrate, nnxr_error *err)
{
    if (!nnxr_cloud_params_check(p, err))
        return false;
    bool pairs = c->shape == NNXR_CLOUD_SHAPE_PAIRS;
    struct sums_push sp = {c->n, SLICE_LEN, c->classes, c->slices};
    if (!pairs &&
        (!nnxr_recorder_dispatch(rec, c->k_sums, c->b_sums, &sp, sizeof sp,
                                 div_up((uint64_t)c->slices * c->classes, 64), 1, 1, err) ||
         !nnxr_recorder_dispatch(rec, c->k_means, c->b_means, &sp, sizeof sp,
                                 div_up(c->classes, 64), 1, 1, err)))
        return nnxr_fail_prefix(err, "latent cloud");
    uint32_t groups = forces_groups(c);
    for (uint32_t k = 0; k < c->chunks; k++) {
        uint32_t j0 = k * c->chunk;
        struct forces_push fp = {
            .n = c->n,
            .j0 = j0,
            .j1 = chunk_end(c, j0),
            .first = j0 == 0,
            .k_s = p->k_s,
            .k_a = p->k_a,
            .k_r = p->k_r,
            .eps2 = p->eps * p->eps,
            .jstride = c->blocks,
            .classes = c->classes,
        };
        uint32_t busy = pairs && k ? c->blocks : groups; /* PAIRS: the slices are in the first */
        if (!nnxr_recorder_dispatch(rec, c->k_forces, c->b_forces[k], &fp, sizeof fp, busy, 1,
                                    1, err))
            return nnxr_fail_prefix(err, "latent cloud");
        if (!pairs)
            continue;
        bool last = k + 1 == c->chunks;
        struct fold_push op = {
            .j0 = fp.j0,
            .j1 = fp.j1,
            .p0 = integrate && last ? 0 : fp.j0,
            .p1 = integrate && last ? c->n : fp.j1,
            .block = c->wg * c->ppi,
            .jstride = c->blocks,
            .classes = c->classes,
            .slices = c->slices,
            .k_r = p->k_r,
            .k_a = p->k_a,
            .integrate = integrate && last,
            .damping = p->damping,
            .dt = p->dt,
        };
        if (!nnxr_recorder_dispatch(rec, c->k_fold, c->b_fold, &op, sizeof op,
                                    div_up(op.p1 - op.p0, 64), 1, 1, err))
            return nnxr_fail_prefix(err, "latent cloud");
    }
    struct integrate_push ip = {c->n, p->damping, p->dt};
    if (integrate && !pairs &&
        !nnxr_recorder_dispatch(rec, c->k_integrate, c->b_integrate, &ip, sizeof ip,
                                div_up(c->n, 64), 1, 1, err))
        return nnxr_fail_prefix(err, "latent cloud");
    return true;
}

bool nnxr_cloud_record_forces(nnxr_cloud *c, nnxr_recorder *rec,
                              const nnxr_cloud_params *p, nnxr_error *err)
{
    return record_step(c, rec, p, false, err);
}

bool nnxr_cloud_record_steps(nnxr_cloud *c, nnxr_recorder *rec, const nnxr_cloud_params *p,
                             uint32_t steps, nnxr_error *err)
{
    for (uint32_t s = 0; s < steps; s++)
        if (!record_step(c, rec, p, true, err))
            return false;
    return true;
}

bool nnxr_cloud_step(nnxr_cloud *c, const nnxr_cloud_params *p, uint32_t steps,
                     nnxr_error *err)
{
    return nnxr_recorder_begin(c->rec, err) && nnxr_cloud_record_steps(c, c->rec, p, steps, err) &&
           nnxr_recorder_run(c->rec, err);
}

bool nnxr_cloud_compute_forces(nnxr_cloud *c, const nnxr_cloud_params *p, nnxr_error *err)
{
    return nnxr_recorder_begin(c->rec, err) && nnxr_cloud_record_forces(c, c->rec, p, err) &&
           nnxr_recorder_run(c->rec, err);
}

/* ---- annotation ------------------------------------------------------------------------- */

typedef struct sel_entry {
    uint32_t index, old_label, old_user, pad;
} sel_entry;

static int by_index(const void *a, const void *b)
{
    uint32_t x = ((const sel_entry *)a)->index, y = ((const sel_entry *)b)->index;
    return (x > y) - (x < y);
}

/* Runs the selection kernel and reads the entries back sorted by point index. */
static bool select_sphere(nnxr_cloud *c, const float center[3], float radius,
                          sel_entry **out, uint32_t *count, nnxr_error *err)
{
    *out = NULL;
    *count = 0;
    if (!isfinite(center[0]) || !isfinite(center[1]) || !isfinite(center[2]) ||
        !isfinite(radius) || radius < 0)
        return nnxr_fail(err, "annotation sphere: centre (%g, %g, %g) radius %g: expected "
                         "finite numbers and a radius >= 0", (double)center[0],
                         (double)center[1], (double)center[2], (double)radius);
    struct select_push sp = {{center[0], center[1], center[2], radius * radius}, c->n};
    uint32_t n = 0;
    if (!nnxr_recorder_begin(c->rec, err) ||
        !nnxr_recorder_fill(c->rec, c->sel, 0, SEL_HEADER, 0, err) ||
        !nnxr_recorder_dispatch(c->rec, c->k_select, c->b_select, &sp, sizeof sp,
                                div_up(c->n, 64), 1, 1, err) ||
        !nnxr_recorder_run(c->rec, err) ||
        !nnxr_buffer_readback(c->gpu, c->sel, 0, &n, sizeof n, err))
        return nnxr_fail_prefix(err, "annotation sphere");
    if (n > c->n)
        return nnxr_fail(err, "annotation sphere: the GPU selected %u of %u points", n, c->n);
    sel_entry *e = malloc((n ? n : 1) * sizeof *e);
    if (!e)
        return nnxr_fail(err, "annotation sphere: out of memory for %u points", n);
    if (n && !nnxr_buffer_readback(c->gpu, c->sel, SEL_HEADER, e, (VkDeviceSize)n * sizeof *e,
                                   err)) {
        free(e);
        return nnxr_fail_prefix(err, "annotation sphere");
    }
    qsort(e, n, sizeof *e, by_index);
    *out = e;
    *count = n;
    return true;
}

/* Writes (index, label, user) entries into the selection buffer's entry area and scatters
 * them (mode 1), or scatters the entries already there with one label (mode 0). */
static bool scatter(nnxr_cloud *c, uint32_t count, uint32_t mode, int32_t label,
                    nnxr_error *err)
{
    if (count == 0)
        return true;
    struct scatter_push sp = {count, mode, label, c->n};
    return nnxr_recorder_begin(c->rec, err) &&
           nnxr_recorder_dispatch(c->rec, c->k_scatter, c->b_scatter, &sp, sizeof sp,
                                  div_up(count, 64), 1, 1, err) &&
           nnxr_recorder_run(c->rec, err);
}

static bool annotate(nnxr_cloud *c, nnxr_annot_kind kind, const float center[3], float radius,
                     int32_t label, nnxr_journal *journal, uint32_t *count, nnxr_error *err)
{
    if (count)
        *count = 0;
    if (kind == NNXR_ANNOT_LABEL && (label < 0 || (uint32_t)label >= c->classes))
        return nnxr_fail(err, "annotate_sphere: label %d, expected 0 .. %u", label,
                         c->classes - 1);
    if (journal && nnxr_journal_point_count(journal) != c->n)
        return nnxr_fail(err, "annotate_sphere: journal %s is for %u points, the cloud has %u",
                         nnxr_journal_path(journal), nnxr_journal_point_count(journal), c->n);
    sel_entry *e = NULL;
    uint32_t n = 0;
    if (!select_sphere(c, center, radius, &e, &n, err))
        return false;
    size_t m = n ? n : 1;
    uint32_t *index = malloc(m * sizeof *index);
    int32_t *old_label = malloc(m * sizeof *old_label);
    uint8_t *old_user = malloc(m);
    bool ok = index && old_label && old_user;
    if (!ok)
        nnxr_fail(err, "annotate_sphere: out of memory for %u points", n);
    for (uint32_t k = 0; ok && k < n; k++) {
        index[k] = e[k].index;
        old_label[k] = (int32_t)e[k].old_label;
        old_user[k] = (uint8_t)(e[k].old_user != 0);
    }
    free(e);
    /* Durable first: the record (with the exact point set) is fsync'ed before anything
     * changes, so a crash after this point replays it and a crash before loses nothing the
     * user was told about. */
    if (ok && journal) {
        nnxr_journal_record r = {.kind = kind, .radius = radius,
                                 .label = kind == NNXR_ANNOT_LABEL ? label : -1,
                                 .count = n, .index = index};
        memcpy(r.center, center, sizeof r.center);
        ok = nnxr_journal_append(journal, &r, err);
    }
    /* The selection buffer still holds the entries (in GPU order): mode 0 writes them. */
    ok = ok && scatter(c, n, 0, kind == NNXR_ANNOT_LABEL ? label : -1, err) &&
         nnxr_label_state_apply(&c->labels, kind, label, index, n, old_label, old_user, err);
    free(index);
    free(old_label);
    free(old_user);
    if (ok && count)
        *count = n;
    return ok ? true : nnxr_fail_prefix(err, "%s", kind == NNXR_ANNOT_LABEL
                                                      ? "annotate_sphere"
                                                      : "unlabel_sphere");
}

bool nnxr_cloud_annotate_sphere(nnxr_cloud *c, const float center[3], float radius,
                                int32_t label, nnxr_journal *journal, uint32_t *count,
                                nnxr_error *err)
{
    return annotate(c, NNXR_ANNOT_LABEL, center, radius, label, journal, count, err);
}

bool nnxr_cloud_unlabel_sphere(nnxr_cloud *c, const float center[3], float radius,
                               nnxr_journal *journal, uint32_t *count, nnxr_error *err)
{
    return annotate(c, NNXR_ANNOT_UNLABEL, center, radius, -1, journal, count, err);
}

/* Uploads (index, label, user) entries and scatters them in mode 1. */
static bool restore(nnxr_cloud *c, const nnxr_label_change *ch, nnxr_error *err)
{
    if (ch->count == 0)
        return true;
    sel_entry *e = malloc((size_t)ch->count * sizeof *e);
    if (!e)
        return nnxr_fail(err, "undo: out of memory for %u points", ch->count);
    for (uint32_t k = 0; k < ch->count; k++)
        e[k] = (sel_entry){ch->index[k], (uint32_t)ch->old_label[k], ch->old_user[k], 0};
    bool ok = nnxr_recorder_wait(c->rec, err) &&
              nnxr_buffer_upload(c->gpu, c->sel, SEL_HEADER, e,
                                 (VkDeviceSize)ch->count * sizeof *e, err) &&
              scatter(c, ch->count, 1, 0, err);
    free(e);
    return ok;
}

bool nnxr_cloud_undo(nnxr_cloud *c, nnxr_journal *journal, bool *undone, nnxr_error *err)
{
    *undone = false;
    if (c->labels.history_count == 0)
        return true;
    if (journal) {
        nnxr_journal_record r = {.kind = NNXR_ANNOT_UNDO, .label = -1};
        if (!nnxr_journal_append(journal, &r, err))
            return nnxr_fail_prefix(err, "undo");
    }
    const nnxr_label_change *ch = NULL;
    if (!nnxr_label_state_undo(&c->labels, undone, &ch, err) || !restore(c, ch, err))
        return nnxr_fail_prefix(err, "undo");
    return true;
}

static bool upload_labels(nnxr_cloud *c, nnxr_error *err)
{
    uint32_t *user = malloc((size_t)c->n * sizeof *user);
    if (!user)
        return nnxr_fail(err, "latent cloud: out of memory for %u labels", c->n);
    for (uint32_t i = 0; i < c->n; i++)
        user[i] = c->labels.user[i];
    bool ok = nnxr_recorder_wait(c->rec, err) &&
              nnxr_buffer_upload(c->gpu, c->b.labels, 0, c->labels.label,
                                 (VkDeviceSize)c->n * 4u, err) &&
              nnxr_buffer_upload(c->gpu, c->b.user, 0, user, (VkDeviceSize)c->n * 4u, err);
    free(user);
    return ok;
}

bool nnxr_cloud_replay_journal(nnxr_cloud *c, const nnxr_journal *journal, nnxr_error *err)
{
    if (c->labels.applied != 0)
        return nnxr_fail(err, "replay of %s: the cloud already has annotations",
                         nnxr_journal_path(journal));
    if (nnxr_journal_point_count(journal) != c->n)
        return nnxr_fail(err, "replay of %s: journal for %u points, the cloud has %u",
                         nnxr_journal_path(journal), nnxr_journal_point_count(journal), c->n);
    if (!nnxr_journal_replay(journal, &c->labels, err)) {
        /* Leave the cloud as it was: no annotations. */
        nnxr_label_state_free(&c->labels);
        nnxr_error e2;
        if (!nnxr_label_state_init(&c->labels, c->n, c->classes, &e2))
            return nnxr_fail(err, "%s", e2.message);
        return false;
    }
    return upload_labels(c, err);
}

bool nnxr_cloud_bind_predictions(nnxr_cloud *c, const nnxr_buffer *pred, nnxr_error *err)
{
    if (pred && pred->size < (VkDeviceSize)c->n * 4u)
        return nnxr_fail(err, "machine labels: buffer '%s' holds %llu bytes, %u labels need "
                         "%llu", pred->name, (unsigned long long)pred->size, c->n,
                         (unsigned long long)c->n * 4u);
    if (c->b_merge) {
        /* A recorded submission may still use the old binding. */
        if (!nnxr_gpu_wait_idle(c->gpu, err))
            return false;
        nnxr_binding_destroy(c->gpu, c->b_merge);
        c->b_merge = NULL;
    }
    if (!pred)
        return true;
    const nnxr_buffer *bufs[3] = {pred, c->b.labels, c->b.user};
    return make_binding(c, c->k_merge, bufs, 3, &c->b_merge, err);
}

bool nnxr_cloud_record_machine_labels(nnxr_cloud *c, nnxr_recorder *rec, nnxr_error *err)
{
    if (!c->b_merge)
        return nnxr_fail(err, "machine labels: no prediction buffer bound "
                         "(nnxr_cloud_bind_predictions)");
    struct merge_push mp = {c->n, (int32_t)c->classes};
    if (!nnxr_recorder_dispatch(rec, c->k_merge, c->b_merge, &mp, sizeof mp, div_up(c->n, 64),
                                1, 1, err))
        return nnxr_fail_prefix(err, "machine labels");
    return true;
}

bool nnxr_cloud_read_labels(nnxr_cloud *c, int32_t *labels, uint32_t *user, nnxr_error *err)
{
    if (!nnxr_recorder_wait(c->rec, err))
        return false;
    if ((labels && !nnxr_buffer_readback(c->gpu, c->b.labels, 0, labels,
                                         (VkDeviceSize)c->n * 4u, err)) ||
        (user && !nnxr_buffer_readback(c->gpu, c->b.user, 0, user, (VkDeviceSize)c->n * 4u,
                                       err)))
        return nnxr_fail_prefix(err, "latent cloud labels");
    return true;
}

bool nnxr_cloud_export_labels_npy(nnxr_cloud *c, const char *path, nnxr_error *err)
{
    int32_t *labels = calloc(c->n, sizeof *labels);
    if (!labels)
        return nnxr_fail(err, "%s: out of memory for %u labels", path, c->n);
    uint64_t dims[1] = {c->n};
    nnxr_array a = nnxr_array_view(NNXR_DTYPE_I32, 1, dims, labels);
    bool ok = nnxr_cloud_read_labels(c, labels, NULL, err) && nnxr_npy_write(path, &a, err);
    free(labels);
    return ok;
}

typedef struct csv_ctx {
    uint32_t n;
    const int32_t *labels;
    const uint32_t *user;
} csv_ctx;

static bool write_csv(FILE *f, void *user)
{
    const csv_ctx *x = user;
    if (fputs("index,label,user\n", f) < 0)
        return false;
    for (uint32_t i = 0; i < x->n; i++)
        if (fprintf(f, "%u,%d,%u\n", i, x->labels[i], x->user[i] ? 1u : 0u) < 0)
            return false;
    return true;
}

bool nnxr_cloud_export_labels_csv(nnxr_cloud *c, const char *path, nnxr_error *err)
{
    int32_t *labels = calloc(c->n, sizeof *labels);
    uint32_t *user = calloc(c->n, sizeof *user);
    bool ok = labels && user;
    if (!ok)
        nnxr_fail(err, "%s: out of memory for %u labels", path, c->n);
    csv_ctx x = {c->n, labels, user};
    ok = ok && nnxr_cloud_read_labels(c, labels, user, err) &&
         nnxr_write_atomic_with(path, write_csv, &x, err);
    free(labels);
    free(user);
    return ok;
}
