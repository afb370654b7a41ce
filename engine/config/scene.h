/* config/scene.h — a scene file, validated against the schema and with every default filled
 * in: the typed struct the app runs from, plus the resolved document that `nnxr check` prints
 * and a run writes as scene.resolved.toml. The schema itself (every key, its type, range,
 * default and meaning) is the table in scene.c; docs/scenes.md is checked against it. */
#ifndef NNXR_CONFIG_SCENE_H
#define NNXR_CONFIG_SCENE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "config/toml.h"

#define NNXR_SCENE_MAX_LAYERS 16
#define NNXR_SCENE_MAX_FEATURES 7
#define NNXR_SCENE_MAX_PLUGINS 32

typedef struct nnxr_scene_plugin {
    const char *id;
    nnxr_config config; /* the [[plugin]] table; the plugin reads and validates its own keys */
    int line, column;   /* where its table starts, for messages */
} nnxr_scene_plugin;

typedef struct nnxr_scene {
    char path[4096]; /* the file, as given */

    struct {
        const char *name;
        const char *description;
        const char *mode; /* auto, headless, window, xr */
        int64_t seed;
        int64_t frames;
        double seconds;
    } scene;

    struct {
        const char *kind; /* none, fashion-mnist, idx, playground */
        const char *path;
        int64_t subset;
        bool join_test;
        int64_t validation;
        const char *playground; /* circle, xor, gauss, spiral, plane, multigauss */
        int64_t points;
        double noise;
        double train_ratio;
        const char *features[NNXR_SCENE_MAX_FEATURES];
        size_t feature_count;
    } dataset;

    struct {
        const char *kind; /* none, mlp, cnn, vae */
        int64_t hidden[NNXR_SCENE_MAX_LAYERS];
        size_t hidden_count;
        const char *activation;
        const char *layers[NNXR_SCENE_MAX_LAYERS * 2];
        size_t layer_count;
        int64_t latent_dim;
        int64_t encoder[NNXR_SCENE_MAX_LAYERS];
        size_t encoder_count;
        int64_t decoder[NNXR_SCENE_MAX_LAYERS];
        size_t decoder_count;
        int64_t classifier[NNXR_SCENE_MAX_LAYERS];
        size_t classifier_count;
        double beta;
        double classifier_weight;
        const char *checkpoint;
    } model;

    struct {
        const char *optimizer; /* sgd, adam */
        double lr;
        double momentum;
        double beta1, beta2, adam_epsilon;
        double l1, l2;
        int64_t batch;
        int64_t epochs;
        int64_t seed;
        double budget_ms;
        int64_t max_steps_per_frame;
        bool paused;
        int64_t eval_every;
        int64_t probe;
        const char *export_what[8]; /* latents, predictions, activations */
        size_t export_count;
        const char *export_layers[32];
        size_t export_layer_count;
    } train;

    struct {
        int64_t width, height;
        int64_t samples;
        double background[3];
        size_t background_len;
        int64_t frame_every;
        double fps;
        int64_t png_compression;
        double eye[3];
        size_t eye_len;
        double target[3];
        size_t target_len;
        double fov;
        bool stereo;
        double ipd;
    } view;

    struct {
        bool enabled;
        int64_t sample_rate;
        bool wav;
    } audio;

    struct {               /* the latent cloud of a vae scene (app/cloud.c) */
        bool enabled;
        double k_s, k_a, k_r, eps, damping, dt, room;
        int64_t steps_per_frame;
        bool freeze_when_paused;
        bool machine_labels;
        int64_t knn_k, knn_sample, knn_every;
        const char *journal; /* resume, fresh */
    } cloud;

    nnxr_scene_plugin plugins[NNXR_SCENE_MAX_PLUGINS];
    size_t plugin_count;

    nnxr_toml_value *doc;      /* the file as parsed (owned) */
    nnxr_toml_value *resolved; /* every key with its value or default (owned) */
} nnxr_scene;

/* Loads, parses and validates a scene. On failure the message names the file, line:column
 * and the key, and what was allowed. The scene's plugin tables are not validated here: each
 * plugin validates its own when it is created. */
nnxr_scene *nnxr_scene_load(const char *path, nnxr_error *err);
nnxr_scene *nnxr_scene_parse(const char *text, size_t len, const char *name, nnxr_error *err);
void nnxr_scene_free(nnxr_scene *scene);

/* Writes the resolved scene as TOML (what `nnxr check` prints). */
bool nnxr_scene_write_resolved(const nnxr_scene *scene, FILE *out);

/* The schema, for documentation checks: each key as "table.key" with its meaning. */
typedef struct nnxr_scene_key_doc {
    const char *table;
    const char *key;
    const char *type;  /* "integer", "float", "bool", "string", "float[]", ... */
    const char *doc;
    char default_text[96]; /* the default as TOML */
    char allowed[256];     /* the range or the choices */
} nnxr_scene_key_doc;
size_t nnxr_scene_schema(const nnxr_scene_key_doc **keys);

/* Writes the schema as Markdown tables, one section per table (the body of docs/scenes.md). */
void nnxr_scene_write_schema_markdown(FILE *out);

#endif
