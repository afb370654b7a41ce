// test/reduce_sum.comp — one pass of a sum: each workgroup adds WG*ITEMS consecutive inputs
// and writes one partial. No loop runs more than ITEMS or log2(WG) times, whatever n is
// (lavapipe stops loops after 65,535 iterations). Workgroups may be laid out in x and y when
// there are more than maxComputeWorkGroupCount[0].
#version 450
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint ITEMS = 4;
layout(std430, set = 0, binding = 0) readonly buffer In { float v[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { float partial[]; };
layout(push_constant) uniform Push { uint n; } pc;

shared float s[256];

void main()
{
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint lid = gl_LocalInvocationID.x;
    uint base = group * 256u * ITEMS + lid;
    float acc = 0.0;
    for (uint k = 0u; k < ITEMS; k++) {
        uint i = base + k * 256u;
        if (i < pc.n)
            acc += v[i];
    }
    s[lid] = acc;
    barrier();
    for (uint stride = 128u; stride > 0u; stride >>= 1) {
        if (lid < stride)
            s[lid] += s[lid + stride];
        barrier();
    }
    if (lid == 0u)
        partial[group] = s[0];
}
