/* sim/entropy.c — the per-point entropy kernel (sim/entropy.h): its output buffer, binding
 * to wherever the probabilities live, and recording. */
#include "sim/entropy.h"

#include <stdlib.h>

#include "core/status.h"

#define MAX_CLASSES 64u

struct entropy_push {          /* Push in shaders/sim/entropy.comp */
    uint32_t n, classes, first;
};

struct nnxr_entropy {
    nnxr_gpu *gpu;
    uint32_t n, classes;
    uint32_t first;            /* float offset of row 0 in the bound buffer */
    nnxr_buffer *out;
    nnxr_kernel *kernel;
    nnxr_binding *binding;
};

bool nnxr_entropy_create(nnxr_gpu *gpu, uint32_t n, uint32_t classes, nnxr_entropy **out,
                         nnxr_error *err)
{
    *out = NULL;
    if (n == 0 || classes == 0 || classes > MAX_CLASSES)
        return nnxr_fail(err, "entropy: %u points of %u classes, expected n >= 1 and 1 .. %u "
                         "classes", n, classes, MAX_CLASSES);
    nnxr_entropy *e = calloc(1, sizeof *e);
    if (!e)
        return nnxr_fail(err, "entropy: out of memory");
    e->gpu = gpu;
    e->n = n;
    e->classes = classes;
    nnxr_buffer_desc bd = {.name = "cloud.entropy", .kind = NNXR_BUFFER_DEVICE,
                           .size = (VkDeviceSize)n * 4u};
    nnxr_kernel_desc kd = {.shader = "sim/entropy.comp", .buffer_count = 2,
                           .written_mask = 1u << 1, .push_size = sizeof(struct entropy_push)};
    if (!nnxr_buffer_create(gpu, &bd, &e->out, err) ||
        !nnxr_kernel_create(gpu, &kd, &e->kernel, err)) {
        nnxr_entropy_destroy(e);
        return nnxr_fail_prefix(err, "entropy");
    }
    *out = e;
    return true;
}

void nnxr_entropy_destroy(nnxr_entropy *e)
{
    if (!e)
        return;
    nnxr_binding_destroy(e->gpu, e->binding);
    nnxr_kernel_destroy(e->gpu, e->kernel);
    nnxr_buffer_destroy(e->gpu, e->out);
    free(e);
}

bool nnxr_entropy_bind(nnxr_entropy *e, const nnxr_buffer *probs, VkDeviceSize offset,
                       nnxr_error *err)
{
    VkDeviceSize need = (VkDeviceSize)e->n * e->classes * 4u;
    if (!probs)
        return nnxr_fail(err, "entropy: no probability buffer");
    if (offset % 4 || offset > probs->size || probs->size - offset < need)
        return nnxr_fail(err, "entropy: buffer '%s' of %llu bytes cannot hold %u x %u "
                         "probabilities at byte %llu", probs->name,
                         (unsigned long long)probs->size, e->n, e->classes,
                         (unsigned long long)offset);
    if (offset / 4 > UINT32_MAX - need / 4)
        return nnxr_fail(err, "entropy: offset %llu is beyond 32-bit indexing",
                         (unsigned long long)offset);
    if (e->binding) {
        if (!nnxr_gpu_wait_idle(e->gpu, err))
            return false;
        nnxr_binding_destroy(e->gpu, e->binding);
        e->binding = NULL;
    }
    nnxr_buffer_slot slots[2] = {{probs, 0, 0}, {e->out, 0, 0}};
    if (!nnxr_binding_create(e->gpu, e->kernel, slots, 2, &e->binding, err))
        return nnxr_fail_prefix(err, "entropy");
    e->first = (uint32_t)(offset / 4);
    return true;
}

bool nnxr_entropy_record(nnxr_entropy *e, nnxr_recorder *rec, nnxr_error *err)
{
    if (!e->binding)
        return nnxr_fail(err, "entropy: no probabilities bound (nnxr_entropy_bind)");
    struct entropy_push p = {e->n, e->classes, e->first};
    if (!nnxr_recorder_dispatch(rec, e->kernel, e->binding, &p, sizeof p, (e->n + 63) / 64, 1,
                                1, err))
        return nnxr_fail_prefix(err, "entropy");
    return true;
}

const nnxr_buffer *nnxr_entropy_buffer(const nnxr_entropy *e) { return e->out; }
