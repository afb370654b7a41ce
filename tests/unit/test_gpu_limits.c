/* tests/unit/test_gpu_limits.c — what the runtime refuses, and sub-ranges: buffers beyond the
 * device's limits, bindings with a missing slot or a bad range, kernels with bad SPIR-V or
 * parameters, dispatches with wrong arguments; a kernel bound to a sub-range writes exactly
 * there; a uniform-buffer binding reads exactly its window and is refused outside the
 * uniform limits; host and readback buffers are mapped; copies, fills and updates land where
 * asked. */
#include "test_gpu_util.h"

#include <math.h>

static void buffers(nnxr_gpu *gpu)
{
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    const VkPhysicalDeviceLimits *lim = &info->properties.limits;
    nnxr_error err;
    nnxr_buffer *b = NULL;
    nnxr_buffer_desc d = {.name = "empty", .kind = NNXR_BUFFER_DEVICE, .size = 0};
    CHECK(!nnxr_buffer_create(gpu, &d, &b, &err) && b == NULL);
    CHECK_CONTAINS(err.message, "\"empty\"");
    CHECK_CONTAINS(err.message, "size is 0");

    d = (nnxr_buffer_desc){.name = "huge", .kind = NNXR_BUFFER_DEVICE,
                           .size = info->max_memory_allocation_size + 1, .split_binding = true};
    CHECK(!nnxr_buffer_create(gpu, &d, &b, &err));
    CHECK_CONTAINS(err.message, "maxMemoryAllocationSize");

    VkDeviceSize big = (VkDeviceSize)lim->maxStorageBufferRange + 256;
    d = (nnxr_buffer_desc){.name = "big", .kind = NNXR_BUFFER_DEVICE, .size = big};
    CHECK(!nnxr_buffer_create(gpu, &d, &b, &err));
    CHECK_CONTAINS(err.message, "\"big\"");
    CHECK_CONTAINS(err.message, "maxStorageBufferRange");

    /* Allowed with split_binding, if the device can allocate it; then only sub-ranges bind. */
    if (big <= info->max_memory_allocation_size && big <= ((VkDeviceSize)1 << 31)) {
        d.split_binding = true;
        if (nnxr_buffer_create(gpu, &d, &b, &err)) {
            nnxr_kernel *k = NULL;
            nnxr_kernel_desc kd = {.shader = "test/saxpy.comp", .buffer_count = 2,
                                   .written_mask = 2, .push_size = 8};
            TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
            nnxr_binding *bind = NULL;
            nnxr_buffer_slot whole[2] = {{b, 0, 0}, {b, 0, 256}};
            CHECK(!nnxr_binding_create(gpu, k, whole, 2, &bind, &err));
            CHECK_CONTAINS(err.message, "slot 0");
            CHECK_CONTAINS(err.message, "exceed maxStorageBufferRange");
            VkDeviceSize tail = big - lim->maxStorageBufferRange; /* 256, aligned */
            nnxr_buffer_slot parts[2] = {{b, 0, lim->maxStorageBufferRange}, {b, tail, 0}};
            if (tail % lim->minStorageBufferOffsetAlignment == 0)
                TG_OK(nnxr_binding_create(gpu, k, parts, 2, &bind, &e_));
            nnxr_binding_destroy(gpu, bind);
            nnxr_kernel_destroy(gpu, k);
            nnxr_buffer_destroy(gpu, b);
        } else {
            printf("split buffer of %llu bytes not allocated here: %s\n",
                   (unsigned long long)big, err.message);
        }
    }

    /* Out-of-range transfers. */
    b = tg_buffer(gpu, "small", NNXR_BUFFER_DEVICE, 64);
    char data[128] = {0};
    CHECK(!nnxr_buffer_upload(gpu, b, 32, data, 64, &err));
    CHECK_CONTAINS(err.message, "outside its 64 bytes");
    CHECK(!nnxr_buffer_readback(gpu, b, 65, data, 1, &err));
    CHECK_CONTAINS(err.message, "\"small\"");
    nnxr_buffer_destroy(gpu, b);
}

static void kernels_and_bindings(nnxr_gpu *gpu)
{
    const VkPhysicalDeviceLimits *lim = &nnxr_gpu_get_info(gpu)->properties.limits;
    nnxr_error err;
    nnxr_kernel *k = NULL;
    nnxr_kernel_desc kd = {.shader = "test/no_such.comp", .buffer_count = 1};
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err) && k == NULL);
    CHECK_CONTAINS(err.message, "no embedded shader \"test/no_such.comp\"");

    uint32_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    kd = (nnxr_kernel_desc){.name = "junk", .code = junk, .code_size = sizeof junk};
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err));
    CHECK_CONTAINS(err.message, "not SPIR-V");
    kd.code_size = 6;
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err));
    CHECK_CONTAINS(err.message, "multiple of 4");

    kd = (nnxr_kernel_desc){.shader = "test/saxpy.comp", .entry = "start", .buffer_count = 2,
                            .written_mask = 2, .push_size = 8};
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err));
    CHECK_CONTAINS(err.message, "no compute entry point \"start\"");
    kd.entry = NULL;
    kd.push_size = 6;
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err));
    CHECK_CONTAINS(err.message, "push constants of 6 bytes");
    kd.push_size = 8;
    kd.written_mask = 4;
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err));
    CHECK_CONTAINS(err.message, "written_mask");
    kd.written_mask = 2;
    nnxr_spec_constant twice[2] = {nnxr_spec_u32(3, 1), nnxr_spec_u32(3, 2)};
    kd.specs = twice;
    kd.spec_count = 2;
    CHECK(!nnxr_kernel_create(gpu, &kd, &k, &err));
    CHECK_CONTAINS(err.message, "constant 3 given twice");
    kd.specs = NULL;
    kd.spec_count = 0;
    TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
    CHECK(strcmp(nnxr_kernel_name(k), "test/saxpy.comp") == 0);

    nnxr_buffer *x = tg_buffer(gpu, "x", NNXR_BUFFER_DEVICE, 1024);
    nnxr_binding *b = NULL;
    nnxr_buffer_slot missing[2] = {{x, 0, 0}, {NULL, 0, 0}};
    CHECK(!nnxr_binding_create(gpu, k, missing, 2, &b, &err) && b == NULL);
    CHECK_CONTAINS(err.message, "slot 1 has no buffer");
    CHECK(!nnxr_binding_create(gpu, k, missing, 1, &b, &err));
    CHECK_CONTAINS(err.message, "1 buffers given, the kernel has 2");
    nnxr_buffer_slot outside[2] = {{x, 0, 0}, {x, 512, 1024}};
    CHECK(!nnxr_binding_create(gpu, k, outside, 2, &b, &err));
    CHECK_CONTAINS(err.message, "lies outside buffer \"x\"");
    if (lim->minStorageBufferOffsetAlignment > 4) {
        nnxr_buffer_slot odd[2] = {{x, 0, 0}, {x, 4, 0}};
        CHECK(!nnxr_binding_create(gpu, k, odd, 2, &b, &err));
        CHECK_CONTAINS(err.message, "minStorageBufferOffsetAlignment");
    }
    nnxr_buffer_slot ok[2] = {{x, 0, 512}, {x, 512, 0}};
    TG_OK(nnxr_binding_create(gpu, k, ok, 2, &b, &e_));

    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    uint32_t push[2] = {4, 0};
    CHECK(!nnxr_recorder_dispatch(rec, k, NULL, push, 8, 1, 1, 1, &err));
    CHECK_CONTAINS(err.message, "no binding");
    CHECK(!nnxr_recorder_dispatch(rec, k, b, push, 4, 1, 1, 1, &err));
    CHECK_CONTAINS(err.message, "4 bytes of push constants given, it takes 8");
    if (lim->maxComputeWorkGroupCount[0] < UINT32_MAX) {
        CHECK(!nnxr_recorder_dispatch(rec, k, b, push, 8, lim->maxComputeWorkGroupCount[0] + 1u,
                                      1, 1, &err));
        CHECK_CONTAINS(err.message, "maxComputeWorkGroupCount");
    }
    TG_OK(nnxr_recorder_dispatch(rec, k, b, push, 8, 0, 1, 1, &e_)); /* nothing to do */
    TG_OK(nnxr_recorder_run(rec, &e_));
    nnxr_recorder_destroy(rec);
    nnxr_binding_destroy(gpu, b);
    nnxr_buffer_destroy(gpu, x);
    nnxr_kernel_destroy(gpu, k);
}

/* spec_push bound to sub-ranges of one buffer writes exactly into them; host/readback kinds,
 * copy, fill and update. */
static void subranges_and_transfers(nnxr_gpu *gpu)
{
    const VkPhysicalDeviceLimits *lim = &nnxr_gpu_get_info(gpu)->properties.limits;
    VkDeviceSize align = lim->minStorageBufferOffsetAlignment;
    if (align < 4)
        align = 4;
    const uint32_t n = 100;
    /* Gaps of one alignment unit around each sub-range hold sentinels. */
    VkDeviceSize off_u = align * 3, off_f = off_u + ((n * 4 + align - 1) / align + 1) * align;
    VkDeviceSize total = off_f + n * 4 + 64;
    nnxr_buffer *buf = tg_buffer(gpu, "shared", NNXR_BUFFER_DEVICE, total);
    nnxr_buffer *host = tg_buffer(gpu, "host", NNXR_BUFFER_HOST, total);
    nnxr_buffer *back = tg_buffer(gpu, "back", NNXR_BUFFER_READBACK, total);
    CHECK(host->mapped != NULL && back->mapped != NULL);
    /* Sentinel everywhere, from the host side of a host buffer. */
    memset(host->mapped, 0x5a, total);

    nnxr_kernel *k = NULL;
    nnxr_kernel_desc kd = {.shader = "test/spec_push.comp", .buffer_count = 2, .written_mask = 3,
                           .push_size = 12};
    TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
    nnxr_binding *b = NULL;
    nnxr_buffer_slot slots[2] = {{buf, off_u, n * 4}, {buf, off_f, n * 4}};
    TG_OK(nnxr_binding_create(gpu, k, slots, 2, &b, &e_));

    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    TG_OK(nnxr_recorder_copy(rec, host, 0, buf, 0, total, &e_));
    struct {
        uint32_t n, add;
        float bias;
    } push = {n, 1000, 0.5f};
    TG_OK(nnxr_recorder_dispatch(rec, k, b, &push, sizeof push, 2, 1, 1, &e_));
    uint32_t words[2] = {0xdeadbeefu, 0xfeedfaceu};
    TG_OK(nnxr_recorder_update(rec, buf, 0, words, 8, &e_));
    TG_OK(nnxr_recorder_fill(rec, buf, total - 8, VK_WHOLE_SIZE, 0x01020304u, &e_));
    TG_OK(nnxr_recorder_copy(rec, buf, 0, back, 0, total, &e_));
    nnxr_error err;
    CHECK(!nnxr_recorder_copy(rec, buf, 0, buf, 4, 16, &err));
    CHECK_CONTAINS(err.message, "overlap");
    CHECK(!nnxr_recorder_fill(rec, buf, 2, 4, 0, &err));
    CHECK_CONTAINS(err.message, "multiples of 4");
    TG_OK(nnxr_recorder_run(rec, &e_));

    const unsigned char *m = back->mapped;
    uint32_t w0, w1, last;
    memcpy(&w0, m, 4);
    memcpy(&w1, m + 4, 4);
    memcpy(&last, m + total - 4, 4);
    CHECK(w0 == 0xdeadbeefu && w1 == 0xfeedfaceu && last == 0x01020304u);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t u;
        float f;
        memcpy(&u, m + off_u + 4 * i, 4);
        memcpy(&f, m + off_f + 4 * i, 4);
        bad += u != i + 1000 || f != (float)i + 0.5f;
    }
    CHECKF(bad == 0, "%u values wrong in the sub-ranges", bad);
    /* Just outside the sub-ranges: untouched sentinels. */
    CHECK(m[off_u - 1] == 0x5a && m[off_u + n * 4] == 0x5a && m[off_f - 1] == 0x5a &&
          m[off_f + n * 4] == 0x5a);

    nnxr_recorder_destroy(rec);
    nnxr_binding_destroy(gpu, b);
    nnxr_kernel_destroy(gpu, k);
    nnxr_buffer_destroy(gpu, buf);
    nnxr_buffer_destroy(gpu, host);
    nnxr_buffer_destroy(gpu, back);
}

/* Records one dispatch of k over n invocations (64 a workgroup, push constant n), runs it and
 * waits. */
static void run_once(nnxr_gpu *gpu, nnxr_kernel *k, nnxr_binding *b, uint32_t n)
{
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    TG_OK(nnxr_recorder_dispatch(rec, k, b, &n, 4, (n + 63) / 64, 1, 1, &e_));
    TG_OK(nnxr_recorder_run(rec, &e_));
    TG_OK(nnxr_recorder_wait(rec, &e_));
    nnxr_recorder_destroy(rec);
}

/* Kernels with uniform-buffer bindings: what is refused, and a window at an offset reads
 * exactly [offset, offset + range). */
static void uniform_windows(nnxr_gpu *gpu)
{
    const VkPhysicalDeviceLimits *lim = &nnxr_gpu_get_info(gpu)->properties.limits;
    nnxr_error err;
    nnxr_kernel *k = NULL;
    const uint32_t win = 96, n = 96;
    nnxr_spec_constant spec = nnxr_spec_u32(0, win);
    nnxr_kernel_desc kd = {.shader = "test/window.comp", .buffer_count = 2, .written_mask = 2,
                           .push_size = 4, .specs = &spec, .spec_count = 1};
    CHECK(!nnxr_kernel_create_uniform(gpu, &kd, 4u, &k, &err));
    CHECK_CONTAINS(err.message, "uniform_mask 0x4");
    CHECK(!nnxr_kernel_create_uniform(gpu, &kd, 3u, &k, &err));
    CHECK_CONTAINS(err.message, "uniform buffer and written");
    TG_OK(nnxr_kernel_create_uniform(gpu, &kd, 1u, &k, &e_));

    /* The data: 4 windows' worth of vec4s; the kernel reads the third (at 2·win vec4s). */
    uint32_t total = 4 * win;
    float *host = tg_alloc(sizeof(float) * 4 * total), *got = tg_alloc(sizeof(float) * n);
    uint32_t seed = 7;
    for (uint32_t i = 0; i < 4 * total; i++)
        host[i] = tg_uniform(&seed) * 4.0f - 2.0f;
    nnxr_buffer_desc bd = {.name = "vecs", .kind = NNXR_BUFFER_DEVICE,
                           .size = (VkDeviceSize)total * 16u,
                           .usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT};
    nnxr_buffer *vecs = NULL, *plain = tg_buffer(gpu, "plain", NNXR_BUFFER_DEVICE, total * 16u);
    TG_OK(nnxr_buffer_create(gpu, &bd, &vecs, &e_));
    TG_OK(nnxr_buffer_upload(gpu, vecs, 0, host, (VkDeviceSize)total * 16u, &e_));
    nnxr_buffer *out = tg_buffer(gpu, "out", NNXR_BUFFER_DEVICE, n * 4u);

    nnxr_binding *b = NULL;
    nnxr_buffer_slot no_usage[2] = {{plain, 0, win * 16u}, {out, 0, 0}};
    CHECK(!nnxr_binding_create(gpu, k, no_usage, 2, &b, &err) && b == NULL);
    CHECK_CONTAINS(err.message, "lacks uniform usage");
    if (lim->minUniformBufferOffsetAlignment > 4) {
        nnxr_buffer_slot odd[2] = {{vecs, 4, win * 16u}, {out, 0, 0}};
        CHECK(!nnxr_binding_create(gpu, k, odd, 2, &b, &err));
        CHECK_CONTAINS(err.message, "minUniformBufferOffsetAlignment");
    }
    if ((VkDeviceSize)total * 16u > lim->maxUniformBufferRange) {
        nnxr_buffer_slot whole[2] = {{vecs, 0, 0}, {out, 0, 0}};
        CHECK(!nnxr_binding_create(gpu, k, whole, 2, &b, &err));
        CHECK_CONTAINS(err.message, "exceed maxUniformBufferRange");
    }
    VkDeviceSize align =
        lim->minUniformBufferOffsetAlignment ? lim->minUniformBufferOffsetAlignment : 1;
    VkDeviceSize off = (VkDeviceSize)2 * win * 16u;
    if (off % align == 0) {
        nnxr_buffer_slot ok[2] = {{vecs, off, win * 16u}, {out, 0, 0}};
        TG_OK(nnxr_binding_create(gpu, k, ok, 2, &b, &e_));
        run_once(gpu, k, b, n);
        TG_OK(nnxr_buffer_readback(gpu, out, 0, got, n * 4u, &e_));
        uint32_t wrong = 0;
        for (uint32_t i = 0; i < n; i++) {
            const float *v = host + 4 * (2 * win + i);
            float want = 2.0f * v[0] + v[1] + v[2] * v[3];
            if (fabsf(got[i] - want) > 1e-5f * (1.0f + fabsf(want)))
                wrong++;
        }
        CHECK(wrong == 0);
        if (wrong)
            printf("uniform window: %u of %u values wrong\n", wrong, n);
    }
    nnxr_binding_destroy(gpu, b);
    nnxr_kernel_destroy(gpu, k);
    nnxr_buffer_destroy(gpu, vecs);
    nnxr_buffer_destroy(gpu, plain);
    nnxr_buffer_destroy(gpu, out);
    free(host);
    free(got);
}

/* Kernels with texel-buffer slots (nnxr_kernel_create_typed): what is refused, and views at
 * an offset read and write exactly their texels. */
static void texel_views(nnxr_gpu *gpu)
{
    const VkPhysicalDeviceLimits *lim = &nnxr_gpu_get_info(gpu)->properties.limits;
    nnxr_error err;
    nnxr_kernel *k = NULL;
    const uint32_t n = 200;
    nnxr_kernel_desc kd = {.shader = "test/texel.comp", .buffer_count = 3, .written_mask = 6,
                           .push_size = 4};
    nnxr_slot_kind bad_rw[3] = {{NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R8_UINT},
                                {NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R32G32B32A32_SFLOAT},
                                {NNXR_SLOT_STORAGE, 0}};
    CHECK(!nnxr_kernel_create_typed(gpu, &kd, bad_rw, &k, &err) && k == NULL);
    CHECK_CONTAINS(err.message, "slot 1 is a read-only uniform texel buffer and written");
    nnxr_slot_kind bad_fmt[3] = {{NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R8G8B8_SRGB},
                                 {NNXR_SLOT_STORAGE_TEXEL, VK_FORMAT_R32G32B32A32_SFLOAT},
                                 {NNXR_SLOT_STORAGE, 0}};
    CHECK(!nnxr_kernel_create_typed(gpu, &kd, bad_fmt, &k, &err));
    CHECK_CONTAINS(err.message, "slot 0: texel format");
    nnxr_slot_kind kinds[3] = {{NNXR_SLOT_UNIFORM_TEXEL, VK_FORMAT_R8_UINT},
                               {NNXR_SLOT_STORAGE_TEXEL, VK_FORMAT_R32G32B32A32_SFLOAT},
                               {NNXR_SLOT_STORAGE, 0}};
    TG_OK(nnxr_kernel_create_typed(gpu, &kd, kinds, &k, &e_));

    /* Views start at a whole multiple of the alignment, past a guard region. */
    VkDeviceSize align = lim->minTexelBufferOffsetAlignment ? lim->minTexelBufferOffsetAlignment : 1;
    VkDeviceSize guard = align < 64 ? 64 : align;
    uint8_t *bytes = tg_alloc(guard + n + guard);
    float *vecs = tg_alloc(guard + 16 * n + guard), *got = tg_alloc(4 * n);
    float *after = tg_alloc(guard + 16 * n + guard);
    uint32_t seed = 11;
    for (VkDeviceSize i = 0; i < guard + n + guard; i++)
        bytes[i] = (uint8_t)(tg_rand(&seed) & 255);
    uint32_t nf = (uint32_t)((guard + 16 * n + guard) / 4);
    for (uint32_t i = 0; i < nf; i++)
        vecs[i] = (float)(tg_rand(&seed) % 1000) / 64.0f;
    nnxr_buffer *bb = tg_buffer(gpu, "bytes", NNXR_BUFFER_DEVICE, guard + n + guard);
    nnxr_buffer *vb = tg_buffer(gpu, "vecs", NNXR_BUFFER_DEVICE, guard + 16 * n + guard);
    nnxr_buffer *out = tg_buffer(gpu, "out", NNXR_BUFFER_DEVICE, 4 * n);
    TG_OK(nnxr_buffer_upload(gpu, bb, 0, bytes, guard + n + guard, &e_));
    TG_OK(nnxr_buffer_upload(gpu, vb, 0, vecs, guard + 16 * n + guard, &e_));

    nnxr_binding *b = NULL;
    if (align > 1) {
        nnxr_buffer_slot odd[3] = {{bb, guard + 1, n}, {vb, guard, 16 * n}, {out, 0, 0}};
        CHECK(!nnxr_binding_create(gpu, k, odd, 3, &b, &err) && b == NULL);
        CHECK_CONTAINS(err.message, "minTexelBufferOffsetAlignment");
    }
    nnxr_buffer_slot torn[3] = {{bb, guard, n}, {vb, guard, 16 * n - 4}, {out, 0, 0}};
    CHECK(!nnxr_binding_create(gpu, k, torn, 3, &b, &err) && b == NULL);
    CHECK_CONTAINS(err.message, "whole number of 16-byte texels");

    nnxr_buffer_slot ok[3] = {{bb, guard, n}, {vb, guard, 16 * n}, {out, 0, 0}};
    TG_OK(nnxr_binding_create(gpu, k, ok, 3, &b, &e_));
    run_once(gpu, k, b, n);
    TG_OK(nnxr_buffer_readback(gpu, out, 0, got, 4 * n, &e_));
    TG_OK(nnxr_buffer_readback(gpu, vb, 0, after, guard + 16 * n + guard, &e_));
    uint32_t wrong = 0, moved = 0;
    const float *v0 = vecs + guard / 4, *v1 = after + guard / 4;
    for (uint32_t i = 0; i < n; i++) {
        const float *v = v0 + 4 * i;
        float want = (float)bytes[guard + i] + 1000.0f * (v[0] + v[1] + v[2] + v[3]);
        wrong += got[i] != want;
        for (int c = 0; c < 4; c++)
            moved += v1[4 * i + c] != 2.0f * v[c];
    }
    uint32_t outside = 0;
    for (uint32_t i = 0; i < guard / 4; i++)
        outside += after[i] != vecs[i] || after[nf - 1 - i] != vecs[nf - 1 - i];
    CHECKF(wrong == 0, "%u of %u texel reads wrong", wrong, n);
    CHECKF(moved == 0, "%u of %u texel writes wrong", moved, 4 * n);
    CHECKF(outside == 0, "%u floats outside the view changed", outside);

    nnxr_binding_destroy(gpu, b);
    nnxr_kernel_destroy(gpu, k);
    nnxr_buffer_destroy(gpu, bb);
    nnxr_buffer_destroy(gpu, vb);
    nnxr_buffer_destroy(gpu, out);
    free(bytes);
    free(vecs);
    free(got);
    free(after);
}

int main(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    buffers(gpu);
    kernels_and_bindings(gpu);
    subranges_and_transfers(gpu);
    uniform_windows(gpu);
    texel_views(gpu);
    tg_close(gpu);
    /* The same through the staged path. */
    gpu = tg_open((nnxr_gpu_options){.force_staging = true});
    subranges_and_transfers(gpu);
    tg_close(gpu);
    return check_finish();
}
