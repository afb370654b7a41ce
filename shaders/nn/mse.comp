// nn/mse.comp — mean squared error without the 1/2 (the reference's): dy = 2 (y - t) /
// (batch*outputs); stats += [sum (y-t)^2 / outputs, batch, 0, batch]. One workgroup (the
// caller bounds the per-invocation loop).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer T { float t[]; };
layout(std430, binding = 2) writeonly buffer DY { float dy[]; };
layout(std430, binding = 3) buffer Stats { float stats[]; };
layout(push_constant) uniform Push { uint batch, outputs, y_off, t_off, dy_off, stats_off, flags; } pc;

shared float red[256];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint total = pc.batch * pc.outputs;
    float scale = 2.0 / float(total);
    float sum = 0.0;
    for (uint i = tid; i < total; i += 256u) {
        float d = y[pc.y_off + i] - t[pc.t_off + i];
        sum += d * d;
        if ((pc.flags & 1u) != 0u)
            dy[pc.dy_off + i] = scale * d;
    }
    red[tid] = sum;
    for (uint s = 128u; s > 0u; s >>= 1u) {
        barrier();
        if (tid < s)
            red[tid] += red[tid + s];
    }
    barrier();
    if (tid == 0u && (pc.flags & 2u) != 0u) {
        stats[pc.stats_off] += red[0] / float(pc.outputs);
        stats[pc.stats_off + 1u] += float(pc.batch);
        stats[pc.stats_off + 3u] += float(pc.batch);
    }
}
