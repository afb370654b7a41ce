#version 450
// render/line.vert — line segments as a LINE_LIST, two vertices per instance
// (nnxr_line: a, b, colour = 10 floats).
#include "render/common.glsl"

layout(location = 0) flat out vec4 v_color;

void main()
{
    uint i = uint(gl_VertexIndex) >> 1u;
    uint base = i * 10u + ((uint(gl_VertexIndex) & 1u) != 0u ? 3u : 0u);
    vec3 p = vec3(inst[base], inst[base + 1u], inst[base + 2u]);
    uint c = i * 10u + 6u;
    v_color = vec4(inst[c], inst[c + 1u], inst[c + 2u], inst[c + 3u]);
    gl_Position = to_clip(p);
}
