#version 450
// render/quad.vert — textured quads and text glyphs (nnxr_quad: origin, offset, u, v, uv,
// colour = 19 floats), 6 vertices each, in world, billboard or screen space.
#include "render/common.glsl"

layout(location = 0) out vec2 v_uv;
layout(location = 1) flat out vec4 v_color;

const vec2 corners[6] = vec2[6](vec2(0, 0), vec2(1, 0), vec2(1, 1),
                                vec2(0, 0), vec2(1, 1), vec2(0, 1));

void main()
{
    uint i = uint(gl_VertexIndex) / 6u;
    vec2 k = corners[uint(gl_VertexIndex) % 6u];
    uint b = i * 19u;
    vec3 origin = vec3(inst[b], inst[b + 1u], inst[b + 2u]);
    vec2 offset = vec2(inst[b + 3u], inst[b + 4u]);
    vec3 u = vec3(inst[b + 5u], inst[b + 6u], inst[b + 7u]);
    vec3 v = vec3(inst[b + 8u], inst[b + 9u], inst[b + 10u]);
    vec4 uv = vec4(inst[b + 11u], inst[b + 12u], inst[b + 13u], inst[b + 14u]);
    v_color = vec4(inst[b + 15u], inst[b + 16u], inst[b + 17u], inst[b + 18u]);
    vec3 p;
    if (batch.mode.y == SPACE_BILLBOARD) {
        vec2 q = offset + k.x * u.xy + k.y * v.xy;
        p = origin + pc.right.xyz * q.x + pc.up.xyz * q.y;
    } else {
        p = origin + vec3(offset, 0.0) + k.x * u + k.y * v;
    }
    v_uv = mix(uv.xy, uv.zw, k);
    gl_Position = to_clip(p);
}
