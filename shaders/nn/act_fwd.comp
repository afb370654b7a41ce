// nn/act_fwd.comp — y = act(x) elementwise (grid-stride); y may alias x.
#version 450
#include "nn/common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint count, a_off, b_off, c_off, act; } pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
        y[pc.b_off + i] = nn_act(pc.act, x[pc.a_off + i]);
}
