// nn/gemm_common.glsl — the push constants and the epilogue shared by the GEMM kernels
// (nn/gemm_cpu.comp, nn/gemm_gpu.comp). engine/nn/layers_gemm.c fills the same layout.
//
//   C[z][m][n] = act(alpha * sum_k opA(m,k) opB(k,n) + bias (+ C_old)) * aux_act'(aux[z][m][n])
//   opA(m,k) = A[z*sa + m*lda + k], or A[z*sa + k*lda + m] when TRANS_A;
//   opB(k,n) = B[z*sb + k*ldb + n], or B[z*sb + n*ldb + k] when TRANS_B.
// One dispatch covers k in [k0, k1) and batches z in [z0, z1): with GEMM_BATCH_REDUCE the
// batches are summed into one C (and col_sum), otherwise workgroup z handles batch z0 + z.
#ifndef NN_GEMM_COMMON_GLSL
#define NN_GEMM_COMMON_GLSL

#include "nn/common.glsl"

#define GEMM_ACCUMULATE 1u
#define GEMM_BIAS 2u
#define GEMM_BIAS_ROWS 4u
#define GEMM_ACT_SHIFT 4u
#define GEMM_AUX 64u
#define GEMM_AUX_ACT_SHIFT 8u
#define GEMM_COLSUM 1024u
#define GEMM_COLSUM_ACCUMULATE 2048u
#define GEMM_BATCH_REDUCE 4096u

layout(push_constant) uniform GemmPush {
    uint m, n, k;
    uint k0, k1;
    uint lda, ldb, ldc;
    uint a_off, b_off, c_off;
    uint bias_off, aux_off, cs_off;
    uint flags;
    float alpha;
    uint z0, z1;
    uint sa, sb, sc;
} pc;

layout(std430, binding = 2) buffer GemmC { float c32[]; };
layout(std430, binding = 3) readonly buffer GemmBias { float bias32[]; };
layout(std430, binding = 4) readonly buffer GemmAux { float aux32[]; };
layout(std430, binding = 5) buffer GemmColSum { float cs32[]; };

// Final value of output (row, col) of batch z from the raw sum.
void gemm_store(uint z, uint row, uint col, float sum)
{
    uint flags = pc.flags;
    float v = pc.alpha * sum;
    if ((flags & GEMM_BIAS) != 0u)
        v += bias32[pc.bias_off + ((flags & GEMM_BIAS_ROWS) != 0u ? row : col)];
    uint ci = pc.c_off + z * pc.sc + row * pc.ldc + col;
    if ((flags & GEMM_ACCUMULATE) != 0u)
        v += c32[ci];
    v = nn_act((flags >> GEMM_ACT_SHIFT) & 3u, v);
    if ((flags & GEMM_AUX) != 0u)
        v *= nn_act_deriv_y((flags >> GEMM_AUX_ACT_SHIFT) & 3u,
                            aux32[pc.aux_off + z * pc.sc + row * pc.ldc + col]);
    c32[ci] = v;
}

void gemm_store_colsum(uint row, float sum)
{
    uint i = pc.cs_off + row;
    cs32[i] = (pc.flags & GEMM_COLSUM_ACCUMULATE) != 0u ? cs32[i] + sum : sum;
}

#endif
