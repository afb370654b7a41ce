// nn/gemm_cpu.comp — GEMM for CPU devices (lavapipe): no shared memory, no barriers, a
// register block of RM x CN outputs per invocation. On such devices every load whose address
// varies across lanes is a per-lane scalar loop, so the kernel makes each load instruction
// fetch as much as it can: with A_VEC / B_VEC an operand is read 8 floats at a time along its
// contiguous dimension; without (misaligned or odd leading dimension) it falls back to one
// float per load. A's rows follow the workgroup, so its loads are the same in every lane:
// with SG the subgroup loads each once and shares it by shuffles. B's differ per lane: with
// B_TEX they go through a texel view (measured on lavapipe: ~0.5 ns a lane-fetch of 16 bytes
// against ~3.7 ns a storage-buffer u64vec4 load). The epilogue is a specialisation (EPI,
// C_VEC), because lavapipe executes every branch. Rows/columns past the edge are clamped for
// loading and skipped for storing, so the hot loop has no branches. See gemm_common.glsl for
// the operation (col_sum = the row sums of op(A), written by the invocations of column 0).
// TRANS_A with TRANS_B is not built.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint RM = 16;     // rows per invocation (multiple of 8)
layout(constant_id = 2) const uint CN = 8;      // columns per invocation (multiple of 8)
layout(constant_id = 3) const bool TRANS_A = false;
layout(constant_id = 4) const bool TRANS_B = false;
layout(constant_id = 5) const bool A_VEC = false;
layout(constant_id = 6) const bool B_VEC = false;
layout(constant_id = 7) const bool B_TEX = false;  // B_VEC loads through the texel view
// A's loads are the same for every lane (its rows follow the workgroup): with A_VEC and
// SG = the subgroup size (a divisor of RM; 0 = off), each lane loads RM / SG of them and the
// subgroup shares them by shuffles, instead of every lane loading all RM.
layout(constant_id = 8) const uint SG = 0;
const uint SG_ROWS = SG == 0u ? 1u : RM / SG;
// TRANS_A: the 4 k rows of an iteration hold RM / 2 octets of A, spread over the lanes.
const uint TN_SLOTS = SG == 0u ? 1u : (RM / 2u + SG - 1u) / SG;

layout(std430, binding = 0) readonly buffer GemmA32 { float a32[]; };
layout(std430, binding = 0) readonly buffer GemmA64 { u64vec4 a64[]; };
layout(std430, binding = 1) readonly buffer GemmB32 { float b32[]; };
layout(std430, binding = 1) readonly buffer GemmB64 { u64vec4 b64[]; };
layout(binding = 6) uniform samplerBuffer b_tex;
layout(std430, binding = 2) buffer GemmC64 { u64vec4 c64[]; };
layout(std430, binding = 4) readonly buffer GemmAux64 { u64vec4 aux64[]; };

#include "nn/gemm_common.glsl"

// The epilogue is fixed per pipeline: lavapipe runs both sides of every branch (masked), so
// with run-time flags each output paid for every bias, activation and derivative there is.
// EPI holds the epilogue bits of the flags (GEMM_ACCUMULATE .. GEMM_AUX_ACT, see
// gemm_common.glsl), pc.flags only the rest. With C_VEC, C (and aux) octets are aligned to
// 8 floats and n is a multiple of 8: each lane's octet is wholly inside C or wholly outside.
layout(constant_id = 9) const uint EPI = 0u;
layout(constant_id = 10) const bool C_VEC = false;
const bool EPI_ACC = (EPI & GEMM_ACCUMULATE) != 0u;
const bool EPI_BIAS = (EPI & GEMM_BIAS) != 0u;
const bool EPI_BIAS_ROWS = (EPI & GEMM_BIAS_ROWS) != 0u;
const uint EPI_ACT = (EPI >> GEMM_ACT_SHIFT) & 3u;
const bool EPI_AUX = (EPI & GEMM_AUX) != 0u;
const uint EPI_AUX_ACT = (EPI >> GEMM_AUX_ACT_SHIFT) & 3u;

// 8 consecutive floats from element e of A or B (e % 8 == 0 when VEC).
#define LOAD8(dst, buf32, buf64, VEC, e)                                               \
    if (VEC) {                                                                         \
        u64vec4 v_ = buf64[(e) >> 3];                                                  \
        for (uint h_ = 0u; h_ < 4u; h_++) {                                            \
            uvec2 u_ = unpack32(v_[h_]);                                               \
            dst[2u * h_] = uintBitsToFloat(u_.x);                                      \
            dst[2u * h_ + 1u] = uintBitsToFloat(u_.y);                                 \
        }                                                                              \
    } else {                                                                           \
        for (uint h_ = 0u; h_ < 8u; h_++)                                              \
            dst[h_] = buf32[(e) + h_];                                                 \
    }

// 8 consecutive floats of B from element e (e % 8 == 0): the loads whose addresses differ
// between lanes, which a texel fetch serves several times faster than a storage load.
#define LOADB8(dst, e)                                                                 \
    if (B_TEX) {                                                                       \
        uint i_ = (e) >> 2;                                                            \
        vec4 p_ = texelFetch(b_tex, int(i_)), q_ = texelFetch(b_tex, int(i_ + 1u));    \
        dst[0] = p_.x; dst[1] = p_.y; dst[2] = p_.z; dst[3] = p_.w;                    \
        dst[4] = q_.x; dst[5] = q_.y; dst[6] = q_.z; dst[7] = q_.w;                    \
    } else {                                                                           \
        LOAD8(dst, b32, b64, true, e)                                                  \
    }

// One k of the TRANS_A loop: RM rows of op(A) and CN columns of B, outer product.
#define TN_STEP(kk, i)                                                                     \
    {                                                                                     \
        float a_[RM];                                                                     \
        for (uint r_ = 0u; r_ < RM; r_ += 8u) {                                           \
            float t_[8];                                                                  \
            if (SG != 0u && A_VEC) {                                                      \
                uint o_ = (i) * (RM / 8u) + r_ / 8u;                                       \
                vec4 x_ = subgroupShuffle(tlo[o_ / SG], o_ % SG);                         \
                vec4 y_ = subgroupShuffle(thi[o_ / SG], o_ % SG);                         \
                t_[0] = x_.x; t_[1] = x_.y; t_[2] = x_.z; t_[3] = x_.w;                   \
                t_[4] = y_.x; t_[5] = y_.y; t_[6] = y_.z; t_[7] = y_.w;                   \
            } else if (A_VEC) {                                                           \
                LOAD8(t_, a32, a64, true, abase + (kk) * pc.lda + rows[r_])               \
            } else {                                                                      \
                for (uint h_ = 0u; h_ < 8u; h_++)                                         \
                    t_[h_] = a32[abase + (kk) * pc.lda + rows[r_ + h_]];                  \
            }                                                                             \
            for (uint h_ = 0u; h_ < 8u; h_++)                                             \
                a_[r_ + h_] = t_[h_];                                                     \
        }                                                                                 \
        float b_[CN];                                                                     \
        for (uint c_ = 0u; c_ < CN; c_ += 8u) {                                           \
            float t_[8];                                                                  \
            if (B_VEC) {                                                                  \
                LOADB8(t_, bbase + (kk) * pc.ldb + cols[c_])               \
            } else {                                                                      \
                for (uint h_ = 0u; h_ < 8u; h_++)                                         \
                    t_[h_] = b32[bbase + (kk) * pc.ldb + cols[c_ + h_]];                  \
            }                                                                             \
            for (uint h_ = 0u; h_ < 8u; h_++)                                             \
                b_[c_ + h_] = t_[h_];                                                     \
        }                                                                                 \
        for (uint r_ = 0u; r_ < RM; r_++) {                                               \
            csum[r_] += a_[r_];                                                           \
            for (uint c_ = 0u; c_ < CN; c_++)                                             \
                acc[r_][c_] = fma(a_[r_], b_[c_], acc[r_][c_]);                           \
        }                                                                                 \
    }

void main()
{
    uint M = pc.m, N = pc.n;
    uint lane = gl_LocalInvocationID.x;
    uint col0 = (gl_WorkGroupID.x * gl_WorkGroupSize.x + lane) * CN;
    uint row0 = gl_WorkGroupID.y * RM;
    bool reduce = (pc.flags & GEMM_BATCH_REDUCE) != 0u;
    uint zb = reduce ? pc.z0 : pc.z0 + gl_WorkGroupID.z;
    uint ze = reduce ? pc.z1 : zb + 1u;

    // Clamped load positions: vector loads move whole octets (the edge is octet-aligned then).
    uint rows[RM];
    for (uint r = 0u; r < RM; r++)
        rows[r] = min(row0 + r, M - 1u);
    uint cols[CN];
    for (uint c = 0u; c < CN; c++)
        cols[c] = min(col0 + c, N - 1u);
    if (TRANS_A && A_VEC)
        for (uint r = 0u; r < RM; r += 8u)
            for (uint q = 0u; q < 8u; q++)
                rows[r + q] = min(row0 + r, M - 8u) + q;
    if (!TRANS_B && B_VEC)
        for (uint c = 0u; c < CN; c += 8u)
            for (uint q = 0u; q < 8u; q++)
                cols[c + q] = min(col0 + c, N - 8u) + q;

    float acc[RM][CN];
    for (uint r = 0u; r < RM; r++)
        for (uint c = 0u; c < CN; c++)
            acc[r][c] = 0.0;
    float csum[RM];
    for (uint r = 0u; r < RM; r++)
        csum[r] = 0.0;

    uint kb = pc.k0, ke = pc.k1;
    uint ke8 = kb + ((ke - kb) & ~7u);
    for (uint z = zb; z < ze; z++) {
        uint abase = pc.a_off + z * pc.sa;
        uint bbase = pc.b_off + z * pc.sb;
        if (!TRANS_A) {
            for (uint k = kb; k < ke8; k += 8u) {
                float b[8][CN];
                if (TRANS_B) {
                    for (uint c = 0u; c < CN; c++) {
                        float t[8];
                        if (B_VEC) {
                            LOADB8(t, bbase + cols[c] * pc.ldb + k)
                        } else {
                            LOAD8(t, b32, b64, false, bbase + cols[c] * pc.ldb + k)
                        }
                        for (uint q = 0u; q < 8u; q++)
                            b[q][c] = t[q];
                    }
                } else {
                    for (uint q = 0u; q < 8u; q++)
                        for (uint c = 0u; c < CN; c += 8u) {
                            float t[8];
                            if (B_VEC) {
                                LOADB8(t, bbase + (k + q) * pc.ldb + cols[c])
                            } else {
                                for (uint h = 0u; h < 8u; h++)
                                    t[h] = b32[bbase + (k + q) * pc.ldb + cols[c + h]];
                            }
                            for (uint h = 0u; h < 8u; h++)
                                b[q][c + h] = t[h];
                        }
                }
                vec4 alo[SG_ROWS], ahi[SG_ROWS];
                if (SG != 0u && A_VEC) {
                    uint sl = gl_SubgroupInvocationID;
                    for (uint j = 0u; j < SG_ROWS; j++) {
                        u64vec4 v = a64[(abase + min(row0 + j * SG + sl, M - 1u) * pc.lda + k) >> 3];
                        alo[j] = vec4(uintBitsToFloat(unpack32(v.x)), uintBitsToFloat(unpack32(v.y)));
                        ahi[j] = vec4(uintBitsToFloat(unpack32(v.z)), uintBitsToFloat(unpack32(v.w)));
                    }
                }
                for (uint r = 0u; r < RM; r++) {
                    float a[8];
                    if (SG != 0u && A_VEC) {
                        vec4 x = subgroupShuffle(alo[r / SG], r % SG);
                        vec4 y = subgroupShuffle(ahi[r / SG], r % SG);
                        a[0] = x.x; a[1] = x.y; a[2] = x.z; a[3] = x.w;
                        a[4] = y.x; a[5] = y.y; a[6] = y.z; a[7] = y.w;
                    } else {
                        LOAD8(a, a32, a64, A_VEC, abase + rows[r] * pc.lda + k)
                    }
                    csum[r] += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
                    for (uint c = 0u; c < CN; c++) {
                        float s = acc[r][c];
                        for (uint q = 0u; q < 8u; q++)
                            s = fma(a[q], b[q][c], s);
                        acc[r][c] = s;
                    }
                }
            }
        } else {
            // A is stored [K][M]: one k row gives 8 rows of op(A) per vector load. Four k's per
            // iteration: the accumulators are written back (masked) once per iteration, and
            // an inner loop over k with this body would not be unrolled (every loop iteration
            // counts against the cap).
            for (uint k = kb; k < ke8; k += 4u) {
                vec4 tlo[TN_SLOTS], thi[TN_SLOTS];
                if (SG != 0u && A_VEC) {
                    for (uint j = 0u; j < TN_SLOTS; j++) {
                        uint o = min(j * SG + gl_SubgroupInvocationID, RM / 2u - 1u);
                        uint kk = o / (RM / 8u), rb = o % (RM / 8u);
                        uint e = abase + (k + kk) * pc.lda + min(row0 + rb * 8u, M - 8u);
                        u64vec4 v = a64[e >> 3];
                        tlo[j] = vec4(uintBitsToFloat(unpack32(v.x)), uintBitsToFloat(unpack32(v.y)));
                        thi[j] = vec4(uintBitsToFloat(unpack32(v.z)), uintBitsToFloat(unpack32(v.w)));
                    }
                }
                TN_STEP(k, 0u)
                TN_STEP(k + 1u, 1u)
                TN_STEP(k + 2u, 2u)
                TN_STEP(k + 3u, 3u)
            }
        }
        // The last (k1 - k0) % 8 steps, one float per load.
        for (uint k = ke8; k < ke; k++) {
            float b[CN];
            for (uint c = 0u; c < CN; c++)
                b[c] = TRANS_B ? b32[bbase + cols[c] * pc.ldb + k] : b32[bbase + k * pc.ldb + cols[c]];
            for (uint r = 0u; r < RM; r++) {
                float a = TRANS_A ? a32[abase + k * pc.lda + rows[r]] : a32[abase + rows[r] * pc.lda + k];
                csum[r] += a;
                for (uint c = 0u; c < CN; c++)
                    acc[r][c] = fma(a, b[c], acc[r][c]);
            }
        }
    }

    uint zs = reduce ? 0u : zb;
    float bcol[CN];
    if (EPI_BIAS && !EPI_BIAS_ROWS)
        for (uint c = 0u; c < CN; c++)
            bcol[c] = bias32[pc.bias_off + cols[c]];
    for (uint r = 0u; r < RM; r++) {
        uint row = row0 + r;
        if (row >= M)
            break;
        float brow = EPI_BIAS && EPI_BIAS_ROWS ? bias32[pc.bias_off + row] : 0.0;
        for (uint c = 0u; c < CN; c += 8u) {
            uint col = col0 + c;
            uint ci = pc.c_off + zs * pc.sc + row * pc.ldc + col;
            uint ai = pc.aux_off + zs * pc.sc + row * pc.ldc + col;
            float v[8];
            for (uint q = 0u; q < 8u; q++)
                v[q] = pc.alpha * acc[r][c + q];
            if (EPI_BIAS)
                for (uint q = 0u; q < 8u; q++)
                    v[q] += EPI_BIAS_ROWS ? brow : bcol[c + q];
            if (C_VEC) {
                if (col >= N)
                    continue;
                float o[8];
                if (EPI_ACC) {
                    LOAD8(o, c32, c64, true, ci)
                    for (uint q = 0u; q < 8u; q++)
                        v[q] += o[q];
                }
                for (uint q = 0u; q < 8u; q++)
                    v[q] = nn_act(EPI_ACT, v[q]);
                if (EPI_AUX) {
                    LOAD8(o, aux32, aux64, true, ai)
                    for (uint q = 0u; q < 8u; q++)
                        v[q] *= nn_act_deriv_y(EPI_AUX_ACT, o[q]);
                }
                u64vec4 w;
                for (uint h = 0u; h < 4u; h++)
                    w[h] = pack64(uvec2(floatBitsToUint(v[2u * h]), floatBitsToUint(v[2u * h + 1u])));
                c64[ci >> 3] = w;
            } else {
                for (uint q = 0u; q < 8u; q++) {
                    if (col + q >= N)
                        break;
                    float x = v[q];
                    if (EPI_ACC)
                        x += c32[ci + q];
                    x = nn_act(EPI_ACT, x);
                    if (EPI_AUX)
                        x *= nn_act_deriv_y(EPI_AUX_ACT, aux32[ai + q]);
                    c32[ci + q] = x;
                }
            }
        }
        if ((pc.flags & GEMM_COLSUM) != 0u && col0 == 0u)
            gemm_store_colsum(row, csum[r]);
    }
}
