// test/spec_push.comp — writes values made of specialization and push constants, so a test
// can see both reach the shader: u[i] = i*MUL + add, f[i] = i*SCALE + bias.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MUL = 1u;
layout(constant_id = 1) const float SCALE = 1.0;
layout(std430, set = 0, binding = 0) writeonly buffer U { uint u[]; };
layout(std430, set = 0, binding = 1) writeonly buffer F { float f[]; };
layout(push_constant) uniform Push { uint n; uint add; float bias; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) {
        u[i] = i * MUL + pc.add;
        f[i] = float(i) * SCALE + pc.bias;
    }
}
