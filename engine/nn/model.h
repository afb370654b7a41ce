/* nn/model.h — nnxr's trainable models (mlp, cnn, vae with a classifier head on mu) as lists of
 * GPU operations: what a scene asks for (nnxr_model_desc), the layer plan the trainer records
 * (chains of fused dense/conv+activation, maxpool and lone activation ops), the flat parameter
 * layout (exactly nn/ref.h's, so the CPU reference checks the GPU step for step), initial
 * weights, the named tensors of a checkpoint, and FLOP counts for the benchmark.
 *
 * A model is one or more chains. mlp and cnn: one chain (input → logits or regression values).
 * vae: five chains, in flat-vector order: encoder (input → h), mu head (h → mu), logvar head
 * (h → logvar), decoder (z → reconstruction logits), classifier (mu → class logits; absent
 * when classes = 0). A flatten moves no data and is not an op. */
#ifndef NNXR_NN_MODEL_H
#define NNXR_NN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/layers.h"
#include "nn/ref.h"
#include "nnxr/error.h"
#include "nnxr/model.h"

#define NNXR_MODEL_MAX_OPS 32
#define NNXR_MODEL_MAX_HIDDEN 16
#define NNXR_MODEL_CHAINS 5

enum {
    NNXR_CHAIN_MAIN = 0,
    NNXR_CHAIN_ENC = 0,
    NNXR_CHAIN_MU = 1,
    NNXR_CHAIN_LOGVAR = 2,
    NNXR_CHAIN_DEC = 3,
    NNXR_CHAIN_CLS = 4,
};

/* What to build. */
typedef struct nnxr_model_desc {
    nnxr_model_kind kind;
    uint32_t in_c, in_h, in_w;   /* per-sample input; mlp and vae flatten it */
    uint32_t outputs;            /* classes (mlp, cnn, vae classifier; 0 = none for vae) or
                                    regression outputs */
    bool regression;             /* mlp only: MSE on targets instead of softmax-CE */
    nnxr_nn_act act;             /* every hidden layer's activation */
    /* mlp */
    uint32_t hidden[NNXR_MODEL_MAX_HIDDEN];
    uint32_t n_hidden;
    /* cnn: the hidden layers (conv, maxpool, dense, flatten, activations) in nn/ref's terms;
     * the output dense(outputs) is appended, and a flatten inserted before the first dense
     * that follows an image. */
    nnxr_ref_layer_spec layers[NNXR_REF_MAX_LAYERS];
    uint32_t n_layers;
    /* vae */
    uint32_t latent;
    uint32_t enc[NNXR_MODEL_MAX_HIDDEN], n_enc;
    uint32_t dec[NNXR_MODEL_MAX_HIDDEN], n_dec;
    uint32_t cls[NNXR_MODEL_MAX_HIDDEN], n_cls;
    double beta, cls_weight;
} nnxr_model_desc;

typedef enum nnxr_model_op_kind {
    NNXR_OP_DENSE = 0,
    NNXR_OP_CONV = 1,
    NNXR_OP_POOL = 2,
    NNXR_OP_ACT = 3,
} nnxr_model_op_kind;

typedef struct nnxr_model_op {
    nnxr_model_op_kind kind;
    nnxr_nn_act act;             /* applied to the output (the op's own for NNXR_OP_ACT) */
    uint32_t in_c, in_h, in_w, out_c, out_h, out_w;
    uint32_t k;
    nnxr_nn_pad pad;
    uint32_t in_size, out_size;  /* per sample */
    size_t w_offset, w_count;    /* floats, in the flat parameter vector */
    size_t b_offset, b_count;
} nnxr_model_op;

typedef struct nnxr_model_chain {
    uint32_t n_ops;
    nnxr_model_op ops[NNXR_MODEL_MAX_OPS];
    uint32_t in_size, out_size;  /* per sample (an empty chain passes its input through) */
    nnxr_nn_act out_act;         /* activation of the chain's output (LINEAR when empty) */
} nnxr_model_chain;

typedef struct nnxr_model {
    nnxr_model_desc desc;
    nnxr_ref_model ref;          /* the same layout, for init and the tests' oracle */
    uint32_t n_chains;
    nnxr_model_chain chains[NNXR_MODEL_CHAINS];
    size_t param_count;
    uint32_t in_size;            /* per sample */
    uint32_t classes;            /* 0 for regression or a vae without classifier */
    uint32_t outputs;            /* width of the main chain's output (mlp, cnn) */
    uint32_t latent;             /* vae */
} nnxr_model;

/* Checks the description and lays the model out. Messages name the model and the layer. */
bool nnxr_model_build(const nnxr_model_desc *d, nnxr_model *m, nnxr_error *err);

/* The cnn layer words of a scene ([model] layers: convN, convN_kK, maxpool, fcN) as nn/ref
 * specs: convN is conv(N, 3, same) + act, fcN dense(N) + act. */
bool nnxr_model_cnn_words(const char *const *words, size_t n, nnxr_nn_act act,
                          nnxr_ref_layer_spec *specs, uint32_t *n_specs, nnxr_error *err);

/* "relu", "tanh", "sigmoid", "linear". */
bool nnxr_model_act_parse(const char *name, nnxr_nn_act *out, nnxr_error *err);
const char *nnxr_model_act_name(nnxr_nn_act act);

/* Initial parameters (nn/ref's scheme: He before relu, Glorot otherwise; biases 0; one
 * splitmix64 stream from seed), rounded to float. */
bool nnxr_model_init_params(const nnxr_model *m, uint64_t seed, float *params, nnxr_error *err);

/* is_weight[param_count]: 1 for weights (regularised), 0 for biases. */
void nnxr_model_weight_mask(const nnxr_model *m, uint8_t *is_weight);

/* A parameter tensor: its checkpoint name and shape. */
typedef struct nnxr_model_tensor {
    char name[32];   /* "layer0.w", "enc1.b", "mu.w", "cls0.w", ... */
    size_t offset, count;
    uint32_t ndim;
    uint64_t shape[4];
    bool is_weight;
} nnxr_model_tensor;

/* Every parameter tensor in flat-vector order; returns how many (writes at most max). */
uint32_t nnxr_model_tensors(const nnxr_model *m, nnxr_model_tensor *out, uint32_t max);

/* Multiply-adds of one forward pass of one sample (dense and conv). A training step costs
 * about 3x the forward (forward, input gradients, weight gradients). */
double nnxr_model_forward_macs(const nnxr_model *m);

/* Every op in model order (chain by chain): for naming layers. The name is written to name
 * (at most n bytes): "dense0", "conv1", "pool2", "act3", "enc0", "mu", "dec1", "cls0". */
void nnxr_model_op_name(const nnxr_model *m, uint32_t chain, uint32_t op, char *name, size_t n);

#endif
