#version 450
// render/bench_spin.comp — `nnxr bench render`'s stand-in for a simulation step: turns every
// point (float4) about the y axis by a small angle, so that the cubes are drawn from
// positions that compute wrote this frame, with no readback.
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) buffer Points { vec4 p[]; };
layout(push_constant) uniform Push { uint n; float angle; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n)
        return;
    float c = cos(pc.angle), s = sin(pc.angle);
    vec4 q = p[i];
    p[i] = vec4(c * q.x + s * q.z, q.y, -s * q.x + c * q.z, q.w);
}
