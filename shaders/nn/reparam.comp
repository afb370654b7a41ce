// nn/reparam.comp — the VAE's reparameterisation: eps = N(0,1) drawn from the counter-based
// generator keyed by (hparams.seed, hparams.step + the tape's step index, element), or 0 when
// deterministic; z = mu + exp(logvar / 2) * eps. Writes eps and z (grid-stride).
#version 450
#include "nn/rng.glsl"
#include "nn/hparams.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Mu { float mu[]; };
layout(std430, binding = 1) readonly buffer LV { float lv[]; };
layout(std430, binding = 2) readonly buffer HP { uint hp[]; };
layout(std430, binding = 3) writeonly buffer Eps { float eps[]; };
layout(std430, binding = 4) writeonly buffer Z { float z[]; };
layout(push_constant) uniform Push {
    uint count, mu_off, lv_off, hp_off, eps_off, z_off, step_index, flags;
} pc;

void main()
{
    bool det = (pc.flags & 1u) != 0u;
    uint seed = det ? 0u : hp[pc.hp_off + HP_SEED];
    uint step = det ? 0u : hp[pc.hp_off + HP_STEP] + pc.step_index;
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        float e = det ? 0.0 : nn_rng_normal(seed, step, i);
        eps[pc.eps_off + i] = e;
        z[pc.z_off + i] = mu[pc.mu_off + i] + exp(0.5 * lv[pc.lv_off + i]) * e;
    }
}
