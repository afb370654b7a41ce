// sim/class_sums.comp — first pass of the per-class sums behind the class attraction: one
// invocation per (slice, class) adds the positions of the slice's points that carry the
// class. partial[slice * classes + c] = (Σ x, count). Slices keep every loop at slice_len
// iterations (lavapipe's loop cap), and the result does not depend on scheduling (no atomics,
// so the same input always gives the same sums).
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Pos { vec4 pos[]; };
layout(std430, set = 0, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Partial { vec4 partial[]; };
layout(push_constant) uniform Push { uint n; uint slice_len; uint classes; uint slices; } pc;

void main()
{
    uint id = gl_GlobalInvocationID.x;
    if (id >= pc.slices * pc.classes)
        return;
    uint slice = id / pc.classes;
    int c = int(id - slice * pc.classes);
    uint begin = slice * pc.slice_len;
    uint end = min(pc.n, begin + pc.slice_len);
    vec3 s = vec3(0.0);
    float count = 0.0;
    for (uint i = begin; i < end; i++) {
        if (labels[i] == c) {
            s += pos[i].xyz;
            count += 1.0;
        }
    }
    partial[id] = vec4(s, count);
}
