#version 450
// render/sphere.frag — a ball shaded by a fixed light (core pass, depth written), or its
// halo fading with the distance from the rim (glow pass, blended, no depth write).
layout(constant_id = 0) const bool GLOW_PASS = false;

#include "render/common.glsl"

layout(location = 0) in vec2 v_local;
layout(location = 1) flat in vec4 v_color;
layout(location = 0) out vec4 o_color;

void main()
{
    float r2 = dot(v_local, v_local);
    if (!GLOW_PASS) {
        if (r2 > 1.0)
            discard;
        // screen space has y down: flip so the light comes from the top in both spaces
        vec2 l2 = batch.mode.y == SPACE_SCREEN ? vec2(v_local.x, -v_local.y) : v_local;
        vec3 n = vec3(l2, sqrt(1.0 - r2));
        float light = 0.45 + 0.55 * max(dot(n, normalize(vec3(-0.35, 0.45, 0.82))), 0.0);
        o_color = vec4(v_color.rgb * light, v_color.a);
    } else {
        float r = sqrt(r2);
        float g = 1.0 - (r - 1.0) / max(batch.style.x, 1e-6);
        if (r <= 1.0 || g <= 0.0)
            discard;
        o_color = vec4(v_color.rgb, v_color.a * 0.7 * g * g);
    }
}
