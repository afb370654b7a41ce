// nn/maxpool_bwd.comp — maxpool 2x2 backward: every input element gets dy of its window when
// it is the window's argmax (the first maximum in the order (0,0) (0,1) (1,0) (1,1), as the
// reference), else 0; elements of a dropped odd row/column get 0. Times act'(x) when an
// activation is given (x is the activated output of the layer before). One invocation per
// window cell of 2x2 inputs (ceil(h/2) x ceil(w/2) per plane, the last ones partial when h or
// w is odd), which writes each of its inputs, so dx is written entirely and once; the index
// divisions (scalar per lane on CPU devices) are paid once per four elements.
#version 450
#include "nn/common.glsl"
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };
// count: window cells; z_off: dx; act: dx_act.
layout(push_constant) uniform Push { uint count, h, w, oh, ow, x_off, y_off, z_off, act; } pc;

// x is the activated output of the layer before: its own value gives the derivative.
float deriv(float v, float g)
{
    return pc.act != 0u ? g * nn_act_deriv_y(pc.act, v) : g;
}

void main()
{
    uint cw = (pc.w + 1u) / 2u, chh = (pc.h + 1u) / 2u;
    uint stride = gl_NumWorkGroups.x * 64u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint j = i % cw, r = (i / cw) % chh, plane = i / (cw * chh);
        uint e = (plane * pc.h + 2u * r) * pc.w + 2u * j; // element of the top-left input
        if (r < pc.oh && j < pc.ow) {
            uint b = pc.x_off + e;
            float v0 = x[b], v1 = x[b + 1u], v2 = x[b + pc.w], v3 = x[b + pc.w + 1u];
            uint arg = 0u;
            float m = v0;
            if (v1 > m) { m = v1; arg = 1u; }
            if (v2 > m) { m = v2; arg = 2u; }
            if (v3 > m) { m = v3; arg = 3u; }
            float g = dy[pc.y_off + (plane * pc.oh + r) * pc.ow + j];
            float d = deriv(m, g);
            dx[pc.z_off + e] = arg == 0u ? d : 0.0;
            dx[pc.z_off + e + 1u] = arg == 1u ? d : 0.0;
            dx[pc.z_off + e + pc.w] = arg == 2u ? d : 0.0;
            dx[pc.z_off + e + pc.w + 1u] = arg == 3u ? d : 0.0;
        } else {
            // A cell of the dropped odd row or column: its inputs get 0.
            bool right = 2u * j + 1u < pc.w, down = 2u * r + 1u < pc.h;
            dx[pc.z_off + e] = 0.0;
            if (right)
                dx[pc.z_off + e + 1u] = 0.0;
            if (down)
                dx[pc.z_off + e + pc.w] = 0.0;
            if (right && down)
                dx[pc.z_off + e + pc.w + 1u] = 0.0;
        }
    }
}
