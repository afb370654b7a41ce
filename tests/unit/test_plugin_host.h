/* tests/unit/test_plugin_host.h — the host the plugin tests drive real plugin .so files with:
 * the engine's config, gpu and render services, optional services the test supplies (a model
 * api, a cloud api, an in-memory metrics store, a commands push callback), a log that counts
 * errors and warnings and echoes to stderr, and the handling of one plugin: create from a
 * [[plugin]] table body, prepare against the offscreen target of test_render_util.h, one
 * frame as the app runs it (update, compute, draw, read back; NNXR_TEST_DUMP=DIR keeps the
 * pictures), unload. Header-only, like test_render_util.h. */
#ifndef NNXR_TEST_PLUGIN_HOST_H
#define NNXR_TEST_PLUGIN_HOST_H

#include "test_render_util.h"

#include "app/metrics.h"
#include "app/plugins.h"
#include "config/scene.h"
#include "nnxr/cloud.h"
#include "nnxr/model.h"
#include "nnxr/plugin.h"

/* tph_host.echo_level that echoes no message (they are counted all the same). */
enum { TPH_ECHO_NONE = NNXR_LEVEL_ERROR + 1 };

typedef struct tph_host {
    nnxr_host host; /* what plugins get; its host_data points back here */
    nnxr_gpu *gpu;
    nnxr_gpu_api gpu_api;
    /* Optional services: NULL (or false) means this host has none such. */
    const nnxr_model_api *model;
    const nnxr_cloud_api *cloud;
    bool metrics_on;
    nnxr_metrics metrics;
    bool (*push)(void *user, const nnxr_command *cmd, nnxr_error *err);
    void *push_user;
    /* The log: errors and warnings counted; messages from echo_level up go to stderr. */
    int errors, warnings;
    int echo_level;
    /* NNXR_TEST_DUMP file names: "<dump_name>-NNN.png" (the plugin id when NULL). */
    const char *dump_name;
    int dumped;
} tph_host;

/* One plugin made by the host. Extensions a plugin lacks are NULL. */
typedef struct tph_plugin {
    tph_host *host;
    nnxr_plugin_lib lib;
    nnxr_scene *scene;
    void *self;
    const nnxr_update_ext *update;
    const nnxr_compute_ext *compute;
    const nnxr_draw_ext *draw;
    bool prepared; /* release is owed, as the app owes it (engine/app/app.c) */
} tph_plugin;

/* What tph_load requires besides the draw extension. */
enum { TPH_NEED_UPDATE = 1, TPH_NEED_COMPUTE = 2 };

static inline tph_host *tph_of(const nnxr_host *h) { return h->host_data; }

static inline void tph_log_(const nnxr_host *host, int level, const char *message)
{
    tph_host *t = tph_of(host);
    if (level >= NNXR_LEVEL_ERROR)
        t->errors++;
    else if (level == NNXR_LEVEL_WARN)
        t->warnings++;
    if (level >= t->echo_level)
        fprintf(stderr, "[%s %d] %s\n", host->plugin_id, level, message);
}

static inline void tph_publish_(const nnxr_host *h, const char *name, double v)
{
    nnxr_metrics_publish(&tph_of(h)->metrics, name, v);
}

static inline bool tph_latest_(const nnxr_host *h, const char *name, double *v)
{
    return nnxr_metrics_latest(&tph_of(h)->metrics, name, v);
}

static inline size_t tph_history_(const nnxr_host *h, const char *name, double *v, size_t max)
{
    return nnxr_metrics_history(&tph_of(h)->metrics, name, v, max);
}

static inline bool tph_push_(const nnxr_host *h, const nnxr_command *cmd, nnxr_error *err)
{
    tph_host *t = tph_of(h);
    return t->push(t->push_user, cmd, err);
}

static inline const void *tph_service_(const nnxr_host *host, const char *id)
{
    static const nnxr_log_api log_api = {tph_log_};
    static const nnxr_metrics_api metrics_api = {tph_publish_, tph_latest_, tph_history_};
    static const nnxr_commands_api commands_api = {tph_push_};
    tph_host *t = tph_of(host);
    if (!strcmp(id, NNXR_SERVICE_LOG))
        return &log_api;
    if (!strcmp(id, NNXR_SERVICE_CONFIG))
        return nnxr_config_api_get();
    if (!strcmp(id, NNXR_SERVICE_GPU))
        return &t->gpu_api;
    if (!strcmp(id, NNXR_SERVICE_RENDER))
        return nnxr_render_api_get();
    if (!strcmp(id, NNXR_SERVICE_METRICS))
        return t->metrics_on ? &metrics_api : NULL;
    if (!strcmp(id, NNXR_SERVICE_COMMANDS))
        return t->push ? &commands_api : NULL;
    if (!strcmp(id, NNXR_SERVICE_MODEL))
        return t->model;
    if (!strcmp(id, NNXR_SERVICE_CLOUD))
        return t->cloud;
    return NULL;
}

/* An empty host (every message echoed) on `gpu` (may be NULL, then tph_set_gpu later). */
static inline void tph_init(tph_host *t, nnxr_gpu *gpu)
{
    memset(t, 0, sizeof *t);
    t->echo_level = NNXR_LEVEL_DEBUG;
    if (gpu) {
        t->gpu = gpu;
        nnxr_gpu_fill_api(gpu, &t->gpu_api);
    }
}

static inline void tph_set_gpu(tph_host *t, nnxr_gpu *gpu)
{
    t->gpu = gpu;
    nnxr_gpu_fill_api(gpu, &t->gpu_api);
}

/* Gives the host an in-memory metrics service; false with err filled. */
static inline bool tph_metrics_open(tph_host *t, nnxr_error *err)
{
    if (!nnxr_metrics_init(&t->metrics, NULL, err))
        return false;
    t->metrics_on = true;
    return true;
}

static inline void tph_close(tph_host *t)
{
    if (t->metrics_on)
        nnxr_metrics_close(&t->metrics);
    t->metrics_on = false;
}

/* Creates plugin `id` with the [[plugin]] table body `toml` and looks up its extensions;
 * false with err filled (p is then safe to tph_unload). */
static inline bool tph_create(tph_host *t, const char *id, const char *toml, tph_plugin *p,
                              nnxr_error *err)
{
    memset(p, 0, sizeof *p);
    p->host = t;
    err->message[0] = '\0';
    char text[4096];
    int n = snprintf(text, sizeof text, "[[plugin]]\nid = \"%s\"\n%s", id, toml);
    if (n < 0 || (size_t)n >= sizeof text) {
        snprintf(err->message, sizeof err->message, "test plugin table of %s: over %zu bytes",
                 id, sizeof text);
        return false;
    }
    p->scene = nnxr_scene_parse(text, (size_t)n, "test.toml", err);
    if (!p->scene || !nnxr_plugin_open(id, &p->lib, err))
        return false;
    t->host = (nnxr_host){NNXR_ABI_VERSION, id, t, tph_service_};
    p->self = p->lib.entry->create(&t->host, &p->scene->plugins[0].config, err);
    if (!p->self)
        return false;
    p->update = p->lib.entry->extension(p->self, NNXR_EXT_UPDATE);
    p->compute = p->lib.entry->extension(p->self, NNXR_EXT_COMPUTE);
    p->draw = p->lib.entry->extension(p->self, NNXR_EXT_DRAW);
    return true;
}

/* tph_create, then prepare the draw extension for s's target. `need` (TPH_NEED_*) names the
 * other extensions the plugin must have. False with the reason on stderr. */
static inline bool tph_load(tph_host *t, tr_scene *s, const char *id, const char *toml,
                            unsigned need, tph_plugin *p)
{
    nnxr_error err;
    if (!tph_create(t, id, toml, p, &err)) {
        fprintf(stderr, "%s: %s\n", id, err.message);
        return false;
    }
    const char *missing = !p->draw                                 ? "draw"
                          : (need & TPH_NEED_UPDATE) && !p->update   ? "update"
                          : (need & TPH_NEED_COMPUTE) && !p->compute ? "compute"
                                                                     : NULL;
    if (missing) {
        fprintf(stderr, "%s: no %s extension\n", id, missing);
        return false;
    }
    nnxr_render_target_info ti;
    nnxr_offscreen_info(s->target, &ti);
    if (!p->draw->prepare(p->self, &ti, &err)) {
        fprintf(stderr, "%s prepare: %s\n", id, err.message);
        return false;
    }
    p->prepared = true;
    return true;
}

/* Releases and destroys what tph_create / tph_load made, however far they got. */
static inline void tph_unload(tph_plugin *p)
{
    if (p->self) {
        if (p->prepared && p->draw->release)
            p->draw->release(p->self);
        p->lib.entry->destroy(p->self);
    }
    if (p->lib.handle)
        nnxr_plugin_close(&p->lib);
    nnxr_scene_free(p->scene);
    memset(p, 0, sizeof *p);
}

/* One frame as the app runs it (engine/app/run.c): update, then `between` (when not NULL:
 * what happens between a frame's update and its GPU work, e.g. commands), compute into the
 * frame's command buffer, draw into s's target, read back into s->rgba. Two CHECKs: the
 * recording began, and it ran and was read back. */
static inline void tph_frame_ex(tr_scene *s, tph_plugin *p, nnxr_frame *f,
                                void (*between)(void *), void *arg)
{
    nnxr_error err;
    if (p->update)
        p->update->update(p->self, f);
    if (between)
        between(arg);
    CHECK(nnxr_recorder_begin(s->rec, &err));
    VkCommandBuffer cmd = nnxr_recorder_external_cmd(s->rec);
    if (p->compute) {
        p->compute->record_compute(p->self, cmd, f);
        nnxr_recorder_external(s->rec);
    }
    nnxr_offscreen_begin(s->target, cmd);
    p->draw->record_draw(p->self, cmd, &s->view, f);
    nnxr_offscreen_end(s->target, cmd, true);
    nnxr_recorder_external(s->rec);
    CHECK(nnxr_recorder_run(s->rec, &err) && nnxr_offscreen_pixels(s->target, s->rgba, &err));
    f->index++;
    const char *dir = getenv("NNXR_TEST_DUMP");
    if (dir && *dir) {
        tph_host *t = p->host;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s-%03d.png", dir,
                 t->dump_name ? t->dump_name : t->host.plugin_id, t->dumped++);
        if (!nnxr_png_write(path, s->rgba, s->w, s->h, 1, &err))
            fprintf(stderr, "dump: %s\n", err.message);
    }
}

static inline void tph_frame(tr_scene *s, tph_plugin *p, nnxr_frame *f)
{
    tph_frame_ex(s, p, f, NULL, NULL);
}

#endif
