// nn/maxpool_fwd.comp — maxpool 2x2 stride 2: y[n][c][i][j] = max of x[n][c][2i..2i+1][2j..2j+1]
// (an odd last row/column is dropped). One invocation per output (grid-stride).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, h, w, oh, ow, x_off, y_off, z_off, act; } pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint j = i % pc.ow, r = (i / pc.ow) % pc.oh, plane = i / (pc.ow * pc.oh);
        uint b = pc.x_off + (plane * pc.h + 2u * r) * pc.w + 2u * j;
        float m = max(max(x[b], x[b + 1u]), max(x[b + pc.w], x[b + pc.w + 1u]));
        y[pc.y_off + i] = m;
    }
}
