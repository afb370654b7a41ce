/* nn/layers_push.h — the push-constant blocks of the nn kernels, byte for byte as the shaders
 * under shaders/nn/ declare them (every member 4 bytes, so C and std430 push layouts agree),
 * and the flag bits they carry. Only the nn module's .c files include it. */
#ifndef NNXR_NN_LAYERS_PUSH_H
#define NNXR_NN_LAYERS_PUSH_H

#include <stdint.h>

#include "gpu/gpu.h"

/* shaders/include/nn/gemm_common.glsl */
enum {
    NN_GEMM_ACCUMULATE = 1u,
    NN_GEMM_BIAS = 2u,
    NN_GEMM_BIAS_ROWS = 4u,
    NN_GEMM_ACT_SHIFT = 4u,
    NN_GEMM_AUX = 64u,
    NN_GEMM_AUX_ACT_SHIFT = 8u,
    NN_GEMM_COLSUM = 1024u,
    NN_GEMM_COLSUM_ACCUMULATE = 2048u,
    NN_GEMM_BATCH_REDUCE = 4096u,
};

typedef struct nn_gemm_push {
    uint32_t m, n, k;
    uint32_t k0, k1;
    uint32_t lda, ldb, ldc;
    uint32_t a_off, b_off, c_off;
    uint32_t bias_off, aux_off, cs_off;
    uint32_t flags;
    float alpha;
    uint32_t z0, z1;
    uint32_t sa, sb, sc;
} nn_gemm_push;

/* im2col.comp / col2im.comp. Samples n0 .. n0+nb-1 of x; col rows (c*k+p)*k+q, columns
 * oy*ow+ox, one [ckk][ohw] matrix per sample. */
enum { NN_CONV_ACCUMULATE = 1u, NN_CONV_ACT_SHIFT = 4u };
typedef struct nn_conv_push {
    uint32_t n0, nb;
    uint32_t c, h, w, k;
    uint32_t oh, ow, pad;
    uint32_t x_off, col_off, y_off;
    uint32_t flags;
    uint32_t total;
} nn_conv_push;

/* maxpool_fwd.comp / maxpool_bwd.comp: count = batch*ch*(out or in) elements. */
typedef struct nn_pool_push {
    uint32_t count;
    uint32_t h, w, oh, ow;
    uint32_t x_off, y_off, z_off;
    uint32_t act;
} nn_pool_push;

/* act_fwd.comp / act_bwd.comp */
typedef struct nn_act_push {
    uint32_t count;
    uint32_t a_off, b_off, c_off;
    uint32_t act;
} nn_act_push;

/* softmax_ce.comp */
enum {
    NN_CE_MASK = 1u,
    NN_CE_DLOGITS = 2u,
    NN_CE_PROBS = 4u,
    NN_CE_STATS = 8u,
    NN_CE_LABELS = 16u,
};
typedef struct nn_ce_push {
    uint32_t batch, classes;
    uint32_t logits_off, labels_off, mask_off, dlogits_off, probs_off, stats_off;
    uint32_t flags;
    float weight;
} nn_ce_push;

/* mse.comp */
enum { NN_MSE_DY = 1u, NN_MSE_STATS = 2u };
typedef struct nn_mse_push {
    uint32_t batch, outputs;
    uint32_t y_off, t_off, dy_off, stats_off;
    uint32_t flags;
} nn_mse_push;

/* bce.comp: one workgroup per row; row losses go to rowloss (then reduce.comp). */
enum { NN_BCE_DLOGITS = 1u, NN_BCE_RECON = 2u, NN_BCE_ROWLOSS = 4u };
typedef struct nn_bce_push {
    uint32_t batch, features;
    uint32_t a_off, t_off, d_off, r_off, l_off;
    uint32_t flags;
} nn_bce_push;

/* reparam.comp */
enum { NN_REPARAM_DETERMINISTIC = 1u };
typedef struct nn_reparam_push {
    uint32_t count;
    uint32_t mu_off, lv_off, hp_off, eps_off, z_off;
    uint32_t step_index;
    uint32_t flags;
} nn_reparam_push;

/* vae_latent.comp */
enum { NN_LATENT_DZ = 1u, NN_LATENT_ACCUMULATE = 2u, NN_LATENT_STATS = 4u };
typedef struct nn_latent_push {
    uint32_t batch, d;
    uint32_t mu_off, lv_off, eps_off, dz_off, hp_off, dmu_off, dlv_off, stats_off;
    uint32_t flags;
} nn_latent_push;

/* gather.comp */
enum {
    NN_GATHER_F32 = 1u,      /* source floats (else bytes) */
    NN_GATHER_INDEX = 2u,
    NN_GATHER_LABELS = 4u,   /* write labels_out */
    NN_GATHER_LABELS_I32 = 8u,
    NN_GATHER_MASK = 16u,    /* a mask source exists */
    NN_GATHER_MASK_OUT = 32u,
    NN_GATHER_HPARAMS = 64u, /* position uses hparams.batch_base */
};
typedef struct nn_gather_push {
    uint32_t batch, features, count;
    uint32_t first, step_stride, step_index;
    uint32_t flags;
    float scale, offset;
    uint32_t src_off, index_off, hp_off, labels_off, mask_off, x_off, lo_off, mo_off;
} nn_gather_push;

/* reduce.comp: sum of x[first .. first+count) per workgroup chunk. */
enum { NN_REDUCE_ACCUMULATE = 1u, NN_REDUCE_STATS = 2u };
typedef struct nn_reduce_push {
    uint32_t count, chunk;
    uint32_t x_off, out_off;
    uint32_t flags;
    float extra;
} nn_reduce_push;

/* check_finite.comp */
typedef struct nn_finite_push {
    uint32_t count;
    uint32_t x_off, flag_off;
} nn_finite_push;

/* class_sums.comp */
typedef struct nn_class_push {
    uint32_t batch, features, classes;
    uint32_t x_off, labels_off, sums_off, counts_off;
} nn_class_push;

/* optimize.comp */
enum { NN_OPT_ADAM = 1u, NN_OPT_ZERO_GRADS = 2u, NN_OPT_BITS = 4u };
typedef struct nn_opt_push {
    uint32_t count;
    uint32_t p_off, g_off, s1_off, s2_off, hp_off, bits_off;
    uint32_t flags;
    uint32_t step_index;
} nn_opt_push;

/* fused_mlp.comp (see layers_fused.c) */
enum {
    NN_FUSED_INDEX = 1u,
    NN_FUSED_MASK = 2u,
    NN_FUSED_STATS = 4u,
};
typedef struct nn_fused_push {
    uint32_t count, step_first, steps, flags;
    float scale, offset;
    uint32_t p_off, s1_off, s2_off, hp_off, src_off, index_off, labels_off, mask_off, targets_off,
        stats_off;
} nn_fused_push;

#endif
