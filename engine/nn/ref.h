/* nn/ref.h — the CPU reference of every neural-network layer, loss, model and optimizer of nnxr,
 * in double precision. It is the oracle the tests hold the GPU kernels to, never a fallback at
 * run time: clarity and exactness come before speed.
 *
 * ---------------------------------------------------------------------------------------------
 * Layout (the GPU code uses the same):
 *   - batch-major, row-major, densely packed, no padding between rows;
 *   - activations  x[batch][features]            element (n, i)       at n*F + i;
 *   - images       x[batch][channels][h][w]      element (n, c, y, x) at ((n*C + c)*H + y)*W + x;
 *     a flat activation is an image with h = w = 1, so flatten moves no data;
 *   - dense        W[out][in], b[out]:           y[n][o] = b[o] + sum_i W[o][i] * x[n][i];
 *   - conv2d       W[out_ch][in_ch][k][k], b[out_ch], cross-correlation (no kernel flip), stride 1:
 *                  y[n][o][i][j] = b[o] + sum_{c,p,q} W[o][c][p][q] * x[n][c][i+p-pt][j+q-pl]
 *                  with x = 0 outside the image, pt/pl the padding before (top/left);
 *     "valid": pt = pl = 0, out = in - k + 1 (must be >= 1);
 *     "same":  out = in; pt = pl = (k-1)/2 (integer division), the rest k-1-pt after. For odd k
 *              this is symmetric; for even k the extra row/column of zeros goes at the BOTTOM/RIGHT
 *              (TensorFlow's "SAME"), i.e. pt = k/2 - 1, pb = k/2.
 *   - maxpool 2x2 stride 2: out = floor(in / 2) (an odd last row/column is dropped); the window
 *     of output (i, j) is rows 2i..2i+1, cols 2j..2j+1; the argmax is the first maximum in
 *     the order (0,0) (0,1) (1,0) (1,1), and backward routes the whole gradient to it.
 *
 * Conventions of the functions:
 *   - *_forward write their outputs (overwrite).
 *   - *_backward WRITE dx (the gradient w.r.t. the layer input; dx may be NULL when not
 *     needed) and ADD to dw / db (parameter gradients accumulate over calls; either may be
 *     NULL). The VAE pieces (reparam, KL) ADD to dmu / dlogvar because several terms meet there.
 *   - Kernel functions take shapes as arguments and do no checking beyond never touching memory
 *     outside the sizes they are given; the builders (nnxr_ref_net_build, the model builders)
 *     and the losses that take labels validate and return false with a message.
 *
 * Activations (applied elementwise to a pre-activation z; backward takes z, not the output):
 *   relu(z) = max(z, 0), relu'(z) = 1 if z > 0 else 0 (so relu'(0) = 0);
 *   tanh, tanh' = 1 - tanh^2; sigmoid(z) = 1/(1+exp(-z)) (stable for both signs),
 *   sigmoid' = s(1-s); linear(z) = z, linear' = 1.
 *
 * Losses (all return the loss; the gradient goes to the logits/outputs and is overwritten):
 *   - softmax cross-entropy with a per-sample weight m_i (mask; NULL = all 1):
 *       L = sum_i m_i * CE_i / max(1, sum_i m_i),  CE_i = -log softmax(a_i)[label_i]
 *       dL/da_i = m_i * (softmax(a_i) - onehot(label_i)) / max(1, sum_i m_i)
 *     Labels must be in [0, classes) where m_i != 0; where m_i == 0 the label is ignored (-1 is
 *     fine for "unlabeled"). Without a mask this is the mean over the batch.
 *   - mean squared error: L = (1 / (batch*outputs)) * sum (y - t)^2, no factor 1/2, so
 *       dL/dy = 2 (y - t) / (batch*outputs).
 *   - binary cross-entropy on sigmoid outputs, given the LOGITS a and targets t in [0, 1]:
 *       L = (1/batch) * sum_{i, pixels} [ max(a,0) - a*t + log(1 + exp(-|a|)) ]
 *     (= -(t log s + (1-t) log(1-s)) with s = sigmoid(a), computed without overflow);
 *     summed over pixels, mean over the batch; dL/da = (sigmoid(a) - t) / batch.
 *   - KL of N(mu, exp(logvar)) from N(0, I), weighted by beta, mean over the batch:
 *       L = beta * (1/batch) * sum_i -1/2 sum_j (1 + logvar - mu^2 - exp(logvar))
 *       dL/dmu = beta*mu/batch, dL/dlogvar = beta*(exp(logvar) - 1)/(2*batch).
 *   - reparameterisation z = mu + exp(logvar/2) * eps with eps given (no randomness inside).
 *
 * Parameters: one flat double vector per model. Layer after layer in network order, each layer's
 * W (in the layout above) then its b. The VAE's order is: encoder, mu head, logvar head, decoder,
 * classifier. nnxr_ref_layer.w_offset / b_offset give every tensor's place.
 *
 * Regularisation, AIive-style: only WEIGHTS (dense W, conv W), never biases. L1 adds
 * rate*sign(w) to the gradient (sign(0) = 0), L2 adds rate*w; the matching penalty is
 * l1 * sum|w| + (l2/2) * sum w^2 (nnxr_ref_reg_penalty).
 *
 * Optimizers over the flat vector:
 *   - SGD with momentum as AIive writes it:  dW <- mu*dW_prev - lr*g;  W <- W + dW
 *     (dW, the "delta" vector, starts at zero and is the optimizer's state).
 *   - Adam (Kingma & Ba 2015, Algorithm 1): m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
 *     mhat = m/(1-b1^t); vhat = v/(1-b2^t); W <- W - lr*mhat/(sqrt(vhat) + eps); t = 1 on the
 *     first step.
 *
 * Initialisation: weights uniform in [-limit, limit], biases 0. Glorot: limit = sqrt(6/(fan_in +
 * fan_out)); He: limit = sqrt(6/fan_in); for conv fan_in = in_ch*k*k, fan_out = out_ch*k*k.
 * NNXR_REF_INIT_AUTO uses He for a layer directly followed by relu, Glorot otherwise. The PRNG is
 * splitmix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then the mix
 * z = (z ^ z>>30) * 0xBF58476D1CE4E5B9; z = (z ^ z>>27) * 0x94D049BB133111EB; z ^ z>>31.
 * A uniform double is (next >> 11) * 2^-53 in [0, 1); a weight is (2u - 1) * limit; one draw per
 * weight in flat-vector order from one generator seeded with the given seed.
 *
 * Models:
 *   - mlp: dense(h1)-act-dense(h2)-act-...-dense(out); loss softmax-CE (classification, labels)
 *     or MSE (regression, targets); the output layer is linear (logits).
 *   - cnn: any list of layers (nnxr_ref_layers_parse reads
 *     "conv(16,3,same)-relu-conv(32,3,same)-relu-maxpool-flatten-dense(64)-relu-dense(10)");
 *     dense needs a flat input, so an explicit flatten must come after the last conv/maxpool.
 *   - vae: encoder dense(h)-act... ; mu = dense(d) and logvar = dense(d) (linear heads on the last
 *     encoder output); z = reparam(mu, logvar, eps); decoder dense(h)-act...-dense(input) giving
 *     the logits of a sigmoid reconstruction of x (x in [0, 1] is its own BCE target); an
 *     optional classifier dense(h)-act...-dense(classes) on MU (not z: the class of a sample
 *     should not depend on the noise, and the latent cloud shows mu). Its masked softmax-CE is
 *     added with weight cls_weight, and its gradient flows back into the encoder through mu:
 *       L = BCE + beta*KL + cls_weight*CE_masked.
 */
#ifndef NNXR_NN_REF_H
#define NNXR_NN_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

/* ------------------------------------------------------------------ random numbers and init */

typedef struct nnxr_ref_rng {
    uint64_t state;
} nnxr_ref_rng;

void nnxr_ref_rng_seed(nnxr_ref_rng *r, uint64_t seed);
uint64_t nnxr_ref_rng_next(nnxr_ref_rng *r);  /* splitmix64 */
double nnxr_ref_rng_uniform(nnxr_ref_rng *r); /* [0, 1), 53 bits */
double nnxr_ref_rng_normal(nnxr_ref_rng *r);  /* N(0, 1) by Box-Muller (cosine branch only) */

double nnxr_ref_glorot_limit(int fan_in, int fan_out);
double nnxr_ref_he_limit(int fan_in);
/* n draws of (2u - 1) * limit. */
void nnxr_ref_init_uniform(nnxr_ref_rng *r, size_t n, double limit, double *w);

/* ------------------------------------------------------------------ activations */

typedef enum nnxr_ref_act {
    NNXR_REF_LINEAR = 0,
    NNXR_REF_RELU = 1,
    NNXR_REF_TANH = 2,
    NNXR_REF_SIGMOID = 3,
} nnxr_ref_act;

const char *nnxr_ref_act_name(nnxr_ref_act a); /* "linear", "relu", "tanh", "sigmoid" */
double nnxr_ref_act_value(nnxr_ref_act a, double z);
double nnxr_ref_act_deriv(nnxr_ref_act a, double z);
void nnxr_ref_act_forward(nnxr_ref_act a, size_t n, const double *z, double *y);
/* dz = dy * f'(z); dz may alias dy. */
void nnxr_ref_act_backward(nnxr_ref_act a, size_t n, const double *z, const double *dy, double *dz);

/* ------------------------------------------------------------------ layers */

/* dense: x[batch][in], W[out][in], b[out] (b may be NULL = no bias), y[batch][out]. */
void nnxr_ref_dense_forward(int batch, int in, int out, const double *x, const double *w,
                            const double *b, double *y);
void nnxr_ref_dense_backward(int batch, int in, int out, const double *x, const double *w,
                             const double *dy, double *dx, double *dw, double *db);

typedef enum nnxr_ref_pad {
    NNXR_REF_PAD_VALID = 0,
    NNXR_REF_PAD_SAME = 1,
} nnxr_ref_pad;

typedef struct nnxr_ref_conv2d {
    int batch, in_ch, in_h, in_w; /* input x[batch][in_ch][in_h][in_w] */
    int out_ch, k;                /* W[out_ch][in_ch][k][k], b[out_ch] */
    nnxr_ref_pad pad;
} nnxr_ref_conv2d;

/* Output size and padding before (top = left, the kernel is square); false with a message when
 * k < 1, a size < 1, or "valid" with k larger than the image. */
bool nnxr_ref_conv2d_dims(const nnxr_ref_conv2d *c, int *out_h, int *out_w, int *pad_before,
                          nnxr_error *err);
/* y[batch][out_ch][out_h][out_w]; b may be NULL. Invalid shapes write nothing. */
void nnxr_ref_conv2d_forward(const nnxr_ref_conv2d *c, const double *x, const double *w,
                             const double *b, double *y);
void nnxr_ref_conv2d_backward(const nnxr_ref_conv2d *c, const double *x, const double *w,
                              const double *dy, double *dx, double *dw, double *db);

/* maxpool 2x2 stride 2: y[batch][ch][h/2][w/2]; dx[batch][ch][h][w] (rows/cols dropped by the
 * floor and non-argmax positions get 0). */
void nnxr_ref_maxpool_forward(int batch, int ch, int h, int w, const double *x, double *y);
void nnxr_ref_maxpool_backward(int batch, int ch, int h, int w, const double *x,
                               const double *dy, double *dx);

/* flatten [batch][c][h][w] -> [batch][c*h*w]: the same memory on this layout; a copy here. */
void nnxr_ref_flatten_forward(size_t count, const double *x, double *y);
void nnxr_ref_flatten_backward(size_t count, const double *dy, double *dx);

/* ------------------------------------------------------------------ losses and VAE pieces */

/* probs[batch][classes] (max-subtracted, exact for large logits). */
void nnxr_ref_softmax(int batch, int classes, const double *logits, double *probs);
/* See the header comment. mask and dlogits may be NULL. False (loss untouched) when a label of a
 * sample with non-zero weight is out of range, or a weight is negative or not finite. */
bool nnxr_ref_softmax_ce(int batch, int classes, const double *logits, const int32_t *labels,
                         const double *mask, double *loss, double *dlogits, nnxr_error *err);
/* dy may be NULL. */
double nnxr_ref_mse(int batch, int outputs, const double *y, const double *t, double *dy);
/* dlogits may be NULL. */
double nnxr_ref_bce_logits(int batch, int features, const double *logits, const double *t,
                           double *dlogits);
void nnxr_ref_reparam_forward(int batch, int d, const double *mu, const double *logvar,
                              const double *eps, double *z);
/* ADDS dz to dmu and dz * eps * exp(logvar/2) / 2 to dlogvar. */
void nnxr_ref_reparam_backward(int batch, int d, const double *logvar, const double *eps,
                               const double *dz, double *dmu, double *dlogvar);
/* Returns beta * mean-over-batch KL; ADDS its gradient to dmu / dlogvar (either may be NULL). */
double nnxr_ref_kl(int batch, int d, const double *mu, const double *logvar, double beta,
                   double *dmu, double *dlogvar);

/* Fraction of samples whose argmax (first maximum) equals the label; 0 for batch 0. */
double nnxr_ref_accuracy(int batch, int classes, const double *logits, const int32_t *labels);

/* ------------------------------------------------------------------ sequential networks */

#define NNXR_REF_MAX_LAYERS 32

typedef enum nnxr_ref_layer_kind {
    NNXR_REF_DENSE = 0,
    NNXR_REF_CONV2D = 1,
    NNXR_REF_MAXPOOL = 2,
    NNXR_REF_FLATTEN = 3,
    NNXR_REF_ACT = 4,
} nnxr_ref_layer_kind;

typedef struct nnxr_ref_layer_spec {
    nnxr_ref_layer_kind kind;
    int units;        /* dense: outputs; conv2d: output channels */
    int k;            /* conv2d: kernel size */
    nnxr_ref_pad pad; /* conv2d */
    nnxr_ref_act act; /* act */
} nnxr_ref_layer_spec;

typedef struct nnxr_ref_layer {
    nnxr_ref_layer_spec spec;
    int in_c, in_h, in_w;     /* per-sample input shape (flat: h = w = 1) */
    int out_c, out_h, out_w;  /* per-sample output shape */
    size_t w_offset, w_count; /* in the model's flat parameter vector (count 0: none) */
    size_t b_offset, b_count;
    size_t act_offset;        /* output of this layer in a forward's acts: acts + batch*act_offset */
} nnxr_ref_layer;

typedef struct nnxr_ref_net {
    int in_c, in_h, in_w; /* per-sample input shape */
    int n_layers;
    nnxr_ref_layer layers[NNXR_REF_MAX_LAYERS];
    size_t param_offset, param_count; /* the net's slice of the flat vector */
    size_t act_count;                 /* per-sample sum of every layer's output size */
} nnxr_ref_net;

/* Checks the list (shapes, a flat input before dense, conv and pool sizes) and lays the
 * parameters out from param_offset. Zero layers make the identity (the output is the input). */
bool nnxr_ref_net_build(nnxr_ref_net *net, int in_c, int in_h, int in_w,
                        const nnxr_ref_layer_spec *specs, int n_specs, size_t param_offset,
                        nnxr_error *err);
size_t nnxr_ref_net_in_size(const nnxr_ref_net *net);  /* per sample */
size_t nnxr_ref_net_out_size(const nnxr_ref_net *net); /* per sample */
/* Every layer's output into acts (batch * act_count doubles); the net's output is at
 * acts + batch * layers[n_layers-1].act_offset. */
void nnxr_ref_net_forward(const nnxr_ref_net *net, const double *params, int batch,
                          const double *x, double *acts);
/* From dout (gradient of the net's output) back through the net, using the acts of the forward:
 * ADDS parameter gradients to grad (the full flat vector, may be NULL), WRITES dx (may be NULL).
 * False only when scratch memory cannot be had. */
bool nnxr_ref_net_backward(const nnxr_ref_net *net, const double *params, int batch,
                           const double *x, const double *acts, const double *dout, double *grad,
                           double *dx, nnxr_error *err);

/* Reads a layer list such as "conv(16,3,same)-relu-conv(32,3,valid)-relu-maxpool-flatten-
 * dense(64)-tanh-dense(10)". Items: conv(C,K[,same|valid]) (default same), dense(N), maxpool,
 * flatten, relu, tanh, sigmoid, linear; separated by '-' (spaces allowed). */
bool nnxr_ref_layers_parse(const char *text, nnxr_ref_layer_spec *specs, int max_specs,
                           int *n_specs, nnxr_error *err);

/* ------------------------------------------------------------------ models */

typedef enum nnxr_ref_loss {
    NNXR_REF_LOSS_SOFTMAX_CE = 0, /* labels (+ optional mask) */
    NNXR_REF_LOSS_MSE = 1,        /* targets[batch][outputs] */
} nnxr_ref_loss;

typedef enum nnxr_ref_model_kind {
    NNXR_REF_MODEL_SEQ = 0, /* mlp or cnn: one net + a loss */
    NNXR_REF_MODEL_VAE = 1,
} nnxr_ref_model_kind;

typedef struct nnxr_ref_mlp_config {
    int input;             /* features per sample */
    const int *hidden;     /* n_hidden sizes (may be 0 layers) */
    int n_hidden;
    nnxr_ref_act act;      /* of every hidden layer */
    int output;            /* classes or regression outputs */
    nnxr_ref_loss loss;
} nnxr_ref_mlp_config;

typedef struct nnxr_ref_vae_config {
    int input;             /* features per sample, values in [0, 1] */
    int latent;            /* d; 0 = 3 */
    const int *enc_hidden; /* encoder hidden sizes (>= 0 layers) */
    int n_enc_hidden;
    const int *dec_hidden; /* decoder hidden sizes (>= 0 layers) */
    int n_dec_hidden;
    const int *cls_hidden; /* classifier hidden sizes (>= 0 layers) */
    int n_cls_hidden;
    int classes;           /* 0 = no classifier head */
    nnxr_ref_act act;      /* of every hidden layer */
    double beta;           /* KL weight */
    double cls_weight;     /* classifier loss weight */
} nnxr_ref_vae_config;

typedef struct nnxr_ref_model {
    nnxr_ref_model_kind kind;
    nnxr_ref_loss loss;  /* SEQ */
    nnxr_ref_net net;    /* SEQ */
    nnxr_ref_net enc, mu, logvar, dec, cls; /* VAE; cls.n_layers == 0 without a classifier */
    int input, latent, classes;             /* VAE */
    double beta, cls_weight;                /* VAE */
    size_t param_count;
} nnxr_ref_model;

/* One batch of data for a model. Which fields are read depends on the model:
 *   SEQ softmax-CE: x, labels, mask (NULL = all 1);  SEQ MSE: x, targets;
 *   VAE: x (also the BCE target), eps[n][latent], and with a classifier labels, mask. */
typedef struct nnxr_ref_batch {
    int n;
    const double *x;
    const int32_t *labels;
    const double *mask;
    const double *targets;
    const double *eps;
} nnxr_ref_batch;

typedef struct nnxr_ref_loss_parts {
    double total; /* what the gradient is of */
    double data;  /* SEQ: CE or MSE; VAE: BCE */
    double kl;    /* VAE: beta * KL (already weighted) */
    double cls;   /* VAE: CE_masked (unweighted; total holds cls_weight * cls) */
} nnxr_ref_loss_parts;

bool nnxr_ref_mlp_build(nnxr_ref_model *m, const nnxr_ref_mlp_config *cfg, nnxr_error *err);
/* A SEQ model from a layer list over inputs [in_c][in_h][in_w]. */
bool nnxr_ref_cnn_build(nnxr_ref_model *m, int in_c, int in_h, int in_w,
                        const nnxr_ref_layer_spec *specs, int n_specs, nnxr_ref_loss loss,
                        nnxr_error *err);
bool nnxr_ref_vae_build(nnxr_ref_model *m, const nnxr_ref_vae_config *cfg, nnxr_error *err);

typedef enum nnxr_ref_init {
    NNXR_REF_INIT_AUTO = 0, /* He before relu, Glorot otherwise */
    NNXR_REF_INIT_GLOROT = 1,
    NNXR_REF_INIT_HE = 2,
} nnxr_ref_init;

/* Fills params (param_count) as the header comment says. */
void nnxr_ref_model_init(const nnxr_ref_model *m, double *params, uint64_t seed,
                         nnxr_ref_init how);
/* is_weight[param_count]: 1 for weights, 0 for biases (what regularisation touches). */
void nnxr_ref_model_weight_mask(const nnxr_ref_model *m, uint8_t *is_weight);

/* Loss of the batch and (grad != NULL) its gradient, which OVERWRITES grad[param_count].
 * Regularisation is not included (add nnxr_ref_regularize). False with a message on bad
 * input (labels, missing fields, n < 1) or no memory. */
bool nnxr_ref_model_loss_grad(const nnxr_ref_model *m, const double *params,
                              const nnxr_ref_batch *b, nnxr_ref_loss_parts *loss, double *grad,
                              nnxr_error *err);
/* SEQ: the net's output [n][out] (logits or regression values). VAE: the classifier's logits on
 * mu [n][classes] (false when the model has no classifier). */
bool nnxr_ref_model_predict(const nnxr_ref_model *m, const double *params, int n,
                            const double *x, double *out, nnxr_error *err);
/* Every output optional (NULL): mu, logvar, z [n][latent] (z needs eps), recon_logits
 * [n][input] (needs eps), class_logits [n][classes] (on mu). */
bool nnxr_ref_vae_forward(const nnxr_ref_model *m, const double *params, int n, const double *x,
                          const double *eps, double *mu, double *logvar, double *z,
                          double *recon_logits, double *class_logits, nnxr_error *err);

/* ------------------------------------------------------------------ optimizers */

/* delta[n] is the state (start at 0): delta = momentum*delta - lr*g; w += delta. */
void nnxr_ref_sgd_momentum_step(size_t n, double *w, const double *g, double *delta, double lr,
                                double momentum);
/* m[n], v[n] the state (start at 0); t the 1-based step number (t < 1 is taken as 1). */
void nnxr_ref_adam_step(size_t n, double *w, const double *g, double *m, double *v, int64_t t,
                        double lr, double beta1, double beta2, double eps);
/* g += l1*sign(w) + l2*w where is_weight[i] != 0 (is_weight NULL = every entry). */
void nnxr_ref_regularize(size_t n, const double *w, const uint8_t *is_weight, double l1,
                         double l2, double *g);
/* l1*sum|w| + (l2/2)*sum w^2 over the weights. */
double nnxr_ref_reg_penalty(size_t n, const double *w, const uint8_t *is_weight, double l1,
                            double l2);

#endif
