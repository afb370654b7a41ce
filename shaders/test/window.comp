// test/window.comp — out[i] = 2·w[i].x + w[i].y + w[i].z·w[i].w for i < n, reading w through a
// uniform buffer (a window of WIN vec4s) with a lane-varying index. Used by
// tests/unit/test_gpu_limits.c for kernels with uniform-buffer bindings.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint WIN = 64u;
layout(std140, set = 0, binding = 0) uniform Window { vec4 w[WIN]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) {
        vec4 v = w[i];
        o[i] = 2.0 * v.x + v.y + v.z * v.w;
    }
}
