// nn/fused_mlp_sg.comp — whole training steps of a small MLP in one dispatch of ONE subgroup,
// the fused step's shape for CPU devices (engine/nn/layers_fused.c picks it there): no
// barriers, no shared memory, every parameter in private memory for the whole dispatch.
//
// Why this shape: a CPU device runs a workgroup as SIMD chunks (8 lanes on lavapipe) that
// switch at every barrier, loads a storage buffer one lane at a time, and keeps shared memory
// behind the same per-lane loops. One subgroup needs none of that: its lanes meet through
// subgroup operations, and private arrays cost a gather or scatter at a dynamic index, a
// plain vector load or store at a constant one. Measured on lavapipe (Zen 5): a vec4
// storage-buffer load costs ~5x a texel fetch and ~20x a dynamic private-array read.
// 784-8-8-10 batch 32 SGD: ~0.11 ms a step (the workgroup kernel: 0.9 ms).
//
// Lane L owns the 16-input chunks c = L, L + SGS, L + 2 SGS, ... of layer 1: its slice of W1
// and of the optimizer state live in its private arrays (loaded at the start of the dispatch,
// written back at its end). A step:
//  1. every lane reads the batch's sample indices, labels and mask (the same for all lanes);
//  2. each lane forms the partial pre-activations of its chunks for every sample, the
//     subgroup sums them (subgroupAdd): every lane then holds z1 of the whole batch;
//  3. lane L runs the upper layers, the loss and the backward down to dz1 for samples L,
//     L + SGS, ...; the subgroup sums the upper gradients (each lane then updates its own copy
//     of the upper parameters identically) and every lane takes dz1 of every sample from its
//     owner (subgroupBroadcast from a constant lane);
//  4. each lane forms W1's gradient for its chunks from dz1 and the inputs and updates its
//     slice in place.
// Inputs are read through a uniform texel buffer: 16 pixels (RGBA32UI) or 4 floats (RGBA32F)
// per fetch; D0 is a multiple of 16 and the data offset a multiple of 4 words (host-checked).
// Every loop over units or inputs is unrolled by macro (nn/unroll.glsl: lavapipe ignores
// [[unroll]]); the runtime loops are over samples, chunks and the upper block's parameters.
// Limits (host-checked): D1..D4 <= 16, SGS <= 16.
// Regularisation (L1, L2) applies to every weight matrix, never to biases, as the reference.
#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#extension GL_EXT_control_flow_attributes : require

#include "nn/common.glsl"
#include "nn/hparams.glsl"
#include "nn/unroll.glsl"

layout(local_size_x_id = 0) in;                   // == the subgroup size
layout(constant_id = 1) const uint NL = 3;        // dense layers, 2..4
layout(constant_id = 2) const uint D0 = 784;      // inputs, a multiple of 16
layout(constant_id = 3) const uint D1 = 8;
layout(constant_id = 4) const uint D2 = 8;
layout(constant_id = 5) const uint D3 = 10;
layout(constant_id = 6) const uint D4 = 1;        // unused when NL < 4
layout(constant_id = 7) const uint BATCH = 32;
layout(constant_id = 8) const uint ACT = 1;       // hidden activation
layout(constant_id = 9) const uint LOSS = 0;      // 0 softmax-CE, 1 MSE
layout(constant_id = 10) const uint OPT = 0;      // 0 SGD (AIive), 1 Adam
layout(constant_id = 11) const bool XF32 = false; // features are floats (else bytes)
layout(constant_id = 12) const bool LABEL_I32 = false;
layout(constant_id = 13) const uint NU = 171;     // the upper block: b1, W2, b2, ... (floats)
layout(constant_id = 14) const uint CPL = 7;      // most 16-input chunks a lane owns
layout(constant_id = 15) const uint NGRP = 4;     // samples per register tile of layer 1 (<= 8)

layout(std430, binding = 0) buffer P32 { float p32[]; };
layout(std430, binding = 1) buffer S1_32 { float s1_32[]; };
layout(std430, binding = 2) buffer S2_32 { float s2_32[]; };
layout(std430, binding = 3) readonly buffer HP { uint hp[]; };
layout(std430, binding = 4) readonly buffer Index { uint index[]; };
layout(std430, binding = 5) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 6) readonly buffer Mask { float mask[]; };
layout(std430, binding = 7) readonly buffer Targets { float targets[]; };
layout(std430, binding = 8) buffer Stats { float stats[]; };
layout(binding = 9) uniform usamplerBuffer src_u8;  // XF32 false: 16 pixels per texel
layout(binding = 10) uniform samplerBuffer src_f32; // XF32 true: 4 floats per texel

layout(push_constant) uniform Push {
    uint count, step_first, steps, flags;
    float scale, offset;
    uint p_off, s1_off, s2_off, hp_off, src_off, index_off, labels_off, mask_off, targets_off,
        stats_off;
} pc;

#define F_INDEX 1u
#define F_MASK 2u
#define F_STATS 4u

const uint KC = D0 / 16u;          // 16-input chunks of layer 1
const uint WSL = CPL * D1 * 16u;   // a lane's slice of W1: [chunk][unit][16 inputs]
const uint SGS = gl_WorkGroupSize.x;
const uint RPL = (BATCH + SGS - 1u) / SGS; // samples per lane in the upper layers

uint dim(uint l) { return l == 0u ? D0 : l == 1u ? D1 : l == 2u ? D2 : l == 3u ? D3 : D4; }

// Offsets in the fl parameter vector (W1 b1 W2 b2 ...) and in the upper block (fl from b1 on),
// in closed form: a helper with a loop would be a rolled loop at every use.
const uint W2_OFF = D1 * D0 + D1;
const uint W3_OFF = W2_OFF + D2 * D1 + D2;
const uint W4_OFF = W3_OFF + D3 * D2 + D3;
uint w_off(uint l) { return l <= 1u ? 0u : l == 2u ? W2_OFF : l == 3u ? W3_OFF : W4_OFF; }
uint b_off(uint l) { return w_off(l) + dim(l) * dim(l - 1u); }
const uint U0 = D1 * D0;           // where the upper block starts in fl (b1)
uint uw(uint l) { return w_off(l) - U0; }
uint ub(uint l) { return b_off(l) - U0; }
// Upper-block index i is a weight (regularised), not a bias.
bool u_is_weight(uint i)
{
    return (i >= uw(2u) && i < ub(2u)) || (NL >= 3u && i >= uw(3u) && i < ub(3u)) ||
           (NL >= 4u && i >= uw(4u) && i < ub(4u));
}

// The 16 inputs of chunk c of sample s, normalised.
#define LX_F32(q) { vec4 v_ = texelFetch(src_f32, t + int(q)); \
    x[4u * (q)] = v_.x * pc.scale + pc.offset; x[4u * (q) + 1u] = v_.y * pc.scale + pc.offset; \
    x[4u * (q) + 2u] = v_.z * pc.scale + pc.offset; x[4u * (q) + 3u] = v_.w * pc.scale + pc.offset; }
#define LX_U8(q) x[q] = float((w_[(q) >> 2u] >> (((q) & 3u) * 8u)) & 255u) * pc.scale + pc.offset;
// The texels of chunk c of sample s, and their 16 inputs normalised.
struct Raw { uvec4 u; vec4 f[4]; };
Raw fetch16(uint s, uint c)
{
    Raw r;
    r.u = uvec4(0u);
    r.f[0] = r.f[1] = r.f[2] = r.f[3] = vec4(0.0);
    if (XF32) {
        int t = int((pc.src_off + s * D0 + c * 16u) >> 2u);
        r.f[0] = texelFetch(src_f32, t);
        r.f[1] = texelFetch(src_f32, t + 1);
        r.f[2] = texelFetch(src_f32, t + 2);
        r.f[3] = texelFetch(src_f32, t + 3);
    } else {
        r.u = texelFetch(src_u8, int((pc.src_off * 4u + s * D0 + c * 16u) >> 4u));
    }
    return r;
}
#define UX_F32(q) x[4u * (q)] = r.f[q].x * pc.scale + pc.offset; \
    x[4u * (q) + 1u] = r.f[q].y * pc.scale + pc.offset; \
    x[4u * (q) + 2u] = r.f[q].z * pc.scale + pc.offset; \
    x[4u * (q) + 3u] = r.f[q].w * pc.scale + pc.offset;
#define UX_U8(q) x[q] = float((r.u[(q) >> 2u] >> (((q) & 3u) * 8u)) & 255u) * pc.scale + pc.offset;
void unpack16(Raw r, out float x[16])
{
    if (XF32) {
        UX_F32(0u) UX_F32(1u) UX_F32(2u) UX_F32(3u)
    } else {
        N16_1(UX_U8)
    }
}

void load_x16(uint s, uint c, out float x[16])
{
    if (XF32) {
        int t = int((pc.src_off + s * D0 + c * 16u) >> 2u);
        LX_F32(0u) LX_F32(1u) LX_F32(2u) LX_F32(3u)
    } else {
        uvec4 w_ = texelFetch(src_u8, int((pc.src_off * 4u + s * D0 + c * 16u) >> 4u));
        N16_1(LX_U8)
    }
}

float hpf(uint i) { return uintBitsToFloat(hp[pc.hp_off + i]); }

// One optimizer update of parameter w with gradient g and state m (delta or Adam's m), v.
void opt_update(inout float w, float g, inout float m, inout float v, bool is_weight, float lr,
                float mom, float b1, float b2, float eps, float c1, float c2, float l1, float l2)
{
    if (is_weight)
        g += l1 * sign(w) + l2 * w;
    if (OPT == 1u) {
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        w -= lr * (m * c1) / (sqrt(v * c2) + eps);
    } else {
        m = mom * m - lr * g;
        w += m;
    }
}

// ---- layer 1 (phase 2): sample j of the tile against this chunk's 16 inputs of unit h
#define P2_Q(j, h, q) acc[j][h] = fma(x[q], w1[o0 + (h) * 16u + (q)], acc[j][h]);
#define P2_H(j, h) if ((h) < D1) { N16_3(P2_Q, j, h) }
#define P2_FETCH(j) if ((j) < NGRP) raw[j] = fetch16(sidx[min(g0 + (j), BATCH - 1u)], c);
#define P2_J(j) if ((j) < NGRP) { float x[16]; unpack16(raw[j], x); N16_2(P2_H, j) }
#define P2_ZERO(j, h) acc[j][h] = 0.0;
#define P2_SUM(j, h) if ((j) < NGRP && (h) < D1) { float z_ = subgroupAdd(acc[j][h]); \
    if (g0 + (j) < BATCH) z1[(g0 + (j)) * D1 + (h)] = z_; }

// ---- upper layers (phase 3), l = 2..4: a[l-1] = act(W_l a[l-2] + b_l); the loops over a
// layer's outputs stay rolled (a handful of iterations a sample), their insides unrolled.
#define FW_I(l, i) if ((i) < dim((l) - 1u)) \
    z_ = fma(up[uw(l) + o * dim((l) - 1u) + (i)], a[(l) - 2u][i], z_);
#define FORWARD(l) if ((l) <= NL) { [[dont_unroll]] for (uint o = 0u; o < dim(l); o++) { \
    float z_ = up[ub(l) + o]; N16_2(FW_I, l) a[(l) - 1u][o] = (l) == NL ? z_ : nn_act(ACT, z_); } }
// backward through layer l: its gradients from dz (dim(l)) and a[l-2]; then dz of layer l-1
#define GR_I(l, i) if ((i) < dim((l) - 1u)) gu[uw(l) + o * dim((l) - 1u) + (i)] = \
    fma(dz[o], a[(l) - 2u][i], gu[uw(l) + o * dim((l) - 1u) + (i)]);
#define DA_O(l, o) if ((o) < dim(l)) s_ = fma(dz[o], up[uw(l) + (o) * dim((l) - 1u) + i], s_);
#define BACKWARD(l) if ((l) <= NL) { \
    [[dont_unroll]] for (uint o = 0u; o < dim(l); o++) { gu[ub(l) + o] += dz[o]; N16_2(GR_I, l) } \
    float da[16]; \
    [[dont_unroll]] for (uint i = 0u; i < dim((l) - 1u); i++) { float s_ = 0.0; N16_2(DA_O, l) \
        da[i] = s_ * nn_act_deriv_y(ACT, a[(l) - 2u][i]); } \
    [[dont_unroll]] for (uint i = 0u; i < dim((l) - 1u); i++) dz[i] = da[i]; }
// the loss on the logits a[NL-1] (o < dim(NL))
#define CE_MAX(o) if ((o) > 0u && (o) < dim(NL) && logit(o) > mx) { mx = logit(o); arg = (o); }
#define CE_SUM(o) if ((o) < dim(NL)) se += exp(logit(o) - mx);
#define CE_DZ(o) if ((o) < dim(NL)) { dz[o] = scale * (exp(logit(o) - mx) / se - \
    (int(o) == label ? 1.0 : 0.0)); picked += int(o) == label ? logit(o) : 0.0; }
#define MSE_DZ(o) if ((o) < dim(NL)) { float d_ = logit(o) - targets[pc.targets_off + smp * \
    dim(NL) + (o)]; se += d_ * d_; dz[o] = inv * d_; }
#define A1(h) if ((h) < D1) a[0][h] = nn_act(ACT, z1[n * D1 + (h)] + up[h]);
#define DZ1(h) if ((h) < D1) { gu[h] += dz[h]; dz1own[n * D1 + (h)] = dz[h]; }

// ---- W1 (phase 4): the gradient of this chunk over samples n .. n+3 at a time (each sum is
// loaded and stored once per four products when registers run out), then its update
#define P4_Q(h, q) gw[h][q] = fma(d_[0], x[0][q], fma(d_[1], x[1][q], fma(d_[2], x[2][q], \
    fma(d_[3], x[3][q], gw[h][q]))));
#define P4_H(h) if ((h) < D1) { float d_[4]; \
    d_[0] = dz1[(n) * D1 + (h)]; \
    d_[1] = n + 1u < BATCH ? dz1[(n + 1u) * D1 + (h)] : 0.0; \
    d_[2] = n + 2u < BATCH ? dz1[(n + 2u) * D1 + (h)] : 0.0; \
    d_[3] = n + 3u < BATCH ? dz1[(n + 3u) * D1 + (h)] : 0.0; \
    N16_2(P4_Q, h) }
#define GW_ZERO(h, q) gw[h][q] = 0.0;
#define GW_ZH(h) if ((h) < D1) { N16_2(GW_ZERO, h) }
#define UP_Q(h, q) opt_update(w1[o0 + (h) * 16u + (q)], gw[h][q], m1[o0 + (h) * 16u + (q)], \
    v1[OPT == 1u ? o0 + (h) * 16u + (q) : 0u], true, lr, mom, b1, b2, eps, c1, c2, l1, l2);
#define UP_H(h) if ((h) < D1) { N16_2(UP_Q, h) }

void main()
{
    uint lane = gl_SubgroupInvocationID;
    float lr = hpf(HP_LR), mom = hpf(HP_MOMENTUM), b1 = hpf(HP_BETA1), b2 = hpf(HP_BETA2);
    float eps = hpf(HP_ADAM_EPS), l1 = hpf(HP_L1), l2 = hpf(HP_L2);
    uint step0 = hp[pc.hp_off + HP_STEP], bb = hp[pc.hp_off + HP_BATCH_BASE];
    uint chunks = lane < KC ? (KC - 1u - lane) / SGS + 1u : 0u; // chunks this lane owns

    // This lane's slice of W1 and its state; the upper block and its state.
    float w1[WSL], m1[WSL], v1[OPT == 1u ? WSL : 1u];
    [[dont_unroll]] for (uint cl = 0u; cl < chunks; cl++) {
        uint c = lane + cl * SGS;
        [[dont_unroll]] for (uint h = 0u; h < D1; h++) {
            uint e = h * D0 + c * 16u, o = (cl * D1 + h) * 16u;
#define LOAD_Q(q) w1[o + (q)] = p32[pc.p_off + e + (q)]; m1[o + (q)] = s1_32[pc.s1_off + e + (q)]; \
    if (OPT == 1u) v1[o + (q)] = s2_32[pc.s2_off + e + (q)];
            N16_1(LOAD_Q)
        }
    }
    float up[NU], um[NU], uv[OPT == 1u ? NU : 1u];
    [[dont_unroll]] for (uint i = 0u; i < NU; i++) {
        up[i] = p32[pc.p_off + U0 + i];
        um[i] = s1_32[pc.s1_off + U0 + i];
        if (OPT == 1u)
            uv[i] = s2_32[pc.s2_off + U0 + i];
    }

    uint sidx[BATCH];
    int slab[BATCH];
    float smask[BATCH];
    float z1[BATCH * D1], dz1[BATCH * D1], dz1own[BATCH * D1];
    float gu[NU]; // the upper gradients of this lane's samples (zero between steps)
    [[dont_unroll]] for (uint i = 0u; i < NU; i++)
        gu[i] = 0.0;
    float st_loss = 0.0, st_w = 0.0, st_c = 0.0;

    [[dont_unroll]] for (uint st = 0u; st < pc.steps; st++) {
        uint tstep = step0 + pc.step_first + st; // steps done before this one
        float c1 = 1.0, c2 = 1.0;
        if (OPT == 1u) {
            float t = float(tstep + 1u);
            c1 = 1.0 / (1.0 - pow(b1, t));
            c2 = 1.0 / (1.0 - pow(b2, t));
        }

        // ---- 1. the batch ---------------------------------------------------------------
        float wsum = 0.0;
        [[dont_unroll]] for (uint n = 0u; n < BATCH; n++) {
            uint p = (((bb + pc.step_first + st) % pc.count) * BATCH + n) % pc.count;
            uint smp = (pc.flags & F_INDEX) != 0u ? index[pc.index_off + p] % pc.count : p;
            sidx[n] = smp;
            float m = 1.0;
            int label = 0;
            if (LOSS == 0u) {
                uint l = LABEL_I32 ? labels[pc.labels_off + smp]
                                   : (labels[pc.labels_off + (smp >> 2u)] >> ((smp & 3u) * 8u)) & 255u;
                label = int(l);
                m = (pc.flags & F_MASK) != 0u ? mask[pc.mask_off + smp] : 1.0;
                if (label < 0 || uint(label) >= dim(NL))
                    m = 0.0;
            }
            slab[n] = label;
            smask[n] = m;
            wsum += m;
        }

        // ---- 2. layer 1: this lane's chunks, then the subgroup's sum ----------------------
        [[dont_unroll]] for (uint g0 = 0u; g0 < BATCH; g0 += NGRP) {
            float acc[8][16];
            N16_2(P2_ZERO, 0u) N16_2(P2_ZERO, 1u) N16_2(P2_ZERO, 2u) N16_2(P2_ZERO, 3u)
            N16_2(P2_ZERO, 4u) N16_2(P2_ZERO, 5u) N16_2(P2_ZERO, 6u) N16_2(P2_ZERO, 7u)
            [[dont_unroll]] for (uint cl = 0u; cl < chunks; cl++) {
                uint c = lane + cl * SGS, o0 = cl * D1 * 16u;
                // All the tile's fetches first: a random batch misses the cache, and misses
                // issued together overlap (each fetch followed by its products did not).
                Raw raw[8];
                P2_FETCH(0u) P2_FETCH(1u) P2_FETCH(2u) P2_FETCH(3u)
                P2_FETCH(4u) P2_FETCH(5u) P2_FETCH(6u) P2_FETCH(7u)
                P2_J(0u) P2_J(1u) P2_J(2u) P2_J(3u) P2_J(4u) P2_J(5u) P2_J(6u) P2_J(7u)
            }
            N16_2(P2_SUM, 0u) N16_2(P2_SUM, 1u) N16_2(P2_SUM, 2u) N16_2(P2_SUM, 3u)
            N16_2(P2_SUM, 4u) N16_2(P2_SUM, 5u) N16_2(P2_SUM, 6u) N16_2(P2_SUM, 7u)
        }

        // ---- 3. upper layers, loss, backward to dz1: lane L takes samples L, L + SGS, ... ---
        [[dont_unroll]] for (uint r = 0u; r < RPL; r++) {
            uint n = lane + r * SGS;
            // (A batch that is a multiple of the lanes folds the test away: the samples then
            // run without an execution mask.)
            if (BATCH % SGS == 0u || n < BATCH) {
                float a[4][16]; // a[l-1]: output of layer l (activated); a[NL-1]: the logits
                float dz[16];
                N16_1(A1)
                FORWARD(2u) FORWARD(3u) FORWARD(4u)
#define logit(o) a[NL - 1u][o]
                float m = smask[n];
                if (LOSS == 0u) {
                    int label = slab[n];
                    float mx = logit(0u), se = 0.0, picked = 0.0;
                    uint arg = 0u;
                    N16_1(CE_MAX)
                    N16_1(CE_SUM)
                    float scale = m / max(1.0, wsum);
                    N16_1(CE_DZ)
                    if (m != 0.0) {
                        st_loss += m * (mx + log(se) - picked);
                        st_c += arg == uint(label) ? m : 0.0;
                    }
                    st_w += m;
                } else {
                    float inv = 2.0 / float(BATCH * dim(NL)), se = 0.0;
                    uint smp = sidx[n];
                    N16_1(MSE_DZ)
                    st_loss += se / float(dim(NL));
                    st_w += 1.0;
                }
                BACKWARD(4u) BACKWARD(3u) BACKWARD(2u)
                N16_1(DZ1)
            }
        }
        // Every lane: the batch's gradients, then the same update of its copy.
        [[dont_unroll]] for (uint i = 0u; i < NU; i++) {
            float g = subgroupAdd(gu[i]);
            gu[i] = 0.0; // for the next step
            opt_update(up[i], g, um[i], uv[OPT == 1u ? i : 0u], u_is_weight(i), lr, mom, b1, b2,
                       eps, c1, c2, l1, l2);
        }
        // dz1 of sample n lives in lane n % SGS: each lane takes it from there (a broadcast
        // from a constant lane is one extract on CPU devices).
        [[dont_unroll]] for (uint r = 0u; r < RPL; r++) {
            uint n = lane + r * SGS;
            float own[16];
#define OWN(h) if ((h) < D1) own[h] = dz1own[min(n, BATCH - 1u) * D1 + (h)];
            N16_1(OWN)
#define SHARE_H(src, h) if ((h) < D1 && (src) < SGS && (src) + r * SGS < BATCH) \
    dz1[((src) + r * SGS) * D1 + (h)] = subgroupBroadcast(own[h], src);
#define SHARE(src) N16_2(SHARE_H, src)
            N16_1(SHARE)
        }

        // ---- 4. W1: this lane's chunks --------------------------------------------------
        [[dont_unroll]] for (uint cl = 0u; cl < chunks; cl++) {
            uint c = lane + cl * SGS, o0 = cl * D1 * 16u;
            float gw[16][16];
            N16_1(GW_ZH)
            [[dont_unroll]] for (uint n = 0u; n < BATCH; n += 4u) {
                float x[4][16];
                load_x16(sidx[n], c, x[0]);
                load_x16(sidx[min(n + 1u, BATCH - 1u)], c, x[1]);
                load_x16(sidx[min(n + 2u, BATCH - 1u)], c, x[2]);
                load_x16(sidx[min(n + 3u, BATCH - 1u)], c, x[3]);
                N16_1(P4_H)
            }
            N16_1(UP_H)
        }
    }

    // Write everything back: the slices lane by lane, the upper block once.
    [[dont_unroll]] for (uint cl = 0u; cl < chunks; cl++) {
        uint c = lane + cl * SGS;
        [[dont_unroll]] for (uint h = 0u; h < D1; h++) {
            uint e = h * D0 + c * 16u, o = (cl * D1 + h) * 16u;
#define STORE_Q(q) p32[pc.p_off + e + (q)] = w1[o + (q)]; s1_32[pc.s1_off + e + (q)] = m1[o + (q)]; \
    if (OPT == 1u) s2_32[pc.s2_off + e + (q)] = v1[o + (q)];
            N16_1(STORE_Q)
        }
    }
    float sl = subgroupAdd(st_loss), sw = subgroupAdd(st_w), sc = subgroupAdd(st_c);
    if (subgroupElect()) {
        [[dont_unroll]] for (uint i = 0u; i < NU; i++) {
            p32[pc.p_off + U0 + i] = up[i];
            s1_32[pc.s1_off + U0 + i] = um[i];
            if (OPT == 1u)
                s2_32[pc.s2_off + U0 + i] = uv[i];
        }
        if ((pc.flags & F_STATS) != 0u) {
            stats[pc.stats_off] += sl;
            stats[pc.stats_off + 1u] += sw;
            stats[pc.stats_off + 2u] += sc;
            stats[pc.stats_off + 3u] += float(BATCH * pc.steps);
        }
    }
}
