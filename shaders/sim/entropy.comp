// sim/entropy.comp — the classifier's uncertainty per point of the latent cloud: the entropy
// H_i = −Σ_c p_ic ln p_ic (nats) of row i of a [n][classes] probability array, which sits at
// float offset `first` of an engine buffer (the trainer's per-sample outputs; bound whole so
// no offset alignment rule applies). Terms with p ≤ 0 count 0 (the limit of p ln p); a
// non-finite row gives NaN so that a broken classifier is not mistaken for a certain one.
#version 450
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Probs { float probs[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Entropy { float entropy[]; };
layout(push_constant) uniform Push { uint n; uint classes; uint first; } pc;

void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n)
        return;
    uint base = pc.first + i * pc.classes;
    float h = 0.0;
    // classes ≤ 64 (the cloud's limit), far below lavapipe's loop cap.
    for (uint c = 0u; c < pc.classes; c++) {
        float p = probs[base + c];
        if (p > 0.0)
            h -= p * log(p);
        else if (!(p == 0.0))
            h = uintBitsToFloat(0x7fc00000u);
    }
    entropy[i] = h;
}
