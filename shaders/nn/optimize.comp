// nn/optimize.comp — one optimizer step over a flat parameter vector (grid-stride):
//   g = grad (+ l1 sign(w) + l2 w where weight_bits marks a weight);
//   SGD as AIive writes it: delta = momentum delta - lr g; w += delta   (state1 = delta)
//   Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr mhat / (sqrt(vhat) + eps),
//         mhat = m / (1 - b1^t), vhat = v / (1 - b2^t), t = hparams.step + step index + 1;
// the gradient is zeroed after use with ZERO_GRADS.
// The method is a specialisation (ADAM): lavapipe runs both sides of a branch. With VEC4 an
// invocation updates 4 consecutive parameters, the parameters and gradients through vec4
// loads and stores (their offsets multiples of 4 floats), each state vector likewise when
// S1_VEC / S2_VEC say its offset allows, else 4 floats: on CPU devices each per-lane access
// is a scalar loop, and this is up to a quarter of them. The last count % 4 parameters go one
// by one.
#version 450
#include "nn/hparams.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool ADAM = false;
layout(constant_id = 1) const bool VEC4 = false;
layout(constant_id = 2) const bool S1_VEC = false;
layout(constant_id = 3) const bool S2_VEC = false;
layout(std430, binding = 0) buffer P { float w[]; };
layout(std430, binding = 1) buffer G { float g[]; };
layout(std430, binding = 2) buffer S1 { float s1[]; };
layout(std430, binding = 3) buffer S2 { float s2[]; };
layout(std430, binding = 4) readonly buffer HP { uint hp[]; };
layout(std430, binding = 5) readonly buffer Bits { uint bits[]; };
layout(std430, binding = 0) buffer P4 { vec4 w4[]; };
layout(std430, binding = 1) buffer G4 { vec4 g4[]; };
layout(std430, binding = 2) buffer S14 { vec4 s14[]; };
layout(std430, binding = 3) buffer S24 { vec4 s24[]; };
layout(push_constant) uniform Push {
    uint count, p_off, g_off, s1_off, s2_off, hp_off, bits_off, flags, step_index;
} pc;

float hpf(uint i) { return uintBitsToFloat(hp[pc.hp_off + i]); }

float lr, l1, l2, mom, b1, b2, eps, c1, c2;

// The regularised gradient of parameter i (value wv, raw gradient gv).
float reg_grad(uint i, float wv, float gv)
{
    bool is_w = (pc.flags & 4u) == 0u || ((bits[pc.bits_off + (i >> 5u)] >> (i & 31u)) & 1u) != 0u;
    return is_w ? gv + l1 * sign(wv) + l2 * wv : gv;
}

void one(uint i)
{
    float wv = w[pc.p_off + i];
    float gv = reg_grad(i, wv, g[pc.g_off + i]);
    if (ADAM) {
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

void main()
{
    lr = hpf(HP_LR), l1 = hpf(HP_L1), l2 = hpf(HP_L2);
    mom = hpf(HP_MOMENTUM), b1 = hpf(HP_BETA1), b2 = hpf(HP_BETA2), eps = hpf(HP_ADAM_EPS);
    float t = float(hp[pc.hp_off + HP_STEP] + pc.step_index + 1u);
    c1 = 1.0 / (1.0 - pow(b1, t)), c2 = 1.0 / (1.0 - pow(b2, t));
    uint stride = gl_NumWorkGroups.x * 256u;
    if (!VEC4) {
        for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
            one(i);
        return;
    }
    uint quads = pc.count / 4u;
    for (uint q = gl_GlobalInvocationID.x; q < quads; q += stride) {
        uint i = 4u * q;
        vec4 wv = w4[(pc.p_off + i) / 4u];
        vec4 gv = g4[(pc.g_off + i) / 4u];
        uint word = ~0u; // the 4 share one word of weight bits (i % 4 == 0)
        if ((pc.flags & 4u) != 0u)
            word = bits[pc.bits_off + (i >> 5u)];
        for (uint c = 0u; c < 4u; c++)
            if (((word >> ((i + c) & 31u)) & 1u) != 0u)
                gv[c] += l1 * sign(wv[c]) + l2 * wv[c];
        uint j1 = pc.s1_off + i, j2 = pc.s2_off + i;
        vec4 o1 = S1_VEC ? s14[j1 / 4u] : vec4(s1[j1], s1[j1 + 1u], s1[j1 + 2u], s1[j1 + 3u]);
        vec4 n1;
        if (ADAM) {
            vec4 o2 = S2_VEC ? s24[j2 / 4u] : vec4(s2[j2], s2[j2 + 1u], s2[j2 + 2u], s2[j2 + 3u]);
            n1 = b1 * o1 + (1.0 - b1) * gv;
            vec4 v = b2 * o2 + (1.0 - b2) * gv * gv;
            if (S2_VEC) {
                s24[j2 / 4u] = v;
            } else {
                for (uint c = 0u; c < 4u; c++)
                    s2[j2 + c] = v[c];
            }
            wv -= lr * (n1 * c1) / (sqrt(v * c2) + eps);
        } else {
            n1 = mom * o1 - lr * gv;
            wv += n1;
        }
        if (S1_VEC) {
            s14[j1 / 4u] = n1;
        } else {
            for (uint c = 0u; c < 4u; c++)
                s1[j1 + c] = n1[c];
        }
        w4[(pc.p_off + i) / 4u] = wv;
        if ((pc.flags & 2u) != 0u)
            g4[(pc.g_off + i) / 4u] = vec4(0.0);
    }
    if (gl_GlobalInvocationID.x < pc.count - 4u * quads)
        one(4u * quads + gl_GlobalInvocationID.x);
}
