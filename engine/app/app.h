/* app/app.h — the runtime of one scene: the GPU, the loaded plugins and the host services
 * they get (log, config, gpu, metrics, commands), and the command queue whose commands are
 * applied between optimizer steps. The frame loop (app/run.c) drives it. */
#ifndef NNXR_APP_APP_H
#define NNXR_APP_APP_H

#include "app/metrics.h"
#include "app/plugins.h"
#include "config/scene.h"
#include "gpu/gpu.h"
#include "nn/trainer.h"
#include "nnxr/cloud.h"
#include "nnxr/gpu.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"

#define NNXR_COMMAND_QUEUE 256
#define NNXR_COMMAND_KINDS 32

typedef struct nnxr_plugin_instance {
    nnxr_plugin_lib lib;
    nnxr_host host;
    void *self;
    const char *id;
    const nnxr_update_ext *update;
    const nnxr_compute_ext *compute;
    const nnxr_draw_ext *draw;
    bool prepared; /* draw->prepare succeeded for the current target */
} nnxr_plugin_instance;

/* Carries out one command kind; called between optimizer steps. */
typedef bool (*nnxr_command_handler)(void *user, const nnxr_command *cmd, nnxr_error *err);

typedef struct nnxr_app {
    nnxr_scene *scene;

    nnxr_gpu_options gpu_options; /* the GPU is made on first need (a plugin asking for it,
                                     or the run starting) */
    nnxr_gpu *gpu;
    nnxr_gpu_api gpu_api;
    bool gpu_failed;
    nnxr_error gpu_error;

    nnxr_metrics metrics;

    nnxr_command queue[NNXR_COMMAND_QUEUE];
    size_t queue_head, queue_len;
    nnxr_command_handler handlers[NNXR_COMMAND_KINDS];
    void *handler_user[NNXR_COMMAND_KINDS];

    nnxr_plugin_instance plugins[NNXR_SCENE_MAX_PLUGINS];
    size_t plugin_count;

    /* The scene's model, when it has one (nnxr_app_start_training). */
    nnxr_trainer *trainer;
    nnxr_train_data_owned train_data;
    nnxr_model_api model_api;

    /* The latent cloud, when the scene has [cloud] enabled (app/cloud.h). */
    struct nnxr_app_cloud *cloud;
    nnxr_cloud_api cloud_api;

    bool paused;
    bool quit;
    bool screenshot; /* write this frame's image whatever frame_every says */
    uint64_t frame;
    uint64_t train_step;
} nnxr_app;

/* Metrics are written to jsonl_path when it is not NULL. */
bool nnxr_app_init(nnxr_app *app, nnxr_scene *scene, const nnxr_gpu_options *gpu_options,
                   const char *jsonl_path, nnxr_error *err);
/* Destroys the plugins (release, destroy, dlclose), then the trainer, then the GPU. Returns the number of
 * validation messages the GPU reported over its life. */
uint32_t nnxr_app_shutdown(nnxr_app *app);

bool nnxr_app_ensure_gpu(nnxr_app *app, nnxr_error *err);

/* When the scene has a [model]: loads its data, creates the trainer (and the GPU), registers
 * the training commands (set_hparam, add_neuron, remove_neuron, set_weights, evaluate) and
 * serves "nnxr.model". Call before nnxr_app_load_plugins so plugins find the model. */
bool nnxr_app_start_training(nnxr_app *app, nnxr_error *err);

/* One frame's training (nothing while paused); a diverging run pauses the app. */
bool nnxr_app_train_frame(nnxr_app *app, nnxr_error *err);

/* Loads and creates every [[plugin]] of the scene, in order; stops at the first refusal
 * with its id, path and reason (file:line of its table). */
bool nnxr_app_load_plugins(nnxr_app *app, nnxr_error *err);

/* Registers who carries out a command kind (the trainer, the simulation). */
void nnxr_app_set_handler(nnxr_app *app, nnxr_command_kind kind, nnxr_command_handler fn,
                          void *user);
bool nnxr_app_push_command(nnxr_app *app, const nnxr_command *cmd, nnxr_error *err);
/* Applies queued commands in order; a failing one is logged and skipped. */
void nnxr_app_apply_commands(nnxr_app *app);

#endif
