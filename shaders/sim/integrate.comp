// sim/integrate.comp — the step after the forces, as engine/sim/integrate.h does it on the
// CPU: v ← (1 − damping) v + dt F ; x ← x + dt v (semi-implicit Euler).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "sim/common.glsl"
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer Pos { vec4 pos[]; };
layout(std430, set = 0, binding = 1) buffer Vel { vec4 vel[]; };
layout(std430, set = 0, binding = 2) readonly buffer Force { vec4 force[]; };
layout(push_constant) uniform Push { uint n; float damping; float dt; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n)
        return;
    vec3 x = pos[i].xyz, v = vel[i].xyz;
    sim_integrate(x, v, force[i].xyz, pc.damping, pc.dt);
    vel[i] = vec4(v, 0.0);
    pos[i] = vec4(x, 0.0);
}
