/* nn/layers_fused.c — the fused tiny-MLP training step (shaders/nn/fused_mlp.comp): which
 * networks it takes, the specialization constants that shape it (slices of layer 1, shared
 * memory layout of the upper layers), a small cache of its pipelines per network shape, and
 * the recording, split into dispatches of a bounded number of steps (lavapipe's loop cap). */
#include "nn/layers_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "nn/layers_push.h"

/* Loop iterations one invocation may spend per dispatch (the cap is 65,535). */
#define FUSED_ITER_BUDGET 30000u

typedef struct fused_shape {
    uint32_t wg, nl, d[5], batch, act, loss, opt, xf32, ks, s, label_i32, nch, maxw, ngrp;
    uint32_t ng, g_w[5], g_b[5];
    uint64_t shared_bytes;
    uint32_t iters_per_step;
    /* the subgroup kernel (fused_mlp_sg.comp) */
    uint32_t nu, cpl, iters_fixed;
} fused_shape;

/* Private floats per lane the subgroup kernel may keep for W1's slice (each of W1, its delta
 * or m, and v): 784 inputs x 16 units on lavapipe's 8 lanes is 1,792. */
#define SG_MAX_SLICE 4096u

static bool why(char *buf, size_t size, const char *fmt, ...)
{
    if (buf && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
    }
    return false;
}

static uint32_t round_up(uint32_t v, uint32_t m) { return (v + m - 1) / m * m; }

/* Shape of the kernel for a network; false with the reason when it does not fit. */
static bool fused_shape_of(const nnxr_nn *nn, const nnxr_nn_mlp_desc *d, nnxr_nn_format format,
                           nnxr_nn_format label_format, fused_shape *f, char *w, size_t ws)
{
    memset(f, 0, sizeof *f);
    const nnxr_gpu_info *info = nn->info;
    if (!d)
        return why(w, ws, "no network");
    if (d->layers < 2 || d->layers > NNXR_NN_FUSED_MAX_LAYERS)
        return why(w, ws, "%u dense layers (the fused step takes 2..%d)", d->layers,
                   NNXR_NN_FUSED_MAX_LAYERS);
    if (d->sizes[0] < 1 || d->sizes[0] > 4096)
        return why(w, ws, "%u inputs (the fused step takes 1..4096)", d->sizes[0]);
    for (uint32_t l = 1; l <= d->layers; l++)
        if (d->sizes[l] < 1 || d->sizes[l] > NNXR_NN_FUSED_MAX_WIDTH)
            return why(w, ws, "layer %u has %u units (the fused step takes 1..%d)", l,
                       d->sizes[l], NNXR_NN_FUSED_MAX_WIDTH);
    if (d->batch < 1 || d->batch > 64)
        return why(w, ws, "batch %u (the fused step takes 1..64)", d->batch);
    if ((unsigned)d->act > NNXR_NN_SIGMOID)
        return why(w, ws, "activation %d", (int)d->act);
    if (d->loss != NNXR_NN_LOSS_CE && d->loss != NNXR_NN_LOSS_MSE)
        return why(w, ws, "loss %d", (int)d->loss);
    if (d->opt != NNXR_NN_SGD && d->opt != NNXR_NN_ADAM)
        return why(w, ws, "optimizer %d", (int)d->opt);
    if (format != NNXR_NN_U8 && format != NNXR_NN_F32)
        return why(w, ws, "data format %d", (int)format);
    if (!info->shader_int64)
        return why(w, ws, "the device lacks shaderInt64");
    VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    if ((info->subgroup_operations & need) != need || info->subgroup_size < 1)
        return why(w, ws, "the device lacks subgroup arithmetic");
    f->nl = d->layers;
    for (uint32_t l = 0; l < 5; l++)
        f->d[l] = l <= d->layers ? d->sizes[l] : 1;
    f->batch = d->batch;
    f->act = (uint32_t)d->act;
    f->loss = (uint32_t)d->loss;
    f->opt = (uint32_t)d->opt;
    f->xf32 = format == NNXR_NN_F32;
    f->label_i32 = label_format == NNXR_NN_I32;
    /* Slices: 8 lanes (one SIMD chunk on lavapipe) cover the inputs, 16 at a time. */
    uint32_t d0 = f->d[0], d1 = f->d[1];
    f->ks = round_up((d0 + 7) / 8, 16);
    f->s = (d0 + f->ks - 1) / f->ks;
    /* Samples per register tile of layer 1 (W1's chunk is reloaded once per tile). Measured
     * on lavapipe, 784-8-8-10 b32: 8 is within the noise of 4 but compiles longer, 16 is 3x
     * slower (the tile spills). */
    f->ngrp = 4;
    uint32_t lanes = f->batch > f->s ? f->batch : f->s;
    f->wg = round_up(lanes < 8 ? 8 : lanes, 8);
    uint32_t sgs = info->subgroup_size;
    f->nch = (f->wg + sgs - 1) / sgs;
    f->maxw = 1;
    for (uint32_t l = 1; l <= f->nl; l++)
        if (f->d[l] > f->maxw)
            f->maxw = f->d[l];
    /* Upper block groups: b1, then per upper layer its rows of W and its b, 8 floats each. */
    uint32_t g = (d1 + 7) / 8;
    for (uint32_t l = 2; l <= 4; l++) {
        if (l <= f->nl) {
            f->g_w[l] = g;
            g += f->d[l] * ((f->d[l - 1] + 7) / 8);
            f->g_b[l] = g;
            g += (f->d[l] + 7) / 8;
        } else {
            f->g_w[l] = f->g_b[l] = g;
        }
    }
    f->ng = g;
    uint32_t dp1 = (d1 + 7) / 8;
    f->shared_bytes = 2ull * f->batch * 4 + (uint64_t)f->s * f->batch * dp1 * 32 +
                      (uint64_t)f->batch * dp1 * 32 + f->nch * 4 + 3ull * f->ng * 32 +
                      (uint64_t)f->nch * (f->ng + 1) * 32;
    if (f->shared_bytes > info->properties.limits.maxComputeSharedMemorySize)
        return why(w, ws, "needs %llu bytes of shared memory (the device has %u)",
                   (unsigned long long)f->shared_bytes,
                   info->properties.limits.maxComputeSharedMemorySize);
    if (f->wg > info->properties.limits.maxComputeWorkGroupInvocations)
        return why(w, ws, "needs %u invocations per workgroup", f->wg);
    /* Loop iterations per step: the runtime loops (sample groups x 16-input chunks, twice;
     * parameter groups per lane) plus whatever the compiler leaves rolled. Measured on
     * lavapipe for 784-8-8-10: ~280 per step against 114 for the runtime loops alone, so
     * the estimate is four times the latter (the budget leaves another factor of two). */
    uint32_t kc = f->ks / 16, groups = (f->batch + f->ngrp - 1) / f->ngrp;
    f->iters_per_step = 4 * (2 * (groups + 1) * (kc + 1) + 2 * (f->ng / f->wg + 1) + 32);
    return true;
}

/* The subgroup kernel's shape, from the workgroup kernel's checks of the network (done first,
 * except shared memory, which it does not use, and whose check comes after the shape is
 * filled in); false with the reason when it does not fit. */
static bool sg_shape_of(const nnxr_nn *nn, const nnxr_nn_mlp_desc *d, nnxr_nn_format format,
                        nnxr_nn_format label_format, fused_shape *f, char *w, size_t ws)
{
    char reason[256];
    if (!fused_shape_of(nn, d, format, label_format, f, reason, sizeof reason) &&
        !strstr(reason, "shared memory"))
        return why(w, ws, "%s", reason);
    const nnxr_gpu_info *info = nn->info;
    if (!info->is_cpu)
        return why(w, ws, "not a CPU device (the subgroup kernel is their shape)");
    if (!(info->subgroup_operations & VK_SUBGROUP_FEATURE_BALLOT_BIT))
        return why(w, ws, "the device lacks subgroup ballot (broadcast)");
    uint32_t sgs = info->subgroup_size;
    if (sgs < 1 || sgs > 16 || sgs > info->properties.limits.maxComputeWorkGroupInvocations)
        return why(w, ws, "subgroups of %u invocations", sgs);
    if (d->sizes[0] % 16)
        return why(w, ws, "%u inputs (the subgroup kernel takes multiples of 16)", d->sizes[0]);
    VkFormat fmt = format == NNXR_NN_U8 ? VK_FORMAT_R32G32B32A32_UINT
                                        : VK_FORMAT_R32G32B32A32_SFLOAT;
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(info->physical_device, fmt, &fp);
    if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT))
        return why(w, ws, "the device cannot read its data through a texel buffer");
    for (uint32_t l = 1; l <= d->layers; l++)
        if (d->sizes[l] > 16)
            return why(w, ws, "layer %u has %u units (the subgroup kernel takes up to 16)", l,
                       d->sizes[l]);
    f->ngrp = 8; /* samples per register tile of layer 1 (the kernel takes up to 8) */
    uint32_t kc = d->sizes[0] / 16;
    f->wg = sgs;
    f->cpl = (kc + sgs - 1) / sgs;
    if (f->cpl * d->sizes[1] * 16 > SG_MAX_SLICE)
        return why(w, ws, "a lane's slice of W1 (%u floats) exceeds %u", f->cpl * d->sizes[1] * 16,
                   SG_MAX_SLICE);
    uint64_t np = 0;
    for (uint32_t l = 1; l <= d->layers; l++)
        np += (uint64_t)d->sizes[l] * d->sizes[l - 1] + d->sizes[l];
    f->nu = (uint32_t)(np - (uint64_t)d->sizes[1] * d->sizes[0]);
    /* Loop iterations a step, exactly as the kernel's rolled loops run (every loop over a
     * chunk's units and inputs is unrolled by macro): the batch; layer-1 groups x chunks; per
     * sample of a lane the loops over the upper layers' outputs and inputs; the upper block
     * (reduced and updated); dz1 shared (a pass a sample per lane); W1's chunks x samples / 4.
     * FUSED_ITER_BUDGET keeps a factor of two below the cap (784-8-8-10 b32: this count gives
     * 51 steps a dispatch; measured, 100 stay under the cap and 110 do not). The dispatch's
     * own: loading and writing back the slices and the upper block. */
    uint32_t groups = (f->batch + f->ngrp - 1) / f->ngrp, rpl = (f->batch + sgs - 1) / sgs;
    uint32_t upper = 0;
    for (uint32_t l = 2; l <= d->layers; l++)
        upper += 2 * d->sizes[l] + 2 * d->sizes[l - 1];
    f->iters_per_step = f->batch + groups * (f->cpl + 1) + rpl * (upper + 1) + f->nu + rpl +
                        f->cpl * ((f->batch + 3) / 4 + 1) + 1;
    f->iters_fixed = 2 * f->cpl * (d->sizes[1] + 1) + 3 * f->nu + 8;
    return true;
}

bool nnxr_nn_fused_mlp_supported(const nnxr_nn *nn, const nnxr_nn_mlp_desc *d, char *w,
                                 size_t ws)
{
    fused_shape f;
    if (!nn)
        return why(w, ws, "no nn kernels");
    return fused_shape_of(nn, d, NNXR_NN_U8, NNXR_NN_U8, &f, w, ws) ||
           sg_shape_of(nn, d, NNXR_NN_U8, NNXR_NN_U8, &f, NULL, 0);
}

/* The pipeline of a kernel shape (sg: fused_mlp_sg.comp), from the cache or made and cached;
 * v holds the specialization values, the first spec_count of them used. */
static bool fused_cached(nnxr_nn *nn, bool sg, const uint32_t v[NN_FUSED_SPECS],
                         uint32_t spec_count, const fused_shape *f, nnxr_kernel **out,
                         nnxr_error *err)
{
    for (uint32_t i = 0; i < nn->fused_count; i++)
        if (nn->fused[i].sg == sg &&
            memcmp(nn->fused[i].specs, v, sizeof nn->fused[i].specs) == 0) {
            *out = nn->fused[i].kernel;
            return true;
        }
    /* (Forgetting the oldest shape would need to know it is in no recording: refuse instead.) */
    if (nn->fused_count == NN_FUSED_CACHE)
        return nnxr_fail(err, "nnxr_nn_fused_mlp_steps: more than %d network shapes",
                         NN_FUSED_CACHE);
    nnxr_spec_constant specs[NN_FUSED_SPECS];
    for (uint32_t i = 0; i < spec_count; i++)
        specs[i] = nnxr_spec_u32(i, v[i]);
    const char *shader = sg ? "nn/fused_mlp_sg.comp" : "nn/fused_mlp.comp";
    char name[64];
    snprintf(name, sizeof name, "%s %u-%u-%u-%u b%u", shader, f->d[0], f->d[1], f->d[2], f->d[3],
             f->batch);
    /* Bindings: params, state1, state2, hparams, then the data and outputs (fused_mlp*.comp);
     * the subgroup kernel reads its inputs through two texel views of the data instead. */
    nnxr_kernel_desc d = {.name = name,
                          .shader = shader,
                          .buffer_count = sg ? 11 : 10,
                          .written_mask = 7u | (sg ? 1u << 8 : 1u << 9),
                          .push_size = sizeof(nn_fused_push),
                          .specs = specs,
                          .spec_count = spec_count};
    nnxr_slot_kind kinds[11] = {{0}};
    kinds[9] = (nnxr_slot_kind){NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32G32B32A32_UINT};
    kinds[10] = (nnxr_slot_kind){NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32G32B32A32_SFLOAT};
    nnxr_kernel *k;
    if (!nnxr_kernel_create_typed(nn->gpu, &d, sg ? kinds : NULL, &k, err))
        return nnxr_fail_prefix(err, "nnxr_nn_fused_mlp_steps");
    nn_fused_kernel *e = &nn->fused[nn->fused_count++];
    e->sg = sg;
    memcpy(e->specs, v, sizeof e->specs);
    e->kernel = k;
    *out = k;
    return true;
}

static bool fused_kernel(nnxr_nn *nn, const fused_shape *f, bool vec_w, bool vec_x,
                         nnxr_kernel **out, nnxr_error *err)
{
    uint32_t v[NN_FUSED_SPECS] = {
        f->wg,       f->nl,       f->d[0],     f->d[1],     f->d[2],     f->d[3],
        f->d[4],     f->batch,    f->act,      f->loss,     f->opt,      f->xf32,
        f->ks,       f->s,        f->label_i32, f->nch,     f->maxw,     f->ng,
        f->g_w[2],   f->g_b[2],   f->g_w[3],   f->g_b[3],   f->g_w[4],   f->g_b[4],
        f->ngrp,     vec_w,       vec_x,
    };
    return fused_cached(nn, false, v, NN_FUSED_SPECS, f, out, err);
}

static bool sg_kernel(nnxr_nn *nn, const fused_shape *f, nnxr_kernel **out, nnxr_error *err)
{
    uint32_t v[NN_FUSED_SPECS] = {
        f->wg,   f->nl,  f->d[0], f->d[1],      f->d[2], f->d[3], f->d[4], f->batch,
        f->act,  f->loss, f->opt, f->xf32,      f->label_i32, f->nu, f->cpl, f->ngrp,
    };
    return fused_cached(nn, true, v, 16, f, out, err);
}

static uint64_t mlp_params(const nnxr_nn_mlp_desc *d)
{
    uint64_t n = 0;
    for (uint32_t l = 1; l <= d->layers; l++)
        n += (uint64_t)d->sizes[l] * d->sizes[l - 1] + d->sizes[l];
    return n;
}

bool nnxr_nn_fused_mlp_steps(nnxr_nn_tape *t, const nnxr_nn_fused_args *a, nnxr_error *err)
{
    const char *what = "nnxr_nn_fused_mlp_steps";
    if (!t || !a)
        return nnxr_fail(err, "%s: no %s", what, t ? "arguments" : "tape");
    fused_shape f, fs;
    char reason[256], sg_reason[256];
    if ((unsigned)a->shape > NNXR_NN_FUSED_SUBGROUP)
        return nnxr_fail(err, "%s: shape %d", what, (int)a->shape);
    bool wg_ok = a->shape != NNXR_NN_FUSED_SUBGROUP &&
                 fused_shape_of(t->nn, &a->net, a->format, a->label_format, &f, reason,
                                sizeof reason);
    bool sg_ok = a->shape != NNXR_NN_FUSED_WORKGROUP &&
                 sg_shape_of(t->nn, &a->net, a->format, a->label_format, &fs, sg_reason,
                             sizeof sg_reason);
    if (a->shape == NNXR_NN_FUSED_SUBGROUP && !sg_ok)
        return nnxr_fail(err, "%s: the subgroup kernel cannot run this: %s", what, sg_reason);
    if (!wg_ok && !sg_ok)
        return nnxr_fail(err, "%s: network not supported: %s", what, reason);
    if (a->steps < 1)
        return nnxr_fail(err, "%s: steps is 0", what);
    if (a->count < 1)
        return nnxr_fail(err, "%s: count is 0", what);
    if ((uint64_t)a->count * a->net.batch > UINT32_MAX / 2 ||
        (uint64_t)a->count * a->net.sizes[0] > UINT32_MAX / 2)
        return nnxr_fail(err, "%s: data set of %u samples is too large", what, a->count);
    bool ce = a->net.loss == NNXR_NN_LOSS_CE;
    if (ce && !nn_present(a->labels))
        return nnxr_fail(err, "%s: softmax-CE needs labels", what);
    if (!ce && !nn_present(a->targets))
        return nnxr_fail(err, "%s: MSE needs targets", what);
    bool adam = a->net.opt == NNXR_NN_ADAM;
    uint64_t np = mlp_params(&a->net);
    uint32_t d0 = a->net.sizes[0], dout = a->net.sizes[a->net.layers];
    uint64_t src_elems = a->format == NNXR_NN_U8 ? ((uint64_t)a->count * d0 + 3) / 4
                                                 : (uint64_t)a->count * d0;
    uint64_t lab_elems = a->label_format == NNXR_NN_I32 ? a->count : ((uint64_t)a->count + 3) / 4;
    nnxr_nn_mem none = {0};
    nn_arg args[10] = {
        {"params", a->params, np, false, 0},
        {"state1", a->state1, np, false, 0},
        {"state2", a->state2, np, !adam, 0},
        {"hparams", a->hparams, NNXR_NN_HPARAMS_SIZE / 4, false, 0},
        {"src", a->src, src_elems, false, 0},
        {"index", a->index, a->count, true, 0},
        {"labels", ce ? a->labels : none, lab_elems, true, 0},
        {"mask", ce ? a->mask : none, a->count, true, 0},
        {"targets", ce ? none : a->targets, (uint64_t)a->count * dout, true, 0},
        {"stats", a->stats, NNXR_NN_STATS, true, 0},
    };
    /* The element offset each argument gets from its bound (aligned-down) range start
     * (nn_bind's rule) decides which pipeline the alignment allows. */
    VkDeviceSize al = t->nn->align;
    uint32_t o_p = (uint32_t)((a->params.offset % al) / 4), o_s1 = (uint32_t)((a->state1.offset % al) / 4);
    uint32_t o_s2 = (uint32_t)((a->state2.offset % al) / 4), o_x = (uint32_t)((a->src.offset % al) / 4);
    bool vec_w = d0 % 8 == 0 && o_p % 8 == 0 && o_s1 % 8 == 0 && (!adam || o_s2 % 8 == 0);
    bool vec_x = a->format == NNXR_NN_U8 ? d0 % 16 == 0 && o_x % 4 == 0 : d0 % 8 == 0 && o_x % 8 == 0;
    if (sg_ok && o_x % 4) {
        sg_ok = false;
        snprintf(sg_reason, sizeof sg_reason, "the data starts %u words into its bound range "
                 "(a texel view needs a multiple of 4)", o_x);
        if (a->shape == NNXR_NN_FUSED_SUBGROUP)
            return nnxr_fail(err, "%s: the subgroup kernel cannot run this: %s", what, sg_reason);
        if (!wg_ok)
            return nnxr_fail(err, "%s: network not supported: %s", what, reason);
    }
    nnxr_kernel *k;
    nnxr_binding *b;
    uint32_t offs[11];
    if (sg_ok) {
        f = fs;
        nn_arg sargs[11] = {
            args[0], args[1], args[2], args[3], args[5], args[6], args[7], args[8], args[9],
            {"src (pixels)", a->src, src_elems, false, 16},
            {"src (floats)", a->src, src_elems, false, 16},
        };
        uint32_t so[11];
        if (!sg_kernel(t->nn, &f, &k, err) ||
            !nn_bind_kernel(t, k, 0, 0, what, sargs, 11, &k, &b, so, err))
            return false;
        /* The push constants name the arguments in the workgroup kernel's order. */
        const int from[10] = {0, 1, 2, 3, 9, 4, 5, 6, 7, 8};
        for (int i = 0; i < 10; i++)
            offs[i] = so[from[i]];
    } else if (!fused_kernel(t->nn, &f, vec_w, vec_x, &k, err) ||
               !nn_bind_kernel(t, k, 0, 0, what, args, 10, &k, &b, offs, err)) {
        return false;
    }
    float scale = a->scale != 0.0f ? a->scale : a->format == NNXR_NN_U8 ? 1.0f / 255.0f : 1.0f;
    nn_fused_push p = {.count = a->count,
                       .flags = (nn_present(a->index) ? NN_FUSED_INDEX : 0u) |
                                (ce && nn_present(a->mask) ? NN_FUSED_MASK : 0u) |
                                (nn_present(a->stats) ? NN_FUSED_STATS : 0u),
                       .scale = scale,
                       .offset = a->offset,
                       .p_off = offs[0],
                       .s1_off = offs[1],
                       .s2_off = offs[2],
                       .hp_off = offs[3],
                       .src_off = offs[4],
                       .index_off = offs[5],
                       .labels_off = offs[6],
                       .mask_off = offs[7],
                       .targets_off = offs[8],
                       .stats_off = offs[9]};
    uint32_t budget = FUSED_ITER_BUDGET - (sg_ok ? f.iters_fixed : 0u);
    if (sg_ok && f.iters_fixed >= FUSED_ITER_BUDGET / 2)
        budget = FUSED_ITER_BUDGET / 2;
    uint32_t per = budget / f.iters_per_step;
    if (per < 1)
        per = 1;
    for (uint32_t done = 0; done < a->steps;) {
        uint32_t n = a->steps - done < per ? a->steps - done : per;
        p.step_first = t->step + done;
        p.steps = n;
        if (!nn_dispatch(t, k, b, &p, sizeof p, 1, 1, 1, err))
            return false;
        done += n;
    }
    t->step += a->steps;
    return true;
}
