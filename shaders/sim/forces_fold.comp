// sim/forces_fold.comp — completes the forces of sim/forces_pairs.comp for one j-range
// [j0, j1): every block before j's own block met j in that range's dispatch and left
// Σ_i (x_i − x_j) / (…)^{3/2} in jpart[j − j0][block]; by Newton's third law j's force takes
// −k_r times their sum. It also adds the class attraction k_a (mean_c − x_j), the mean summed
// from the slices' partial sums of the step's first dispatch. With `integrate` (the step's
// last range) it covers the points [p0, p1) = [0, n) and moves every one of them, which
// saves the step a dispatch (on a CPU device each costs idle time on every thread).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "sim/common.glsl"
layout(local_size_x = 64) in;
// The read-only inputs are texel views: lavapipe fetches a texel with one gather, where a
// storage-buffer load is a loop over the lanes with a branch each.
layout(set = 0, binding = 0) uniform samplerBuffer jpart;     // a row of blocks per j
layout(std430, set = 0, binding = 1) buffer Force { vec4 force[]; };
layout(std430, set = 0, binding = 2) buffer Pos { vec4 pos[]; };
layout(std430, set = 0, binding = 3) buffer Vel { vec4 vel[]; };
layout(set = 0, binding = 4) uniform usamplerBuffer labels; // the int labels as uint
layout(set = 0, binding = 5) uniform samplerBuffer partial;   // per slice and class
layout(push_constant) uniform Push {
    uint j0, j1;   // the range folded
    uint p0, p1;   // the points this dispatch covers: [j0, j1), or [0, n) with integrate
    uint block;    // points per block (workgroup of the forces dispatch)
    uint jstride;  // jpart's row length: the blocks
    uint classes, slices;
    float k_r, k_a;
    uint integrate;
    float damping, dt;
} pc;

void main()
{
    // A j's work grows with the blocks before it, and a CPU device hands each thread a
    // contiguous run of workgroups: each workgroup takes points from the whole range, strided.
    uint p = pc.p0 + gl_LocalInvocationID.x * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (p >= pc.p1)
        return;
    vec3 f = force[p].xyz, x = pos[p].xyz;
    if (p >= pc.j0 && p < pc.j1) {
        uint blocks = p / pc.block; // the blocks before p's own
        vec3 s = vec3(0.0);
        for (uint b = 0u; b < blocks; b++)
            s += texelFetch(jpart, int((p - pc.j0) * pc.jstride + b)).xyz;
        f -= pc.k_r * s;
        // A class with no point has no mean and pulls nothing, as class_means.comp says.
        int c = int(texelFetch(labels, int(p)).x);
        if (c >= 0) {
            vec4 m = vec4(0.0);
            for (uint k = 0u; k < pc.slices; k++)
                m += texelFetch(partial, int(k * pc.classes + uint(c)));
            if (m.w > 0.0)
                f += pc.k_a * (m.xyz / m.w - x);
        }
        force[p] = vec4(f, 0.0);
    }
    if (pc.integrate != 0u) {
        vec3 v = vel[p].xyz;
        sim_integrate(x, v, f, pc.damping, pc.dt);
        vel[p] = vec4(v, 0.0);
        pos[p] = vec4(x, 0.0);
    }
}
