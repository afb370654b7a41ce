// nn/gemm_cpu.comp — GEMM for CPU devices (lavapipe): no shared memory, no barriers, a
// register block of RM x CN outputs per invocation. On such devices every load whose address
// varies across lanes is a per-lane scalar loop, so the kernel makes each load instruction
// fetch as much as it can: with A_VEC / B_VEC an operand is read as u64vec4 (8 floats per
// lane-load) along its contiguous dimension; without (misaligned or odd leading dimension)
// it falls back to one float per load. Rows/columns past the edge are clamped for loading
// and skipped for storing, so the hot loop has no branches. See gemm_common.glsl for the
// operation (col_sum = the row sums of op(A), written by the invocations of column 0).
// TRANS_A with TRANS_B is not built.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint RM = 16;     // rows per invocation (multiple of 8)
layout(constant_id = 2) const uint CN = 8;      // columns per invocation (multiple of 8)
layout(constant_id = 3) const bool TRANS_A = false;
layout(constant_id = 4) const bool TRANS_B = false;
layout(constant_id = 5) const bool A_VEC = false;
layout(constant_id = 6) const bool B_VEC = false;

layout(std430, binding = 0) readonly buffer GemmA32 { float a32[]; };
layout(std430, binding = 0) readonly buffer GemmA64 { u64vec4 a64[]; };
layout(std430, binding = 1) readonly buffer GemmB32 { float b32[]; };
layout(std430, binding = 1) readonly buffer GemmB64 { u64vec4 b64[]; };

#include "nn/gemm_common.glsl"

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


// One k of the TRANS_A loop: RM rows of op(A) and CN columns of B, outer product.
#define TN_STEP(kk)                                                                       \
    {                                                                                     \
        float a_[RM];                                                                     \
        for (uint r_ = 0u; r_ < RM; r_ += 8u) {                                           \
            float t_[8];                                                                  \
            if (A_VEC) {                                                                  \
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
                LOAD8(t_, b32, b64, true, bbase + (kk) * pc.ldb + cols[c_])               \
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
                        LOAD8(t, b32, b64, B_VEC, bbase + cols[c] * pc.ldb + k)
                        for (uint q = 0u; q < 8u; q++)
                            b[q][c] = t[q];
                    }
                } else {
                    for (uint q = 0u; q < 8u; q++)
                        for (uint c = 0u; c < CN; c += 8u) {
                            float t[8];
                            if (B_VEC) {
                                LOAD8(t, b32, b64, true, bbase + (k + q) * pc.ldb + cols[c])
                            } else {
                                for (uint h = 0u; h < 8u; h++)
                                    t[h] = b32[bbase + (k + q) * pc.ldb + cols[c + h]];
                            }
                            for (uint h = 0u; h < 8u; h++)
                                b[q][c + h] = t[h];
                        }
                }
                for (uint r = 0u; r < RM; r++) {
                    float a[8];
                    LOAD8(a, a32, a64, A_VEC, abase + rows[r] * pc.lda + k)
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
                TN_STEP(k)
                TN_STEP(k + 1u)
                TN_STEP(k + 2u)
                TN_STEP(k + 3u)
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
    for (uint r = 0u; r < RM; r++) {
        uint row = row0 + r;
        if (row >= M)
            break;
        for (uint c = 0u; c < CN; c++) {
            uint col = col0 + c;
            if (col < N)
                gemm_store(zs, row, col, acc[r][c]);
        }
        if ((pc.flags & GEMM_COLSUM) != 0u && col0 == 0u)
            gemm_store_colsum(row, csum[r]);
    }
}
