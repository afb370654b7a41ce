/* config/scene.c — the scene schema (every key of [scene], [dataset], [model], [train], [view],
 * [audio] and [cloud]: type, range, default, meaning), its validation, cross-key rules, and the
 * resolved document. */
#include "config/scene.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/status.h"

typedef enum { K_INT, K_FLOAT, K_BOOL, K_STRING, K_INTS, K_FLOATS, K_STRINGS } key_kind;

typedef struct key_spec {
    const char *table;
    const char *key;
    key_kind kind;
    size_t offset;     /* of the value (or first element) in nnxr_scene */
    size_t len_offset; /* arrays: of the size_t count */
    int64_t imin, imax, idef;
    double fmin, fmax, fdef;
    const char *sdef;
    const char *const *allowed;
    size_t min_len, max_len;
    const void *adef; /* array default */
    size_t adef_len;
    const char *doc;
} key_spec;

#define OFF(field) offsetof(nnxr_scene, field)
#define INT(t, k, field, def, lo, hi, d)                                                       \
    {.table = t, .key = k, .kind = K_INT, .offset = OFF(field), .idef = def, .imin = lo,      \
     .imax = hi, .doc = d}
#define FLT(t, k, field, def, lo, hi, d)                                                       \
    {.table = t, .key = k, .kind = K_FLOAT, .offset = OFF(field), .fdef = def, .fmin = lo,    \
     .fmax = hi, .doc = d}
#define BOOL(t, k, field, def, d)                                                              \
    {.table = t, .key = k, .kind = K_BOOL, .offset = OFF(field), .idef = def, .doc = d}
#define STR(t, k, field, def, allow, d)                                                        \
    {.table = t, .key = k, .kind = K_STRING, .offset = OFF(field), .sdef = def,               \
     .allowed = allow, .doc = d}
#define ARR(t, k, kd, field, lenf, def, lo_len, hi_len, d)                                     \
    {.table = t, .key = k, .kind = kd, .offset = OFF(field), .len_offset = OFF(lenf),         \
     .adef = def, .adef_len = sizeof def / sizeof def[0], .min_len = lo_len,                  \
     .max_len = hi_len, .doc = d}

static const char *const modes[] = {"auto", "headless", "window", "xr", NULL};
static const char *const dataset_kinds[] = {"none", "fashion-mnist", "idx", "playground", NULL};
static const char *const playground_sets[] = {"circle", "xor", "gauss", "spiral",
                                              "plane", "multigauss", NULL};
static const char *const feature_names[] = {"x1", "x2", "x1^2", "x2^2", "x1*x2",
                                            "sin(x1)", "sin(x2)", NULL};
static const char *const model_kinds[] = {"none", "mlp", "cnn", "vae", NULL};
static const char *const activations[] = {"relu", "tanh", "sigmoid", "linear", NULL};
static const char *const optimizers[] = {"sgd", "adam", NULL};
static const char *const export_items[] = {"latents", "predictions", "activations", NULL};
static const char *const cloud_journal_modes[] = {"resume", "fresh", NULL};

static const char *const def_features[] = {"x1", "x2"};
static const int64_t def_hidden[] = {16, 16};
static const char *const def_cnn[] = {"conv16", "conv32", "maxpool", "fc64", "fc64"};
static const int64_t def_encoder[] = {256};
static const int64_t def_decoder[] = {256};
static const int64_t def_classifier[] = {32};
static const double def_background[] = {0.02, 0.02, 0.04};
static const double def_eye[] = {0.0, 0.0, 4.0};
static const double def_target[] = {0.0, 0.0, 0.0};

static const key_spec schema[] = {
    STR("scene", "name", scene.name, "", NULL,
        "A title for the run (summary.json, window title). Empty: the file's name."),
    STR("scene", "description", scene.description, "", NULL, "Free text about the scene."),
    STR("scene", "mode", scene.mode, "auto", modes,
        "Where it runs: auto (a headset if an OpenXR runtime is there, else a window if there "
        "is a display, else headless), headless, window or xr. `--headless` overrides it."),
    INT("scene", "seed", scene.seed, 1, 0, INT64_MAX,
        "Seed of every random choice (data, initial weights, shuffles): one seed, one run."),
    INT("scene", "frames", scene.frames, 0, 0, INT64_MAX,
        "Frames to run, 0 for no limit (a headless run without a limit stops after 300)."),
    FLT("scene", "seconds", scene.seconds, 0.0, 0.0, 1e9,
        "Seconds to run, 0 for no limit; with frames too, whichever comes first."),

    STR("dataset", "kind", dataset.kind, "none", dataset_kinds,
        "none; fashion-mnist (Debian's dataset-fashion-mnist); idx (an MNIST-format folder at "
        "`path`); playground (a TensorFlow Playground set generated from the seed)."),
    STR("dataset", "path", dataset.path, "", NULL,
        "For idx: the folder holding train-/t10k- images and labels (.gz or not). For "
        "fashion-mnist: another folder than /usr/share/datasets/fashion-mnist."),
    INT("dataset", "subset", dataset.subset, 0, 0, INT64_MAX,
        "Use only this many training samples (0: all)."),
    BOOL("dataset", "join_test", dataset.join_test, false,
         "Image sets: the test file's images join the training images before the validation "
         "carve and the subset (Fashion-MNIST: all 70,000), for the latent cloud and other "
         "unsupervised uses; there is then no test set."),
    INT("dataset", "validation", dataset.validation, 5000, 0, INT64_MAX,
        "Samples carved from the training set for validation."),
    STR("dataset", "playground", dataset.playground, "spiral", playground_sets,
        "Which playground set: circle, xor, gauss, spiral (classification), plane, multigauss "
        "(regression)."),
    INT("dataset", "points", dataset.points, 500, 10, 1000000,
        "Playground: points generated (train and test together)."),
    FLT("dataset", "noise", dataset.noise, 0.0, 0.0, 0.5, "Playground: noise, 0 to 0.5."),
    FLT("dataset", "train_ratio", dataset.train_ratio, 0.5, 0.1, 0.9,
        "Playground: the share of points used for training; the rest is the test set."),
    ARR("dataset", "features", K_STRINGS, dataset.features, dataset.feature_count, def_features,
        1, NNXR_SCENE_MAX_FEATURES,
        "Playground: input features, any of x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)."),

    STR("model", "kind", model.kind, "none", model_kinds,
        "none, mlp, cnn, or vae (a variational autoencoder with a classifier on its latent)."),
    ARR("model", "hidden", K_INTS, model.hidden, model.hidden_count, def_hidden, 0,
        NNXR_SCENE_MAX_LAYERS, "mlp: width of each hidden layer."),
    STR("model", "activation", model.activation, "relu", activations,
        "Activation of hidden layers: relu, tanh, sigmoid or linear."),
    ARR("model", "layers", K_STRINGS, model.layers, model.layer_count, def_cnn, 1,
        NNXR_SCENE_MAX_LAYERS * 2,
        "cnn: the layers in order: convN (N 3x3 filters, same padding), convN_kK (kernel K), "
        "maxpool (2x2), fcN (dense, N units); the 10-way output is appended."),
    INT("model", "latent_dim", model.latent_dim, 3, 1, 64, "vae: dimensions of the latent."),
    ARR("model", "encoder", K_INTS, model.encoder, model.encoder_count, def_encoder, 0,
        NNXR_SCENE_MAX_LAYERS, "vae: hidden widths of the encoder."),
    ARR("model", "decoder", K_INTS, model.decoder, model.decoder_count, def_decoder, 0,
        NNXR_SCENE_MAX_LAYERS, "vae: hidden widths of the decoder."),
    ARR("model", "classifier", K_INTS, model.classifier, model.classifier_count,
        def_classifier, 0, NNXR_SCENE_MAX_LAYERS,
        "vae: hidden widths of the classifier head on the latent mean."),
    FLT("model", "beta", model.beta, 1.0, 0.0, 1000.0, "vae: weight of the KL term."),
    FLT("model", "classifier_weight", model.classifier_weight, 1.0, 0.0, 1000.0,
        "vae: weight of the classifier's cross-entropy in the loss."),
    STR("model", "checkpoint", model.checkpoint, "", NULL,
        "Start from this .npz checkpoint (a path relative to the scene file)."),

    STR("train", "optimizer", train.optimizer, "sgd", optimizers,
        "sgd (with momentum, as AIive: dW = momentum*dW_prev - lr*grad) or adam."),
    FLT("train", "lr", train.lr, 0.05, 0.0, 10.0, "Learning rate."),
    FLT("train", "momentum", train.momentum, 0.9, 0.0, 0.999, "sgd: momentum."),
    FLT("train", "beta1", train.beta1, 0.9, 0.0, 0.9999, "adam: first-moment decay."),
    FLT("train", "beta2", train.beta2, 0.999, 0.0, 0.999999, "adam: second-moment decay."),
    FLT("train", "adam_epsilon", train.adam_epsilon, 1e-8, 0.0, 1.0, "adam: epsilon."),
    FLT("train", "l1", train.l1, 0.0, 0.0, 1.0, "L1 regularisation rate (weights only)."),
    FLT("train", "l2", train.l2, 0.0, 0.0, 1.0, "L2 regularisation rate (weights only)."),
    INT("train", "batch", train.batch, 64, 1, 65536, "Samples per optimizer step."),
    INT("train", "epochs", train.epochs, 0, 0, INT64_MAX,
        "Stop training after this many epochs (0: train as long as the scene runs)."),
    INT("train", "seed", train.seed, -1, -1, INT64_MAX,
        "Seed of initial weights and shuffles; -1 takes [scene] seed."),
    FLT("train", "budget_ms", train.budget_ms, 8.0, 0.1, 10000.0,
        "Compute time per frame given to training; as many steps as fit run in one submission."),
    INT("train", "max_steps_per_frame", train.max_steps_per_frame, 1000, 1, 1000000,
        "Upper bound on optimizer steps in one frame."),
    BOOL("train", "paused", train.paused, false, "Start with training paused."),
    INT("train", "eval_every", train.eval_every, 0, 0, INT64_MAX,
        "Also evaluate the validation set (val.loss, val.accuracy, and the running train.* of "
        "the epoch; a vae also refreshes mu of every sample) every this many optimizer steps; "
        "0: at epoch ends only."),
    INT("train", "probe", train.probe, 32, 0, 4096,
        "Samples of the probe batch (the first of the evaluation set) whose activations in "
        "every layer plugins read (activation grids, PCA); 0: none."),
    {.table = "train", .key = "export", .kind = K_STRINGS, .offset = OFF(train.export_what),
     .len_offset = OFF(train.export_count), .allowed = export_items, .min_len = 0, .max_len = 8,
     .doc = "What a run writes into --out at its end besides the checkpoint, as .npy: latents "
            "(vae: mu of every training sample), predictions (evaluation set: predicted class, "
            "confidence, probabilities, labels), activations (evaluation set, each layer of "
            "export_layers)."},
    {.table = "train", .key = "export_layers", .kind = K_STRINGS,
     .offset = OFF(train.export_layers), .len_offset = OFF(train.export_layer_count),
     .min_len = 0, .max_len = 32,
     .doc = "Layers whose activations are exported, by name (dense0, conv1, pool2, enc0, mu, "
            "dec1, cls0, ...); empty: every layer."},

    INT("view", "width", view.width, 1280, 16, 16384, "Width of the image, in pixels."),
    INT("view", "height", view.height, 720, 16, 16384, "Height of the image, in pixels."),
    INT("view", "samples", view.samples, 1, 1, 64,
        "MSAA samples per pixel (1, 2, 4, 8...); lowered to what the device supports."),
    ARR("view", "background", K_FLOATS, view.background, view.background_len, def_background,
        3, 3, "Clear colour, linear RGB in [0, 1]."),
    INT("view", "frame_every", view.frame_every, 30, 1, INT64_MAX,
        "Headless: write frames/NNNNNN.png every this many frames (the last frame always)."),
    FLT("view", "fps", view.fps, 90.0, 1.0, 1000.0,
        "Headless: frames per simulated second (time advances by 1/fps a frame)."),
    INT("view", "png_compression", view.png_compression, 1, 0, 9,
        "zlib level of written PNGs (1 is fast; 9 is small)."),
    ARR("view", "eye", K_FLOATS, view.eye, view.eye_len, def_eye, 3, 3,
        "Camera position of the desktop and headless view (metres)."),
    ARR("view", "target", K_FLOATS, view.target, view.target_len, def_target, 3, 3,
        "Point the camera looks at."),
    FLT("view", "fov", view.fov, 60.0, 5.0, 170.0, "Vertical field of view, degrees."),
    BOOL("view", "stereo", view.stereo, false,
         "Desktop and headless: two views side by side, left and right eye (a headset gives "
         "its own)."),
    FLT("view", "ipd", view.ipd, 0.064, 0.0, 1.0,
        "Stereo: distance between the eyes, metres."),

    BOOL("audio", "enabled", audio.enabled, true,
         "Sound on: plugins that make sound (the sonifier) play it, or write it when headless."),
    INT("audio", "sample_rate", audio.sample_rate, 48000, 8000, 192000, "Output sample rate."),
    BOOL("audio", "wav", audio.wav, true, "Headless: write the run's sound to audio.wav."),

    BOOL("cloud", "enabled", cloud.enabled, false,
         "The latent cloud (Kath et al.): every training sample a point pulled towards its "
         "VAE mean mapped into the room, labelled by annotation spheres. Needs [model] kind = "
         "\"vae\" with latent_dim = 3."),
    FLT("cloud", "k_s", cloud.k_s, 1.0, 0.0, 1e6, "Spring of each point towards its target."),
    FLT("cloud", "k_a", cloud.k_a, 0.5, 0.0, 1e6,
        "Attraction of a point towards the mean of its class (labelled points only)."),
    FLT("cloud", "k_r", cloud.k_r, 1e-5, 0.0, 1e6,
        "Softened all-pairs repulsion; its total grows with the point count (scale it as 1/n)."),
    FLT("cloud", "eps", cloud.eps, 0.02, 1e-6, 1000.0, "Softening length of the repulsion, metres."),
    FLT("cloud", "damping", cloud.damping, 0.1, 0.0, 1.0, "Fraction of velocity lost per step."),
    FLT("cloud", "dt", cloud.dt, 0.05, 1e-6, 10.0, "Time step of the simulation."),
    FLT("cloud", "room", cloud.room, 4.0, 0.01, 10000.0,
        "Edge of the cube, centred at the origin, that holds 98 % of the targets, metres."),
    INT("cloud", "steps_per_frame", cloud.steps_per_frame, 1, 0, 1000,
        "Simulation steps per frame, after training (each is O(n^2): ~0.1 s at 10,000 points "
        "on a CPU Vulkan device)."),
    BOOL("cloud", "freeze_when_paused", cloud.freeze_when_paused, false,
         "No simulation steps while training is paused (else the cloud keeps settling)."),
    BOOL("cloud", "machine_labels", cloud.machine_labels, false,
         "Points no user decided take the classifier's prediction in the force model and the "
         "exported labels. Off as in the paper: only user-annotated points are coloured and "
         "attract their class."),
    INT("cloud", "knn_k", cloud.knn_k, 5, 1, 64,
        "Neighbours of the cloud.knn_accuracy metric (k-NN of the VAE means against the true "
        "classes)."),
    INT("cloud", "knn_sample", cloud.knn_sample, 1000, 1, 1000000,
        "Points (a fixed random sample) whose neighbours the metric looks up among all points."),
    INT("cloud", "knn_every", cloud.knn_every, 30, 1, INT64_MAX,
        "Publish cloud.knn_accuracy, cloud.knn_accuracy_room and cloud.labelled every this many "
        "frames (and at the end)."),
    STR("cloud", "journal", cloud.journal, "resume", cloud_journal_modes,
        "An existing labels.journal in the output folder: resume replays it (every label made "
        "before is kept, and new ones append); fresh moves it aside to "
        "labels.journal.N.old and starts a new one."),
};

#define SCHEMA_LEN (sizeof schema / sizeof schema[0])

static const char *const tables[] = {"scene", "dataset", "model", "train", "view", "audio",
                                     "cloud", "plugin", NULL};

static void format_number(char *out, size_t n, double v)
{
    if (isinf(v))
        snprintf(out, n, "%s", v > 0 ? "inf" : "-inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, n, "%.1f", v);
    else
        snprintf(out, n, "%g", v);
}

static void describe_default(const key_spec *k, char *out, size_t n)
{
    size_t used = 0;
    char num[48];
    switch (k->kind) {
    case K_INT: snprintf(out, n, "%lld", (long long)k->idef); break;
    case K_FLOAT: format_number(out, n, k->fdef); break;
    case K_BOOL: snprintf(out, n, "%s", k->idef ? "true" : "false"); break;
    case K_STRING: snprintf(out, n, "\"%s\"", k->sdef); break;
    case K_INTS:
    case K_FLOATS:
    case K_STRINGS:
        used = (size_t)snprintf(out, n, "[");
        for (size_t i = 0; i < k->adef_len && used < n; i++) {
            if (k->kind == K_INTS)
                snprintf(num, sizeof num, "%lld", (long long)((const int64_t *)k->adef)[i]);
            else if (k->kind == K_FLOATS)
                format_number(num, sizeof num, ((const double *)k->adef)[i]);
            else
                snprintf(num, sizeof num, "\"%s\"", ((const char *const *)k->adef)[i]);
            used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", num);
        }
        if (used < n)
            snprintf(out + used, n - used, "]");
        break;
    }
}

static void describe_range(const key_spec *k, char *out, size_t n)
{
    char lo[48], hi[48];
    const char *const *choices = k->allowed;
    if (k->kind == K_STRINGS && !strcmp(k->key, "features"))
        choices = feature_names;
    out[0] = '\0';
    if (k->kind == K_INT) {
        if (k->imax == INT64_MAX)
            snprintf(out, n, ">= %lld", (long long)k->imin);
        else
            snprintf(out, n, "%lld to %lld", (long long)k->imin, (long long)k->imax);
    } else if (k->kind == K_FLOAT) {
        format_number(lo, sizeof lo, k->fmin);
        format_number(hi, sizeof hi, k->fmax);
        snprintf(out, n, "%s to %s", lo, hi);
    } else if (choices) {
        size_t used = 0;
        for (size_t i = 0; choices[i] && used < n; i++)
            used += (size_t)snprintf(out + used, n - used, "%s`%s`", i ? ", " : "", choices[i]);
    } else if (k->kind == K_BOOL) {
        snprintf(out, n, "true, false");
    }
    if (k->kind == K_INTS || k->kind == K_FLOATS || k->kind == K_STRINGS) {
        size_t used = strlen(out);
        if (k->min_len == k->max_len)
            snprintf(out + used, n - used, "%s%zu values", used ? "; " : "", k->min_len);
        else
            snprintf(out + used, n - used, "%s%zu to %zu values", used ? "; " : "", k->min_len,
                     k->max_len);
    }
}

size_t nnxr_scene_schema(const nnxr_scene_key_doc **keys)
{
    static nnxr_scene_key_doc docs[SCHEMA_LEN];
    static const char *const type_names[] = {"integer", "float", "bool", "string",
                                             "integer[]", "float[]", "string[]"};
    for (size_t i = 0; i < SCHEMA_LEN; i++) {
        docs[i] = (nnxr_scene_key_doc){schema[i].table, schema[i].key,
                                       type_names[schema[i].kind], schema[i].doc, "", ""};
        describe_default(&schema[i], docs[i].default_text, sizeof docs[i].default_text);
        describe_range(&schema[i], docs[i].allowed, sizeof docs[i].allowed);
    }
    *keys = docs;
    return SCHEMA_LEN;
}

void nnxr_scene_write_schema_markdown(FILE *out)
{
    const nnxr_scene_key_doc *keys;
    size_t n = nnxr_scene_schema(&keys);
    const char *table = "";
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table, keys[i].table)) {
            table = keys[i].table;
            fprintf(out, "%s## [%s]\n\n| key | type | default | allowed | meaning |\n"
                    "|---|---|---|---|---|\n", i ? "\n" : "", table);
        }
        fprintf(out, "| `%s` | %s | `%s` | %s | %s |\n", keys[i].key, keys[i].type,
                keys[i].default_text, keys[i].allowed, keys[i].doc);
    }
}

static bool read_key(nnxr_scene *s, const nnxr_config *cfg, const key_spec *k,
                     const char *stem, nnxr_error *err)
{
    const nnxr_config_api *api = nnxr_config_api_get();
    char *base = (char *)s;
    switch (k->kind) {
    case K_INT:
        return api->get_int(cfg, k->key, k->idef, k->imin, k->imax,
                            (int64_t *)(base + k->offset), err);
    case K_FLOAT:
        return api->get_float(cfg, k->key, k->fdef, k->fmin, k->fmax,
                              (double *)(base + k->offset), err);
    case K_BOOL:
        return api->get_bool(cfg, k->key, k->idef != 0, (bool *)(base + k->offset), err);
    case K_STRING:
        /* An empty [scene] name defaults to the file's stem. */
        return api->get_string(cfg, k->key,
                               !strcmp(k->table, "scene") && !strcmp(k->key, "name") ? stem
                                                                                    : k->sdef,
                               k->allowed,
                               (const char **)(base + k->offset), err);
    case K_INTS:
        return api->get_int_array(cfg, k->key, k->adef, k->adef_len, k->min_len, k->max_len, 1,
                                  1 << 20, (int64_t *)(base + k->offset),
                                  (size_t *)(base + k->len_offset), err);
    case K_FLOATS:
        return api->get_float_array(cfg, k->key, k->adef, k->adef_len, k->min_len, k->max_len,
                                    -1e6, 1e6, (double *)(base + k->offset),
                                    (size_t *)(base + k->len_offset), err);
    case K_STRINGS: {
        const char *const *allowed = !strcmp(k->key, "features") ? feature_names : k->allowed;
        return api->get_string_array(cfg, k->key, k->adef, k->adef_len, k->min_len, k->max_len,
                                     allowed, (const char **)(base + k->offset),
                                     (size_t *)(base + k->len_offset), err);
    }
    }
    return false;
}

static bool fail_at(nnxr_error *err, const nnxr_scene *s, const char *table, const char *key,
                    const char *fmt, const char *detail)
{
    const nnxr_toml_value *t = nnxr_toml_table_get(s->doc, table);
    const nnxr_toml_value *v = t ? nnxr_toml_table_get(t, key) : NULL;
    char msg[600];
    snprintf(msg, sizeof msg, fmt, detail);
    if (v && nnxr_toml_key_line(v) > 0)
        return nnxr_fail(err, "%s:%d:%d: [%s] %s: %s", s->path, nnxr_toml_key_line(v),
                         nnxr_toml_key_column(v), table, key, msg);
    return nnxr_fail(err, "%s: [%s] %s: %s", s->path, table, key, msg);
}

/* A cnn layer word: convN, convN_kK, maxpool, fcN. */
static bool cnn_layer_ok(const char *w)
{
    char *end;
    if (!strcmp(w, "maxpool"))
        return true;
    if (!strncmp(w, "fc", 2)) {
        long n = strtol(w + 2, &end, 10);
        return end != w + 2 && *end == '\0' && n > 0 && n <= 65536;
    }
    if (!strncmp(w, "conv", 4)) {
        long n = strtol(w + 4, &end, 10);
        if (end == w + 4 || n <= 0 || n > 4096)
            return false;
        if (*end == '\0')
            return true;
        if (strncmp(end, "_k", 2))
            return false;
        const char *k = end + 2;
        long ks = strtol(k, &end, 10);
        return end != k && *end == '\0' && ks >= 1 && ks <= 15 && ks % 2 == 1;
    }
    return false;
}

static bool cross_check(nnxr_scene *s, nnxr_error *err)
{
    const char *mk = s->model.kind, *dk = s->dataset.kind;
    bool images = !strcmp(dk, "fashion-mnist") || !strcmp(dk, "idx");
    bool regression = !strcmp(dk, "playground") &&
                      (!strcmp(s->dataset.playground, "plane") ||
                       !strcmp(s->dataset.playground, "multigauss"));
    if (strcmp(mk, "none") && !strcmp(dk, "none"))
        return fail_at(err, s, "model", "kind", "model '%s' needs a [dataset] kind", mk);
    if ((!strcmp(mk, "cnn") || !strcmp(mk, "vae")) && !images)
        return fail_at(err, s, "model", "kind", "model '%s' needs an image dataset "
                       "(fashion-mnist or idx)", mk);
    if (s->dataset.join_test && !images)
        return fail_at(err, s, "dataset", "join_test", "%s",
                       "joins the test file of an image set (kind fashion-mnist or idx)");
    if (!strcmp(dk, "idx") && !s->dataset.path[0])
        return fail_at(err, s, "dataset", "path", "%s", "kind 'idx' needs a path to a folder");
    if (regression && strcmp(mk, "mlp") && strcmp(mk, "none"))
        return fail_at(err, s, "model", "kind", "regression sets train an mlp, not '%s'", mk);
    for (size_t i = 0; i < s->model.layer_count; i++)
        if (!cnn_layer_ok(s->model.layers[i]))
            return fail_at(err, s, "model", "layers",
                           "'%s' is not a layer (expected convN, convN_kK with odd K, maxpool "
                           "or fcN)", s->model.layers[i]);
    for (size_t i = 0; i < s->dataset.feature_count; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->dataset.features[i], s->dataset.features[j]))
                return fail_at(err, s, "dataset", "features", "'%s' is listed twice",
                               s->dataset.features[i]);
    if (s->cloud.enabled && strcmp(mk, "vae"))
        return fail_at(err, s, "cloud", "enabled", "the latent cloud needs a vae model "
                       "([model] kind = \"vae\"), this scene's is '%s'", mk);
    if (s->cloud.enabled && s->model.latent_dim != 3) {
        char d[32];
        snprintf(d, sizeof d, "%lld", (long long)s->model.latent_dim);
        return fail_at(err, s, "cloud", "enabled", "the latent cloud needs [model] latent_dim "
                       "= 3 (one room axis per latent unit), this scene's is %s", d);
    }
    if (s->train.seed < 0)
        s->train.seed = s->scene.seed;
    return true;
}

static bool load_plugins(nnxr_scene *s, nnxr_error *err)
{
    static const char *const host_keys[] = {"id", NULL};
    const nnxr_toml_value *arr = nnxr_toml_table_get(s->doc, "plugin");
    if (!arr)
        return true;
    if (nnxr_toml_type_of(arr) != NNXR_TOML_ARRAY)
        return nnxr_fail(err, "%s:%d:%d: 'plugin' must be an array of tables ([[plugin]]), got a %s",
                         s->path, nnxr_toml_key_line(arr), nnxr_toml_key_column(arr),
                         nnxr_toml_type_name(nnxr_toml_type_of(arr)));
    nnxr_toml_value *rarr = nnxr_toml_set_array(s->resolved, "plugin");
    size_t n = nnxr_toml_array_len(arr);
    if (n > NNXR_SCENE_MAX_PLUGINS)
        return nnxr_fail(err, "%s: %zu plugins, at most %d", s->path, n, NNXR_SCENE_MAX_PLUGINS);
    for (size_t i = 0; i < n; i++) {
        const nnxr_toml_value *t = nnxr_toml_array_at(arr, i);
        if (nnxr_toml_type_of(t) != NNXR_TOML_TABLE)
            return nnxr_fail(err, "%s:%d:%d: [[plugin]] #%zu must be a table", s->path,
                             nnxr_toml_line(t), nnxr_toml_column(t), i + 1);
        nnxr_scene_plugin *p = &s->plugins[i];
        p->line = nnxr_toml_line(t);
        p->column = nnxr_toml_column(t);
        const nnxr_toml_value *id = nnxr_toml_table_get(t, "id");
        if (!id || nnxr_toml_type_of(id) != NNXR_TOML_STRING || !nnxr_toml_string(id)[0])
            return nnxr_fail(err, "%s:%d:%d: [[plugin]] #%zu: missing key 'id' (a plugin id "
                             "such as \"nnxr.hud\"; `nnxr plugins` lists them)",
                             s->path, p->line, p->column, i + 1);
        nnxr_toml_value *r = nnxr_toml_push_table(rarr);
        nnxr_toml_value *rid = nnxr_toml_set_string(r, "id", nnxr_toml_string(id));
        p->id = nnxr_toml_string(rid);
        char where[160];
        snprintf(where, sizeof where, "[[plugin]] #%zu (%s)", i + 1, p->id);
        nnxr_config_init(&p->config, t, r, s->path, where);
        p->config.host_keys = host_keys;
    }
    s->plugin_count = n;
    return true;
}

nnxr_scene *nnxr_scene_parse(const char *text, size_t len, const char *name, nnxr_error *err)
{
    nnxr_scene *s = calloc(1, sizeof *s);
    if (!s) {
        nnxr_fail(err, "out of memory");
        return NULL;
    }
    snprintf(s->path, sizeof s->path, "%s", name);
    s->doc = nnxr_toml_parse(text, len, name, err);
    s->resolved = nnxr_toml_new_table();
    if (!s->doc || !s->resolved)
        goto fail;

    char stem[256];
    const char *base = strrchr(s->path, '/');
    base = base ? base + 1 : s->path;
    size_t stem_len = strnlen(base, sizeof stem - 1);
    memcpy(stem, base, stem_len);
    stem[stem_len] = '\0';
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';

    /* Top level: only the known tables. */
    for (size_t i = 0; i < nnxr_toml_table_len(s->doc); i++) {
        const char *key = nnxr_toml_table_key(s->doc, i);
        const nnxr_toml_value *v = nnxr_toml_table_at(s->doc, i);
        bool known = false;
        for (size_t t = 0; tables[t] && !known; t++)
            known = !strcmp(tables[t], key);
        if (!known) {
            const char *near = nnxr_nearest_word(key, tables);
            nnxr_fail(err, "%s:%d:%d: unknown table or key '%s'%s%s%s; a scene has [scene], "
                      "[dataset], [model], [train], [view], [audio], [cloud] and [[plugin]]",
                      s->path, nnxr_toml_key_line(v), nnxr_toml_key_column(v), key,
                      near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            goto fail;
        }
        if (strcmp(key, "plugin") && nnxr_toml_type_of(v) != NNXR_TOML_TABLE) {
            nnxr_fail(err, "%s:%d:%d: '%s' must be a table ([%s]), got %s", s->path,
                      nnxr_toml_key_line(v), nnxr_toml_key_column(v), key, key,
                      nnxr_toml_type_name(nnxr_toml_type_of(v)));
            goto fail;
        }
    }

    for (size_t t = 0; tables[t]; t++) {
        if (!strcmp(tables[t], "plugin"))
            continue;
        const nnxr_toml_value *table = nnxr_toml_table_get(s->doc, tables[t]);
        nnxr_toml_value *rt = nnxr_toml_set_table(s->resolved, tables[t]);
        char where[32];
        snprintf(where, sizeof where, "[%s]", tables[t]);
        nnxr_config cfg;
        nnxr_config_init(&cfg, table, rt, s->path, where);
        const char *known[64];
        size_t nk = 0;
        for (size_t k = 0; k < SCHEMA_LEN; k++)
            if (!strcmp(schema[k].table, tables[t]) && nk < 63)
                known[nk++] = schema[k].key;
        known[nk] = NULL;
        if (!nnxr_config_api_get()->check_keys(&cfg, known, err))
            goto fail;
        for (size_t k = 0; k < SCHEMA_LEN; k++)
            if (!strcmp(schema[k].table, tables[t]) && !read_key(s, &cfg, &schema[k], stem, err))
                goto fail;
    }
    if (!cross_check(s, err) || !load_plugins(s, err))
        goto fail;
    return s;
fail:
    nnxr_scene_free(s);
    return NULL;
}

nnxr_scene *nnxr_scene_load(const char *path, nnxr_error *err)
{
    size_t len;
    char *text = nnxr_read_file(path, &len, err);
    if (!text)
        return NULL;
    nnxr_scene *s = nnxr_scene_parse(text, len, path, err);
    free(text);
    return s;
}

void nnxr_scene_free(nnxr_scene *scene)
{
    if (!scene)
        return;
    nnxr_toml_free(scene->doc);
    nnxr_toml_free(scene->resolved);
    free(scene);
}

bool nnxr_scene_write_resolved(const nnxr_scene *scene, FILE *out)
{
    fprintf(out, "# %s, resolved: every key with its value or its default\n", scene->path);
    return nnxr_toml_write_toml(scene->resolved, out);
}
