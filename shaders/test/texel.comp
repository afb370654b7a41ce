// test/texel.comp — reads through texel-buffer views: o[i] = float(byte i of the uniform texel
// buffer `bytes`, R8_UINT) + 1000·(sum of texel i of the storage texel buffer `vecs`, RGBA32F),
// then writes texel i of `vecs` scaled by 2 (imageStore). Used by tests/unit/test_gpu_limits.c
// for nnxr_kernel_create_typed.
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) uniform usamplerBuffer bytes;
layout(set = 0, binding = 1, rgba32f) uniform imageBuffer vecs;
layout(std430, set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) {
        vec4 v = imageLoad(vecs, int(i));
        o[i] = float(texelFetch(bytes, int(i)).x) + 1000.0 * (v.x + v.y + v.z + v.w);
        imageStore(vecs, int(i), 2.0 * v);
    }
}
