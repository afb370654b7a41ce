// nn/im2col.comp — the column matrices of a conv2d: for samples n0..n0+nb-1 of
// x[batch][c][h][w], col[s][(ch*k + p)*k + q][oy*ow + ox] = x[n0+s][ch][oy+p-pad][ox+q-pad],
// 0 outside the image. Two shapes of work (spec constant ROWS):
//  - elements (GPUs): one invocation per column element, grid-stride, so neighbouring lanes
//    write neighbouring addresses;
//  - rows (CPU devices): one invocation per row segment (s, ch, p, q, oy) of ow elements. On a
//    CPU device integer division by a run-time value is scalar per lane (~25 cycles), and the
//    element shape pays six of them per element; here they are paid once per row.
// pc.total counts elements or rows accordingly. With TEX (rows only) x is read through a
// texel view of the same range (binding 2): on lavapipe a per-lane texel fetch costs a
// fraction of a storage-buffer load, which runs as a scalar loop over the lanes.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const bool ROWS = false;
layout(constant_id = 1) const bool TEX = false;
// Rows with VEC4 (ow % 4 == 0, col at a multiple of 4 floats) write 4 elements per store.
layout(constant_id = 2) const bool VEC4 = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Col { float col[]; };
layout(binding = 2) uniform samplerBuffer x_tex;
layout(std430, binding = 1) writeonly buffer Col4 { vec4 col4[]; };
layout(push_constant) uniform Push {
    uint n0, nb, c, h, w, k, oh, ow, pad, x_off, col_off, y_off, flags, total;
} pc;

void main()
{
    uint ohw = pc.oh * pc.ow, kk = pc.k * pc.k, ckk = pc.c * kk;
    uint stride = gl_NumWorkGroups.x * 64u;
    if (ROWS) {
        for (uint i = gl_GlobalInvocationID.x; i < pc.total; i += stride) {
            uint oy = i % pc.oh;
            uint r = (i / pc.oh) % ckk;
            uint s = i / (pc.oh * ckk);
            uint q = r % pc.k, p = (r / pc.k) % pc.k, ch = r / kk;
            int iy = int(oy + p) - int(pc.pad);
            uint dst = pc.col_off + (s * ckk + r) * ohw + oy * pc.ow;
            bool inside = iy >= 0 && iy < int(pc.h);
            uint src = pc.x_off + (((pc.n0 + s) * pc.c + ch) * pc.h + uint(max(iy, 0))) * pc.w;
            int x0 = int(q) - int(pc.pad); // ix = ox + x0
            if (VEC4) {
                for (uint ox = 0u; ox < pc.ow; ox += 4u) {
                    vec4 v = vec4(0.0);
                    for (uint e = 0u; e < 4u; e++) {
                        int ix = int(ox + e) + x0;
                        if (inside && ix >= 0 && ix < int(pc.w))
                            v[e] = TEX ? texelFetch(x_tex, int(src) + ix).x : x[src + uint(ix)];
                    }
                    col4[(dst + ox) / 4u] = v;
                }
                continue;
            }
            if (!inside) {
                for (uint ox = 0u; ox < pc.ow; ox++)
                    col[dst + ox] = 0.0;
                continue;
            }
            for (uint ox = 0u; ox < pc.ow; ox++) {
                int ix = int(ox) + x0;
                float v = 0.0;
                if (ix >= 0 && ix < int(pc.w))
                    v = TEX ? texelFetch(x_tex, int(src) + ix).x : x[src + uint(ix)];
                col[dst + ox] = v;
            }
        }
        return;
    }
    for (uint i = gl_GlobalInvocationID.x; i < pc.total; i += stride) {
        uint pix = i % ohw;
        uint r = (i / ohw) % ckk;
        uint s = i / (ohw * ckk);
        uint q = r % pc.k, p = (r / pc.k) % pc.k, ch = r / kk;
        int iy = int(pix / pc.ow + p) - int(pc.pad);
        int ix = int(pix % pc.ow + q) - int(pc.pad);
        float v = 0.0;
        if (iy >= 0 && iy < int(pc.h) && ix >= 0 && ix < int(pc.w))
            v = x[pc.x_off + (((pc.n0 + s) * pc.c + ch) * pc.h + uint(iy)) * pc.w + uint(ix)];
        col[pc.col_off + i] = v;
    }
}
