/* app/app.c — the scene runtime: lazy GPU creation, plugin creation with per-plugin host
 * handles, the host services, and the command queue. */
#include "app/app.h"

#include <stdlib.h>
#include <string.h>

#include "app/cloud.h"
#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "render/renderer.h"

/* ---- services ------------------------------------------------------------------------------ */

static nnxr_app *app_of(const nnxr_host *host) { return host->host_data; }

static void svc_log(const nnxr_host *host, int level, const char *message)
{
    if (level < NNXR_LEVEL_DEBUG || level > NNXR_LEVEL_ERROR)
        level = NNXR_LEVEL_INFO;
    nnxr_log((nnxr_log_level)level, "%s: %s", host->plugin_id, message ? message : "");
}

static void svc_publish(const nnxr_host *host, const char *name, double value)
{
    nnxr_metrics_publish(&app_of(host)->metrics, name, value);
}

static bool svc_latest(const nnxr_host *host, const char *name, double *value)
{
    return nnxr_metrics_latest(&app_of(host)->metrics, name, value);
}

static size_t svc_history(const nnxr_host *host, const char *name, double *values, size_t max)
{
    return nnxr_metrics_history(&app_of(host)->metrics, name, values, max);
}

static bool svc_push(const nnxr_host *host, const nnxr_command *cmd, nnxr_error *err)
{
    return nnxr_app_push_command(app_of(host), cmd, err);
}

static const void *service(const nnxr_host *host, const char *id)
{
    static const nnxr_log_api log_api = {svc_log};
    static const nnxr_metrics_api metrics_api = {svc_publish, svc_latest, svc_history};
    static const nnxr_commands_api commands_api = {svc_push};
    nnxr_app *app = app_of(host);
    if (!id)
        return NULL;
    if (!strcmp(id, NNXR_SERVICE_LOG))
        return &log_api;
    if (!strcmp(id, NNXR_SERVICE_CONFIG))
        return nnxr_config_api_get();
    if (!strcmp(id, NNXR_SERVICE_METRICS))
        return &metrics_api;
    if (!strcmp(id, NNXR_SERVICE_COMMANDS))
        return &commands_api;
    if (!strcmp(id, NNXR_SERVICE_GPU)) {
        nnxr_error err;
        if (!nnxr_app_ensure_gpu(app, &err))
            return NULL;
        return &app->gpu_api;
    }
    if (!strcmp(id, NNXR_SERVICE_MODEL))
        return app->trainer ? &app->model_api : NULL;
    if (!strcmp(id, NNXR_SERVICE_CLOUD))
        return app->cloud ? &app->cloud_api : NULL;
    /* The renderer's table is immutable: each plugin makes (and frees) its own context. */
    if (!strcmp(id, NNXR_SERVICE_RENDER)) {
        nnxr_error err;
        if (!nnxr_app_ensure_gpu(app, &err) || !nnxr_gpu_get_info(app->gpu)->queue_graphics)
            return NULL;
        return nnxr_render_api_get();
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

bool nnxr_app_init(nnxr_app *app, nnxr_scene *scene, const nnxr_gpu_options *gpu_options,
                   const char *jsonl_path, nnxr_error *err)
{
    memset(app, 0, sizeof *app);
    app->scene = scene;
    if (gpu_options)
        app->gpu_options = *gpu_options;
    app->paused = scene ? scene->train.paused : false;
    return nnxr_metrics_init(&app->metrics, jsonl_path, err);
}

bool nnxr_app_ensure_gpu(nnxr_app *app, nnxr_error *err)
{
    if (app->gpu)
        return true;
    if (app->gpu_failed) {
        if (err)
            *err = app->gpu_error;
        return false;
    }
    if (!nnxr_gpu_create(&app->gpu_options, &app->gpu, &app->gpu_error)) {
        app->gpu_failed = true;
        NNXR_ERROR("%s", app->gpu_error.message);
        if (err)
            *err = app->gpu_error;
        return false;
    }
    nnxr_gpu_fill_api(app->gpu, &app->gpu_api);
    return true;
}

bool nnxr_app_load_plugins(nnxr_app *app, nnxr_error *err)
{
    nnxr_scene *s = app->scene;
    for (size_t i = 0; i < s->plugin_count; i++) {
        nnxr_scene_plugin *sp = &s->plugins[i];
        nnxr_plugin_instance *p = &app->plugins[app->plugin_count];
        memset(p, 0, sizeof *p);
        if (!nnxr_plugin_open(sp->id, &p->lib, err))
            return nnxr_fail_prefix(err, "%s:%d:%d: [[plugin]] #%zu", s->path, sp->line,
                                    sp->column, i + 1);
        p->id = sp->id;
        p->host = (nnxr_host){NNXR_ABI_VERSION, sp->id, app, service};
        nnxr_error perr;
        nnxr_error_clear(&perr);
        p->self = p->lib.entry->create(&p->host, &sp->config, &perr);
        if (!p->self) {
            nnxr_plugin_close(&p->lib);
            return nnxr_fail(err, "%s:%d:%d: [[plugin]] #%zu: plugin '%s' (%s) refused: its "
                             "create failed: %s", s->path, sp->line, sp->column, i + 1, sp->id,
                             p->lib.path, perr.message[0] ? perr.message : "(no message)");
        }
        app->plugin_count++;
        p->update = p->lib.entry->extension(p->self, NNXR_EXT_UPDATE);
        p->compute = p->lib.entry->extension(p->self, NNXR_EXT_COMPUTE);
        p->draw = p->lib.entry->extension(p->self, NNXR_EXT_DRAW);
    }
    return true;
}

uint32_t nnxr_app_shutdown(nnxr_app *app)
{
    if (app->gpu)
        nnxr_gpu_wait_idle(app->gpu, NULL);
    /* Plugins go in reverse order of creation, as later ones may use earlier ones' data. */
    for (size_t i = app->plugin_count; i-- > 0;) {
        nnxr_plugin_instance *p = &app->plugins[i];
        if (p->draw && p->prepared && p->draw->release)
            p->draw->release(p->self);
        p->lib.entry->destroy(p->self);
        nnxr_plugin_close(&p->lib);
    }
    app->plugin_count = 0;
    for (size_t i = 0; i < app->queue_len; i++)
        free((void *)app->queue[(app->queue_head + i) % NNXR_COMMAND_QUEUE].values);
    app->queue_len = 0;
    nnxr_app_cloud_destroy(app->cloud); /* it reads the trainer's buffers */
    app->cloud = NULL;
    nnxr_trainer_destroy(app->trainer);
    app->trainer = NULL;
    nnxr_train_data_free(&app->train_data);
    uint32_t validation = 0;
    if (app->gpu) {
        validation = nnxr_gpu_validation_count(app->gpu);
        nnxr_gpu_destroy(app->gpu);
        app->gpu = NULL;
    }
    nnxr_metrics_close(&app->metrics);
    return validation;
}

/* ---- commands ----------------------------------------------------------------------------- */

static const char *command_name(nnxr_command_kind kind)
{
    switch (kind) {
    case NNXR_CMD_PAUSE: return "pause";
    case NNXR_CMD_RESUME: return "resume";
    case NNXR_CMD_TOGGLE_PAUSE: return "toggle_pause";
    case NNXR_CMD_QUIT: return "quit";
    case NNXR_CMD_SET_HPARAM: return "set_hparam";
    case NNXR_CMD_ADD_NEURON: return "add_neuron";
    case NNXR_CMD_REMOVE_NEURON: return "remove_neuron";
    case NNXR_CMD_SET_WEIGHTS: return "set_weights";
    case NNXR_CMD_EVALUATE: return "evaluate";
    case NNXR_CMD_ANNOTATE_SPHERE: return "annotate_sphere";
    case NNXR_CMD_UNLABEL_SPHERE: return "unlabel_sphere";
    case NNXR_CMD_UNDO_ANNOTATION: return "undo_annotation";
    case NNXR_CMD_SCREENSHOT: return "screenshot";
    }
    return "unknown";
}

static bool app_handles_itself(nnxr_command_kind kind)
{
    return kind == NNXR_CMD_PAUSE || kind == NNXR_CMD_RESUME || kind == NNXR_CMD_TOGGLE_PAUSE ||
           kind == NNXR_CMD_QUIT || kind == NNXR_CMD_SCREENSHOT;
}

void nnxr_app_set_handler(nnxr_app *app, nnxr_command_kind kind, nnxr_command_handler fn,
                          void *user)
{
    if ((int)kind > 0 && (int)kind < NNXR_COMMAND_KINDS) {
        app->handlers[kind] = fn;
        app->handler_user[kind] = user;
    }
}

bool nnxr_app_push_command(nnxr_app *app, const nnxr_command *cmd, nnxr_error *err)
{
    if (!cmd || (int)cmd->kind <= 0 || (int)cmd->kind >= NNXR_COMMAND_KINDS ||
        !strcmp(command_name(cmd->kind), "unknown"))
        return nnxr_fail(err, "unknown command kind %d", cmd ? (int)cmd->kind : -1);
    if (!app_handles_itself(cmd->kind) && !app->handlers[cmd->kind])
        return nnxr_fail(err, "command '%s' cannot be carried out: this scene has nothing "
                         "that handles it (e.g. no model to train)", command_name(cmd->kind));
    if (app->queue_len >= NNXR_COMMAND_QUEUE)
        return nnxr_fail(err, "command '%s' refused: the queue is full (%d pending)",
                         command_name(cmd->kind), NNXR_COMMAND_QUEUE);
    nnxr_command copy = *cmd;
    copy.name[sizeof copy.name - 1] = '\0';
    if (cmd->values && cmd->value_count) {
        float *v = malloc(cmd->value_count * sizeof *v);
        if (!v)
            return nnxr_fail(err, "out of memory for command '%s'", command_name(cmd->kind));
        memcpy(v, cmd->values, cmd->value_count * sizeof *v);
        copy.values = v;
    } else {
        copy.values = NULL;
        copy.value_count = 0;
    }
    app->queue[(app->queue_head + app->queue_len) % NNXR_COMMAND_QUEUE] = copy;
    app->queue_len++;
    return true;
}

void nnxr_app_apply_commands(nnxr_app *app)
{
    while (app->queue_len > 0) {
        nnxr_command cmd = app->queue[app->queue_head];
        app->queue_head = (app->queue_head + 1) % NNXR_COMMAND_QUEUE;
        app->queue_len--;
        switch (cmd.kind) {
        case NNXR_CMD_PAUSE: app->paused = true; break;
        case NNXR_CMD_RESUME: app->paused = false; break;
        case NNXR_CMD_TOGGLE_PAUSE: app->paused = !app->paused; break;
        case NNXR_CMD_QUIT: app->quit = true; break;
        case NNXR_CMD_SCREENSHOT: app->screenshot = true; break;
        default: {
            nnxr_error err;
            nnxr_error_clear(&err);
            if (app->handlers[cmd.kind] &&
                !app->handlers[cmd.kind](app->handler_user[cmd.kind], &cmd, &err))
                NNXR_WARN("command '%s' failed: %s", command_name(cmd.kind), err.message);
        }
        }
        free((void *)cmd.values);
    }
}

/* ---- training ----------------------------------------------------------------------------- */

static void train_publish(void *user, const char *name, double value)
{
    nnxr_app *app = user;
    /* Epoch metrics come in the middle of a frame: stamp them with the steps taken (none
     * while the trainer is being made: it publishes its starting hyperparameters). */
    app->metrics.step = app->trainer ? nnxr_trainer_step(app->trainer) : 0;
    nnxr_metrics_publish(&app->metrics, name, value);
}

static bool on_set_hparam(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    return nnxr_trainer_set_hparam(user, cmd->name, cmd->value, err);
}

static bool on_add_neuron(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    if (cmd->layer < 0)
        return nnxr_fail(err, "add_neuron: layer %d", (int)cmd->layer);
    return nnxr_trainer_add_neuron(user, (uint32_t)cmd->layer, err);
}

static bool on_remove_neuron(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    if (cmd->layer < 0 || cmd->index < 0)
        return nnxr_fail(err, "remove_neuron: layer %d, index %d", (int)cmd->layer,
                         (int)cmd->index);
    return nnxr_trainer_remove_neuron(user, (uint32_t)cmd->layer, (uint32_t)cmd->index, err);
}

static bool on_set_weights(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    if (cmd->layer < 0 || cmd->index < 0)
        return nnxr_fail(err, "set_weights: layer %d, index %d", (int)cmd->layer,
                         (int)cmd->index);
    return nnxr_trainer_set_neuron_weights(user, (uint32_t)cmd->layer, (uint32_t)cmd->index,
                                           cmd->values, cmd->value_count, err);
}

/* EVALUATE: the validation loss and accuracy now (what AIive's drag needs at hand speed).
 * With name "full" also every output plugins read (predictions, class means, probe; for a
 * VAE mu of every training sample). */
static bool on_evaluate(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    nnxr_train_set set = nnxr_trainer_eval_set(user);
    if (strcmp(cmd->name, "full"))
        return nnxr_trainer_evaluate_quick(user, set, NULL, err);
    return nnxr_trainer_evaluate(user, set, NULL, err) &&
           (nnxr_trainer_model(user)->desc.kind != NNXR_MODEL_VAE ||
            nnxr_trainer_evaluate(user, NNXR_SET_TRAIN, NULL, err));
}

bool nnxr_app_start_training(nnxr_app *app, nnxr_error *err)
{
    nnxr_scene *s = app->scene;
    if (app->trainer || !s || !strcmp(s->model.kind, "none"))
        return true;
    nnxr_train_config cfg;
    if (!nnxr_train_data_load_scene(s, &app->train_data, err) ||
        !nnxr_train_config_from_scene(s, &app->train_data.data, &cfg, err) ||
        !nnxr_app_ensure_gpu(app, err))
        return false;
    cfg.publish = train_publish;
    cfg.publish_user = app;
    if (!nnxr_trainer_create(app->gpu, &cfg, &app->train_data.data, &app->trainer, err))
        return nnxr_fail_prefix(err, "%s: [model] %s", s->path, s->model.kind);
    nnxr_trainer_fill_model_api(app->trainer, &app->model_api);
    nnxr_app_set_handler(app, NNXR_CMD_SET_HPARAM, on_set_hparam, app->trainer);
    nnxr_app_set_handler(app, NNXR_CMD_ADD_NEURON, on_add_neuron, app->trainer);
    nnxr_app_set_handler(app, NNXR_CMD_REMOVE_NEURON, on_remove_neuron, app->trainer);
    nnxr_app_set_handler(app, NNXR_CMD_SET_WEIGHTS, on_set_weights, app->trainer);
    nnxr_app_set_handler(app, NNXR_CMD_EVALUATE, on_evaluate, app->trainer);
    const nnxr_model *m = nnxr_trainer_model(app->trainer);
    NNXR_INFO("training a %s of %zu parameters on %u samples", s->model.kind, m->param_count,
              nnxr_trainer_train_count(app->trainer));
    return true;
}

bool nnxr_app_train_frame(nnxr_app *app, nnxr_error *err)
{
    if (!app->trainer)
        return true;
    nnxr_train_report rep;
    if (!nnxr_trainer_frame(app->trainer, app->paused, &rep, err))
        return false;
    if (rep.diverged)
        app->paused = true;
    app->train_step = nnxr_trainer_step(app->trainer);
    return true;
}
