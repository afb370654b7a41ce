// nn/gather.comp — a batch from a data set in GPU memory: row r takes sample s = index[p] (or p)
// at position p = (first + step_stride * (hparams.batch_base + step index) * batch + r) mod
// count; x[r][f] = src[s][f] * scale + offset, src as bytes (4 per uint, little-endian,
// densely packed: sample s starts at byte s*features) or floats; labels_out[r] (int) from
// bytes or ints, mask_out[r] from a float per sample (1 without). With QUAD (byte data and
// features % 4 == 0) an invocation converts one whole word, 4 features; otherwise one feature.
// With the WIDE specialisation (byte data, features % 16 == 0, src and x at offsets that are
// multiples of 4 elements) one uvec4, 16 features, written as 4 vec4: on CPU devices every
// per-lane access and index division is scalar, and this makes a quarter of the invocations
// with one load and 4 stores each.
#version 450
#include "nn/hparams.glsl"
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool WIDE = false;
layout(std430, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, binding = 1) readonly buffer Index { uint index[]; };
layout(std430, binding = 2) readonly buffer HP { uint hp[]; };
layout(std430, binding = 3) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 4) readonly buffer Mask { float mask[]; };
layout(std430, binding = 5) writeonly buffer X { float x[]; };
layout(std430, binding = 6) writeonly buffer LO { int labels_out[]; };
layout(std430, binding = 7) writeonly buffer MO { float mask_out[]; };
layout(std430, binding = 0) readonly buffer Src4 { uvec4 src4[]; };
layout(std430, binding = 5) writeonly buffer X4 { vec4 x4[]; };
layout(push_constant) uniform Push {
    uint batch, features, count, first, step_stride, step_index, flags;
    float scale, offset;
    uint src_off, index_off, hp_off, labels_off, mask_off, x_off, lo_off, mo_off;
} pc;

#define G_F32 1u
#define G_INDEX 2u
#define G_LABELS 4u
#define G_LABELS_I32 8u
#define G_MASK 16u
#define G_MASK_OUT 32u
#define G_HPARAMS 64u
#define G_QUAD 128u

uint byte_at(uint e) { return (src[pc.src_off + (e >> 2u)] >> ((e & 3u) * 8u)) & 255u; }

void main()
{
    uint per_row = WIDE ? pc.features / 16u
                 : (pc.flags & G_QUAD) != 0u ? pc.features / 4u : pc.features;
    uint total = pc.batch * per_row;
    uint bb = (pc.flags & G_HPARAMS) != 0u ? hp[pc.hp_off + HP_BATCH_BASE] : 0u;
    uint bpos = ((bb + pc.step_index) % pc.count) * pc.step_stride * pc.batch;
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
        uint r = i / per_row, f = i % per_row;
        uint p = (pc.first + bpos + r) % pc.count;
        uint s = (pc.flags & G_INDEX) != 0u ? index[pc.index_off + p] % pc.count : p;
        uint xo = pc.x_off + r * pc.features;
        if (WIDE) {
            uvec4 words = src4[(pc.src_off + ((s * pc.features) >> 2u)) / 4u + f];
            for (uint w = 0u; w < 4u; w++) {
                uint word = words[w];
                x4[(xo + f * 16u) / 4u + w] =
                    vec4(uvec4(word, word >> 8u, word >> 16u, word >> 24u) & 255u) * pc.scale +
                    pc.offset;
            }
        } else if ((pc.flags & G_QUAD) != 0u) {
            uint word = src[pc.src_off + ((s * pc.features) >> 2u) + f];
            for (uint q = 0u; q < 4u; q++)
                x[xo + f * 4u + q] = float((word >> (q * 8u)) & 255u) * pc.scale + pc.offset;
        } else {
            uint e = s * pc.features + f;
            float v = (pc.flags & G_F32) != 0u ? uintBitsToFloat(src[pc.src_off + e])
                                                : float(byte_at(e));
            x[xo + f] = v * pc.scale + pc.offset;
        }
        if (f == 0u) {
            if ((pc.flags & G_LABELS) != 0u) {
                uint l = (pc.flags & G_LABELS_I32) != 0u
                             ? labels[pc.labels_off + s]
                             : (labels[pc.labels_off + (s >> 2u)] >> ((s & 3u) * 8u)) & 255u;
                labels_out[pc.lo_off + r] = int(l);
            }
            if ((pc.flags & G_MASK_OUT) != 0u)
                mask_out[pc.mo_off + r] = (pc.flags & G_MASK) != 0u ? mask[pc.mask_off + s] : 1.0;
        }
    }
}
