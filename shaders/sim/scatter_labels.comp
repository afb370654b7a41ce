// sim/scatter_labels.comp — writes labels and user flags of listed points: mode 0 gives every
// listed point (entry.x) the push constant's label with the user flag set (applying an
// annotation once it is journaled); mode 1 writes each entry's own label and flag (entry.y,
// entry.z: restoring the old values on undo).
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Sel {
    uint count;
    uint pad0, pad1, pad2;
    uvec4 entry[];
} sel;
layout(std430, set = 0, binding = 1) buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 2) buffer User { uint user[]; };
layout(push_constant) uniform Push { uint count; uint mode; int label; uint n; } pc;

void main()
{
    uint k = gl_GlobalInvocationID.x;
    if (k >= pc.count)
        return;
    uvec4 e = sel.entry[k];
    if (e.x >= pc.n)
        return;
    if (pc.mode == 0u) {
        labels[e.x] = pc.label;
        user[e.x] = 1u;
    } else {
        labels[e.x] = int(e.y);
        user[e.x] = e.z;
    }
}
