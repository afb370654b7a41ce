// nn/vae_latent.comp — the VAE latent's backward: reparameterisation plus the KL term with
// beta = hparams.kl_beta, for mu, logvar, eps [batch][d]:
//   dmu = dz + beta mu / batch,  dlogvar = dz eps exp(logvar/2) / 2 + beta (exp(logvar) - 1) / (2 batch)
// (dz optional; written, or added with ACCUMULATE), and stats += [beta sum_i KL_i, batch, 0,
// batch] with KL_i = -1/2 sum_j (1 + logvar - mu^2 - exp(logvar)). One workgroup.
#version 450
#include "nn/hparams.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Mu { float mu[]; };
layout(std430, binding = 1) readonly buffer LV { float lv[]; };
layout(std430, binding = 2) readonly buffer Eps { float eps[]; };
layout(std430, binding = 3) readonly buffer DZ { float dz[]; };
layout(std430, binding = 4) readonly buffer HP { uint hp[]; };
layout(std430, binding = 5) buffer DMu { float dmu[]; };
layout(std430, binding = 6) buffer DLV { float dlv[]; };
layout(std430, binding = 7) buffer Stats { float stats[]; };
layout(push_constant) uniform Push {
    uint batch, d, mu_off, lv_off, eps_off, dz_off, hp_off, dmu_off, dlv_off, stats_off, flags;
} pc;

shared float red[256];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    float beta = uintBitsToFloat(hp[pc.hp_off + HP_KL_BETA]);
    float inv_b = 1.0 / float(pc.batch);
    uint total = pc.batch * pc.d;
    float kl = 0.0;
    for (uint i = tid; i < total; i += 256u) {
        float m = mu[pc.mu_off + i], l = lv[pc.lv_off + i];
        float e = exp(l);
        float gz = (pc.flags & 1u) != 0u ? dz[pc.dz_off + i] : 0.0;
        float gm = gz + beta * m * inv_b;
        float gl = gz * eps[pc.eps_off + i] * exp(0.5 * l) * 0.5 + beta * (e - 1.0) * 0.5 * inv_b;
        if ((pc.flags & 2u) != 0u) {
            gm += dmu[pc.dmu_off + i];
            gl += dlv[pc.dlv_off + i];
        }
        dmu[pc.dmu_off + i] = gm;
        dlv[pc.dlv_off + i] = gl;
        kl += -0.5 * (1.0 + l - m * m - e);
    }
    red[tid] = kl;
    for (uint s = 128u; s > 0u; s >>= 1u) {
        barrier();
        if (tid < s)
            red[tid] += red[tid + s];
    }
    barrier();
    if (tid == 0u && (pc.flags & 4u) != 0u) {
        stats[pc.stats_off] += beta * red[0];
        stats[pc.stats_off + 1u] += float(pc.batch);
        stats[pc.stats_off + 3u] += float(pc.batch);
    }
}
