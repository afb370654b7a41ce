/* gpu/recorder.c — a command buffer that records dispatches, copies and fills and places the
 * barriers between them itself, from the buffer ranges each command reads and writes; plus its
 * fence (submit now, wait later, replay) and its timestamp marks.
 *
 * Barrier rule: since the last barrier we remember the ranges written and the ranges read. A
 * command that reads or writes a written range (read-after-write, write-after-write), or
 * writes a read range (write-after-read), gets a global memory barrier first, and the lists
 * start over. A global barrier costs the same as a per-buffer one on the drivers we know and
 * cannot miss an aliasing range. */
#include "gpu/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define MARK_NAME_MAX 48
#define FENCE_TIMEOUT_NS (600ull * 1000 * 1000 * 1000)

typedef struct range {
    VkBuffer buffer;
    VkDeviceSize begin, end;
} range;

typedef struct range_list {
    range *items;
    uint32_t count, cap;
} range_list;

typedef enum rec_state { REC_IDLE, REC_RECORDING, REC_ENDED } rec_state;

struct nnxr_recorder {
    nnxr_gpu *gpu;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkFence fence;
    VkQueryPool queries;
    uint32_t max_marks;
    uint32_t mark_count;          /* marks recorded */
    char (*mark_names)[MARK_NAME_MAX];
    double *mark_ns;              /* results of the last completed submission */
    uint32_t results;             /* how many of mark_ns are valid */
    rec_state state;
    bool pending;                 /* submitted, fence not yet waited */
    bool tracking;
    bool external;                /* the next command needs a full barrier */
    range_list written, read;
};

/* ---- range lists ----------------------------------------------------------------------------- */

static bool overlaps(const range_list *l, const range *r)
{
    for (uint32_t i = 0; i < l->count; i++) {
        const range *x = &l->items[i];
        if (x->buffer == r->buffer && x->begin < r->end && r->begin < x->end)
            return true;
    }
    return false;
}

static bool push_range(range_list *l, const range *r, nnxr_error *err)
{
    for (uint32_t i = 0; i < l->count; i++) {
        range *x = &l->items[i];
        if (x->buffer == r->buffer && x->begin <= r->begin && r->end <= x->end)
            return true; /* already covered */
    }
    if (l->count == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 16;
        range *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return nnxr_fail(err, "recorder: out of memory tracking buffers");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = *r;
    return true;
}

/* ---- barriers ------------------------------------------------------------------------------- */

static void barrier_full(VkCommandBuffer cmd)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

static void reset_tracking(nnxr_recorder *rec)
{
    rec->written.count = 0;
    rec->read.count = 0;
}

void nnxr_recorder_barrier(nnxr_recorder *rec)
{
    if (rec->state != REC_RECORDING)
        return;
    if (rec->external)
        barrier_full(rec->cmd);
    else
        nnxr_gpu_cmd_barrier(rec->cmd);
    rec->external = false;
    reset_tracking(rec);
}

void nnxr_recorder_external(nnxr_recorder *rec) { rec->external = true; }

void nnxr_recorder_set_tracking(nnxr_recorder *rec, bool on) { rec->tracking = on; }

/* Places a barrier if any access conflicts with what came since the last one, then records the
 * accesses. */
static bool track(nnxr_recorder *rec, const range *acc, const bool *writes, uint32_t n,
                  nnxr_error *err)
{
    if (rec->external) {
        nnxr_recorder_barrier(rec);
    } else if (rec->tracking) {
        bool hazard = false;
        for (uint32_t i = 0; i < n && !hazard; i++)
            hazard = overlaps(&rec->written, &acc[i]) ||
                     (writes[i] && overlaps(&rec->read, &acc[i]));
        if (hazard)
            nnxr_recorder_barrier(rec);
    }
    if (!rec->tracking)
        return true;
    for (uint32_t i = 0; i < n; i++)
        if (!push_range(writes[i] ? &rec->written : &rec->read, &acc[i], err))
            return false;
    return true;
}

static bool check_recording(const nnxr_recorder *rec, const char *what, nnxr_error *err)
{
    if (rec->state != REC_RECORDING)
        return nnxr_fail(err, "recorder: %s outside a recording (call nnxr_recorder_begin)",
                         what);
    return true;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

bool nnxr_recorder_create(nnxr_gpu *gpu, uint32_t max_marks, nnxr_recorder **out,
                          nnxr_error *err)
{
    *out = NULL;
    nnxr_recorder *rec = calloc(1, sizeof *rec);
    if (!rec)
        return nnxr_fail(err, "recorder: out of memory");
    rec->gpu = gpu;
    rec->tracking = true;
    VkDevice dev = gpu->info.device;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = gpu->info.queue_family};
    VkResult res = vkCreateCommandPool(dev, &pci, NULL, &rec->pool);
    const char *step = "vkCreateCommandPool";
    if (res == VK_SUCCESS) {
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = rec->pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                          .commandBufferCount = 1};
        step = "vkAllocateCommandBuffers";
        res = vkAllocateCommandBuffers(dev, &ai, &rec->cmd);
    } else {
        rec->pool = VK_NULL_HANDLE;
    }
    if (res == VK_SUCCESS) {
        VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        step = "vkCreateFence";
        res = vkCreateFence(dev, &fci, NULL, &rec->fence);
        if (res != VK_SUCCESS)
            rec->fence = VK_NULL_HANDLE;
    }
    if (res == VK_SUCCESS && max_marks && gpu->info.timestamps) {
        VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                     .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                     .queryCount = max_marks};
        step = "vkCreateQueryPool";
        res = vkCreateQueryPool(dev, &qci, NULL, &rec->queries);
        if (res != VK_SUCCESS)
            rec->queries = VK_NULL_HANDLE;
    }
    rec->max_marks = max_marks;
    if (res == VK_SUCCESS && max_marks) {
        rec->mark_names = calloc(max_marks, sizeof *rec->mark_names);
        rec->mark_ns = calloc(max_marks, sizeof *rec->mark_ns);
        if (!rec->mark_names || !rec->mark_ns) {
            nnxr_recorder_destroy(rec);
            return nnxr_fail(err, "recorder: out of memory for %u marks", max_marks);
        }
    }
    if (res != VK_SUCCESS) {
        nnxr_recorder_destroy(rec);
        return nnxr_fail(err, "recorder: %s failed: %s", step, nnxr_vk_result_name(res));
    }
    *out = rec;
    return true;
}

void nnxr_recorder_destroy(nnxr_recorder *rec)
{
    if (!rec)
        return;
    VkDevice dev = rec->gpu->info.device;
    if (rec->pending)
        vkWaitForFences(dev, 1, &rec->fence, VK_TRUE, FENCE_TIMEOUT_NS);
    if (rec->queries)
        vkDestroyQueryPool(dev, rec->queries, NULL);
    if (rec->fence)
        vkDestroyFence(dev, rec->fence, NULL);
    if (rec->pool)
        vkDestroyCommandPool(dev, rec->pool, NULL); /* frees the command buffer */
    free(rec->mark_names);
    free(rec->mark_ns);
    free(rec->written.items);
    free(rec->read.items);
    free(rec);
}

bool nnxr_recorder_begin(nnxr_recorder *rec, nnxr_error *err)
{
    if (!nnxr_recorder_wait(rec, err))
        return false;
    VkResult res = vkResetCommandBuffer(rec->cmd, 0);
    if (res == VK_SUCCESS) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        res = vkBeginCommandBuffer(rec->cmd, &bi);
    }
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "recorder: beginning the command buffer failed: %s",
                         nnxr_vk_result_name(res));
    rec->state = REC_RECORDING;
    rec->mark_count = 0;
    rec->results = 0;
    reset_tracking(rec);
    rec->external = false;
    if (rec->queries)
        vkCmdResetQueryPool(rec->cmd, rec->queries, 0, rec->max_marks);
    /* Whatever earlier submissions (ours or anyone's on this queue) wrote is visible to this
     * command buffer: a queue submission alone orders nothing. */
    barrier_full(rec->cmd);
    return true;
}

VkCommandBuffer nnxr_recorder_cmd(const nnxr_recorder *rec) { return rec->cmd; }

VkCommandBuffer nnxr_recorder_external_cmd(nnxr_recorder *rec)
{
    if (rec->state == REC_RECORDING &&
        (rec->written.count || rec->read.count || rec->external || !rec->tracking)) {
        /* The outside code may touch any stage (vertex input, fragment, transfer). */
        barrier_full(rec->cmd);
        rec->external = false;
        reset_tracking(rec);
    }
    return rec->cmd;
}

/* ---- commands -------------------------------------------------------------------------------- */

bool nnxr_recorder_dispatch(nnxr_recorder *rec, const nnxr_kernel *kernel,
                            const nnxr_binding *binding, const void *push, uint32_t push_size,
                            uint32_t gx, uint32_t gy, uint32_t gz, nnxr_error *err)
{
    if (!check_recording(rec, "dispatch", err))
        return false;
    if (!kernel)
        return nnxr_fail(err, "dispatch: no kernel");
    range acc[NNXR_KERNEL_MAX_BUFFERS];
    bool writes[NNXR_KERNEL_MAX_BUFFERS];
    uint32_t n = 0;
    if (binding && binding->count == kernel->buffer_count) {
        for (uint32_t i = 0; i < binding->count; i++) {
            const nnxr_slot_ref *s = &binding->slots[i];
            acc[n] = (range){s->buffer, s->offset, s->offset + s->range};
            writes[n] = (kernel->written_mask >> i) & 1u;
            n++;
        }
    }
    /* Validate before touching the barrier state, so a refused dispatch changes nothing. */
    nnxr_error probe;
    if (!nnxr_gpu_cmd_dispatch(rec->gpu, VK_NULL_HANDLE, kernel, binding, push, push_size, 0, 0,
                               0, &probe)) {
        if (err)
            *err = probe;
        return false;
    }
    const uint32_t *max = rec->gpu->info.properties.limits.maxComputeWorkGroupCount;
    if (gx > max[0] || gy > max[1] || gz > max[2])
        return nnxr_gpu_cmd_dispatch(rec->gpu, rec->cmd, kernel, binding, push, push_size, gx,
                                     gy, gz, err);
    if (gx == 0 || gy == 0 || gz == 0)
        return true;
    if (!track(rec, acc, writes, n, err))
        return false;
    return nnxr_gpu_cmd_dispatch(rec->gpu, rec->cmd, kernel, binding, push, push_size, gx, gy,
                                 gz, err);
}

bool nnxr_recorder_copy(nnxr_recorder *rec, const nnxr_buffer *src, VkDeviceSize src_offset,
                        const nnxr_buffer *dst, VkDeviceSize dst_offset, VkDeviceSize size,
                        nnxr_error *err)
{
    if (!check_recording(rec, "copy", err))
        return false;
    if (!src || !dst)
        return nnxr_fail(err, "copy: missing %s buffer", src ? "destination" : "source");
    if (src_offset > src->size || size > src->size - src_offset)
        return nnxr_fail(err, "copy: bytes [%llu, +%llu) lie outside source \"%s\" (%llu bytes)",
                         (unsigned long long)src_offset, (unsigned long long)size, src->name,
                         (unsigned long long)src->size);
    if (dst_offset > dst->size || size > dst->size - dst_offset)
        return nnxr_fail(err,
                         "copy: bytes [%llu, +%llu) lie outside destination \"%s\" (%llu bytes)",
                         (unsigned long long)dst_offset, (unsigned long long)size, dst->name,
                         (unsigned long long)dst->size);
    if (src->buffer == dst->buffer && src_offset < dst_offset + size &&
        dst_offset < src_offset + size)
        return nnxr_fail(err, "copy within buffer \"%s\": the ranges overlap", src->name);
    if (size == 0)
        return true;
    range acc[2] = {{src->buffer, src_offset, src_offset + size},
                    {dst->buffer, dst_offset, dst_offset + size}};
    bool writes[2] = {false, true};
    if (!track(rec, acc, writes, 2, err))
        return false;
    VkBufferCopy region = {src_offset, dst_offset, size};
    vkCmdCopyBuffer(rec->cmd, src->buffer, dst->buffer, 1, &region);
    return true;
}

bool nnxr_recorder_fill(nnxr_recorder *rec, const nnxr_buffer *buf, VkDeviceSize offset,
                        VkDeviceSize size, uint32_t word, nnxr_error *err)
{
    if (!check_recording(rec, "fill", err))
        return false;
    if (!buf)
        return nnxr_fail(err, "fill: no buffer");
    if (size == VK_WHOLE_SIZE)
        size = offset <= buf->size ? (buf->size - offset) & ~(VkDeviceSize)3 : 0;
    if (offset % 4 || size % 4)
        return nnxr_fail(err, "fill of buffer \"%s\": offset %llu and size %llu must be "
                              "multiples of 4",
                         buf->name, (unsigned long long)offset, (unsigned long long)size);
    if (offset > buf->size || size > buf->size - offset)
        return nnxr_fail(err, "fill: bytes [%llu, +%llu) lie outside buffer \"%s\" (%llu bytes)",
                         (unsigned long long)offset, (unsigned long long)size, buf->name,
                         (unsigned long long)buf->size);
    if (size == 0)
        return true;
    range acc = {buf->buffer, offset, offset + size};
    bool w = true;
    if (!track(rec, &acc, &w, 1, err))
        return false;
    vkCmdFillBuffer(rec->cmd, buf->buffer, offset, size, word);
    return true;
}

bool nnxr_recorder_update(nnxr_recorder *rec, const nnxr_buffer *buf, VkDeviceSize offset,
                          const void *data, VkDeviceSize size, nnxr_error *err)
{
    if (!check_recording(rec, "update", err))
        return false;
    if (!buf || !data)
        return nnxr_fail(err, "update: no %s", buf ? "data" : "buffer");
    if (offset % 4 || size % 4 || size > 65536)
        return nnxr_fail(err, "update of buffer \"%s\": offset %llu and size %llu must be "
                              "multiples of 4, size at most 65536",
                         buf->name, (unsigned long long)offset, (unsigned long long)size);
    if (offset > buf->size || size > buf->size - offset)
        return nnxr_fail(err,
                         "update: bytes [%llu, +%llu) lie outside buffer \"%s\" (%llu bytes)",
                         (unsigned long long)offset, (unsigned long long)size, buf->name,
                         (unsigned long long)buf->size);
    if (size == 0)
        return true;
    range acc = {buf->buffer, offset, offset + size};
    bool w = true;
    if (!track(rec, &acc, &w, 1, err))
        return false;
    vkCmdUpdateBuffer(rec->cmd, buf->buffer, offset, size, data);
    return true;
}

bool nnxr_recorder_mark(nnxr_recorder *rec, const char *name, nnxr_error *err)
{
    if (!check_recording(rec, "mark", err))
        return false;
    if (!rec->queries)
        return true; /* no timestamps on this queue (or no capacity asked for) */
    if (rec->mark_count >= rec->max_marks)
        return nnxr_fail(err, "recorder: mark \"%s\": all %u timestamp marks are used",
                         name ? name : "", rec->max_marks);
    snprintf(rec->mark_names[rec->mark_count], MARK_NAME_MAX, "%s", name ? name : "");
    /* Bottom of pipe: written once every earlier command has finished. */
    vkCmdWriteTimestamp(rec->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rec->queries,
                        rec->mark_count);
    rec->mark_count++;
    return true;
}

/* ---- submission ------------------------------------------------------------------------------ */

bool nnxr_recorder_end(nnxr_recorder *rec, nnxr_error *err)
{
    if (rec->state == REC_ENDED)
        return true;
    if (!check_recording(rec, "end", err))
        return false;
    /* Device writes → the host (mapped readback after the fence) and later submissions. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_MEMORY_READ_BIT |
                                           VK_ACCESS_MEMORY_WRITE_BIT};
    vkCmdPipelineBarrier(rec->cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    VkResult res = vkEndCommandBuffer(rec->cmd);
    if (res != VK_SUCCESS) {
        rec->state = REC_IDLE;
        return nnxr_fail(err, "recorder: vkEndCommandBuffer failed: %s",
                         nnxr_vk_result_name(res));
    }
    rec->state = REC_ENDED;
    return true;
}

bool nnxr_recorder_submit(nnxr_recorder *rec, const nnxr_submit_sync *sync, nnxr_error *err)
{
    if (rec->state == REC_RECORDING && !nnxr_recorder_end(rec, err))
        return false;
    if (rec->state != REC_ENDED)
        return nnxr_fail(err, "recorder: nothing recorded to submit");
    if (!nnxr_recorder_wait(rec, err))
        return false;
    VkDevice dev = rec->gpu->info.device;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &rec->cmd};
    if (sync) {
        si.waitSemaphoreCount = sync->wait_count;
        si.pWaitSemaphores = sync->wait;
        si.pWaitDstStageMask = sync->wait_stages;
        si.signalSemaphoreCount = sync->signal_count;
        si.pSignalSemaphores = sync->signal;
    }
    vkResetFences(dev, 1, &rec->fence);
    VkResult res = vkQueueSubmit(rec->gpu->info.queue, 1, &si, rec->fence);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "recorder: vkQueueSubmit failed: %s", nnxr_vk_result_name(res));
    rec->pending = true;
    rec->results = 0;
    return true;
}

bool nnxr_recorder_pending(const nnxr_recorder *rec) { return rec->pending; }

static void fetch_marks(nnxr_recorder *rec)
{
    rec->results = 0;
    if (!rec->queries || rec->mark_count == 0)
        return;
    uint64_t *ticks = calloc(rec->mark_count, sizeof *ticks);
    if (!ticks)
        return;
    VkResult res = vkGetQueryPoolResults(rec->gpu->info.device, rec->queries, 0, rec->mark_count,
                                         rec->mark_count * sizeof *ticks, ticks, sizeof *ticks,
                                         VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (res == VK_SUCCESS) {
        uint32_t bits = rec->gpu->info.timestamp_valid_bits;
        uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
        double period = rec->gpu->info.timestamp_period_ns;
        for (uint32_t i = 0; i < rec->mark_count; i++)
            /* Modulo the valid bits, a counter that wrapped still gives the right delta. */
            rec->mark_ns[i] = (double)((ticks[i] - ticks[0]) & mask) * period;
        rec->results = rec->mark_count;
    }
    free(ticks);
}

bool nnxr_recorder_wait(nnxr_recorder *rec, nnxr_error *err)
{
    if (!rec->pending)
        return true;
    VkResult res = vkWaitForFences(rec->gpu->info.device, 1, &rec->fence, VK_TRUE,
                                   FENCE_TIMEOUT_NS);
    if (res != VK_SUCCESS)
        return nnxr_fail(err, "recorder: waiting for the submission failed: %s",
                         nnxr_vk_result_name(res));
    rec->pending = false;
    fetch_marks(rec);
    return true;
}

bool nnxr_recorder_run(nnxr_recorder *rec, nnxr_error *err)
{
    return nnxr_recorder_submit(rec, NULL, err) && nnxr_recorder_wait(rec, err);
}

uint32_t nnxr_recorder_marks(const nnxr_recorder *rec, nnxr_mark *out, uint32_t max)
{
    if (out)
        for (uint32_t i = 0; i < rec->results && i < max; i++)
            out[i] = (nnxr_mark){rec->mark_names[i], rec->mark_ns[i]};
    return rec->results;
}

bool nnxr_recorder_mark_ns(const nnxr_recorder *rec, const char *name, double *ns)
{
    for (uint32_t i = 0; i < rec->results; i++)
        if (strcmp(rec->mark_names[i], name) == 0) {
            *ns = rec->mark_ns[i];
            return true;
        }
    return false;
}
