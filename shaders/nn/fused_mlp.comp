// nn/fused_mlp.comp — whole training steps of a small MLP in one dispatch of one workgroup:
// gather, forward, loss, backward and optimizer update, `steps` consecutive steps. The shape is
// fixed by specialization constants so every small loop unrolls into registers.
//
// A step (3 barriers):
//  1. sample lanes (n < BATCH) find their sample, label/targets and mask; chunk mask sums.
//  2. slice lanes (s < S) own inputs k in [s*KS, (s+1)*KS) of layer 1 and compute their
//     partial pre-activations of every sample in register tiles of NGRP samples x D1 units x
//     16 inputs, into shared memory (part[s][n][h]).
//  3. sample lanes: z1 = b1 + sum of the partials, the upper layers (weights from shared
//     memory), the loss and the backward down to dz1 (to shared memory); every upper-layer
//     gradient (and b1's) is summed over the lanes of a subgroup and the subgroup's sums go to
//     shared memory.
//  4. param lanes add the subgroups' sums and update the upper parameters and b1 (kept in
//     shared memory for the whole dispatch, written back at its end); slice lanes form W1's
//     gradient for their slice from dz1 and the inputs and update W1 and its optimizer state
//     in place (each slice is only ever touched by its own lane).
// Memory traffic on CPU devices is per-lane loads, so W1 and the inputs move as u64vec4 / uvec4
// (8 floats / 16 pixels per load) when aligned (VEC_W, VEC_X), else one element at a time.
// Regularisation (L1, L2) applies to every weight matrix, never to biases, as the reference.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require

#include "nn/common.glsl"
#include "nn/hparams.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NL = 3;        // dense layers, 2..4
layout(constant_id = 2) const uint D0 = 784;      // inputs
layout(constant_id = 3) const uint D1 = 8;
layout(constant_id = 4) const uint D2 = 8;
layout(constant_id = 5) const uint D3 = 10;
layout(constant_id = 6) const uint D4 = 1;        // unused when NL < 4
layout(constant_id = 7) const uint BATCH = 32;
layout(constant_id = 8) const uint ACT = 1;       // hidden activation
layout(constant_id = 9) const uint LOSS = 0;      // 0 softmax-CE, 1 MSE
layout(constant_id = 10) const uint OPT = 0;      // 0 SGD (AIive), 1 Adam
layout(constant_id = 11) const bool XF32 = false; // features are floats (else bytes)
layout(constant_id = 12) const uint KS = 128;     // inputs per slice (multiple of 16)
layout(constant_id = 13) const uint S = 7;        // slices
layout(constant_id = 14) const bool LABEL_I32 = false;
layout(constant_id = 15) const uint NCH = 8;      // most subgroups per workgroup
layout(constant_id = 16) const uint MAXW = 10;    // widest of D1..D4
// Shared layout of the "upper block" (b1, then W_l rows and b_l for l >= 2), in groups of 8
// floats: every row and bias vector starts a new group. Computed on the host.
layout(constant_id = 17) const uint NG = 24;      // groups of the upper block
layout(constant_id = 18) const uint G_W2 = 1;     // first group of W2, b2, W3, b3, W4, b4
layout(constant_id = 19) const uint G_B2 = 9;
layout(constant_id = 20) const uint G_W3 = 10;
layout(constant_id = 21) const uint G_B3 = 20;
layout(constant_id = 22) const uint G_W4 = 22;
layout(constant_id = 23) const uint G_B4 = 22;
layout(constant_id = 24) const uint NGRP = 8;     // samples per register tile of layer 1
// Alignment (host-checked): W1 and its state, and the inputs, move 8 floats / 16 pixels per
// load. Constants rather than flags so the unused paths are not compiled at all.
layout(constant_id = 25) const bool VEC_W = false;
layout(constant_id = 26) const bool VEC_X = false;

layout(std430, binding = 0) buffer P32 { float p32[]; };
layout(std430, binding = 0) buffer P64 { u64vec4 p64[]; };
layout(std430, binding = 1) buffer S1_32 { float s1_32[]; };
layout(std430, binding = 1) buffer S1_64 { u64vec4 s1_64[]; };
layout(std430, binding = 2) buffer S2_32 { float s2_32[]; };
layout(std430, binding = 2) buffer S2_64 { u64vec4 s2_64[]; };
layout(std430, binding = 3) readonly buffer HP { uint hp[]; };
layout(std430, binding = 4) readonly buffer Src32 { uint src32[]; };
layout(std430, binding = 4) readonly buffer Src128 { uvec4 src128[]; };
layout(std430, binding = 4) readonly buffer Src64 { u64vec4 src64[]; };
layout(std430, binding = 5) readonly buffer Index { uint index[]; };
layout(std430, binding = 6) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 7) readonly buffer Mask { float mask[]; };
layout(std430, binding = 8) readonly buffer Targets { float targets[]; };
layout(std430, binding = 9) buffer Stats { float stats[]; };

layout(push_constant) uniform Push {
    uint count, step_first, steps, flags;
    float scale, offset;
    uint p_off, s1_off, s2_off, hp_off, src_off, index_off, labels_off, mask_off, targets_off,
        stats_off;
} pc;

#define F_INDEX 1u
#define F_MASK 2u
#define F_STATS 4u

uint dim(uint l) { return l == 0u ? D0 : l == 1u ? D1 : l == 2u ? D2 : l == 3u ? D3 : D4; }
const uint NGR = NG + 1u;        // reduction groups: the upper block + (loss, weight, correct)
const uint KC = KS / 16u;        // 16-input chunks per slice
const uint DP1 = (D1 + 7u) / 8u; // groups of 8 in a row of D1 values

shared uint sidx[2][BATCH];
shared u64vec4 part[S * BATCH * DP1]; // [slice][sample][group]
shared u64vec4 dz1v[BATCH * DP1];     // [sample][group]
shared float msum[NCH];
shared u64vec4 pu[NG];           // upper parameters
shared u64vec4 su1[NG];          // their optimizer state (delta / m)
shared u64vec4 su2[NG];          // (v)
shared u64vec4 red[NCH * NGR];   // per-subgroup gradient sums

// ---- packing 8 floats into a u64vec4 ---------------------------------------------------------

void unpack8(u64vec4 v, out float f[8])
{
    [[unroll]] for (uint h = 0u; h < 4u; h++) {
        uvec2 u = unpack32(v[h]);
        f[2u * h] = uintBitsToFloat(u.x);
        f[2u * h + 1u] = uintBitsToFloat(u.y);
    }
}

u64vec4 pack8(float f[8])
{
    u64vec4 v;
    [[unroll]] for (uint h = 0u; h < 4u; h++)
        v[h] = pack64(uvec2(floatBitsToUint(f[2u * h]), floatBitsToUint(f[2u * h + 1u])));
    return v;
}

float pu_at(uint g, uint j)
{
    float f[8];
    unpack8(pu[g], f);
    return f[j];
}

// ---- the parameter layout (ref's fl vector) --------------------------------------------------

// Offset of W_l (l = 1..NL) and b_l in the fl parameter vector.
uint w_off(uint l)
{
    uint o = 0u;
    [[unroll]] for (uint j = 1u; j < l; j++)
        o += dim(j) * dim(j - 1u) + dim(j);
    return o;
}
uint b_off(uint l) { return w_off(l) + dim(l) * dim(l - 1u); }

uint g_w(uint l) { return l == 2u ? G_W2 : l == 3u ? G_W3 : G_W4; }
uint g_b(uint l) { return l == 1u ? 0u : l == 2u ? G_B2 : l == 3u ? G_B3 : G_B4; }

// Where group g's 8 slots live in the fl vector: first fl index, slots that exist, and
// whether they are weights.
void group_map(uint g, out uint fl, out uint valid, out bool is_weight)
{
    fl = 0u;
    valid = 0u;
    is_weight = false;
    if (g < G_W2) {
        fl = b_off(1u) + g * 8u;
        valid = min(8u, D1 - g * 8u);
        return;
    }
    [[unroll]] for (uint l = 2u; l <= NL; l++) {
        uint rg = (dim(l - 1u) + 7u) / 8u; // groups per row
        if (g >= g_w(l) && g < g_b(l)) {
            uint r = (g - g_w(l)) / rg, c = (g - g_w(l)) % rg;
            fl = w_off(l) + r * dim(l - 1u) + c * 8u;
            valid = min(8u, dim(l - 1u) - c * 8u);
            is_weight = true;
            return;
        }
        uint bg = (dim(l) + 7u) / 8u;
        if (g >= g_b(l) && g < g_b(l) + bg) {
            fl = b_off(l) + (g - g_b(l)) * 8u;
            valid = min(8u, dim(l) - (g - g_b(l)) * 8u);
            return;
        }
    }
}

// ---- inputs ---------------------------------------------------------------------------------

// Inputs k0 .. k0+15 of sample s (0 past D0), normalised.
void load_x16(uint s, uint k0, out float x[16])
{
    bool vec = VEC_X;
    if (XF32) {
        uint e = pc.src_off + s * D0 + k0;
        if (vec && k0 + 16u <= D0) {
            float a[8], b[8];
            unpack8(src64[e >> 3u], a);
            unpack8(src64[(e >> 3u) + 1u], b);
            [[unroll]] for (uint q = 0u; q < 8u; q++) {
                x[q] = a[q] * pc.scale + pc.offset;
                x[q + 8u] = b[q] * pc.scale + pc.offset;
            }
        } else {
            [[unroll]] for (uint q = 0u; q < 16u; q++)
                x[q] = k0 + q < D0 ? uintBitsToFloat(src32[e + q]) * pc.scale + pc.offset : 0.0;
        }
    } else {
        uint byte0 = s * D0 + k0;
        if (vec && k0 + 16u <= D0) {
            uvec4 w = src128[(pc.src_off >> 2u) + (byte0 >> 4u)];
            [[unroll]] for (uint q = 0u; q < 16u; q++)
                x[q] = float((w[q >> 2u] >> ((q & 3u) * 8u)) & 255u) * pc.scale + pc.offset;
        } else {
            [[unroll]] for (uint q = 0u; q < 16u; q++) {
                uint e = byte0 + q;
                x[q] = k0 + q < D0 ? float((src32[pc.src_off + (e >> 2u)] >> ((e & 3u) * 8u)) & 255u) *
                                             pc.scale + pc.offset
                                   : 0.0;
            }
        }
    }
}

// 16 consecutive floats of W1 (or its state) from element e; VEC: e % 8 == 0.
#define LOAD16(dst, b32, b64, e)                                                         \
    if (vec) {                                                                           \
        float a_[8], c_[8];                                                              \
        unpack8(b64[(e) >> 3u], a_);                                                     \
        unpack8(b64[((e) >> 3u) + 1u], c_);                                              \
        [[unroll]] for (uint q_ = 0u; q_ < 8u; q_++) {                                              \
            dst[q_] = a_[q_];                                                            \
            dst[q_ + 8u] = c_[q_];                                                       \
        }                                                                                \
    } else {                                                                             \
        [[unroll]] for (uint q_ = 0u; q_ < 16u; q_++)                                               \
            dst[q_] = b32[(e) + q_];                                                     \
    }
#define STORE16(b32, b64, e, src)                                                        \
    if (vec) {                                                                           \
        float a_[8], c_[8];                                                              \
        [[unroll]] for (uint q_ = 0u; q_ < 8u; q_++) {                                              \
            a_[q_] = src[q_];                                                            \
            c_[q_] = src[q_ + 8u];                                                       \
        }                                                                                \
        b64[(e) >> 3u] = pack8(a_);                                                      \
        b64[((e) >> 3u) + 1u] = pack8(c_);                                               \
    } else {                                                                             \
        [[unroll]] for (uint q_ = 0u; q_ < 16u; q_++)                                               \
            b32[(e) + q_] = src[q_];                                                     \
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

void main()
{
    uint lid = gl_LocalInvocationID.x;
    uint WG = gl_WorkGroupSize.x;
    uint lane = gl_SubgroupInvocationID, sg = gl_SubgroupID;
    float lr = hpf(HP_LR), mom = hpf(HP_MOMENTUM), b1 = hpf(HP_BETA1), b2 = hpf(HP_BETA2);
    float eps = hpf(HP_ADAM_EPS), l1 = hpf(HP_L1), l2 = hpf(HP_L2);
    uint step0 = hp[pc.hp_off + HP_STEP], bb = hp[pc.hp_off + HP_BATCH_BASE];
    const bool vec = VEC_W;

    // The upper block and its state into shared memory.
    [[dont_unroll]] for (uint g = lid; g < NG; g += WG) {
        uint fl, valid;
        bool isw;
        group_map(g, fl, valid, isw);
        float w[8], m[8], v[8];
        [[unroll]] for (uint j = 0u; j < 8u; j++) {
            bool ok = j < valid;
            w[j] = ok ? p32[pc.p_off + fl + j] : 0.0;
            m[j] = ok ? s1_32[pc.s1_off + fl + j] : 0.0;
            v[j] = ok && OPT == 1u ? s2_32[pc.s2_off + fl + j] : 0.0;
        }
        pu[g] = pack8(w);
        su1[g] = pack8(m);
        su2[g] = pack8(v);
    }
    float st_loss = 0.0, st_w = 0.0, st_c = 0.0;

    [[dont_unroll]] for (uint st = 0u; st < pc.steps; st++) {
        uint tstep = step0 + pc.step_first + st; // steps done before this one
        uint buf = st & 1u;
        float c1 = 1.0, c2 = 1.0;
        if (OPT == 1u) {
            float t = float(tstep + 1u);
            c1 = 1.0 / (1.0 - pow(b1, t));
            c2 = 1.0 / (1.0 - pow(b2, t));
        }

        // ---- 1. samples --------------------------------------------------------------------
        uint smp = 0u;
        float m = 0.0;
        int label = 0;
        if (lid < BATCH) {
            uint p = (((bb + pc.step_first + st) % pc.count) * BATCH + lid) % pc.count;
            smp = (pc.flags & F_INDEX) != 0u ? index[pc.index_off + p] % pc.count : p;
            sidx[buf][lid] = smp;
            if (LOSS == 0u) {
                uint l = LABEL_I32 ? labels[pc.labels_off + smp]
                                   : (labels[pc.labels_off + (smp >> 2u)] >> ((smp & 3u) * 8u)) & 255u;
                label = int(l);
                m = (pc.flags & F_MASK) != 0u ? mask[pc.mask_off + smp] : 1.0;
                if (label < 0 || uint(label) >= dim(NL))
                    m = 0.0;
            }
        }
        float ms = subgroupAdd(m);
        if (subgroupElect())
            msum[sg] = ms;
        barrier();

        // ---- 2. slices of layer 1 -------------------------------------------------------
        // A register tile of NGRP samples x D1 units x 16 inputs per iteration.
        if (lid < S) {
            uint k0 = lid * KS;
            [[dont_unroll]] for (uint g0 = 0u; g0 < BATCH; g0 += NGRP) {
                float acc[NGRP][D1];
                [[unroll]] for (uint j = 0u; j < NGRP; j++)
                    [[unroll]] for (uint h = 0u; h < D1; h++)
                        acc[j][h] = 0.0;
                [[dont_unroll]] for (uint c = 0u; c < KC; c++) {
                    uint kk = k0 + c * 16u;
                    if (kk >= D0)
                        break;
                    float w[D1][16];
                    [[dont_unroll]] for (uint h = 0u; h < D1; h++) {
                        float t[16];
                        if (kk + 16u <= D0) {
                            LOAD16(t, p32, p64, pc.p_off + h * D0 + kk)
                        } else {
                            [[unroll]] for (uint q = 0u; q < 16u; q++)
                                t[q] = kk + q < D0 ? p32[pc.p_off + h * D0 + kk + q] : 0.0;
                        }
                        [[unroll]] for (uint q = 0u; q < 16u; q++)
                            w[h][q] = t[q];
                    }
                    [[unroll]] for (uint j = 0u; j < NGRP; j++) {
                        float x[16];
                        if (g0 + j < BATCH) {
                            load_x16(sidx[buf][g0 + j], kk, x);
                        } else {
                            [[unroll]] for (uint q = 0u; q < 16u; q++)
                                x[q] = 0.0;
                        }
                        [[unroll]] for (uint h = 0u; h < D1; h++)
                            [[unroll]] for (uint q = 0u; q < 16u; q++)
                                acc[j][h] = fma(x[q], w[h][q], acc[j][h]);
                    }
                }
                [[unroll]] for (uint j = 0u; j < NGRP; j++) {
                    if (g0 + j < BATCH) {
                        [[unroll]] for (uint c8 = 0u; c8 < DP1; c8++) {
                            float f[8];
                            [[unroll]] for (uint q = 0u; q < 8u; q++)
                                f[q] = c8 * 8u + q < D1 ? acc[j][c8 * 8u + q] : 0.0;
                            part[(lid * BATCH + g0 + j) * DP1 + c8] = pack8(f);
                        }
                    }
                }
            }
        }
        barrier();

        // ---- 3. samples: the rest of the forward, the loss, the backward --------------------
        float a[4][MAXW];   // a[l-1]: output of layer l (activated), l = 1..NL-1; a[NL-1]: logits
        float dz[MAXW];
        float wsum = 0.0;
        [[unroll]] for (uint c = 0u; c < NCH; c++)
            wsum += c < gl_NumSubgroups ? msum[c] : 0.0;
        float loss = 0.0, correct = 0.0;
        bool in_batch = lid < BATCH;
        {
            float z1[DP1 * 8u];
            [[unroll]] for (uint c8 = 0u; c8 < DP1; c8++) {
                float f[8];
                unpack8(pu[c8], f); // b1
                [[unroll]] for (uint q = 0u; q < 8u; q++)
                    z1[c8 * 8u + q] = f[q];
            }
            [[unroll]] for (uint s = 0u; s < S; s++)
                [[unroll]] for (uint c8 = 0u; c8 < DP1; c8++) {
                    float f[8];
                    unpack8(part[(s * BATCH + min(lid, BATCH - 1u)) * DP1 + c8], f);
                    [[unroll]] for (uint q = 0u; q < 8u; q++)
                        z1[c8 * 8u + q] += f[q];
                }
            [[unroll]] for (uint h = 0u; h < D1; h++)
                a[0][h] = nn_act(ACT, z1[h]);
        }
        [[unroll]] for (uint l = 2u; l <= NL; l++) {
            uint din = dim(l - 1u), dout = dim(l), rg = (din + 7u) / 8u;
            [[unroll]] for (uint o = 0u; o < dout; o++) {
                float z = pu_at(g_b(l) + o / 8u, o % 8u);
                [[unroll]] for (uint c = 0u; c < rg; c++) {
                    float wr[8];
                    unpack8(pu[g_w(l) + o * rg + c], wr);
                    [[unroll]] for (uint j = 0u; j < 8u; j++)
                        if (c * 8u + j < din)
                            z = fma(wr[j], a[l - 2u][c * 8u + j], z);
                }
                a[l - 1u][o] = l == NL ? z : nn_act(ACT, z);
            }
        }
        uint dout = dim(NL);
        if (LOSS == 0u) {
            float mx = a[NL - 1u][0];
            uint arg = 0u;
            [[unroll]] for (uint o = 1u; o < dout; o++)
                if (a[NL - 1u][o] > mx) {
                    mx = a[NL - 1u][o];
                    arg = o;
                }
            float se = 0.0;
            [[unroll]] for (uint o = 0u; o < dout; o++)
                se += exp(a[NL - 1u][o] - mx);
            float scale = in_batch ? m / max(1.0, wsum) : 0.0;
            [[unroll]] for (uint o = 0u; o < dout; o++) {
                float pr = exp(a[NL - 1u][o] - mx) / se;
                dz[o] = scale * (pr - (int(o) == label ? 1.0 : 0.0));
            }
            if (in_batch && m != 0.0) {
                loss = m * (mx + log(se) - a[NL - 1u][uint(label)]);
                correct = arg == uint(label) ? m : 0.0;
            }
        } else {
            float inv = 2.0 / float(BATCH * dout);
            float se = 0.0;
            [[unroll]] for (uint o = 0u; o < dout; o++) {
                float t = in_batch ? targets[pc.targets_off + smp * dout + o] : 0.0;
                float d = in_batch ? a[NL - 1u][o] - t : 0.0;
                se += d * d;
                dz[o] = inv * d;
            }
            loss = se / float(dout);
            m = in_batch ? 1.0 : 0.0;
        }
        // Subgroup sums of every upper gradient, group by group; then dz of the layer below.
        [[unroll]] for (uint l = NL; l >= 2u; l--) {
            uint din = dim(l - 1u), dlo = dim(l), rg = (din + 7u) / 8u;
            [[unroll]] for (uint o = 0u; o < dlo; o++)
                [[unroll]] for (uint c = 0u; c < rg; c++) {
                    float gsum[8];
                    [[unroll]] for (uint j = 0u; j < 8u; j++)
                        gsum[j] = subgroupAdd(c * 8u + j < din ? dz[o] * a[l - 2u][c * 8u + j] : 0.0);
                    if (subgroupElect())
                        red[sg * NGR + g_w(l) + o * rg + c] = pack8(gsum);
                }
            [[unroll]] for (uint c = 0u; c < (dlo + 7u) / 8u; c++) {
                float gsum[8];
                [[unroll]] for (uint j = 0u; j < 8u; j++)
                    gsum[j] = subgroupAdd(c * 8u + j < dlo ? dz[c * 8u + j] : 0.0);
                if (subgroupElect())
                    red[sg * NGR + g_b(l) + c] = pack8(gsum);
            }
            float da[MAXW];
            [[unroll]] for (uint i = 0u; i < din; i++)
                da[i] = 0.0;
            [[unroll]] for (uint o = 0u; o < dlo; o++)
                [[unroll]] for (uint c = 0u; c < rg; c++) {
                    float wr[8];
                    unpack8(pu[g_w(l) + o * rg + c], wr);
                    [[unroll]] for (uint j = 0u; j < 8u; j++)
                        if (c * 8u + j < din)
                            da[c * 8u + j] = fma(dz[o], wr[j], da[c * 8u + j]);
                }
            [[unroll]] for (uint i = 0u; i < din; i++)
                dz[i] = da[i] * nn_act_deriv_y(ACT, a[l - 2u][i]);
        }
        if (in_batch) {
            [[unroll]] for (uint c8 = 0u; c8 < DP1; c8++) {
                float f[8];
                [[unroll]] for (uint q = 0u; q < 8u; q++)
                    f[q] = c8 * 8u + q < D1 ? dz[c8 * 8u + q] : 0.0;
                dz1v[lid * DP1 + c8] = pack8(f);
            }
        }
        [[unroll]] for (uint c = 0u; c < (D1 + 7u) / 8u; c++) {
            float gsum[8];
            [[unroll]] for (uint j = 0u; j < 8u; j++)
                gsum[j] = subgroupAdd(c * 8u + j < D1 ? dz[c * 8u + j] : 0.0);
            if (subgroupElect())
                red[sg * NGR + c] = pack8(gsum);
        }
        float sl = subgroupAdd(loss), sw = subgroupAdd(in_batch ? m : 0.0), sc = subgroupAdd(correct);
        if (subgroupElect()) {
            float f[8] = float[8](sl, sw, sc, 0.0, 0.0, 0.0, 0.0, 0.0);
            red[sg * NGR + NG] = pack8(f);
        }
        barrier();

        // ---- 4. updates -----------------------------------------------------------------
        [[dont_unroll]] for (uint g = lid; g < NG; g += WG) {
            uint fl, valid;
            bool isw;
            group_map(g, fl, valid, isw);
            float gs[8], w[8], mm[8], vv[8];
            [[unroll]] for (uint j = 0u; j < 8u; j++)
                gs[j] = 0.0;
            [[unroll]] for (uint c = 0u; c < NCH; c++) {
                if (c < gl_NumSubgroups) {
                    float f[8];
                    unpack8(red[c * NGR + g], f);
                    [[unroll]] for (uint j = 0u; j < 8u; j++)
                        gs[j] += f[j];
                }
            }
            unpack8(pu[g], w);
            unpack8(su1[g], mm);
            unpack8(su2[g], vv);
            [[unroll]] for (uint j = 0u; j < 8u; j++)
                if (j < valid)
                    opt_update(w[j], gs[j], mm[j], vv[j], isw, lr, mom, b1, b2, eps, c1, c2, l1, l2);
            pu[g] = pack8(w);
            su1[g] = pack8(mm);
            su2[g] = pack8(vv);
        }
        if (lid == 0u && (pc.flags & F_STATS) != 0u) {
            [[unroll]] for (uint c = 0u; c < NCH; c++) {
                if (c < gl_NumSubgroups) {
                    float f[8];
                    unpack8(red[c * NGR + NG], f);
                    st_loss += f[0];
                    st_w += f[1];
                    st_c += f[2];
                }
            }
        }
        if (lid < S) {
            // W1's gradient for this slice, 16 inputs at a time, then its update in place.
            uint k0 = lid * KS;
            [[dont_unroll]] for (uint c = 0u; c < KC; c++) {
                uint kk = k0 + c * 16u;
                if (kk >= D0)
                    break;
                float gw[D1][16];
                [[unroll]] for (uint h = 0u; h < D1; h++)
                    [[unroll]] for (uint q = 0u; q < 16u; q++)
                        gw[h][q] = 0.0;
                [[dont_unroll]] for (uint g0 = 0u; g0 < BATCH; g0 += NGRP) {
                    [[unroll]] for (uint j = 0u; j < NGRP; j++) {
                        float x[16], d[DP1 * 8u];
                        if (g0 + j < BATCH) {
                            load_x16(sidx[buf][g0 + j], kk, x);
                            [[unroll]] for (uint c8 = 0u; c8 < DP1; c8++) {
                                float f[8];
                                unpack8(dz1v[(g0 + j) * DP1 + c8], f);
                                [[unroll]] for (uint q = 0u; q < 8u; q++)
                                    d[c8 * 8u + q] = f[q];
                            }
                        } else {
                            [[unroll]] for (uint q = 0u; q < 16u; q++)
                                x[q] = 0.0;
                            [[unroll]] for (uint q = 0u; q < DP1 * 8u; q++)
                                d[q] = 0.0;
                        }
                        [[unroll]] for (uint h = 0u; h < D1; h++)
                            [[unroll]] for (uint q = 0u; q < 16u; q++)
                                gw[h][q] = fma(d[h], x[q], gw[h][q]);
                    }
                }
                bool full = kk + 16u <= D0;
                [[dont_unroll]] for (uint h = 0u; h < D1; h++) {
                    uint e = h * D0 + kk;
                    float w[16], mm[16], vv[16];
                    if (full) {
                        LOAD16(w, p32, p64, pc.p_off + e)
                        LOAD16(mm, s1_32, s1_64, pc.s1_off + e)
                        if (OPT == 1u) {
                            LOAD16(vv, s2_32, s2_64, pc.s2_off + e)
                        } else {
                            [[unroll]] for (uint q = 0u; q < 16u; q++)
                                vv[q] = 0.0;
                        }
                    } else {
                        [[unroll]] for (uint q = 0u; q < 16u; q++) {
                            bool ok = kk + q < D0;
                            w[q] = ok ? p32[pc.p_off + e + q] : 0.0;
                            mm[q] = ok ? s1_32[pc.s1_off + e + q] : 0.0;
                            vv[q] = ok && OPT == 1u ? s2_32[pc.s2_off + e + q] : 0.0;
                        }
                    }
                    [[unroll]] for (uint q = 0u; q < 16u; q++)
                        opt_update(w[q], gw[h][q], mm[q], vv[q], true, lr, mom, b1, b2, eps, c1, c2,
                                   l1, l2);
                    if (full) {
                        STORE16(p32, p64, pc.p_off + e, w)
                        STORE16(s1_32, s1_64, pc.s1_off + e, mm)
                        if (OPT == 1u) {
                            STORE16(s2_32, s2_64, pc.s2_off + e, vv)
                        }
                    } else {
                        [[unroll]] for (uint q = 0u; q < 16u; q++) {
                            if (kk + q < D0) {
                                p32[pc.p_off + e + q] = w[q];
                                s1_32[pc.s1_off + e + q] = mm[q];
                                if (OPT == 1u)
                                    s2_32[pc.s2_off + e + q] = vv[q];
                            }
                        }
                    }
                }
            }
        }
        // The next step's partials overwrite part[] only after its own first barrier, by
        // which time every lane is past step 4; sidx alternates between two buffers.
    }

    barrier();
    // Write the upper block and its state back.
    [[dont_unroll]] for (uint g = lid; g < NG; g += WG) {
        uint fl, valid;
        bool isw;
        group_map(g, fl, valid, isw);
        float w[8], mm[8], vv[8];
        unpack8(pu[g], w);
        unpack8(su1[g], mm);
        unpack8(su2[g], vv);
        [[unroll]] for (uint j = 0u; j < 8u; j++) {
            if (j < valid) {
                p32[pc.p_off + fl + j] = w[j];
                s1_32[pc.s1_off + fl + j] = mm[j];
                if (OPT == 1u)
                    s2_32[pc.s2_off + fl + j] = vv[j];
            }
        }
    }
    if (lid == 0u && (pc.flags & F_STATS) != 0u) {
        stats[pc.stats_off] += st_loss;
        stats[pc.stats_off + 1u] += st_w;
        stats[pc.stats_off + 2u] += st_c;
        stats[pc.stats_off + 3u] += float(BATCH * pc.steps);
    }
}
