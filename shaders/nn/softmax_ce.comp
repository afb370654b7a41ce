// nn/softmax_ce.comp — softmax cross-entropy with per-sample weights (the label mask), in one
// workgroup (the weight sum must be known before any gradient is written):
//   W = sum_i m_i over samples with a valid label, L = sum_i m_i CE_i / max(1, W),
//   dlogits_i = weight * m_i (softmax_i - onehot_i) / max(1, W);
// probs (softmax) for every sample; stats += [sum m_i CE_i, W, sum m_i [argmax == label],
// batch]. A sample whose label is out of range counts as weight 0. Max-subtracted, so large
// logits are exact. Each invocation handles every 256th sample (the caller bounds the
// per-invocation loop work).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, binding = 2) readonly buffer Mask { float mask[]; };
layout(std430, binding = 3) writeonly buffer DLogits { float dlogits[]; };
layout(std430, binding = 4) writeonly buffer Probs { float probs[]; };
layout(std430, binding = 5) buffer Stats { float stats[]; };
layout(push_constant) uniform Push {
    uint batch, classes;
    uint logits_off, labels_off, mask_off, dlogits_off, probs_off, stats_off;
    uint flags;
    float weight;
} pc;

#define CE_MASK 1u
#define CE_DLOGITS 2u
#define CE_PROBS 4u
#define CE_STATS 8u
#define CE_LABELS 16u

shared float red[3][256];

float sample_weight(uint n)
{
    if ((pc.flags & CE_LABELS) == 0u)
        return 0.0;
    int label = labels[pc.labels_off + n];
    if (label < 0 || uint(label) >= pc.classes)
        return 0.0;
    return (pc.flags & CE_MASK) != 0u ? mask[pc.mask_off + n] : 1.0;
}

void reduce3(uint tid)
{
    for (uint s = 128u; s > 0u; s >>= 1u) {
        barrier();
        if (tid < s) {
            red[0][tid] += red[0][tid + s];
            red[1][tid] += red[1][tid + s];
            red[2][tid] += red[2][tid + s];
        }
    }
    barrier();
}

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint C = pc.classes;
    float wsum = 0.0;
    for (uint n = tid; n < pc.batch; n += 256u)
        wsum += sample_weight(n);
    red[0][tid] = wsum;
    red[1][tid] = 0.0;
    red[2][tid] = 0.0;
    reduce3(tid);
    float W = red[0][0];
    float scale = pc.weight / max(1.0, W);
    barrier();

    float lsum = 0.0, csum = 0.0;
    for (uint n = tid; n < pc.batch; n += 256u) {
        uint row = pc.logits_off + n * C;
        float mx = logits[row];
        uint arg = 0u;
        for (uint c = 1u; c < C; c++) {
            float v = logits[row + c];
            if (v > mx) {
                mx = v;
                arg = c;
            }
        }
        float s = 0.0;
        for (uint c = 0u; c < C; c++)
            s += exp(logits[row + c] - mx);
        float m = sample_weight(n);
        int label = (pc.flags & CE_LABELS) != 0u ? labels[pc.labels_off + n] : -1;
        if (m != 0.0) {
            lsum += m * (mx + log(s) - logits[row + uint(label)]);
            csum += arg == uint(label) ? m : 0.0;
        }
        if ((pc.flags & (CE_PROBS | CE_DLOGITS)) != 0u) {
            float inv = 1.0 / s;
            for (uint c = 0u; c < C; c++) {
                float p = exp(logits[row + c] - mx) * inv;
                if ((pc.flags & CE_PROBS) != 0u)
                    probs[pc.probs_off + n * C + c] = p;
                if ((pc.flags & CE_DLOGITS) != 0u)
                    dlogits[pc.dlogits_off + n * C + c] =
                        m * scale * (p - (int(c) == label ? 1.0 : 0.0));
            }
        }
    }
    red[0][tid] = lsum;
    red[1][tid] = csum;
    red[2][tid] = 0.0;
    reduce3(tid);
    if (tid == 0u && (pc.flags & CE_STATS) != 0u) {
        uint b = pc.stats_off;
        stats[b] += red[0][0];
        stats[b + 1u] += W;
        stats[b + 2u] += red[1][0];
        stats[b + 3u] += float(pc.batch);
    }
}
