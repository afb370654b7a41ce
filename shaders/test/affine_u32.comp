// test/affine_u32.comp — y = x*a + b in wrapping 32-bit integers: exact, so a chain of them
// checks ordering (barriers) bit for bit.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer X { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Y { uint y[]; };
layout(push_constant) uniform Push { uint n; uint a; uint b; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n)
        y[i] = x[i] * pc.a + pc.b;
}
