// sim/forces_fold.comp — the j-side of sim/forces_pairs.comp for one j-range [j0, j1):
// every block before j's own block met j in that dispatch and left Σ_i (x_i − x_j) / (…)^{3/2}
// in jpart[j − j0][block]; by Newton's third law j's force takes −k_r times their sum.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer JPart { vec4 jpart[]; };
layout(std430, set = 0, binding = 1) buffer Force { vec4 force[]; };
layout(push_constant) uniform Push {
    uint j0, j1;
    uint block;    // points per block (workgroup of the forces dispatch)
    uint jstride;  // jpart's row length: the blocks
    float k_r;
} pc;

void main()
{
    // A j's work grows with the blocks before it, and a CPU device hands each thread a
    // contiguous run of workgroups: each workgroup takes j's from the whole range, strided.
    uint j = pc.j0 + gl_LocalInvocationID.x * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (j >= pc.j1)
        return;
    uint blocks = j / pc.block; // the blocks before j's own
    vec3 s = vec3(0.0);
    for (uint b = 0u; b < blocks; b++)
        s += jpart[(j - pc.j0) * pc.jstride + b].xyz;
    force[j].xyz -= pc.k_r * s;
}
