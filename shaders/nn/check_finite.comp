// nn/check_finite.comp — flag[0] |= 1 when any of x[0..count) is NaN or infinite (exponent bits
// all set: immune to fast-math assumptions). Grid-stride.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer Flag { uint flag[]; };
layout(push_constant) uniform Push { uint count, x_off, flag_off; } pc;

void main()
{
    bool bad = false;
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
        bad = bad || (x[pc.x_off + i] & 0x7f800000u) == 0x7f800000u;
    if (bad)
        atomicOr(flag[pc.flag_off], 1u);
}
