// sim/map_targets.comp — latents into the room: target_i = (z_i − centre) · scale per axis,
// z read as `stride` floats per point from float `offset` of the encoder's buffer (float3 or
// float4 layouts alike). The mapping itself is computed at re-encode time on the host.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Z { float z[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Target { vec4 target[]; };
layout(push_constant) uniform Push {
    uint n;
    uint stride;
    uint offset;
    uint pad;
    vec4 centre;
    vec4 scale;
} pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n)
        return;
    uint b = pc.offset + i * pc.stride;
    vec3 v = vec3(z[b], z[b + 1u], z[b + 2u]);
    target[i] = vec4((v - pc.centre.xyz) * pc.scale.xyz, 0.0);
}
