// sim/class_means.comp — second pass: means[c] = (Σ_slices sums / n_c, n_c); a class with no
// point gets (0, 0, 0, 0) and no attraction. The number of slices is ≤ n / slice_len, far
// below the loop cap.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Partial { vec4 partial[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Means { vec4 means[]; };
layout(push_constant) uniform Push { uint n; uint slice_len; uint classes; uint slices; } pc;

void main()
{
    uint c = gl_GlobalInvocationID.x;
    if (c >= pc.classes)
        return;
    vec4 s = vec4(0.0);
    for (uint k = 0u; k < pc.slices; k++)
        s += partial[k * pc.classes + c];
    means[c] = s.w > 0.0 ? vec4(s.xyz / s.w, s.w) : vec4(0.0);
}
