#version 450
// render/line.frag — the line's colour, alpha-blended.
layout(location = 0) flat in vec4 v_color;
layout(location = 0) out vec4 o_color;

void main()
{
    if (v_color.a <= 0.0)
        discard;
    o_color = v_color;
}
