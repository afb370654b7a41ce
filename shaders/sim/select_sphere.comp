// sim/select_sphere.comp — which points lie inside a sphere (|x_i − c|² ≤ r²): each one is
// appended to the selection with its current label and user flag, so that the host can
// journal the exact set before anything changes and keep the old values for an exact undo.
// sel.count must be zero before the dispatch; the order of the entries is unspecified.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Pos { vec4 pos[]; };
layout(std430, set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 2) readonly buffer User { uint user[]; };
layout(std430, set = 0, binding = 3) buffer Sel {
    uint count;
    uint pad0, pad1, pad2;
    uvec4 entry[];   // (index, old label as uint, old user flag, 0)
} sel;
layout(push_constant) uniform Push { vec4 sphere; uint n; } pc; // xyz centre, w = r²

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n)
        return;
    vec3 d = pos[i].xyz - pc.sphere.xyz;
    if (dot(d, d) <= pc.sphere.w) {
        uint slot = atomicAdd(sel.count, 1u);
        sel.entry[slot] = uvec4(i, uint(labels[i]), user[i], 0u);
    }
}
