// nn/reduce.comp — sums: workgroup g adds x[g*chunk .. min((g+1)*chunk, count)) in a fixed order
// (strided per lane, then a tree) and writes out[g] (or adds with ACCUMULATE). With STATS (one
// workgroup) it is a loss-statistics update: out[0] (+)= sum, out[1] += extra, out[3] += extra.
// The caller keeps chunk/256 below the loop cap and chains two passes for large counts.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Out { float outv[]; };
layout(push_constant) uniform Push { uint count, chunk, x_off, out_off, flags; float extra; } pc;

shared float red[256];

void main()
{
    uint tid = gl_LocalInvocationID.x, g = gl_WorkGroupID.x;
    uint b = g * pc.chunk;
    uint e = min(b + pc.chunk, pc.count);
    float sum = 0.0;
    for (uint i = b + tid; i < e; i += 256u)
        sum += x[pc.x_off + i];
    red[tid] = sum;
    for (uint s = 128u; s > 0u; s >>= 1u) {
        barrier();
        if (tid < s)
            red[tid] += red[tid + s];
    }
    barrier();
    if (tid == 0u) {
        uint o = pc.out_off + ((pc.flags & 2u) != 0u ? 0u : g);
        outv[o] = (pc.flags & 1u) != 0u ? outv[o] + red[0] : red[0];
        if ((pc.flags & 2u) != 0u) {
            outv[pc.out_off + 1u] += pc.extra;
            outv[pc.out_off + 3u] += pc.extra;
        }
    }
}
