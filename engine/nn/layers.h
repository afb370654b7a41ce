/* nn/layers.h — the neural-network compute kernels of nnxr on Vulkan and the API that records
 * them: dense and conv2d layers (forward, backward, fused bias and activation), maxpool 2x2,
 * activations, losses (softmax cross-entropy with a per-sample mask, MSE, BCE from logits, the
 * VAE's reparameterisation with a GPU random generator and its KL term), the data gather
 * (uint8 pixels normalised in the shader, shuffled through an index buffer), loss / accuracy
 * statistics, the optimizers (SGD with momentum as AIive writes it, Adam, L1/L2), a GEMM family
 * whose tile shapes come from the device type, and a fused whole-step kernel for tiny MLPs.
 *
 * Two objects:
 *   - nnxr_nn: every pipeline, created once per device with the specialization constants that
 *     suit it (register blocks and no shared memory on CPU devices, shared-memory tiles on GPUs).
 *   - nnxr_nn_tape: a recording session on an nnxr_recorder. It owns the descriptor sets
 *     ("bindings") the recorded dispatches use (identical bindings are shared), so it must live
 *     as long as the recorded command buffer may be submitted (replayed). Record a whole training
 *     step (or several) once, then replay it with nnxr_recorder_submit; change learning rate,
 *     momentum, ... between submissions in the hparams buffer, not by re-recording.
 *
 * Memory: every tensor is a region of an nnxr_buffer given as nnxr_nn_mem {buffer, byte offset}.
 * Offsets need only be multiples of 4 (the kernels bind the aligned range below and index from
 * there), so a model's parameters can be one flat vector laid out exactly like nn/ref.h's (each
 * layer's W then b, layer after layer). A region must lie inside its buffer and within
 * maxStorageBufferRange; calls check this against the shapes and fail with a message naming the
 * call, the argument and the sizes. A call records nothing when it fails.
 *
 * Layouts and semantics are nn/ref.h's (batch-major row-major activations, dense W[out][in],
 * conv W[out_ch][in_ch][k][k], images [batch][ch][h][w], relu'(0) = 0, the loss reductions, ...),
 * so every kernel is checked against that reference. All arithmetic is fp32.
 *
 * Activations are fused: forward calls take an `act` applied to the pre-activation before it is
 * stored, and store only the activated output y. Every activation's derivative is a function of
 * its OUTPUT (relu: y > 0; tanh: 1 - y^2; sigmoid: y (1 - y); linear: 1), so backward calls take
 * dz = dL/d(pre-activation) of their own layer and can write the gradient of their input already
 * multiplied by the previous layer's activation derivative (dx_act + dx_y): dx then is dL/dz of
 * the layer before, ready for its own backward. The loss kernels write dL/d(logits), which is dz
 * of a linear output layer.
 *
 * Gradients are WRITTEN (overwritten) by default, so no zeroing pass is needed; set the
 * accumulate flags where several terms meet (the VAE's mu gets KL, reparam and classifier
 * terms). Loss/accuracy statistics are ACCUMULATED (+=) into a small float buffer the caller
 * zeroes (nnxr_recorder_fill) when it wants to start over, e.g. at an epoch.
 *
 * Steps per submission: a recording may hold several training steps. Kernels that depend on
 * the step (Adam's bias correction, the reparameterisation noise, the gather's batch position)
 * read nnxr_nn_hparams.step / .batch_base from the hparams buffer and add the tape's step index
 * (nnxr_nn_tape_set_step) that was current when they were recorded. The caller advances
 * hparams.step and hparams.batch_base by the number of steps after each submission.
 *
 * Loops: lavapipe silently stops a shader's loops after 65,535 iterations per invocation, so
 * every kernel bounds its per-invocation trip count; where it would grow with the data (a GEMM's
 * inner dimension, a reduction) the recording function splits the work over dispatches or
 * workgroups. Calls refuse shapes they cannot split (with a message), never compute them wrong.
 *
 * Threading: like nnxr_gpu, all calls on one nnxr_nn come from one thread. */
#ifndef NNXR_NN_LAYERS_H
#define NNXR_NN_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nnxr/error.h"

typedef struct nnxr_nn nnxr_nn;
typedef struct nnxr_nn_tape nnxr_nn_tape;

/* A tensor's place: a buffer and a byte offset (multiple of 4). buf NULL = "absent" where an
 * argument is optional. */
typedef struct nnxr_nn_mem {
    const nnxr_buffer *buf;
    VkDeviceSize offset;
} nnxr_nn_mem;

static inline nnxr_nn_mem nnxr_nn_at(const nnxr_buffer *buf, VkDeviceSize offset)
{
    nnxr_nn_mem m = {buf, offset};
    return m;
}

/* Element offset helper: the region `floats` 4-byte elements after m. */
static inline nnxr_nn_mem nnxr_nn_plus(nnxr_nn_mem m, VkDeviceSize floats)
{
    m.offset += floats * 4u;
    return m;
}

/* Same numbering as nnxr_ref_act. */
typedef enum nnxr_nn_act {
    NNXR_NN_LINEAR = 0,
    NNXR_NN_RELU = 1,
    NNXR_NN_TANH = 2,
    NNXR_NN_SIGMOID = 3,
} nnxr_nn_act;

/* Same numbering as nnxr_ref_pad. */
typedef enum nnxr_nn_pad {
    NNXR_NN_PAD_VALID = 0,
    NNXR_NN_PAD_SAME = 1,
} nnxr_nn_pad;

/* ------------------------------------------------------------------ hyperparameters */

/* The step-wide values kernels read at run time from a storage buffer (std430; this struct is
 * its exact byte layout, 64 bytes). The CPU writes it between submissions (a HOST buffer, or
 * nnxr_buffer_upload while nothing is pending) — no re-recording. */
typedef struct nnxr_nn_hparams {
    float lr;            /* learning rate (SGD's epsilon, Adam's alpha) */
    float momentum;      /* SGD's mu */
    float beta1;         /* Adam */
    float beta2;         /* Adam */
    float adam_eps;      /* Adam's epsilon */
    float l1;            /* L1 rate: g += l1 * sign(w) on weights */
    float l2;            /* L2 rate: g += l2 * w on weights */
    float kl_beta;       /* the VAE's beta (nnxr_nn_vae_latent_backward, nnxr_nn_kl_stats) */
    uint32_t step;       /* training steps completed before this submission (Adam's t of the
                            tape's step i is step + i + 1; the RNG's step key is step + i) */
    uint32_t batch_base; /* gather: batch number of the tape's step 0 in this submission */
    uint32_t seed;       /* key of the GPU random generator */
    uint32_t flags;      /* reserved: 0 */
    float reserved[4];
} nnxr_nn_hparams;

#define NNXR_NN_HPARAMS_SIZE 64u

/* Defaults: lr 0.01, momentum 0.9, beta1 0.9, beta2 0.999, adam_eps 1e-8, l1 = l2 = 0,
 * kl_beta 1, step 0, batch_base 0, seed 0. */
nnxr_nn_hparams nnxr_nn_hparams_default(void);

/* ------------------------------------------------------------------ creation */

/* GEMM tile configurations (what the bench compares): index 0 is chosen for CPU devices,
 * index 1 for others, unless nnxr_nn_options.gemm_config says otherwise. */
uint32_t nnxr_nn_gemm_config_count(void);
/* Short name ("cpu-r16c8-w16": 16x8 outputs per invocation, 16 invocations per workgroup;
 * "gpu-tile64": shared-memory 64x64 tiles), or NULL past the end. */
const char *nnxr_nn_gemm_config_name(uint32_t index);

typedef struct nnxr_nn_options {
    /* -1 (or any negative) = choose by device type (nnxr_gpu_info.is_cpu); otherwise an index
     * below nnxr_nn_gemm_config_count(). NOTE: 0 is a valid config: initialise the struct
     * with nnxr_nn_options_default(). */
    int gemm_config;
    /* CPU GEMM kernel: every lane loads its A operand itself (not shared across the subgroup
     * by shuffles) and B from the storage buffer (not through a texel view): the plain
     * kernel, for tests of that path and for benchmarks to compare against. */
    bool gemm_plain_loads;
} nnxr_nn_options;

nnxr_nn_options nnxr_nn_options_default(void);

/* Creates every pipeline (a few hundred ms of JIT on lavapipe; the pipeline cache makes later
 * runs fast). options may be NULL (defaults). */
bool nnxr_nn_create(nnxr_gpu *gpu, const nnxr_nn_options *options, nnxr_nn **out,
                    nnxr_error *err);
/* NULL is fine. Every tape must be destroyed first. */
void nnxr_nn_destroy(nnxr_nn *nn);
nnxr_gpu *nnxr_nn_gpu(const nnxr_nn *nn);
/* The name of the GEMM configuration in use. */
const char *nnxr_nn_gemm_config(const nnxr_nn *nn);

/* ------------------------------------------------------------------ tapes */

/* A tape records into rec (which must be between nnxr_recorder_begin and _end when calls are
 * made). One tape per recorder at a time. */
bool nnxr_nn_tape_create(nnxr_nn *nn, nnxr_recorder *rec, nnxr_nn_tape **out, nnxr_error *err);
/* Frees the bindings. The recorder must not have a pending submission that uses them (call
 * nnxr_recorder_wait), and the old recording must not be submitted again. NULL is fine. */
void nnxr_nn_tape_destroy(nnxr_nn_tape *tape);
/* Same as destroy + create on the same recorder: for re-recording after surgery. */
void nnxr_nn_tape_clear(nnxr_nn_tape *tape);
/* The step index (0-based, within one submission) the following calls belong to; 0 after
 * create / clear. */
void nnxr_nn_tape_set_step(nnxr_nn_tape *tape, uint32_t step_index);
nnxr_recorder *nnxr_nn_tape_recorder(const nnxr_nn_tape *tape);
nnxr_nn *nnxr_nn_tape_nn(const nnxr_nn_tape *tape);
/* Dispatches recorded through this tape so far (for budgeting and tests). */
uint32_t nnxr_nn_tape_dispatches(const nnxr_nn_tape *tape);
/* While on, every dispatch the tape records is followed by a timestamp mark named after the
 * call that recorded it ("nnxr_nn_dense_forward", "nnxr_nn_conv2d_backward (dw)", ...), so a
 * submission's marks time each dispatch (the recorder needs room for the marks). */
void nnxr_nn_tape_set_profile(nnxr_nn_tape *tape, bool on);

/* ------------------------------------------------------------------ GEMM */

/* C[M][N] (row-major, dense), in this order:
 *   v = alpha * op(A) op(B) + bias;  v += C_old (accumulate);  v = act(v);
 *   v *= aux_act'(aux) (aux given);  C = v
 *   op(A) is M x K: A stored [M][K], or [K][M] when trans_a;
 *   op(B) is K x N: B stored [K][N], or [N][K] when trans_b (both transposed: refused);
 *   bias: optional, bias[N] added to every row (bias_rows: bias[M] added to every column);
 *   aux_act/aux: optional; aux holds the activated OUTPUT of that activation, [M][N] — the
 *        backward epilogue. With accumulate it multiplies the whole sum, so the last of several
 *        accumulated contributions can carry the derivative;
 *   col_sum: optional: col_sum[M] = sum_k op(A)[m][k] (+= when accumulate) — a layer's bias
 *        gradient, computed in the same dispatch.
 * Writes C (and col_sum). K may be any size: the call splits K over several dispatches where
 * one invocation's loop would pass lavapipe's cap. On CPU devices an operand is read 8 floats
 * per load when its byte offset modulo the binding alignment (nnxr_nn's: the larger of the
 * storage and texel-buffer offset alignments) is 0 and its rows are multiples of 8 floats
 * (and, for A with trans_a / B without trans_b, M / N are multiples of 8); otherwise one float
 * per load (correct, slower). Those 8-float loads of A are shared across a subgroup (its rows
 * are the same in every lane) and those of B go through a texel view; C is written in octets
 * when it is aligned likewise and N is a multiple of 8. Each epilogue (the flags a call and
 * its K pieces need) is its own pipeline there, compiled on first use.
 * Measured on lavapipe (Zen 5, 2 cores; tests/bench/gemm_bench, 1024^3): NN 74-76, NT 70,
 * TN 57 GFLOP/s (~55 % of the estimated 134 GFLOP/s peak); with plain loads 34 / 38 / 28.
 * What is left (perf of a 768^3 NN GEMM, JIT code disassembled): llvmpipe emits fma() as a
 * multiply and an add (no FMA instruction in the kernel), ~23 % of the samples move or blend
 * the register block, ~15 % are llvmpipe's texel-fetch routine and ~15-20 % the per-lane load
 * loop of A's shared octets. */
typedef struct nnxr_nn_gemm_args {
    uint32_t m, n, k;
    bool trans_a, trans_b;
    nnxr_nn_mem a, b, c;
    float alpha;          /* 0 is taken as 1 (so a zeroed struct means 1) */
    bool accumulate;      /* C += ... instead of C = ... */
    nnxr_nn_mem bias;     /* optional */
    bool bias_rows;       /* bias indexed by m instead of n */
    nnxr_nn_act act;
    nnxr_nn_act aux_act;  /* with aux */
    nnxr_nn_mem aux;      /* optional */
    nnxr_nn_mem col_sum;  /* optional */
} nnxr_nn_gemm_args;

bool nnxr_nn_gemm(nnxr_nn_tape *tape, const nnxr_nn_gemm_args *g, nnxr_error *err);

/* ------------------------------------------------------------------ dense */

typedef struct nnxr_nn_dense {
    uint32_t batch, in, out;
} nnxr_nn_dense;

/* y[batch][out] = act(x[batch][in] W[out][in]^T + b[out]); b optional. Writes y. */
bool nnxr_nn_dense_forward(nnxr_nn_tape *tape, const nnxr_nn_dense *shape, nnxr_nn_mem x,
                           nnxr_nn_mem w, nnxr_nn_mem b, nnxr_nn_mem y, nnxr_nn_act act,
                           nnxr_error *err);

/* Backward of a dense layer from dz = dL/d(pre-activation) [batch][out]. Every output optional:
 *   dx[batch][in]  = (dz W) * dx_act'(dx_y)   (dx_y = the previous layer's activated output,
 *                    i.e. this layer's input x; NULL dx_y = x; leave dx_act LINEAR for a plain
 *                    dz W); with accumulate_dx: dx = (dx_old + dz W) * dx_act'(dx_y);
 *   dw[out][in]    = dz^T x                    (+= when accumulate_dw);
 *   db[out]        = sum_batch dz              (+= when accumulate_dw; computed in dw's
 *                    dispatch; db alone uses a tape scratch buffer for dw).
 * 1-2 dispatches. */
typedef struct nnxr_nn_dense_grad {
    nnxr_nn_mem x, w, dz;
    nnxr_nn_mem dx, dw, db;
    nnxr_nn_act dx_act;
    nnxr_nn_mem dx_y;     /* needed when dx_act != LINEAR; usually == x */
    bool accumulate_dx, accumulate_dw;
} nnxr_nn_dense_grad;

bool nnxr_nn_dense_backward(nnxr_nn_tape *tape, const nnxr_nn_dense *shape,
                            const nnxr_nn_dense_grad *g, nnxr_error *err);

/* ------------------------------------------------------------------ conv2d, maxpool */

typedef struct nnxr_nn_conv {
    uint32_t batch, in_ch, in_h, in_w;
    uint32_t out_ch, k;
    nnxr_nn_pad pad;
} nnxr_nn_conv;

/* out_h, out_w as nnxr_ref_conv2d_dims; false when k < 1, a size is 0, or valid with k larger
 * than the image. */
bool nnxr_nn_conv_dims(const nnxr_nn_conv *c, uint32_t *out_h, uint32_t *out_w,
                       nnxr_error *err);

/* y[batch][out_ch][out_h][out_w] = act(conv(x, W) + b); b optional. Writes y. */
bool nnxr_nn_conv2d_forward(nnxr_nn_tape *tape, const nnxr_nn_conv *shape, nnxr_nn_mem x,
                            nnxr_nn_mem w, nnxr_nn_mem b, nnxr_nn_mem y, nnxr_nn_act act,
                            nnxr_error *err);

/* As dense: dz [batch][out_ch][out_h][out_w]; dx [batch][in_ch][in_h][in_w] (times dx_act'
 * of dx_y), dw [out_ch][in_ch][k][k], db [out_ch]; each optional.
 * Implementation (both directions): im2col into a tape scratch buffer (samples in chunks that
 * keep it under 48 MB), then batched GEMMs; dx is a col2im gather (no atomics) with the
 * derivative fused. Forward: 2 dispatches per chunk; backward: up to 4 (3 when dw reuses the
 * forward's column matrix, see x_unchanged). On CPU devices im2col and col2im work a row per
 * invocation (index divisions, scalar per lane there, once per row: the cnn's conv2 im2col
 * went from ~80% of its forward to ~10%). */
typedef struct nnxr_nn_conv_grad {
    nnxr_nn_mem x, w, dz;
    nnxr_nn_mem dx, dw, db;
    nnxr_nn_act dx_act;
    nnxr_nn_mem dx_y;
    bool accumulate_dx, accumulate_dw;
    /* The caller vouches that x has not changed since this tape recorded the layer's
     * forward: dw then reuses the forward's column matrix when the tape still holds it (the
     * last im2col of the tape was of this x and shape, in one chunk), else recomputes it. */
    bool x_unchanged;
} nnxr_nn_conv_grad;

bool nnxr_nn_conv2d_backward(nnxr_nn_tape *tape, const nnxr_nn_conv *shape,
                             const nnxr_nn_conv_grad *g, nnxr_error *err);

/* maxpool 2x2 stride 2 (ref semantics: floor, first maximum). y[batch][ch][h/2][w/2]. */
bool nnxr_nn_maxpool_forward(nnxr_nn_tape *tape, uint32_t batch, uint32_t ch, uint32_t h,
                             uint32_t w, nnxr_nn_mem x, nnxr_nn_mem y, nnxr_error *err);
/* Writes dx[batch][ch][h][w] entirely (0 off the argmax), times dx_act'(x) — x is the pooled
 * input, i.e. the activated output of the layer before (dx_act LINEAR = plain routing). */
bool nnxr_nn_maxpool_backward(nnxr_nn_tape *tape, uint32_t batch, uint32_t ch, uint32_t h,
                              uint32_t w, nnxr_nn_mem x, nnxr_nn_mem dy, nnxr_nn_mem dx,
                              nnxr_nn_act dx_act, nnxr_error *err);

/* flatten [batch][c][h][w] -> [batch][c*h*w] moves no data on this layout: use the same
 * nnxr_nn_mem for both. (No call.) */

/* ------------------------------------------------------------------ activations (unfused) */

/* y[i] = act(x[i]) for count elements (y may equal x). */
bool nnxr_nn_act_forward(nnxr_nn_tape *tape, nnxr_nn_act act, uint32_t count, nnxr_nn_mem x,
                         nnxr_nn_mem y, nnxr_error *err);
/* dz[i] = dy[i] * act'(from y[i]) (dz may equal dy). */
bool nnxr_nn_act_backward(nnxr_nn_tape *tape, nnxr_nn_act act, uint32_t count, nnxr_nn_mem y,
                          nnxr_nn_mem dy, nnxr_nn_mem dz, nnxr_error *err);

/* ------------------------------------------------------------------ losses and statistics */

/* Statistics accumulated by the loss calls (+=), NNXR_NN_STATS floats at `stats`:
 *   [0] sum of per-sample losses, each times its weight (mask; 1 without mask)
 *   [1] sum of the weights (samples counted in [0])
 *   [2] sum of weights of correctly classified samples (argmax == label; softmax-CE only)
 *   [3] samples seen (batch per call)
 * loss = [0] / [1], accuracy = [2] / [1]. The sums are in fp32: exact counts to 2^24. */
#define NNXR_NN_STATS 4u

/* Softmax cross-entropy (ref semantics): logits[batch][classes], labels int32[batch], mask
 * float[batch] (optional: all 1). Writes dlogits = weight * m_i (softmax - onehot) /
 * max(1, sum m) (optional; weight 0 is taken as 1), probs[batch][classes] (optional; softmax),
 * and adds to stats (optional). A label outside [0, classes) with m_i != 0 contributes nothing
 * (no crash; the loss then undercounts — labels are validated at load). Batch <= 65,536,
 * classes <= 1024. One dispatch, one workgroup. */
typedef struct nnxr_nn_ce_args {
    uint32_t batch, classes;
    nnxr_nn_mem logits, labels, mask;
    nnxr_nn_mem dlogits, probs, stats;
    float weight;
} nnxr_nn_ce_args;

bool nnxr_nn_softmax_ce(nnxr_nn_tape *tape, const nnxr_nn_ce_args *a, nnxr_error *err);

/* MSE (ref: no 1/2): y, t [batch][outputs]; dy = 2 (y - t) / (batch*outputs) (optional);
 * stats[0] += sum over samples of mean_j (y - t)^2, [1] += batch, [3] += batch. */
bool nnxr_nn_mse(nnxr_nn_tape *tape, uint32_t batch, uint32_t outputs, nnxr_nn_mem y,
                 nnxr_nn_mem t, nnxr_nn_mem dy, nnxr_nn_mem stats, nnxr_error *err);

/* BCE from logits against targets t in [0, 1] (ref: sum over features, mean over batch):
 * dlogits = (sigmoid(a) - t) / batch (optional), recon = sigmoid(a) (optional), stats[0] +=
 * per-sample sums, [1] += batch, [3] += batch (optional; one more dispatch). */
bool nnxr_nn_bce_logits(nnxr_nn_tape *tape, uint32_t batch, uint32_t features,
                        nnxr_nn_mem logits, nnxr_nn_mem t, nnxr_nn_mem dlogits,
                        nnxr_nn_mem recon, nnxr_nn_mem stats, nnxr_error *err);

/* ------------------------------------------------------------------ VAE */

/* The GPU random generator, mirrored on the CPU bit for bit up to the final float math:
 * a counter-based hash (PCG's RXS-M-XS output function chained over seed, step and element),
 * uniform u in (0, 1), and eps = sqrt(-2 ln u1) cos(2 pi u2) (Box-Muller, cosine branch as
 * nnxr_ref_rng_normal). The 32-bit hash is exact on both sides; the CPU double result matches
 * the GPU's fp32 one to ~1e-6 relative. */
uint32_t nnxr_nn_rng_bits(uint32_t seed, uint32_t step, uint32_t element, uint32_t lane);
double nnxr_nn_rng_normal(uint32_t seed, uint32_t step, uint32_t element);

/* z = mu + exp(logvar/2) * eps with eps[n][j] = normal(hparams.seed, hparams.step + tape step,
 * n*d + j); writes eps and z ([batch][d] each). deterministic = true uses eps = 0 (z = mu,
 * for evaluation). */
bool nnxr_nn_reparam_forward(nnxr_nn_tape *tape, uint32_t batch, uint32_t d, nnxr_nn_mem mu,
                             nnxr_nn_mem logvar, nnxr_nn_mem hparams, nnxr_nn_mem eps,
                             nnxr_nn_mem z, bool deterministic, nnxr_error *err);

/* The latent's backward, reparameterisation and KL (beta = hparams.kl_beta) together:
 *   dmu     = dz + beta * mu / batch
 *   dlogvar = dz * eps * exp(logvar/2) / 2 + beta * (exp(logvar) - 1) / (2 batch)
 * written (or added with accumulate). dz may be absent (KL only). stats (optional) gets the
 * KL: [0] += beta * sum_i KL_i, [1] += batch, [3] += batch — so [0]/[1] is ref's beta*KL. */
bool nnxr_nn_vae_latent_backward(nnxr_nn_tape *tape, uint32_t batch, uint32_t d,
                                 nnxr_nn_mem mu, nnxr_nn_mem logvar, nnxr_nn_mem eps,
                                 nnxr_nn_mem dz, nnxr_nn_mem hparams, nnxr_nn_mem dmu,
                                 nnxr_nn_mem dlogvar, nnxr_nn_mem stats, bool accumulate,
                                 nnxr_error *err);

/* ------------------------------------------------------------------ data */

typedef enum nnxr_nn_format {
    NNXR_NN_U8 = 0,  /* bytes, 4 per uint32 (little-endian), densely packed */
    NNXR_NN_F32 = 1,
    NNXR_NN_I32 = 2, /* labels only */
} nnxr_nn_format;

/* Gathers a batch from a data set in GPU memory:
 *   position p of batch row r = first + step_stride * (hparams.batch_base + tape step) * batch
 *                                + r, taken modulo `count`;
 *   sample s = index[p] (index optional: s = p);
 *   x[r][f] = src[s][f] * scale + offset   (U8: the byte value; F32: the float; features per
 *             sample, samples densely packed: sample s starts at element s*features);
 *   labels_out[r] (int32) = labels[s] (U8 or I32), mask_out[r] = mask[s] (float per sample;
 *             absent = 1), each optional (labels_out requires labels).
 * With step_stride 0 the position ignores hparams (evaluation: first = chunk start); hparams
 * is then optional. scale 0 is taken as 1 for F32 and 1/255 for U8. Writes x, labels_out,
 * mask_out. One dispatch. */
typedef struct nnxr_nn_gather_args {
    uint32_t batch, features, count;
    nnxr_nn_format format;
    nnxr_nn_mem src, index;
    uint32_t first, step_stride;
    nnxr_nn_mem hparams;
    float scale, offset;
    nnxr_nn_format label_format;
    nnxr_nn_mem labels, mask;
    nnxr_nn_mem x, labels_out, mask_out;
} nnxr_nn_gather_args;

bool nnxr_nn_gather(nnxr_nn_tape *tape, const nnxr_nn_gather_args *a, nnxr_error *err);

/* ------------------------------------------------------------------ reductions and checks */

/* out[0] (+)= sum of x[0..count) — any count; deterministic order. 1-2 dispatches. */
bool nnxr_nn_reduce_sum(nnxr_nn_tape *tape, uint32_t count, nnxr_nn_mem x, nnxr_nn_mem out,
                        bool accumulate, nnxr_error *err);

/* flag[0] (uint32) |= 1 when any of x[0..count) is NaN or infinite; the caller zeroes it. */
bool nnxr_nn_check_finite(nnxr_nn_tape *tape, uint32_t count, nnxr_nn_mem x, nnxr_nn_mem flag,
                          nnxr_error *err);

/* Per-class sums of activations: sums[classes][features] += x[n][f] for labels[n] == c,
 * counts[classes] += 1 (float); labels int32; out-of-range labels are skipped. */
bool nnxr_nn_class_sums(nnxr_nn_tape *tape, uint32_t batch, uint32_t features,
                        uint32_t classes, nnxr_nn_mem x, nnxr_nn_mem labels, nnxr_nn_mem sums,
                        nnxr_nn_mem counts, nnxr_error *err);

/* ------------------------------------------------------------------ optimizers */

typedef enum nnxr_nn_optimizer {
    NNXR_NN_SGD = 0,  /* AIive's momentum: delta = mu*delta - lr*g; w += delta */
    NNXR_NN_ADAM = 1, /* with bias correction, t = hparams.step + tape step + 1 */
} nnxr_nn_optimizer;

/* One update of count parameters in a flat vector (ref semantics). g += l1*sign(w) + l2*w is
 * applied first where weight_bits marks a weight (bit i%32 of word i/32, set = weight;
 * absent = every parameter is a weight). state1: SGD's delta / Adam's m; state2: Adam's v (both
 * start at 0, same layout as params). zero_grads: g is set to 0 after use. Writes params and
 * state (and grads with zero_grads). One dispatch. */
typedef struct nnxr_nn_opt_args {
    nnxr_nn_optimizer kind;
    uint32_t count;
    nnxr_nn_mem params, grads, state1, state2, hparams, weight_bits;
    bool zero_grads;
} nnxr_nn_opt_args;

bool nnxr_nn_optimize(nnxr_nn_tape *tape, const nnxr_nn_opt_args *a, nnxr_error *err);

/* Packs is_weight[count] (nonzero = weight) into bits[(count+31)/32] as weight_bits wants. */
void nnxr_nn_pack_weight_bits(size_t count, const uint8_t *is_weight, uint32_t *bits);

/* ------------------------------------------------------------------ fused tiny MLP */

#define NNXR_NN_FUSED_MAX_LAYERS 4  /* dense layers */
#define NNXR_NN_FUSED_MAX_WIDTH 32  /* widest hidden or output layer */

/* A whole training step of a small MLP — gather, forward, loss, backward, update — in one
 * dispatch, `steps` consecutive steps per dispatch (the loop-cap budget permitting; the call
 * splits into several dispatches otherwise). Parameters are one flat vector laid out as ref's
 * mlp (W1 b1 W2 b2 ...), the optimizer state the same; data as nnxr_nn_gather (U8 or F32
 * features, labels U8/I32, optional mask; or F32 targets for MSE). The result after N steps
 * equals N layered steps (same data order, same math; fp32 rounding differs). */
typedef enum nnxr_nn_loss {
    NNXR_NN_LOSS_CE = 0,
    NNXR_NN_LOSS_MSE = 1,
} nnxr_nn_loss;

typedef struct nnxr_nn_mlp_desc {
    uint32_t layers;                               /* dense layers, 1..NNXR_NN_FUSED_MAX_LAYERS */
    uint32_t sizes[NNXR_NN_FUSED_MAX_LAYERS + 1];  /* input, hidden..., output */
    nnxr_nn_act act;                               /* of every hidden layer; output linear */
    nnxr_nn_loss loss;
    nnxr_nn_optimizer opt;
    uint32_t batch;
} nnxr_nn_mlp_desc;

/* True when the fused kernel handles this network; otherwise false with the reason in why
 * (may be NULL). */
bool nnxr_nn_fused_mlp_supported(const nnxr_nn *nn, const nnxr_nn_mlp_desc *d, char *why,
                                 size_t why_size);

/* The fused step's two kernels: one workgroup with shared memory and barriers
 * (fused_mlp.comp, any device), or one subgroup with every parameter in private memory
 * (fused_mlp_sg.comp, for CPU devices: it needs the inputs a multiple of 16, the parameters and
 * state at multiples of 8 floats and the data at a multiple of 16 bytes of its bound range).
 * AUTO takes the subgroup kernel on CPU devices when it fits, else the workgroup one. */
typedef enum nnxr_nn_fused_shape {
    NNXR_NN_FUSED_AUTO = 0,
    NNXR_NN_FUSED_WORKGROUP = 1,
    NNXR_NN_FUSED_SUBGROUP = 2,
} nnxr_nn_fused_shape;

typedef struct nnxr_nn_fused_args {
    nnxr_nn_mlp_desc net;
    uint32_t steps;            /* training steps to record (tape steps step_index..+steps-1) */
    nnxr_nn_mem params, state1, state2, hparams, weight_bits; /* as nnxr_nn_optimize */
    /* data, as nnxr_nn_gather (position = (hparams.batch_base + tape step) * batch + r) */
    uint32_t count;
    nnxr_nn_format format;
    nnxr_nn_mem src, index;
    float scale, offset;
    nnxr_nn_format label_format;
    nnxr_nn_mem labels, mask, targets;             /* targets: F32 [count][output] (MSE) */
    nnxr_nn_mem stats;                             /* optional, as the loss calls */
    nnxr_nn_fused_shape shape;                     /* which kernel; AUTO picks */
} nnxr_nn_fused_args;

/* Records a.steps steps and advances the tape's step index by a.steps. Notes:
 *  - regularisation (hparams.l1/l2) applies to every weight matrix and no bias, exactly ref's
 *    rule; weight_bits is not read;
 *  - limits (nnxr_nn_fused_mlp_supported says which one failed): 2..4 layers, widths <= 32,
 *    inputs <= 4096, batch <= 64; the workgroup kernel's shared memory (784-8-8-10 fits batch
 *    64, 784-16-16-10 up to batch 32); the subgroup kernel's widths <= 16 and W1 slice;
 *  - one pipeline per network shape (kept in the nnxr_nn, at most 16 shapes); on lavapipe its
 *    first use JIT-compiles for several seconds (Mesa's disk cache keeps it for later runs);
 *  - measured on lavapipe (Zen 5, 2 cores; `nnxr bench train --models tiny`): 784-8-8-10
 *    batch 32 SGD, the workgroup kernel ~0.9 ms per step (one core; per-lane loads and
 *    stores of W1, its state and the pixels, barriers), the subgroup kernel ~0.11 ms (W1 in
 *    private memory for the whole dispatch; see fused_mlp_sg.comp). */
bool nnxr_nn_fused_mlp_steps(nnxr_nn_tape *tape, const nnxr_nn_fused_args *a,
                             nnxr_error *err);

/* ------------------------------------------------------------------ benchmark */

typedef struct nnxr_nn_bench_row {
    char config[32];      /* GEMM config name, or "cpu-c" for the C reference */
    uint32_t m, n, k;
    bool trans_a, trans_b;
    double gflops;        /* 2*m*n*k / median time */
    double ms;            /* median time per GEMM (device timestamps, else wall clock) */
    double max_rel_err;   /* ||C - C_ref||_2 / ||C_ref||_2 against the C reference on the same
                             data (0 for the C row; 0 also when the device sums in the same
                             order with the same roundings, as lavapipe does) */
    double cpu_ms;        /* process CPU time per GEMM (all threads; lavapipe's workers are
                             in-process): robust to other load on the machine. GFLOP per
                             CPU-second = 2*m*n*k / (cpu_ms * 1e6). 0 when unknown. */
} nnxr_nn_bench_row;

/* GEMM GFLOP/s for each tile configuration at sizes[i]^3 (NN layout, plus NT and TN at the
 * largest size), with a C reference (blocked, one thread) measured in the same run. GPU times
 * come from timestamps around `reps` back-to-back dispatches. rows gets up to max_rows rows;
 * *row_count is how many were written. */
bool nnxr_nn_bench_gemm(nnxr_gpu *gpu, const uint32_t *sizes, uint32_t size_count,
                        uint32_t reps, nnxr_nn_bench_row *rows, uint32_t max_rows,
                        uint32_t *row_count, nnxr_error *err);

#endif
