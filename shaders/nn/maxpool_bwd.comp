// nn/maxpool_bwd.comp — maxpool 2x2 backward: every input element gets dy of its window when
// it is the window's argmax (the first maximum in the order (0,0) (0,1) (1,0) (1,1), as the
// reference), else 0; elements of a dropped odd row/column get 0. Times act'(x) when an
// activation is given (x is the activated output of the layer before). One invocation per
// window cell of 2x2 inputs (ceil(h/2) x ceil(w/2) per plane, the last ones partial when h or
// w is odd), which writes each of its inputs, so dx is written entirely and once; the index
// divisions (scalar per lane on CPU devices) are paid once per four elements.
// With PAIR (h even, w % 4 == 0, x and dx at multiples of 4 floats, dy of 2) an invocation
// takes two neighbouring windows through vec4 / vec2 accesses.
#version 450
#include "nn/common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const bool PAIR = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer DY2 { vec2 dy2[]; };
layout(std430, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };

// count: window cells; z_off: dx; act: dx_act.
layout(push_constant) uniform Push { uint count, h, w, oh, ow, x_off, y_off, z_off, act; } pc;

// The gradient g routed to the first maximum of (a, b, c, d) in reading order, times the
// derivative there (x is the activated output of the layer before: its own value gives it);
// returned as (a, b) of the top row and (c, d) of the bottom one.
void route(float a, float b, float c, float d, float g, out vec2 top, out vec2 bot)
{
    uint arg = 0u;
    float m = a;
    if (b > m) { m = b; arg = 1u; }
    if (c > m) { m = c; arg = 2u; }
    if (d > m) { m = d; arg = 3u; }
    float v = pc.act != 0u ? g * nn_act_deriv_y(pc.act, m) : g;
    top = vec2(arg == 0u ? v : 0.0, arg == 1u ? v : 0.0);
    bot = vec2(arg == 2u ? v : 0.0, arg == 3u ? v : 0.0);
}

void main()
{
    uint cw = (pc.w + 1u) / 2u, chh = (pc.h + 1u) / 2u;
    uint stride = gl_NumWorkGroups.x * 64u;
    if (PAIR) {
        uint pw = pc.ow / 2u;
        for (uint i = gl_GlobalInvocationID.x; i < pc.count / 2u; i += stride) {
            uint j = i % pw, rp = i / pw; // rp = plane * oh + r
            uint e = 2u * rp * pc.w + 4u * j;
            vec4 t = x4[(pc.x_off + e) / 4u], u = x4[(pc.x_off + e + pc.w) / 4u];
            vec2 g = dy2[(pc.y_off + 2u * i) / 2u];
            vec2 t0, b0, t1, b1;
            route(t.x, t.y, u.x, u.y, g.x, t0, b0);
            route(t.z, t.w, u.z, u.w, g.y, t1, b1);
            dx4[(pc.z_off + e) / 4u] = vec4(t0, t1);
            dx4[(pc.z_off + e + pc.w) / 4u] = vec4(b0, b1);
        }
        return;
    }
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        uint j = i % cw, r = (i / cw) % chh, plane = i / (cw * chh);
        uint e = (plane * pc.h + 2u * r) * pc.w + 2u * j; // element of the top-left input
        if (r < pc.oh && j < pc.ow) {
            uint b = pc.x_off + e;
            vec2 top, bot;
            route(x[b], x[b + 1u], x[b + pc.w], x[b + pc.w + 1u],
                  dy[pc.y_off + (plane * pc.oh + r) * pc.ow + j], top, bot);
            dx[pc.z_off + e] = top.x;
            dx[pc.z_off + e + 1u] = top.y;
            dx[pc.z_off + e + pc.w] = bot.x;
            dx[pc.z_off + e + pc.w + 1u] = bot.y;
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
