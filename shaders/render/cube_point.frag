#version 450
// render/cube_point.frag — a far cube's point sprite: its atlas cell over the point.
#include "render/common.glsl"

layout(location = 0) flat in vec4 v_color;
layout(location = 1) flat in vec4 v_cell;
layout(location = 0) out vec4 o_color;

void main()
{
    o_color = v_cell.x < 0.0 ? v_color : shade(v_cell.xy + gl_PointCoord * v_cell.zw, v_color, true);
}
