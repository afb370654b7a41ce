#version 450
// render/cube_point.vert — the far cubes of a batch with a level of detail: one point sprite
// each, a camera-facing square of the cube's size on screen showing its image (one vertex
// and one primitive per cube instead of 18 and 6). Near cubes are left to cube.vert: their
// point lands outside the clip volume.
#include "render/common.glsl"

layout(location = 0) flat out vec4 v_color;
layout(location = 1) flat out vec4 v_cell; // uv of the cell's corner, uv size; x < 0: no image

void main()
{
    uint i = uint(gl_VertexIndex);
    uint base = i * 9u;
    vec3 c = instance_pos(i, base);
    float h = 0.5 * inst[base + 3u];
    vec3 to_eye = pc.eye.xyz - c;
    float dist = length(to_eye);
    float px = dist > 0.0 ? 2.0 * h * pc.eye.w / dist : 0.0;
    if (h <= 0.0 || px >= batch.style.w) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        gl_PointSize = 1.0;
        v_color = vec4(0.0);
        v_cell = vec4(-1.0);
        return;
    }
    v_color = instance_color(i, base + 4u);
    uint layer = floatBitsToUint(inst[base + 8u]);
    v_cell = vec4(-1.0);
    if ((batch.mode.x & 4u) != 0u && layer != 0xffffffffu && batch.mode.w > 0u)
        v_cell = vec4(vec2(float(layer % batch.mode.w), float(layer / batch.mode.w)) * batch.cell.xy,
                      batch.cell.xy);
    gl_PointSize = max(px, 1.0);
    gl_Position = to_clip(c + h * to_eye / dist);
}
