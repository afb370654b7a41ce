// nn/maxpool_bwd.comp — maxpool 2x2 backward: every input element gets dy of its window when
// it is the window's argmax (the first maximum in the order (0,0) (0,1) (1,0) (1,1), as the
// reference), else 0; elements of a dropped odd row/column get 0. Times act'(x) when an
// activation is given (x is the activated output of the layer before). One invocation per
// input element, so dx is written entirely.
#version 450
#include "nn/common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };
layout(push_constant) uniform Push { uint count, h, w, oh, ow, x_off, y_off, z_off, act; } pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint xx = i % pc.w, yy = (i / pc.w) % pc.h, plane = i / (pc.w * pc.h);
        uint r = yy / 2u, j = xx / 2u;
        float g = 0.0;
        if (r < pc.oh && j < pc.ow) {
            uint b = pc.x_off + (plane * pc.h + 2u * r) * pc.w + 2u * j;
            float v0 = x[b], v1 = x[b + 1u], v2 = x[b + pc.w], v3 = x[b + pc.w + 1u];
            uint arg = 0u;
            float m = v0;
            if (v1 > m) { m = v1; arg = 1u; }
            if (v2 > m) { m = v2; arg = 2u; }
            if (v3 > m) { m = v3; arg = 3u; }
            uint mine = (yy & 1u) * 2u + (xx & 1u);
            if (arg == mine)
                g = dy[pc.y_off + (plane * pc.oh + r) * pc.ow + j];
        }
        if (pc.act != 0u)
            g *= nn_act_deriv_y(pc.act, x[pc.x_off + i]);
        dx[pc.z_off + i] = g;
    }
}
