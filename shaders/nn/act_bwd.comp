// nn/act_bwd.comp — dz = dy * act'(from the output y) elementwise (grid-stride); dz may alias dy.
#version 450
#include "nn/common.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DZ { float dz[]; };
layout(push_constant) uniform Push { uint count, a_off, b_off, c_off, act; } pc;

void main()
{
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
        dz[pc.c_off + i] = dy[pc.b_off + i] * nn_act_deriv_y(pc.act, y[pc.a_off + i]);
}
