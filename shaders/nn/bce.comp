// nn/bce.comp — binary cross-entropy from logits a against targets t, one workgroup per row
// (grid-stride over rows): dlogits = (sigmoid(a) - t) / batch, recon = sigmoid(a), and the
// row's loss sum_f [max(a,0) - a t + log(1 + exp(-|a|))] into rowloss[row] (summed into the
// statistics by reduce.comp).
#version 450
#include "nn/common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer T { float t[]; };
layout(std430, binding = 2) writeonly buffer D { float d[]; };
layout(std430, binding = 3) writeonly buffer R { float recon[]; };
layout(std430, binding = 4) writeonly buffer L { float rowloss[]; };
layout(push_constant) uniform Push { uint batch, features, a_off, t_off, d_off, r_off, l_off, flags; } pc;

shared float red[64];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    float inv_batch = 1.0 / float(pc.batch);
    for (uint row = gl_WorkGroupID.x; row < pc.batch; row += gl_NumWorkGroups.x) {
        float sum = 0.0;
        for (uint f = tid; f < pc.features; f += 64u) {
            uint i = row * pc.features + f;
            float av = a[pc.a_off + i], tv = t[pc.t_off + i];
            sum += max(av, 0.0) - av * tv + log(1.0 + exp(-abs(av)));
            float s = nn_sigmoid(av);
            if ((pc.flags & 1u) != 0u)
                d[pc.d_off + i] = (s - tv) * inv_batch;
            if ((pc.flags & 2u) != 0u)
                recon[pc.r_off + i] = s;
        }
        red[tid] = sum;
        for (uint s = 32u; s > 0u; s >>= 1u) {
            barrier();
            if (tid < s)
                red[tid] += red[tid + s];
        }
        barrier();
        if (tid == 0u && (pc.flags & 4u) != 0u)
            rowloss[pc.l_off + row] = red[0];
        barrier();
    }
}
