// nn/col2im.comp — the input gradient of a conv2d from its column gradient: for samples
// n0..n0+nb-1, dx[n][ch][y][x] = sum over taps (p, q) whose output (y-p+pad, x-q+pad) lies in
// the output image of dcol[s][(ch*k+p)*k+q][oy*ow+ox], plus the old dx with CONV_ACCUMULATE,
// times act'(dx_y) when an activation is given (as the GEMM epilogue: the derivative
// multiplies the whole sum). A gather (each input element sums its own taps), so
// no two invocations write one element. Shapes of work as im2col.comp (spec constant ROWS):
// one invocation per dx element (GPUs), or per dx row (s, ch, y) of w elements (CPU devices:
// the divisions once per row). pc.total counts elements or rows accordingly. With TEX (rows
// only) dcol is read through a texel view of the same range (binding 3), as in im2col.comp.
#version 450
#include "nn/common.glsl"
layout(local_size_x = 64) in;
layout(constant_id = 0) const bool ROWS = false;
layout(constant_id = 1) const bool TEX = false;
// Rows with VEC4 (w % 4 == 0, dx and dx_y at multiples of 4 floats) sum 4 elements at a time.
layout(constant_id = 2) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer DCol { float dcol[]; };
layout(std430, binding = 1) buffer DX { float dx[]; };
layout(std430, binding = 2) readonly buffer DXY { float dxy[]; };
layout(binding = 3) uniform samplerBuffer dcol_tex;
layout(std430, binding = 1) buffer DX4 { vec4 dx4[]; };
layout(std430, binding = 2) readonly buffer DXY4 { vec4 dxy4[]; };

float tap(uint i) { return TEX ? texelFetch(dcol_tex, int(i)).x : dcol[i]; }
layout(push_constant) uniform Push {
    uint n0, nb, c, h, w, k, oh, ow, pad, x_off, col_off, y_off, flags, total;
} pc;

float finish(uint g, float sum, uint act)
{
    if ((pc.flags & 1u) != 0u)
        sum += dx[pc.x_off + g];
    if (act != 0u)
        sum *= nn_act_deriv_y(act, dxy[pc.y_off + g]);
    return sum;
}

void main()
{
    uint hw = pc.h * pc.w, ohw = pc.oh * pc.ow, kk = pc.k * pc.k;
    uint act = (pc.flags >> 4u) & 3u;
    uint stride = gl_NumWorkGroups.x * 64u;
    if (ROWS) {
        for (uint i = gl_GlobalInvocationID.x; i < pc.total; i += stride) {
            uint yy = i % pc.h, plane = i / pc.h; // plane = s * c + ch
            uint base = pc.col_off + plane * kk * ohw;
            uint g0 = (pc.n0 * pc.c) * hw + i * pc.w;
            if (VEC4) {
                for (uint xx = 0u; xx < pc.w; xx += 4u) {
                    vec4 sum = vec4(0.0);
                    for (uint p = 0u; p < pc.k; p++) {
                        int oy = int(yy + pc.pad) - int(p);
                        if (oy < 0 || oy >= int(pc.oh))
                            continue;
                        uint rb = base + p * pc.k * ohw + uint(oy) * pc.ow;
                        for (uint q = 0u; q < pc.k; q++) {
                            int ox = int(xx + pc.pad) - int(q);
                            uint rq = rb + q * ohw;
                            for (uint e = 0u; e < 4u; e++)
                                if (ox + int(e) >= 0 && ox + int(e) < int(pc.ow))
                                    sum[e] += tap(rq + uint(ox + int(e)));
                        }
                    }
                    uint v = (pc.x_off + g0 + xx) / 4u;
                    if ((pc.flags & 1u) != 0u)
                        sum += dx4[v];
                    if (act != 0u) {
                        vec4 y = dxy4[(pc.y_off + g0 + xx) / 4u];
                        for (uint e = 0u; e < 4u; e++)
                            sum[e] *= nn_act_deriv_y(act, y[e]);
                    }
                    dx4[v] = sum;
                }
                continue;
            }
            for (uint xx = 0u; xx < pc.w; xx++) {
                float sum = 0.0;
                for (uint p = 0u; p < pc.k; p++) {
                    int oy = int(yy + pc.pad) - int(p);
                    if (oy < 0 || oy >= int(pc.oh))
                        continue;
                    uint rb = base + p * pc.k * ohw + uint(oy) * pc.ow;
                    for (uint q = 0u; q < pc.k; q++) {
                        int ox = int(xx + pc.pad) - int(q);
                        if (ox >= 0 && ox < int(pc.ow))
                            sum += tap(rb + q * ohw + uint(ox));
                    }
                }
                dx[pc.x_off + g0 + xx] = finish(g0 + xx, sum, act);
            }
        }
        return;
    }
    for (uint i = gl_GlobalInvocationID.x; i < pc.total; i += stride) {
        uint xx = i % pc.w, yy = (i / pc.w) % pc.h;
        uint ch = (i / hw) % pc.c, s = i / (hw * pc.c);
        uint base = pc.col_off + (s * pc.c + ch) * kk * ohw;
        float sum = 0.0;
        for (uint p = 0u; p < pc.k; p++) {
            int oy = int(yy + pc.pad) - int(p);
            if (oy < 0 || oy >= int(pc.oh))
                continue;
            for (uint q = 0u; q < pc.k; q++) {
                int ox = int(xx + pc.pad) - int(q);
                if (ox >= 0 && ox < int(pc.ow))
                    sum += dcol[base + (p * pc.k + q) * ohw + uint(oy) * pc.ow + uint(ox)];
            }
        }
        uint g = (pc.n0 * pc.c) * hw + i;
        dx[pc.x_off + g] = finish(g, sum, act);
    }
}
