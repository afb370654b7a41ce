/* nn/trainer.h — training a model on the GPU: the data uploaded once (images stay uint8, 4 per
 * uint32; any set larger than maxStorageBufferRange split into chunks), per-epoch shuffles
 * through an index buffer, the training step recorded once and replayed (as many steps per
 * submission as fit the frame's budget), metrics per epoch and on request, evaluation outputs
 * that plugins read in GPU buffers (the "nnxr.model" service), live control between steps
 * (hyperparameters, neuron surgery, setting a neuron's weights, the VAE's label mask),
 * divergence detection with the last good weights restored, checkpoints and exports.
 *
 * Steps and submissions: recordings of 1, 2, 3, 4, 6, 8, 11, 16, ... steps (each ~1.41 times the
 * last) are made when first needed and replayed; a frame picks the largest that fits its budget
 * (measured time per step), the epoch's remaining steps and max_steps_per_frame, submits it once
 * and waits. Each recording starts by copying parameters and optimizer state to a backup and
 * ends with a finiteness check of the parameters and the loss sums; a set flag means the run
 * diverged inside that submission: the backup is copied back, the step counters return to where
 * the submission began, and the report says so (the app pauses). Small mlps use nn/layers.h's
 * fused whole-step kernel when it takes the network (falling back to the layered kernels when
 * it refuses a new shape after surgery).
 *
 * Epochs: the training set (or each chunk of it) is shuffled with a seeded permutation at every
 * epoch; an epoch is floor(count / batch) steps (at least 1), so the tail of each shuffle is
 * skipped. At an epoch's end: train loss/accuracy (averaged over the epoch's steps), evaluation
 * of the validation set (the test set when there is none), for the VAE mu of every training
 * sample, metrics published, next shuffle.
 *
 * Threading: one thread, the one that owns the nnxr_gpu. */
#ifndef NNXR_NN_TRAINER_H
#define NNXR_NN_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nn/layers.h"
#include "nn/model.h"
#include "nnxr/error.h"
#include "nnxr/model.h"

struct nnxr_scene;

/* ------------------------------------------------------------------ data */

/* One split in host memory (borrowed: the trainer copies it to the GPU at creation). */
typedef struct nnxr_train_split {
    uint32_t count;
    const uint8_t *u8;      /* count*features bytes (images), or */
    const float *f32;       /* count*features floats (playground features) */
    const uint8_t *labels;  /* count classes (classification) */
    const float *targets;   /* count*outputs (regression) */
    const float *xy;        /* playground: count*2, the raw point of each sample (optional) */
} nnxr_train_split;

typedef struct nnxr_train_data {
    uint32_t in_c, in_h, in_w;  /* per-sample shape; features = in_c*in_h*in_w */
    uint32_t classes;           /* classification: labels < classes; 0 = regression */
    uint32_t outputs;           /* regression: targets per sample */
    float scale, offset;        /* x = value*scale + offset in the shader; scale 0 = 1/255 for
                                   u8, 1 for f32 */
    nnxr_train_split train, val, test;
    /* For the model service's data view (optional): class names, the playground's features
     * in input order and its plane [-domain, domain]^2. */
    const char *const *class_names;
    uint32_t feature_count;
    const char *features[8];
    float domain;
} nnxr_train_data;

/* A scene's data loaded into owned arrays (nnxr_train_data_load_scene). */
typedef struct nnxr_train_data_owned {
    nnxr_train_data data;   /* points into what is below */
    void *images;           /* an nnxr_image_dataset (data/dataset.h), or NULL */
    void *points;           /* an nnxr_pg_data (data/playground.h), or NULL */
    float *features[3];     /* playground features of train, val, test */
    uint8_t *labels[3];
    const char *const *class_names; /* static, or NULL */
} nnxr_train_data_owned;

/* [dataset] of a scene: fashion-mnist / idx (subset, validation carve) or playground (points,
 * noise, train:test ratio, features). The seed is the scene's. */
bool nnxr_train_data_load_scene(const struct nnxr_scene *scene, nnxr_train_data_owned *out,
                                nnxr_error *err);
void nnxr_train_data_free(nnxr_train_data_owned *d);

/* ------------------------------------------------------------------ configuration */

typedef struct nnxr_train_config {
    nnxr_model_desc model;
    nnxr_nn_optimizer optimizer;
    double lr, momentum, beta1, beta2, adam_eps, l1, l2;
    uint32_t batch;
    uint64_t epochs;              /* stop after this many; 0 = no limit */
    uint64_t seed;                /* initial weights, shuffles, the VAE's noise */
    double budget_ms;             /* GPU time per frame for training */
    uint32_t max_steps_per_frame;
    const char *checkpoint;       /* start from this .npz; NULL or "" = fresh weights */
    char checkpoint_buf[4096];    /* storage for a resolved path (from a scene) */
    /* What `nnxr_trainer_export` writes: "latents", "predictions", "activations". */
    const char *export_what[8];
    uint32_t export_count;
    const char *export_layers[32]; /* layer names for "activations" (none = every layer) */
    uint32_t export_layer_count;
    /* Engine choices (tests and the bench set these). */
    bool shuffle;                 /* false: samples in file order every epoch */
    int fused;                    /* -1 auto, 0 never the fused tiny-MLP kernel, 1 require it */
    bool eval_each_epoch;         /* evaluate at every epoch's end (default true) */
    uint64_t eval_every;          /* also every this many steps (0: never) */
    uint32_t eval_batch;          /* samples per evaluation dispatch chain; 0 = auto */
    uint32_t probe_count;         /* probe batch size (default 32; 0 = none) */
    VkDeviceSize chunk_bytes;     /* data chunk limit; 0 = maxStorageBufferRange */
    uint32_t max_recorded_steps;  /* longest recording (default 1024) */
    bool profile;                 /* time every dispatch of each recording's first step
                                   * (nnxr_trainer_profile) */
    nnxr_nn *nn;                  /* kernels to use; NULL = the trainer makes its own */
    /* Metrics sink (train.loss, val.accuracy, epoch, ...); may be NULL. */
    void (*publish)(void *user, const char *name, double value);
    void *publish_user;
} nnxr_train_config;

/* lr 0.05, momentum 0.9, Adam 0.9/0.999/1e-8, batch 64, seed 1, budget 8 ms, 1000 steps per
 * frame, shuffle on, fused auto, eval each epoch, probe 32. */
nnxr_train_config nnxr_train_config_default(void);

/* [model] and [train] of a scene on top of the defaults (the data gives input shape and
 * classes). Strings point into the scene, which must outlive the config. */
bool nnxr_train_config_from_scene(const struct nnxr_scene *scene, const nnxr_train_data *data,
                                  nnxr_train_config *cfg, nnxr_error *err);

/* ------------------------------------------------------------------ the trainer */

typedef struct nnxr_trainer nnxr_trainer;

/* The trainer copies the data to the GPU; it keeps a pointer to `data` only for the model
 * service's data view, which must not be asked for once `data` is gone. */
bool nnxr_trainer_create(nnxr_gpu *gpu, const nnxr_train_config *cfg,
                         const nnxr_train_data *data, nnxr_trainer **out, nnxr_error *err);
/* Waits for the GPU work it submitted; NULL is fine. */
void nnxr_trainer_destroy(nnxr_trainer *t);

typedef struct nnxr_train_report {
    uint32_t steps;       /* optimizer steps taken (and kept) */
    uint32_t submissions;
    uint32_t epochs_ended;
    bool diverged;        /* NaN/Inf: the last good weights are back; pause training */
    bool finished;        /* the epoch limit is reached */
} nnxr_train_report;

/* One frame's training: nothing when paused or finished, else one submission of as many
 * steps as fit budget_ms (measured), max_steps_per_frame and the current epoch. rep may be
 * NULL. */
bool nnxr_trainer_frame(nnxr_trainer *t, bool paused, nnxr_train_report *rep, nnxr_error *err);

/* Exactly n more steps (fewer if the run diverges or finishes), in as few submissions as the
 * recordings allow with at most ~1 s of measured GPU time each (the first submission is one
 * step), epoch ends handled as in frames. */
bool nnxr_trainer_steps(nnxr_trainer *t, uint64_t n, nnxr_train_report *rep, nnxr_error *err);

/* Steps until `epochs` more epochs have ended. */
bool nnxr_trainer_epochs(nnxr_trainer *t, uint64_t epochs, nnxr_train_report *rep,
                         nnxr_error *err);

typedef enum nnxr_train_set {
    NNXR_SET_TRAIN = 0,
    NNXR_SET_VAL = 1,
    NNXR_SET_TEST = 2,
} nnxr_train_set;

typedef struct nnxr_eval_result {
    uint32_t count;       /* samples evaluated */
    double loss;          /* CE or MSE; VAE: bce + kl + cls_weight * cls_loss */
    double accuracy;      /* classification (VAE: the classifier on mu, true labels); NaN for
                             regression */
    double bce, kl, cls_loss; /* VAE parts (kl already times beta) */
} nnxr_eval_result;

/* Evaluates a set now (one submission): loss, accuracy, and the outputs plugins read
 * (probabilities, predictions, confidences, per-class means of the evaluation set, the probe
 * batch's activations; for the VAE's training set mu of every sample). Publishes
 * "<set>.loss"/"<set>.accuracy" for the validation ("val") and test ("test") sets. */
bool nnxr_trainer_evaluate(nnxr_trainer *t, nnxr_train_set set, nnxr_eval_result *out,
                           nnxr_error *err);
/* Loss and accuracy only, published the same way: no per-sample outputs, class means or probe
 * (AIive's drag re-evaluates at hand speed). */
bool nnxr_trainer_evaluate_quick(nnxr_trainer *t, nnxr_train_set set, nnxr_eval_result *out,
                                 nnxr_error *err);
/* The set `val.*` metrics describe: VAL, or TEST when the data has no validation split. */
nnxr_train_set nnxr_trainer_eval_set(const nnxr_trainer *t);

/* Loss and accuracy averaged over the steps of the current epoch so far (reads back). */
bool nnxr_trainer_train_stats(nnxr_trainer *t, nnxr_eval_result *out, nnxr_error *err);

/* ---- live control (between steps) ---- */

/* lr, momentum, beta1, beta2, adam_epsilon, l1, l2, beta (the VAE's KL weight), batch,
 * budget_ms, max_steps_per_frame. A new batch size re-records the step and continues the
 * epoch at the next whole batch. */
bool nnxr_trainer_set_hparam(nnxr_trainer *t, const char *name, double value, nnxr_error *err);
bool nnxr_trainer_get_hparam(const nnxr_trainer *t, const char *name, double *value);

/* mlp only; layer is a hidden layer (0-based). A new neuron gets small random incoming and
 * outgoing weights, bias 0 and zero optimizer state; every other parameter and state value
 * stays bit-identical. Removing keeps at least one neuron. */
bool nnxr_trainer_add_neuron(nnxr_trainer *t, uint32_t layer, nnxr_error *err);
bool nnxr_trainer_remove_neuron(nnxr_trainer *t, uint32_t layer, uint32_t index,
                                nnxr_error *err);
/* The incoming weights of neuron `index` of hidden layer `layer` (fan-in values, W_l[index][:])
 * then its outgoing weights (W_{l+1}[:][index]): count must be fan_in + fan_out. */
bool nnxr_trainer_set_neuron_weights(nnxr_trainer *t, uint32_t layer, uint32_t index,
                                     const float *values, size_t count, nnxr_error *err);
/* Hidden layers of an mlp and their widths (0 for other models). */
uint32_t nnxr_trainer_hidden_layers(const nnxr_trainer *t, uint32_t *widths, uint32_t max);

/* The VAE classifier's label mask: labels[i] for training sample i (in the order of the
 * "samples" outputs), -1 = unlabeled, else < classes. count must equal the training set's. */
bool nnxr_trainer_set_labels(nnxr_trainer *t, const int32_t *labels, uint32_t count,
                             nnxr_error *err);

/* ---- state ---- */

const nnxr_model *nnxr_trainer_model(const nnxr_trainer *t);
uint64_t nnxr_trainer_step(const nnxr_trainer *t);   /* optimizer steps taken */
uint64_t nnxr_trainer_epoch(const nnxr_trainer *t);  /* epochs completed */
bool nnxr_trainer_finished(const nnxr_trainer *t);
bool nnxr_trainer_fused(const nnxr_trainer *t);      /* the fused tiny-MLP kernel is in use */
uint32_t nnxr_trainer_train_count(const nnxr_trainer *t);
uint32_t nnxr_trainer_data_chunks(const nnxr_trainer *t); /* chunks of the training set */
/* Dispatches per step in the latest step recording, counting its per-submission backup copy
 * and checks (a fused recording of many steps is below 1). 0 before the first step. */
double nnxr_trainer_step_dispatches(const nnxr_trainer *t);

/* Where the first step of the last training submission spent its time, call by call in the
 * order first recorded (repeated calls summed), from device timestamps; needs cfg.profile.
 * The fused tiny-MLP kernel's dispatches run all the submission's steps: they are timed
 * whole. Returns the rows written (0 without a profiled submission). */
typedef struct nnxr_train_profile_row {
    char call[64];                /* the nn call that recorded the dispatches */
    uint32_t dispatches;
    double ms;
} nnxr_train_profile_row;
uint32_t nnxr_trainer_profile(const nnxr_trainer *t, nnxr_train_profile_row *rows, uint32_t max);

/* Parameters (param_count floats) and optimizer state (SGD: delta in state1; Adam: m, v). */
bool nnxr_trainer_read_params(nnxr_trainer *t, float *params, nnxr_error *err);
bool nnxr_trainer_write_params(nnxr_trainer *t, const float *params, nnxr_error *err);
bool nnxr_trainer_read_state(nnxr_trainer *t, float *state1, float *state2, nnxr_error *err);
/* Where the per-sample outputs of a set live, for tests (host copies by readback): probs
 * [count][classes], predicted, confidence, labels, mu [count][latent]. Any may be NULL. */
bool nnxr_trainer_read_outputs(nnxr_trainer *t, nnxr_train_set set, float *probs,
                               int32_t *predicted, float *confidence, int32_t *labels,
                               float *mu, nnxr_error *err);

/* ---- checkpoints and exports ---- */

/* Every parameter and the optimizer state as an .npz numpy reads (atomic write):
 * "<layer>.w", "<layer>.b" (layers named as nnxr_model_op_name), "opt1.<tensor>" (SGD delta,
 * Adam m), "opt2.<tensor>" (Adam v), and meta.* scalars (step, epoch, optimizer, kind, seed,
 * hidden widths of an mlp). */
bool nnxr_trainer_save_checkpoint(nnxr_trainer *t, const char *path, nnxr_error *err);
/* Restores parameters, optimizer state and counters. An mlp whose checkpoint has other hidden
 * widths (after surgery) takes them. Names, dtypes and shapes are checked with messages naming
 * the file and array. */
bool nnxr_trainer_load_checkpoint(nnxr_trainer *t, const char *path, nnxr_error *err);

/* Writes the configured exports as .npy into dir: latents.npy (VAE: mu of every training
 * sample), predictions.npy / confidence.npy / probs.npy / true_labels.npy (evaluation set),
 * activations_<layer>.npy (evaluation set, each layer's output; at most 256 MiB per file, the
 * first samples that fit). *written (may be NULL) gets the number of files. */
bool nnxr_trainer_export(nnxr_trainer *t, const char *dir, uint32_t *written, nnxr_error *err);

/* ---- the "nnxr.model" service ---- */

bool nnxr_trainer_model_info(nnxr_trainer *t, nnxr_model_info *out, nnxr_error *err);
void nnxr_trainer_fill_model_api(nnxr_trainer *t, nnxr_model_api *api);

#endif
