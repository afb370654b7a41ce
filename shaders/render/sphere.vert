#version 450
// render/sphere.vert — sphere impostors: one camera-facing quad (6 vertices) per instance
// (nnxr_sphere: pos, radius, colour = 8 floats), widened by the glow in the glow pass.
#include "render/common.glsl"

layout(constant_id = 0) const bool GLOW_PASS = false;

layout(location = 0) out vec2 v_local;       // in radii from the centre
layout(location = 1) flat out vec4 v_color;

const vec2 corners[6] = vec2[6](vec2(-1, -1), vec2(1, -1), vec2(1, 1),
                                vec2(-1, -1), vec2(1, 1), vec2(-1, 1));

void main()
{
    uint i = uint(gl_VertexIndex) / 6u;
    vec2 k = corners[uint(gl_VertexIndex) % 6u];
    uint base = i * 8u;
    vec3 c = instance_pos(i, base);
    float r = inst[base + 3u];
    v_color = instance_color(i, base + 4u);
    float extent = GLOW_PASS ? 1.0 + batch.style.x : 1.0;
    v_local = k * extent;
    vec3 p;
    if (batch.mode.y == SPACE_SCREEN)
        p = c + vec3(k.x, k.y, 0.0) * r * extent;
    else
        p = c + (pc.right.xyz * k.x + pc.up.xyz * k.y) * r * extent;
    gl_Position = r > 0.0 ? to_clip(p) : vec4(2.0, 2.0, 2.0, 1.0);
}
