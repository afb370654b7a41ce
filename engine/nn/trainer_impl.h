/* nn/trainer_impl.h — the trainer's insides, shared by trainer.c (life cycle, data, steps,
 * epochs, evaluation), trainer_record.c (what a step and an evaluation record), surgery.c
 * (neuron surgery and weights), checkpoint.c (checkpoints and exports) and train_data.c. Not
 * for use outside engine/nn. */
#ifndef NNXR_NN_TRAINER_IMPL_H
#define NNXR_NN_TRAINER_IMPL_H

#include "data/rng.h"
#include "nn/trainer.h"

#define TR_MAX_SIZES 24 /* recordings of 1, 2, 3, 4, 6, 8, 11, 16, ... steps (ratio ~1.41) */
#define TR_PROFILE_MARKS 1024        /* timestamp marks of a profiled recording */
#define TR_PROFILE_START "step start" /* the mark before a profiled step's first dispatch */

/* Float offsets in the small "stats" buffer. */
enum {
    TR_STATS_TRAIN = 0,       /* 3 slots of NNXR_NN_STATS: main loss, KL, classifier */
    TR_STATS_SET = 16,        /* + 16 * set: the same for an evaluation of that set */
    TR_STATS_FLAG = 64,       /* uint32: NaN/Inf seen */
    TR_STATS_FLOATS = 68,
};

/* Where the tensors of one batch size live (offsets in floats into buf). */
typedef struct tr_plan {
    uint32_t batch;
    bool grads;
    nnxr_buffer *buf;
    VkDeviceSize x, labels, mask, targets;
    VkDeviceSize out[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    VkDeviceSize dz[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    VkDeviceSize eps, z, dlat, dmu, dlogvar, dh;
    VkDeviceSize total;
} tr_plan;

/* A contiguous run of one set's samples that fits one binding. */
typedef struct tr_chunk {
    uint32_t first, count;
    nnxr_buffer *x;            /* u8 (4 per uint32) or f32 */
    nnxr_buffer *labels;       /* u8, true classes (classification) */
    nnxr_buffer *targets;      /* f32 (regression) */
    nnxr_buffer *user_labels;  /* VAE training set: int32, -1 = unlabeled */
    nnxr_buffer *mask;         /* VAE training set: float 1 = labeled */
    nnxr_buffer *index;        /* training set: uint32 permutation of 0..count-1 */
} tr_chunk;

/* A recording and the tape that owns its bindings. */
typedef struct tr_rec {
    nnxr_recorder *rec;
    nnxr_nn_tape *tape;
    bool recorded;
    uint32_t steps;
    uint32_t dispatches;
    uint32_t runs;            /* submissions since it was recorded */
    nnxr_binding *extra;      /* the predictions kernel's binding (evaluations) */
} tr_rec;

typedef struct tr_set {
    uint32_t count;
    uint32_t n_chunks;
    tr_chunk *chunks;
    /* Per-sample outputs (offsets in floats into out). */
    nnxr_buffer *out;
    VkDeviceSize probs, pred, conf, labels, mu;
    tr_rec eval, quick;
    bool evaluated;
    uint64_t eval_step, eval_gen; /* when the outputs were last written */
    nnxr_eval_result last;
} tr_set;

struct nnxr_trainer {
    nnxr_gpu *gpu;
    nnxr_nn *nn;
    bool own_nn;
    nnxr_train_config cfg;
    nnxr_model model;
    nnxr_train_data shape;     /* shapes and normalisation of the data (no pointers) */
    const nnxr_train_data *host; /* borrowed, for the model service's data view only */
    bool u8;                   /* pixel data */
    bool regression, vae;
    VkDeviceSize chunk_bytes;
    VkDeviceSize max_range;

    tr_set sets[3];
    bool has_val;

    /* Parameters: [params | state1 | state2], its backup, gradients, weight bits. */
    nnxr_buffer *params, *backup, *grads, *wbits, *hparams, *stats;
    nnxr_nn_hparams hp;

    tr_plan train_plan, eval_plan, probe_plan;
    uint32_t eval_batch, probe_count;
    /* Per-class sums (then means) of every op's output over the evaluation set: for op o of
     * chain c at class_off[c][o] ([classes][out_size] floats), its class counts at
     * class_cnt[c][o] ([classes] floats). */
    nnxr_buffer *class_buf;
    VkDeviceSize class_off[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    VkDeviceSize class_cnt[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    VkDeviceSize class_total;
    bool class_means;          /* class_buf holds means (not sums) */

    int last_k;                /* the recording of the last training submission (-1 none) */
    tr_rec steps[TR_MAX_SIZES];
    uint32_t sizes[TR_MAX_SIZES]; /* steps of recording i */
    uint32_t n_sizes;
    bool fused;
    double dispatches_per_step;

    nnxr_kernel *predict;      /* argmax/confidence of probabilities (run-time GLSL) */

    /* Progress. */
    uint64_t step, epoch;
    uint32_t cur_chunk;        /* chunk of the training set being trained on */
    uint32_t *chunk_order;     /* this epoch's order of chunks */
    uint32_t chunk_pos;        /* position in chunk_order */
    uint32_t chunk_step;       /* batches done in the current chunk */
    uint32_t chunk_steps;      /* batches in the current chunk this epoch */
    uint32_t bound_chunk;      /* the chunk the step recordings read (UINT32_MAX: none) */
    bool finished;
    double ms_per_step;        /* measured, smoothed */
    nnxr_rng rng;              /* shuffles */
    nnxr_rng surgery_rng;
    uint64_t generation, outputs_version;
    uint64_t last_eval_step;   /* step of the last periodic evaluation */
    uint32_t *perm_scratch;

    /* The "nnxr.model" service's layer table. */
    nnxr_model_layer layers[NNXR_MODEL_CHAINS * NNXR_MODEL_MAX_OPS];
    uint32_t layer_count;
};

/* trainer.c */
bool tr_rebuild(nnxr_trainer *t, const nnxr_model_desc *desc, const float *params,
                const float *state1, const float *state2, nnxr_error *err);
void tr_invalidate_steps(nnxr_trainer *t);
bool tr_upload_hparams(nnxr_trainer *t, nnxr_error *err);
void tr_publish(nnxr_trainer *t, const char *name, double value);
bool tr_make_plan(nnxr_trainer *t, tr_plan *p, uint32_t batch, bool grads, const char *name,
                  nnxr_error *err);
void tr_free_plan(nnxr_trainer *t, tr_plan *p);
void tr_rec_free(tr_rec *r);

/* trainer_record.c */
static inline nnxr_nn_mem tr_at(const nnxr_buffer *b, VkDeviceSize floats)
{
    return nnxr_nn_at(b, floats * 4u);
}
bool tr_record_steps(nnxr_trainer *t, tr_rec *r, uint32_t steps, nnxr_error *err);
/* quick: loss and accuracy only (no per-sample outputs, class means or probe). */
bool tr_record_eval(nnxr_trainer *t, nnxr_train_set set, bool quick, tr_rec *r,
                    nnxr_error *err);
/* Forward of the evaluation batch [first, first+n) of a set's chunk into the eval plan
 * (exports read the plan afterwards). */
bool tr_record_forward_batch(nnxr_trainer *t, nnxr_train_set set, uint32_t chunk,
                             uint32_t first, uint32_t n, nnxr_nn_tape *tape, nnxr_error *err);

/* Evaluates the set unless its outputs are of the current step and shapes already. */
bool tr_ensure_evaluated(nnxr_trainer *t, nnxr_train_set set, nnxr_error *err);

/* checkpoint.c needs these from surgery.c */
bool tr_surgery_layer(const nnxr_trainer *t, uint32_t layer, uint32_t *op, nnxr_error *err);

#endif
