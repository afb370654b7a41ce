#version 450
// render/cube.vert — instanced cubes (nnxr_cube: pos, size, colour, layer = 9 values) from
// a vertex index alone: an indexed draw whose index (4 corners per face, faces per cube)
// names the cube, the face and the corner, so that each corner is shaded once. With 3 faces
// per cube only those facing the eye are made (a cube never shows more), half the triangles
// of a plain cube; with 6, all of them, for back-face culling (the plain renderer the
// benchmark compares against). With a level of detail
// (style.w > 0, 3 faces) a cube smaller than style.w pixels on screen is left to the point
// pass (cube_point.vert): here all its vertices collapse to one point outside the clip
// volume, decided before anything else is read, so that it costs next to nothing.
#include "render/common.glsl"

layout(location = 0) out vec2 v_uv;
layout(location = 1) flat out vec4 v_color;

void main()
{
    uint faces = uint(batch.cell.z);
    uint per = faces * 4u;
    uint i = uint(gl_VertexIndex) / per;
    uint r = uint(gl_VertexIndex) % per;
    uint face = r / 4u, k = r % 4u;
    uint base = i * 9u;
    vec3 c = instance_pos(i, base);
    float h = 0.5 * inst[base + 3u];
    vec3 to_eye = pc.eye.xyz - c;
    float dist = length(to_eye);
    bool far = faces == 3u && batch.style.w > 0.0 && 2.0 * h * pc.eye.w < batch.style.w * dist;
    if (far || h <= 0.0) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        v_uv = vec2(0.0);
        v_color = vec4(0.0);
        return;
    }
    vec4 color = instance_color(i, base + 4u);
    uint layer = floatBitsToUint(inst[base + 8u]);
    // corner k of the face: (-1,-1) (1,-1) (1,1) (-1,1)
    vec2 kc = vec2(((0x6u >> k) & 1u) != 0u ? 1.0 : -1.0, ((0xcu >> k) & 1u) != 0u ? 1.0 : -1.0);
    uint axis = faces == 3u ? face : face >> 1u;
    float sg = faces == 3u ? (to_eye[axis] >= 0.0 ? 1.0 : -1.0) : ((face & 1u) == 0u ? 1.0 : -1.0);
    // Right and up of each face seen from outside (right × up = outward normal), so that an
    // image stands upright on the side faces and is never mirrored.
    vec3 n = vec3(axis == 0u ? sg : 0.0, axis == 1u ? sg : 0.0, axis == 2u ? sg : 0.0);
    vec3 rt = axis == 0u ? vec3(0.0, 0.0, -sg) : axis == 2u ? vec3(sg, 0.0, 0.0) : vec3(1.0, 0.0, 0.0);
    vec3 upv = axis == 1u ? vec3(0.0, 0.0, -sg) : vec3(0.0, 1.0, 0.0);
    float shade_f = axis == 1u ? 1.0 : axis == 0u ? 0.78 : 0.9;
    vec3 p = c + h * (n + kc.x * rt + kc.y * upv);
    v_uv = vec2(0.5 * (kc.x + 1.0), 0.5 * (1.0 - kc.y));
    if ((batch.mode.x & 4u) != 0u && layer != 0xffffffffu && batch.mode.w > 0u) {
        vec2 cell = vec2(float(layer % batch.mode.w), float(layer / batch.mode.w));
        v_uv = (cell + v_uv) * batch.cell.xy;
    } else if ((batch.mode.x & 4u) != 0u) {
        v_uv = vec2(-1.0);   // no image on this cube
    }
    v_color = vec4(color.rgb * shade_f, color.a);
    gl_Position = to_clip(p);
}
