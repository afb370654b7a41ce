/* nnxr/model.h — the "nnxr.model" service: the model being trained, for plugins. It describes
 * the architecture (layers, shapes, activations) and hands out the GPU buffers that hold what
 * plugins draw, so that nothing travels back to the CPU:
 *   - the weights and biases of every layer (regions of the flat parameter vector),
 *   - the activations of every layer for a small fixed "probe" batch (the first samples of the
 *     evaluation set) and that batch's input,
 *   - per-class mean activations of every layer over the evaluation set,
 *   - for every sample of the evaluation set: class probabilities, the predicted class and its
 *     confidence (the largest probability),
 *   - for the VAE: mu of every training sample (the latent cloud) and, with a classifier,
 *     its class probabilities, predictions and confidences.
 * Regions are (buffer, byte offset, byte size) of engine-owned buffers: read them in compute or
 * draw work, never destroy them. They stay valid until `generation` changes (surgery, a new
 * batch size or a new evaluation buffer re-creates buffers): check it every frame. The
 * evaluation outputs are rewritten at every epoch end and on an EVALUATE command;
 * `outputs_version` counts those rewrites. */
#ifndef NNXR_MODEL_H
#define NNXR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"
#include "nnxr/gpu.h"

#define NNXR_SERVICE_MODEL "nnxr.model"

typedef enum nnxr_model_kind {
    NNXR_MODEL_NONE = 0,
    NNXR_MODEL_MLP = 1,
    NNXR_MODEL_CNN = 2,
    NNXR_MODEL_VAE = 3,
} nnxr_model_kind;

typedef enum nnxr_model_layer_kind {
    NNXR_LAYER_DENSE = 0,   /* W float[out_c][in_c*in_h*in_w], b float[out_c] */
    NNXR_LAYER_CONV = 1,    /* W float[out_c][in_c][k][k], b float[out_c]; stride 1 */
    NNXR_LAYER_MAXPOOL = 2, /* 2x2, stride 2; no parameters */
    NNXR_LAYER_ACT = 3,     /* a lone activation; no parameters */
} nnxr_model_layer_kind;

/* The activation applied to a layer's output (fused into dense and conv layers). */
typedef enum nnxr_model_act {
    NNXR_ACT_LINEAR = 0,
    NNXR_ACT_RELU = 1,
    NNXR_ACT_TANH = 2,
    NNXR_ACT_SIGMOID = 3,
} nnxr_model_act;

/* Which part of the model a layer belongs to. An mlp or cnn has only MAIN. */
typedef enum nnxr_model_part {
    NNXR_PART_MAIN = 0,
    NNXR_PART_ENCODER = 0,
    NNXR_PART_MU = 1,
    NNXR_PART_LOGVAR = 2,
    NNXR_PART_DECODER = 3,
    NNXR_PART_CLASSIFIER = 4,
} nnxr_model_part;

/* A byte range of an engine buffer; buffer NULL = not available (size 0). */
typedef struct nnxr_model_region {
    const nnxr_buffer *buffer;
    VkDeviceSize offset;
    VkDeviceSize size;
} nnxr_model_region;

typedef struct nnxr_model_layer {
    char name[24];             /* "dense0", "conv1", "pool2", "mu", "dec1", "cls0", ... */
    nnxr_model_part part;
    nnxr_model_layer_kind kind;
    nnxr_model_act act;
    uint32_t in_c, in_h, in_w;  /* per-sample input shape (flat vectors: h = w = 1) */
    uint32_t out_c, out_h, out_w;
    uint32_t k;                 /* conv kernel size */
    nnxr_model_region weights;  /* float; absent for maxpool and act */
    nnxr_model_region biases;
    /* float [probe_count][out_c][out_h][out_w]: this layer's (activated) output on the probe
     * batch. */
    nnxr_model_region probe;
    /* float [classes][out_c*out_h*out_w]: mean output per true class over the evaluation set
     * (classification models, and a VAE with a classifier: every part, by true class). A
     * class without samples has zeros. */
    nnxr_model_region class_mean;
} nnxr_model_layer;

/* Per-sample outputs over one set of samples. */
typedef struct nnxr_model_outputs {
    uint32_t count;               /* samples */
    nnxr_model_region probs;      /* float [count][classes] */
    nnxr_model_region predicted;  /* int32 [count]: argmax of probs (first maximum) */
    nnxr_model_region confidence; /* float [count]: max of probs */
    nnxr_model_region labels;     /* int32 [count]: the true class */
    nnxr_model_region mu;         /* VAE: float [count][latent_dim] */
} nnxr_model_outputs;

typedef struct nnxr_model_info {
    size_t size;                  /* sizeof the struct the host filled */
    uint64_t generation;          /* changes whenever a shape or a buffer changes */
    uint64_t outputs_version;     /* changes whenever evaluation outputs are rewritten */
    nnxr_model_kind kind;
    uint32_t in_c, in_h, in_w;    /* per-sample input (images 1x28x28; playground features) */
    uint32_t classes;             /* 0 for regression (and a VAE without a classifier) */
    uint32_t outputs;             /* width of the network's output */
    uint32_t latent_dim;          /* VAE */
    uint32_t layer_count;
    const nnxr_model_layer *layers;
    uint32_t param_count;
    nnxr_model_region params;     /* float [param_count], every layer's W then b, in order */
    uint32_t probe_count;
    nnxr_model_region probe_input;  /* float [probe_count][in size], as the network sees it */
    nnxr_model_region probe_labels; /* int32 [probe_count] */
    nnxr_model_outputs eval;      /* the evaluation set (validation, else test) */
    nnxr_model_outputs samples;   /* VAE: every training sample (the latent cloud) */
    uint64_t step, epoch;         /* optimizer steps and completed epochs */
    bool finished;                /* the [train] epochs limit is reached */
} nnxr_model_info;

/* One split of the data in host memory, as the trainer was given it (sample order = the order
 * of the matching outputs). Pointers are NULL when the split has no such array. */
typedef struct nnxr_model_host_set {
    uint32_t count;
    const uint8_t *u8;        /* [count][in size] bytes (images) */
    const float *f32;         /* [count][in size] floats (playground features) */
    const float *xy;          /* playground: [count][2], the point (x1, x2) itself */
    const uint8_t *labels;    /* [count] classes (classification) */
    const float *targets;     /* [count][outputs] (regression) */
} nnxr_model_host_set;

/* The data the model trains on, for plugins that draw samples (images in a gallery, points
 * on the playground's plane). Valid for the whole run. */
typedef struct nnxr_model_data {
    size_t size;                  /* sizeof the struct the host filled */
    float scale, offset;          /* the network's input is value * scale + offset */
    nnxr_model_host_set train;    /* the training set, in the order of info.samples */
    nnxr_model_host_set eval;     /* the set info.eval describes (validation, else test) */
    const char *const *class_names; /* [classes] short names, or NULL */
    /* Playground: the features in the network's input order ("x1", "x2", "x1^2", "x2^2",
     * "x1x2", "sin_x1", "sin_x2"), and the plane the points are drawn on:
     * [-domain, domain]^2. feature_count 0 for image data. */
    uint32_t feature_count;
    const char *features[8];
    float domain;
} nnxr_model_data;

typedef struct nnxr_model_api {
    void *ctx;
    size_t size; /* sizeof the table the host filled */
    /* A snapshot; the layer array and regions stay valid until generation changes. */
    bool (*info)(void *ctx, nnxr_model_info *out, nnxr_error *err);
    uint64_t (*generation)(void *ctx);
    /* The VAE classifier's training labels, one per training sample in the order of
     * `samples` (-1 = unlabeled; others < classes): only labeled samples train the
     * classifier. Takes effect before the next optimizer step. */
    bool (*set_labels)(void *ctx, const int32_t *labels, uint32_t count, nnxr_error *err);
    /* The data in host memory (check `size` reaches this member before calling it). */
    bool (*data)(void *ctx, nnxr_model_data *out, nnxr_error *err);
} nnxr_model_api;

#endif
