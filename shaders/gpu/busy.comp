#version 450
// gpu/busy.comp — a fixed amount of integer arithmetic per invocation and one store: run once
// when a CPU device opens, so that the driver threads which execute workgroups show up in
// their CPU times (engine/gpu/cpu_workers.c). The loop stays far below lavapipe's silent
// 65,535-iteration cap; the store keeps the compiler from dropping the loop.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer Sink { uint sink[]; };
layout(push_constant) uniform Push { uint rounds; } pc;

void main()
{
    uint x = gl_GlobalInvocationID.x * 2654435761u + 1u;
    for (uint r = 0u; r < pc.rounds; r++)
        x = (x * 1664525u + 1013904223u) ^ (x >> 13);
    sink[gl_GlobalInvocationID.x] = x;
}
