// nn/optimize.comp — one optimizer step over a flat parameter vector (grid-stride):
//   g = grad (+ l1 sign(w) + l2 w where weight_bits marks a weight);
//   SGD as AIive writes it: delta = momentum delta - lr g; w += delta   (state1 = delta)
//   Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr mhat / (sqrt(vhat) + eps),
//         mhat = m / (1 - b1^t), vhat = v / (1 - b2^t), t = hparams.step + step index + 1;
// the gradient is zeroed after use with ZERO_GRADS.
#version 450
#include "nn/hparams.glsl"
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer P { float w[]; };
layout(std430, binding = 1) buffer G { float g[]; };
layout(std430, binding = 2) buffer S1 { float s1[]; };
layout(std430, binding = 3) buffer S2 { float s2[]; };
layout(std430, binding = 4) readonly buffer HP { uint hp[]; };
layout(std430, binding = 5) readonly buffer Bits { uint bits[]; };
layout(push_constant) uniform Push {
    uint count, p_off, g_off, s1_off, s2_off, hp_off, bits_off, flags, step_index;
} pc;

float hpf(uint i) { return uintBitsToFloat(hp[pc.hp_off + i]); }

void main()
{
    float lr = hpf(HP_LR), l1 = hpf(HP_L1), l2 = hpf(HP_L2);
    bool adam = (pc.flags & 1u) != 0u;
    float mom = hpf(HP_MOMENTUM), b1 = hpf(HP_BETA1), b2 = hpf(HP_BETA2), eps = hpf(HP_ADAM_EPS);
    float t = float(hp[pc.hp_off + HP_STEP] + pc.step_index + 1u);
    float c1 = 1.0 / (1.0 - pow(b1, t)), c2 = 1.0 / (1.0 - pow(b2, t));
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride) {
        float wv = w[pc.p_off + i];
        float gv = g[pc.g_off + i];
        bool is_w = (pc.flags & 4u) == 0u || ((bits[pc.bits_off + (i >> 5u)] >> (i & 31u)) & 1u) != 0u;
        if (is_w)
            gv += l1 * sign(wv) + l2 * wv;
        if (adam) {
            float m = b1 * s1[pc.s1_off + i] + (1.0 - b1) * gv;
            float v = b2 * s2[pc.s2_off + i] + (1.0 - b2) * gv * gv;
            s1[pc.s1_off + i] = m;
            s2[pc.s2_off + i] = v;
            wv -= lr * (m * c1) / (sqrt(v * c2) + eps);
        } else {
            float d = mom * s1[pc.s1_off + i] - lr * gv;
            s1[pc.s1_off + i] = d;
            wv += d;
        }
        w[pc.p_off + i] = wv;
        if ((pc.flags & 2u) != 0u)
            g[pc.g_off + i] = 0.0;
    }
}
