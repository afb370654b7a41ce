// nn/gemm_gpu.comp — GEMM for GPUs: the classic shared-memory tiling. A workgroup of 16x16
// threads computes a 64x64 tile of C, each thread a 4x4 block; A and B pass through shared
// memory in 16-deep slices (zero-padded at the edges). Same push constants and epilogue as
// the CPU kernel (gemm_common.glsl). TRANS_A with TRANS_B is not built.
#version 450

layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const bool TRANS_A = false;
layout(constant_id = 1) const bool TRANS_B = false;

layout(std430, binding = 0) readonly buffer GemmA32 { float a32[]; };
layout(std430, binding = 1) readonly buffer GemmB32 { float b32[]; };

#include "nn/gemm_common.glsl"

#define TILE 64u
#define BK 16u

shared float sa[BK][TILE];
shared float sb[BK][TILE];

void main()
{
    uint M = pc.m, N = pc.n;
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint tid = ty * 16u + tx;
    uint row0 = gl_WorkGroupID.y * TILE, col0 = gl_WorkGroupID.x * TILE;
    bool reduce = (pc.flags & GEMM_BATCH_REDUCE) != 0u;
    uint zb = reduce ? pc.z0 : pc.z0 + gl_WorkGroupID.z;
    uint ze = reduce ? pc.z1 : zb + 1u;

    float acc[4][4];
    float csum[4];
    for (uint i = 0u; i < 4u; i++) {
        csum[i] = 0.0;
        for (uint j = 0u; j < 4u; j++)
            acc[i][j] = 0.0;
    }
    for (uint z = zb; z < ze; z++) {
        uint abase = pc.a_off + z * pc.sa;
        uint bbase = pc.b_off + z * pc.sb;
        for (uint kt = pc.k0; kt < pc.k1; kt += BK) {
            // 1024 elements of each tile, 4 per thread.
            for (uint e = 0u; e < 4u; e++) {
                uint idx = tid + e * 256u;
                uint kk = idx / TILE, mm = idx % TILE;
                uint gk = kt + kk, gm = row0 + mm, gn = col0 + mm;
                float av = 0.0, bv = 0.0;
                if (gk < pc.k1 && gm < M)
                    av = TRANS_A ? a32[abase + gk * pc.lda + gm] : a32[abase + gm * pc.lda + gk];
                if (gk < pc.k1 && gn < N)
                    bv = TRANS_B ? b32[bbase + gn * pc.ldb + gk] : b32[bbase + gk * pc.ldb + gn];
                sa[kk][mm] = av;
                sb[kk][mm] = bv;
            }
            barrier();
            for (uint kk = 0u; kk < BK; kk++) {
                float a[4], b[4];
                for (uint i = 0u; i < 4u; i++) {
                    a[i] = sa[kk][ty * 4u + i];
                    b[i] = sb[kk][tx * 4u + i];
                }
                for (uint i = 0u; i < 4u; i++) {
                    csum[i] += a[i];
                    for (uint j = 0u; j < 4u; j++)
                        acc[i][j] = fma(a[i], b[j], acc[i][j]);
                }
            }
            barrier();
        }
    }
    uint zs = reduce ? 0u : zb;
    for (uint i = 0u; i < 4u; i++) {
        uint row = row0 + ty * 4u + i;
        if (row >= M)
            break;
        for (uint j = 0u; j < 4u; j++) {
            uint col = col0 + tx * 4u + j;
            if (col < N)
                gemm_store(zs, row, col, acc[i][j]);
        }
        if ((pc.flags & GEMM_COLSUM) != 0u && col0 == 0u && tx == 0u)
            gemm_store_colsum(row, csum[i]);
    }
}
