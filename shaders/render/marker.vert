#version 450
// render/marker.vert — hand / controller markers (nnxr_marker: pos, size, rotation
// quaternion, colour = 12 floats): an arrow-head of 6 triangles pointing along the pose's
// −z, flat-shaded by each face's normal.
#include "render/common.glsl"

layout(location = 0) flat out vec4 v_color;

// Apex at z = −1, a square base at z = 0.25 (unit length, scaled by size).
const vec3 P[5] = vec3[5](vec3(0.0, 0.0, -1.0), vec3(-0.3, -0.3, 0.25), vec3(0.3, -0.3, 0.25),
                          vec3(0.3, 0.3, 0.25), vec3(-0.3, 0.3, 0.25));
const uint T[18] = uint[18](0u, 2u, 1u, 0u, 3u, 2u, 0u, 4u, 3u, 0u, 1u, 4u,
                            1u, 2u, 3u, 1u, 3u, 4u);

vec3 rotate(vec4 q, vec3 v)
{
    return v + 2.0 * cross(q.xyz, cross(q.xyz, v) + q.w * v);
}

void main()
{
    uint i = uint(gl_VertexIndex) / 18u;
    uint r = uint(gl_VertexIndex) % 18u;
    uint tri = r / 3u;
    uint base = i * 12u;
    vec3 c = instance_pos(i, base);
    float s = inst[base + 3u];
    vec4 q = vec4(inst[base + 4u], inst[base + 5u], inst[base + 6u], inst[base + 7u]);
    float ql = length(q);
    q = ql > 0.0 ? q / ql : vec4(0.0, 0.0, 0.0, 1.0);
    vec4 color = instance_color(i, base + 8u);
    vec3 a = P[T[tri * 3u]], b = P[T[tri * 3u + 1u]], d = P[T[tri * 3u + 2u]];
    vec3 n = rotate(q, normalize(cross(b - a, d - a)));
    float light = 0.4 + 0.6 * abs(dot(n, normalize(vec3(-0.35, 0.6, 0.7))));
    v_color = vec4(color.rgb * light, color.a);
    vec3 p = c + s * rotate(q, P[T[r]]);
    gl_Position = s > 0.0 ? to_clip(p) : vec4(2.0, 2.0, 2.0, 1.0);
}
