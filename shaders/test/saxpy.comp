// test/saxpy.comp — y = a*x + y over n elements (n need not be a multiple of the workgroup).
// Used by tests/unit/test_gpu_compute.c.
#version 450
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float a; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n)
        y[i] = pc.a * x[i] + y[i];
}
