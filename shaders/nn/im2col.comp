// nn/im2col.comp — the column matrices of a conv2d: for samples n0..n0+nb-1 of
// x[batch][c][h][w], col[s][(ch*k + p)*k + q][oy*ow + ox] = x[n0+s][ch][oy+p-pad][ox+q-pad],
// 0 outside the image. Two shapes of work (spec constant ROWS):
//  - elements (GPUs): one invocation per column element, grid-stride, so neighbouring lanes
//    write neighbouring addresses;
//  - rows (CPU devices): one invocation per row segment (s, ch, p, q, oy) of ow elements. On a
//    CPU device integer division by a run-time value is scalar per lane (~25 cycles), and the
//    element shape pays six of them per element; here they are paid once per row.
// pc.total counts elements or rows accordingly.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const bool ROWS = false;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Col { float col[]; };
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
            if (iy < 0 || iy >= int(pc.h)) {
                for (uint ox = 0u; ox < pc.ow; ox++)
                    col[dst + ox] = 0.0;
                continue;
            }
            uint src = pc.x_off + (((pc.n0 + s) * pc.c + ch) * pc.h + uint(iy)) * pc.w;
            int x0 = int(q) - int(pc.pad); // ix = ox + x0
            for (uint ox = 0u; ox < pc.ow; ox++) {
                int ix = int(ox) + x0;
                float v = 0.0;
                if (ix >= 0 && ix < int(pc.w))
                    v = x[src + uint(ix)];
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
