// nn/maxpool_fwd.comp — maxpool 2x2 stride 2: y[n][c][i][j] = max of x[n][c][2i..2i+1][2j..2j+1]
// (an odd last row/column is dropped). One invocation per output (grid-stride); with PAIR
// (h even, w % 4 == 0, x at a multiple of 4 floats, y of 2) per two neighbouring outputs,
// through two vec4 loads and a vec2 store: per-lane accesses are scalar loops on CPU devices.
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool PAIR = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Y2 { vec2 y2[]; };
layout(push_constant) uniform Push { uint count, h, w, oh, ow, x_off, y_off, z_off, act; } pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * 256u;
    if (PAIR) {
        uint pw = pc.ow / 2u; // pairs per output row
        for (uint i = gl_GlobalInvocationID.x; i < pc.count / 2u; i += stride) {
            uint j = i % pw, rp = i / pw; // rp = plane * oh + r
            uint b = (pc.x_off + 2u * rp * pc.w + 4u * j) / 4u;
            vec4 top = x4[b], bot = x4[b + pc.w / 4u];
            vec4 m = max(top, bot);
            y2[(pc.y_off + 2u * i) / 2u] = vec2(max(m.x, m.y), max(m.z, m.w));
        }
        return;
    }
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint j = i % pc.ow, r = (i / pc.ow) % pc.oh, plane = i / (pc.ow * pc.oh);
        uint b = pc.x_off + (plane * pc.h + 2u * r) * pc.w + 2u * j;
        float m = max(max(x[b], x[b + 1u]), max(x[b + pc.w], x[b + pc.w + 1u]));
        y[pc.y_off + i] = m;
    }
}
