/* plugins/example/example.c — the example plugin of docs/plugins.md ("nnxr.example"): it
 * reads its keys through the config service, logs through the log service, publishes a
 * metric, can pause training through the command queue, and draws a pulsing square in every
 * view. With `trace` set it writes each call it receives to that file, which the tests read
 * to check the host's order of calls. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnxr/gpu.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"

typedef struct example {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_metrics_api *metrics;
    const nnxr_commands_api *commands;
    double color[3];
    double size;      /* side of the square, as a fraction of the view's height */
    double pulse_hz;  /* 0: steady */
    int64_t pause_at; /* frame at which to ask for a pause; -1: never */
    FILE *trace;
    double side_px;   /* the size drawn in the last frame */
} example;

static void trace(example *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(example *ex, const char *fmt, ...)
{
    if (!ex->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(ex->trace, fmt, ap);
    va_end(ap);
    fputc('\n', ex->trace);
    fflush(ex->trace);
}

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {"color", "size", "pulse_hz", "pause_at_frame", "trace",
                                       NULL};
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c) {
        snprintf(err->message, sizeof err->message, "the host has no config service");
        return NULL;
    }
    example *ex = calloc(1, sizeof *ex);
    if (!ex) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    ex->host = host;
    ex->log = host->service(host, NNXR_SERVICE_LOG);
    ex->metrics = host->service(host, NNXR_SERVICE_METRICS);
    ex->commands = host->service(host, NNXR_SERVICE_COMMANDS);
    static const double orange[3] = {1.0, 0.45, 0.1};
    size_t n;
    const char *trace_path;
    if (!c->check_keys(cfg, keys, err) ||
        !c->get_float_array(cfg, "color", orange, 3, 3, 3, 0.0, 1.0, ex->color, &n, err) ||
        !c->get_float(cfg, "size", 0.25, 0.0, 1.0, &ex->size, err) ||
        !c->get_float(cfg, "pulse_hz", 0.5, 0.0, 100.0, &ex->pulse_hz, err) ||
        !c->get_int(cfg, "pause_at_frame", -1, -1, INT64_MAX, &ex->pause_at, err) ||
        !c->get_string(cfg, "trace", "", NULL, &trace_path, err)) {
        free(ex);
        return NULL;
    }
    if (trace_path[0] && !(ex->trace = fopen(trace_path, "w"))) {
        snprintf(err->message, sizeof err->message, "cannot write the trace file '%s'",
                 trace_path);
        free(ex);
        return NULL;
    }
    trace(ex, "create");
    if (ex->log)
        ex->log->write(host, NNXR_LEVEL_INFO, "hello from the example plugin");
    return ex;
}

static void destroy(void *self)
{
    example *ex = self;
    trace(ex, "destroy");
    if (ex->trace)
        fclose(ex->trace);
    free(ex);
}

static void update(void *self, const nnxr_frame *frame)
{
    example *ex = self;
    trace(ex, "update %llu paused=%d", (unsigned long long)frame->index, frame->paused);
    if (ex->pause_at >= 0 && frame->index == (uint64_t)ex->pause_at && ex->commands) {
        nnxr_command cmd = {.kind = NNXR_CMD_PAUSE};
        nnxr_error err;
        if (!ex->commands->push(ex->host, &cmd, &err) && ex->log)
            ex->log->write(ex->host, NNXR_LEVEL_WARN, err.message);
    }
}

static void record_compute(void *self, VkCommandBuffer cmd, const nnxr_frame *frame)
{
    (void)cmd;
    example *ex = self;
    trace(ex, "compute %llu", (unsigned long long)frame->index);
}

static bool prepare(void *self, const nnxr_render_target_info *target, nnxr_error *err)
{
    (void)err;
    example *ex = self;
    trace(ex, "prepare %ux%u views=%u", target->width, target->height, target->view_count);
    return true;
}

static void record_draw(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame)
{
    example *ex = self;
    double pulse = ex->pulse_hz > 0 ? 1.0 + 0.25 * sin(2.0 * M_PI * ex->pulse_hz * frame->time)
                                    : 1.0;
    double side = ex->size * view->height * pulse;
    if (side > view->height)
        side = view->height;
    ex->side_px = side;
    /* A clear of a rectangle needs no pipeline: the smallest thing that visibly draws. */
    VkClearAttachment clear = {
        .aspectMask = VK_IMAGE_ASPECT_COLOR_BIT,
        .colorAttachment = 0,
        .clearValue.color = {{(float)ex->color[0], (float)ex->color[1], (float)ex->color[2],
                              1.0f}},
    };
    uint32_t s = (uint32_t)side;
    VkClearRect rect = {
        .rect = {{view->x + (int32_t)((view->width - s) / 2),
                  view->y + (int32_t)((view->height - s) / 2)},
                 {s, s}},
        .baseArrayLayer = 0,
        .layerCount = 1,
    };
    if (s > 0)
        vkCmdClearAttachments(cmd, 1, &clear, 1, &rect);
    if (ex->metrics)
        ex->metrics->publish(ex->host, "example.side_px", side);
    trace(ex, "draw %llu view %u", (unsigned long long)frame->index, view->index);
}

static void release(void *self)
{
    example *ex = self;
    trace(ex, "release");
}

static const void *extension(void *self, const char *id)
{
    (void)self;
    static const nnxr_update_ext update_ext = {update};
    static const nnxr_compute_ext compute_ext = {record_compute};
    static const nnxr_draw_ext draw_ext = {prepare, record_draw, release};
    if (!strcmp(id, NNXR_EXT_UPDATE))
        return &update_ext;
    if (!strcmp(id, NNXR_EXT_COMPUTE))
        return &compute_ext;
    if (!strcmp(id, NNXR_EXT_DRAW))
        return &draw_ext;
    return NULL;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    .abi_version = NNXR_ABI_VERSION,
    .id = "nnxr.example",
    .description = "Example plugin: a pulsing square, a metric, a pause (docs/plugins.md)",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
