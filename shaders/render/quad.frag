#version 450
// render/quad.frag — a quad's pixel from its image and the batch's shading; transparent
// pixels are dropped so that text and cut-outs write no depth.
#include "render/common.glsl"

layout(location = 0) in vec2 v_uv;
layout(location = 1) flat in vec4 v_color;
layout(location = 0) out vec4 o_color;

void main()
{
    vec4 c = shade(v_uv, v_color, false);
    if (c.a < 0.02)
        discard;
    o_color = c;
}
