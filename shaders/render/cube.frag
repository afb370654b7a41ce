#version 450
// render/cube.frag — a cube face: its atlas cell shaded by the batch's mode.
#include "render/common.glsl"

layout(location = 0) in vec2 v_uv;
layout(location = 1) flat in vec4 v_color;
layout(location = 0) out vec4 o_color;

void main()
{
    o_color = v_uv.x < 0.0 ? v_color : shade(v_uv, v_color, true);
}
